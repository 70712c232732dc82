// failover_switch.cc -- the routing-mode switch. The model (sources,
// precedence, flap protection, staleness, admission) is documented in
// include/lifeline/failover_switch.hpp and docs/failover.md.
#include "lifeline/failover_switch.hpp"

#include <algorithm>
#include <string>

namespace lifeline {
namespace {

constexpr DurationMillis kMaxConfigDuration = 30LL * 24 * 60 * 60 * 1000;  // 30 days
constexpr std::uint32_t kMaxRecoveryReads = 10'000;

// The switch whose event sink is running on this thread, if any: writers
// called from inside a sink are refused instead of corrupting the operation
// in progress.
thread_local const FailoverSwitch* t_dispatching = nullptr;

bool ValidMode(RoutingMode mode) {
  return mode == RoutingMode::kNormal || mode == RoutingMode::kFailover;
}

bool ValidPolicy(StalePolicy policy) {
  return policy == StalePolicy::kKeepLastKnown || policy == StalePolicy::kAssumeFailover ||
         policy == StalePolicy::kAssumeNormal;
}

UnixMillis SaturatingAdd(UnixMillis t, DurationMillis d) {
  if (d > 0 && t > FailoverSwitch::kNoDeadline - d) return FailoverSwitch::kNoDeadline;
  return t + d;
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool SameNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

// Fixed texts for events that have no push reason.
constexpr std::string_view kReasonRead = "source read";
constexpr std::string_view kReasonRecovery = "source recovered";
constexpr std::string_view kReasonStale = "source stale";
constexpr std::string_view kReasonFresh = "source answered again";

}  // namespace

const char* RoutingModeName(RoutingMode mode) {
  switch (mode) {
    case RoutingMode::kNormal: return "NORMAL";
    case RoutingMode::kFailover: return "FAILOVER";
  }
  return "unknown";
}

Result<RoutingMode> ParseRoutingMode(std::string_view text) {
  std::string_view t = TrimSpace(text);
  if (SameNoCase(t, "NORMAL")) return RoutingMode::kNormal;
  if (SameNoCase(t, "FAILOVER")) return RoutingMode::kFailover;
  return InvalidArgument("routing mode must be \"NORMAL\" or \"FAILOVER\"");
}

const char* StalePolicyName(StalePolicy policy) {
  switch (policy) {
    case StalePolicy::kKeepLastKnown: return "keep_last_known";
    case StalePolicy::kAssumeFailover: return "assume_failover";
    case StalePolicy::kAssumeNormal: return "assume_normal";
  }
  return "unknown";
}

Result<StalePolicy> ParseStalePolicy(std::string_view text) {
  for (StalePolicy p : {StalePolicy::kKeepLastKnown, StalePolicy::kAssumeFailover,
                        StalePolicy::kAssumeNormal})
    if (text == StalePolicyName(p)) return p;
  return InvalidArgument(
      "stale policy must be \"keep_last_known\", \"assume_failover\" or \"assume_normal\"");
}

const char* CallEntryDecisionName(CallEntryDecision decision) {
  switch (decision) {
    case CallEntryDecision::kNormalRouting: return "normal_routing";
    case CallEntryDecision::kFailoverFlow: return "failover_flow";
    case CallEntryDecision::kRejectBusy: return "reject_busy";
  }
  return "unknown";
}

const char* FailoverCauseName(FailoverCause cause) {
  switch (cause) {
    case FailoverCause::kPush: return "push";
    case FailoverCause::kPushExpired: return "push_expired";
    case FailoverCause::kPushCleared: return "push_cleared";
    case FailoverCause::kRead: return "read";
    case FailoverCause::kRecovery: return "recovery";
    case FailoverCause::kStaleFailsafe: return "stale_failsafe";
  }
  return "unknown";
}

const char* FailoverEventKindName(FailoverEventKind kind) {
  switch (kind) {
    case FailoverEventKind::kModeChanged: return "mode_changed";
    case FailoverEventKind::kOverrideSet: return "override_set";
    case FailoverEventKind::kOverrideEnded: return "override_ended";
    case FailoverEventKind::kSourceStale: return "source_stale";
    case FailoverEventKind::kSourceFresh: return "source_fresh";
  }
  return "unknown";
}

Status FailoverSwitchConfig::Validate() const {
  if (!ValidMode(initial_mode)) return InvalidArgument("initial_mode must be NORMAL or FAILOVER");
  if (stale_after_ms < 0 || stale_after_ms > kMaxConfigDuration)
    return InvalidArgument("stale_after_ms must be between 0 and 30 days");
  if (!ValidPolicy(stale_policy))
    return InvalidArgument("stale_policy must be keep_last_known, assume_failover or assume_normal");
  if (min_dwell_ms < 0 || min_dwell_ms > kMaxConfigDuration)
    return InvalidArgument("min_dwell_ms must be between 0 and 30 days");
  if (recovery_reads < 1 || recovery_reads > kMaxRecoveryReads)
    return InvalidArgument("recovery_reads must be between 1 and 10000");
  return Status::Ok();
}

// --- ChannelPool -------------------------------------------------------------

bool failover_internal::ChannelPool::TryAcquire() {
  std::uint32_t current = active.load(std::memory_order_relaxed);
  do {
    if ((capacity != 0 && current >= capacity) ||
        current == std::numeric_limits<std::uint32_t>::max())
      return false;
  } while (!active.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  const std::uint32_t now_active = current + 1;
  std::uint32_t seen = peak.load(std::memory_order_relaxed);
  while (now_active > seen &&
         !peak.compare_exchange_weak(seen, now_active, std::memory_order_relaxed)) {
  }
  return true;
}

// --- FailoverSwitch ----------------------------------------------------------

Result<std::unique_ptr<FailoverSwitch>> FailoverSwitch::Create(const FailoverSwitchConfig& config,
                                                               FailoverEventSink* sink,
                                                               UnixMillis now) {
  Status valid = config.Validate();
  if (!valid.ok()) return valid;
  return std::unique_ptr<FailoverSwitch>(new FailoverSwitch(config, sink, now));
}

FailoverSwitch::FailoverSwitch(const FailoverSwitchConfig& config, FailoverEventSink* sink,
                               UnixMillis now)
    : config_(config),
      sink_(sink),
      last_now_(now),
      mode_(config.initial_mode),
      mode_since_(now),
      source_mode_(config.initial_mode),
      source_since_(now),
      last_read_at_(now) {
  pool_.capacity = config.max_channels;
  Publish();
}

FailoverSwitch::~FailoverSwitch() = default;

RoutingMode FailoverSwitch::Mode(UnixMillis now) const {
  const std::uint64_t s = snapshot_.load(std::memory_order_acquire);
  const UnixMillis expires_at = static_cast<UnixMillis>(s >> 2);
  const std::uint64_t bit = (expires_at != 0 && now >= expires_at) ? ((s >> 1) & 1u) : (s & 1u);
  return bit != 0 ? RoutingMode::kFailover : RoutingMode::kNormal;
}

CallEntry FailoverSwitch::Enter(UnixMillis now) {
  // Built in place (aggregate initialisation): no lease is moved on the way.
  if (Mode(now) == RoutingMode::kNormal) return CallEntry{};  // kNormalRouting
  if (!pool_.TryAcquire()) {
    pool_.rejected.fetch_add(1, std::memory_order_relaxed);
    return CallEntry{CallEntryDecision::kRejectBusy, ChannelLease()};
  }
  pool_.admitted.fetch_add(1, std::memory_order_relaxed);
  return CallEntry{CallEntryDecision::kFailoverFlow, ChannelLease(&pool_)};
}

void FailoverSwitch::Publish() {
  const UnixMillis expires_at = push_active_ ? push_expires_at_ : 0;
  const std::uint64_t word = (static_cast<std::uint64_t>(expires_at) << 2) |
                             (source_mode_ == RoutingMode::kFailover ? 2u : 0u) |
                             (mode_ == RoutingMode::kFailover ? 1u : 0u);
  snapshot_.store(word, std::memory_order_release);
}

Status FailoverSwitch::CheckWriter(const char* function) const {
  if (t_dispatching == this)
    return StateError(std::string(function) +
                      ": a writer of the failover switch cannot be called from its own event sink");
  return Status::Ok();
}

UnixMillis FailoverSwitch::Clamp(UnixMillis now) {
  if (now > last_now_) last_now_ = now;
  return last_now_;
}

void FailoverSwitch::Emit(FailoverEventKind kind, FailoverCause cause, RoutingMode from,
                          RoutingMode to, UnixMillis at, std::string_view reason,
                          UnixMillis expires_at) {
  ++sequence_;
  if (sink_ == nullptr) return;
  FailoverTransition event;
  event.kind = kind;
  event.cause = cause;
  event.from = from;
  event.to = to;
  event.at = at;
  event.sequence = sequence_;
  event.reason = reason;
  event.expires_at = expires_at;
  event.stale_policy = config_.stale_policy;
  const FailoverSwitch* outer = t_dispatching;
  t_dispatching = this;
  struct Restore {
    const FailoverSwitch* outer;
    ~Restore() { t_dispatching = outer; }
  } restore{outer};
  sink_->OnTransition(event);
}

void FailoverSwitch::SetMode(RoutingMode mode, FailoverCause cause, std::string_view reason,
                             UnixMillis now) {
  if (mode == mode_) {
    Publish();  // the mode after a push's expiry may have changed
    return;
  }
  const RoutingMode from = mode_;
  mode_ = mode;
  mode_since_ = now;
  ++transitions_;
  if (mode == RoutingMode::kFailover) {
    ++to_failover_;
  } else {
    ++to_normal_;
  }
  Publish();
  Emit(FailoverEventKind::kModeChanged, cause, from, mode, now, reason, 0);
}

void FailoverSwitch::SetSourceMode(RoutingMode mode, FailoverCause cause, std::string_view reason,
                                   UnixMillis now) {
  if (mode == source_mode_) return;
  source_mode_ = mode;
  source_since_ = now;
  if (push_active_) {
    Publish();  // the push still decides; only the mode after its expiry moved
  } else {
    SetMode(mode, cause, reason, now);
  }
}

void FailoverSwitch::EndPush(FailoverCause cause, std::string_view reason, UnixMillis now) {
  // The reason may point into push_reason_; keep it alive across the events.
  std::string kept(reason);
  push_active_ = false;
  push_expires_at_ = 0;
  Emit(FailoverEventKind::kOverrideEnded, cause, mode_, mode_, now, kept, 0);
  SetMode(source_mode_, cause, kept, now);
  push_reason_.clear();
}

void FailoverSwitch::GoStale(UnixMillis now) {
  stale_ = true;
  healthy_reads_ = 0;
  ++stale_episodes_;
  Emit(FailoverEventKind::kSourceStale, FailoverCause::kStaleFailsafe, mode_, mode_, now,
       kReasonStale, 0);
  if (config_.stale_policy == StalePolicy::kAssumeFailover)
    SetSourceMode(RoutingMode::kFailover, FailoverCause::kStaleFailsafe, kReasonStale, now);
  // kAssumeNormal is dwell-gated: MaybeLeaveFailover applies it.
}

void FailoverSwitch::MaybeLeaveFailover(UnixMillis now) {
  if (source_mode_ != RoutingMode::kFailover) return;
  if (now - source_since_ < config_.min_dwell_ms) return;
  if (stale_) {
    if (config_.stale_policy == StalePolicy::kAssumeNormal)
      SetSourceMode(RoutingMode::kNormal, FailoverCause::kStaleFailsafe, kReasonStale, now);
  } else if (healthy_reads_ >= config_.recovery_reads) {
    SetSourceMode(RoutingMode::kNormal, FailoverCause::kRecovery, kReasonRecovery, now);
  }
}

void FailoverSwitch::Evaluate(UnixMillis now) {
  if (push_active_ && push_expires_at_ != 0 && now >= push_expires_at_)
    EndPush(FailoverCause::kPushExpired, push_reason_, now);
  if (!stale_ && config_.stale_after_ms > 0 && now - last_read_at_ >= config_.stale_after_ms)
    GoStale(now);
  MaybeLeaveFailover(now);
}

Status FailoverSwitch::Push(RoutingMode mode, std::string_view reason, UnixMillis expires_at,
                            UnixMillis now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Status writer = CheckWriter("Push");
  if (!writer.ok()) return writer;
  if (!ValidMode(mode)) return InvalidArgument("mode must be 0 (NORMAL) or 1 (FAILOVER)");
  if (reason.size() > kMaxReasonBytes) return InvalidArgument("reason is longer than 256 bytes");
  now = Clamp(now);
  if (expires_at != 0 && (expires_at <= now || expires_at > kMaxExpiresAt))
    return InvalidArgument("expires_at_ms must be 0 (none) or a time after now, before year 2100");
  Evaluate(now);
  ++pushes_;
  push_active_ = true;
  push_mode_ = mode;
  push_reason_.assign(reason.data(), reason.size());
  push_expires_at_ = expires_at;
  Publish();
  Emit(FailoverEventKind::kOverrideSet, FailoverCause::kPush, mode_, mode_, now, push_reason_,
       expires_at);
  SetMode(mode, FailoverCause::kPush, push_reason_, now);
  return Status::Ok();
}

Status FailoverSwitch::ClearPush(std::string_view reason, UnixMillis now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Status writer = CheckWriter("ClearPush");
  if (!writer.ok()) return writer;
  if (reason.size() > kMaxReasonBytes) return InvalidArgument("reason is longer than 256 bytes");
  now = Clamp(now);
  Evaluate(now);
  if (push_active_) EndPush(FailoverCause::kPushCleared, reason, now);
  return Status::Ok();
}

Status FailoverSwitch::ObserveRead(RoutingMode mode, UnixMillis now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Status writer = CheckWriter("ObserveRead");
  if (!writer.ok()) return writer;
  if (!ValidMode(mode)) return InvalidArgument("mode must be 0 (NORMAL) or 1 (FAILOVER)");
  now = Clamp(now);
  Evaluate(now);
  ++reads_;
  last_read_at_ = now;
  if (stale_) {
    stale_ = false;
    Emit(FailoverEventKind::kSourceFresh, FailoverCause::kRead, mode_, mode_, now, kReasonFresh, 0);
  }
  if (mode == RoutingMode::kFailover) {
    healthy_reads_ = 0;
    SetSourceMode(RoutingMode::kFailover, FailoverCause::kRead, kReasonRead, now);
  } else {
    if (healthy_reads_ < std::numeric_limits<std::uint32_t>::max()) ++healthy_reads_;
    MaybeLeaveFailover(now);
  }
  return Status::Ok();
}

Status FailoverSwitch::ObserveReadFailure(UnixMillis now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Status writer = CheckWriter("ObserveReadFailure");
  if (!writer.ok()) return writer;
  now = Clamp(now);
  Evaluate(now);
  ++read_failures_;
  healthy_reads_ = 0;
  return Status::Ok();
}

Status FailoverSwitch::Poll(FailoverStateSource& source, UnixMillis now) {
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    Status writer = CheckWriter("Poll");
    if (!writer.ok()) return writer;
  }
  Result<RoutingMode> read = source.Read(now);
  if (!read.ok()) {
    Status observed = ObserveReadFailure(now);
    if (!observed.ok()) return observed;
    return read.status();
  }
  return ObserveRead(*read, now);
}

Status FailoverSwitch::OnTimer(UnixMillis now) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Status writer = CheckWriter("OnTimer");
  if (!writer.ok()) return writer;
  Evaluate(Clamp(now));
  return Status::Ok();
}

UnixMillis FailoverSwitch::NextDeadline() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  UnixMillis next = kNoDeadline;
  if (push_active_ && push_expires_at_ != 0) next = std::min(next, push_expires_at_);
  if (!stale_ && config_.stale_after_ms > 0)
    next = std::min(next, SaturatingAdd(last_read_at_, config_.stale_after_ms));
  if (source_mode_ == RoutingMode::kFailover) {
    const bool exit_pending =
        stale_ ? config_.stale_policy == StalePolicy::kAssumeNormal
               : healthy_reads_ >= config_.recovery_reads;
    if (exit_pending) next = std::min(next, SaturatingAdd(source_since_, config_.min_dwell_ms));
  }
  return next;
}

FailoverStats FailoverSwitch::Stats() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  FailoverStats s;
  s.mode = mode_;
  s.mode_since = mode_since_;
  s.source_mode = source_mode_;
  s.override_active = push_active_;
  s.override_mode = push_mode_;
  s.override_expires_at = push_active_ ? push_expires_at_ : 0;
  s.source_stale = stale_;
  s.consecutive_healthy_reads = healthy_reads_;
  s.last_read_at = last_read_at_;
  s.transitions = transitions_;
  s.transitions_to_failover = to_failover_;
  s.transitions_to_normal = to_normal_;
  s.pushes = pushes_;
  s.reads = reads_;
  s.read_failures = read_failures_;
  s.stale_episodes = stale_episodes_;
  s.failover_admissions = pool_.admitted.load(std::memory_order_relaxed);
  s.rejected_busy = pool_.rejected.load(std::memory_order_relaxed);
  s.active_channels = pool_.active.load(std::memory_order_acquire);
  s.peak_channels = pool_.peak.load(std::memory_order_relaxed);
  s.max_channels = pool_.capacity;
  return s;
}

}  // namespace lifeline
