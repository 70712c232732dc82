// cascade_event_relay.hpp -- where the runtime's cascade events go.
//
// Overview: the engine inside a CascadeRuntime emits its events (attempts,
// receipts, acknowledgements, escalations, CASCADE_FAILURE, ...) into a
// `CascadeEventRelay`, on the runtime's thread. The relay
//
//   - turns each into an audit record (CascadeAuditSink::ToAuditEvent) and
//     holds it in an AuditBacklog until the runtime flushes it into the
//     attached audit sink; the runtime sends no message while the backlog
//     is not empty, so nothing leaves that the audit trail has not recorded;
//   - queues a copy for the host, who reads them with TakeHostEvents (the
//     C ABI's lifeline_cascade_runtime_take_events). That queue is bounded:
//     past `host_queue_limit` the oldest event is dropped and counted, since
//     the audit trail, not this queue, is the durable record.
//
// With no audit sink attached, audit records are not kept unless
// `audit_required` is set: then they wait (and sending waits) until a sink
// is attached.
//
// Thread-safety: OnEvent, SetAudit, FlushAudit and the audit counters are for
// the runtime's thread; TakeHostEvents and host_events_dropped may be called
// from any thread.
#ifndef LIFELINE_LIB_CASCADE_CASCADE_EVENT_RELAY_HPP_
#define LIFELINE_LIB_CASCADE_CASCADE_EVENT_RELAY_HPP_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "lifeline/audit_backlog.hpp"
#include "lifeline/cascade_audit.hpp"
#include "lifeline/cascade_events.hpp"

namespace lifeline {

class CascadeEventRelay final : public CascadeEventSink {
 public:
  explicit CascadeEventRelay(bool audit_required = false, std::size_t host_queue_limit = 10'000)
      : audit_required_(audit_required), host_queue_limit_(host_queue_limit) {}

  void OnEvent(const CascadeEvent& event) override {
    if (audit_ != nullptr || audit_required_) backlog_.Add(CascadeAuditSink::ToAuditEvent(event));
    if (host_queue_limit_ == 0) return;
    std::lock_guard<std::mutex> lock(host_mu_);
    if (host_events_.size() == host_queue_limit_) {
      host_events_.pop_front();
      ++host_events_dropped_;
    }
    host_events_.push_back(event);
  }

  // Attaches `audit` (not owned; nullptr detaches). Detaching when audit is
  // not required forgets the held records, since nobody will take them.
  void SetAudit(AuditSink* audit) {
    audit_ = audit;
    if (audit_ == nullptr && !audit_required_) backlog_.Discard();
  }
  AuditSink* audit() const { return audit_; }

  // Records the held events. OK when none is left held.
  Status FlushAudit() { return backlog_.Flush(audit_); }
  bool audit_pending() const { return !backlog_.empty(); }
  std::size_t audit_backlog() const { return backlog_.size(); }
  std::uint64_t audit_recorded() const { return backlog_.recorded(); }
  std::uint64_t audit_refusals() const { return backlog_.refusals(); }

  // The events since the last call, oldest first.
  std::vector<CascadeEvent> TakeHostEvents() {
    std::lock_guard<std::mutex> lock(host_mu_);
    std::vector<CascadeEvent> out(std::make_move_iterator(host_events_.begin()),
                                  std::make_move_iterator(host_events_.end()));
    host_events_.clear();
    return out;
  }
  std::uint64_t host_events_dropped() const {
    std::lock_guard<std::mutex> lock(host_mu_);
    return host_events_dropped_;
  }

 private:
  const bool audit_required_;
  const std::size_t host_queue_limit_;
  AuditSink* audit_ = nullptr;
  AuditBacklog backlog_;
  mutable std::mutex host_mu_;
  std::deque<CascadeEvent> host_events_;
  std::uint64_t host_events_dropped_ = 0;
};

}  // namespace lifeline

#endif  // LIFELINE_LIB_CASCADE_CASCADE_EVENT_RELAY_HPP_
