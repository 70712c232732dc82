// sqlite_database.cc -- see sqlite_database.hpp.
#include "store/sqlite_database.hpp"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace lifeline {
namespace {

Status SqliteStatus(sqlite3* db, int rc, const std::string& context) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int code = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  return IoError(absl::StrCat(context, ": ", message, " (sqlite ", code, ")"));
}

}  // namespace

const char* SqliteSynchronousName(SqliteSynchronous s) {
  switch (s) {
    case SqliteSynchronous::kFull:
      return "FULL";
    case SqliteSynchronous::kNormal:
      return "NORMAL";
  }
  return "FULL";
}

// --------------------------------------------------------------------------
// SqliteStatement
// --------------------------------------------------------------------------

SqliteStatement::SqliteStatement(SqliteDatabase* db, sqlite3_stmt* stmt,
                                 bool cached, const char* context)
    : db_(db), stmt_(stmt), cached_(cached), context_(context) {}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      cached_(other.cached_),
      bind_error_(other.bind_error_),
      context_(other.context_) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    Release();
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    cached_ = other.cached_;
    bind_error_ = other.bind_error_;
    context_ = other.context_;
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { Release(); }

void SqliteStatement::Release() {
  if (stmt_ == nullptr) return;
  if (cached_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    db_->Return(stmt_);
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
  db_ = nullptr;
}

SqliteStatement& SqliteStatement::Bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, std::string_view value) {
  // A zero-length blob pointer must not be NULL, or SQLite binds NULL.
  const char* data = value.data() != nullptr ? value.data() : "";
  int rc = sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Result<bool> SqliteStatement::Step() {
  if (bind_error_ != 0) {
    return IoError(absl::StrCat(context_, ": cannot bind a parameter: ",
                                sqlite3_errstr(bind_error_), " (sqlite ",
                                bind_error_, ")"));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_->handle(), rc, context_);
}

Status SqliteStatement::Run() {
  for (;;) {
    Result<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

std::int64_t SqliteStatement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string SqliteStatement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// --------------------------------------------------------------------------
// SqliteDatabase
// --------------------------------------------------------------------------

SqliteDatabase::SqliteDatabase(sqlite3* db, SqliteOptions options, bool in_memory)
    : db_(db), options_(std::move(options)), in_memory_(in_memory) {}

SqliteDatabase::~SqliteDatabase() {
  for (auto& entry : cache_) sqlite3_finalize(entry.second.stmt);
  cache_.clear();
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(
    const SqliteOptions& options) {
  if (options.path.empty()) return InvalidArgument("sqlite open: path is empty");
  if (options.busy_timeout_ms < 0) {
    return InvalidArgument("sqlite open: busy_timeout_ms must be >= 0");
  }
  if (options.journal_size_limit_bytes < -1) {
    return InvalidArgument("sqlite open: journal_size_limit_bytes must be >= -1");
  }
  const bool in_memory = options.path == ":memory:";
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(options.path.c_str(), &raw, flags,
                           options.vfs.empty() ? nullptr : options.vfs.c_str());
  if (rc != SQLITE_OK) {
    Status s = SqliteStatus(raw, rc, absl::StrCat("sqlite open '", options.path, "'"));
    sqlite3_close_v2(raw);
    return s;
  }
  sqlite3_extended_result_codes(raw, 1);
  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase(raw, options, in_memory));
  Status s = db->Configure();
  if (!s.ok()) return s;
  return db;
}

Status SqliteDatabase::Configure() {
  const std::string context = absl::StrCat("sqlite open '", options_.path, "'");
  auto fail = [&]() {
    Status s = LastError(context.c_str());
    int code = sqlite3_errcode(db_);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
      return IoError(absl::StrCat(s.message(),
                                  "; another connection or process owns this file"));
    }
    return s;
  };
  sqlite3_busy_timeout(db_, options_.busy_timeout_ms);
  if (!in_memory_) {
    if (options_.exclusive &&
        sqlite3_exec(db_, "PRAGMA locking_mode = EXCLUSIVE", nullptr, nullptr, nullptr) !=
            SQLITE_OK) {
      return fail();
    }
    // Reading the journal mode touches the file: this is where a file that
    // is not a database, or is owned by someone else, shows itself.
    std::string mode;
    {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode = WAL", -1, &stmt, nullptr) !=
          SQLITE_OK) {
        return fail();
      }
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        const unsigned char* text = sqlite3_column_text(stmt, 0);
        mode = text != nullptr ? reinterpret_cast<const char*>(text) : "";
      }
      sqlite3_finalize(stmt);
      if (rc != SQLITE_ROW) return fail();
    }
    if (mode != "wal") {
      return IoError(absl::StrCat(context, ": cannot enable WAL journal mode (got '",
                                  mode, "')"));
    }
    std::string pragmas = absl::StrCat(
        "PRAGMA synchronous = ", SqliteSynchronousName(options_.synchronous),
        "; PRAGMA journal_size_limit = ", options_.journal_size_limit_bytes, ";");
    if (sqlite3_exec(db_, pragmas.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      return fail();
    }
  }
  if (sqlite3_exec(db_, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr) !=
      SQLITE_OK) {
    return fail();
  }
  return Status::Ok();
}

Status SqliteDatabase::LastError(const char* context) const {
  return SqliteStatus(db_, sqlite3_errcode(db_), context);
}

Status SqliteDatabase::Exec(const char* sql, const char* context) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  sqlite3_free(error);  // sqlite3_errmsg() still holds the same text
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, context);
  return Status::Ok();
}

Result<SqliteStatement> SqliteDatabase::Prepare(const char* sql, const char* context) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return SqliteStatement(this, it->second.stmt, /*cached=*/true, context);
  }
  const bool cache = it == cache_.end();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, cache ? SQLITE_PREPARE_PERSISTENT : 0,
                              &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(db_, rc, context);
  }
  if (stmt == nullptr) return InternalError(absl::StrCat(context, ": empty statement"));
  if (cache) cache_.emplace(sql, CacheEntry{stmt, /*in_use=*/true});
  return SqliteStatement(this, stmt, cache, context);
}

void SqliteDatabase::Return(sqlite3_stmt* stmt) {
  auto it = cache_.find(sqlite3_sql(stmt));
  if (it != cache_.end() && it->second.stmt == stmt) it->second.in_use = false;
}

std::int64_t SqliteDatabase::Changes() const { return sqlite3_changes64(db_); }

bool SqliteDatabase::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

Result<int> SqliteDatabase::UserVersion() {
  Result<SqliteStatement> stmt = Prepare("PRAGMA user_version", "sqlite user_version");
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return InternalError("sqlite user_version: no row");
  return static_cast<int>(stmt->ColumnInt64(0));
}

Status SqliteDatabase::Migrate(const SqliteSchema& schema) {
  for (size_t i = 0; i < schema.migrations.size(); ++i) {
    if (schema.migrations[i].version != static_cast<int>(i) + 1 ||
        schema.migrations[i].sql == nullptr) {
      return InvalidArgument(absl::StrCat(
          "sqlite migrate: migration at position ", i, " must have version ", i + 1,
          " and SQL"));
    }
  }
  const int latest = static_cast<int>(schema.migrations.size());
  Result<SqliteTransaction> tx = SqliteTransaction::Begin(*this);
  if (!tx.ok()) return tx.status();

  std::int64_t application_id = 0;
  {
    Result<SqliteStatement> stmt = Prepare("PRAGMA application_id", "sqlite migrate");
    if (!stmt.ok()) return stmt.status();
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    application_id = *row ? stmt->ColumnInt64(0) : 0;
  }
  Result<int> version = UserVersion();
  if (!version.ok()) return version.status();

  if (application_id != schema.application_id &&
      !(application_id == 0 && *version == 0)) {
    return StateError(absl::StrCat("sqlite migrate: database '", options_.path,
                                   "' belongs to another component (application_id ",
                                   application_id, ", expected ",
                                   schema.application_id, ")"));
  }
  if (*version > latest) {
    return StateError(absl::StrCat("sqlite migrate: database '", options_.path,
                                   "' has schema version ", *version,
                                   ", newer than the ", latest,
                                   " this library knows; refusing to downgrade"));
  }
  if (*version == latest && application_id == schema.application_id) {
    return Status::Ok();  // nothing to do; the transaction rolls back
  }
  for (int v = *version + 1; v <= latest; ++v) {
    std::string context = absl::StrCat("sqlite migrate to version ", v);
    Status s = Exec(schema.migrations[static_cast<size_t>(v - 1)].sql, context.c_str());
    if (!s.ok()) return s;
  }
  std::string pragmas = absl::StrCat("PRAGMA user_version = ", latest,
                                     "; PRAGMA application_id = ",
                                     schema.application_id, ";");
  Status s = Exec(pragmas.c_str(), "sqlite migrate");
  if (!s.ok()) return s;
  return tx->Commit();
}

Status SqliteDatabase::CheckIntegrity() {
  Result<SqliteStatement> stmt =
      Prepare("PRAGMA integrity_check", "sqlite integrity_check");
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return IoError("integrity check failed: no result");
  std::string first = stmt->ColumnText(0);
  if (first == "ok") return Status::Ok();
  return IoError(absl::StrCat("integrity check failed: ", first));
}

Result<std::string> SqliteDatabase::JournalMode() {
  Result<SqliteStatement> stmt = Prepare("PRAGMA journal_mode", "sqlite journal_mode");
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return InternalError("sqlite journal_mode: no row");
  return stmt->ColumnText(0);
}

// --------------------------------------------------------------------------
// SqliteTransaction and SqliteSavepoint
// --------------------------------------------------------------------------

namespace {

Status RunCached(SqliteDatabase& db, const char* sql, const char* context) {
  Result<SqliteStatement> stmt = db.Prepare(sql, context);
  if (!stmt.ok()) return stmt.status();
  return stmt->Run();
}

}  // namespace

Result<SqliteTransaction> SqliteTransaction::Begin(SqliteDatabase& db, Mode mode) {
  Status s = RunCached(db, mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED",
                       "sqlite begin");
  if (!s.ok()) return s;
  return SqliteTransaction(&db);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() { Rollback(); }

Status SqliteTransaction::Commit() {
  if (db_ == nullptr) return StateError("sqlite commit: the transaction is finished");
  SqliteDatabase* db = db_;
  Status s = RunCached(*db, "COMMIT", "sqlite commit");
  if (!s.ok()) {
    Rollback();  // an I/O error may leave the transaction open
    return s;
  }
  db_ = nullptr;
  return s;
}

void SqliteTransaction::Rollback() {
  if (db_ == nullptr) return;
  // SQLite may already have rolled back by itself (e.g. after SQLITE_FULL
  // or an I/O error); ROLLBACK would then fail with "no transaction".
  if (db_->InTransaction()) RunCached(*db_, "ROLLBACK", "sqlite rollback");
  db_ = nullptr;
}

Result<SqliteSavepoint> SqliteSavepoint::Begin(SqliteDatabase& db) {
  Status s = RunCached(db, "SAVEPOINT lifeline_sp", "sqlite savepoint");
  if (!s.ok()) return s;
  return SqliteSavepoint(&db);
}

SqliteSavepoint::SqliteSavepoint(SqliteSavepoint&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

SqliteSavepoint::~SqliteSavepoint() { Release(); }

Status SqliteSavepoint::RollbackTo() {
  if (db_ == nullptr) return StateError("sqlite rollback to savepoint: released");
  if (!db_->InTransaction()) {  // SQLite rolled the whole transaction back
    db_ = nullptr;
    return IoError("sqlite rollback to savepoint: the transaction was rolled back");
  }
  Status s = RunCached(*db_, "ROLLBACK TO lifeline_sp", "sqlite rollback to savepoint");
  if (!s.ok()) {
    db_ = nullptr;
    return s;
  }
  return Release();
}

Status SqliteSavepoint::Release() {
  if (db_ == nullptr) return Status::Ok();
  SqliteDatabase* db = std::exchange(db_, nullptr);
  if (!db->InTransaction()) return Status::Ok();
  return RunCached(*db, "RELEASE lifeline_sp", "sqlite release savepoint");
}

}  // namespace lifeline
