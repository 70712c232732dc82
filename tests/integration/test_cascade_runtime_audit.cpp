// The cascade runtime's events reach the audit trail before anything is
// sent; while the audit sink refuses them, messages are held, not lost; the
// host reads the same events from a bounded queue.
#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "cascade/cascade_event_relay.hpp"
#include "cascade/cascade_runtime.hpp"
#include "store/durable_cascade.hpp"

using namespace lifeline;

namespace {

constexpr UnixMillis kT0 = 1'716'215'520'000;

constexpr const char* kDirectory = R"({
  "members": [
    {"id": "alice", "channels": ["sms"], "addresses": {"sms": "+12125550101"}},
    {"id": "bob", "channels": ["sms"], "addresses": {"sms": "+12125550102"}},
    {"id": "mgr", "channels": ["sms"], "addresses": {"sms": "+12125550199"}}],
  "groups": [{"id": "ops", "members": ["alice", "bob"], "onCallManager": "mgr"}]})";

bool Recorded(const RecordingAuditSink& audit, const std::string& event, std::uint64_t attempt) {
  const std::string needle = "attempt=" + std::to_string(attempt);
  for (const AuditEvent& e : audit.events()) {
    if (e.event == event && e.detail.find(needle) != std::string::npos) return true;
  }
  return false;
}

// An SMS carrier that accepts everything and checks, at the moment of each
// send, that the audit trail already holds the attempt.
class CheckingSender : public ChannelSender {
 public:
  explicit CheckingSender(const RecordingAuditSink* audit) : audit_(audit) {}
  void Send(const OutboundMessage& m, SendCallback done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent_.push_back(m.member_id + "/" + m.incident_id);
      if (!Recorded(*audit_, "ATTEMPT_SENT", m.message_id)) ++sent_unaudited_;
    }
    done(SendResult{SendResult::Kind::kAccepted, "SM" + std::to_string(m.message_id), 0});
  }
  std::vector<std::string> sent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  int sent_unaudited() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_unaudited_;
  }

 private:
  const RecordingAuditSink* audit_;
  mutable std::mutex mu_;
  std::vector<std::string> sent_;
  int sent_unaudited_ = 0;
};

CascadeTrigger Trigger(const std::string& incident) {
  CascadeTrigger t;
  t.incident_id = incident;
  t.severity = Severity::kP1;
  t.stakeholder_group_id = "ops";
  t.message_template = "Data center outage. Reply 1 to acknowledge.";
  t.timestamp = kT0;
  return t;
}

struct Fixture {
  explicit Fixture(bool audit_required = false, std::size_t host_queue_limit = 10'000)
      : clock(kT0), relay(audit_required, host_queue_limit), sms(&audit) {
    auto d = StakeholderDirectory::FromJson(kDirectory);
    REQUIRE(d.ok());
    directory = std::move(*d);
    DurableCascadeOptions options;  // ":memory:"
    auto cascade = DurableCascade::Open(options, &directory, nullptr, &relay, clock.Now());
    REQUIRE(cascade.ok());
    runtime = std::make_unique<CascadeRuntime>(std::move(*cascade),
                                               std::map<Channel, ChannelSender*>{{Channel::kSms, &sms}},
                                               &clock, &relay);
    runtime->Start();
  }
  ~Fixture() { runtime->Stop(); }

  ManualClock clock;
  StakeholderDirectory directory;
  RecordingAuditSink audit;
  CascadeEventRelay relay;
  CheckingSender sms;
  std::unique_ptr<CascadeRuntime> runtime;
};

std::size_t Count(const std::vector<AuditEvent>& events, const std::string& name,
                  const std::string& incident) {
  return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [&](const AuditEvent& e) {
    return e.event == name && e.incident_id == incident;
  }));
}

}  // namespace

TEST_CASE("Every cascade event is audited, and each message only after its attempt is") {
  Fixture f;
  REQUIRE(f.runtime->SetAudit(&f.audit).ok());
  REQUIRE(f.runtime->Trigger(Trigger("INC-1")).ok());
  REQUIRE(f.runtime->Settle(10'000).ok());
  CHECK(f.sms.sent().size() == 2);
  CHECK(f.sms.sent_unaudited() == 0);
  std::vector<AuditEvent> events = f.audit.events();
  CHECK(Count(events, "CASCADE_STARTED", "INC-1") == 1);
  CHECK(Count(events, "ATTEMPT_SENT", "INC-1") == 2);
  for (const AuditEvent& e : events) {
    CHECK(e.source == AuditSource::kCascade);
    CHECK(e.time == kT0);
  }
  // The stakeholder reference travels as the subject (PII for the log).
  CHECK(std::any_of(events.begin(), events.end(), [](const AuditEvent& e) { return e.subject == "alice"; }));

  REQUIRE(f.runtime->Acknowledge("INC-1", "alice", Channel::kSms).ok());
  REQUIRE(f.runtime->Settle(10'000).ok());
  CHECK(Count(f.audit.events(), "STAKEHOLDER_ACKNOWLEDGED", "INC-1") == 1);
  CascadeRuntimeMetrics m = f.runtime->Metrics();
  CHECK(m.audit_recorded == static_cast<std::int64_t>(f.audit.size()));
  CHECK(m.audit_backlog == 0);
  CHECK(m.held_messages == 0);

  // The host's queue holds the same events, in the same order.
  std::vector<CascadeEvent> host = f.runtime->TakeEvents();
  REQUIRE(host.size() == f.audit.size());
  for (std::size_t i = 0; i < host.size(); ++i) {
    CHECK(CascadeEventName(host[i].type) == f.audit.events()[i].event);
  }
  CHECK(f.runtime->TakeEvents().empty());
}

TEST_CASE("While the audit sink refuses, messages are held, on recovery each goes once") {
  Fixture f;
  REQUIRE(f.runtime->SetAudit(&f.audit).ok());
  f.audit.FailWith(IoError("No space left on device"));
  REQUIRE(f.runtime->Trigger(Trigger("INC-2")).ok());  // journaled in the store
  REQUIRE(f.runtime->Settle(10'000).ok());             // idle: it cannot progress
  CHECK(f.sms.sent().empty());
  CascadeRuntimeMetrics m = f.runtime->Metrics();
  CHECK(m.held_messages == 2);
  CHECK(m.audit_backlog > 0);
  CHECK(m.audit_refusals >= 1);
  CHECK(m.audit_recorded == 0);

  // Time passes during the audit outage: nothing is sent and nothing is lost.
  f.clock.Advance(120'000);
  REQUIRE(f.runtime->Settle(10'000).ok());
  CHECK(f.sms.sent().empty());

  f.audit.FailWith(Status::Ok());
  REQUIRE(f.runtime->Settle(10'000).ok());
  std::vector<std::string> sent = f.sms.sent();
  std::sort(sent.begin(), sent.end());
  CHECK(sent == std::vector<std::string>{"alice/INC-2", "bob/INC-2"});
  CHECK(f.sms.sent_unaudited() == 0);
  std::vector<AuditEvent> events = f.audit.events();
  CHECK(Count(events, "CASCADE_STARTED", "INC-2") == 1);   // recorded once, not per retry
  CHECK(Count(events, "ATTEMPT_SENT", "INC-2") == 2);
  m = f.runtime->Metrics();
  CHECK(m.held_messages == 0);
  CHECK(m.audit_backlog == 0);
  CHECK(m.audit_recorded == static_cast<std::int64_t>(events.size()));
}

TEST_CASE("audit required: nothing is sent until a sink is attached") {
  Fixture f(/*audit_required=*/true);
  REQUIRE(f.runtime->Trigger(Trigger("INC-3")).ok());
  REQUIRE(f.runtime->Settle(10'000).ok());
  CHECK(f.sms.sent().empty());
  CHECK(f.runtime->Metrics().held_messages == 2);
  REQUIRE(f.runtime->SetAudit(&f.audit).ok());
  REQUIRE(f.runtime->Settle(10'000).ok());
  CHECK(f.sms.sent().size() == 2);
  CHECK(Count(f.audit.events(), "CASCADE_STARTED", "INC-3") == 1);
}

TEST_CASE("Without audit, nothing is held, detaching drops what was not recorded") {
  Fixture f;
  REQUIRE(f.runtime->Trigger(Trigger("INC-4")).ok());
  REQUIRE(f.runtime->Settle(10'000).ok());
  CHECK(f.sms.sent().size() == 2);
  CHECK(f.audit.size() == 0);
  REQUIRE(f.runtime->SetAudit(&f.audit).ok());
  f.audit.FailWith(IoError("disk full"));
  REQUIRE(f.runtime->Acknowledge("INC-4", "alice", Channel::kSms).ok());
  REQUIRE(f.runtime->Settle(10'000).ok());
  CHECK(f.runtime->Metrics().audit_backlog > 0);
  REQUIRE(f.runtime->SetAudit(nullptr).ok());  // auditing switched off
  REQUIRE(f.runtime->Settle(10'000).ok());
  CHECK(f.runtime->Metrics().audit_backlog == 0);
}

TEST_CASE("The host's event queue is bounded, overflow is counted, oldest dropped") {
  Fixture f(/*audit_required=*/false, /*host_queue_limit=*/3);
  REQUIRE(f.runtime->Trigger(Trigger("INC-5")).ok());
  REQUIRE(f.runtime->Settle(10'000).ok());
  std::vector<CascadeEvent> host = f.runtime->TakeEvents();
  CHECK(host.size() == 3);
  CHECK(host.front().type != CascadeEventType::kCascadeStarted);  // the oldest went first
  CHECK(f.runtime->Metrics().events_dropped > 0);
}

TEST_CASE("SetAudit without a relay is a state error") {
  ManualClock clock(kT0);
  auto d = StakeholderDirectory::FromJson(kDirectory);
  REQUIRE(d.ok());
  auto cascade = DurableCascade::Open(DurableCascadeOptions{}, &*d, nullptr, nullptr, clock.Now());
  REQUIRE(cascade.ok());
  CascadeRuntime runtime(std::move(*cascade), {}, &clock);
  RecordingAuditSink audit;
  CHECK(runtime.SetAudit(&audit).code() == StatusCode::kState);
  CHECK(runtime.TakeEvents().empty());
}
