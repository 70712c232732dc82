// audit_backlog.hpp -- the audit events a producer has not yet recorded.
//
// Overview: an engine that must not advance past an unrecorded event (the
// contract of audit_sink.hpp) collects its events in an `AuditBacklog` as it
// emits them, then calls `Flush(sink)` before doing anything the outside
// world can see (sending a message, answering a caller). `Flush` appends the
// oldest events first, in batches (one fsync per batch with AuditLog), and
// stops at the first refusal, keeping every event it could not record in
// order. While `empty()` is false the producer holds its outward actions
// back and calls `Flush` again later; nothing is dropped and nothing is
// recorded twice (a refused batch is retried from its first unrecorded
// event).
//
// Example (a runtime loop):
//
//   lifeline::AuditBacklog backlog;
//   backlog.Add(ToAuditEvent(event));            // as events are emitted
//   ...
//   if (backlog.Flush(sink).ok()) SendHeldMessages();
//   else RetryLater();                          // the backlog keeps them
//
// Thread-safety: none; one owner (e.g. the runtime's thread). Memory grows
// with the events held while the sink refuses them; `size()` reports it.
#ifndef LIFELINE_AUDIT_BACKLOG_HPP_
#define LIFELINE_AUDIT_BACKLOG_HPP_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <vector>

#include "lifeline/audit_sink.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

class AuditBacklog {
 public:
  // `max_batch` (>= 1): the most events handed to the sink in one call.
  explicit AuditBacklog(std::size_t max_batch = 4096) : max_batch_(std::max<std::size_t>(1, max_batch)) {}

  void Add(AuditEvent event) { held_.push_back(std::move(event)); }

  // Records every held event in `sink`, oldest first. OK when the backlog is
  // empty afterwards (also when it was empty). Otherwise the sink's status;
  // the events it did not record stay held, in order. A null sink records
  // nothing and answers kState, keeping everything.
  Status Flush(AuditSink* sink) {
    if (held_.empty()) return Status::Ok();
    if (sink == nullptr) return StateError("no audit sink is attached");
    while (!held_.empty()) {
      const std::size_t n = std::min(max_batch_, held_.size());
      batch_.assign(std::make_move_iterator(held_.begin()),
                    std::make_move_iterator(held_.begin() + static_cast<std::ptrdiff_t>(n)));
      std::size_t recorded = 0;
      Status s = sink->AppendBatch(batch_, &recorded);
      recorded = std::min(recorded, n);
      recorded_ += recorded;
      // Put back what the sink did not record (moved-from slots refilled).
      for (std::size_t i = recorded; i < n; ++i) held_[i] = std::move(batch_[i]);
      held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(recorded));
      batch_.clear();
      if (!s.ok()) {
        ++refusals_;
        return s;
      }
    }
    return Status::Ok();
  }

  // Forgets every held event (e.g. auditing was switched off); returns how
  // many.
  std::size_t Discard() {
    std::size_t n = held_.size();
    held_.clear();
    return n;
  }

  bool empty() const { return held_.empty(); }
  std::size_t size() const { return held_.size(); }
  // Events recorded by Flush over the object's life.
  std::uint64_t recorded() const { return recorded_; }
  // Flush calls the sink refused.
  std::uint64_t refusals() const { return refusals_; }

 private:
  std::size_t max_batch_;
  std::deque<AuditEvent> held_;
  std::vector<AuditEvent> batch_;
  std::uint64_t recorded_ = 0;
  std::uint64_t refusals_ = 0;
};

}  // namespace lifeline

#endif  // LIFELINE_AUDIT_BACKLOG_HPP_
