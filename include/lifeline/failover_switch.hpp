// failover_switch.hpp -- decides NORMAL or FAILOVER routing at every call entry.
//
// Overview: during an outage the IVR must switch to its emergency flow
// without redeploying anything, and switch back when the outage is over. A
// `FailoverSwitch` holds the routing mode and answers the one question every
// incoming call asks -- normal routing, the emergency flow, or a short busy
// because the emergency media channels are all in use -- lock-free and
// without allocating, from any number of PBX threads.
//
// The mode comes from two kinds of source:
//
//  - Pushed: the monitoring integration calls `Push(mode, reason,
//    expires_at, now)`. A push is a command. It takes effect at once and
//    overrides the pulled source until it expires, is replaced by another
//    push, or is withdrawn with `ClearPush`; then the mode reverts to what
//    the pulled source says.
//  - Pulled: a poller (HTTP in lib/, Redis later; see `FailoverStateSource`)
//    reads a state endpoint at its own interval and reports each result with
//    `ObserveRead(mode, now)` or `ObserveReadFailure(now)`. The call-entry
//    decision never waits on it.
//
// The pulled source goes through flap protection, the seed's automated
// recovery:
//
//  - Entering FAILOVER is immediate: one FAILOVER read is enough, because a
//    caller routed to a dead queue is the costlier mistake.
//  - Leaving FAILOVER needs both `recovery_reads` consecutive healthy
//    (NORMAL) reads and `min_dwell_ms` spent in FAILOVER since entering it.
//    A FAILOVER read, a failed read or the source going stale resets the
//    count. When the count is reached before the dwell time is up, the
//    switch leaves FAILOVER at the end of the dwell time (`OnTimer`).
//    The dwell time is measured from entering FAILOVER; further FAILOVER
//    reads do not extend it. So the routing flips at most once each way per
//    `min_dwell_ms`.
//  - Staleness: when the source has not answered successfully for
//    `stale_after_ms`, the switch reports it (a kSourceStale event) and
//    applies `stale_policy`: keep the last known mode, assume FAILOVER (at
//    once, like a FAILOVER read), or assume NORMAL (like a recovery: only
//    after the dwell time). The next successful read reports kSourceFresh
//    and the mode follows the reads again; after an assumed FAILOVER that
//    takes `recovery_reads` healthy reads, as always.
//
// Precedence, highest first: an active push; then the pulled source as
// filtered above. Pushes are not subject to flap protection; the pulled
// source keeps being tracked while a push is active, so the mode after a
// push ends is the source's current mode, at once.
//
// Admission control (the seed's Edge Case 1): at most `max_channels` calls
// may be in the emergency flow at once, so the media server's channels are
// never exhausted. `Enter` returns kFailoverFlow together with a
// `ChannelLease` holding one slot, or kRejectBusy (no prompt, a short busy)
// when none is free. The lease releases its slot exactly once: in its
// destructor, on `Release()` (idempotent), and never twice after a move, so
// hangups and error paths cannot leak a slot.
//
// Every change of the routing mode, and every push, push end and staleness
// change, is reported to a `FailoverEventSink` with its cause, for the audit
// trail and the metrics. `Stats()` adds counters and gauges.
//
// Time: the switch never reads a clock. Every operation takes `now`; the host
// calls `OnTimer(now)` once `NextDeadline()` has passed (push expiry,
// staleness, the end of a dwell time). `Enter`/`Mode` apply a push's expiry
// to the millisecond by themselves even when the host's timer runs late; the
// event for it is emitted by the next `OnTimer` or writer call. A `now`
// earlier than one already seen by a writer is treated as that earlier
// time (time never runs backwards inside the switch).
//
// Threads: `Enter` and `Mode` are lock-free, allocation-free and callable
// from any thread (one atomic load; in FAILOVER also one compare-and-swap on
// the slot counter). Writers (`Push`, `ClearPush`, `ObserveRead`,
// `ObserveReadFailure`, `Poll`, `OnTimer`) serialise on an internal mutex,
// may allocate (a push's reason) and publish the decided mode atomically.
// The event sink runs on the writer's thread with that mutex held, so events
// arrive in order; a sink may call `Enter`, `Mode`, `Stats` and
// `NextDeadline`, but a writer called from inside the sink is refused with
// kState rather than deadlocking.
//
// Example:
//
//   FailoverSwitchConfig config;
//   config.max_channels = 120;
//   auto sw = FailoverSwitch::Create(config, &audit_sink, clock.Now());
//   // Monitoring:
//   (*sw)->Push(RoutingMode::kFailover, "synthetic checks failing", 0, clock.Now());
//   // Every call, on the PBX's thread:
//   CallEntry entry = (*sw)->Enter(clock.Now());
//   switch (entry.decision) {
//     case CallEntryDecision::kNormalRouting: RouteToQueue(); break;
//     case CallEntryDecision::kRejectBusy:    PlayShortBusy(); break;
//     case CallEntryDecision::kFailoverFlow:  RunFlow(std::move(entry.lease)); break;
//   }
//   // The host's timer loop:
//   if (clock.Now() >= (*sw)->NextDeadline()) (*sw)->OnTimer(clock.Now());
#ifndef LIFELINE_FAILOVER_SWITCH_HPP_
#define LIFELINE_FAILOVER_SWITCH_HPP_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// The routing mode. The values are the C ABI's (0 NORMAL, 1 FAILOVER).
enum class RoutingMode : int { kNormal = 0, kFailover = 1 };

// "NORMAL" or "FAILOVER" (the spelling of the state endpoint's JSON);
// "unknown" for a value outside the enum.
const char* RoutingModeName(RoutingMode mode);

// Parses "NORMAL" / "FAILOVER", case-insensitively, ignoring surrounding
// white space: what a pulled source reads from its endpoint. Anything else
// is kInvalidArgument.
Result<RoutingMode> ParseRoutingMode(std::string_view text);

// What to assume when the pulled source has gone stale.
enum class StalePolicy : int {
  kKeepLastKnown = 0,   // keep the mode the source last established
  kAssumeFailover = 1,  // enter FAILOVER at once
  kAssumeNormal = 2,    // leave FAILOVER once the dwell time allows
};

// "keep_last_known", "assume_failover", "assume_normal"; "unknown" otherwise.
const char* StalePolicyName(StalePolicy policy);

// The inverse of StalePolicyName (exact, lower case); kInvalidArgument otherwise.
Result<StalePolicy> ParseStalePolicy(std::string_view text);

// What the call-entry decision tells the PBX to do with one incoming call.
enum class CallEntryDecision : int {
  kNormalRouting = 0,  // route as usual; no slot is held
  kFailoverFlow = 1,   // run the emergency flow; the call holds a channel slot
  kRejectBusy = 2,     // FAILOVER but no slot free: short busy, no prompt
};

// "normal_routing", "failover_flow", "reject_busy"; "unknown" otherwise.
const char* CallEntryDecisionName(CallEntryDecision decision);

// Why an event happened.
enum class FailoverCause : int {
  kPush = 0,           // the monitoring integration pushed a mode
  kPushExpired = 1,    // a push reached its expires_at
  kPushCleared = 2,    // a push was withdrawn with ClearPush
  kRead = 3,           // a read of the pulled source (FAILOVER, or fresh again)
  kRecovery = 4,       // recovery_reads healthy reads and the dwell time passed
  kStaleFailsafe = 5,  // the pulled source went stale; stale_policy applied
};

// "push", "push_expired", "push_cleared", "read", "recovery",
// "stale_failsafe"; "unknown" otherwise.
const char* FailoverCauseName(FailoverCause cause);

// What an event reports.
enum class FailoverEventKind : int {
  kModeChanged = 0,    // the routing mode changed: from != to
  kOverrideSet = 1,    // a push was accepted (whether or not the mode changed)
  kOverrideEnded = 2,  // a push expired or was cleared
  kSourceStale = 3,    // the pulled source has not answered for stale_after_ms
  kSourceFresh = 4,    // the pulled source answered again after being stale
};

// "mode_changed", "override_set", "override_ended", "source_stale",
// "source_fresh"; "unknown" otherwise.
const char* FailoverEventKindName(FailoverEventKind kind);

// One event, as given to FailoverEventSink::OnTransition. An operation that
// both reports something and changes the mode emits the report first, then
// a kModeChanged event with the same cause.
struct FailoverTransition {
  FailoverEventKind kind = FailoverEventKind::kModeChanged;
  FailoverCause cause = FailoverCause::kPush;
  // The routing mode before and after. They differ only for kModeChanged;
  // for other kinds both are the mode at the time of the event.
  RoutingMode from = RoutingMode::kNormal;
  RoutingMode to = RoutingMode::kNormal;
  // The `now` of the operation that applied the event.
  UnixMillis at = 0;
  // 1, 2, 3, ... per switch, without gaps: the audit trail's order.
  std::uint64_t sequence = 0;
  // For push causes, the reason given by the monitoring integration (for
  // kPushExpired the expired push's reason); otherwise a fixed English text.
  // Valid only during the OnTransition call.
  std::string_view reason;
  // kOverrideSet: the push's expires_at (0 = none). 0 otherwise.
  UnixMillis expires_at = 0;
  // The configured policy, meaningful for kSourceStale.
  StalePolicy stale_policy = StalePolicy::kKeepLastKnown;
};

// Receives the switch's events. Called on the writer's thread with the
// switch's writer mutex held, in `sequence` order. Must not throw; must not
// call the switch's writers (they return kState when it does).
class FailoverEventSink {
 public:
  virtual ~FailoverEventSink() = default;
  virtual void OnTransition(const FailoverTransition& event) = 0;
};

// A pulled source of the routing mode: the HTTP state endpoint (lib/http),
// Redis (a later issue), or a test double. The runtime's poller calls
// `Read` on its own thread at its own interval -- never a call thread -- and
// hands the result to FailoverSwitch::Poll (or to ObserveRead /
// ObserveReadFailure itself).
class FailoverStateSource {
 public:
  virtual ~FailoverStateSource() = default;
  // The mode the source reports now, or why it could not say (kUnavailable,
  // kTimeout, kIo, kInvalidArgument for an unparsable body, ...). May block
  // for up to the source's own timeout.
  virtual Result<RoutingMode> Read(UnixMillis now) = 0;
};

// Forwards every call to another source. Tests derive from it and override
// one method to inject faults, keeping the rest.
class ForwardingFailoverStateSource : public FailoverStateSource {
 public:
  explicit ForwardingFailoverStateSource(FailoverStateSource* target) : target_(target) {}
  Result<RoutingMode> Read(UnixMillis now) override { return target_->Read(now); }

 private:
  FailoverStateSource* target_;
};

// Configuration. Durations are milliseconds.
struct FailoverSwitchConfig {
  // The mode before any push or read.
  RoutingMode initial_mode = RoutingMode::kNormal;
  // How long the pulled source may go without a successful read before it
  // is stale. 0 disables staleness (a push-only deployment). The clock
  // starts when the switch is created. 0..30 days.
  DurationMillis stale_after_ms = 30'000;
  StalePolicy stale_policy = StalePolicy::kKeepLastKnown;
  // Minimum time in FAILOVER (entered from the pulled source) before an
  // automated exit. 0 disables. 0..30 days.
  DurationMillis min_dwell_ms = 60'000;
  // Consecutive healthy (NORMAL) reads before leaving FAILOVER. 1..10000.
  std::uint32_t recovery_reads = 3;
  // Capacity of concurrent emergency media channels. 0 = unlimited.
  std::uint32_t max_channels = 0;

  // OK, or kInvalidArgument naming the first field out of range.
  Status Validate() const;
};

// A point-in-time view for metrics and diagnostics.
struct FailoverStats {
  RoutingMode mode = RoutingMode::kNormal;         // the decided mode
  UnixMillis mode_since = 0;                       // when it was entered
  RoutingMode source_mode = RoutingMode::kNormal;  // the pulled source, filtered
  bool override_active = false;                    // a push is in force
  RoutingMode override_mode = RoutingMode::kNormal;
  UnixMillis override_expires_at = 0;              // 0 = none
  bool source_stale = false;
  std::uint32_t consecutive_healthy_reads = 0;
  UnixMillis last_read_at = 0;                     // last successful read (creation time before any)
  std::uint64_t transitions = 0;                   // kModeChanged events
  std::uint64_t transitions_to_failover = 0;
  std::uint64_t transitions_to_normal = 0;
  std::uint64_t pushes = 0;
  std::uint64_t reads = 0;                         // successful reads
  std::uint64_t read_failures = 0;
  std::uint64_t stale_episodes = 0;                // kSourceStale events
  std::uint64_t failover_admissions = 0;           // kFailoverFlow decisions
  std::uint64_t rejected_busy = 0;                 // kRejectBusy decisions
  std::uint32_t active_channels = 0;               // leases held now
  std::uint32_t peak_channels = 0;                 // highest active_channels seen
  std::uint32_t max_channels = 0;                  // the configured capacity
};

namespace failover_internal {
// The slot counter shared by a switch and its leases. On its own cache line:
// in FAILOVER every call entry touches it.
struct alignas(64) ChannelPool {
  std::atomic<std::uint32_t> active{0};
  std::atomic<std::uint32_t> peak{0};
  std::atomic<std::uint64_t> admitted{0};
  std::atomic<std::uint64_t> rejected{0};
  std::uint32_t capacity = 0;  // 0 = unlimited

  bool TryAcquire();
  void Release() { active.fetch_sub(1, std::memory_order_acq_rel); }
};
}  // namespace failover_internal

// One emergency media channel slot, held by one call in the emergency flow.
// Move-only. The slot is returned exactly once: by `Release()` or by the
// destructor, whichever comes first; a moved-from lease holds nothing.
// `Release()` is idempotent and safe to race from two threads. A lease must
// not outlive the switch that granted it.
class ChannelLease {
 public:
  ChannelLease() = default;
  ChannelLease(ChannelLease&& other) noexcept
      : pool_(other.pool_.exchange(nullptr, std::memory_order_acq_rel)) {}
  ChannelLease& operator=(ChannelLease&& other) noexcept {
    if (this != &other) {
      Release();
      pool_.store(other.pool_.exchange(nullptr, std::memory_order_acq_rel),
                  std::memory_order_release);
    }
    return *this;
  }
  ChannelLease(const ChannelLease&) = delete;
  ChannelLease& operator=(const ChannelLease&) = delete;
  ~ChannelLease() { Release(); }

  // Returns the slot. True when this call returned it; false when the lease
  // held nothing (already released, moved from, or default-constructed).
  bool Release() {
    failover_internal::ChannelPool* pool = pool_.exchange(nullptr, std::memory_order_acq_rel);
    if (pool == nullptr) return false;
    pool->Release();
    return true;
  }

  // True while the lease holds a slot.
  bool held() const { return pool_.load(std::memory_order_acquire) != nullptr; }

 private:
  friend class FailoverSwitch;
  explicit ChannelLease(failover_internal::ChannelPool* pool) : pool_(pool) {}

  std::atomic<failover_internal::ChannelPool*> pool_{nullptr};
};

// The call-entry answer: the decision, and for kFailoverFlow the slot.
struct CallEntry {
  CallEntryDecision decision = CallEntryDecision::kNormalRouting;
  ChannelLease lease;  // held only for kFailoverFlow
};

class FailoverSwitch {
 public:
  // NextDeadline() when nothing is scheduled.
  static constexpr UnixMillis kNoDeadline = std::numeric_limits<UnixMillis>::max();
  // Longest push or clear reason accepted, in bytes.
  static constexpr std::size_t kMaxReasonBytes = 256;
  // Latest expires_at accepted by Push (year 2100).
  static constexpr UnixMillis kMaxExpiresAt = 4'102'444'800'000;

  // Creates a switch in `config.initial_mode` at `now`. `sink` may be null
  // (no events); otherwise it must outlive the switch. kInvalidArgument when
  // the config does not validate.
  static Result<std::unique_ptr<FailoverSwitch>> Create(const FailoverSwitchConfig& config,
                                                        FailoverEventSink* sink, UnixMillis now);

  FailoverSwitch(const FailoverSwitch&) = delete;
  FailoverSwitch& operator=(const FailoverSwitch&) = delete;
  ~FailoverSwitch();

  // --- The call path: lock-free, allocation-free, any thread. -------------

  // The call-entry decision. NORMAL gives kNormalRouting. FAILOVER gives
  // kFailoverFlow with a held lease when a slot is free, kRejectBusy
  // otherwise.
  CallEntry Enter(UnixMillis now);

  // The routing mode for a call arriving at `now`, without taking a slot.
  RoutingMode Mode(UnixMillis now) const;

  // --- Writers: serialised, not on the call path. --------------------------

  // Sets the mode by command. `reason` (at most kMaxReasonBytes; no PII) is
  // kept for the events. `expires_at` is 0 for no expiry, otherwise a time
  // after `now` and at most kMaxExpiresAt; once it passes, the mode reverts
  // to the pulled source's. A push replaces any earlier push. Emits
  // kOverrideSet, then kModeChanged (kPush) when the mode changes.
  // kInvalidArgument for a bad mode, reason or expires_at.
  Status Push(RoutingMode mode, std::string_view reason, UnixMillis expires_at, UnixMillis now);

  // Withdraws the active push, if any: the mode reverts to the pulled
  // source's at once. Emits kOverrideEnded (kPushCleared), then kModeChanged
  // when the mode changes. OK and no event when no push is active.
  Status ClearPush(std::string_view reason, UnixMillis now);

  // One successful read of the pulled source. kInvalidArgument for a bad mode.
  Status ObserveRead(RoutingMode mode, UnixMillis now);

  // One failed read of the pulled source: counted, and it breaks the run of
  // healthy reads. It does not reset the staleness clock.
  Status ObserveReadFailure(UnixMillis now);

  // Reads `source` (outside the switch's lock) and observes the result.
  // Returns the read's own error when it failed (after observing the
  // failure), so the poller can log it; otherwise the observation's status.
  Status Poll(FailoverStateSource& source, UnixMillis now);

  // Applies whatever has fallen due by `now`: push expiry, staleness, the end
  // of a dwell time. Harmless when nothing is due.
  Status OnTimer(UnixMillis now);

  // The earliest time at which OnTimer has something to do, or kNoDeadline.
  // It can be in the past when the host is late. Every writer call and
  // OnTimer can move it.
  UnixMillis NextDeadline() const;

  // --- Introspection. ------------------------------------------------------

  FailoverStats Stats() const;
  const FailoverSwitchConfig& config() const { return config_; }

 private:
  FailoverSwitch(const FailoverSwitchConfig& config, FailoverEventSink* sink, UnixMillis now);

  // All below with mu_ held.
  Status CheckWriter(const char* function) const;
  UnixMillis Clamp(UnixMillis now);
  void Evaluate(UnixMillis now);
  void EndPush(FailoverCause cause, std::string_view reason, UnixMillis now);
  void GoStale(UnixMillis now);
  void MaybeLeaveFailover(UnixMillis now);
  void SetSourceMode(RoutingMode mode, FailoverCause cause, std::string_view reason, UnixMillis now);
  void SetMode(RoutingMode mode, FailoverCause cause, std::string_view reason, UnixMillis now);
  void Publish();
  void Emit(FailoverEventKind kind, FailoverCause cause, RoutingMode from, RoutingMode to,
            UnixMillis at, std::string_view reason, UnixMillis expires_at);

  // The call path's view, one 64-bit word: bit 0 the mode, bit 1 the mode
  // once the push expires, bits 2..63 the push's expires_at (0 = none).
  alignas(64) std::atomic<std::uint64_t> snapshot_{0};
  failover_internal::ChannelPool pool_;

  const FailoverSwitchConfig config_;
  FailoverEventSink* const sink_;

  alignas(64) mutable std::recursive_mutex mu_;
  UnixMillis last_now_;
  // The decided mode.
  RoutingMode mode_;
  UnixMillis mode_since_;
  // The active push.
  bool push_active_ = false;
  RoutingMode push_mode_ = RoutingMode::kNormal;
  std::string push_reason_;
  UnixMillis push_expires_at_ = 0;
  // The pulled source, after flap protection.
  RoutingMode source_mode_;
  UnixMillis source_since_;
  std::uint32_t healthy_reads_ = 0;
  bool stale_ = false;
  UnixMillis last_read_at_;
  // Counters.
  std::uint64_t sequence_ = 0;
  std::uint64_t transitions_ = 0;
  std::uint64_t to_failover_ = 0;
  std::uint64_t to_normal_ = 0;
  std::uint64_t pushes_ = 0;
  std::uint64_t reads_ = 0;
  std::uint64_t read_failures_ = 0;
  std::uint64_t stale_episodes_ = 0;
};

}  // namespace lifeline

#endif  // LIFELINE_FAILOVER_SWITCH_HPP_
