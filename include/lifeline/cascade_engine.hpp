// cascade_engine.hpp -- the stakeholder notification cascade, sans I/O.
//
// Overview: on a business-continuity trigger, `CascadeEngine` notifies every
// member of a stakeholder group through their ordered channels until they
// acknowledge, with bounded retries, severity-driven hold times, escalation
// of hard failures to the group's on-call manager, per-endpoint throttling
// and idempotent triggers. It performs no I/O and reads no clock:
//
//   - every call takes `now` (UTC ms);
//   - messages to send come out of `TakeOutbound(now)` as commands; the host
//     (or the runtime in lib/) sends them and reports `OnSendResult`, then the
//     provider's status callbacks through `OnReceipt`;
//   - `NextDeadline()` says when to call `OnTimer(now)` next.
//
// The outbound queue lives inside the engine, one queue per carrier endpoint,
// so an acknowledgement removes its stakeholder's queued-but-unsent messages
// as well as its timers.
//
// Per stakeholder (see docs/cascade.md for the state diagram):
//   - attempts walk the member's channels (default Voice -> SMS -> Email ->
//     Push); FAILED or TIMEOUT retries the same channel after
//     min(initial * multiplier^k, max) (15 s, 30 s, 60 s; 3 retries), then the
//     channel counts as failed and the next channel starts;
//   - DELIVERED starts the hold timer of the severity (per-tier overrides);
//     when it expires unacknowledged, the next channel starts;
//   - UNREACHABLE fails the channel at once; when it is the primary (first)
//     channel, one voice call may start in parallel with the next channel
//     (never more than two live attempts);
//   - N consecutive failed channels (default 3) is a hard failure:
//     CASCADE_FAILURE and an escalation to the on-call manager on the
//     ".priority" endpoint, ahead of every other message. Running out of
//     channels without an acknowledgement escalates the same way;
//   - ACKNOWLEDGED on any attempt (or `Acknowledge`) stops the stakeholder
//     at once: timers cancelled, queued messages removed;
//   - receipts only move an attempt forward: QUEUED < SENT (pending) <
//     {DELIVERED, FAILED, TIMEOUT, UNREACHABLE} < ACKNOWLEDGED. A settled
//     attempt only ever moves to ACKNOWLEDGED; anything else is ignored and
//     reported as RECEIPT_IGNORED;
//   - quiet hours, evaluated in the member's zone, defer an attempt to the
//     window's end (a UTC instant) except for exempt severities (P1).
//
// Example:
//
//   lifeline::CascadeEngine engine(config, &directory, &hris, &audit, clock.Now());
//   auto r = engine.Trigger(trigger, clock.Now());
//   for (;;) {
//     for (const lifeline::OutboundMessage& m : engine.TakeOutbound(clock.Now()))
//       host_send(m);                       // later: engine.OnSendResult(...)
//     wait_until(engine.NextDeadline());
//     engine.OnTimer(clock.Now());
//   }
//
// Not thread-safe: one owner drives it.
#ifndef LIFELINE_CASCADE_ENGINE_HPP_
#define LIFELINE_CASCADE_ENGINE_HPP_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeline/cascade_events.hpp"
#include "lifeline/clock.hpp"
#include "lifeline/notification_channel.hpp"
#include "lifeline/stakeholder_directory.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

enum class Severity : int { kP1 = 1, kP2 = 2, kP3 = 3, kP4 = 4 };
// "P1".."P4".
const char* SeverityName(Severity s);
std::optional<Severity> ParseSeverity(std::string_view name);

// Every knob, with the defaults the issue and the seed guide name.
struct CascadeConfig {
  // Hold time after DELIVERED without acknowledgement, by severity P1..P4.
  std::array<DurationMillis, 4> hold_ms = {90'000, 300'000, 900'000, 3'600'000};
  // Per-tier overrides: tier -> hold by severity (0 = use hold_ms).
  std::map<int, std::array<DurationMillis, 4>> tier_hold_ms;
  // Retry of the same channel after FAILED or TIMEOUT.
  DurationMillis retry_initial_ms = 15'000;
  double retry_multiplier = 2.0;
  DurationMillis retry_max_ms = 120'000;
  int max_retries_per_channel = 3;
  // Consecutive failed channels before CASCADE_FAILURE and escalation.
  int hard_failure_threshold = 3;
  // SENT without any receipt for this long -> CHANNEL_TIMEOUT (0 = never).
  DurationMillis receipt_timeout_ms = 120'000;
  // The reconciliation sweep forces PENDING attempts older than this.
  DurationMillis reconcile_after_ms = 300'000;
  // A closed incident's id is still answered with the old cascade this long.
  DurationMillis idempotency_window_ms = 300'000;
  // Severities that override quiet hours (default P1 only), indexed P1..P4.
  std::array<bool, 4> quiet_hours_exempt = {true, false, false, false};
  // Start one parallel voice call when the primary channel is UNREACHABLE.
  bool parallel_voice_on_unreachable = true;
  // Throttle: sends per window, per endpoint; overrides by endpoint name.
  int endpoint_limit = 50;
  DurationMillis endpoint_window_ms = 1'000;
  std::map<std::string, int> endpoint_limits;
  // A 429 without Retry-After pauses its endpoint this long.
  DurationMillis default_retry_after_ms = 1'000;
  // Endpoint name per channel (default: the channel's name, e.g. "sms").
  // Escalations use "<endpoint>.priority".
  std::map<Channel, std::string> channel_endpoints;
  // Timeout handed to DirectoryProvider::Lookup.
  DurationMillis directory_timeout_ms = 2'000;

  // Parses the JSON form documented in docs/cascade.md; unknown keys and
  // out-of-range values are refused, naming their path.
  static Result<CascadeConfig> FromJson(std::string_view json);

  DurationMillis HoldFor(Severity s, int tier) const;
  // The wait before retry number `retry` (0-based): min(initial*mult^retry, max).
  DurationMillis RetryDelay(int retry) const;
  std::string EndpointFor(Channel c, bool escalation) const;
};

// The trigger, with the seed guide's field names.
struct CascadeTrigger {
  std::string incident_id;
  Severity severity = Severity::kP1;
  std::string stakeholder_group_id;
  std::string message_template;   // "{{name}}" placeholders filled from variables
  UnixMillis timestamp = 0;
  std::vector<std::pair<std::string, std::string>> variables;
};

// Parses {"incidentId", "severity": "P1".."P4", "stakeholderGroupId",
// "messageTemplate", "timestamp": RFC 3339, "variables"?: {string: string}}.
// A missing field, a wrong type, an unknown key or a bad value is
// InvalidArgument naming the field.
Result<CascadeTrigger> ParseCascadeTrigger(std::string_view json);
// The same checks for a trigger built in code.
Status ValidateCascadeTrigger(const CascadeTrigger& trigger);
// The template with every "{{name}}" replaced by its variable (unknown
// placeholders are left as they are).
std::string RenderMessage(const std::string& message_template,
                          const std::vector<std::pair<std::string, std::string>>& variables);

// Attempt statuses. Order of rank: kQueued < kSent < {kDelivered, kFailed,
// kTimeout, kUnreachable, kCancelled} < kAcknowledged.
enum class AttemptStatus : int {
  kQueued = 0,
  kSent,          // PENDING: handed to the provider, no final receipt yet
  kDelivered,
  kAcknowledged,
  kFailed,
  kTimeout,
  kUnreachable,
  kCancelled,     // removed from the queue before it was sent
};
const char* AttemptStatusName(AttemptStatus s);

struct CascadeAttempt {
  std::uint64_t id = 0;          // also the OutboundMessage's message_id
  Channel channel = Channel::kVoice;
  int step = 0;                  // index into the plan
  int retry = 0;                 // 0 = first try on this channel
  bool parallel = false;         // the parallel voice call
  bool escalation = false;       // to the on-call manager
  AttemptStatus status = AttemptStatus::kQueued;
  UnixMillis queued_at = 0;
  UnixMillis sent_at = 0;        // 0 = never sent
  UnixMillis settled_at = 0;     // 0 = not settled
  std::string provider_ref;      // e.g. Twilio MessageSid
  std::string endpoint;
};

enum class StakeholderStatus : int {
  kActive = 0,
  kDeferred,       // waiting for quiet hours to end
  kAcknowledged,
  kEscalated,      // hard failure or channels exhausted; manager notified
  kStopped,        // the group's policy was met, or the incident closed
};
const char* StakeholderStatusName(StakeholderStatus s);

// The seed's per-stakeholder schema plus the attempt history.
struct StakeholderCascade {
  std::string incident_id;
  std::string stakeholder_group_id;
  std::string member_id;
  int current_step = 0;                          // index into `plan`
  std::optional<Channel> last_attempted_channel;
  int retry_count = 0;                           // retries on the current channel
  bool acknowledged = false;
  std::optional<UnixMillis> next_escalation_at;  // hold / retry / quiet-hours end
  StakeholderStatus status = StakeholderStatus::kActive;
  bool stale_contact_data = false;
  int consecutive_failures = 0;                  // failed channels in a row
  std::vector<Channel> plan;                     // channel order for this member
  std::vector<CascadeAttempt> attempts;          // history, oldest first
};

enum class IncidentStatus : int { kActive = 0, kSatisfied, kNotSatisfied, kClosed };
const char* IncidentStatusName(IncidentStatus s);

struct IncidentCascade {
  CascadeTrigger trigger;
  IncidentStatus status = IncidentStatus::kActive;
  UnixMillis started_at = 0;
  UnixMillis closed_at = 0;
  int required_acks = 0;
  int acknowledged = 0;
  int escalated = 0;
  std::vector<std::string> member_ids;   // in group order
};

// A message the host must send.
struct OutboundMessage {
  std::uint64_t message_id = 0;  // == the attempt id
  std::string incident_id;
  std::string member_id;
  Channel channel = Channel::kVoice;
  std::string endpoint;          // throttling key, e.g. "sms" or "voice.priority"
  std::string address;           // PII: never log it
  std::string text;
  Severity severity = Severity::kP1;
  bool escalation = false;
};

// What the provider said when the host sent a message.
struct SendResult {
  enum class Kind { kAccepted, kDelivered, kFailed, kUnreachable, kThrottled };
  Kind kind = Kind::kAccepted;
  std::string provider_ref;          // for kAccepted: matches later receipts
  DurationMillis retry_after_ms = 0; // for kThrottled; 0 = config default
};

struct TriggerResult {
  bool duplicate = false;   // an existing cascade was returned
  std::string incident_id;
};

class CascadeEngine {
 public:
  // `directory` must outlive the engine; `provider` and `sink` may be null.
  CascadeEngine(CascadeConfig config, const StakeholderDirectory* directory,
                DirectoryProvider* provider, CascadeEventSink* sink, UnixMillis now);
  ~CascadeEngine();
  CascadeEngine(const CascadeEngine&) = delete;
  CascadeEngine& operator=(const CascadeEngine&) = delete;

  // Starts a cascade, or returns the existing one for the same incidentId
  // while it is open or within the idempotency window after it closed.
  // InvalidArgument for a malformed trigger, NotFound for an unknown group.
  Result<TriggerResult> Trigger(const CascadeTrigger& trigger, UnixMillis now);

  // Messages allowed out now by their endpoint throttles, highest priority
  // first (escalations, then P1..P4, then queue order). Each becomes SENT.
  std::vector<OutboundMessage> TakeOutbound(UnixMillis now);

  // The provider's synchronous answer to a send. NotFound for an unknown id.
  Status OnSendResult(std::uint64_t message_id, const SendResult& result, UnixMillis now);

  // A delivery receipt (status callback, DTMF result) for an attempt, by
  // message id or by provider reference. `status` must be kSent, kDelivered,
  // kAcknowledged, kFailed or kUnreachable. Late, duplicate and out-of-order
  // receipts are OK and ignored (RECEIPT_IGNORED). NotFound when unknown.
  Status OnReceipt(std::uint64_t message_id, AttemptStatus status, UnixMillis now);
  Status OnProviderReceipt(std::string_view provider_ref, AttemptStatus status, UnixMillis now);

  // An acknowledgement that is not tied to an attempt (SMS reply, email
  // link, API). NotFound for an unknown incident or member.
  Status Acknowledge(std::string_view incident_id, std::string_view member_id,
                     std::optional<Channel> channel, UnixMillis now);

  // Closes (resolves) an incident: everything stops. NotFound when unknown.
  Status CloseIncident(std::string_view incident_id, UnixMillis now);

  // Fires due timers (hold, retry, receipt timeout, quiet-hours end,
  // reconciliation sweep).
  void OnTimer(UnixMillis now);

  // The earliest instant at which OnTimer or TakeOutbound has work (may be in
  // the past: call now). nullopt when idle.
  std::optional<UnixMillis> NextDeadline() const;

  // Read access. Pointers are valid until the next non-const call.
  const IncidentCascade* FindIncident(std::string_view incident_id) const;
  const StakeholderCascade* FindStakeholder(std::string_view incident_id,
                                            std::string_view member_id) const;
  const CascadeAttempt* FindAttempt(std::uint64_t message_id) const;
  // Messages queued (not yet handed out) for `endpoint`.
  std::size_t QueuedCount(std::string_view endpoint) const;
  std::size_t PendingTimerCount() const;
  // The incident ids the engine knows (open, or closed within the
  // idempotency window), sorted.
  std::vector<std::string> IncidentIds() const;

  const CascadeConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeline

#endif  // LIFELINE_CASCADE_ENGINE_HPP_
