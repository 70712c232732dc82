// DurableCascade: the cascade's state in SQLite, replayed at open. Each test
// drops the object (as a crash would: every call has already committed) and
// reopens the file at a later instant.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "lifeline/cascade_engine.hpp"
#include "store/durable_cascade.hpp"
#include "support/store_test_files.hpp"

using namespace lifeline;
using lifeline::testing::TempDbPath;

namespace {

constexpr UnixMillis kT0 = 1'716'215'520'000;  // 2024-05-20T14:32:00Z

const char* kDirectory = R"({
  "members": [
    {"id": "alice", "channels": ["sms", "email"],
     "addresses": {"sms": "+12125550101", "email": "alice@example.com"}},
    {"id": "bob", "channels": ["sms", "email"],
     "addresses": {"sms": "+12125550103", "email": "bob@example.com"}},
    {"id": "mgr", "channels": ["voice"], "addresses": {"voice": "+12125550199"}}
  ],
  "groups": [{"id": "ops", "members": ["alice", "bob"], "onCallManager": "mgr"}]})";

CascadeTrigger MakeTrigger(const std::string& id) {
  CascadeTrigger t;
  t.incident_id = id;
  t.severity = Severity::kP1;
  t.stakeholder_group_id = "ops";
  t.message_template = "Outage at {{site}}";
  t.timestamp = kT0;
  t.variables = {{"site", "DC-East"}};
  return t;
}

struct Fixture {
  Fixture() : db("durable-cascade") {
    auto d = StakeholderDirectory::FromJson(kDirectory);
    REQUIRE(d.ok());
    directory = *d;
  }
  std::unique_ptr<DurableCascade> Open(UnixMillis now, DirectoryProvider* provider = nullptr,
                                       CascadeEventSink* sink = nullptr) {
    DurableCascadeOptions options;
    options.database.path = db.path();
    options.database.synchronous = SqliteSynchronous::kNormal;
    auto r = DurableCascade::Open(options, &directory, provider, sink, now);
    INFO(r.status().message());
    REQUIRE(r.ok());
    return std::move(*r);
  }
  TempDbPath db;
  StakeholderDirectory directory;
};

class CountingSink : public CascadeEventSink {
 public:
  void OnEvent(const CascadeEvent&) override { ++events; }
  int events = 0;
};

// Keeps every event, in order.
class KeepingSink : public CascadeEventSink {
 public:
  void OnEvent(const CascadeEvent& e) override { events.push_back(e); }
  std::vector<CascadeEvent> events;
};

// "TYPE incident member attempt" per event: what must match between the
// live run and its re-emission.
std::vector<std::string> Lines(const std::vector<CascadeEvent>& events) {
  std::vector<std::string> out;
  for (const CascadeEvent& e : events) {
    out.push_back(std::string(CascadeEventName(e.type)) + " " + e.incident_id + " " + e.member_id + " " +
                  std::to_string(e.attempt_id) + " @" + std::to_string(e.at));
  }
  return out;
}

class DownProvider : public DirectoryProvider {
 public:
  Result<StakeholderMember> Lookup(const std::string&, DurationMillis) override {
    ++calls;
    return Status(StatusCode::kUnavailable, "HRIS unavailable");
  }
  int calls = 0;
};

class UpProvider : public DirectoryProvider {
 public:
  explicit UpProvider(const StakeholderDirectory* d) : d_(d) {}
  Result<StakeholderMember> Lookup(const std::string& id, DurationMillis) override {
    ++calls;
    StakeholderMember m = *d_->FindMember(id);
    m.addresses[static_cast<int>(Channel::kSms)] = "+12125559999";  // fresher than the cache
    return m;
  }
  int calls = 0;

 private:
  const StakeholderDirectory* d_;
};

}  // namespace

TEST_CASE("a reopened cascade keeps its hold timer as the same UTC instant") {
  Fixture f;
  UnixMillis delivered_at = kT0 + 2'000;
  std::uint64_t alice_sms = 0;
  {
    auto c = f.Open(kT0);
    REQUIRE(c->Trigger(MakeTrigger("INC-1"), kT0).ok());
    auto out = c->TakeOutbound(kT0);
    REQUIRE(out.ok());
    REQUIRE(out->size() == 2);
    for (const ClaimedMessage& m : *out) {
      CHECK_FALSE(m.resend);
      REQUIRE(c->OnSendResult(m.message.message_id,
                              {SendResult::Kind::kAccepted, "SM" + m.message.member_id, 0},
                              kT0 + 500).ok());
      if (m.message.member_id == "alice") alice_sms = m.message.message_id;
    }
    REQUIRE(c->OnProviderReceipt("SMalice", AttemptStatus::kDelivered, delivered_at).ok());
    const StakeholderCascade* s = c->engine().FindStakeholder("INC-1", "alice");
    REQUIRE(s->next_escalation_at.has_value());
    CHECK(*s->next_escalation_at == delivered_at + 90'000);
  }
  // "Crash", then restart 60 s later: 30 s of the hold remain.
  UnixMillis restart = delivered_at + 60'000;
  auto c = f.Open(restart);
  CHECK(c->stats().replayed_entries == 5);   // trigger, take, 2 send results, receipt
  CHECK(c->last_journal_at() == delivered_at);
  const StakeholderCascade* s = c->engine().FindStakeholder("INC-1", "alice");
  REQUIRE(s != nullptr);
  REQUIRE(s->next_escalation_at.has_value());
  CHECK(*s->next_escalation_at == delivered_at + 90'000);
  CHECK(c->engine().FindAttempt(alice_sms)->status == AttemptStatus::kDelivered);
  auto unknown = c->TakeUnknownOutcomes(restart);
  REQUIRE(unknown.ok());
  CHECK(unknown->empty());
  // Nothing due before the hold expires; at expiry the next channel (email) goes out.
  REQUIRE(c->OnTimer(restart).ok());
  auto none = c->TakeOutbound(restart);
  REQUIRE(none.ok());
  CHECK(none->empty());
  REQUIRE(c->OnTimer(delivered_at + 90'000).ok());
  auto next = c->TakeOutbound(delivered_at + 90'000);
  REQUIRE(next.ok());
  REQUIRE(next->size() == 1);
  CHECK(next->front().message.member_id == "alice");
  CHECK(next->front().message.channel == Channel::kEmail);
  CHECK(next->front().message.address == "alice@example.com");
}

TEST_CASE("a message claimed but without a send result is re-sent once, never twice") {
  Fixture f;
  std::uint64_t answered = 0, unanswered = 0;
  {
    auto c = f.Open(kT0);
    REQUIRE(c->Trigger(MakeTrigger("INC-2"), kT0).ok());
    auto out = c->TakeOutbound(kT0);
    REQUIRE(out->size() == 2);
    answered = (*out)[0].message.message_id;
    unanswered = (*out)[1].message.message_id;
    REQUIRE(c->OnSendResult(answered, {SendResult::Kind::kAccepted, "SM1", 0}, kT0 + 100).ok());
    // crash while the second POST is in flight
  }
  OutboundMessage first_copy;
  {
    auto c = f.Open(kT0 + 5'000);
    CHECK(c->stats().unknown_outcomes == 1);
    auto again = c->TakeUnknownOutcomes(kT0 + 5'000);
    REQUIRE(again.ok());
    REQUIRE(again->size() == 1);
    CHECK(again->front().resend);
    CHECK(again->front().message.message_id == unanswered);
    CHECK(again->front().message.text == "Outage at DC-East");
    CHECK_FALSE(again->front().message.address.empty());
    // Asking twice in one run gives nothing more.
    CHECK(c->TakeUnknownOutcomes(kT0 + 5'001)->empty());
    // crash again during the re-send
  }
  {
    auto c = f.Open(kT0 + 10'000);
    CHECK(c->stats().unknown_outcomes == 1);
    auto again = c->TakeUnknownOutcomes(kT0 + 10'000);
    REQUIRE(again.ok());
    CHECK(again->empty());
    CHECK(c->stats().abandoned == 1);
    // The engine's receipt timeout takes over: TIMEOUT at sent + 120 s, then a retry.
    REQUIRE(c->OnTimer(kT0 + 120'000).ok());
    CHECK(c->engine().FindAttempt(unanswered)->status == AttemptStatus::kTimeout);
    auto q = c->database().Prepare(
        "SELECT state, resends FROM cascade_messages WHERE message_id = ?1");
    q->Bind(1, static_cast<std::int64_t>(unanswered));
    REQUIRE(*q->Step());
    CHECK(q->ColumnText(0) == "abandoned");
    CHECK(q->ColumnInt64(1) == 1);
  }
  {
    // A later open finds nothing unknown any more.
    auto c = f.Open(kT0 + 200'000);
    CHECK(c->stats().unknown_outcomes == 0);
    CHECK(c->TakeUnknownOutcomes(kT0 + 200'000)->empty());
  }
}

TEST_CASE("an acknowledgement before the send removes the queued message, across a restart") {
  Fixture f;
  CascadeConfig config;
  {
    DurableCascadeOptions options;
    options.database.path = f.db.path();
    auto c = DurableCascade::Open(options, &f.directory, nullptr, nullptr, kT0);
    REQUIRE(c.ok());
    REQUIRE((*c)->Trigger(MakeTrigger("INC-3"), kT0).ok());
    REQUIRE((*c)->Acknowledge("INC-3", "bob", Channel::kSms, kT0 + 1).ok());
  }
  auto c = f.Open(kT0 + 1'000);
  auto out = c->TakeOutbound(kT0 + 1'000);
  REQUIRE(out.ok());
  REQUIRE(out->size() == 1);
  CHECK(out->front().message.member_id == "alice");
  CHECK(c->engine().FindStakeholder("INC-3", "bob")->status == StakeholderStatus::kAcknowledged);
  // Idempotent trigger across the restart.
  auto dup = c->Trigger(MakeTrigger("INC-3"), kT0 + 2'000);
  REQUIRE(dup.ok());
  CHECK(dup->duplicate);
}

TEST_CASE("live directory lookups are replayed from the journal, not asked again") {
  Fixture f;
  {
    DownProvider down;
    auto c = f.Open(kT0, &down);
    REQUIRE(c->Trigger(MakeTrigger("INC-4"), kT0).ok());
    CHECK(down.calls == 1);  // one timeout per trigger
    CHECK(c->engine().FindStakeholder("INC-4", "alice")->stale_contact_data);
    REQUIRE(c->MarkAudited(c->journal_seq()).ok());  // its events were recorded
  }
  {
    UpProvider up(&f.directory);
    CountingSink sink;
    auto c = f.Open(kT0 + 1'000, &up, &sink);
    CHECK(up.calls == 0);
    CHECK(sink.events == 0);  // replay emits nothing up to the audit watermark
    CHECK(c->engine().FindStakeholder("INC-4", "alice")->stale_contact_data);
    REQUIRE(c->Trigger(MakeTrigger("INC-5"), kT0 + 1'000).ok());
    CHECK(up.calls == 2);
    CHECK(sink.events > 0);
  }
  // The fresh record (new SMS number) from INC-5's live lookup comes back from the journal.
  DownProvider down;
  auto c = f.Open(kT0 + 2'000, &down);
  CHECK(down.calls == 0);
  auto out = c->TakeOutbound(kT0 + 2'000);
  REQUIRE(out.ok());
  int fresh = 0;
  for (const ClaimedMessage& m : *out) {
    if (m.message.incident_id == "INC-5") {
      CHECK(m.message.address == "+12125559999");
      ++fresh;
    }
  }
  CHECK(fresh == 2);
  CHECK_FALSE(c->engine().FindStakeholder("INC-5", "bob")->stale_contact_data);
}

TEST_CASE("a batch groups calls into one commit, TakeOutbound commits it before returning") {
  Fixture f;
  auto c = f.Open(kT0);
  REQUIRE(c->BeginBatch().ok());
  CHECK(c->BeginBatch().code() == StatusCode::kState);
  REQUIRE(c->Trigger(MakeTrigger("INC-6"), kT0).ok());
  std::int64_t before = c->stats().commits;
  auto out = c->TakeOutbound(kT0);
  REQUIRE(out->size() == 2);
  CHECK(c->stats().commits == before + 1);
  REQUIRE(c->CommitBatch().ok());
  CHECK(c->CommitBatch().code() == StatusCode::kState);
}

TEST_CASE("a file written by another component is refused") {
  Fixture f;
  {
    SqliteOptions o;
    o.path = f.db.path();
    auto db = SqliteDatabase::Open(o);
    REQUIRE(db.ok());
    REQUIRE((*db)->Migrate(SqliteSchema{0x4C4C4F42, {{1, "CREATE TABLE x(a);"}}}).ok());
  }
  DurableCascadeOptions options;
  options.database.path = f.db.path();
  auto c = DurableCascade::Open(options, &f.directory, nullptr, nullptr, kT0);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == StatusCode::kState);
}

TEST_CASE("events after the audit watermark are emitted again at open, marked recovered") {
  Fixture f;
  std::vector<CascadeEvent> live;
  std::int64_t after_trigger = 0;
  {
    KeepingSink sink;
    auto c = f.Open(kT0, nullptr, &sink);
    CHECK(c->journal_seq() == 0);
    CHECK(c->audited_through() == 0);
    REQUIRE(c->Trigger(MakeTrigger("INC-A"), kT0).ok());
    after_trigger = c->journal_seq();
    CHECK(after_trigger == 1);
    REQUIRE(c->MarkAudited(after_trigger).ok());  // the trigger's events are in the trail
    sink.events.clear();
    auto out = c->TakeOutbound(kT0);
    REQUIRE(out.ok());
    REQUIRE(out->size() == 2);
    for (const ClaimedMessage& m : *out) {
      REQUIRE(c->OnSendResult(m.message.message_id, SendResult{SendResult::Kind::kAccepted, "SM1", 0}, kT0 + 5).ok());
    }
    CHECK(c->journal_seq() == after_trigger + 3);
    live = sink.events;
    REQUIRE(!live.empty());
    // Dropped here without MarkAudited: a crash while the audit sink refused.
  }
  {
    KeepingSink sink;
    auto c = f.Open(kT0 + 60'000, nullptr, &sink);
    CHECK(c->audited_through() == after_trigger);
    CHECK(c->journal_seq() == after_trigger + 3);
    CHECK(Lines(sink.events) == Lines(live));  // the same events, in the same order
    for (const CascadeEvent& e : sink.events) CHECK(e.recovered);
    CHECK(c->stats().recovered_events == static_cast<std::int64_t>(live.size()));
    REQUIRE(c->MarkAudited(c->journal_seq()).ok());
    CHECK(c->audited_through() == after_trigger + 3);
    // Past the journal's end is clamped to it; backwards is a no-op.
    REQUIRE(c->MarkAudited(c->journal_seq() + 100).ok());
    CHECK(c->audited_through() == after_trigger + 3);
    REQUIRE(c->MarkAudited(1).ok());
    CHECK(c->audited_through() == after_trigger + 3);
  }
  {
    KeepingSink sink;
    auto c = f.Open(kT0 + 120'000, nullptr, &sink);
    CHECK(sink.events.empty());
    CHECK(c->stats().recovered_events == 0);
    // Live events after a reopen are not marked recovered.
    REQUIRE(c->Acknowledge("INC-A", "alice", Channel::kSms, kT0 + 120'000).ok());
    REQUIRE(!sink.events.empty());
    for (const CascadeEvent& e : sink.events) CHECK_FALSE(e.recovered);
  }
}

TEST_CASE("a file from before the audit watermark starts it at its last entry") {
  Fixture f;
  {
    auto c = f.Open(kT0);
    REQUIRE(c->Trigger(MakeTrigger("INC-L"), kT0).ok());
    REQUIRE(c->TakeOutbound(kT0).ok());
    // What a file written by an earlier version looks like: no watermark.
    REQUIRE(c->database().Exec("DELETE FROM cascade_meta WHERE key = 'audited_through'", "test").ok());
  }
  CountingSink sink;
  auto c = f.Open(kT0 + 1'000, nullptr, &sink);
  CHECK(sink.events == 0);
  CHECK(c->journal_seq() == 2);
  CHECK(c->audited_through() == 2);
}
