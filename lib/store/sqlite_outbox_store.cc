// sqlite_outbox_store.cc -- see sqlite_outbox_store.hpp and docs/store.md.
#include "store/sqlite_outbox_store.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lifeline {
namespace {

// Version 1 of the outbox schema. Released migrations are never edited.
//
// Partial indexes keep each query's index small: the due index holds only
// PENDING rows, so neither delivered history nor dead letters slow ClaimDue
// down, and a state change moves a row from one small index to another.
// outbox_undelivered answers "oldest not yet delivered" in O(log n) and
// finds IN_FLIGHT rows at recovery without a table scan.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE outbox (
  seq                INTEGER PRIMARY KEY,
  request_id         TEXT    NOT NULL UNIQUE,
  payload_json       TEXT    NOT NULL,
  state              TEXT    NOT NULL
                     CHECK (state IN ('PENDING', 'IN_FLIGHT', 'DELIVERED', 'DEAD')),
  created_at         INTEGER NOT NULL,
  next_attempt_at    INTEGER NOT NULL,
  attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error         TEXT    NOT NULL DEFAULT '',
  resend             INTEGER NOT NULL DEFAULT 0 CHECK (resend IN (0, 1)),
  resends            INTEGER NOT NULL DEFAULT 0,
  claimed_at         INTEGER NOT NULL DEFAULT 0,
  settled_at         INTEGER NOT NULL DEFAULT 0,
  provider_reference TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending_due ON outbox(next_attempt_at, created_at)
  WHERE state = 'PENDING';
CREATE INDEX outbox_undelivered ON outbox(created_at)
  WHERE state IN ('PENDING', 'IN_FLIGHT');
CREATE INDEX outbox_delivered ON outbox(settled_at) WHERE state = 'DELIVERED';
CREATE INDEX outbox_dead ON outbox(seq) WHERE state = 'DEAD';
CREATE TABLE outbox_totals (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO outbox_totals(name, value) VALUES ('resends', 0);
)sql";

const SqliteSchema& OutboxSchema() {
  static const SqliteSchema* schema =
      new SqliteSchema{SqliteOutboxStore::kApplicationId, {{1, kSchemaV1}}};
  return *schema;
}

// The columns ReadRecord() expects, in order.
#define LIFELINE_OUTBOX_COLUMNS                                                 \
  "request_id, payload_json, state, created_at, next_attempt_at, attempts, "   \
  "last_error, resend, resends, claimed_at, settled_at, provider_reference"

std::optional<OutboxRecord::State> ParseState(const std::string& text) {
  if (text == "PENDING") return OutboxRecord::State::kPending;
  if (text == "IN_FLIGHT") return OutboxRecord::State::kInFlight;
  if (text == "DELIVERED") return OutboxRecord::State::kDelivered;
  if (text == "DEAD") return OutboxRecord::State::kDead;
  return std::nullopt;
}

Result<OutboxRecord> ReadRecord(const SqliteStatement& stmt, int first = 0) {
  OutboxRecord r;
  r.request_id = stmt.ColumnText(first + 0);
  r.payload_json = stmt.ColumnText(first + 1);
  std::optional<OutboxRecord::State> state = ParseState(stmt.ColumnText(first + 2));
  if (!state) return IoError("outbox: a row has an unknown state (corrupt file?)");
  r.state = *state;
  r.created_at = stmt.ColumnInt64(first + 3);
  r.next_attempt_at = stmt.ColumnInt64(first + 4);
  r.attempts = static_cast<int>(stmt.ColumnInt64(first + 5));
  r.last_error = stmt.ColumnText(first + 6);
  r.resend = stmt.ColumnInt64(first + 7) != 0;
  r.resends = static_cast<int>(stmt.ColumnInt64(first + 8));
  r.claimed_at = stmt.ColumnInt64(first + 9);
  r.settled_at = stmt.ColumnInt64(first + 10);
  r.provider_reference = stmt.ColumnText(first + 11);
  return r;
}

Status ValidateNew(const OutboxRecord& record) {
  if (record.request_id.empty()) {
    return InvalidArgument("outbox enqueue: request_id is empty");
  }
  if (record.attempts < 0) return InvalidArgument("outbox enqueue: attempts is negative");
  if (record.state != OutboxRecord::State::kPending) {
    return InvalidArgument("outbox enqueue: state must be PENDING");
  }
  return Status::Ok();
}

Status Duplicate() {
  return Status(StatusCode::kDuplicate,
                "outbox enqueue: a record with this request_id is already kept");
}

// Inserts one new PENDING record; kDuplicate when the id is taken.
Status Insert(SqliteDatabase& db, const OutboxRecord& r) {
  Result<SqliteStatement> insert = db.Prepare(
      "INSERT INTO outbox(request_id, payload_json, state, created_at, "
      "next_attempt_at, attempts, last_error) "
      "VALUES (?1, ?2, 'PENDING', ?3, ?4, ?5, ?6) "
      "ON CONFLICT(request_id) DO NOTHING",
      "outbox enqueue");
  if (!insert.ok()) return insert.status();
  insert->Bind(1, r.request_id)
      .Bind(2, r.payload_json)
      .Bind(3, r.created_at)
      .Bind(4, r.next_attempt_at)
      .Bind(5, static_cast<std::int64_t>(r.attempts))
      .Bind(6, r.last_error);
  Status s = insert->Run();
  if (!s.ok()) return s;
  return db.Changes() == 1 ? Status::Ok() : Duplicate();
}

// The state of one record, or kNotFound.
Result<OutboxRecord::State> StateOf(SqliteDatabase& db, std::string_view request_id,
                                    const char* context) {
  Result<SqliteStatement> stmt =
      db.Prepare("SELECT state FROM outbox WHERE request_id = ?1", context);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, request_id);
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound(absl::StrCat(context, ": no record with this request_id"));
  std::optional<OutboxRecord::State> state = ParseState(stmt->ColumnText(0));
  if (!state) return IoError(absl::StrCat(context, ": unknown state (corrupt file?)"));
  return *state;
}

Status WrongState(const char* context, OutboxRecord::State actual, const char* expected) {
  return StateError(absl::StrCat(context, ": the record is ", OutboxStateName(actual),
                                 ", not ", expected));
}

std::uint64_t& CountOf(OutboxRecord::State state, std::uint64_t* pending,
                       std::uint64_t* in_flight, std::uint64_t* delivered,
                       std::uint64_t* dead) {
  switch (state) {
    case OutboxRecord::State::kPending:
      return *pending;
    case OutboxRecord::State::kInFlight:
      return *in_flight;
    case OutboxRecord::State::kDelivered:
      return *delivered;
    case OutboxRecord::State::kDead:
      return *dead;
  }
  return *pending;
}

std::int64_t ClampToInt64(std::size_t n) {
  return n > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
             ? std::numeric_limits<std::int64_t>::max()
             : static_cast<std::int64_t>(n);
}

// Signed deltas to the in-memory counts, applied after a commit.
struct Delta {
  std::int64_t pending = 0, in_flight = 0, delivered = 0, dead = 0;
  void Move(OutboxRecord::State from, OutboxRecord::State to) {
    At(from) -= 1;
    At(to) += 1;
  }
  std::int64_t& At(OutboxRecord::State s) {
    switch (s) {
      case OutboxRecord::State::kPending:
        return pending;
      case OutboxRecord::State::kInFlight:
        return in_flight;
      case OutboxRecord::State::kDelivered:
        return delivered;
      case OutboxRecord::State::kDead:
        return dead;
    }
    return pending;
  }
};

void Apply(std::uint64_t& count, std::int64_t delta) {
  count = static_cast<std::uint64_t>(static_cast<std::int64_t>(count) + delta);
}

}  // namespace

// --------------------------------------------------------------------------
// Open
// --------------------------------------------------------------------------

SqliteOutboxStore::SqliteOutboxStore(SqliteOutboxOptions options,
                                     std::unique_ptr<SqliteDatabase> db)
    : options_(std::move(options)), db_(std::move(db)) {
  if (options_.group_commit) {
    GroupCommitter::Options committer_options;
    committer_options.max_group_size = options_.max_group_size;
    committer_ = std::make_unique<GroupCommitter>(db_.get(), &mu_, committer_options);
  }
}

SqliteOutboxStore::~SqliteOutboxStore() = default;

Result<std::unique_ptr<SqliteOutboxStore>> SqliteOutboxStore::Open(
    const SqliteOutboxOptions& options) {
  if (options.max_group_size == 0) {
    return InvalidArgument("outbox open: max_group_size must be >= 1");
  }
  if (options.purge_chunk_size == 0) {
    return InvalidArgument("outbox open: purge_chunk_size must be >= 1");
  }
  if (!options.database.exclusive) {
    // Two owners would each Recover() the other's in-flight records.
    return InvalidArgument(
        "outbox open: database.exclusive must be true: one process owns an outbox");
  }
  Result<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(options.database);
  if (!db.ok()) return db.status();
  Status s = (*db)->Migrate(OutboxSchema());
  if (!s.ok()) return s;
  std::unique_ptr<SqliteOutboxStore> store(
      new SqliteOutboxStore(options, std::move(*db)));
  s = store->LoadCounts();
  if (!s.ok()) return s;
  return store;
}

Status SqliteOutboxStore::LoadCounts() {
  std::lock_guard<std::mutex> lock(mu_);
  Counts counts;
  {
    Result<SqliteStatement> stmt = db_->Prepare(
        "SELECT state, COUNT(*) FROM outbox GROUP BY state", "outbox open");
    if (!stmt.ok()) return stmt.status();
    for (;;) {
      Result<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      std::optional<OutboxRecord::State> state = ParseState(stmt->ColumnText(0));
      if (!state) return IoError("outbox open: a row has an unknown state (corrupt file?)");
      CountOf(*state, &counts.pending, &counts.in_flight, &counts.delivered,
              &counts.dead) = static_cast<std::uint64_t>(stmt->ColumnInt64(1));
    }
  }
  {
    Result<SqliteStatement> stmt = db_->Prepare(
        "SELECT value FROM outbox_totals WHERE name = 'resends'", "outbox open");
    if (!stmt.ok()) return stmt.status();
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row) counts.total_resends = static_cast<std::uint64_t>(stmt->ColumnInt64(0));
  }
  counts_ = counts;
  return Status::Ok();
}

// --------------------------------------------------------------------------
// Enqueue
// --------------------------------------------------------------------------

class SqliteOutboxStore::EnqueueOperation final : public GroupCommitter::Operation {
 public:
  EnqueueOperation(SqliteOutboxStore* store, const OutboxRecord* record)
      : store_(store), record_(record) {}
  Status Apply(SqliteDatabase& db) override { return Insert(db, *record_); }
  void Committed() override { ++store_->counts_.pending; }  // mu_ is held

 private:
  SqliteOutboxStore* store_;
  const OutboxRecord* record_;
};

Status SqliteOutboxStore::Enqueue(const OutboxRecord& record) {
  Status s = ValidateNew(record);
  if (!s.ok()) return s;
  if (committer_ == nullptr) return EnqueueDirect(record);
  EnqueueOperation op(this, &record);
  return committer_->Commit(op);
}

Status SqliteOutboxStore::EnqueueDirect(const OutboxRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  Status s = Insert(*db_, record);
  if (!s.ok()) return s;
  s = tx->Commit();
  if (!s.ok()) return s;
  ++counts_.pending;
  return s;
}

Result<std::vector<Status>> SqliteOutboxStore::EnqueueBatch(
    const std::vector<OutboxRecord>& records) {
  std::vector<Status> results(records.size());
  if (records.empty()) return results;
  std::lock_guard<std::mutex> lock(mu_);
  Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  std::uint64_t added = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    results[i] = ValidateNew(records[i]);
    if (!results[i].ok()) continue;
    results[i] = Insert(*db_, records[i]);
    if (results[i].ok()) {
      ++added;
    } else if (results[i].code() != StatusCode::kDuplicate) {
      return results[i];  // kIo: the transaction rolls back
    }
  }
  Status s = tx->Commit();
  if (!s.ok()) return s;
  counts_.pending += added;
  return results;
}

// --------------------------------------------------------------------------
// Claim and outcomes
// --------------------------------------------------------------------------

Result<std::vector<OutboxRecord>> SqliteOutboxStore::ClaimDue(UnixMillis now,
                                                              std::size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  claimed_ = true;
  std::vector<OutboxRecord> claimed;
  if (max == 0 || counts_.pending == 0) return claimed;
  Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  std::vector<std::int64_t> seqs;
  {
    Result<SqliteStatement> select = db_->Prepare(
        "SELECT seq, " LIFELINE_OUTBOX_COLUMNS
        " FROM outbox WHERE state = 'PENDING' AND next_attempt_at <= ?1"
        " ORDER BY next_attempt_at, created_at, seq LIMIT ?2",
        "outbox claim");
    if (!select.ok()) return select.status();
    select->Bind(1, now).Bind(2, ClampToInt64(max));
    for (;;) {
      Result<bool> row = select->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      seqs.push_back(select->ColumnInt64(0));
      Result<OutboxRecord> record = ReadRecord(*select, 1);
      if (!record.ok()) return record.status();
      claimed.push_back(std::move(*record));
    }
  }
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    Result<SqliteStatement> update = db_->Prepare(
        "UPDATE outbox SET state = 'IN_FLIGHT', attempts = attempts + 1,"
        " claimed_at = ?2 WHERE seq = ?1",
        "outbox claim");
    if (!update.ok()) return update.status();
    update->Bind(1, seqs[i]).Bind(2, now);
    Status s = update->Run();
    if (!s.ok()) return s;
    OutboxRecord& r = claimed[i];
    r.state = OutboxRecord::State::kInFlight;
    r.attempts += 1;
    r.claimed_at = now;
  }
  Status s = tx->Commit();
  if (!s.ok()) return s;
  counts_.pending -= claimed.size();
  counts_.in_flight += claimed.size();
  return claimed;
}

Result<std::vector<Status>> SqliteOutboxStore::RecordOutcomes(
    const std::vector<OutboxOutcome>& outcomes) {
  std::vector<Status> results(outcomes.size());
  if (outcomes.empty()) return results;
  std::lock_guard<std::mutex> lock(mu_);
  Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  Delta delta;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const OutboxOutcome& o = outcomes[i];
    const char* context = o.kind == OutboxOutcome::Kind::kDelivered ? "outbox mark delivered"
                          : o.kind == OutboxOutcome::Kind::kRetry   ? "outbox mark retry"
                                                                    : "outbox mark dead";
    if (o.request_id.empty()) {
      results[i] = InvalidArgument(absl::StrCat(context, ": request_id is empty"));
      continue;
    }
    Result<OutboxRecord::State> state = StateOf(*db_, o.request_id, context);
    if (!state.ok()) {
      if (state.status().code() == StatusCode::kIo) return state.status();
      results[i] = state.status();
      continue;
    }
    const OutboxRecord::State from = *state;
    OutboxRecord::State to = OutboxRecord::State::kPending;
    const char* sql = nullptr;
    UnixMillis when = o.at;
    switch (o.kind) {
      case OutboxOutcome::Kind::kDelivered:
        if (from != OutboxRecord::State::kInFlight) {
          results[i] = WrongState(context, from, "IN_FLIGHT");
          continue;
        }
        to = OutboxRecord::State::kDelivered;
        sql = "UPDATE outbox SET state = 'DELIVERED', settled_at = ?2,"
              " provider_reference = ?3 WHERE request_id = ?1";
        break;
      case OutboxOutcome::Kind::kRetry:
        if (from != OutboxRecord::State::kInFlight) {
          results[i] = WrongState(context, from, "IN_FLIGHT");
          continue;
        }
        to = OutboxRecord::State::kPending;
        sql = "UPDATE outbox SET state = 'PENDING', next_attempt_at = ?2,"
              " last_error = ?3, resend = 0 WHERE request_id = ?1";
        when = o.next_attempt_at;
        break;
      case OutboxOutcome::Kind::kDead:
        if (from != OutboxRecord::State::kInFlight && from != OutboxRecord::State::kPending) {
          results[i] = WrongState(context, from, "PENDING or IN_FLIGHT");
          continue;
        }
        to = OutboxRecord::State::kDead;
        sql = "UPDATE outbox SET state = 'DEAD', settled_at = ?2, last_error = ?3"
              " WHERE request_id = ?1";
        break;
    }
    Result<SqliteStatement> update = db_->Prepare(sql, context);
    if (update.ok()) update->Bind(1, o.request_id).Bind(2, when).Bind(3, o.detail);
    if (!update.ok()) return update.status();
    Status s = update->Run();
    if (!s.ok()) return s;
    delta.Move(from, to);
  }
  Status s = tx->Commit();
  if (!s.ok()) return s;
  Apply(counts_.pending, delta.pending);
  Apply(counts_.in_flight, delta.in_flight);
  Apply(counts_.delivered, delta.delivered);
  Apply(counts_.dead, delta.dead);
  return results;
}

namespace {

Status Single(Result<std::vector<Status>> results) {
  if (!results.ok()) return results.status();
  return results->front();
}

}  // namespace

Status SqliteOutboxStore::MarkDelivered(std::string_view request_id, UnixMillis now,
                                        std::string_view provider_reference) {
  return Single(RecordOutcomes({OutboxOutcome::Delivered(
      std::string(request_id), now, std::string(provider_reference))}));
}

Status SqliteOutboxStore::MarkRetry(std::string_view request_id,
                                    UnixMillis next_attempt_at,
                                    std::string_view last_error) {
  return Single(RecordOutcomes({OutboxOutcome::Retry(
      std::string(request_id), next_attempt_at, std::string(last_error))}));
}

Status SqliteOutboxStore::MarkDead(std::string_view request_id,
                                   std::string_view last_error, UnixMillis now) {
  return Single(RecordOutcomes(
      {OutboxOutcome::Dead(std::string(request_id), std::string(last_error), now)}));
}

// --------------------------------------------------------------------------
// Recovery and dead letters
// --------------------------------------------------------------------------

Result<std::size_t> SqliteOutboxStore::Recover(UnixMillis now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (claimed_) {
    return StateError(
        "outbox recover: must run before the first ClaimDue of this store; "
        "records claimed since would be sent twice");
  }
  Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  {
    Result<SqliteStatement> update = db_->Prepare(
        "UPDATE outbox SET state = 'PENDING', resend = 1, resends = resends + 1,"
        " next_attempt_at = ?1"
        " WHERE state IN ('PENDING', 'IN_FLIGHT') AND state = 'IN_FLIGHT'",
        "outbox recover");
    if (!update.ok()) return update.status();
    update->Bind(1, now);
    Status s = update->Run();
    if (!s.ok()) return s;
  }
  const std::int64_t recovered = db_->Changes();
  if (recovered == 0) return std::size_t{0};  // nothing written; rolls back
  {
    Result<SqliteStatement> total = db_->Prepare(
        "UPDATE outbox_totals SET value = value + ?1 WHERE name = 'resends'",
        "outbox recover");
    if (!total.ok()) return total.status();
    total->Bind(1, recovered);
    Status s = total->Run();
    if (!s.ok()) return s;
  }
  Status s = tx->Commit();
  if (!s.ok()) return s;
  const auto n = static_cast<std::uint64_t>(recovered);
  counts_.in_flight -= n;
  counts_.pending += n;
  counts_.total_resends += n;
  return static_cast<std::size_t>(n);
}

Result<std::vector<OutboxRecord>> SqliteOutboxStore::ListDead(std::size_t limit,
                                                              std::size_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<OutboxRecord> dead;
  if (limit == 0) return dead;
  Result<SqliteStatement> select = db_->Prepare(
      "SELECT " LIFELINE_OUTBOX_COLUMNS
      " FROM outbox WHERE state = 'DEAD' ORDER BY seq LIMIT ?1 OFFSET ?2",
      "outbox list dead");
  if (!select.ok()) return select.status();
  select->Bind(1, ClampToInt64(limit)).Bind(2, ClampToInt64(offset));
  for (;;) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<OutboxRecord> record = ReadRecord(*select);
    if (!record.ok()) return record.status();
    dead.push_back(std::move(*record));
  }
  return dead;
}

Status SqliteOutboxStore::Redrive(std::string_view request_id, UnixMillis now) {
  static constexpr const char* kContext = "outbox redrive";
  if (request_id.empty()) return InvalidArgument("outbox redrive: request_id is empty");
  std::lock_guard<std::mutex> lock(mu_);
  Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  Result<OutboxRecord::State> state = StateOf(*db_, request_id, kContext);
  if (!state.ok()) return state.status();
  if (*state != OutboxRecord::State::kDead) return WrongState(kContext, *state, "DEAD");
  {
    Result<SqliteStatement> update = db_->Prepare(
        "UPDATE outbox SET state = 'PENDING', next_attempt_at = ?2, attempts = 0,"
        " resend = 0, settled_at = 0 WHERE request_id = ?1",
        kContext);
    if (!update.ok()) return update.status();
    update->Bind(1, request_id).Bind(2, now);
    Status s = update->Run();
    if (!s.ok()) return s;
  }
  Status s = tx->Commit();
  if (!s.ok()) return s;
  --counts_.dead;
  ++counts_.pending;
  return s;
}

Result<std::size_t> SqliteOutboxStore::RedriveAll(UnixMillis now) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db_);
  if (!tx.ok()) return tx.status();
  {
    Result<SqliteStatement> update = db_->Prepare(
        "UPDATE outbox SET state = 'PENDING', next_attempt_at = ?1, attempts = 0,"
        " resend = 0, settled_at = 0 WHERE state = 'DEAD'",
        "outbox redrive all");
    if (!update.ok()) return update.status();
    update->Bind(1, now);
    Status s = update->Run();
    if (!s.ok()) return s;
  }
  const auto n = static_cast<std::uint64_t>(db_->Changes());
  Status s = tx->Commit();
  if (!s.ok()) return s;
  counts_.dead -= n;
  counts_.pending += n;
  return static_cast<std::size_t>(n);
}

// --------------------------------------------------------------------------
// Reads and housekeeping
// --------------------------------------------------------------------------

Result<OutboxRecord> SqliteOutboxStore::Get(std::string_view request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<SqliteStatement> select = db_->Prepare(
      "SELECT " LIFELINE_OUTBOX_COLUMNS " FROM outbox WHERE request_id = ?1",
      "outbox get");
  if (!select.ok()) return select.status();
  select->Bind(1, request_id);
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("outbox get: no record with this request_id");
  return ReadRecord(*select);
}

namespace {

// MIN(column) over the rows the query selects; empty when there are none.
Result<std::optional<UnixMillis>> MinOf(SqliteDatabase& db, const char* sql,
                                        const char* context) {
  Result<SqliteStatement> select = db.Prepare(sql, context);
  if (!select.ok()) return select.status();
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row || select->ColumnIsNull(0)) return std::optional<UnixMillis>();
  return std::optional<UnixMillis>(select->ColumnInt64(0));
}

}  // namespace

Result<OutboxStats> SqliteOutboxStore::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  OutboxStats stats;
  stats.pending = counts_.pending;
  stats.in_flight = counts_.in_flight;
  stats.delivered = counts_.delivered;
  stats.dead = counts_.dead;
  stats.total_resends = counts_.total_resends;
  // The query repeats the partial index's condition word for word, which is
  // what lets SQLite use it (and its MIN optimisation).
  Result<std::optional<UnixMillis>> oldest = MinOf(
      *db_,
      "SELECT MIN(created_at) FROM outbox WHERE state IN ('PENDING', 'IN_FLIGHT')",
      "outbox stats");
  if (!oldest.ok()) return oldest.status();
  stats.oldest_pending_created_at = *oldest;
  return stats;
}

Result<std::optional<UnixMillis>> SqliteOutboxStore::NextDueAt() {
  std::lock_guard<std::mutex> lock(mu_);
  return MinOf(*db_, "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'PENDING'",
               "outbox next due");
}

Result<std::size_t> SqliteOutboxStore::PurgeDelivered(UnixMillis now,
                                                      DurationMillis retention) {
  if (retention < 0) return InvalidArgument("outbox purge: retention must be >= 0");
  // now - retention, saturating instead of overflowing.
  const UnixMillis cutoff = now < std::numeric_limits<UnixMillis>::min() + retention
                                ? std::numeric_limits<UnixMillis>::min()
                                : now - retention;
  std::size_t total = 0;
  for (;;) {
    // One chunk per transaction, releasing the store between chunks.
    std::lock_guard<std::mutex> lock(mu_);
    Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db_);
    if (!tx.ok()) return tx.status();
    Result<SqliteStatement> purge = db_->Prepare(
        "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox"
        " WHERE state = 'DELIVERED' AND settled_at <= ?1 LIMIT ?2)",
        "outbox purge");
    if (!purge.ok()) return purge.status();
    purge->Bind(1, cutoff).Bind(2, ClampToInt64(options_.purge_chunk_size));
    Status s = purge->Run();
    if (!s.ok()) return s;
    const auto n = static_cast<std::size_t>(db_->Changes());
    if (n == 0) return total;
    s = tx->Commit();
    if (!s.ok()) return s;
    counts_.delivered -= n;
    total += n;
    if (n < options_.purge_chunk_size) return total;
  }
}

Status SqliteOutboxStore::CheckIntegrity() {
  std::lock_guard<std::mutex> lock(mu_);
  return db_->CheckIntegrity();
}

GroupCommitter::Counters SqliteOutboxStore::group_commit_counters() const {
  return committer_ != nullptr ? committer_->counters() : GroupCommitter::Counters();
}

#undef LIFELINE_OUTBOX_COLUMNS

}  // namespace lifeline
