// audit_sink.hpp -- the port every engine writes its audit events through.
//
// Overview: the IVR failover engine, the notification cascade and the
// failover switch each report what they did (a delivery attempt, an
// acknowledgement, a failover transition, a captured callback) as an
// `AuditEvent` handed to an `AuditSink`. The sink answers with a `Status`:
// OK means the event is durably recorded; anything else means it is NOT, and
// the producer must keep the event and not advance past it (a cascade does
// not move to the next step, an outbox does not drop the entry).
//
// The production sink is `lifeline::AuditLog` (audit_log.hpp): a hash
// chained, PII-protected, append-only log. Tests of other components use
// `RecordingAuditSink`; hosts that do not audit use `NullAuditSink`.
//
// PII: an event never carries phone numbers, emails, push tokens or caller
// names in its free-text fields. They go in `pii` as named fields, and
// `subject` (the stakeholder or caller reference) is treated as PII as well
// unless the log is configured otherwise. The log encrypts or pseudonymises
// each of them; `detail` is stored as given, so it must not hold PII.
//
// Example:
//
//   lifeline::AuditEvent e;
//   e.source = lifeline::AuditSource::kCascade;
//   e.time = now;
//   e.incident_id = "INC-2024-0892";
//   e.subject = "stk-17";
//   e.channel = "sms";
//   e.event = "DELIVERY_ATTEMPT";
//   e.status = "DELIVERED";
//   e.provider_id = "twilio";
//   e.pii = {{"phone", "+15551234567"}};
//   lifeline::Status s = sink.Append(e);
//   if (!s.ok()) return s;  // keep the step; retry later
//
// This header is stable: engines depend on it, so it only ever grows.
#ifndef LIFELINE_AUDIT_SINK_HPP_
#define LIFELINE_AUDIT_SINK_HPP_

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// Which half of Lifeline produced an event. `kAudit` is reserved for the
// records the audit subsystem writes about itself (e.g. PII_DECRYPTED).
enum class AuditSource { kIvr, kCascade, kFailover, kAudit };

// "ivr", "cascade", "failover" or "audit".
inline const char* AuditSourceName(AuditSource source) {
  switch (source) {
    case AuditSource::kIvr: return "ivr";
    case AuditSource::kCascade: return "cascade";
    case AuditSource::kFailover: return "failover";
    case AuditSource::kAudit: return "audit";
  }
  return "unknown";
}

// Parses a source name; false when it is not one of the four names.
inline bool ParseAuditSource(std::string_view name, AuditSource* out) {
  for (AuditSource s : {AuditSource::kIvr, AuditSource::kCascade, AuditSource::kFailover,
                        AuditSource::kAudit}) {
    if (name == AuditSourceName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

// One piece of personal data attached to an event, e.g. {"phone", "+1555..."}.
// `name` is a lower-case identifier ([a-z][a-z0-9_]*, at most 32 bytes);
// the audit log's configuration decides, per name, whether the value is
// encrypted or pseudonymised. It is never stored in clear.
struct PiiField {
  std::string name;
  std::string value;
};

// What happened, as a producer reports it. Every string is UTF-8; empty
// strings are allowed and stored as "".
struct AuditEvent {
  AuditSource source = AuditSource::kCascade;
  UnixMillis time = 0;       // when it happened, ms since the epoch, UTC
  std::string incident_id;   // the BCP incident, e.g. "INC-2024-0892"
  std::string call_id;       // the IVR call, when there is one
  std::string subject;       // stakeholder or caller reference (PII by default)
  std::string channel;       // "voice", "sms", "email", "push", ...
  std::string event;         // e.g. "DELIVERY_ATTEMPT", "FAILOVER", "CALLBACK_CAPTURED"
  std::string status;        // e.g. "DELIVERED", "ACKNOWLEDGED", "FAILED", "429"
  std::string provider_id;   // e.g. "twilio", "genesys"
  std::string detail;        // free text without PII
  std::vector<PiiField> pii; // personal data, protected by the log
};

// The port. Implementations are thread-safe: producers on several threads
// may append concurrently, and the order of the calls that return is the
// order of the records.
class AuditSink {
 public:
  virtual ~AuditSink() = default;

  // Records `event` durably. OK only once the event is stored (for the
  // audit log: written and fsynced). Any other status means it was not
  // recorded: LIFELINE_E_IO for a full disk or an I/O error,
  // LIFELINE_E_INVALID_ARGUMENT for a malformed event, LIFELINE_E_NOT_FOUND
  // or LIFELINE_E_UNAVAILABLE when a key cannot be had. The producer keeps
  // the event and tries again later.
  virtual Status Append(const AuditEvent& event) = 0;

  // Records `events` in order. OK when all of them are recorded; otherwise
  // the first `*recorded` of them are recorded and the rest are not (the
  // producer keeps those). The default calls Append for each in turn;
  // AuditLog records all or none with one fsync.
  virtual Status AppendBatch(const std::vector<AuditEvent>& events, std::size_t* recorded) {
    *recorded = 0;
    for (const AuditEvent& event : events) {
      Status s = Append(event);
      if (!s.ok()) return s;
      ++*recorded;
    }
    return Status::Ok();
  }
};

// Accepts and discards every event.
class NullAuditSink final : public AuditSink {
 public:
  Status Append(const AuditEvent&) override { return Status::Ok(); }
};

// Keeps every accepted event in memory, for tests of the producers. A test
// can make it refuse events with `FailWith` to check that a producer keeps
// an unrecorded event and does not advance.
class RecordingAuditSink final : public AuditSink {
 public:
  Status Append(const AuditEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_with_.ok()) return fail_with_;
    events_.push_back(event);
    return Status::Ok();
  }

  // From now on every Append returns `status` (Status::Ok() to accept again).
  void FailWith(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_with_ = std::move(status);
  }

  // A copy of the accepted events, in order.
  std::vector<AuditEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<AuditEvent> events_;
  Status fail_with_;
};

}  // namespace lifeline

#endif  // LIFELINE_AUDIT_SINK_HPP_
