// The outbox under SIGKILL: a real child process (lifeline_helper_outbox_writer)
// enqueues, claims and delivers on a real file; the test kills it at random
// moments, several times, restarting it in between, and checks after every
// kill that
//
//   - every record the child reported committed is in the file;
//   - every record it reported delivered is DELIVERED;
//   - the file passes PRAGMA integrity_check;
//   - the next run's Recover() puts back exactly the records that were
//     IN_FLIGHT at the kill, each counted as one re-send;
//
// and at the end, after a run that drains the outbox, that everything
// committed was delivered and the store's re-send total equals the number of
// records that were in flight at the kills, none re-sent more than once per
// kill.
//
// The seed is printed; set LIFELINE_TEST_SEED to replay a run's kill times.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "lifeline/durable_store.hpp"
#include "store/sqlite_database.hpp"
#include "store/sqlite_outbox_store.hpp"
#include "support/child_process.hpp"
#include "support/store_test_files.hpp"

using lifeline::OutboxRecord;
using lifeline::OutboxStats;
using lifeline::Result;
using lifeline::SqliteDatabase;
using lifeline::SqliteOptions;
using lifeline::SqliteOutboxOptions;
using lifeline::SqliteOutboxStore;
using lifeline::SqliteStatement;
using lifeline::Status;
using lifeline::testing::TempDbPath;

namespace {

// The outbox writer as a child process (tests/support/child_process.hpp).
class Child : public lifeline::testing::Child {
 public:
  explicit Child(const std::vector<std::string>& args)
      : lifeline::testing::Child("lifeline_helper_outbox_writer", args) {}
};

bool StartsWith(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

// What all the children reported, across runs.
struct Reported {
  std::set<std::string> committed;
  std::set<std::string> delivered;

  void Add(const std::vector<std::string>& lines) {
    for (const auto& line : lines) {
      if (StartsWith(line, "committed ")) committed.insert(line.substr(10));
      if (StartsWith(line, "delivered ")) delivered.insert(line.substr(10));
    }
  }
};

// The "recovered <n>" a run reported, or -1.
long RecoveredCount(const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    if (StartsWith(line, "recovered ")) return std::stol(line.substr(10));
  }
  return -1;
}

std::int64_t QueryInt(SqliteDatabase& db, const char* sql) {
  Result<SqliteStatement> stmt = db.Prepare(sql);
  REQUIRE(stmt.ok());
  Result<bool> row = stmt->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return stmt->ColumnInt64(0);
}

// Opens the file as the next owner would (without Recover), checks it
// against what was reported, and returns how many records are IN_FLIGHT.
std::uint64_t CheckFileAfterKill(const std::string& path, const Reported& reported) {
  SqliteOutboxOptions options;
  options.database.path = path;
  Result<std::unique_ptr<SqliteOutboxStore>> store = SqliteOutboxStore::Open(options);
  INFO(store.status().message());
  REQUIRE(store.ok());
  Status integrity = (*store)->CheckIntegrity();
  INFO(integrity.message());
  CHECK(integrity.ok());
  size_t missing = 0, undelivered = 0;
  for (const auto& id : reported.committed) {
    Result<OutboxRecord> r = (*store)->Get(id);
    if (!r.ok()) {
      ++missing;
      UNSCOPED_INFO("committed but missing: " << id);
    }
  }
  for (const auto& id : reported.delivered) {
    Result<OutboxRecord> r = (*store)->Get(id);
    if (!r.ok() || r->state != OutboxRecord::State::kDelivered) ++undelivered;
  }
  CHECK(missing == 0);
  CHECK(undelivered == 0);
  Result<OutboxStats> stats = (*store)->Stats();
  REQUIRE(stats.ok());
  return stats->in_flight;
}

void RunCrashScenario(const std::string& label, const std::vector<std::string>& mode) {
  const char* seed_env = std::getenv("LIFELINE_TEST_SEED");
  const unsigned seed = seed_env != nullptr ? static_cast<unsigned>(std::stoul(seed_env))
                                            : std::random_device{}();
  INFO("LIFELINE_TEST_SEED=" << seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(20, 200);

  TempDbPath file(label);
  Reported reported;
  std::uint64_t in_flight_at_kills = 0;
  std::uint64_t in_flight_last_kill = 0;
  constexpr int kRandomKills = 5;
  const int kills = kRandomKills + 1;

  for (int run = 0; run < kills; ++run) {
    std::vector<std::string> args = {"--path", file.path(), "--first",
                                     std::to_string(run * 1'000'000)};
    args.insert(args.end(), mode.begin(), mode.end());
    const bool targeted = run == kRandomKills;
    if (targeted) {
      // The last kill lands while a claimed batch is held in flight (the
      // child waits 300 ms between claim and delivery), so the re-send
      // path is exercised on every run of this test.
      args.insert(args.end(), {"--hold-ms", "300"});
    }
    Child child(args);
    REQUIRE(child.ReadUntil(std::chrono::seconds(30), [](const std::string& line) {
      return line == "ready";
    }));
    // The new owner recovered exactly what was in flight at the last kill.
    CHECK(RecoveredCount(child.lines()) == static_cast<long>(in_flight_last_kill));
    if (targeted) {
      REQUIRE(child.ReadUntil(std::chrono::seconds(30), [](const std::string& line) {
        return StartsWith(line, "claimed ");
      }));
    } else {
      child.ReadUntil(std::chrono::milliseconds(delay_ms(rng)),
                      [](const std::string&) { return false; });
    }
    child.Kill();
    reported.Add(child.lines());
    in_flight_last_kill = CheckFileAfterKill(file.path(), reported);
    in_flight_at_kills += in_flight_last_kill;
    INFO("run " << run << ": " << reported.committed.size() << " committed so far, "
                << in_flight_last_kill << " in flight at the kill");
    if (targeted) CHECK(in_flight_last_kill >= 1);
  }
  CHECK(reported.committed.size() > 0);
  CHECK(in_flight_at_kills >= 1);

  // A last run recovers and drains everything, then exits normally.
  {
    std::vector<std::string> args = {"--path", file.path(), "--first", "900000000",
                                     "--count", "10", "--drain"};
    args.insert(args.end(), mode.begin(), mode.end());
    Child child(args);
    REQUIRE(child.Wait() == 0);
    reported.Add(child.lines());
    CHECK(RecoveredCount(child.lines()) == static_cast<long>(in_flight_last_kill));
    CHECK(child.lines().back() == "done");
  }

  SqliteOutboxOptions options;
  options.database.path = file.path();
  {
    Result<std::unique_ptr<SqliteOutboxStore>> store = SqliteOutboxStore::Open(options);
    REQUIRE(store.ok());
    CHECK((*store)->CheckIntegrity().ok());
    Result<OutboxStats> stats = (*store)->Stats();
    REQUIRE(stats.ok());
    CHECK(stats->pending == 0);
    CHECK(stats->in_flight == 0);
    CHECK(stats->dead == 0);
    CHECK(stats->delivered >= reported.committed.size());
    CHECK(stats->total_resends == in_flight_at_kills);
    size_t not_delivered = 0;
    for (const auto& id : reported.committed) {
      Result<OutboxRecord> r = (*store)->Get(id);
      if (!r.ok() || r->state != OutboxRecord::State::kDelivered) ++not_delivered;
    }
    CHECK(not_delivered == 0);
  }
  // Per-record counters agree with the total; nobody was re-sent more than
  // once per kill.
  SqliteOptions raw;
  raw.path = file.path();
  Result<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(raw);
  REQUIRE(db.ok());
  CHECK(QueryInt(**db, "SELECT COALESCE(SUM(resends), 0) FROM outbox") ==
        static_cast<std::int64_t>(in_flight_at_kills));
  CHECK(QueryInt(**db, "SELECT COALESCE(MAX(resends), 0) FROM outbox") <= kills);
  CHECK(QueryInt(**db, "SELECT COUNT(*) FROM outbox WHERE resends > 0 AND resend = 0") == 0);
}

}  // namespace

TEST_CASE("SIGKILL at random points loses no committed record (one writer, claiming)") {
  RunCrashScenario("crash-single", {"--claim", "--hold-ms", "2"});
}

TEST_CASE("SIGKILL at random points loses no committed record (4 writers, group commit)") {
  RunCrashScenario("crash-threads", {"--threads", "4", "--claim", "--hold-ms", "2"});
}

TEST_CASE("The writer reports committed ids only for records that are in the file") {
  // Without kills: a clean run's report matches the file exactly.
  TempDbPath file("crash-clean");
  Child child({"--path", file.path(), "--count", "25", "--threads", "3"});
  REQUIRE(child.Wait() == 0);
  Reported reported;
  reported.Add(child.lines());
  CHECK(reported.committed.size() == 25);
  CHECK(RecoveredCount(child.lines()) == 0);
  SqliteOutboxOptions options;
  options.database.path = file.path();
  Result<std::unique_ptr<SqliteOutboxStore>> store = SqliteOutboxStore::Open(options);
  REQUIRE(store.ok());
  Result<OutboxStats> stats = (*store)->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->pending == 25);
  for (int n = 0; n < 25; ++n) {
    CHECK((*store)->Get("r-" + std::to_string(n)).ok());
  }
}
