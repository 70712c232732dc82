// cascade_events.hpp -- the events a notification cascade emits.
//
// Overview: every transition of the cascade engine is reported, in order, to
// a `CascadeEventSink`: the port the audit trail (a separate component, whose
// `AuditSink` the lead adapts to this interface) and metrics hang off. Events
// carry ids, channels, statuses and reasons; never addresses or message text,
// which are PII.
//
// Example:
//
//   class Printer : public lifeline::CascadeEventSink {
//     void OnEvent(const lifeline::CascadeEvent& e) override {
//       std::printf("%s %s\n", lifeline::CascadeEventName(e.type), e.member_id.c_str());
//     }
//   };
#ifndef LIFELINE_CASCADE_EVENTS_HPP_
#define LIFELINE_CASCADE_EVENTS_HPP_

#include <cstdint>
#include <optional>
#include <string>

#include "lifeline/clock.hpp"
#include "lifeline/notification_channel.hpp"

namespace lifeline {

// Append-only: new types go at the end.
enum class CascadeEventType : int {
  kCascadeStarted = 0,      // a trigger created a cascade
  kTriggerDuplicate,        // same incidentId while open / within the window
  kContactDataStale,        // live directory lookup failed; cached record used
  kAttemptQueued,           // a message entered its endpoint's queue
  kAttemptSent,             // handed to the host for sending (now PENDING)
  kAttemptThrottled,        // provider said 429 / Retry-After: re-queued
  kAttemptDelivered,
  kAttemptFailed,
  kAttemptUnreachable,
  kChannelTimeout,          // no receipt within the receipt timeout
  kReceiptIgnored,          // late, duplicate or out-of-order receipt
  kRetryScheduled,
  kHoldExpired,             // DELIVERED but not acknowledged within the hold time
  kChannelAdvanced,
  kParallelVoiceStarted,
  kQuietHoursDeferred,
  kStakeholderAcknowledged,
  kMessageCancelled,        // a queued, not yet sent message removed
  kCascadeFailure,          // N consecutive channel failures (seed: CASCADE_FAILURE)
  kStakeholderExhausted,    // every channel tried, no acknowledgement
  kManagerEscalated,        // escalation queued to the on-call manager
  kManagerUnavailable,      // no on-call manager to escalate to
  kAttemptReconciled,       // PENDING too long: forced to TIMEOUT by the sweep
  kGroupAcknowledged,       // the group's acknowledgement policy is met
  kGroupNotSatisfied,       // every stakeholder finished, policy not met
  kIncidentClosed,
  kStakeholderStopped,      // stopped by group satisfaction or close
};

// "CASCADE_STARTED", "CHANNEL_TIMEOUT", "CASCADE_FAILURE", ...
const char* CascadeEventName(CascadeEventType type);

struct CascadeEvent {
  CascadeEventType type = CascadeEventType::kCascadeStarted;
  UnixMillis at = 0;
  std::string incident_id;
  std::string group_id;
  std::string member_id;             // "" for incident-level events
  std::optional<Channel> channel;
  std::uint64_t attempt_id = 0;      // 0 when not about one attempt
  std::string detail;                // reason / status names; never PII
  bool stale_contact_data = false;
  // Re-emitted when a durable store was reopened: its journal had the step
  // that produced the event but not the audit trail's acknowledgement of it
  // (a crash or a close while the event waited for the audit sink). The
  // trail may already hold it when the crash came just after the append.
  bool recovered = false;
};

class CascadeEventSink {
 public:
  virtual ~CascadeEventSink() = default;
  // Called synchronously, in order, from inside engine calls. Must not call
  // back into the engine.
  virtual void OnEvent(const CascadeEvent& event) = 0;
};

}  // namespace lifeline

#endif  // LIFELINE_CASCADE_EVENTS_HPP_
