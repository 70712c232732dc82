// Transition-by-transition tests of the notification cascade, on a manual clock.
#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lifeline/cascade_engine.hpp"

using namespace lifeline;

namespace {

constexpr UnixMillis kT0 = 1'716'215'520'000;  // 2024-05-20T14:32:00Z

const char* kDirectory = R"({
  "members": [
    {"id": "alice", "addresses": {"voice": "+12125550100", "sms": "+12125550101",
                                  "email": "alice@example.com", "push": "tok-a"}},
    {"id": "bob", "channels": ["sms", "email", "voice"],
     "addresses": {"voice": "+12125550102", "sms": "+12125550103", "email": "bob@example.com"},
     "tier": 2},
    {"id": "carol", "channels": ["email", "sms", "push"],
     "addresses": {"sms": "+12125550104", "email": "carol@example.com", "push": "tok-c"},
     "timeZone": "America/New_York", "quietHours": {"start": "22:00", "end": "07:00"}},
    {"id": "mgr", "channels": ["voice"], "addresses": {"voice": "+12125550199"}}
  ],
  "groups": [
    {"id": "solo-alice", "members": ["alice"], "onCallManager": "mgr"},
    {"id": "solo-bob", "members": ["bob"], "onCallManager": "mgr"},
    {"id": "solo-carol", "members": ["carol"], "onCallManager": "mgr"},
    {"id": "no-manager", "members": ["bob"]},
    {"id": "trio", "members": ["alice", "bob", "carol"], "onCallManager": "mgr", "ackPolicy": 2},
    {"id": "any", "members": ["alice", "bob"], "onCallManager": "mgr", "ackPolicy": "any"}
  ]})";

class RecordingSink : public CascadeEventSink {
 public:
  void OnEvent(const CascadeEvent& e) override { events.push_back(e); }
  int Count(CascadeEventType t, const std::string& member = "") const {
    return static_cast<int>(std::count_if(events.begin(), events.end(), [&](const CascadeEvent& e) {
      return e.type == t && (member.empty() || e.member_id == member);
    }));
  }
  const CascadeEvent* Last(CascadeEventType t) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->type == t) return &*it;
    }
    return nullptr;
  }
  std::vector<CascadeEvent> events;
};

class DownProvider : public DirectoryProvider {
 public:
  Result<StakeholderMember> Lookup(const std::string&, DurationMillis) override {
    ++calls;
    return Status(StatusCode::kUnavailable, "HRIS unavailable");
  }
  int calls = 0;
};

CascadeTrigger MakeTrigger(const std::string& id, Severity sev, const std::string& group) {
  CascadeTrigger t;
  t.incident_id = id;
  t.severity = sev;
  t.stakeholder_group_id = group;
  t.message_template = "Outage at {{site}}. Acknowledge by pressing 1.";
  t.timestamp = kT0;
  t.variables = {{"site", "DC-East"}};
  return t;
}

struct Harness {
  explicit Harness(CascadeConfig config = CascadeConfig(), DirectoryProvider* provider = nullptr,
                   UnixMillis start = kT0)
      : now(start) {
    auto d = StakeholderDirectory::FromJson(kDirectory);
    REQUIRE(d.ok());
    dir = std::move(d).value();
    engine = std::make_unique<CascadeEngine>(config, &dir, provider, &sink, now);
  }
  void Start(const std::string& id, Severity sev, const std::string& group) {
    auto r = engine->Trigger(MakeTrigger(id, sev, group), now);
    REQUIRE(r.ok());
    REQUIRE_FALSE(r->duplicate);
  }
  // Advances to `t`, fires timers, and returns what became sendable.
  std::vector<OutboundMessage> At(UnixMillis t) {
    now = t;
    engine->OnTimer(now);
    return engine->TakeOutbound(now);
  }
  std::vector<OutboundMessage> Take() { return engine->TakeOutbound(now); }
  // Takes exactly one message and reports it accepted.
  OutboundMessage One() {
    auto out = Take();
    REQUIRE(out.size() == 1);
    REQUIRE(engine->OnSendResult(out[0].message_id, {SendResult::Kind::kAccepted, "SM" + std::to_string(out[0].message_id), 0}, now).ok());
    return out[0];
  }
  const StakeholderCascade& State(const std::string& incident, const std::string& member) {
    const StakeholderCascade* s = engine->FindStakeholder(incident, member);
    REQUIRE(s != nullptr);
    return *s;
  }
  void Receipt(const OutboundMessage& m, AttemptStatus s) {
    REQUIRE(engine->OnReceipt(m.message_id, s, now).ok());
  }

  StakeholderDirectory dir;
  RecordingSink sink;
  std::unique_ptr<CascadeEngine> engine;
  UnixMillis now;
};

}  // namespace

// ---------------------------------------------------------------------------
// Trigger and configuration
// ---------------------------------------------------------------------------

TEST_CASE("ParseCascadeTrigger accepts the seed's payload") {
  auto t = ParseCascadeTrigger(R"({"incidentId": "INC-2024-0892", "severity": "P1",
      "stakeholderGroupId": "ops-leadership",
      "messageTemplate": "System outage detected. Activate BCP protocol. Acknowledge by pressing 1.",
      "timestamp": "2024-05-20T14:32:00Z", "variables": {"site": "DC-East"}})");
  REQUIRE(t.ok());
  CHECK(t->incident_id == "INC-2024-0892");
  CHECK(t->severity == Severity::kP1);
  CHECK(t->stakeholder_group_id == "ops-leadership");
  CHECK(t->timestamp == kT0);
  REQUIRE(t->variables.size() == 1);
  CHECK(t->variables[0].second == "DC-East");
}

TEST_CASE("ParseCascadeTrigger refuses malformed triggers naming the field") {
  auto err = [](const char* json) {
    auto t = ParseCascadeTrigger(json);
    return t.ok() ? std::string("ok") : t.status().message();
  };
  const char* ok_rest = R"("stakeholderGroupId": "g", "messageTemplate": "m", "timestamp": "2024-05-20T14:32:00Z")";
  CHECK(err((std::string(R"({"severity": "P1", )") + ok_rest + "}").c_str()) == "incidentId: required");
  CHECK(err((std::string(R"({"incidentId": "i", "severity": "P5", )") + ok_rest + "}").c_str()) ==
        "severity: expected \"P1\", \"P2\", \"P3\" or \"P4\"");
  CHECK(err((std::string(R"({"incidentId": "i", "severity": "P1", "colour": "red", )") + ok_rest + "}").c_str()) ==
        "colour: unknown configuration key");
  CHECK(err((std::string(R"({"incidentId": 7, "severity": "P1", )") + ok_rest + "}").c_str()) ==
        "incidentId: expected a string");
  CHECK(err((std::string(R"({"incidentId": "", "severity": "P1", )") + ok_rest + "}").c_str()) ==
        "incidentId: required, a non-empty string");
  CHECK(err(R"({"incidentId": "i", "severity": "P1", "stakeholderGroupId": "g", "messageTemplate": "m", "timestamp": "yesterday"})") ==
        "timestamp: expected an RFC 3339 instant such as 2024-05-20T14:32:00Z");
  CHECK(err(R"({"incidentId": "i", "severity": "P1", "stakeholderGroupId": "g", "messageTemplate": "m", "timestamp": "2024-05-20T14:32:00Z", "variables": {"a": 1}})") ==
        "variables: value of \"a\" must be a string");
  CHECK(err("{not json") .find("trigger: configuration is not valid JSON") == 0);
}

TEST_CASE("CascadeConfig defaults and JSON overrides") {
  CascadeConfig d;
  CHECK(d.HoldFor(Severity::kP1, 1) == 90'000);
  CHECK(d.HoldFor(Severity::kP2, 1) == 300'000);
  CHECK(d.HoldFor(Severity::kP3, 1) == 900'000);
  CHECK(d.HoldFor(Severity::kP4, 1) == 3'600'000);
  CHECK(d.RetryDelay(0) == 15'000);
  CHECK(d.RetryDelay(1) == 30'000);
  CHECK(d.RetryDelay(2) == 60'000);
  CHECK(d.RetryDelay(3) == 120'000);
  CHECK(d.RetryDelay(10) == 120'000);
  CHECK(d.EndpointFor(Channel::kSms, false) == "sms");
  CHECK(d.EndpointFor(Channel::kVoice, true) == "voice.priority");

  auto c = CascadeConfig::FromJson(R"({"hold_ms": {"P1": 60000}, "tier_hold_ms": {"2": {"P1": 30000}},
      "retry": {"initial_ms": 1000, "max_retries": 1}, "throttle": {"limit": 10, "endpoints": {"twilio-sms": 5}},
      "channel_endpoints": {"sms": "twilio-sms"}, "quiet_hours_exempt": ["P1", "P2"]})");
  REQUIRE(c.ok());
  CHECK(c->HoldFor(Severity::kP1, 1) == 60'000);
  CHECK(c->HoldFor(Severity::kP1, 2) == 30'000);
  CHECK(c->HoldFor(Severity::kP2, 2) == 300'000);  // no override for P2: table value
  CHECK(c->RetryDelay(0) == 1'000);
  CHECK(c->max_retries_per_channel == 1);
  CHECK(c->endpoint_limit == 10);
  CHECK(c->endpoint_limits.at("twilio-sms") == 5);
  CHECK(c->EndpointFor(Channel::kSms, false) == "twilio-sms");
  CHECK(c->quiet_hours_exempt[1]);
  CHECK_FALSE(c->quiet_hours_exempt[2]);

  CHECK(CascadeConfig::FromJson(R"({"retry": {"initail_ms": 1}})").status().message() ==
        "retry.initail_ms: unknown configuration key");
  CHECK(CascadeConfig::FromJson(R"({"hold_ms": {"P1": 0}})").status().message() ==
        "hold_ms.P1: expected an integer in [1, 86400000], got 0");
  CHECK(CascadeConfig::FromJson(R"({"retry": {"initial_ms": 5000, "max_ms": 1000}})").status().message() ==
        "retry.max_ms: must be >= retry.initial_ms");
  CHECK(CascadeConfig::FromJson(R"({"quiet_hours_exempt": ["P9"]})").status().message() ==
        "quiet_hours_exempt: expected severities \"P1\"..\"P4\"");
}

TEST_CASE("A trigger for an unknown group or a malformed trigger is refused") {
  Harness h;
  auto r = h.engine->Trigger(MakeTrigger("INC-1", Severity::kP1, "nobody"), h.now);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(r.status().message() == "stakeholderGroupId: unknown stakeholder group");
  CascadeTrigger bad = MakeTrigger("", Severity::kP1, "solo-alice");
  CHECK(h.engine->Trigger(bad, h.now).status().message() == "incidentId: required, a non-empty string");
  CHECK(h.engine->FindIncident("INC-1") == nullptr);
}

TEST_CASE("Triggers are idempotent while open and within 5 minutes after close") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-alice");
  CHECK(h.Take().size() == 1);
  auto again = h.engine->Trigger(MakeTrigger("INC-1", Severity::kP1, "solo-alice"), h.now + 1'000);
  REQUIRE(again.ok());
  CHECK(again->duplicate);
  CHECK(h.Take().empty());  // no second message
  CHECK(h.sink.Count(CascadeEventType::kTriggerDuplicate) == 1);
  CHECK(h.sink.Count(CascadeEventType::kCascadeStarted) == 1);

  h.now += 10'000;
  REQUIRE(h.engine->CloseIncident("INC-1", h.now).ok());
  UnixMillis closed = h.now;
  auto within = h.engine->Trigger(MakeTrigger("INC-1", Severity::kP1, "solo-alice"), closed + 299'999);
  REQUIRE(within.ok());
  CHECK(within->duplicate);
  CHECK(h.engine->FindIncident("INC-1")->status == IncidentStatus::kClosed);
  auto after = h.engine->Trigger(MakeTrigger("INC-1", Severity::kP1, "solo-alice"), closed + 300'000);
  REQUIRE(after.ok());
  CHECK_FALSE(after->duplicate);
  CHECK(h.engine->FindIncident("INC-1")->status == IncidentStatus::kActive);
  CHECK(h.sink.Count(CascadeEventType::kCascadeStarted) == 2);
}

// ---------------------------------------------------------------------------
// Channel order, retries, hold times
// ---------------------------------------------------------------------------

TEST_CASE("Default order is voice, sms, email, push, a member's own order wins") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-alice");
  h.Start("INC-2", Severity::kP1, "solo-bob");
  CHECK(h.State("INC-1", "alice").plan ==
        std::vector<Channel>{Channel::kVoice, Channel::kSms, Channel::kEmail, Channel::kPush});
  CHECK(h.State("INC-2", "bob").plan == std::vector<Channel>{Channel::kSms, Channel::kEmail, Channel::kVoice});
  auto out = h.Take();
  REQUIRE(out.size() == 2);
  std::map<std::string, OutboundMessage> by;
  for (auto& m : out) by[m.member_id] = m;
  CHECK(by["alice"].channel == Channel::kVoice);
  CHECK(by["alice"].endpoint == "voice");
  CHECK(by["alice"].address == "+12125550100");
  CHECK(by["alice"].text == "Outage at DC-East. Acknowledge by pressing 1.");
  CHECK(by["bob"].channel == Channel::kSms);
  CHECK(by["bob"].address == "+12125550103");
  const auto& st = h.State("INC-2", "bob");
  CHECK(st.incident_id == "INC-2");
  CHECK(st.stakeholder_group_id == "solo-bob");
  CHECK(st.current_step == 0);
  CHECK(st.last_attempted_channel == Channel::kSms);
  CHECK(st.retry_count == 0);
  CHECK_FALSE(st.acknowledged);
  REQUIRE(st.attempts.size() == 1);
  CHECK(st.attempts[0].status == AttemptStatus::kSent);
}

TEST_CASE("FAILED retries the same channel at 15 s, 30 s, 60 s, then moves on") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-bob");
  OutboundMessage m = h.One();
  CHECK(m.channel == Channel::kSms);
  const UnixMillis waits[3] = {15'000, 30'000, 60'000};
  for (int retry = 0; retry < 3; ++retry) {
    h.Receipt(m, AttemptStatus::kFailed);
    const auto& st = h.State("INC-1", "bob");
    CHECK(st.retry_count == retry + 1);
    REQUIRE(st.next_escalation_at.has_value());
    CHECK(*st.next_escalation_at == h.now + waits[retry]);
    CHECK(h.engine->NextDeadline() == h.now + waits[retry]);
    CHECK(h.At(h.now + waits[retry] - 1).empty());  // not a millisecond early
    auto out = h.At(h.now + 1);
    REQUIRE(out.size() == 1);
    CHECK(out[0].channel == Channel::kSms);
    m = out[0];
    REQUIRE(h.engine->OnSendResult(m.message_id, {SendResult::Kind::kAccepted, "", 0}, h.now).ok());
  }
  // Fourth failure: retries exhausted, the channel failed, email starts now.
  h.Receipt(m, AttemptStatus::kFailed);
  const auto& st = h.State("INC-1", "bob");
  CHECK(st.current_step == 1);
  CHECK(st.retry_count == 0);
  CHECK(st.consecutive_failures == 1);
  auto out = h.Take();
  REQUIRE(out.size() == 1);
  CHECK(out[0].channel == Channel::kEmail);
  CHECK(st.attempts.size() == 5);
  CHECK(h.sink.Count(CascadeEventType::kRetryScheduled) == 3);
  CHECK(h.sink.Count(CascadeEventType::kChannelAdvanced) == 1);
}

TEST_CASE("DELIVERED without ack moves on after the severity hold: P1 90 s versus P3 15 min") {
  Harness h;
  h.Start("P1", Severity::kP1, "solo-alice");
  h.Start("P3", Severity::kP3, "solo-carol");  // carol: no quiet hours at 10:32 New York
  auto out = h.Take();
  REQUIRE(out.size() == 2);
  for (auto& m : out) h.Receipt(m, AttemptStatus::kDelivered);
  CHECK(h.State("P1", "alice").next_escalation_at == kT0 + 90'000);
  CHECK(h.State("P3", "carol").next_escalation_at == kT0 + 900'000);
  CHECK(h.engine->NextDeadline() == kT0 + 90'000);
  CHECK(h.At(kT0 + 89'999).empty());
  auto p1 = h.At(kT0 + 90'000);
  REQUIRE(p1.size() == 1);
  CHECK(p1[0].member_id == "alice");
  CHECK(p1[0].channel == Channel::kSms);
  CHECK(h.sink.Count(CascadeEventType::kHoldExpired, "alice") == 1);
  CHECK(h.State("P1", "alice").consecutive_failures == 0);
  CHECK(h.At(kT0 + 899'999).empty());
  auto p3 = h.At(kT0 + 900'000);
  REQUIRE(p3.size() == 1);
  CHECK(p3[0].member_id == "carol");
  CHECK(p3[0].channel == Channel::kSms);
}

TEST_CASE("Per-tier hold overrides apply to the member's tier") {
  CascadeConfig c;
  c.tier_hold_ms[2] = {45'000, 0, 0, 0};
  Harness h(c);
  h.Start("INC-1", Severity::kP1, "solo-bob");  // bob is tier 2
  OutboundMessage m = h.One();
  h.Receipt(m, AttemptStatus::kDelivered);
  CHECK(h.State("INC-1", "bob").next_escalation_at == kT0 + 45'000);
}

// ---------------------------------------------------------------------------
// Acknowledgements
// ---------------------------------------------------------------------------

TEST_CASE("An ack during a retry wait cancels the retry timer") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-alice");
  OutboundMessage m = h.One();
  h.Receipt(m, AttemptStatus::kFailed);
  REQUIRE(h.engine->NextDeadline() == kT0 + 15'000);
  h.now += 5'000;
  REQUIRE(h.engine->Acknowledge("INC-1", "alice", Channel::kSms, h.now).ok());
  const auto& st = h.State("INC-1", "alice");
  CHECK(st.acknowledged);
  CHECK(st.status == StakeholderStatus::kAcknowledged);
  CHECK_FALSE(st.next_escalation_at.has_value());
  CHECK_FALSE(h.engine->NextDeadline().has_value());
  CHECK(h.engine->PendingTimerCount() == 0);
  CHECK(h.At(kT0 + 3'600'000).empty());  // nothing ever fires
  CHECK(st.attempts.size() == 1);
  CHECK(h.engine->FindIncident("INC-1")->status == IncidentStatus::kSatisfied);
}

TEST_CASE("An ack removes queued, not yet sent messages") {
  CascadeConfig c;
  c.endpoint_limit = 1;  // one voice call per second
  Harness h(c);
  h.Start("INC-1", Severity::kP1, "any");  // alice (voice first) and bob (sms first)
  h.Start("INC-2", Severity::kP1, "solo-alice");
  auto out = h.Take();
  // voice: one slot -> INC-1 alice; sms: bob. INC-2 alice's voice call waits.
  REQUIRE(out.size() == 2);
  CHECK(h.engine->QueuedCount("voice") == 1);
  REQUIRE(h.engine->Acknowledge("INC-2", "alice", std::nullopt, h.now).ok());
  CHECK(h.engine->QueuedCount("voice") == 0);
  CHECK(h.sink.Count(CascadeEventType::kMessageCancelled, "alice") == 1);
  const auto& st = h.State("INC-2", "alice");
  REQUIRE(st.attempts.size() == 1);
  CHECK(st.attempts[0].status == AttemptStatus::kCancelled);
  CHECK(h.At(h.now + 5'000).empty());  // the cancelled call never goes out
}

TEST_CASE("An ack after a throttled send re-queued the message cancels it too") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-bob");
  auto out = h.Take();
  REQUIRE(out.size() == 1);
  REQUIRE(h.engine->OnSendResult(out[0].message_id, {SendResult::Kind::kThrottled, "", 2'000}, h.now).ok());
  CHECK(h.engine->QueuedCount("sms") == 1);
  CHECK(h.engine->NextDeadline() == h.now + 2'000);  // Retry-After honoured
  CHECK(h.At(h.now + 1'999).empty());
  REQUIRE(h.engine->Acknowledge("INC-1", "bob", std::nullopt, h.now).ok());
  CHECK(h.engine->QueuedCount("sms") == 0);
  CHECK(h.At(h.now + 10'000).empty());
}

TEST_CASE("ACKNOWLEDGED receipt on any attempt stops the stakeholder, even after moving on") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-alice");
  OutboundMessage voice = h.One();
  h.Receipt(voice, AttemptStatus::kDelivered);
  auto sms = h.At(kT0 + 90'000);
  REQUIRE(sms.size() == 1);
  // The stakeholder presses 1 on the earlier voice call late: it still counts.
  h.Receipt(voice, AttemptStatus::kAcknowledged);
  const auto& st = h.State("INC-1", "alice");
  CHECK(st.acknowledged);
  CHECK(h.sink.Count(CascadeEventType::kStakeholderAcknowledged, "alice") == 2);  // attempt + stakeholder
  CHECK(h.engine->PendingTimerCount() == 0);  // the sms receipt timer is gone too
  // A second ack is ignored.
  REQUIRE(h.engine->Acknowledge("INC-1", "alice", Channel::kSms, h.now).ok());
  CHECK(h.engine->FindIncident("INC-1")->acknowledged == 1);
}

// ---------------------------------------------------------------------------
// Receipts
// ---------------------------------------------------------------------------

TEST_CASE("No receipt within 120 s is CHANNEL_TIMEOUT, a late receipt changes nothing") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-bob");
  OutboundMessage m = h.One();
  CHECK(h.engine->NextDeadline() == kT0 + 120'000);
  CHECK(h.At(kT0 + 119'999).empty());
  CHECK(h.At(kT0 + 120'000).empty());
  CHECK(h.engine->FindAttempt(m.message_id)->status == AttemptStatus::kTimeout);
  CHECK(h.sink.Count(CascadeEventType::kChannelTimeout) == 1);
  CHECK(h.State("INC-1", "bob").next_escalation_at == kT0 + 135'000);  // retry in 15 s
  // The delivered receipt arrives late: ignored, the retry stays scheduled.
  h.now = kT0 + 125'000;
  REQUIRE(h.engine->OnProviderReceipt("SM" + std::to_string(m.message_id), AttemptStatus::kDelivered, h.now).ok());
  CHECK(h.engine->FindAttempt(m.message_id)->status == AttemptStatus::kTimeout);
  REQUIRE(h.sink.Last(CascadeEventType::kReceiptIgnored) != nullptr);
  CHECK(h.sink.Last(CascadeEventType::kReceiptIgnored)->detail == "DELIVERED after TIMEOUT");
  CHECK(h.State("INC-1", "bob").next_escalation_at == kT0 + 135'000);
  auto retry = h.At(kT0 + 135'000);
  REQUIRE(retry.size() == 1);
  CHECK(retry[0].channel == Channel::kSms);
}

TEST_CASE("Duplicate and out-of-order receipts never move an attempt backwards") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-bob");
  OutboundMessage m = h.One();
  h.Receipt(m, AttemptStatus::kDelivered);
  h.now += 1'000;
  h.Receipt(m, AttemptStatus::kDelivered);   // duplicate
  h.Receipt(m, AttemptStatus::kSent);        // out of order ("sent" after "delivered")
  h.Receipt(m, AttemptStatus::kFailed);      // settled: a failure can't follow
  CHECK(h.engine->FindAttempt(m.message_id)->status == AttemptStatus::kDelivered);
  CHECK(h.sink.Count(CascadeEventType::kReceiptIgnored) == 3);
  CHECK(h.sink.Count(CascadeEventType::kAttemptDelivered) == 1);
  // One hold timer, from the first receipt: no duplicate advance.
  CHECK(h.State("INC-1", "bob").next_escalation_at == kT0 + 90'000);
  auto next = h.At(kT0 + 90'000);
  REQUIRE(next.size() == 1);
  CHECK(next[0].channel == Channel::kEmail);
  CHECK(h.At(kT0 + 91'000).empty());
  // Only an acknowledgement may still follow a settled attempt.
  h.Receipt(m, AttemptStatus::kAcknowledged);
  CHECK(h.engine->FindAttempt(m.message_id)->status == AttemptStatus::kAcknowledged);
  CHECK(h.State("INC-1", "bob").acknowledged);
  CHECK(h.engine->OnReceipt(987654, AttemptStatus::kDelivered, h.now).code() == StatusCode::kNotFound);
  CHECK(h.engine->OnProviderReceipt("SMnope", AttemptStatus::kDelivered, h.now).code() == StatusCode::kNotFound);
  CHECK(h.engine->OnReceipt(m.message_id, AttemptStatus::kTimeout, h.now).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("The reconciliation sweep forces PENDING attempts older than 5 minutes") {
  CascadeConfig c;
  c.receipt_timeout_ms = 0;  // the receipt timer is off: only the sweep can help
  Harness h(c);
  h.Start("INC-1", Severity::kP1, "solo-bob");
  OutboundMessage m = h.One();
  CHECK(h.engine->NextDeadline() == kT0 + 300'000);
  CHECK(h.At(kT0 + 299'999).empty());
  CHECK(h.At(kT0 + 300'000).empty());
  CHECK(h.engine->FindAttempt(m.message_id)->status == AttemptStatus::kTimeout);
  REQUIRE(h.sink.Last(CascadeEventType::kAttemptReconciled) != nullptr);
  CHECK(h.sink.Last(CascadeEventType::kAttemptReconciled)->attempt_id == m.message_id);
  CHECK(h.State("INC-1", "bob").retry_count == 1);
  CHECK(h.At(kT0 + 315'000).size() == 1);
}

// ---------------------------------------------------------------------------
// Failure, escalation, parallel voice
// ---------------------------------------------------------------------------

TEST_CASE("Three consecutive failed channels: CASCADE_FAILURE and the on-call manager") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-alice");
  for (Channel expected : {Channel::kVoice, Channel::kSms}) {
    OutboundMessage m = h.One();
    CHECK(m.channel == expected);
    h.Receipt(m, AttemptStatus::kUnreachable);
  }
  // Voice was primary: no parallel voice. Third channel, email, unreachable too.
  OutboundMessage email = h.One();
  CHECK(email.channel == Channel::kEmail);
  h.Receipt(email, AttemptStatus::kUnreachable);
  const auto& st = h.State("INC-1", "alice");
  CHECK(st.status == StakeholderStatus::kEscalated);
  CHECK(st.consecutive_failures == 3);
  CHECK(h.sink.Count(CascadeEventType::kCascadeFailure, "alice") == 1);
  CHECK(h.sink.Count(CascadeEventType::kManagerEscalated, "alice") == 1);
  auto out = h.Take();
  REQUIRE(out.size() == 1);
  CHECK(out[0].escalation);
  CHECK(out[0].endpoint == "voice.priority");
  CHECK(out[0].address == "+12125550199");
  CHECK(out[0].text.find("ESCALATION P1 incident INC-1: stakeholder alice") == 0);
  // Push (the fourth channel) is never tried.
  CHECK(std::none_of(st.attempts.begin(), st.attempts.end(),
                     [](const CascadeAttempt& a) { return a.channel == Channel::kPush; }));
  CHECK(h.engine->FindIncident("INC-1")->status == IncidentStatus::kNotSatisfied);
}

TEST_CASE("A DELIVERED channel resets the consecutive failure count") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-alice");
  OutboundMessage voice = h.One();
  h.Receipt(voice, AttemptStatus::kUnreachable);
  OutboundMessage sms = h.One();
  h.Receipt(sms, AttemptStatus::kDelivered);
  CHECK(h.State("INC-1", "alice").consecutive_failures == 0);
}

TEST_CASE("Running out of channels without an ack escalates to the manager") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "no-manager");  // bob: sms, email, voice; no manager
  auto out = h.Take();
  for (Channel expected : {Channel::kSms, Channel::kEmail, Channel::kVoice}) {
    REQUIRE(out.size() == 1);
    CHECK(out[0].channel == expected);
    h.Receipt(out[0], AttemptStatus::kDelivered);
    out = h.At(h.now + 90'000);
  }
  const auto& st = h.State("INC-1", "bob");
  CHECK(st.status == StakeholderStatus::kEscalated);
  CHECK(h.sink.Count(CascadeEventType::kStakeholderExhausted) == 1);
  CHECK(h.sink.Count(CascadeEventType::kManagerUnavailable) == 1);
  CHECK(out.empty());
}

TEST_CASE("Parallel voice starts only when the primary channel is UNREACHABLE, and once") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-bob");  // sms, email, voice
  OutboundMessage sms = h.One();
  h.Receipt(sms, AttemptStatus::kUnreachable);
  auto out = h.Take();
  REQUIRE(out.size() == 2);  // email (next step) and one parallel voice call
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.channel < b.channel; });
  CHECK(out[0].channel == Channel::kVoice);
  CHECK(out[1].channel == Channel::kEmail);
  CHECK(h.engine->FindAttempt(out[0].message_id)->parallel);
  CHECK(h.sink.Count(CascadeEventType::kParallelVoiceStarted) == 1);
  // The parallel call failing does not drive the sequence.
  REQUIRE(h.engine->OnReceipt(out[0].message_id, AttemptStatus::kFailed, h.now).ok());
  CHECK(h.State("INC-1", "bob").retry_count == 0);
  // Email delivered, hold expires: voice is not called again, channels are exhausted.
  REQUIRE(h.engine->OnReceipt(out[1].message_id, AttemptStatus::kDelivered, h.now).ok());
  auto after = h.At(h.now + 90'000);
  REQUIRE(after.size() == 1);
  CHECK(after[0].escalation);
  CHECK(h.sink.Count(CascadeEventType::kStakeholderExhausted) == 1);
}

TEST_CASE("A FAILED primary channel does not start parallel voice") {
  CascadeConfig c;
  c.max_retries_per_channel = 0;
  Harness h(c);
  h.Start("INC-1", Severity::kP1, "solo-bob");
  OutboundMessage sms = h.One();
  h.Receipt(sms, AttemptStatus::kFailed);
  auto out = h.Take();
  REQUIRE(out.size() == 1);
  CHECK(out[0].channel == Channel::kEmail);
  CHECK(h.sink.Count(CascadeEventType::kParallelVoiceStarted) == 0);
}

// ---------------------------------------------------------------------------
// Directory, quiet hours, groups, close
// ---------------------------------------------------------------------------

TEST_CASE("Directory API down: the cached record is used and flagged stale") {
  DownProvider down;
  Harness h(CascadeConfig(), &down);
  h.Start("INC-1", Severity::kP1, "trio");
  CHECK(down.calls == 1);  // one timeout, not one per member
  for (const char* who : {"alice", "bob", "carol"}) CHECK(h.State("INC-1", who).stale_contact_data);
  CHECK(h.sink.Count(CascadeEventType::kContactDataStale) == 3);
  REQUIRE(h.sink.Count(CascadeEventType::kContactDataStale, "alice") == 1);
  const CascadeEvent* e = nullptr;
  for (const auto& ev : h.sink.events) {
    if (ev.type == CascadeEventType::kContactDataStale && ev.member_id == "alice") e = &ev;
  }
  REQUIRE(e != nullptr);
  CHECK(e->detail == "directory lookup failed: HRIS unavailable");
  CHECK(h.sink.Last(CascadeEventType::kContactDataStale)->detail ==
        "directory lookup failed: HRIS unavailable (earlier lookup in this trigger)");
  CHECK(e->stale_contact_data);
  // Every later event of these stakeholders carries the flag too.
  auto out = h.Take();
  CHECK(out.size() == 3);
  CHECK(h.sink.Last(CascadeEventType::kAttemptSent)->stale_contact_data);
}

TEST_CASE("Quiet hours defer non-P1 attempts to the local end, DST-correct, P1 overrides") {
  // 2026-03-08T05:00Z is midnight EST; the clocks spring forward at 02:00.
  const UnixMillis midnight = 1'772'946'000'000;
  Harness h(CascadeConfig(), nullptr, midnight);
  h.Start("P3", Severity::kP3, "solo-carol");
  h.Start("P1", Severity::kP1, "solo-carol");
  auto out = h.Take();
  REQUIRE(out.size() == 1);  // only the P1 goes out during quiet hours
  CHECK(out[0].incident_id == "P1");
  const auto& st = h.State("P3", "carol");
  CHECK(st.status == StakeholderStatus::kDeferred);
  // 07:00 EDT on 2026-03-08 is 11:00Z (not 12:00Z: the night was an hour shorter).
  CHECK(st.next_escalation_at == 1'772'967'600'000);
  CHECK(h.sink.Count(CascadeEventType::kQuietHoursDeferred) == 1);
  REQUIRE(h.engine->Acknowledge("P1", "carol", Channel::kEmail, h.now).ok());
  CHECK(h.At(1'772'967'599'999).empty());
  auto morning = h.At(1'772'967'600'000);
  REQUIRE(morning.size() == 1);
  CHECK(morning[0].incident_id == "P3");
  CHECK(morning[0].channel == Channel::kEmail);
  CHECK(h.State("P3", "carol").status == StakeholderStatus::kActive);
}

TEST_CASE("Timers are UTC instants: a P1 hold across the DST change is exactly 90 s") {
  const UnixMillis before_jump = 1'772'953'140'000;  // 2026-03-08T06:59:00Z = 01:59 EST
  Harness h(CascadeConfig(), nullptr, before_jump);
  h.Start("INC-1", Severity::kP1, "solo-carol");
  OutboundMessage m = h.One();
  h.Receipt(m, AttemptStatus::kDelivered);
  CHECK(h.engine->NextDeadline() == before_jump + 90'000);
  CHECK(h.At(before_jump + 90'000).size() == 1);
}

TEST_CASE("N of M: two acknowledgements out of three satisfy the group and stop the third") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "trio");
  auto out = h.Take();
  REQUIRE(out.size() == 3);
  CHECK(h.engine->FindIncident("INC-1")->required_acks == 2);
  for (auto& m : out) {
    if (m.member_id == "alice") h.Receipt(m, AttemptStatus::kAcknowledged);
  }
  CHECK(h.engine->FindIncident("INC-1")->status == IncidentStatus::kActive);
  for (auto& m : out) {
    if (m.member_id == "bob") h.Receipt(m, AttemptStatus::kFailed);
  }
  REQUIRE(h.State("INC-1", "bob").next_escalation_at.has_value());  // retry waiting
  REQUIRE(h.engine->Acknowledge("INC-1", "carol", Channel::kEmail, h.now).ok());
  const IncidentCascade* inc = h.engine->FindIncident("INC-1");
  CHECK(inc->status == IncidentStatus::kSatisfied);
  CHECK(inc->acknowledged == 2);
  CHECK(h.sink.Count(CascadeEventType::kGroupAcknowledged) == 1);
  const auto& bob = h.State("INC-1", "bob");
  CHECK(bob.status == StakeholderStatus::kStopped);
  CHECK_FALSE(bob.next_escalation_at.has_value());
  CHECK(h.engine->PendingTimerCount() == 0);
  CHECK(h.At(h.now + 3'600'000).empty());
}

TEST_CASE("Any-one policy: the first ack stops everyone else") {
  Harness h;
  h.Start("INC-1", Severity::kP2, "any");
  auto out = h.Take();
  REQUIRE(out.size() == 2);
  REQUIRE(h.engine->Acknowledge("INC-1", "bob", Channel::kSms, h.now).ok());
  CHECK(h.engine->FindIncident("INC-1")->status == IncidentStatus::kSatisfied);
  CHECK(h.State("INC-1", "alice").status == StakeholderStatus::kStopped);
  CHECK(h.engine->PendingTimerCount() == 0);
}

TEST_CASE("Closing an incident stops timers and queued messages, escalations included") {
  CascadeConfig c;
  c.endpoint_limit = 1;
  Harness h(c);
  h.Start("INC-1", Severity::kP1, "trio");
  h.Start("INC-2", Severity::kP1, "solo-alice");
  auto out = h.Take();
  CHECK(h.engine->QueuedCount("voice") == 1);  // INC-2's call waits behind INC-1 alice
  REQUIRE(h.engine->CloseIncident("INC-2", h.now).ok());
  CHECK(h.engine->QueuedCount("voice") == 0);
  REQUIRE(h.engine->CloseIncident("INC-1", h.now).ok());
  REQUIRE(h.engine->CloseIncident("INC-1", h.now).ok());  // twice: harmless
  CHECK(h.engine->FindIncident("INC-1")->status == IncidentStatus::kClosed);
  for (const char* who : {"alice", "bob", "carol"}) {
    CHECK(h.State("INC-1", who).status == StakeholderStatus::kStopped);
  }
  // Late receipts are recorded but restart nothing.
  for (auto& m : out) REQUIRE(h.engine->OnReceipt(m.message_id, AttemptStatus::kFailed, h.now).ok());
  CHECK(h.At(h.now + 299'000).empty());
  CHECK(h.engine->CloseIncident("nope", h.now).code() == StatusCode::kNotFound);
  // After the idempotency window the closed incidents are forgotten.
  h.At(h.now + 1'000);
  CHECK(h.engine->FindIncident("INC-1") == nullptr);
  CHECK_FALSE(h.engine->NextDeadline().has_value());
}

// ---------------------------------------------------------------------------
// Throttling
// ---------------------------------------------------------------------------

TEST_CASE("Throttling is per endpoint, P1 goes ahead of P3, and nothing is dropped") {
  CascadeConfig c;
  c.endpoint_limit = 2;
  Harness h(c);
  h.Start("LOW", Severity::kP3, "trio");     // alice voice, bob sms, carol email
  h.Start("HIGH", Severity::kP1, "trio");
  auto out = h.Take();
  // voice: 2 slots; sms: 2 slots; email: 2 slots. All 6 fit: use a third incident.
  CHECK(out.size() == 6);
  h.Start("LOW2", Severity::kP3, "solo-bob");
  h.Start("HIGH2", Severity::kP1, "solo-bob");
  CHECK(h.Take().empty());                    // sms is full for this second
  CHECK(h.engine->QueuedCount("sms") == 2);
  CHECK(h.engine->NextDeadline() == h.now + 1'000);
  auto next = h.At(h.now + 1'000);
  REQUIRE(next.size() == 2);
  CHECK(next[0].incident_id == "HIGH2");     // P1 first although triggered later
  CHECK(next[1].incident_id == "LOW2");
}

// ---------------------------------------------------------------------------
// Mass activation (seed Edge Case 1)
// ---------------------------------------------------------------------------

TEST_CASE("Mass activation: 500 stakeholders, SMS carrier throttling after 150 messages") {
  // 500 members, SMS then email; 70 % acknowledge by SMS, 10 % by email, the
  // rest never answer. The carrier answers 429 (Retry-After 3 s) once 150
  // messages arrived within 10 s.
  std::string json = R"({"members": [{"id": "mgr", "channels": ["voice"], "addresses": {"voice": "+15550000000"}})";
  std::string group = R"(], "groups": [{"id": "everyone", "onCallManager": "mgr", "members": [)";
  for (int i = 0; i < 500; ++i) {
    std::string id = "m" + std::to_string(i);
    json += R"(, {"id": ")" + id + R"(", "channels": ["sms", "email"], "addresses": {"sms": "+1555100)" +
            std::to_string(1000 + i) + R"(", "email": ")" + id + R"(@example.com"}})";
    group += (i ? ", \"" : "\"") + id + "\"";
  }
  json += group + "]}]}";
  auto dir = StakeholderDirectory::FromJson(json);
  REQUIRE(dir.ok());
  RecordingSink sink;
  CascadeConfig config;
  CascadeEngine engine(config, &*dir, nullptr, &sink, kT0);
  UnixMillis now = kT0;
  REQUIRE(engine.Trigger(MakeTrigger("INC-MASS", Severity::kP1, "everyone"), now).ok());

  std::map<std::string, std::vector<UnixMillis>> sends;  // endpoint -> accepted send instants
  std::deque<UnixMillis> carrier_window;                 // the fake carrier's own view
  int throttled = 0;
  // Scheduled receipts: (time, message id, status).
  std::multimap<UnixMillis, std::pair<uint64_t, AttemptStatus>> receipts;
  for (int guard = 0; guard < 100'000; ++guard) {
    for (const OutboundMessage& m : engine.TakeOutbound(now)) {
      if (m.endpoint == "sms") {
        while (!carrier_window.empty() && carrier_window.front() <= now - 10'000) carrier_window.pop_front();
        if (carrier_window.size() >= 150) {
          ++throttled;
          REQUIRE(engine.OnSendResult(m.message_id, {SendResult::Kind::kThrottled, "", 3'000}, now).ok());
          continue;
        }
        carrier_window.push_back(now);
      }
      sends[m.endpoint].push_back(now);
      REQUIRE(engine.OnSendResult(m.message_id, {SendResult::Kind::kAccepted, "", 0}, now).ok());
      if (m.escalation) continue;
      int n = std::stoi(m.member_id.substr(1));
      receipts.emplace(now + 2'000, std::make_pair(m.message_id, AttemptStatus::kDelivered));
      bool acks = (m.channel == Channel::kSms && n % 10 < 7) || (m.channel == Channel::kEmail && n % 10 == 7);
      if (acks) receipts.emplace(now + 20'000, std::make_pair(m.message_id, AttemptStatus::kAcknowledged));
    }
    std::optional<UnixMillis> next = engine.NextDeadline();
    if (!receipts.empty() && (!next || receipts.begin()->first < *next)) next = receipts.begin()->first;
    if (!next) break;
    now = std::max(now, *next);
    while (!receipts.empty() && receipts.begin()->first <= now) {
      auto [id, status] = receipts.begin()->second;
      receipts.erase(receipts.begin());
      REQUIRE(engine.OnReceipt(id, status, now).ok());
    }
    engine.OnTimer(now);
  }
  CHECK(throttled > 0);
  // Nobody lost: every stakeholder acknowledged or escalated.
  int acked = 0, escalated = 0;
  for (int i = 0; i < 500; ++i) {
    const StakeholderCascade* s = engine.FindStakeholder("INC-MASS", "m" + std::to_string(i));
    REQUIRE(s != nullptr);
    bool should_ack = i % 10 < 8;
    INFO("member m" << i);
    if (should_ack) {
      REQUIRE(s->status == StakeholderStatus::kAcknowledged);
      ++acked;
    } else {
      REQUIRE(s->status == StakeholderStatus::kEscalated);
      ++escalated;
    }
  }
  CHECK(acked == 400);
  CHECK(escalated == 100);
  CHECK(sink.Count(CascadeEventType::kStakeholderExhausted) == 100);
  CHECK(sends["voice.priority"].size() == 100);
  // No endpoint ever exceeded 50 sends in any 1 s window.
  for (auto& [endpoint, times] : sends) {
    for (std::size_t i = 50; i < times.size(); ++i) {
      INFO(endpoint << " send " << i);
      REQUIRE(times[i] - times[i - 50] >= 1'000);
    }
  }
  // The bound the config implies. Queueing: 500 SMS through 50/s plus the
  // carrier's pauses (at most 3 s per 150 messages) takes < 30 s. Then per
  // stakeholder: SMS delivered (2 s) + P1 hold (90 s); email queued behind at
  // most 500 others (10 s), delivered (2 s) + hold (90 s); escalation.
  const UnixMillis bound = 30'000 + 2'000 + 90'000 + 10'000 + 2'000 + 90'000 + 1'000;
  for (const CascadeEvent& e : sink.events) {
    if (e.type == CascadeEventType::kStakeholderAcknowledged || e.type == CascadeEventType::kStakeholderExhausted) {
      INFO(CascadeEventName(e.type) << " " << e.member_id);
      REQUIRE(e.at - kT0 <= bound);
    }
  }
  CHECK(engine.QueuedCount("sms") == 0);
  CHECK(engine.QueuedCount("email") == 0);
}

TEST_CASE("An ack while a retry sits in a throttled queue cancels both timer and message") {
  CascadeConfig c;
  c.endpoint_limit = 1;
  c.endpoint_window_ms = 60'000;  // one SMS a minute: the retry has to queue
  Harness h(c);
  h.Start("INC-1", Severity::kP1, "solo-bob");
  OutboundMessage first = h.One();
  h.Receipt(first, AttemptStatus::kFailed);
  CHECK(h.At(kT0 + 15'000).empty());           // retry due, but the endpoint is full
  CHECK(h.engine->QueuedCount("sms") == 1);
  CHECK(h.engine->NextDeadline() == kT0 + 60'000);
  h.now = kT0 + 20'000;
  REQUIRE(h.engine->Acknowledge("INC-1", "bob", Channel::kSms, h.now).ok());
  CHECK(h.engine->QueuedCount("sms") == 0);
  CHECK_FALSE(h.engine->NextDeadline().has_value());
  CHECK(h.At(kT0 + 60'000).empty());
  const auto& st = h.State("INC-1", "bob");
  REQUIRE(st.attempts.size() == 2);
  CHECK(st.attempts[1].status == AttemptStatus::kCancelled);
  CHECK(st.attempts[1].retry == 1);
}

TEST_CASE("Hard failure through retries: 3 channels x (1 + 3 retries) then the manager") {
  Harness h;
  h.Start("INC-1", Severity::kP1, "solo-bob");  // sms, email, voice
  std::vector<OutboundMessage> out = h.Take();
  int attempts = 0;
  for (Channel channel : {Channel::kSms, Channel::kEmail, Channel::kVoice}) {
    for (int retry = 0; retry <= 3; ++retry) {
      REQUIRE(out.size() == 1);
      CHECK(out[0].channel == channel);
      ++attempts;
      h.Receipt(out[0], AttemptStatus::kFailed);
      if (retry < 3) out = h.At(h.now + CascadeConfig().RetryDelay(retry));
      else out = h.Take();
    }
  }
  CHECK(attempts == 12);
  const auto& st = h.State("INC-1", "bob");
  CHECK(st.status == StakeholderStatus::kEscalated);
  CHECK(st.consecutive_failures == 3);
  CHECK(h.sink.Count(CascadeEventType::kCascadeFailure) == 1);
  REQUIRE(out.size() == 1);
  CHECK(out[0].escalation);
  // 3 channels x (15 + 30 + 60 s) of waiting.
  CHECK(h.now == kT0 + 3 * 105'000);
}
