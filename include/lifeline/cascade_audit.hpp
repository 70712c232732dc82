// cascade_audit.hpp -- the cascade's events, recorded in the audit trail.
//
// Overview: `CascadeAuditSink` is a CascadeEventSink that turns every event
// the cascade engine emits (attempts, receipts, acknowledgements, escalations,
// CASCADE_FAILURE, stale contact data, ...) into an AuditEvent for an
// AuditSink, such as the tamper-evident AuditLog. The stakeholder reference
// travels as the record's subject, which the audit log protects as PII by
// default. A forwarding sink can be chained so hosts keep their own
// listener. The audit sink can be attached and detached at any time.
//
// Example:
//
//   lifeline::CascadeAuditSink events(/*next=*/nullptr);
//   events.SetAudit(audit_log.get());
//   engine = CascadeEngine::Create(config, directory, provider, &events, now);
#ifndef LIFELINE_CASCADE_AUDIT_HPP_
#define LIFELINE_CASCADE_AUDIT_HPP_

#include <atomic>
#include <cstdint>
#include <string>

#include "lifeline/audit_sink.hpp"
#include "lifeline/cascade_events.hpp"

namespace lifeline {

class CascadeAuditSink final : public CascadeEventSink {
 public:
  // `next` (not owned, may be null) receives every event too.
  explicit CascadeAuditSink(CascadeEventSink* next = nullptr) : next_(next) {}

  // Records events in `audit` from now on (not owned; nullptr detaches).
  void SetAudit(AuditSink* audit) { audit_.store(audit, std::memory_order_release); }

  void OnEvent(const CascadeEvent& e) override {
    if (AuditSink* audit = audit_.load(std::memory_order_acquire)) {
      audit->Append(ToAuditEvent(e)).ok() ? void() : void(failures_.fetch_add(1));
    }
    if (next_ != nullptr) next_->OnEvent(e);
  }

  // Events the audit sink refused (the cascade itself goes on).
  std::uint64_t failures() const { return failures_.load(); }

  static AuditEvent ToAuditEvent(const CascadeEvent& e) {
    AuditEvent a;
    a.source = AuditSource::kCascade;
    a.time = e.at;
    a.incident_id = e.incident_id;
    a.subject = e.member_id;
    if (e.channel) a.channel = ChannelName(*e.channel);
    a.event = CascadeEventName(e.type);
    a.status = e.stale_contact_data ? "stale_contact_data" : "";
    a.detail = "group=" + e.group_id +
               (e.attempt_id != 0 ? " attempt=" + std::to_string(e.attempt_id) : std::string()) +
               (e.detail.empty() ? std::string() : " " + e.detail) +
               (e.recovered ? " recovered=1" : "");
    return a;
  }

 private:
  CascadeEventSink* next_;
  std::atomic<AuditSink*> audit_{nullptr};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace lifeline

#endif  // LIFELINE_CASCADE_AUDIT_HPP_
