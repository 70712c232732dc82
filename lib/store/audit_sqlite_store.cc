// The SQLite audit store: the same lines as the file store, one row each,
// in a WAL database with synchronous=FULL so a commit is durable.
#include <sqlite3.h>

#include <cstring>

#include "lifeline/audit_chain.hpp"
#include "store/audit_store.hpp"

namespace lifeline::audit_internal {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS audit_records("
    "  pos INTEGER PRIMARY KEY,"
    "  seq INTEGER NOT NULL,"
    "  line TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_records_seq ON audit_records(seq);";

// Closes a connection (and finalizes nothing: statements are scoped).
struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Status SqliteError(sqlite3* db, const std::string& what, const std::string& path) {
  int code = db != nullptr ? sqlite3_errcode(db) : SQLITE_ERROR;
  std::string message = what + " on " + path + " failed: " +
                        (db != nullptr ? sqlite3_errmsg(db) : "cannot open");
  // A full disk, an I/O error or a busy database all mean "not recorded".
  (void)code;
  return IoError(message);
}

class SqliteStore final : public AuditStore {
 public:
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}
  ~SqliteStore() override {
    insert_.reset();
    db_.reset();
  }

  std::string Describe() const override { return "sqlite " + path_; }

  Status Open(std::uint64_t* torn_bytes) override {
    *torn_bytes = 0;  // a transaction is never torn
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path_.c_str(), &raw,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) return SqliteError(raw, "open", path_);
    sqlite3_busy_timeout(db_.get(), 5000);
    Status s = Exec("PRAGMA journal_mode=WAL;");
    if (s.ok()) s = Exec("PRAGMA synchronous=FULL;");
    if (s.ok()) s = Exec(kSchema);
    if (!s.ok()) return s;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_.get(), "INSERT INTO audit_records(seq, line) VALUES(?1, ?2)", -1,
                           &stmt, nullptr) != SQLITE_OK) {
      return SqliteError(db_.get(), "prepare", path_);
    }
    insert_.reset(stmt);
    return Status::Ok();
  }

  Status Scan(const std::function<bool(std::string_view)>& line, std::string* torn) override {
    if (torn != nullptr) torn->clear();
    Db db;
    Status s = OpenReader(&db);
    if (!s.ok() || db == nullptr) return s;
    Stmt stmt;
    s = Prepare(db.get(), "SELECT line FROM audit_records ORDER BY pos", &stmt);
    if (!s.ok()) return s;
    return Rows(db.get(), stmt.get(), line);
  }

  Status ReadTail(std::uint64_t back_to_seq, std::vector<std::string>* lines,
                  bool* from_start) override {
    lines->clear();
    *from_start = true;
    Db db;
    Status s = OpenReader(&db);
    if (!s.ok() || db == nullptr) return s;
    Stmt first;
    s = Prepare(db.get(),
                "SELECT COALESCE((SELECT pos FROM audit_records WHERE seq <= ?1 "
                "ORDER BY pos DESC LIMIT 1), (SELECT MIN(pos) FROM audit_records)), "
                "(SELECT MIN(pos) FROM audit_records)",
                &first);
    if (!s.ok()) return s;
    sqlite3_bind_int64(first.get(), 1, static_cast<sqlite3_int64>(back_to_seq));
    if (sqlite3_step(first.get()) != SQLITE_ROW) return SqliteError(db.get(), "select", path_);
    if (sqlite3_column_type(first.get(), 0) == SQLITE_NULL) return Status::Ok();  // empty
    sqlite3_int64 pos = sqlite3_column_int64(first.get(), 0);
    *from_start = pos == sqlite3_column_int64(first.get(), 1);
    Stmt rows;
    s = Prepare(db.get(), "SELECT line FROM audit_records WHERE pos >= ?1 ORDER BY pos", &rows);
    if (!s.ok()) return s;
    sqlite3_bind_int64(rows.get(), 1, pos);
    return Rows(db.get(), rows.get(), [&](std::string_view line) {
      lines->emplace_back(line);
      return true;
    });
  }

  Status Append(std::string_view lines, std::uint64_t, bool* broken) override {
    if (db_ == nullptr) return StateError("the audit store is not open");
    Status s = Exec("BEGIN IMMEDIATE;");
    if (!s.ok()) return s;
    std::size_t start = 0;
    while (start < lines.size()) {
      std::size_t nl = lines.find('\n', start);
      if (nl == std::string_view::npos) nl = lines.size();
      std::string_view line = lines.substr(start, nl - start);
      start = nl + 1;
      sqlite3_reset(insert_.get());
      sqlite3_bind_int64(insert_.get(), 1, static_cast<sqlite3_int64>(PeekAuditSeq(line)));
      sqlite3_bind_text(insert_.get(), 2, line.data(), static_cast<int>(line.size()),
                        SQLITE_STATIC);
      if (sqlite3_step(insert_.get()) != SQLITE_DONE) {
        s = SqliteError(db_.get(), "insert", path_);
        break;
      }
    }
    sqlite3_reset(insert_.get());
    sqlite3_clear_bindings(insert_.get());
    if (s.ok()) {
      s = Exec("COMMIT;");
      if (s.ok()) return s;
    }
    if (!sqlite3_get_autocommit(db_.get())) {
      if (sqlite3_exec(db_.get(), "ROLLBACK;", nullptr, nullptr, nullptr) != SQLITE_OK) {
        *broken = true;
      }
    }
    return s;
  }

  Status DropThrough(std::uint64_t through_seq) override {
    Stmt find;
    Status s = Prepare(db_.get(),
                       "SELECT pos FROM audit_records WHERE seq = ?1 ORDER BY pos LIMIT 1", &find);
    if (!s.ok()) return s;
    sqlite3_bind_int64(find.get(), 1, static_cast<sqlite3_int64>(through_seq));
    if (sqlite3_step(find.get()) != SQLITE_ROW) {
      return StateError("seq " + std::to_string(through_seq) + " is not in " + path_);
    }
    sqlite3_int64 pos = sqlite3_column_int64(find.get(), 0);
    Stmt del;
    s = Prepare(db_.get(), "DELETE FROM audit_records WHERE pos <= ?1", &del);
    if (!s.ok()) return s;
    sqlite3_bind_int64(del.get(), 1, pos);
    if (sqlite3_step(del.get()) != SQLITE_DONE) return SqliteError(db_.get(), "delete", path_);
    return Status::Ok();
  }

 private:
  Status Exec(const char* sql) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return SqliteError(db_.get(), "statement", path_);
    }
    return Status::Ok();
  }

  Status Prepare(sqlite3* db, const char* sql, Stmt* out) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      return SqliteError(db, "prepare", path_);
    }
    out->reset(stmt);
    return Status::Ok();
  }

  // A separate read-only connection, so reads run beside the writer. A
  // missing database is an empty store (*db stays NULL).
  Status OpenReader(Db* db) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
    db->reset(raw);
    if (rc == SQLITE_CANTOPEN) {
      db->reset();
      return Status::Ok();
    }
    if (rc != SQLITE_OK) return SqliteError(raw, "open", path_);
    sqlite3_busy_timeout(raw, 5000);
    // A database created by another tool without our table is empty to us.
    sqlite3_stmt* probe = nullptr;
    rc = sqlite3_prepare_v2(raw, "SELECT 1 FROM audit_records LIMIT 1", -1, &probe, nullptr);
    sqlite3_finalize(probe);
    if (rc != SQLITE_OK) db->reset();
    return Status::Ok();
  }

  Status Rows(sqlite3* db, sqlite3_stmt* stmt, const std::function<bool(std::string_view)>& fn) {
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return Status::Ok();
      if (rc != SQLITE_ROW) return SqliteError(db, "select", path_);
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      int size = sqlite3_column_bytes(stmt, 0);
      if (!fn(std::string_view(text == nullptr ? "" : text, static_cast<std::size_t>(size)))) {
        return Status::Ok();
      }
    }
  }

  std::string path_;
  Db db_;
  Stmt insert_;
};

}  // namespace

std::unique_ptr<AuditStore> NewAuditSqliteStore(std::string path) {
  return std::make_unique<SqliteStore>(std::move(path));
}

}  // namespace lifeline::audit_internal
