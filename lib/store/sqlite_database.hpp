// sqlite_database.hpp -- one SQLite connection, owned, with the few tools
// every Lifeline store needs.
//
// Overview: `SqliteDatabase` is the store component shared by the callback
// outbox (issue 3, section 3) and the cascade engine's persistence (issue 4,
// section 10). It opens a file or ":memory:" with Lifeline's durability
// settings, caches prepared statements, runs transactions and savepoints as
// RAII objects, and migrates a schema with `PRAGMA user_version`. Each
// component that builds on it owns its own tables, its own schema (see
// `SqliteSchema`) and, because `user_version` is one number per file, its own
// database file.
//
// Settings applied at open, for a file:
//
//   PRAGMA locking_mode = EXCLUSIVE   (unless `exclusive` is false)
//   PRAGMA journal_mode = WAL
//   PRAGMA synchronous  = FULL        (or NORMAL, see `SqliteSynchronous`)
//   PRAGMA foreign_keys = ON
//   PRAGMA journal_size_limit = 64 MiB
//   sqlite3_busy_timeout(busy_timeout_ms)
//
// The exclusive lock is taken at open and held until the database is closed,
// so a second process (or a second connection in this process) pointed at the
// same file fails to open with kIo "database is locked" instead of, say,
// recovering the first one's in-flight callbacks and sending them twice. The
// kernel drops the lock when the owner dies, SIGKILL included.
//
// Errors: every SQLite failure becomes `StatusCode::kIo` whose message is a
// context chosen by the caller ("outbox enqueue"), SQLite's own message and
// the extended result code, e.g. "outbox enqueue: disk I/O error (sqlite
// 778)". Neither this file nor its users ever put bound values (payloads,
// phone numbers) into a message.
//
// Thread-safety: none. A `SqliteDatabase` is one connection, opened with
// SQLITE_OPEN_NOMUTEX; its owner serialises every use (the outbox store holds
// a mutex). Statements and transactions borrow the connection and must not
// outlive it.
//
// Example:
//
//   SqliteOptions options;
//   options.path = "/var/lib/lifeline/cascade.db";
//   auto db = SqliteDatabase::Open(options);
//   if (!db.ok()) return db.status();
//   Status s = (*db)->Migrate(kCascadeSchema);
//   auto tx = SqliteTransaction::Begin(**db);
//   auto insert = (*db)->Prepare("INSERT INTO cascade(id, step) VALUES(?1, ?2)");
//   insert->Bind(1, id).Bind(2, int64_t{0});
//   s = insert->Run();
//   s = tx->Commit();
#ifndef LIFELINE_STORE_SQLITE_DATABASE_HPP_
#define LIFELINE_STORE_SQLITE_DATABASE_HPP_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lifeline/status.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace lifeline {

// How hard a commit pushes to stable storage, in WAL mode.
enum class SqliteSynchronous {
  // The WAL is fsync'ed at every commit. A transaction that committed
  // survives a process crash, an OS crash and a power loss.
  kFull,
  // The WAL is fsync'ed only at checkpoints. A committed transaction
  // survives a process crash (SIGKILL included: the data is in the kernel's
  // page cache); an OS crash or a power loss may roll back the last
  // transactions, never corrupt the file.
  kNormal,
};

// "FULL" or "NORMAL".
const char* SqliteSynchronousName(SqliteSynchronous s);

struct SqliteOptions {
  // A file path, or ":memory:" for a private in-memory database (tests; no
  // durability, no WAL). Plain paths only: with Debian's SQLite, a path
  // starting with "file:" is read as a URI.
  std::string path = ":memory:";
  SqliteSynchronous synchronous = SqliteSynchronous::kFull;
  // How long a statement waits for a lock held by another connection before
  // failing with "database is locked".
  int busy_timeout_ms = 5000;
  // locking_mode=EXCLUSIVE: one owner per file (see the file comment).
  bool exclusive = true;
  // When false, a missing file is an error instead of being created.
  bool create_if_missing = true;
  // The WAL file is truncated to this size after a checkpoint.
  std::int64_t journal_size_limit_bytes = 64 << 20;
  // The SQLite VFS to use; "" is the default one. Tests register a
  // fault-injecting VFS and name it here.
  std::string vfs;
};

// One step of a schema: `sql` (one or more statements) brings the schema
// from `version - 1` to `version`.
struct SqliteMigration {
  int version;
  const char* sql;
};

// A component's schema. `application_id` (PRAGMA application_id) marks the
// file as that component's, so opening, say, an outbox file as a cascade
// database is refused instead of silently adding tables to it.
struct SqliteSchema {
  std::int32_t application_id;
  // Ascending versions 1, 2, 3, ... Released migrations are never edited;
  // a change is a new migration appended at the end.
  std::vector<SqliteMigration> migrations;
};

class SqliteDatabase;

// A prepared statement borrowed from the connection's cache. It is reset and
// its bindings cleared when this object is destroyed, so a statement can be
// prepared, bound and stepped in one scope and reused by the next one.
// Move-only. Bind indexes are 1-based, column indexes 0-based (SQLite's
// convention).
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Binders copy the value (SQLITE_TRANSIENT), so temporaries are fine. A
  // binding error is reported by the next Step() or Run().
  SqliteStatement& Bind(int index, std::int64_t value);
  SqliteStatement& Bind(int index, std::string_view value);
  SqliteStatement& BindNull(int index);

  // Advances the statement. true: a row is available through the Column*
  // accessors; false: the statement has finished.
  Result<bool> Step();
  // Steps until the statement finishes, ignoring any rows.
  Status Run();

  std::int64_t ColumnInt64(int column) const;
  std::string ColumnText(int column) const;
  bool ColumnIsNull(int column) const;

 private:
  friend class SqliteDatabase;
  SqliteStatement(SqliteDatabase* db, sqlite3_stmt* stmt, bool cached,
                  const char* context);
  void Release();

  SqliteDatabase* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  bool cached_ = false;
  int bind_error_ = 0;
  const char* context_ = "";
};

class SqliteDatabase {
 public:
  // Opens (creating if allowed) and configures the database. Errors:
  // kInvalidArgument for an empty path or a negative timeout; kIo when the
  // file cannot be opened, is not a database, is locked by another owner, or
  // cannot be switched to WAL. The message names the path and SQLite's
  // reason.
  static Result<std::unique_ptr<SqliteDatabase>> Open(const SqliteOptions& options);

  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  // Runs one or more statements that return no rows worth reading (DDL,
  // pragmas). `context` starts the error message.
  Status Exec(const char* sql, const char* context = "sqlite exec");

  // Returns the cached prepared statement for `sql` (prepared on first use
  // with SQLITE_PREPARE_PERSISTENT), or a fresh one when the cached one is
  // already in use by an enclosing scope. `sql` must be a single statement;
  // use string literals: the cache is keyed by the text.
  Result<SqliteStatement> Prepare(const char* sql, const char* context = "sqlite prepare");

  // Rows changed by the most recent INSERT, UPDATE or DELETE.
  std::int64_t Changes() const;
  // Whether a transaction is open on the connection.
  bool InTransaction() const;

  // Brings the schema to the last migration's version, all steps in one
  // transaction together with the new `user_version` (and, on a fresh file,
  // the `application_id`). Errors: kIo for SQLite failures; kState when the
  // file belongs to another component or has a newer schema than `schema`
  // knows (a downgrade), in which case nothing is changed.
  Status Migrate(const SqliteSchema& schema);
  // PRAGMA user_version.
  Result<int> UserVersion();

  // PRAGMA integrity_check. OK, or kIo "integrity check failed: <SQLite's
  // first finding>" (findings name pages and indexes, never row contents).
  Status CheckIntegrity();

  // "wal" for files, "memory" for ":memory:".
  Result<std::string> JournalMode();

  const std::string& path() const { return options_.path; }
  bool in_memory() const { return in_memory_; }
  const SqliteOptions& options() const { return options_; }

  // The underlying connection, for what this class does not wrap. Do not
  // close it.
  sqlite3* handle() const { return db_; }

  // The connection's last error as kIo: "<context>: <message> (sqlite <code>)".
  Status LastError(const char* context) const;

 private:
  friend class SqliteStatement;
  SqliteDatabase(sqlite3* db, SqliteOptions options, bool in_memory);
  Status Configure();
  void Return(sqlite3_stmt* stmt);

  struct CacheEntry {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_;
  SqliteOptions options_;
  bool in_memory_;
  std::unordered_map<std::string, CacheEntry> cache_;
};

// A transaction, rolled back on destruction unless committed.
//
//   auto tx = SqliteTransaction::Begin(db);
//   if (!tx.ok()) return tx.status();
//   ... statements ...
//   return tx->Commit();
class SqliteTransaction {
 public:
  enum class Mode {
    kDeferred,   // BEGIN DEFERRED: locks on first access
    kImmediate,  // BEGIN IMMEDIATE: takes the write lock now (the default)
  };

  static Result<SqliteTransaction> Begin(SqliteDatabase& db,
                                         Mode mode = Mode::kImmediate);

  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  ~SqliteTransaction();

  // COMMIT. With synchronous=FULL the transaction is on stable storage when
  // this returns OK. On failure the transaction is rolled back (nothing of it
  // remains) and the error is kIo.
  Status Commit();
  // ROLLBACK now. Idempotent.
  void Rollback();

 private:
  explicit SqliteTransaction(SqliteDatabase* db) : db_(db) {}
  SqliteDatabase* db_;
};

// A SAVEPOINT inside a transaction: RollbackTo() undoes what was done since
// it was taken; destruction releases it (keeping the changes, which commit
// or roll back with the enclosing transaction).
class SqliteSavepoint {
 public:
  static Result<SqliteSavepoint> Begin(SqliteDatabase& db);
  SqliteSavepoint(SqliteSavepoint&& other) noexcept;
  SqliteSavepoint& operator=(SqliteSavepoint&&) = delete;
  SqliteSavepoint(const SqliteSavepoint&) = delete;
  SqliteSavepoint& operator=(const SqliteSavepoint&) = delete;
  ~SqliteSavepoint();

  // Undoes everything since Begin and releases the savepoint.
  Status RollbackTo();
  // Keeps the changes and releases the savepoint.
  Status Release();

 private:
  explicit SqliteSavepoint(SqliteDatabase* db) : db_(db) {}
  SqliteDatabase* db_;
};

}  // namespace lifeline

#endif  // LIFELINE_STORE_SQLITE_DATABASE_HPP_
