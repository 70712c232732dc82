// group_committer.cc -- see group_committer.hpp.
#include "store/group_committer.hpp"

#include <algorithm>
#include <vector>

namespace lifeline {

struct GroupCommitter::Writer {
  explicit Writer(Operation* op) : op(op) {}
  Operation* op;
  Status status;
  bool done = false;
  std::condition_variable cv;
};

namespace {

GroupCommitter::Options Normalized(GroupCommitter::Options options) {
  if (options.max_group_size == 0) options.max_group_size = 1;
  return options;
}

}  // namespace

GroupCommitter::GroupCommitter(SqliteDatabase* db, std::mutex* db_mutex,
                               Options options)
    : db_(db), db_mutex_(db_mutex), options_(Normalized(options)) {}

Status GroupCommitter::Commit(Operation& op) {
  Writer self(&op);
  std::unique_lock<std::mutex> queue_lock(queue_mutex_);
  queue_.push_back(&self);
  while (!self.done && &self != queue_.front()) self.cv.wait(queue_lock);
  if (self.done) return self.status;  // a leader committed us

  // We lead: take the queue's head, up to the group limit. Writers that
  // arrive while we commit wait for the next group.
  std::size_t size = std::min(queue_.size(), options_.max_group_size);
  std::vector<Writer*> group(queue_.begin(), queue_.begin() + static_cast<long>(size));
  queue_lock.unlock();

  RunGroup(group.data(), group.size());

  queue_lock.lock();
  ++counters_.groups;
  counters_.operations += size;
  counters_.largest_group = std::max<std::uint64_t>(counters_.largest_group, size);
  for (std::size_t i = 0; i < size; ++i) {
    Writer* w = queue_.front();
    queue_.pop_front();
    if (w != &self) {
      w->done = true;
      w->cv.notify_one();
    }
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();  // the next leader
  return self.status;
}

void GroupCommitter::RunGroup(Writer* const* group, std::size_t size) {
  std::lock_guard<std::mutex> db_lock(*db_mutex_);
  auto fail_all = [&](const Status& s) {
    for (std::size_t i = 0; i < size; ++i) group[i]->status = s;
  };
  Result<SqliteTransaction> tx = SqliteTransaction::Begin(*db_);
  if (!tx.ok()) return fail_all(tx.status());

  if (size == 1) {
    // No savepoint needed: the operation's failure rolls back the whole
    // (one-operation) transaction.
    Status s = group[0]->op->Apply(*db_);
    if (s.ok()) s = tx->Commit();
    group[0]->status = s;
    if (s.ok()) group[0]->op->Committed();
    return;
  }

  for (std::size_t i = 0; i < size; ++i) {
    Result<SqliteSavepoint> sp = SqliteSavepoint::Begin(*db_);
    if (!sp.ok()) return fail_all(sp.status());
    Status s = group[i]->op->Apply(*db_);
    if (s.ok()) {
      Status released = sp->Release();
      if (!released.ok()) return fail_all(released);
    } else {
      Status undone = sp->RollbackTo();
      if (!undone.ok()) return fail_all(undone);
    }
    group[i]->status = s;
  }
  Status committed = tx->Commit();
  if (!committed.ok()) return fail_all(committed);
  for (std::size_t i = 0; i < size; ++i) {
    if (group[i]->status.ok()) group[i]->op->Committed();
  }
}

GroupCommitter::Counters GroupCommitter::counters() const {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return counters_;
}

std::size_t GroupCommitter::queue_length() const {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return queue_.size();
}

}  // namespace lifeline
