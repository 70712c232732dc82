// DurableCascade's inbound side: who was notified at a phone number (for SMS
// replies) and single-use ack-link redemptions, both answered from the file
// so they survive a restart; the address kept only as a keyed hash; the
// schema-2 migration of a version-1 file.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>

#include "lifeline/cascade_engine.hpp"
#include "providers/provider_crypto.hpp"
#include "store/durable_cascade.hpp"
#include "support/store_test_files.hpp"

using namespace lifeline;
using lifeline::testing::TempDbPath;

namespace {

constexpr UnixMillis kT0 = 1'716'215'520'000;  // 2024-05-20T14:32:00Z
const char* kAlice = "+12125550101";
const char* kBob = "+12125550103";
const char* kCarol = "+12125550107";

const char* kDirectory = R"({
  "members": [
    {"id": "alice", "channels": ["sms", "email"],
     "addresses": {"sms": "+12125550101", "email": "alice@example.com"}},
    {"id": "bob", "channels": ["sms", "email"],
     "addresses": {"sms": "+12125550103", "email": "bob@example.com"}},
    {"id": "carol", "channels": ["voice"], "addresses": {"voice": "+12125550107"}},
    {"id": "dave", "channels": ["email"], "addresses": {"email": "dave@example.com"}},
    {"id": "mgr", "channels": ["voice"], "addresses": {"voice": "+12125550199"}}
  ],
  "groups": [{"id": "ops", "members": ["alice", "bob"], "onCallManager": "mgr"},
             {"id": "net", "members": ["alice", "carol", "dave"], "onCallManager": "mgr"}]})";

CascadeTrigger MakeTrigger(const std::string& id, const std::string& group) {
  CascadeTrigger t;
  t.incident_id = id;
  t.severity = Severity::kP1;
  t.stakeholder_group_id = group;
  t.message_template = "Outage at {{site}}";
  t.timestamp = kT0;
  t.variables = {{"site", "DC-East"}};
  return t;
}

struct Fixture {
  Fixture() : db("cascade-inbound-store") {
    auto d = StakeholderDirectory::FromJson(kDirectory);
    REQUIRE(d.ok());
    directory = *d;
  }
  std::unique_ptr<DurableCascade> Open(UnixMillis now, const std::string& address_key = "",
                                       std::size_t hash_batch = 16384, bool exclusive = true) {
    DurableCascadeOptions options;
    options.database.path = db.path();
    options.database.synchronous = SqliteSynchronous::kNormal;
    options.database.exclusive = exclusive;
    options.address_key = address_key;
    options.address_hash_batch = hash_batch;
    auto r = DurableCascade::Open(options, &directory, nullptr, nullptr, now);
    INFO(r.status().message());
    REQUIRE(r.ok());
    return std::move(*r);
  }
  // INC-1 to ops (alice, bob: SMS) at kT0, INC-2 to net (alice SMS, carol
  // voice, dave email) at kT0 + 1 s, every message claimed.
  void NotifyTwoIncidents(DurableCascade& c) {
    REQUIRE(c.Trigger(MakeTrigger("INC-1", "ops"), kT0).ok());
    REQUIRE(c.TakeOutbound(kT0)->size() == 2);
    REQUIRE(c.Trigger(MakeTrigger("INC-2", "net"), kT0 + 1'000).ok());
    REQUIRE(c.TakeOutbound(kT0 + 1'000)->size() == 3);
  }
  std::string FileBytes() const {
    std::string all;
    for (const char* suffix : {"", "-wal"}) {
      std::ifstream in(db.path() + suffix, std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }
  TempDbPath db;
  StakeholderDirectory directory;
};

// The indexed hash of the member's (first) message in the incident, or
// "NULL" when it is not indexed.
std::string AddressHashOf(DurableCascade& c, const std::string& incident, const std::string& member) {
  auto q = c.database().Prepare(
      "SELECT a.address_hash FROM cascade_messages m LEFT JOIN cascade_addresses a USING (message_id) "
      "WHERE m.incident_id = ?1 AND m.member_id = ?2 ORDER BY m.message_id");
  REQUIRE(q.ok());
  q->Bind(1, incident).Bind(2, member);
  REQUIRE(*q->Step());
  return q->ColumnIsNull(0) ? "NULL" : q->ColumnText(0);
}

std::int64_t Count(DurableCascade& c, const char* sql) {
  auto q = c.database().Prepare(sql);
  REQUIRE(q.ok());
  REQUIRE(*q->Step());
  return q->ColumnInt64(0);
}

}  // namespace

TEST_CASE("who was notified at a number is answered from the file after a reopen") {
  Fixture f;
  {
    auto c = f.Open(kT0);
    f.NotifyTwoIncidents(*c);
  }  // "crash": every claim has committed
  auto c = f.Open(kT0 + 60'000);
  auto alice = c->RecipientsOf(kAlice);
  REQUIRE(alice.ok());
  CHECK(alice->last_incident_id == "INC-2");   // the most recent message
  CHECK(alice->member_by_incident == std::map<std::string, std::string>{{"INC-1", "alice"}, {"INC-2", "alice"}});
  auto bob = c->RecipientsOf(kBob);
  REQUIRE(bob.ok());
  CHECK(bob->last_incident_id == "INC-1");
  CHECK(bob->member_by_incident == std::map<std::string, std::string>{{"INC-1", "bob"}});
  auto carol = c->RecipientsOf(kCarol);   // voice counts: a reply may follow a call
  REQUIRE(carol.ok());
  CHECK(carol->member_by_incident == std::map<std::string, std::string>{{"INC-2", "carol"}});
  // Nobody at other numbers; email addresses are not phone numbers.
  CHECK(c->RecipientsOf("+19175550000").status().code() == StatusCode::kNotFound);
  CHECK(c->RecipientsOf("12125550101").status().code() == StatusCode::kNotFound);   // exact match
  CHECK(c->RecipientsOf("dave@example.com").status().code() == StatusCode::kNotFound);
  CHECK(c->RecipientsOf("").status().code() == StatusCode::kNotFound);
  CHECK(c->RecipientsOf(kAlice).ok());   // a lookup changes nothing

  // A later message to the same number moves "last": a retry on INC-1.
  REQUIRE(c->OnSendResult(c->engine().FindStakeholder("INC-1", "alice")->attempts.back().id,
                          {SendResult::Kind::kFailed, "", 0}, kT0 + 60'000).ok());
  REQUIRE(c->OnTimer(kT0 + 75'000).ok());
  auto retry = c->TakeOutbound(kT0 + 75'000);
  REQUIRE(retry->size() == 1);
  CHECK(retry->front().message.address == kAlice);
  CHECK(c->RecipientsOf(kAlice)->last_incident_id == "INC-1");
}

TEST_CASE("the ledger keeps a keyed hash of phone numbers, never the number") {
  Fixture f;
  {
    auto c = f.Open(kT0);
    f.NotifyTwoIncidents(*c);
  }   // the hashes are written at the latest when the object goes
  {
    auto c = f.Open(kT0 + 1);
    std::string h1 = AddressHashOf(*c, "INC-1", "alice");
    CHECK(h1.size() == 32);   // 128 bits, hex
    CHECK(h1.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(AddressHashOf(*c, "INC-2", "alice") == h1);   // same number, same hash
    CHECK(AddressHashOf(*c, "INC-1", "bob") != h1);
    CHECK(AddressHashOf(*c, "INC-2", "carol") != "NULL");
    CHECK(AddressHashOf(*c, "INC-2", "dave") == "NULL");   // email: not indexed
    CHECK(Count(*c, "SELECT COUNT(*) FROM cascade_secrets") == 1);
    CHECK(*c->database().UserVersion() == 2);
  }
  // No phone number anywhere in the file (the directory is the config's; no
  // live lookups were journaled).
  std::string bytes = f.FileBytes();
  REQUIRE(bytes.size() > 4096);
  for (const char* number : {"2125550101", "2125550103", "2125550107"}) {
    INFO(number);
    CHECK(bytes.find(number) == std::string::npos);
  }
  // Another file, another key: the same number hashes differently.
  Fixture g;
  g.NotifyTwoIncidents(*g.Open(kT0));
  auto c = g.Open(kT0 + 1);
  auto first = f.Open(kT0 + 2);
  CHECK(AddressHashOf(*c, "INC-1", "alice") != AddressHashOf(*first, "INC-1", "alice"));
}

TEST_CASE("address_key: mixed into the hash key, so a different key matches nothing written before") {
  Fixture f;
  std::string with_key;
  {
    auto c = f.Open(kT0, "operator-secret");
    f.NotifyTwoIncidents(*c);
  }
  {
    auto c = f.Open(kT0 + 1'000, "operator-secret");
    CHECK(c->RecipientsOf(kAlice)->last_incident_id == "INC-2");
    with_key = AddressHashOf(*c, "INC-1", "alice");
    CHECK(with_key.size() == 32);
  }
  {
    auto c = f.Open(kT0 + 2'000, "another-secret");
    CHECK(c->RecipientsOf(kAlice).status().code() == StatusCode::kNotFound);
  }
  auto c = f.Open(kT0 + 3'000);   // the per-file key alone
  CHECK(c->RecipientsOf(kAlice).status().code() == StatusCode::kNotFound);
  CHECK(AddressHashOf(*c, "INC-1", "alice") == with_key);   // rows are not rewritten
}

TEST_CASE("hashes are written in batches behind the claims, and after a crash the replay fills in the lost ones") {
  Fixture f;
  // Batches of 3: INC-1's two SMS stay pending, INC-2's take (3 more) writes all 4 phone rows.
  {
    auto c = f.Open(kT0, "", 3);
    REQUIRE(c->Trigger(MakeTrigger("INC-1", "ops"), kT0).ok());
    REQUIRE(c->TakeOutbound(kT0)->size() == 2);
    CHECK(Count(*c, "SELECT COUNT(*) FROM cascade_addresses") == 0);
    CHECK(c->RecipientsOf(kBob)->member_by_incident.at("INC-1") == "bob");   // answered from memory
    REQUIRE(c->Trigger(MakeTrigger("INC-2", "net"), kT0 + 1'000).ok());
    REQUIRE(c->TakeOutbound(kT0 + 1'000)->size() == 3);
    CHECK(Count(*c, "SELECT COUNT(*) FROM cascade_addresses") == 4);
    CHECK(c->RecipientsOf(kAlice)->last_incident_id == "INC-2");
  }
  // A crash while hashes are pending: the object is abandoned, never
  // destroyed (as under SIGKILL), while a new one opens the file.
  Fixture g;
  DurableCascade* crashed = g.Open(kT0, "", 16384, /*exclusive=*/false).release();
  g.NotifyTwoIncidents(*crashed);
  REQUIRE(crashed->RecipientsOf(kCarol).ok());
  {
    auto c = g.Open(kT0 + 5'000, "", 16384, /*exclusive=*/false);
    CHECK(Count(*c, "SELECT COUNT(*) FROM cascade_addresses") == 4);
    auto alice = c->RecipientsOf(kAlice);
    REQUIRE(alice.ok());
    CHECK(alice->last_incident_id == "INC-2");
    CHECK(alice->member_by_incident.size() == 2);
    CHECK(c->RecipientsOf(kCarol)->member_by_incident.at("INC-2") == "carol");
  }
  delete crashed;   // its late flush writes the same hashes again
  auto c = g.Open(kT0 + 6'000);
  CHECK(Count(*c, "SELECT COUNT(DISTINCT address_hash) FROM cascade_addresses") == 3);
}

TEST_CASE("a version-1 file is migrated: its SMS and voice messages are indexed from the replay") {
  Fixture f;
  {
    auto c = f.Open(kT0);
    f.NotifyTwoIncidents(*c);
  }
  {
    // Turn it back into what schema version 1 wrote.
    SqliteOptions o;
    o.path = f.db.path();
    auto db = SqliteDatabase::Open(o);
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("DROP TABLE cascade_addresses;"
                        "DROP TABLE cascade_secrets;"
                        "DROP INDEX cascade_ack_redemptions_expiry;"
                        "DROP TABLE cascade_ack_redemptions;"
                        "DELETE FROM cascade_meta WHERE key = 'addresses_through';"
                        "PRAGMA user_version = 1;").ok());
    CHECK(*(*db)->UserVersion() == 1);
  }
  auto c = f.Open(kT0 + 10'000);
  CHECK(*c->database().UserVersion() == 2);
  CHECK(Count(*c, "SELECT COUNT(*) FROM cascade_addresses") == 4);
  CHECK(AddressHashOf(*c, "INC-2", "dave") == "NULL");
  auto alice = c->RecipientsOf(kAlice);
  REQUIRE(alice.ok());
  CHECK(alice->last_incident_id == "INC-2");
  CHECK(alice->member_by_incident.size() == 2);
  CHECK(c->RecipientsOf(kCarol)->last_incident_id == "INC-2");
  // The replay is otherwise unchanged: the same messages, nothing resent.
  CHECK(c->stats().unknown_outcomes == 5);
  // The next open finds nothing left to backfill and the same answers.
  c.reset();
  c = f.Open(kT0 + 20'000);
  CHECK(c->RecipientsOf(kBob)->member_by_incident.at("INC-1") == "bob");
  // The lookup is two key searches, no scan.
  auto plan = c->database().Prepare(
      "EXPLAIN QUERY PLAN SELECT a.claimed_at, a.message_id, m.incident_id, m.member_id FROM cascade_addresses a "
      "JOIN cascade_messages m ON m.message_id = a.message_id WHERE a.address_hash = ?1");
  REQUIRE(plan.ok());
  plan->Bind(1, std::string("00"));
  std::string detail;
  while (*plan->Step()) detail += plan->ColumnText(3) + ";";
  INFO(detail);
  CHECK(detail.find("SEARCH a USING PRIMARY KEY (address_hash=?)") != std::string::npos);
  CHECK(detail.find("SEARCH m USING INTEGER PRIMARY KEY (rowid=?)") != std::string::npos);
  CHECK(detail.find("SCAN") == std::string::npos);
}

TEST_CASE("ack-link redemptions are single use across a reopen, recorded with the ack, pruned after expiry") {
  Fixture f;
  {
    auto c = f.Open(kT0);
    REQUIRE(c->Trigger(MakeTrigger("INC-1", "ops"), kT0).ok());
    REQUIRE(c->AcknowledgeOnce("mac-bob", kT0 + 60'000, "INC-1", "bob", Channel::kEmail, kT0 + 10).ok());
    CHECK(c->engine().FindStakeholder("INC-1", "bob")->status == StakeholderStatus::kAcknowledged);
    Status again = c->AcknowledgeOnce("mac-bob", kT0 + 60'000, "INC-1", "bob", Channel::kEmail, kT0 + 20);
    CHECK(again.code() == StatusCode::kDuplicate);
    CHECK(again.message() == "ack token: already used");
    // A refused acknowledgement does not use the token up.
    CHECK(c->AcknowledgeOnce("mac-x", kT0 + 120'000, "INC-9", "alice", Channel::kEmail, kT0 + 30).code() ==
          StatusCode::kNotFound);
    CHECK(c->AcknowledgeOnce("mac-x", kT0 + 120'000, "INC-1", "zed", Channel::kEmail, kT0 + 30).code() ==
          StatusCode::kNotFound);
    CHECK(Count(*c, "SELECT COUNT(*) FROM cascade_ack_redemptions") == 1);
    // The row holds SHA-256 of the token's MAC, not the MAC.
    auto q = c->database().Prepare("SELECT token_hash, expires_at, redeemed_at FROM cascade_ack_redemptions");
    REQUIRE(*q->Step());
    CHECK(q->ColumnText(0) == Hex(Sha256("mac-bob")));
    CHECK(q->ColumnInt64(1) == kT0 + 60'000);
    CHECK(q->ColumnInt64(2) == kT0 + 10);
  }
  {
    auto c = f.Open(kT0 + 1'000);
    // The ack came back from the journal; the token is still used.
    CHECK(c->engine().FindStakeholder("INC-1", "bob")->status == StakeholderStatus::kAcknowledged);
    CHECK(c->AcknowledgeOnce("mac-bob", kT0 + 60'000, "INC-1", "bob", Channel::kEmail, kT0 + 1'000).code() ==
          StatusCode::kDuplicate);
    // In a batch: committed with it.
    REQUIRE(c->BeginBatch().ok());
    REQUIRE(c->AcknowledgeOnce("mac-alice", kT0 + 120'000, "INC-1", "alice", std::nullopt, kT0 + 1'000).ok());
    REQUIRE(c->CommitBatch().ok());
    CHECK(Count(*c, "SELECT COUNT(*) FROM cascade_ack_redemptions") == 2);
  }
  auto c = f.Open(kT0 + 2'000);
  CHECK(c->engine().FindStakeholder("INC-1", "alice")->status == StakeholderStatus::kAcknowledged);
  CHECK(c->AcknowledgeOnce("mac-alice", kT0 + 120'000, "INC-1", "alice", Channel::kEmail, kT0 + 2'000).code() ==
        StatusCode::kDuplicate);
  // Past mac-bob's expiry its row goes (the token itself is refused as
  // expired before the store is asked); mac-alice's stays.
  CHECK(c->AcknowledgeOnce("mac-3", kT0 + 180'000, "INC-1", "alice", Channel::kEmail, kT0 + 60'001).ok());
  CHECK(Count(*c, "SELECT COUNT(*) FROM cascade_ack_redemptions") == 2);
  CHECK(c->AcknowledgeOnce("mac-alice", kT0 + 120'000, "INC-1", "alice", Channel::kEmail, kT0 + 60'002).code() ==
        StatusCode::kDuplicate);
}
