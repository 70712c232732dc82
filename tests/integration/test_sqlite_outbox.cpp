// The callback outbox on real SQLite files (and :memory:): every
// transition, idempotency, reopen, recovery, purge, fault injection (at the
// port and under SQLite, through a faulty VFS) and concurrent enqueues.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lifeline/durable_store.hpp"
#include "store/sqlite_database.hpp"
#include "store/sqlite_outbox_store.hpp"
#include "support/faulty_sqlite_vfs.hpp"
#include "support/store_test_files.hpp"

using lifeline::ForwardingOutboxStore;
using lifeline::OutboxOutcome;
using lifeline::OutboxRecord;
using lifeline::OutboxStats;
using lifeline::OutboxStore;
using lifeline::Result;
using lifeline::SqliteDatabase;
using lifeline::SqliteOptions;
using lifeline::SqliteOutboxOptions;
using lifeline::SqliteOutboxStore;
using lifeline::SqliteStatement;
using lifeline::SqliteSynchronous;
using lifeline::Status;
using lifeline::StatusCode;
using lifeline::UnixMillis;
using lifeline::testing::FaultySqliteVfs;
using lifeline::testing::TempDbPath;
using State = lifeline::OutboxRecord::State;

namespace {

constexpr UnixMillis kT0 = 1'700'000'000'000;

OutboxRecord Rec(const std::string& id, UnixMillis created = kT0, UnixMillis due = kT0) {
  OutboxRecord r;
  r.request_id = id;
  r.payload_json = R"({"callerPhone":"+15551230000","id":")" + id + R"("})";
  r.created_at = created;
  r.next_attempt_at = due;
  return r;
}

SqliteOutboxOptions FileOptions(const TempDbPath& file) {
  SqliteOutboxOptions options;
  options.database.path = file.path();
  return options;
}

std::unique_ptr<SqliteOutboxStore> OpenOrDie(const SqliteOutboxOptions& options) {
  Result<std::unique_ptr<SqliteOutboxStore>> store = SqliteOutboxStore::Open(options);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(*store);
}

OutboxRecord GetOrDie(OutboxStore& store, const std::string& id) {
  Result<OutboxRecord> r = store.Get(id);
  INFO(id << ": " << r.status().message());
  REQUIRE(r.ok());
  return *r;
}

OutboxStats StatsOrDie(OutboxStore& store) {
  Result<OutboxStats> s = store.Stats();
  REQUIRE(s.ok());
  return *s;
}

std::vector<std::string> Ids(const std::vector<OutboxRecord>& records) {
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(r.request_id);
  return ids;
}

std::vector<OutboxRecord> ClaimOrDie(OutboxStore& store, UnixMillis now, size_t max) {
  Result<std::vector<OutboxRecord>> claimed = store.ClaimDue(now, max);
  INFO(claimed.status().message());
  REQUIRE(claimed.ok());
  return *claimed;
}

void CheckCounts(OutboxStore& store, uint64_t pending, uint64_t in_flight,
                 uint64_t delivered, uint64_t dead) {
  OutboxStats s = StatsOrDie(store);
  CHECK(s.pending == pending);
  CHECK(s.in_flight == in_flight);
  CHECK(s.delivered == delivered);
  CHECK(s.dead == dead);
}

}  // namespace

TEST_CASE("Enqueue records a PENDING row, visible through Get, Stats and NextDueAt") {
  TempDbPath file("outbox-enqueue");
  auto store = OpenOrDie(FileOptions(file));
  CheckCounts(*store, 0, 0, 0, 0);
  CHECK_FALSE(StatsOrDie(*store).oldest_pending_created_at.has_value());
  CHECK_FALSE(store->NextDueAt()->has_value());

  OutboxRecord in = Rec("r-1", kT0, kT0 + 500);
  in.attempts = 2;
  in.last_error = "HTTP 503";
  in.resend = true;               // ignored: the store's own fields
  in.resends = 7;                 //
  in.provider_reference = "x";   //
  REQUIRE(store->Enqueue(in).ok());

  OutboxRecord out = GetOrDie(*store, "r-1");
  CHECK(out.request_id == "r-1");
  CHECK(out.payload_json == in.payload_json);
  CHECK(out.state == State::kPending);
  CHECK(out.created_at == kT0);
  CHECK(out.next_attempt_at == kT0 + 500);
  CHECK(out.attempts == 2);
  CHECK(out.last_error == "HTTP 503");
  CHECK_FALSE(out.resend);
  CHECK(out.resends == 0);
  CHECK(out.claimed_at == 0);
  CHECK(out.settled_at == 0);
  CHECK(out.provider_reference.empty());

  REQUIRE(store->Enqueue(Rec("r-2", kT0 - 100, kT0 + 200)).ok());
  CheckCounts(*store, 2, 0, 0, 0);
  CHECK(StatsOrDie(*store).oldest_pending_created_at == kT0 - 100);
  CHECK(store->NextDueAt()->value() == kT0 + 200);
  CHECK(store->Get("r-3").status().code() == StatusCode::kNotFound);
  CHECK(store->Get("r-3").status().message() == "outbox get: no record with this request_id");
}

TEST_CASE("Enqueue refuses a request id already kept, and invalid records") {
  TempDbPath file("outbox-dup");
  auto store = OpenOrDie(FileOptions(file));
  REQUIRE(store->Enqueue(Rec("r-1")).ok());
  OutboxRecord again = Rec("r-1", kT0 + 1);
  again.payload_json = "SECRET-PAYLOAD";
  Status dup = store->Enqueue(again);
  CHECK(dup.code() == StatusCode::kDuplicate);
  CHECK(dup.message() == "outbox enqueue: a record with this request_id is already kept");
  CHECK(GetOrDie(*store, "r-1").created_at == kT0);  // the first one is untouched
  CheckCounts(*store, 1, 0, 0, 0);

  // Still a duplicate once delivered (until purged).
  REQUIRE(ClaimOrDie(*store, kT0, 10).size() == 1);
  REQUIRE(store->MarkDelivered("r-1", kT0 + 10, "cb-1").ok());
  CHECK(store->Enqueue(Rec("r-1")).code() == StatusCode::kDuplicate);

  OutboxRecord empty = Rec("");
  CHECK(store->Enqueue(empty).code() == StatusCode::kInvalidArgument);
  CHECK(store->Enqueue(empty).message() == "outbox enqueue: request_id is empty");
  OutboxRecord negative = Rec("r-neg");
  negative.attempts = -1;
  CHECK(store->Enqueue(negative).message() == "outbox enqueue: attempts is negative");
  OutboxRecord dead = Rec("r-dead");
  dead.state = State::kDead;
  CHECK(store->Enqueue(dead).code() == StatusCode::kInvalidArgument);
  CHECK(store->Enqueue(dead).message() == "outbox enqueue: state must be PENDING");
  CheckCounts(*store, 0, 0, 1, 0);
}

TEST_CASE("EnqueueBatch commits the good records and reports each one") {
  TempDbPath file("outbox-batch");
  auto store = OpenOrDie(FileOptions(file));
  REQUIRE(store->Enqueue(Rec("old")).ok());
  OutboxRecord bad = Rec("");
  Result<std::vector<Status>> results =
      store->EnqueueBatch({Rec("a"), Rec("old"), Rec("b"), Rec("a"), bad, Rec("c")});
  REQUIRE(results.ok());
  REQUIRE(results->size() == 6);
  CHECK((*results)[0].ok());
  CHECK((*results)[1].code() == StatusCode::kDuplicate);
  CHECK((*results)[2].ok());
  CHECK((*results)[3].code() == StatusCode::kDuplicate);  // repeated inside the batch
  CHECK((*results)[4].code() == StatusCode::kInvalidArgument);
  CHECK((*results)[5].ok());
  CheckCounts(*store, 4, 0, 0, 0);
  Result<std::vector<Status>> none = store->EnqueueBatch({});
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("ClaimDue takes due records in order, marks them IN_FLIGHT and counts the attempt") {
  TempDbPath file("outbox-claim");
  auto store = OpenOrDie(FileOptions(file));
  REQUIRE(store->Enqueue(Rec("late", kT0, kT0 + 1000)).ok());
  REQUIRE(store->Enqueue(Rec("b", kT0 + 5, kT0 + 10)).ok());
  REQUIRE(store->Enqueue(Rec("a", kT0 + 1, kT0 + 10)).ok());  // same due, older
  REQUIRE(store->Enqueue(Rec("first", kT0 + 9, kT0)).ok());
  REQUIRE(store->Enqueue(Rec("c", kT0 + 5, kT0 + 10)).ok());  // same due and age as b

  CHECK(ClaimOrDie(*store, kT0 - 1, 10).empty());
  CHECK(ClaimOrDie(*store, kT0 + 10, 0).empty());
  std::vector<OutboxRecord> claimed = ClaimOrDie(*store, kT0 + 10, 3);
  CHECK(Ids(claimed) == std::vector<std::string>{"first", "a", "b"});
  for (const auto& r : claimed) {
    CHECK(r.state == State::kInFlight);
    CHECK(r.attempts == 1);
    CHECK(r.claimed_at == kT0 + 10);
  }
  CHECK(claimed[1].payload_json == Rec("a").payload_json);
  OutboxRecord stored = GetOrDie(*store, "a");
  CHECK(stored.state == State::kInFlight);
  CHECK(stored.attempts == 1);
  CHECK(stored.claimed_at == kT0 + 10);
  CheckCounts(*store, 2, 3, 0, 0);
  CHECK(store->NextDueAt()->value() == kT0 + 10);  // "c"

  CHECK(Ids(ClaimOrDie(*store, kT0 + 999, 10)) == std::vector<std::string>{"c"});
  CHECK(store->NextDueAt()->value() == kT0 + 1000);
  CHECK(Ids(ClaimOrDie(*store, kT0 + 1000, 10)) == std::vector<std::string>{"late"});
  CHECK_FALSE(store->NextDueAt()->has_value());
  CheckCounts(*store, 0, 5, 0, 0);
  // The oldest undelivered record is in flight: it still counts as backlog.
  CHECK(StatsOrDie(*store).oldest_pending_created_at == kT0);
}

TEST_CASE("Outcomes move IN_FLIGHT records to DELIVERED, PENDING again, or DEAD") {
  TempDbPath file("outbox-outcomes");
  auto store = OpenOrDie(FileOptions(file));
  for (const char* id : {"ok", "retry", "dead", "dead-pending"}) {
    REQUIRE(store->Enqueue(Rec(id)).ok());
  }
  REQUIRE(ClaimOrDie(*store, kT0, 3).size() == 3);  // not "dead-pending"

  REQUIRE(store->MarkDelivered("ok", kT0 + 20, "genesys-cb-77").ok());
  OutboxRecord ok = GetOrDie(*store, "ok");
  CHECK(ok.state == State::kDelivered);
  CHECK(ok.settled_at == kT0 + 20);
  CHECK(ok.provider_reference == "genesys-cb-77");

  REQUIRE(store->MarkRetry("retry", kT0 + 5000, "HTTP 503").ok());
  OutboxRecord retry = GetOrDie(*store, "retry");
  CHECK(retry.state == State::kPending);
  CHECK(retry.next_attempt_at == kT0 + 5000);
  CHECK(retry.last_error == "HTTP 503");
  CHECK(retry.attempts == 1);
  CHECK(store->NextDueAt()->value() == kT0);  // "dead-pending"

  REQUIRE(store->MarkDead("dead", "HTTP 400: invalid queueId", kT0 + 30).ok());
  OutboxRecord dead = GetOrDie(*store, "dead");
  CHECK(dead.state == State::kDead);
  CHECK(dead.settled_at == kT0 + 30);
  CHECK(dead.last_error == "HTTP 400: invalid queueId");
  REQUIRE(store->MarkDead("dead-pending", "expired", kT0 + 31).ok());
  CHECK(GetOrDie(*store, "dead-pending").state == State::kDead);
  CheckCounts(*store, 1, 0, 1, 2);

  SECTION("wrong states are refused with the state named") {
    Status s = store->MarkDelivered("ok", kT0, "");
    CHECK(s.code() == StatusCode::kState);
    CHECK(s.message() == "outbox mark delivered: the record is DELIVERED, not IN_FLIGHT");
    s = store->MarkRetry("retry", kT0, "x");
    CHECK(s.message() == "outbox mark retry: the record is PENDING, not IN_FLIGHT");
    s = store->MarkDead("ok", "x", kT0);
    CHECK(s.message() == "outbox mark dead: the record is DELIVERED, not PENDING or IN_FLIGHT");
    s = store->MarkDead("dead", "x", kT0);
    CHECK(s.message() == "outbox mark dead: the record is DEAD, not PENDING or IN_FLIGHT");
    CheckCounts(*store, 1, 0, 1, 2);
  }
  SECTION("unknown and empty ids") {
    Status s = store->MarkDelivered("nope", kT0, "");
    CHECK(s.code() == StatusCode::kNotFound);
    CHECK(s.message() == "outbox mark delivered: no record with this request_id");
    CHECK(store->MarkRetry("nope", kT0, "").code() == StatusCode::kNotFound);
    CHECK(store->MarkDead("nope", "", kT0).code() == StatusCode::kNotFound);
    CHECK(store->MarkDead("", "", kT0).message() == "outbox mark dead: request_id is empty");
  }
}

TEST_CASE("RecordOutcomes applies many outcomes in one transaction, each judged alone") {
  TempDbPath file("outbox-record-outcomes");
  auto store = OpenOrDie(FileOptions(file));
  for (int i = 0; i < 5; ++i) REQUIRE(store->Enqueue(Rec("r-" + std::to_string(i))).ok());
  REQUIRE(ClaimOrDie(*store, kT0, 4).size() == 4);  // r-4 stays PENDING
  Result<std::vector<Status>> results = store->RecordOutcomes({
      OutboxOutcome::Delivered("r-0", kT0 + 1, "p0"),
      OutboxOutcome::Retry("r-1", kT0 + 100, "timeout"),
      OutboxOutcome::Dead("r-2", "HTTP 403", kT0 + 2),
      OutboxOutcome::Delivered("r-4", kT0 + 3, "p4"),    // PENDING: refused
      OutboxOutcome::Delivered("r-9", kT0 + 3, "p9"),    // unknown
      OutboxOutcome::Delivered("r-3", kT0 + 4, "p3"),
      OutboxOutcome::Delivered("r-3", kT0 + 5, "again"),  // already delivered above
  });
  REQUIRE(results.ok());
  REQUIRE(results->size() == 7);
  CHECK((*results)[0].ok());
  CHECK((*results)[1].ok());
  CHECK((*results)[2].ok());
  CHECK((*results)[3].code() == StatusCode::kState);
  CHECK((*results)[4].code() == StatusCode::kNotFound);
  CHECK((*results)[5].ok());
  CHECK((*results)[6].code() == StatusCode::kState);
  CHECK(GetOrDie(*store, "r-3").provider_reference == "p3");
  CheckCounts(*store, 2, 0, 2, 1);
}

TEST_CASE("Dead letters are listed in order, kept, and re-driven one by one or all") {
  TempDbPath file("outbox-dead");
  auto store = OpenOrDie(FileOptions(file));
  for (int i = 0; i < 5; ++i) REQUIRE(store->Enqueue(Rec("d-" + std::to_string(i))).ok());
  REQUIRE(store->Enqueue(Rec("alive")).ok());
  REQUIRE(ClaimOrDie(*store, kT0, 10).size() == 6);
  for (int i : {3, 0, 4, 1, 2}) {  // the order of death does not matter
    std::string id = "d-" + std::to_string(i);
    REQUIRE(store->MarkDead(id, "gave up " + std::to_string(i), kT0 + i).ok());
  }
  CHECK(Ids(*store->ListDead(2, 0)) == std::vector<std::string>{"d-0", "d-1"});
  CHECK(Ids(*store->ListDead(2, 2)) == std::vector<std::string>{"d-2", "d-3"});
  CHECK(Ids(*store->ListDead(2, 4)) == std::vector<std::string>{"d-4"});
  CHECK(store->ListDead(2, 5)->empty());
  CHECK(store->ListDead(0, 0)->empty());
  std::vector<OutboxRecord> all = *store->ListDead(100, 0);
  REQUIRE(all.size() == 5);
  CHECK(all[3].last_error == "gave up 3");
  CHECK(all[3].attempts == 1);
  CHECK(all[3].state == State::kDead);

  // A purge never touches dead letters.
  CHECK(store->PurgeDelivered(kT0 + 1'000'000'000, 0).value() == 0);
  CheckCounts(*store, 0, 1, 0, 5);

  REQUIRE(store->Redrive("d-3", kT0 + 50).ok());
  OutboxRecord redriven = GetOrDie(*store, "d-3");
  CHECK(redriven.state == State::kPending);
  CHECK(redriven.attempts == 0);
  CHECK(redriven.next_attempt_at == kT0 + 50);
  CHECK(redriven.settled_at == 0);
  CHECK(redriven.last_error == "gave up 3");  // kept for the record
  CHECK(Ids(*store->ListDead(100, 0)) ==
        std::vector<std::string>{"d-0", "d-1", "d-2", "d-4"});

  Status s = store->Redrive("d-3", kT0);
  CHECK(s.code() == StatusCode::kState);
  CHECK(s.message() == "outbox redrive: the record is PENDING, not DEAD");
  CHECK(store->Redrive("zzz", kT0).code() == StatusCode::kNotFound);
  CHECK(store->Redrive("", kT0).code() == StatusCode::kInvalidArgument);

  CHECK(store->RedriveAll(kT0 + 60).value() == 4);
  CHECK(store->ListDead(100, 0)->empty());
  CheckCounts(*store, 5, 1, 0, 0);
  CHECK(store->RedriveAll(kT0 + 60).value() == 0);
  std::vector<OutboxRecord> again = ClaimOrDie(*store, kT0 + 60, 10);
  CHECK(Ids(again) == std::vector<std::string>{"d-3", "d-0", "d-1", "d-2", "d-4"});
  CHECK(again[0].attempts == 1);
}

TEST_CASE("Reopening the file shows exactly the committed state") {
  TempDbPath file("outbox-reopen");
  {
    auto store = OpenOrDie(FileOptions(file));
    for (int i = 0; i < 6; ++i) REQUIRE(store->Enqueue(Rec("r-" + std::to_string(i))).ok());
    REQUIRE(ClaimOrDie(*store, kT0, 4).size() == 4);
    REQUIRE(store->MarkDelivered("r-0", kT0 + 1, "ref-0").ok());
    REQUIRE(store->MarkRetry("r-1", kT0 + 900, "HTTP 429").ok());
    REQUIRE(store->MarkDead("r-2", "HTTP 400", kT0 + 2).ok());
    // r-3 stays IN_FLIGHT: the process "dies" here.
  }
  auto store = OpenOrDie(FileOptions(file));
  CheckCounts(*store, 3, 1, 1, 1);
  CHECK(GetOrDie(*store, "r-0").provider_reference == "ref-0");
  CHECK(GetOrDie(*store, "r-1").next_attempt_at == kT0 + 900);
  CHECK(GetOrDie(*store, "r-2").state == State::kDead);
  CHECK(GetOrDie(*store, "r-3").state == State::kInFlight);
  CHECK(GetOrDie(*store, "r-5").state == State::kPending);
  CHECK(store->CheckIntegrity().ok());
  CHECK(store->Enqueue(Rec("r-4")).code() == StatusCode::kDuplicate);
}

TEST_CASE("Recover puts IN_FLIGHT records back as re-sends, counted per record and in total") {
  TempDbPath file("outbox-recover");
  {
    auto store = OpenOrDie(FileOptions(file));
    for (int i = 0; i < 4; ++i) REQUIRE(store->Enqueue(Rec("r-" + std::to_string(i))).ok());
    REQUIRE(ClaimOrDie(*store, kT0, 3).size() == 3);
    REQUIRE(store->MarkDelivered("r-0", kT0 + 1, "").ok());
  }
  {
    auto store = OpenOrDie(FileOptions(file));
    CheckCounts(*store, 1, 2, 1, 0);
    Result<size_t> recovered = store->Recover(kT0 + 60'000);
    REQUIRE(recovered.ok());
    CHECK(*recovered == 2);
    CheckCounts(*store, 3, 0, 1, 0);
    CHECK(StatsOrDie(*store).total_resends == 2);
    OutboxRecord r1 = GetOrDie(*store, "r-1");
    CHECK(r1.state == State::kPending);
    CHECK(r1.resend);
    CHECK(r1.resends == 1);
    CHECK(r1.attempts == 1);  // the lost attempt still counts
    CHECK(r1.next_attempt_at == kT0 + 60'000);
    CHECK_FALSE(GetOrDie(*store, "r-3").resend);  // was never in flight
    CHECK_FALSE(GetOrDie(*store, "r-0").resend);

    // The re-send is claimed with its flag; the pipeline counts it on send.
    std::vector<OutboxRecord> claimed = ClaimOrDie(*store, kT0 + 60'000, 10);
    REQUIRE(claimed.size() == 3);
    CHECK(std::count_if(claimed.begin(), claimed.end(),
                        [](const OutboxRecord& r) { return r.resend; }) == 2);
    // Too late to recover now: these are really in flight.
    Result<size_t> late = store->Recover(kT0 + 60'001);
    CHECK(late.status().code() == StatusCode::kState);
    CHECK(late.status().message() ==
          "outbox recover: must run before the first ClaimDue of this store; records "
          "claimed since would be sent twice");
    // An attempt with a known outcome clears the flag.
    REQUIRE(store->MarkRetry("r-1", kT0 + 70'000, "HTTP 502").ok());
    CHECK_FALSE(GetOrDie(*store, "r-1").resend);
    CHECK(GetOrDie(*store, "r-1").resends == 1);
    REQUIRE(store->MarkDelivered("r-2", kT0 + 60'010, "").ok());
    CHECK(GetOrDie(*store, "r-2").resend);  // delivered after a re-send: kept
  }
  {
    // Killed again with r-3 in flight: counters accumulate across restarts.
    auto store = OpenOrDie(FileOptions(file));
    CHECK(StatsOrDie(*store).total_resends == 2);
    CHECK(store->Recover(kT0 + 80'000).value() == 1);
    CHECK(StatsOrDie(*store).total_resends == 3);
    CHECK(store->Recover(kT0 + 80'001).value() == 0);  // idempotent before claims
  }
  auto store = OpenOrDie(FileOptions(file));
  CHECK(StatsOrDie(*store).total_resends == 3);
  CHECK(GetOrDie(*store, "r-3").resends == 1);
}

TEST_CASE("PurgeDelivered deletes delivered rows older than the retention, in chunks") {
  TempDbPath file("outbox-purge");
  SqliteOutboxOptions options = FileOptions(file);
  options.purge_chunk_size = 3;
  auto store = OpenOrDie(options);
  const lifeline::DurationMillis retention = lifeline::kDefaultOutboxRetentionMillis;
  CHECK(retention == 86'400'000);
  for (int i = 0; i < 10; ++i) REQUIRE(store->Enqueue(Rec("old-" + std::to_string(i))).ok());
  REQUIRE(store->Enqueue(Rec("edge")).ok());
  REQUIRE(store->Enqueue(Rec("young")).ok());
  REQUIRE(store->Enqueue(Rec("dead")).ok());
  REQUIRE(store->Enqueue(Rec("flying")).ok());
  REQUIRE(store->Enqueue(Rec("waiting", kT0, kT0 + 1'000'000)).ok());
  REQUIRE(ClaimOrDie(*store, kT0, 100).size() == 14);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(store->MarkDelivered("old-" + std::to_string(i), kT0 + i, "").ok());
  }
  const UnixMillis now = kT0 + 100 + retention;
  REQUIRE(store->MarkDelivered("edge", now - retention, "").ok());       // exactly at the limit
  REQUIRE(store->MarkDelivered("young", now - retention + 1, "").ok());  // 1 ms too young
  REQUIRE(store->MarkDead("dead", "x", kT0).ok());
  CheckCounts(*store, 1, 1, 12, 1);

  CHECK(store->PurgeDelivered(now, -1).status().code() == StatusCode::kInvalidArgument);
  Result<size_t> purged = store->PurgeDelivered(now, retention);
  REQUIRE(purged.ok());
  CHECK(*purged == 11);  // 10 old + edge, three per transaction
  CheckCounts(*store, 1, 1, 1, 1);
  CHECK(store->Get("edge").status().code() == StatusCode::kNotFound);
  CHECK(GetOrDie(*store, "young").state == State::kDelivered);
  CHECK(GetOrDie(*store, "dead").state == State::kDead);
  CHECK(GetOrDie(*store, "flying").state == State::kInFlight);
  CHECK(GetOrDie(*store, "waiting").state == State::kPending);
  CHECK(store->PurgeDelivered(now, retention).value() == 0);
  // Purged ids are forgotten: the store-level dedup window is the retention.
  CHECK(store->Enqueue(Rec("old-0")).ok());
  CHECK(store->PurgeDelivered(now + 1, retention).value() == 1);  // "young"
  CHECK(store->CheckIntegrity().ok());
}

TEST_CASE(":memory: outboxes work the same and are independent") {
  auto a = OpenOrDie(SqliteOutboxOptions());
  auto b = OpenOrDie(SqliteOutboxOptions());
  REQUIRE(a->Enqueue(Rec("r-1")).ok());
  REQUIRE(b->Enqueue(Rec("r-1")).ok());
  CHECK(Ids(ClaimOrDie(*a, kT0, 5)) == std::vector<std::string>{"r-1"});
  REQUIRE(a->MarkDelivered("r-1", kT0, "p").ok());
  CheckCounts(*a, 0, 0, 1, 0);
  CheckCounts(*b, 1, 0, 0, 0);
  CHECK(a->CheckIntegrity().ok());
}

TEST_CASE("Open reports unusable files as kIo and refuses other components' files") {
  SECTION("a directory that does not exist") {
    SqliteOutboxOptions options;
    options.database.path = lifeline::testing::TestTmpDir() + "/missing-dir/outbox.db";
    Result<std::unique_ptr<SqliteOutboxStore>> store = SqliteOutboxStore::Open(options);
    CHECK(store.status().code() == StatusCode::kIo);
    CHECK(store.status().message() == "sqlite open '" + options.database.path +
                                          "': unable to open database file (sqlite 14)");
  }
  SECTION("a corrupted file") {
    TempDbPath file("outbox-corrupt");
    {
      auto store = OpenOrDie(FileOptions(file));
      REQUIRE(store->Enqueue(Rec("r-1")).ok());
    }
    {
      // Overwrite the header: the magic string is gone.
      std::FILE* f = std::fopen(file.path().c_str(), "r+b");
      REQUIRE(f != nullptr);
      std::fputs("garbage garbage garbage garbage!", f);
      std::fclose(f);
    }
    Result<std::unique_ptr<SqliteOutboxStore>> store = SqliteOutboxStore::Open(FileOptions(file));
    CHECK(store.status().code() == StatusCode::kIo);
    CHECK(store.status().message() ==
          "sqlite open '" + file.path() + "': file is not a database (sqlite 26)");
  }
  SECTION("a file already owned by an open outbox") {
    TempDbPath file("outbox-owned");
    auto first = OpenOrDie(FileOptions(file));
    SqliteOutboxOptions options = FileOptions(file);
    options.database.busy_timeout_ms = 20;
    Result<std::unique_ptr<SqliteOutboxStore>> second = SqliteOutboxStore::Open(options);
    CHECK(second.status().code() == StatusCode::kIo);
    CHECK_THAT(second.status().message(),
               Catch::EndsWith("database is locked (sqlite 5); another connection or process "
                               "owns this file"));
  }
  SECTION("another component's database") {
    TempDbPath file("outbox-foreign");
    {
      SqliteOptions options;
      options.path = file.path();
      auto db = SqliteDatabase::Open(options);
      REQUIRE(db.ok());
      REQUIRE((*db)->Migrate({0x43415343, {{1, "CREATE TABLE cascade(x);"}}}).ok());
    }
    Result<std::unique_ptr<SqliteOutboxStore>> store = SqliteOutboxStore::Open(FileOptions(file));
    CHECK(store.status().code() == StatusCode::kState);
    CHECK_THAT(store.status().message(), Catch::Contains("belongs to another component"));
  }
  SECTION("bad options") {
    SqliteOutboxOptions options;
    options.max_group_size = 0;
    CHECK(SqliteOutboxStore::Open(options).status().message() ==
          "outbox open: max_group_size must be >= 1");
    options.max_group_size = 1;
    options.purge_chunk_size = 0;
    CHECK(SqliteOutboxStore::Open(options).status().code() == StatusCode::kInvalidArgument);
    options.purge_chunk_size = 1;
    options.database.exclusive = false;
    CHECK(SqliteOutboxStore::Open(options).status().message() ==
          "outbox open: database.exclusive must be true: one process owns an outbox");
  }
}

TEST_CASE("The schema's queries use their partial indexes") {
  TempDbPath file("outbox-plan");
  { auto store = OpenOrDie(FileOptions(file)); }
  SqliteOptions options;
  options.path = file.path();
  auto db = SqliteDatabase::Open(options);
  REQUIRE(db.ok());
  auto plan = [&](const char* sql) {
    std::string out;
    Result<SqliteStatement> stmt = (*db)->Prepare(sql);
    REQUIRE(stmt.ok());
    for (;;) {
      Result<bool> row = stmt->Step();
      REQUIRE(row.ok());
      if (!*row) break;
      out += stmt->ColumnText(3) + "\n";
    }
    return out;
  };
  CHECK_THAT(plan("EXPLAIN QUERY PLAN SELECT seq FROM outbox WHERE state = 'PENDING' AND "
                  "next_attempt_at <= 5 ORDER BY next_attempt_at, created_at, seq LIMIT 64"),
             Catch::Contains("USING INDEX outbox_pending_due") &&
                 !Catch::Contains("TEMP B-TREE"));
  CHECK_THAT(plan("EXPLAIN QUERY PLAN SELECT MIN(next_attempt_at) FROM outbox WHERE state = "
                  "'PENDING'"),
             Catch::Contains("outbox_pending_due"));
  CHECK_THAT(plan("EXPLAIN QUERY PLAN SELECT MIN(created_at) FROM outbox WHERE state IN "
                  "('PENDING', 'IN_FLIGHT')"),
             Catch::Contains("outbox_undelivered"));
  CHECK_THAT(plan("EXPLAIN QUERY PLAN SELECT seq FROM outbox WHERE state = 'DELIVERED' AND "
                  "settled_at <= 5 LIMIT 10"),
             Catch::Contains("outbox_delivered"));
  CHECK_THAT(plan("EXPLAIN QUERY PLAN SELECT seq FROM outbox WHERE state = 'DEAD' ORDER BY seq "
                  "LIMIT 10 OFFSET 0"),
             Catch::Contains("outbox_dead"));
  CHECK_THAT(plan("EXPLAIN QUERY PLAN UPDATE outbox SET state = 'PENDING' WHERE state IN "
                  "('PENDING', 'IN_FLIGHT') AND state = 'IN_FLIGHT'"),
             Catch::Contains("outbox_undelivered"));
}

TEST_CASE("Stats, NextDueAt and ClaimDue cost the same with a large backlog") {
  // SQLite counts the virtual-machine steps a statement takes: a scan grows
  // with the table, an index seek does not. No clock involved.
  TempDbPath file("outbox-steps");
  {
    auto store = OpenOrDie(FileOptions(file));
    std::vector<OutboxRecord> records;
    for (int i = 0; i < 3000; ++i) {
      // created_at deliberately out of step with due times and insertion.
      records.push_back(Rec("r-" + std::to_string(i), kT0 + (i * 7919) % 3000, kT0 + i % 50));
    }
    REQUIRE(store->EnqueueBatch(records).ok());
    REQUIRE(ClaimOrDie(*store, kT0 + 10, 500).size() == 500);
    std::vector<OutboxOutcome> delivered;
    for (int i = 0; i < 300; ++i) {
      delivered.push_back(OutboxOutcome::Delivered("r-" + std::to_string(i * 10), kT0, ""));
    }
    REQUIRE(store->RecordOutcomes(delivered).ok());
  }
  SqliteOptions options;
  options.path = file.path();
  auto db = SqliteDatabase::Open(options);
  REQUIRE(db.ok());
  auto steps = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2((*db)->handle(), sql, -1, &stmt, nullptr) == SQLITE_OK);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    CHECK(rc == SQLITE_DONE);
    int n = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 0);
    sqlite3_finalize(stmt);
    return n;
  };
  // The queries exactly as the store runs them.
  CHECK(steps("SELECT MIN(created_at) FROM outbox WHERE state IN ('PENDING', 'IN_FLIGHT')") < 50);
  CHECK(steps("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'PENDING'") < 50);
  CHECK(steps("SELECT seq FROM outbox WHERE state = 'PENDING' AND next_attempt_at <= 1700000000049"
              " ORDER BY next_attempt_at, created_at, seq LIMIT 64") < 64 * 20);
  CHECK(steps("SELECT seq FROM outbox WHERE state = 'DEAD' ORDER BY seq LIMIT 10 OFFSET 0") < 50);
  // For contrast: the same MIN without the index's condition scans.
  CHECK(steps("SELECT MIN(created_at) FROM outbox WHERE state = 'PENDING'") > 2000);
}

// ---------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------

namespace {

// Fails the Nth Enqueue with kIo without reaching the store, as a pipeline
// test would; everything else is the real store.
class FailingEnqueue final : public ForwardingOutboxStore {
 public:
  FailingEnqueue(OutboxStore* target, int fail_at)
      : ForwardingOutboxStore(target), fail_at_(fail_at) {}
  Status Enqueue(const OutboxRecord& record) override {
    if (++calls_ == fail_at_) return lifeline::IoError("injected: disk full");
    return ForwardingOutboxStore::Enqueue(record);
  }

 private:
  int fail_at_;
  int calls_ = 0;
};

}  // namespace

TEST_CASE("ForwardingOutboxStore forwards every call, a subclass overrides one") {
  auto real = OpenOrDie(SqliteOutboxOptions());
  FailingEnqueue store(real.get(), 2);
  CHECK(store.target() == real.get());
  REQUIRE(store.Enqueue(Rec("r-1")).ok());
  Status injected = store.Enqueue(Rec("r-2"));
  CHECK(injected.code() == StatusCode::kIo);
  CHECK(injected.message() == "injected: disk full");
  CHECK(store.Get("r-2").status().code() == StatusCode::kNotFound);
  REQUIRE(store.Enqueue(Rec("r-2")).ok());
  REQUIRE(store.EnqueueBatch({Rec("r-3"), Rec("r-4"), Rec("r-5")}).ok());
  CHECK(store.Recover(kT0).value() == 0);
  CHECK(store.NextDueAt()->value() == kT0);
  REQUIRE(ClaimOrDie(store, kT0, 4).size() == 4);
  REQUIRE(store.MarkDelivered("r-1", kT0, "p").ok());
  REQUIRE(store.MarkRetry("r-2", kT0 + 5, "e").ok());
  REQUIRE(store.MarkDead("r-3", "e", kT0).ok());
  REQUIRE(store.RecordOutcomes({OutboxOutcome::Dead("r-4", "e", kT0)}).ok());
  CHECK(Ids(*store.ListDead(10, 0)) == std::vector<std::string>{"r-3", "r-4"});
  REQUIRE(store.Redrive("r-3", kT0).ok());
  CHECK(store.RedriveAll(kT0).value() == 1);
  CHECK(store.PurgeDelivered(kT0, 0).value() == 1);
  CheckCounts(store, 4, 0, 0, 0);
  CheckCounts(*real, 4, 0, 0, 0);
}

TEST_CASE("A storage failure under SQLite leaves nothing behind") {
  FaultySqliteVfs& vfs = FaultySqliteVfs::Get();
  TempDbPath file("outbox-faulty");
  SqliteOutboxOptions options = FileOptions(file);
  options.database.vfs = vfs.name();
  auto store = OpenOrDie(options);
  REQUIRE(store->Enqueue(Rec("r-1")).ok());
  REQUIRE(store->Enqueue(Rec("r-2")).ok());
  const int injected_before = vfs.injected();

  SECTION("Enqueue whose WAL write fails") {
    OutboxRecord secret = Rec("r-3");
    secret.payload_json = "SECRET-PAYLOAD";
    vfs.Arm(FaultySqliteVfs::Op::kWrite, FaultySqliteVfs::File::kWal, 0);
    Status s = store->Enqueue(secret);
    vfs.Disarm();
    CHECK(vfs.injected() > injected_before);
    CHECK(s.code() == StatusCode::kIo);
    CHECK(s.message() == "sqlite commit: disk I/O error (sqlite 778)");
    CHECK(s.message().find("SECRET") == std::string::npos);
    CHECK(store->Get("r-3").status().code() == StatusCode::kNotFound);
    CheckCounts(*store, 2, 0, 0, 0);
    REQUIRE(store->Enqueue(secret).ok());  // no trace of the failed attempt
    CheckCounts(*store, 3, 0, 0, 0);
  }
  SECTION("EnqueueBatch whose WAL write fails") {
    vfs.Arm(FaultySqliteVfs::Op::kWrite, FaultySqliteVfs::File::kWal, 0);
    Result<std::vector<Status>> s = store->EnqueueBatch({Rec("b-1"), Rec("b-2")});
    vfs.Disarm();
    CHECK(s.status().code() == StatusCode::kIo);
    CHECK(store->Get("b-1").status().code() == StatusCode::kNotFound);
    CheckCounts(*store, 2, 0, 0, 0);
  }
  SECTION("ClaimDue whose commit fails claims nothing") {
    vfs.Arm(FaultySqliteVfs::Op::kWrite, FaultySqliteVfs::File::kWal, 0);
    Result<std::vector<OutboxRecord>> claimed = store->ClaimDue(kT0, 10);
    vfs.Disarm();
    CHECK(claimed.status().code() == StatusCode::kIo);
    CHECK(GetOrDie(*store, "r-1").state == State::kPending);
    CHECK(GetOrDie(*store, "r-1").attempts == 0);
    CheckCounts(*store, 2, 0, 0, 0);
    CHECK(ClaimOrDie(*store, kT0, 10).size() == 2);
  }
  SECTION("RecordOutcomes whose commit fails records no outcome") {
    REQUIRE(ClaimOrDie(*store, kT0, 10).size() == 2);
    vfs.Arm(FaultySqliteVfs::Op::kWrite, FaultySqliteVfs::File::kWal, 0);
    Result<std::vector<Status>> r = store->RecordOutcomes(
        {OutboxOutcome::Delivered("r-1", kT0, "p"), OutboxOutcome::Dead("r-2", "e", kT0)});
    vfs.Disarm();
    CHECK(r.status().code() == StatusCode::kIo);
    CHECK(GetOrDie(*store, "r-1").state == State::kInFlight);
    CHECK(GetOrDie(*store, "r-2").state == State::kInFlight);
    CheckCounts(*store, 0, 2, 0, 0);
  }
  SECTION("Enqueue whose WAL fsync fails reports kIo and the store keeps working") {
    vfs.Arm(FaultySqliteVfs::Op::kSync, FaultySqliteVfs::File::kWal, 0);
    Status s = store->Enqueue(Rec("r-3"));
    vfs.Disarm();
    CHECK(s.code() == StatusCode::kIo);
    CHECK(s.message() == "sqlite commit: disk I/O error (sqlite 1034)");
    CheckCounts(*store, 2, 0, 0, 0);
    REQUIRE(store->Enqueue(Rec("r-4")).ok());
  }
  // Whatever happened, the file is sound and holds what was reported.
  store.reset();
  auto reopened = OpenOrDie(options);
  CHECK(reopened->CheckIntegrity().ok());
  OutboxStats stats = StatsOrDie(*reopened);
  CHECK(stats.pending + stats.in_flight >= 2);
  CHECK(GetOrDie(*reopened, "r-1").request_id == "r-1");
  CHECK(reopened->Get("b-1").status().code() == StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

TEST_CASE("Concurrent enqueues from many threads are all committed, once each") {
  TempDbPath file("outbox-threads");
  SqliteOutboxOptions options = FileOptions(file);
  options.database.synchronous = SqliteSynchronous::kNormal;  // keep the test quick
  const bool group_commit = GENERATE(true, false);
  options.group_commit = group_commit;
  auto store = OpenOrDie(options);
  constexpr int kThreads = 6;
  constexpr int kPerThread = 150;
  std::atomic<int> ok{0}, duplicates{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every thread also tries one id of its neighbour's: exactly one wins.
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        Status s = store->Enqueue(Rec(id));
        (s.ok() ? ok : other)++;
        if (i % 10 == 0) {
          std::string theirs = "shared-" + std::to_string(i);
          Status d = store->Enqueue(Rec(theirs));
          (d.ok() ? ok : d.code() == StatusCode::kDuplicate ? duplicates : other)++;
        }
      }
    });
  }
  // Claims and deliveries run concurrently with the enqueues.
  std::atomic<bool> done{false};
  std::atomic<int> delivered{0};
  std::thread consumer([&] {
    while (!done.load() || store->NextDueAt()->has_value()) {
      Result<std::vector<OutboxRecord>> batch = store->ClaimDue(kT0, 32);
      if (!batch.ok()) break;
      std::vector<OutboxOutcome> outcomes;
      for (const auto& r : *batch) outcomes.push_back(OutboxOutcome::Delivered(r.request_id, kT0, ""));
      Result<std::vector<Status>> results = store->RecordOutcomes(outcomes);
      if (!results.ok()) break;
      for (const auto& s : *results) delivered += s.ok() ? 1 : 0;
      if (batch->empty()) std::this_thread::yield();
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  consumer.join();

  const int shared = kPerThread / 10;
  CHECK(other == 0);
  CHECK(ok == kThreads * kPerThread + shared);
  CHECK(duplicates == (kThreads - 1) * shared);
  CHECK(delivered == ok.load());
  CheckCounts(*store, 0, 0, static_cast<uint64_t>(ok.load()), 0);
  if (group_commit) {
    lifeline::GroupCommitter::Counters c = store->group_commit_counters();
    CHECK(c.operations == static_cast<uint64_t>(kThreads * (kPerThread + shared)));
    CHECK(c.groups <= c.operations);
  } else {
    CHECK(store->group_commit_counters().operations == 0);
  }
  store.reset();
  auto reopened = OpenOrDie(options);
  CheckCounts(*reopened, 0, 0, static_cast<uint64_t>(ok.load()), 0);
  CHECK(reopened->CheckIntegrity().ok());
}
