// The store component on real files: open settings, errors, statements,
// transactions, savepoints, migrations, and the group committer.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/group_committer.hpp"
#include "store/sqlite_database.hpp"
#include "support/store_test_files.hpp"

using lifeline::GroupCommitter;
using lifeline::Result;
using lifeline::SqliteDatabase;
using lifeline::SqliteMigration;
using lifeline::SqliteOptions;
using lifeline::SqliteSavepoint;
using lifeline::SqliteSchema;
using lifeline::SqliteStatement;
using lifeline::SqliteSynchronous;
using lifeline::SqliteTransaction;
using lifeline::Status;
using lifeline::StatusCode;
using lifeline::testing::TempDbPath;

namespace {

std::unique_ptr<SqliteDatabase> OpenOrDie(const SqliteOptions& options) {
  Result<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(options);
  INFO(db.status().message());
  REQUIRE(db.ok());
  return std::move(*db);
}

SqliteOptions FileOptions(const TempDbPath& file) {
  SqliteOptions options;
  options.path = file.path();
  return options;
}

std::int64_t QueryInt(SqliteDatabase& db, const char* sql) {
  Result<SqliteStatement> stmt = db.Prepare(sql);
  REQUIRE(stmt.ok());
  Result<bool> row = stmt->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return stmt->ColumnInt64(0);
}

std::string QueryText(SqliteDatabase& db, const char* sql) {
  Result<SqliteStatement> stmt = db.Prepare(sql);
  REQUIRE(stmt.ok());
  Result<bool> row = stmt->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return stmt->ColumnText(0);
}

const SqliteSchema kItemsSchema{
    0x54455354,  // "TEST"
    {{1, "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"},
     {2, "ALTER TABLE items ADD COLUMN qty INTEGER NOT NULL DEFAULT 0;"}}};

}  // namespace

TEST_CASE("A file database opens in WAL mode with FULL sync, exclusive lock and foreign keys") {
  TempDbPath file("db-settings");
  auto db = OpenOrDie(FileOptions(file));
  CHECK(file.Exists());
  Result<std::string> mode = db->JournalMode();
  REQUIRE(mode.ok());
  CHECK(*mode == "wal");
  CHECK(QueryInt(*db, "PRAGMA synchronous") == 2);  // FULL
  CHECK(QueryInt(*db, "PRAGMA foreign_keys") == 1);
  CHECK(QueryText(*db, "PRAGMA locking_mode") == "exclusive");
  CHECK(QueryInt(*db, "PRAGMA journal_size_limit") == 64 << 20);
  CHECK_FALSE(db->in_memory());
  CHECK(db->path() == file.path());
}

TEST_CASE("synchronous=NORMAL is applied when asked for") {
  TempDbPath file("db-normal");
  SqliteOptions options = FileOptions(file);
  options.synchronous = SqliteSynchronous::kNormal;
  auto db = OpenOrDie(options);
  CHECK(QueryInt(*db, "PRAGMA synchronous") == 1);
  CHECK(std::string(lifeline::SqliteSynchronousName(SqliteSynchronous::kNormal)) == "NORMAL");
  CHECK(std::string(lifeline::SqliteSynchronousName(SqliteSynchronous::kFull)) == "FULL");
}

TEST_CASE(":memory: databases are private and have no WAL") {
  auto a = OpenOrDie(SqliteOptions());
  auto b = OpenOrDie(SqliteOptions());
  CHECK(a->in_memory());
  Result<std::string> mode = a->JournalMode();
  REQUIRE(mode.ok());
  CHECK(*mode == "memory");
  REQUIRE(a->Exec("CREATE TABLE t(x)").ok());
  Status missing = b->Exec("SELECT * FROM t", "probe");
  CHECK(missing.code() == StatusCode::kIo);
  CHECK(missing.message() == "probe: no such table: t (sqlite 1)");
}

TEST_CASE("Open refuses bad options and reports unusable paths as kIo naming the path") {
  SECTION("empty path") {
    SqliteOptions options;
    options.path = "";
    Result<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(options);
    CHECK(db.status().code() == StatusCode::kInvalidArgument);
    CHECK(db.status().message() == "sqlite open: path is empty");
  }
  SECTION("negative busy timeout") {
    SqliteOptions options;
    options.busy_timeout_ms = -1;
    CHECK(SqliteDatabase::Open(options).status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("a directory that does not exist") {
    SqliteOptions options;
    options.path = lifeline::testing::TestTmpDir() + "/no-such-dir/x.db";
    Result<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(options);
    CHECK(db.status().code() == StatusCode::kIo);
    CHECK(db.status().message() == "sqlite open '" + options.path +
                                       "': unable to open database file (sqlite 14)");
  }
  SECTION("a path that is a directory") {
    SqliteOptions options;
    options.path = lifeline::testing::TestTmpDir();
    Result<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(options);
    CHECK(db.status().code() == StatusCode::kIo);
    CHECK_THAT(db.status().message(),
               Catch::StartsWith("sqlite open '" + options.path + "': "));
  }
  SECTION("a missing file when creation is not allowed") {
    TempDbPath file("db-missing");
    SqliteOptions options = FileOptions(file);
    options.create_if_missing = false;
    Result<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(options);
    CHECK(db.status().code() == StatusCode::kIo);
    CHECK(db.status().message() == "sqlite open '" + file.path() +
                                       "': unable to open database file (sqlite 14)");
    CHECK_FALSE(file.Exists());
  }
  SECTION("a file that is not a database") {
    TempDbPath file("db-garbage");
    {
      std::ofstream out(file.path());
      for (int i = 0; i < 64; ++i) out << "this is not an SQLite database, just text. ";
    }
    Result<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(FileOptions(file));
    CHECK(db.status().code() == StatusCode::kIo);
    CHECK(db.status().message() ==
          "sqlite open '" + file.path() + "': file is not a database (sqlite 26)");
  }
}

TEST_CASE("A second owner of the same file is refused while the first holds it") {
  TempDbPath file("db-exclusive");
  auto first = OpenOrDie(FileOptions(file));
  SqliteOptions options = FileOptions(file);
  options.busy_timeout_ms = 50;
  Result<std::unique_ptr<SqliteDatabase>> second = SqliteDatabase::Open(options);
  CHECK(second.status().code() == StatusCode::kIo);
  CHECK(second.status().message() ==
        "sqlite open '" + file.path() +
            "': database is locked (sqlite 5); another connection or process owns this file");
  first.reset();
  auto third = OpenOrDie(options);  // the lock went with the first owner
  CHECK(third->Exec("CREATE TABLE t(x)").ok());
}

TEST_CASE("Statements are cached, bound, stepped and reset at the end of their scope") {
  auto db = OpenOrDie(SqliteOptions());
  REQUIRE(db->Exec("CREATE TABLE t(k TEXT, v INTEGER)").ok());
  const char* kInsert = "INSERT INTO t(k, v) VALUES (?1, ?2)";
  for (int i = 0; i < 3; ++i) {
    Result<SqliteStatement> insert = db->Prepare(kInsert);
    REQUIRE(insert.ok());
    insert->Bind(1, std::string("key-") + std::to_string(i)).Bind(2, std::int64_t{i * 10});
    REQUIRE(insert->Run().ok());
    CHECK(db->Changes() == 1);
  }
  {
    // Bindings do not leak into the next use: an unbound parameter is NULL.
    Result<SqliteStatement> insert = db->Prepare(kInsert);
    REQUIRE(insert.ok());
    insert->Bind(1, std::string_view("nulls"));
    REQUIRE(insert->Run().ok());
  }
  CHECK(QueryInt(*db, "SELECT COUNT(*) FROM t WHERE v IS NULL") == 1);

  // The same SQL used in two nested scopes gets two statements.
  const char* kSelect = "SELECT k, v FROM t WHERE v IS NOT NULL ORDER BY v";
  Result<SqliteStatement> outer = db->Prepare(kSelect);
  REQUIRE(outer.ok());
  std::vector<std::string> pairs;
  for (;;) {
    Result<bool> row = outer->Step();
    REQUIRE(row.ok());
    if (!*row) break;
    Result<SqliteStatement> inner = db->Prepare(kSelect);
    REQUIRE(inner.ok());
    Result<bool> first = inner->Step();
    REQUIRE(first.ok());
    REQUIRE(*first);
    pairs.push_back(outer->ColumnText(0) + "/" + inner->ColumnText(0));
  }
  CHECK(pairs == std::vector<std::string>{"key-0/key-0", "key-1/key-0", "key-2/key-0"});

  SECTION("empty strings bind as empty text, not NULL") {
    Result<SqliteStatement> insert = db->Prepare(kInsert);
    REQUIRE(insert.ok());
    insert->Bind(1, std::string_view()).Bind(2, std::int64_t{99});
    REQUIRE(insert->Run().ok());
    CHECK(QueryInt(*db, "SELECT COUNT(*) FROM t WHERE k = '' AND v = 99") == 1);
  }
  SECTION("a bad parameter index is reported at Step") {
    Result<SqliteStatement> insert = db->Prepare(kInsert);
    REQUIRE(insert.ok());
    insert->Bind(7, std::int64_t{1});
    Status s = insert->Run();
    CHECK(s.code() == StatusCode::kIo);
    CHECK(s.message() == "sqlite prepare: cannot bind a parameter: column index out of range "
                         "(sqlite 25)");
  }
  SECTION("invalid SQL is kIo with the caller's context") {
    Result<SqliteStatement> bad = db->Prepare("SELEKT 1", "my query");
    CHECK(bad.status().code() == StatusCode::kIo);
    CHECK(bad.status().message() == "my query: near \"SELEKT\": syntax error (sqlite 1)");
  }
  SECTION("a constraint violation names the column, never the value") {
    REQUIRE(db->Exec("CREATE UNIQUE INDEX t_k ON t(k)").ok());
    Result<SqliteStatement> insert = db->Prepare(kInsert, "insert t");
    REQUIRE(insert.ok());
    insert->Bind(1, std::string_view("key-1")).Bind(2, std::int64_t{1});
    Status s = insert->Run();
    CHECK(s.code() == StatusCode::kIo);
    CHECK(s.message() == "insert t: UNIQUE constraint failed: t.k (sqlite 2067)");
  }
}

TEST_CASE("Transactions commit, roll back on scope exit, and nest savepoints") {
  TempDbPath file("db-tx");
  auto db = OpenOrDie(FileOptions(file));
  REQUIRE(db->Exec("CREATE TABLE t(x INTEGER)").ok());
  {
    Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db);
    REQUIRE(tx.ok());
    CHECK(db->InTransaction());
    REQUIRE(db->Exec("INSERT INTO t VALUES (1)").ok());
    REQUIRE(tx->Commit().ok());
    CHECK_FALSE(db->InTransaction());
    CHECK(tx->Commit().code() == StatusCode::kState);
  }
  {
    Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db);
    REQUIRE(tx.ok());
    REQUIRE(db->Exec("INSERT INTO t VALUES (2)").ok());
  }  // not committed
  CHECK_FALSE(db->InTransaction());
  CHECK(QueryInt(*db, "SELECT COUNT(*) FROM t") == 1);
  {
    Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db);
    REQUIRE(tx.ok());
    Result<SqliteTransaction> nested = SqliteTransaction::Begin(*db);
    CHECK(nested.status().code() == StatusCode::kIo);
    REQUIRE(db->Exec("INSERT INTO t VALUES (3)").ok());
    {
      Result<SqliteSavepoint> sp = SqliteSavepoint::Begin(*db);
      REQUIRE(sp.ok());
      REQUIRE(db->Exec("INSERT INTO t VALUES (4)").ok());
      REQUIRE(sp->RollbackTo().ok());
    }
    {
      Result<SqliteSavepoint> sp = SqliteSavepoint::Begin(*db);
      REQUIRE(sp.ok());
      REQUIRE(db->Exec("INSERT INTO t VALUES (5)").ok());
    }  // released: kept
    CHECK(db->InTransaction());
    REQUIRE(tx->Commit().ok());
  }
  CHECK(QueryText(*db, "SELECT group_concat(x) FROM (SELECT x FROM t ORDER BY x)") == "1,3,5");
  db.reset();
  auto again = OpenOrDie(FileOptions(file));
  CHECK(QueryText(*again, "SELECT group_concat(x) FROM (SELECT x FROM t ORDER BY x)") == "1,3,5");
  CHECK(again->CheckIntegrity().ok());
}

TEST_CASE("Migrations run once, in one transaction, and refuse foreign or newer files") {
  TempDbPath file("db-migrate");
  {
    auto db = OpenOrDie(FileOptions(file));
    Result<int> v = db->UserVersion();
    REQUIRE(v.ok());
    CHECK(*v == 0);
    REQUIRE(db->Migrate(kItemsSchema).ok());
    CHECK(*db->UserVersion() == 2);
    CHECK(QueryInt(*db, "PRAGMA application_id") == 0x54455354);
    REQUIRE(db->Exec("INSERT INTO items(name, qty) VALUES ('a', 3)").ok());
    REQUIRE(db->Migrate(kItemsSchema).ok());  // idempotent
    CHECK(QueryInt(*db, "SELECT qty FROM items WHERE name = 'a'") == 3);
  }
  SECTION("only the missing steps run") {
    TempDbPath partial("db-migrate-partial");
    auto db = OpenOrDie(FileOptions(partial));
    SqliteSchema v1{kItemsSchema.application_id, {kItemsSchema.migrations[0]}};
    REQUIRE(db->Migrate(v1).ok());
    CHECK(*db->UserVersion() == 1);
    REQUIRE(db->Exec("INSERT INTO items(name) VALUES ('b')").ok());
    REQUIRE(db->Migrate(kItemsSchema).ok());
    CHECK(*db->UserVersion() == 2);
    CHECK(QueryInt(*db, "SELECT qty FROM items WHERE name = 'b'") == 0);
  }
  SECTION("a newer schema is refused, nothing changed") {
    auto db = OpenOrDie(FileOptions(file));
    SqliteSchema older{kItemsSchema.application_id, {kItemsSchema.migrations[0]}};
    Status s = db->Migrate(older);
    CHECK(s.code() == StatusCode::kState);
    CHECK(s.message() == "sqlite migrate: database '" + file.path() +
                             "' has schema version 2, newer than the 1 this library knows; "
                             "refusing to downgrade");
    CHECK(*db->UserVersion() == 2);
  }
  SECTION("another component's file is refused") {
    auto db = OpenOrDie(FileOptions(file));
    SqliteSchema other{0x4F544852, {{1, "CREATE TABLE other(x);"}}};
    Status s = db->Migrate(other);
    CHECK(s.code() == StatusCode::kState);
    CHECK(s.message() == "sqlite migrate: database '" + file.path() +
                             "' belongs to another component (application_id 1413829460, "
                             "expected 1330923602)");
    CHECK(QueryInt(*db, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'other'") == 0);
  }
  SECTION("a failing step rolls every step back") {
    TempDbPath broken("db-migrate-broken");
    auto db = OpenOrDie(FileOptions(broken));
    SqliteSchema bad{0x42414421, {{1, "CREATE TABLE ok_table(x);"}, {2, "CREATE TABLE ("}}};
    Status s = db->Migrate(bad);
    CHECK(s.code() == StatusCode::kIo);
    CHECK_THAT(s.message(), Catch::StartsWith("sqlite migrate to version 2: "));
    CHECK(*db->UserVersion() == 0);
    CHECK(QueryInt(*db, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'ok_table'") == 0);
  }
  SECTION("migration lists must count 1, 2, 3...") {
    auto db = OpenOrDie(SqliteOptions());
    SqliteSchema gap{1, {{1, "CREATE TABLE a(x);"}, {3, "CREATE TABLE b(x);"}}};
    Status s = db->Migrate(gap);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message() == "sqlite migrate: migration at position 1 must have version 2 and SQL");
  }
}

// ---------------------------------------------------------------------------
// GroupCommitter
// ---------------------------------------------------------------------------

namespace {

// Inserts one name into `items`; optionally blocks inside Apply until
// released, so a test can make other callers queue up behind it.
class InsertName final : public GroupCommitter::Operation {
 public:
  explicit InsertName(std::string name) : name_(std::move(name)) {}

  Status Apply(SqliteDatabase& db) override {
    if (gate_ != nullptr) {
      std::unique_lock<std::mutex> lock(gate_->mu);
      gate_->entered = true;
      gate_->cv.notify_all();
      gate_->cv.wait(lock, [&] { return gate_->open; });
    }
    Result<SqliteStatement> insert = db.Prepare("INSERT INTO items(name) VALUES (?1)", "insert");
    if (!insert.ok()) return insert.status();
    insert->Bind(1, name_);
    Status s = insert->Run();
    if (s.ok() && fail_after_insert) return lifeline::InternalError("injected after insert");
    return s;
  }
  void Committed() override { committed = true; }

  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false;
    bool open = false;
  };
  Gate* gate_ = nullptr;
  bool fail_after_insert = false;  // writes its row, then fails
  bool committed = false;

 private:
  std::string name_;
};

}  // namespace

TEST_CASE("GroupCommitter commits queued callers together and isolates a failing one") {
  TempDbPath file("db-group");
  auto db = OpenOrDie(FileOptions(file));
  REQUIRE(db->Migrate(kItemsSchema).ok());
  REQUIRE(db->Exec("INSERT INTO items(name) VALUES ('taken')").ok());
  std::mutex db_mutex;
  GroupCommitter committer(db.get(), &db_mutex);

  // The first caller leads a group of one and blocks inside it.
  InsertName::Gate gate;
  InsertName leader("leader");
  leader.gate_ = &gate;
  Status leader_status;
  std::thread leader_thread([&] { leader_status = committer.Commit(leader); });
  {
    std::unique_lock<std::mutex> lock(gate.mu);
    gate.cv.wait(lock, [&] { return gate.entered; });
  }

  // Six more queue behind it: one repeats a taken name, one writes its row
  // and then fails (its savepoint must undo the row).
  const std::vector<std::string> names = {"a", "b", "taken", "c", "half-done", "d"};
  std::vector<std::unique_ptr<InsertName>> ops;
  std::vector<Status> statuses(names.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < names.size(); ++i) {
    ops.push_back(std::make_unique<InsertName>(names[i]));
    ops.back()->fail_after_insert = names[i] == "half-done";
  }
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] { statuses[i] = committer.Commit(*ops[i]); });
  }
  while (committer.queue_length() < 1 + names.size()) std::this_thread::yield();
  {
    std::lock_guard<std::mutex> lock(gate.mu);
    gate.open = true;
  }
  gate.cv.notify_all();
  leader_thread.join();
  for (auto& t : threads) t.join();

  CHECK(leader_status.ok());
  CHECK(leader.committed);
  for (size_t i = 0; i < names.size(); ++i) {
    INFO(names[i]);
    if (names[i] == "taken") {
      CHECK(statuses[i].code() == StatusCode::kIo);
      CHECK(statuses[i].message() == "insert: UNIQUE constraint failed: items.name (sqlite 2067)");
      CHECK_FALSE(ops[i]->committed);
    } else if (names[i] == "half-done") {
      CHECK(statuses[i].code() == StatusCode::kInternal);
      CHECK(statuses[i].message() == "injected after insert");
      CHECK_FALSE(ops[i]->committed);
    } else {
      CHECK(statuses[i].ok());
      CHECK(ops[i]->committed);
    }
  }
  GroupCommitter::Counters counters = committer.counters();
  CHECK(counters.groups == 2);  // the leader alone, then the six together
  CHECK(counters.operations == 7);
  CHECK(counters.largest_group == 6);
  CHECK(committer.queue_length() == 0);
  std::lock_guard<std::mutex> lock(db_mutex);
  // The followers queued in whatever order their threads ran.
  CHECK(QueryText(*db, "SELECT group_concat(name) FROM (SELECT name FROM items ORDER BY name)") ==
        "a,b,c,d,leader,taken");
}

TEST_CASE("GroupCommitter respects max_group_size") {
  auto db = OpenOrDie(SqliteOptions());
  REQUIRE(db->Migrate(kItemsSchema).ok());
  std::mutex db_mutex;
  GroupCommitter::Options options;
  options.max_group_size = 2;
  GroupCommitter committer(db.get(), &db_mutex, options);

  InsertName::Gate gate;
  InsertName leader("leader");
  leader.gate_ = &gate;
  Status leader_status;
  std::thread leader_thread([&] { leader_status = committer.Commit(leader); });
  {
    std::unique_lock<std::mutex> lock(gate.mu);
    gate.cv.wait(lock, [&] { return gate.entered; });
  }
  std::vector<std::unique_ptr<InsertName>> ops;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 5; ++i) ops.push_back(std::make_unique<InsertName>("n" + std::to_string(i)));
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      if (committer.Commit(*ops[static_cast<size_t>(i)]).ok()) ++ok;
    });
  }
  while (committer.queue_length() < 6) std::this_thread::yield();
  {
    std::lock_guard<std::mutex> lock(gate.mu);
    gate.open = true;
  }
  gate.cv.notify_all();
  leader_thread.join();
  for (auto& t : threads) t.join();
  CHECK(leader_status.ok());
  CHECK(ok == 5);
  GroupCommitter::Counters counters = committer.counters();
  CHECK(counters.operations == 6);
  CHECK(counters.largest_group == 2);
  CHECK(counters.groups == 4);  // 1 + 2 + 2 + 1
}
