// group_committer.hpp -- many threads' small writes, one transaction, one
// fsync.
//
// Overview: with synchronous=FULL every COMMIT waits for an fsync of the WAL,
// which on ordinary disks costs far more than the INSERT itself. When many
// threads each commit one small write (the IVR's call threads enqueueing
// callbacks), `GroupCommitter` lets them share that cost, the way LevelDB's
// DBImpl::Write batches concurrent writers:
//
//  - each caller queues its Operation and waits;
//  - the caller at the head of the queue becomes the leader: it takes every
//    queued operation (up to `max_group_size`), runs them in one
//    BEGIN IMMEDIATE ... COMMIT, each inside its own SAVEPOINT so one
//    failing operation is undone without touching the others, then wakes
//    the callers of the group;
//  - callers that arrived meanwhile form the next group.
//
// Each Commit() returns only after its own operation's fate is final: OK
// means committed (durable as the connection's synchronous setting says);
// an error from the operation means it was rolled back alone; an error from
// BEGIN or COMMIT (kIo) means nothing of the group was kept. A lone caller
// pays no queueing delay: with no contention a group is one operation.
//
// Thread-safety: Commit() may be called from any number of threads. The
// database is used only while holding `db_mutex`, which the owner of the
// database also holds for its other statements.
#ifndef LIFELINE_STORE_GROUP_COMMITTER_HPP_
#define LIFELINE_STORE_GROUP_COMMITTER_HPP_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

#include "lifeline/status.hpp"
#include "store/sqlite_database.hpp"

namespace lifeline {

class GroupCommitter {
 public:
  // One caller's write.
  class Operation {
   public:
    // Runs inside the group's transaction (and the operation's savepoint).
    // A non-OK result rolls back this operation only and is returned by
    // Commit(). Must not begin or end transactions itself.
    virtual Status Apply(SqliteDatabase& db) = 0;
    // Called once the group committed, for an operation whose Apply()
    // returned OK, with `db_mutex` still held: the place to update caches
    // that must match what is on disk.
    virtual void Committed() {}

   protected:
    ~Operation() = default;
  };

  struct Options {
    // Operations per transaction at most; 0 is taken as 1.
    std::size_t max_group_size = 256;
  };

  // What the committer did, for tests and benchmarks.
  struct Counters {
    std::uint64_t groups = 0;      // transactions committed or attempted
    std::uint64_t operations = 0;  // operations applied in them
    std::uint64_t largest_group = 0;
  };

  // `db` and `db_mutex` must outlive the committer.
  GroupCommitter(SqliteDatabase* db, std::mutex* db_mutex, Options options);
  GroupCommitter(SqliteDatabase* db, std::mutex* db_mutex)
      : GroupCommitter(db, db_mutex, Options()) {}
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Applies `op` in a shared transaction and returns once that transaction
  // has committed or failed (see the file comment). Blocks.
  Status Commit(Operation& op);

  Counters counters() const;
  // Callers waiting in Commit(), the current leader included.
  std::size_t queue_length() const;

 private:
  struct Writer;
  void RunGroup(Writer* const* group, std::size_t size);

  SqliteDatabase* const db_;
  std::mutex* const db_mutex_;
  const Options options_;

  mutable std::mutex queue_mutex_;
  std::deque<Writer*> queue_;  // guarded by queue_mutex_
  Counters counters_;          // guarded by queue_mutex_
};

}  // namespace lifeline

#endif  // LIFELINE_STORE_GROUP_COMMITTER_HPP_
