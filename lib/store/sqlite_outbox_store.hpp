// sqlite_outbox_store.hpp -- the callback outbox on SQLite.
//
// Overview: `SqliteOutboxStore` implements the `OutboxStore` port
// (include/lifeline/durable_store.hpp) on one `SqliteDatabase` in WAL mode.
// docs/store.md has the schema, the crash windows and the numbers; in
// short:
//
//  - Durability. Every mutating call commits before it returns OK. With
//    synchronous=FULL (the default) a committed record survives a process
//    kill, an OS crash and a power loss. With synchronous=NORMAL it survives
//    a process kill (SIGKILL included); an OS crash or power loss may roll
//    back the last commits, never corrupt the file.
//  - Throughput. Enqueue calls from many threads are group-committed (see
//    `GroupCommitter`): each caller still returns only once its own record
//    is committed, but concurrent callers share one transaction and one
//    fsync. EnqueueBatch, ClaimDue and RecordOutcomes write many records per
//    transaction.
//  - One owner. The file is opened with an exclusive lock: a second store
//    (in this process or another) on the same path fails to open with kIo
//    rather than recovering the first one's in-flight records.
//  - Counts (pending, in flight, delivered, dead) are kept in memory,
//    loaded at open and updated after each commit, so Stats() never scans
//    the table.
//
// Example:
//
//   SqliteOutboxOptions options;
//   options.database.path = "/var/lib/lifeline/outbox.db";
//   auto store = SqliteOutboxStore::Open(options);
//   if (!store.ok()) return store.status();   // kIo, e.g. "database is locked"
//   auto recovered = (*store)->Recover(clock.Now());
//
// Thread-safety: every method may be called from any thread. One connection
// serves them all, guarded by a mutex; Enqueue callers wait in the group
// committer's queue rather than on the mutex.
#ifndef LIFELINE_STORE_SQLITE_OUTBOX_STORE_HPP_
#define LIFELINE_STORE_SQLITE_OUTBOX_STORE_HPP_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifeline/durable_store.hpp"
#include "store/group_committer.hpp"
#include "store/sqlite_database.hpp"

namespace lifeline {

struct SqliteOutboxOptions {
  // Path (or ":memory:"), synchronous mode, busy timeout, VFS.
  SqliteOptions database;
  // Group-commit concurrent Enqueue calls (true), or give each its own
  // transaction (false; for comparison in benchmarks).
  bool group_commit = true;
  // Records per group commit at most.
  std::size_t max_group_size = 256;
  // DELIVERED rows deleted per transaction by PurgeDelivered, so a large
  // purge never holds the store for long.
  std::size_t purge_chunk_size = 4096;
};

class SqliteOutboxStore final : public OutboxStore {
 public:
  // PRAGMA application_id of an outbox file: "LLOB".
  static constexpr std::int32_t kApplicationId = 0x4C4C4F42;

  // Opens or creates the outbox and migrates its schema. Does not recover
  // in-flight records: call Recover(now) next. Errors: kInvalidArgument for
  // bad options (max_group_size or purge_chunk_size 0, database.exclusive
  // false: an outbox has exactly one owner); kIo when the file cannot be opened, is not a database, or
  // is owned by another open store; kState when it is another component's
  // database or has a newer schema.
  static Result<std::unique_ptr<SqliteOutboxStore>> Open(
      const SqliteOutboxOptions& options);

  ~SqliteOutboxStore() override;

  Status Enqueue(const OutboxRecord& record) override;
  Result<std::vector<Status>> EnqueueBatch(const std::vector<OutboxRecord>& records) override;
  Result<std::vector<OutboxRecord>> ClaimDue(UnixMillis now, std::size_t max) override;
  Status MarkDelivered(std::string_view request_id, UnixMillis now,
                       std::string_view provider_reference) override;
  Status MarkRetry(std::string_view request_id, UnixMillis next_attempt_at,
                   std::string_view last_error) override;
  Status MarkDead(std::string_view request_id, std::string_view last_error,
                  UnixMillis now) override;
  Result<std::vector<Status>> RecordOutcomes(
      const std::vector<OutboxOutcome>& outcomes) override;
  Result<std::size_t> Recover(UnixMillis now) override;
  Result<std::vector<OutboxRecord>> ListDead(std::size_t limit, std::size_t offset) override;
  Status Redrive(std::string_view request_id, UnixMillis now) override;
  Result<std::size_t> RedriveAll(UnixMillis now) override;
  Result<OutboxRecord> Get(std::string_view request_id) override;
  Result<OutboxStats> Stats() override;
  Result<std::optional<UnixMillis>> NextDueAt() override;
  Result<std::size_t> PurgeDelivered(UnixMillis now, DurationMillis retention) override;

  // PRAGMA integrity_check on the live file.
  Status CheckIntegrity();
  // What the group committer has done so far (all zero without it).
  GroupCommitter::Counters group_commit_counters() const;
  const SqliteOutboxOptions& options() const { return options_; }

 private:
  class EnqueueOperation;
  struct Counts {
    std::uint64_t pending = 0;
    std::uint64_t in_flight = 0;
    std::uint64_t delivered = 0;
    std::uint64_t dead = 0;
    std::uint64_t total_resends = 0;
  };

  SqliteOutboxStore(SqliteOutboxOptions options, std::unique_ptr<SqliteDatabase> db);
  Status LoadCounts();
  Status EnqueueDirect(const OutboxRecord& record);

  const SqliteOutboxOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<SqliteDatabase> db_;  // used only under mu_
  Counts counts_;                       // guarded by mu_
  bool claimed_ = false;                // guarded by mu_: ClaimDue was called
  std::unique_ptr<GroupCommitter> committer_;
};

}  // namespace lifeline

#endif  // LIFELINE_STORE_SQLITE_OUTBOX_STORE_HPP_
