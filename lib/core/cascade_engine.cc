// cascade_engine.cc -- the notification cascade state machine (see
// cascade_engine.hpp and docs/cascade.md).
//
// Structure: incidents own stakeholders, stakeholders own their attempt
// history. Every timer lives in one TimerWheel with a tag saying what it is
// for; every queued message lives in its endpoint's ordered queue with the
// key kept on the attempt, so an acknowledgement removes it in O(log n).
// Nothing ever scans all cascades.
#include "lifeline/cascade_engine.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>
#include <unordered_map>

#include <absl/time/time.h>
#include <rapidjson/document.h>

#include "core/json_config.hpp"
#include "lifeline/endpoint_throttle.hpp"
#include "lifeline/timer_wheel.hpp"

namespace lifeline {

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

const char* CascadeEventName(CascadeEventType type) {
  switch (type) {
    case CascadeEventType::kCascadeStarted: return "CASCADE_STARTED";
    case CascadeEventType::kTriggerDuplicate: return "TRIGGER_DUPLICATE";
    case CascadeEventType::kContactDataStale: return "CONTACT_DATA_STALE";
    case CascadeEventType::kAttemptQueued: return "ATTEMPT_QUEUED";
    case CascadeEventType::kAttemptSent: return "ATTEMPT_SENT";
    case CascadeEventType::kAttemptThrottled: return "ATTEMPT_THROTTLED";
    case CascadeEventType::kAttemptDelivered: return "ATTEMPT_DELIVERED";
    case CascadeEventType::kAttemptFailed: return "ATTEMPT_FAILED";
    case CascadeEventType::kAttemptUnreachable: return "ATTEMPT_UNREACHABLE";
    case CascadeEventType::kChannelTimeout: return "CHANNEL_TIMEOUT";
    case CascadeEventType::kReceiptIgnored: return "RECEIPT_IGNORED";
    case CascadeEventType::kRetryScheduled: return "RETRY_SCHEDULED";
    case CascadeEventType::kHoldExpired: return "HOLD_EXPIRED";
    case CascadeEventType::kChannelAdvanced: return "CHANNEL_ADVANCED";
    case CascadeEventType::kParallelVoiceStarted: return "PARALLEL_VOICE_STARTED";
    case CascadeEventType::kQuietHoursDeferred: return "QUIET_HOURS_DEFERRED";
    case CascadeEventType::kStakeholderAcknowledged: return "STAKEHOLDER_ACKNOWLEDGED";
    case CascadeEventType::kMessageCancelled: return "MESSAGE_CANCELLED";
    case CascadeEventType::kCascadeFailure: return "CASCADE_FAILURE";
    case CascadeEventType::kStakeholderExhausted: return "STAKEHOLDER_EXHAUSTED";
    case CascadeEventType::kManagerEscalated: return "MANAGER_ESCALATED";
    case CascadeEventType::kManagerUnavailable: return "MANAGER_UNAVAILABLE";
    case CascadeEventType::kAttemptReconciled: return "ATTEMPT_RECONCILED";
    case CascadeEventType::kGroupAcknowledged: return "GROUP_ACKNOWLEDGED";
    case CascadeEventType::kGroupNotSatisfied: return "GROUP_NOT_SATISFIED";
    case CascadeEventType::kIncidentClosed: return "INCIDENT_CLOSED";
    case CascadeEventType::kStakeholderStopped: return "STAKEHOLDER_STOPPED";
  }
  return "UNKNOWN";
}

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kP1: return "P1";
    case Severity::kP2: return "P2";
    case Severity::kP3: return "P3";
    case Severity::kP4: return "P4";
  }
  return "P?";
}

std::optional<Severity> ParseSeverity(std::string_view name) {
  if (name == "P1") return Severity::kP1;
  if (name == "P2") return Severity::kP2;
  if (name == "P3") return Severity::kP3;
  if (name == "P4") return Severity::kP4;
  return std::nullopt;
}

const char* AttemptStatusName(AttemptStatus s) {
  switch (s) {
    case AttemptStatus::kQueued: return "QUEUED";
    case AttemptStatus::kSent: return "PENDING";
    case AttemptStatus::kDelivered: return "DELIVERED";
    case AttemptStatus::kAcknowledged: return "ACKNOWLEDGED";
    case AttemptStatus::kFailed: return "FAILED";
    case AttemptStatus::kTimeout: return "TIMEOUT";
    case AttemptStatus::kUnreachable: return "UNREACHABLE";
    case AttemptStatus::kCancelled: return "CANCELLED";
  }
  return "UNKNOWN";
}

const char* StakeholderStatusName(StakeholderStatus s) {
  switch (s) {
    case StakeholderStatus::kActive: return "ACTIVE";
    case StakeholderStatus::kDeferred: return "DEFERRED";
    case StakeholderStatus::kAcknowledged: return "ACKNOWLEDGED";
    case StakeholderStatus::kEscalated: return "ESCALATED";
    case StakeholderStatus::kStopped: return "STOPPED";
  }
  return "UNKNOWN";
}

const char* IncidentStatusName(IncidentStatus s) {
  switch (s) {
    case IncidentStatus::kActive: return "ACTIVE";
    case IncidentStatus::kSatisfied: return "SATISFIED";
    case IncidentStatus::kNotSatisfied: return "NOT_SATISFIED";
    case IncidentStatus::kClosed: return "CLOSED";
  }
  return "UNKNOWN";
}

namespace {

int Rank(AttemptStatus s) {
  switch (s) {
    case AttemptStatus::kQueued: return 0;
    case AttemptStatus::kSent: return 1;
    case AttemptStatus::kAcknowledged: return 3;
    default: return 2;
  }
}

int SeverityIndex(Severity s) { return static_cast<int>(s) - 1; }

}  // namespace

// ---------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------

DurationMillis CascadeConfig::HoldFor(Severity s, int tier) const {
  int i = SeverityIndex(s);
  auto it = tier_hold_ms.find(tier);
  if (it != tier_hold_ms.end() && it->second[static_cast<std::size_t>(i)] > 0) {
    return it->second[static_cast<std::size_t>(i)];
  }
  return hold_ms[static_cast<std::size_t>(i)];
}

DurationMillis CascadeConfig::RetryDelay(int retry) const {
  double d = static_cast<double>(retry_initial_ms) * std::pow(retry_multiplier, retry);
  if (!std::isfinite(d) || d > static_cast<double>(retry_max_ms)) return retry_max_ms;
  return static_cast<DurationMillis>(d);
}

std::string CascadeConfig::EndpointFor(Channel c, bool escalation) const {
  auto it = channel_endpoints.find(c);
  std::string name = it != channel_endpoints.end() ? it->second : ChannelName(c);
  return escalation ? name + ".priority" : name;
}

Result<CascadeConfig> CascadeConfig::FromJson(std::string_view json) {
  CascadeConfig c;
  JsonConfig doc;
  Status s = doc.Parse(json);
  if (!s.ok()) return s;
  ConfigObject root = doc.Root();
  const DurationMillis kDay = 86'400'000;
  auto read_holds = [&](ConfigObject* o, std::array<DurationMillis, 4>* out, int64_t min) {
    const char* names[4] = {"P1", "P2", "P3", "P4"};
    for (int i = 0; i < 4; ++i) o->Int(names[i], &(*out)[static_cast<std::size_t>(i)], min, kDay);
  };
  if (ConfigObject* o = root.Object("hold_ms")) read_holds(o, &c.hold_ms, 1);
  if (ConfigObject* o = root.Object("tier_hold_ms")) {
    const rapidjson::Value* raw = root.Raw("tier_hold_ms");
    for (auto it = raw->MemberBegin(); it != raw->MemberEnd(); ++it) {
      std::string key = it->name.GetString();
      if (key.size() != 1 || key[0] < '1' || key[0] > '9') {
        o->Error(key.c_str(), "tier must be 1..9");
        break;
      }
      ConfigObject* t = o->Object(key.c_str());
      if (t == nullptr) break;
      std::array<DurationMillis, 4> holds = {0, 0, 0, 0};
      read_holds(t, &holds, 0);
      c.tier_hold_ms[key[0] - '0'] = holds;
    }
  }
  if (ConfigObject* r = root.Object("retry")) {
    r->Int("initial_ms", &c.retry_initial_ms, 1, kDay);
    r->Double("multiplier", &c.retry_multiplier, 1.0, 100.0);
    r->Int("max_ms", &c.retry_max_ms, 1, kDay);
    r->Int("max_retries", &c.max_retries_per_channel, 0, 100);
  }
  root.Int("hard_failure_threshold", &c.hard_failure_threshold, 1, 100);
  root.Int("receipt_timeout_ms", &c.receipt_timeout_ms, 0, kDay);
  root.Int("reconcile_after_ms", &c.reconcile_after_ms, 1'000, kDay);
  root.Int("idempotency_window_ms", &c.idempotency_window_ms, 0, kDay);
  std::vector<std::string> exempt;
  if (root.Has("quiet_hours_exempt")) {
    root.StringList("quiet_hours_exempt", &exempt);
    c.quiet_hours_exempt = {false, false, false, false};
    for (const std::string& name : exempt) {
      auto sev = ParseSeverity(name);
      if (!sev) {
        root.Error("quiet_hours_exempt", "expected severities \"P1\"..\"P4\"");
        break;
      }
      c.quiet_hours_exempt[static_cast<std::size_t>(SeverityIndex(*sev))] = true;
    }
  }
  root.Bool("parallel_voice_on_unreachable", &c.parallel_voice_on_unreachable);
  if (ConfigObject* t = root.Object("throttle")) {
    t->Int("limit", &c.endpoint_limit, 1, 1'000'000);
    t->Int("window_ms", &c.endpoint_window_ms, 1, kDay);
    t->Int("default_retry_after_ms", &c.default_retry_after_ms, 0, kDay);
    if (ConfigObject* e = t->Object("endpoints")) {
      const rapidjson::Value* raw = t->Raw("endpoints");
      for (auto it = raw->MemberBegin(); it != raw->MemberEnd(); ++it) {
        int limit = c.endpoint_limit;
        e->Int(it->name.GetString(), &limit, 1, 1'000'000);
        c.endpoint_limits[it->name.GetString()] = limit;
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> endpoints;
  root.StringMap("channel_endpoints", &endpoints);
  for (const auto& [channel, endpoint] : endpoints) {
    auto ch = ParseChannel(channel);
    if (!ch || endpoint.empty()) {
      root.Error("channel_endpoints", "keys must be channels and values non-empty names");
      break;
    }
    c.channel_endpoints[*ch] = endpoint;
  }
  root.Int("directory_timeout_ms", &c.directory_timeout_ms, 1, 600'000);
  s = root.Finish();
  if (!s.ok()) return s;
  if (c.retry_max_ms < c.retry_initial_ms) {
    return InvalidArgument("retry.max_ms: must be >= retry.initial_ms");
  }
  return c;
}

// ---------------------------------------------------------------------------
// Trigger
// ---------------------------------------------------------------------------

Status ValidateCascadeTrigger(const CascadeTrigger& t) {
  if (t.incident_id.empty()) return InvalidArgument("incidentId: required, a non-empty string");
  if (t.incident_id.size() > 256) return InvalidArgument("incidentId: longer than 256 characters");
  if (static_cast<int>(t.severity) < 1 || static_cast<int>(t.severity) > 4) {
    return InvalidArgument("severity: expected \"P1\", \"P2\", \"P3\" or \"P4\"");
  }
  if (t.stakeholder_group_id.empty()) {
    return InvalidArgument("stakeholderGroupId: required, a non-empty string");
  }
  if (t.message_template.empty()) return InvalidArgument("messageTemplate: required, a non-empty string");
  if (t.timestamp <= 0) return InvalidArgument("timestamp: required, an RFC 3339 instant");
  return Status::Ok();
}

Result<CascadeTrigger> ParseCascadeTrigger(std::string_view json) {
  JsonConfig doc;
  Status s = doc.Parse(json);
  if (!s.ok()) return InvalidArgument("trigger: " + s.message());
  ConfigObject root = doc.Root();
  CascadeTrigger t;
  std::string severity, timestamp;
  for (const char* key : {"incidentId", "severity", "stakeholderGroupId", "messageTemplate", "timestamp"}) {
    if (!root.Has(key)) return InvalidArgument(std::string(key) + ": required");
  }
  root.String("incidentId", &t.incident_id);
  root.String("severity", &severity);
  root.String("stakeholderGroupId", &t.stakeholder_group_id);
  root.String("messageTemplate", &t.message_template);
  root.String("timestamp", &timestamp);
  root.StringMap("variables", &t.variables);
  s = root.Finish();
  if (!s.ok()) return s;
  auto sev = ParseSeverity(severity);
  if (!sev) return InvalidArgument("severity: expected \"P1\", \"P2\", \"P3\" or \"P4\"");
  t.severity = *sev;
  absl::Time parsed;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, timestamp, &parsed, &err)) {
    return InvalidArgument("timestamp: expected an RFC 3339 instant such as 2024-05-20T14:32:00Z");
  }
  t.timestamp = absl::ToUnixMillis(parsed);
  s = ValidateCascadeTrigger(t);
  if (!s.ok()) return s;
  return t;
}

std::string RenderMessage(const std::string& tpl,
                          const std::vector<std::pair<std::string, std::string>>& variables) {
  std::string out;
  out.reserve(tpl.size());
  std::size_t i = 0;
  while (i < tpl.size()) {
    std::size_t open = tpl.find("{{", i);
    if (open == std::string::npos) break;
    std::size_t close = tpl.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(tpl, i, open - i);
    std::string name = tpl.substr(open + 2, close - open - 2);
    auto it = std::find_if(variables.begin(), variables.end(),
                           [&](const auto& kv) { return kv.first == name; });
    if (it != variables.end()) out += it->second;
    else out.append(tpl, open, close + 2 - open);
    i = close + 2;
  }
  out.append(tpl, i, std::string::npos);
  return out;
}

// ---------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------

namespace {

enum class TimerKind : std::uint64_t { kStakeholder = 1, kReceipt = 2, kSweep = 3, kForget = 4 };
enum class StakeTimer { kNone, kHold, kRetry, kQuiet };

std::uint64_t Tag(TimerKind kind, std::uint64_t id) {
  return (static_cast<std::uint64_t>(kind) << 56) | (id & ((std::uint64_t{1} << 56) - 1));
}

using QueueKey = std::tuple<int, std::uint64_t, std::uint64_t>;  // (priority, seq, attempt)

}  // namespace

struct CascadeEngine::Impl {
  struct Stake {
    StakeholderCascade state;
    StakeholderMember member;
    std::uint64_t incident = 0;
    TimerId timer = kNoTimer;
    StakeTimer timer_kind = StakeTimer::kNone;
    std::uint64_t current_attempt = 0;
    bool parallel_used = false;
  };
  struct AttemptLoc {
    std::uint64_t stake = 0;
    std::size_t index = 0;
    TimerId receipt_timer = kNoTimer;
    std::optional<QueueKey> queued;
  };
  struct Incident {
    IncidentCascade state;
    std::vector<std::uint64_t> stakes;
    TimerId forget_timer = kNoTimer;
  };
  struct Endpoint {
    EndpointThrottle throttle;
    std::set<QueueKey> queue;
  };

  Impl(CascadeConfig c, const StakeholderDirectory* d, DirectoryProvider* p, CascadeEventSink* s,
       UnixMillis now)
      : config(std::move(c)), directory(d), provider(p), sink(s), wheel(now) {}

  CascadeConfig config;
  const StakeholderDirectory* directory;
  DirectoryProvider* provider;
  CascadeEventSink* sink;
  TimerWheel wheel;
  std::map<std::string, std::uint64_t, std::less<>> incident_ids;
  std::unordered_map<std::uint64_t, Incident> incidents;
  std::unordered_map<std::uint64_t, Stake> stakes;
  std::unordered_map<std::uint64_t, AttemptLoc> attempts;
  std::unordered_map<std::string, std::uint64_t> refs;
  std::map<std::string, Endpoint, std::less<>> endpoints;
  std::set<std::pair<UnixMillis, std::uint64_t>> pending;  // (sent_at, attempt)
  TimerId sweep_timer = kNoTimer;
  UnixMillis sweep_at = 0;
  std::uint64_t next_id = 1;
  std::uint64_t next_seq = 1;

  // --- helpers -------------------------------------------------------------

  CascadeAttempt& AttemptOf(const AttemptLoc& loc) { return stakes.at(loc.stake).state.attempts[loc.index]; }
  Incident& IncidentOf(const Stake& s) { return incidents.at(s.incident); }

  void Emit(CascadeEventType type, UnixMillis at, const Stake* s, const CascadeAttempt* a,
            std::string detail, const Incident* inc = nullptr) {
    if (sink == nullptr) return;
    CascadeEvent e;
    e.type = type;
    e.at = at;
    if (s != nullptr) {
      e.incident_id = s->state.incident_id;
      e.group_id = s->state.stakeholder_group_id;
      e.member_id = s->state.member_id;
      e.stale_contact_data = s->state.stale_contact_data;
    } else if (inc != nullptr) {
      e.incident_id = inc->state.trigger.incident_id;
      e.group_id = inc->state.trigger.stakeholder_group_id;
    }
    if (a != nullptr) {
      e.channel = a->channel;
      e.attempt_id = a->id;
    }
    e.detail = std::move(detail);
    sink->OnEvent(e);
  }

  Endpoint& EndpointNamed(const std::string& name) {
    auto it = endpoints.find(name);
    if (it != endpoints.end()) return it->second;
    auto limit_it = config.endpoint_limits.find(name);
    int limit = limit_it != config.endpoint_limits.end() ? limit_it->second : config.endpoint_limit;
    return endpoints.emplace(name, Endpoint{EndpointThrottle(limit, config.endpoint_window_ms), {}})
        .first->second;
  }

  void ClearStakeTimer(Stake& s) {
    wheel.Cancel(s.timer);
    s.timer = kNoTimer;
    s.timer_kind = StakeTimer::kNone;
    s.state.next_escalation_at.reset();
  }

  void SetStakeTimer(Stake& s, std::uint64_t key, StakeTimer kind, UnixMillis at) {
    ClearStakeTimer(s);
    s.timer = wheel.Start(at, Tag(TimerKind::kStakeholder, key));
    s.timer_kind = kind;
    s.state.next_escalation_at = at;
  }

  void ArmSweep() {
    if (pending.empty()) {
      wheel.Cancel(sweep_timer);
      sweep_timer = kNoTimer;
      return;
    }
    UnixMillis at = pending.begin()->first + config.reconcile_after_ms;
    if (sweep_timer != kNoTimer && wheel.IsPending(sweep_timer) && sweep_at <= at) return;
    wheel.Cancel(sweep_timer);
    sweep_timer = wheel.Start(at, Tag(TimerKind::kSweep, 0));
    sweep_at = at;
  }

  void LeavePending(std::uint64_t id, AttemptLoc& loc) {
    CascadeAttempt& a = AttemptOf(loc);
    wheel.Cancel(loc.receipt_timer);
    loc.receipt_timer = kNoTimer;
    if (a.sent_at != 0) pending.erase({a.sent_at, id});
  }

  // Removes a queued attempt from its endpoint queue (status -> kCancelled).
  void CancelQueued(std::uint64_t /*id*/, AttemptLoc& loc, UnixMillis now, const char* why) {
    if (!loc.queued) return;
    CascadeAttempt& a = AttemptOf(loc);
    EndpointNamed(a.endpoint).queue.erase(*loc.queued);
    loc.queued.reset();
    a.status = AttemptStatus::kCancelled;
    a.settled_at = now;
    Emit(CascadeEventType::kMessageCancelled, now, &stakes.at(loc.stake), &a, why);
  }

  // Stops all activity of a stakeholder: its timer, queued messages and the
  // receipt timers of attempts in flight.
  void Quiesce(Stake& s, std::uint64_t /*key*/, UnixMillis now, const char* why) {
    ClearStakeTimer(s);
    for (CascadeAttempt& a : s.state.attempts) {
      auto it = attempts.find(a.id);
      if (it == attempts.end()) continue;
      if (a.status == AttemptStatus::kQueued) CancelQueued(a.id, it->second, now, why);
      else if (a.status == AttemptStatus::kSent) LeavePending(a.id, it->second);
    }
    s.current_attempt = 0;
    ArmSweep();
  }

  bool Live(const Stake& s) const {
    return s.state.status == StakeholderStatus::kActive || s.state.status == StakeholderStatus::kDeferred;
  }

  // --- the cascade ---------------------------------------------------------

  std::uint64_t Enqueue(Stake& s, std::uint64_t key, Channel channel, bool parallel, bool escalation,
                        const StakeholderMember& target, UnixMillis now) {
    Incident& inc = IncidentOf(s);
    std::uint64_t id = next_id++;
    CascadeAttempt a;
    a.id = id;
    a.channel = channel;
    a.step = s.state.current_step;
    a.retry = escalation ? 0 : s.state.retry_count;
    a.parallel = parallel;
    a.escalation = escalation;
    a.queued_at = now;
    a.endpoint = config.EndpointFor(channel, escalation);
    (void)target;
    int priority = escalation ? 0 : static_cast<int>(inc.state.trigger.severity);
    QueueKey qk{priority, next_seq++, id};
    EndpointNamed(a.endpoint).queue.insert(qk);
    s.state.attempts.push_back(a);
    AttemptLoc loc;
    loc.stake = key;
    loc.index = s.state.attempts.size() - 1;
    loc.queued = qk;
    attempts.emplace(id, loc);
    if (!escalation) {
      s.state.last_attempted_channel = channel;
      if (!parallel) s.current_attempt = id;
    }
    Emit(CascadeEventType::kAttemptQueued, now, &s, &s.state.attempts.back(),
         std::string(escalation ? "escalation" : parallel ? "parallel" : "step ") +
             (escalation || parallel ? "" : std::to_string(a.step) + " retry " + std::to_string(a.retry)));
    return id;
  }

  void BeginStep(Stake& s, std::uint64_t key, UnixMillis now) {
    Incident& inc = IncidentOf(s);
    // Skip channels that a parallel voice call already covered.
    while (s.state.current_step < static_cast<int>(s.state.plan.size()) && s.parallel_used &&
           s.state.retry_count == 0 &&
           s.state.plan[static_cast<std::size_t>(s.state.current_step)] == Channel::kVoice) {
      ++s.state.current_step;
    }
    if (s.state.current_step >= static_cast<int>(s.state.plan.size())) {
      Emit(CascadeEventType::kStakeholderExhausted, now, &s, nullptr, "every channel tried");
      return Escalate(s, key, now, "channels exhausted");
    }
    Severity sev = inc.state.trigger.severity;
    if (!config.quiet_hours_exempt[static_cast<std::size_t>(SeverityIndex(sev))] &&
        s.member.quiet_hours.enabled()) {
      auto end = QuietHoursEnd(s.member.quiet_hours, s.member.time_zone, now);
      if (end.ok() && end->has_value()) {
        s.state.status = StakeholderStatus::kDeferred;
        SetStakeTimer(s, key, StakeTimer::kQuiet, **end);
        Emit(CascadeEventType::kQuietHoursDeferred, now, &s, nullptr, "deferred to quiet hours end");
        return;
      }
    }
    s.state.status = StakeholderStatus::kActive;
    Enqueue(s, key, s.state.plan[static_cast<std::size_t>(s.state.current_step)], false, false,
            s.member, now);
  }

  void Escalate(Stake& s, std::uint64_t key, UnixMillis now, const char* why) {
    Quiesce(s, key, now, "stakeholder escalated");
    s.state.status = StakeholderStatus::kEscalated;
    Incident& inc = IncidentOf(s);
    ++inc.state.escalated;
    const StakeholderGroup* g = directory->FindGroup(s.state.stakeholder_group_id);
    const StakeholderMember* mgr =
        (g != nullptr && !g->on_call_manager_id.empty()) ? directory->FindMember(g->on_call_manager_id)
                                                         : nullptr;
    if (mgr == nullptr || mgr->channels.empty()) {
      Emit(CascadeEventType::kManagerUnavailable, now, &s, nullptr, why);
    } else {
      std::uint64_t id = Enqueue(s, key, mgr->channels.front(), false, true, *mgr, now);
      Emit(CascadeEventType::kManagerEscalated, now, &s, &AttemptOf(attempts.at(id)), why);
    }
    EvaluateGroup(inc, now);
  }

  void ChannelFailed(Stake& s, std::uint64_t key, UnixMillis now, bool unreachable_primary) {
    ++s.state.consecutive_failures;
    if (s.state.consecutive_failures >= config.hard_failure_threshold) {
      Emit(CascadeEventType::kCascadeFailure, now, &s, nullptr,
           std::to_string(s.state.consecutive_failures) + " consecutive channel failures");
      return Escalate(s, key, now, "hard failure");
    }
    ++s.state.current_step;
    s.state.retry_count = 0;
    Emit(CascadeEventType::kChannelAdvanced, now, &s, nullptr, "after channel failure");
    if (unreachable_primary && config.parallel_voice_on_unreachable && !s.parallel_used &&
        s.member.HasAddress(Channel::kVoice) &&
        s.state.current_step < static_cast<int>(s.state.plan.size()) &&
        s.state.plan[static_cast<std::size_t>(s.state.current_step)] != Channel::kVoice &&
        s.state.plan.front() != Channel::kVoice) {
      s.parallel_used = true;
      std::uint64_t id = Enqueue(s, key, Channel::kVoice, true, false, s.member, now);
      Emit(CascadeEventType::kParallelVoiceStarted, now, &s, &AttemptOf(attempts.at(id)),
           "primary channel unreachable");
    }
    BeginStep(s, key, now);
  }

  void AcknowledgeStake(Stake& s, std::uint64_t key, std::optional<Channel> channel, UnixMillis now) {
    Incident& inc = IncidentOf(s);
    if (s.state.acknowledged || inc.state.status == IncidentStatus::kClosed) {
      Emit(CascadeEventType::kReceiptIgnored, now, &s, nullptr,
           s.state.acknowledged ? "already acknowledged" : "incident closed");
      return;
    }
    bool was_escalated = s.state.status == StakeholderStatus::kEscalated;
    Quiesce(s, key, now, "acknowledged");
    s.state.acknowledged = true;
    s.state.status = StakeholderStatus::kAcknowledged;
    if (was_escalated) --inc.state.escalated;
    ++inc.state.acknowledged;
    Emit(CascadeEventType::kStakeholderAcknowledged, now, &s, nullptr,
         channel ? std::string("on ") + ChannelName(*channel) : std::string("out of band"));
    EvaluateGroup(inc, now);
  }

  void EvaluateGroup(Incident& inc, UnixMillis now) {
    if (inc.state.status != IncidentStatus::kActive && inc.state.status != IncidentStatus::kNotSatisfied) return;
    if (inc.state.acknowledged >= inc.state.required_acks) {
      inc.state.status = IncidentStatus::kSatisfied;
      Emit(CascadeEventType::kGroupAcknowledged, now, nullptr, nullptr,
           std::to_string(inc.state.acknowledged) + " of " + std::to_string(inc.state.required_acks) +
               " required acknowledgements",
           &inc);
      for (std::uint64_t key : inc.stakes) {
        Stake& s = stakes.at(key);
        if (!Live(s)) continue;
        Quiesce(s, key, now, "group acknowledged");
        s.state.status = StakeholderStatus::kStopped;
        Emit(CascadeEventType::kStakeholderStopped, now, &s, nullptr, "group acknowledged");
      }
      return;
    }
    if (inc.state.status == IncidentStatus::kActive) {
      // While the incident is ACTIVE nobody is STOPPED, so every stakeholder
      // is live, acknowledged or escalated: no scan needed.
      bool any_live = static_cast<std::size_t>(inc.state.acknowledged + inc.state.escalated) <
                      inc.stakes.size();
      if (!any_live) {
        inc.state.status = IncidentStatus::kNotSatisfied;
        Emit(CascadeEventType::kGroupNotSatisfied, now, nullptr, nullptr,
             std::to_string(inc.state.acknowledged) + " of " + std::to_string(inc.state.required_acks) +
                 " required acknowledgements",
             &inc);
      }
    }
  }

  // Moves an attempt to `to` if that is forward; runs the cascade rules.
  void Settle(std::uint64_t id, AttemptStatus to, UnixMillis now, CascadeEventType event,
              const char* detail) {
    AttemptLoc& loc = attempts.at(id);
    std::uint64_t key = loc.stake;
    Stake& s = stakes.at(key);
    CascadeAttempt& a = s.state.attempts[loc.index];
    if (Rank(to) <= Rank(a.status)) {
      Emit(CascadeEventType::kReceiptIgnored, now, &s, &a,
           std::string(AttemptStatusName(to)) + " after " + AttemptStatusName(a.status));
      return;
    }
    if (a.status == AttemptStatus::kQueued) {
      EndpointNamed(a.endpoint).queue.erase(*loc.queued);
      loc.queued.reset();
    }
    LeavePending(id, loc);
    ArmSweep();
    a.status = to;
    a.settled_at = now;
    Emit(event, now, &s, &a, detail);
    if (to == AttemptStatus::kAcknowledged) {
      if (!a.escalation) AcknowledgeStake(s, key, a.channel, now);
      return;
    }
    if (!Live(s) || a.escalation || a.parallel || s.current_attempt != id) return;  // history only
    s.current_attempt = 0;
    switch (to) {
      case AttemptStatus::kDelivered:
        s.state.consecutive_failures = 0;
        SetStakeTimer(s, key, StakeTimer::kHold,
                      now + config.HoldFor(IncidentOf(s).state.trigger.severity, s.member.tier));
        break;
      case AttemptStatus::kFailed:
      case AttemptStatus::kTimeout:
        if (s.state.retry_count < config.max_retries_per_channel) {
          DurationMillis delay = config.RetryDelay(s.state.retry_count);
          ++s.state.retry_count;
          SetStakeTimer(s, key, StakeTimer::kRetry, now + delay);
          Emit(CascadeEventType::kRetryScheduled, now, &s, &a,
               "retry " + std::to_string(s.state.retry_count) + " in " + std::to_string(delay) + " ms");
        } else {
          ChannelFailed(s, key, now, false);
        }
        break;
      case AttemptStatus::kUnreachable:
        ChannelFailed(s, key, now, a.step == 0);
        break;
      default:
        break;
    }
  }

  void OnStakeTimer(std::uint64_t key, UnixMillis now) {
    auto it = stakes.find(key);
    if (it == stakes.end()) return;
    Stake& s = it->second;
    StakeTimer kind = s.timer_kind;
    s.timer = kNoTimer;
    s.timer_kind = StakeTimer::kNone;
    s.state.next_escalation_at.reset();
    if (!Live(s)) return;
    switch (kind) {
      case StakeTimer::kHold:
        Emit(CascadeEventType::kHoldExpired, now, &s, nullptr, "delivered, not acknowledged");
        ++s.state.current_step;
        s.state.retry_count = 0;
        Emit(CascadeEventType::kChannelAdvanced, now, &s, nullptr, "after hold time");
        BeginStep(s, key, now);
        break;
      case StakeTimer::kRetry:
      case StakeTimer::kQuiet:
        BeginStep(s, key, now);
        break;
      case StakeTimer::kNone:
        break;
    }
  }

  void OnSweep(UnixMillis now) {
    sweep_timer = kNoTimer;
    while (!pending.empty() && pending.begin()->first + config.reconcile_after_ms <= now) {
      std::uint64_t id = pending.begin()->second;
      pending.erase(pending.begin());
      Settle(id, AttemptStatus::kTimeout, now, CascadeEventType::kAttemptReconciled,
             "PENDING past the reconciliation limit");
    }
    ArmSweep();
  }

  void Forget(std::uint64_t serial) {
    auto it = incidents.find(serial);
    if (it == incidents.end()) return;
    for (std::uint64_t key : it->second.stakes) {
      Stake& s = stakes.at(key);
      for (const CascadeAttempt& a : s.state.attempts) {
        if (!a.provider_ref.empty()) refs.erase(a.provider_ref);
        auto loc = attempts.find(a.id);
        if (loc != attempts.end()) {
          wheel.Cancel(loc->second.receipt_timer);
          if (a.sent_at != 0) pending.erase({a.sent_at, a.id});
          attempts.erase(loc);
        }
      }
      wheel.Cancel(s.timer);
      stakes.erase(key);
    }
    wheel.Cancel(it->second.forget_timer);
    incident_ids.erase(it->second.state.trigger.incident_id);
    incidents.erase(it);
    ArmSweep();
  }
};

CascadeEngine::CascadeEngine(CascadeConfig config, const StakeholderDirectory* directory,
                             DirectoryProvider* provider, CascadeEventSink* sink, UnixMillis now)
    : impl_(std::make_unique<Impl>(std::move(config), directory, provider, sink, now)) {}

CascadeEngine::~CascadeEngine() = default;

const CascadeConfig& CascadeEngine::config() const { return impl_->config; }

Result<TriggerResult> CascadeEngine::Trigger(const CascadeTrigger& trigger, UnixMillis now) {
  Impl& m = *impl_;
  Status s = ValidateCascadeTrigger(trigger);
  if (!s.ok()) return s;
  auto existing = m.incident_ids.find(trigger.incident_id);
  if (existing != m.incident_ids.end()) {
    Impl::Incident& inc = m.incidents.at(existing->second);
    if (inc.state.status != IncidentStatus::kClosed ||
        now < inc.state.closed_at + m.config.idempotency_window_ms) {
      m.Emit(CascadeEventType::kTriggerDuplicate, now, nullptr, nullptr,
             std::string("existing cascade is ") + IncidentStatusName(inc.state.status), &inc);
      return TriggerResult{true, trigger.incident_id};
    }
    m.Forget(existing->second);
  }
  const StakeholderGroup* group = m.directory->FindGroup(trigger.stakeholder_group_id);
  if (group == nullptr) return NotFound("stakeholderGroupId: unknown stakeholder group");

  std::uint64_t serial = m.next_id++;
  Impl::Incident& inc = m.incidents[serial];
  m.incident_ids[trigger.incident_id] = serial;
  inc.state.trigger = trigger;
  inc.state.started_at = now;
  inc.state.member_ids = group->member_ids;
  inc.state.required_acks = group->ack_policy.Required(static_cast<int>(group->member_ids.size()));
  m.Emit(CascadeEventType::kCascadeStarted, now, nullptr, nullptr,
         std::string(SeverityName(trigger.severity)) + ", " + std::to_string(group->member_ids.size()) +
             " stakeholders",
         &inc);
  // After one failed live lookup the directory is treated as down for the
  // rest of this trigger: a mass activation must not wait N timeouts.
  DirectoryProvider* provider = m.provider;
  std::string outage_reason;
  for (const std::string& member_id : group->member_ids) {
    Result<ResolvedContact> contact =
        ResolveContact(*m.directory, provider, member_id, m.config.directory_timeout_ms);
    if (contact.ok() && provider == nullptr && m.provider != nullptr) {
      contact->stale_contact_data = true;
      contact->stale_reason = outage_reason + " (earlier lookup in this trigger)";
    } else if (contact.ok() && contact->stale_contact_data &&
               contact->stale_reason.rfind("directory lookup failed", 0) == 0) {
      provider = nullptr;
      outage_reason = contact->stale_reason;
    }
    std::uint64_t key = m.next_id++;
    Impl::Stake& st = m.stakes[key];
    st.incident = serial;
    st.state.incident_id = trigger.incident_id;
    st.state.stakeholder_group_id = trigger.stakeholder_group_id;
    st.state.member_id = member_id;
    inc.stakes.push_back(key);
    if (!contact.ok()) {  // cannot happen for a validated directory; be safe
      st.state.status = StakeholderStatus::kEscalated;
      ++inc.state.escalated;
      m.Emit(CascadeEventType::kManagerUnavailable, now, &st, nullptr, "member unknown");
      continue;
    }
    st.member = contact->member;
    st.state.stale_contact_data = contact->stale_contact_data;
    for (Channel c : st.member.channels) {
      if (st.member.HasAddress(c)) st.state.plan.push_back(c);
    }
    if (st.state.stale_contact_data) {
      m.Emit(CascadeEventType::kContactDataStale, now, &st, nullptr, contact->stale_reason);
    }
  }
  for (std::uint64_t key : inc.stakes) {
    Impl::Stake& st = m.stakes.at(key);
    if (st.state.status == StakeholderStatus::kActive) m.BeginStep(st, key, now);
  }
  m.EvaluateGroup(inc, now);
  return TriggerResult{false, trigger.incident_id};
}

std::vector<OutboundMessage> CascadeEngine::TakeOutbound(UnixMillis now) {
  Impl& m = *impl_;
  // Collect per endpoint, then interleave by priority across endpoints.
  std::vector<std::pair<QueueKey, OutboundMessage>> out;
  for (auto& [name, ep] : m.endpoints) {
    while (!ep.queue.empty() && ep.throttle.ReadyAt() <= now && ep.throttle.TryAcquire(now)) {
      QueueKey key = *ep.queue.begin();
      ep.queue.erase(ep.queue.begin());
      std::uint64_t id = std::get<2>(key);
      Impl::AttemptLoc& loc = m.attempts.at(id);
      loc.queued.reset();
      Impl::Stake& st = m.stakes.at(loc.stake);
      CascadeAttempt& a = st.state.attempts[loc.index];
      Impl::Incident& inc = m.IncidentOf(st);
      a.status = AttemptStatus::kSent;
      a.sent_at = now;
      m.pending.insert({now, id});
      if (m.config.receipt_timeout_ms > 0) {
        loc.receipt_timer = m.wheel.Start(now + m.config.receipt_timeout_ms, Tag(TimerKind::kReceipt, id));
      }
      OutboundMessage msg;
      msg.message_id = id;
      msg.incident_id = st.state.incident_id;
      msg.member_id = st.state.member_id;
      msg.channel = a.channel;
      msg.endpoint = name;
      msg.severity = inc.state.trigger.severity;
      msg.escalation = a.escalation;
      if (a.escalation) {
        const StakeholderGroup* g = m.directory->FindGroup(st.state.stakeholder_group_id);
        const StakeholderMember* mgr = g ? m.directory->FindMember(g->on_call_manager_id) : nullptr;
        msg.address = mgr ? mgr->Address(a.channel) : std::string();
        msg.text = "ESCALATION " + std::string(SeverityName(msg.severity)) + " incident " +
                   msg.incident_id + ": stakeholder " + msg.member_id + " has not acknowledged. " +
                   RenderMessage(inc.state.trigger.message_template, inc.state.trigger.variables);
      } else {
        msg.address = st.member.Address(a.channel);
        msg.text = RenderMessage(inc.state.trigger.message_template, inc.state.trigger.variables);
      }
      m.Emit(CascadeEventType::kAttemptSent, now, &st, &a, name);
      out.emplace_back(key, std::move(msg));
    }
  }
  m.ArmSweep();
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
    return std::get<0>(x.first) < std::get<0>(y.first);
  });
  std::vector<OutboundMessage> result;
  result.reserve(out.size());
  for (auto& p : out) result.push_back(std::move(p.second));
  return result;
}

Status CascadeEngine::OnSendResult(std::uint64_t message_id, const SendResult& result, UnixMillis now) {
  Impl& m = *impl_;
  auto it = m.attempts.find(message_id);
  if (it == m.attempts.end()) return NotFound("message_id: unknown message");
  Impl::AttemptLoc& loc = it->second;
  Impl::Stake& st = m.stakes.at(loc.stake);
  CascadeAttempt& a = st.state.attempts[loc.index];
  switch (result.kind) {
    case SendResult::Kind::kAccepted:
      if (!result.provider_ref.empty()) {
        a.provider_ref = result.provider_ref;
        m.refs[result.provider_ref] = message_id;
      }
      return Status::Ok();
    case SendResult::Kind::kThrottled: {
      if (a.status != AttemptStatus::kSent) return Status::Ok();
      DurationMillis wait = result.retry_after_ms > 0 ? result.retry_after_ms : m.config.default_retry_after_ms;
      Impl::Endpoint& ep = m.EndpointNamed(a.endpoint);
      ep.throttle.PauseUntil(now + wait);
      m.LeavePending(message_id, loc);
      m.ArmSweep();
      a.status = AttemptStatus::kQueued;
      a.sent_at = 0;
      bool live = !a.escalation ? m.Live(st) : (m.IncidentOf(st).state.status != IncidentStatus::kClosed);
      if (!live) {
        a.status = AttemptStatus::kCancelled;
        a.settled_at = now;
        m.Emit(CascadeEventType::kMessageCancelled, now, &st, &a, "throttled after stop");
        return Status::Ok();
      }
      // Back at the head of its priority class: the original sequence number.
      int priority = a.escalation ? 0 : static_cast<int>(m.IncidentOf(st).state.trigger.severity);
      QueueKey qk{priority, 0, message_id};
      ep.queue.insert(qk);
      loc.queued = qk;
      m.Emit(CascadeEventType::kAttemptThrottled, now, &st, &a,
             "endpoint paused " + std::to_string(wait) + " ms");
      return Status::Ok();
    }
    case SendResult::Kind::kDelivered:
      m.Settle(message_id, AttemptStatus::kDelivered, now, CascadeEventType::kAttemptDelivered, "on send");
      return Status::Ok();
    case SendResult::Kind::kFailed:
      m.Settle(message_id, AttemptStatus::kFailed, now, CascadeEventType::kAttemptFailed, "on send");
      return Status::Ok();
    case SendResult::Kind::kUnreachable:
      m.Settle(message_id, AttemptStatus::kUnreachable, now, CascadeEventType::kAttemptUnreachable, "on send");
      return Status::Ok();
  }
  return InvalidArgument("result: unknown kind");
}

Status CascadeEngine::OnReceipt(std::uint64_t message_id, AttemptStatus status, UnixMillis now) {
  Impl& m = *impl_;
  if (m.attempts.find(message_id) == m.attempts.end()) return NotFound("message_id: unknown message");
  switch (status) {
    case AttemptStatus::kSent:
      m.Settle(message_id, status, now, CascadeEventType::kAttemptSent, "receipt");
      return Status::Ok();
    case AttemptStatus::kDelivered:
      m.Settle(message_id, status, now, CascadeEventType::kAttemptDelivered, "receipt");
      return Status::Ok();
    case AttemptStatus::kAcknowledged:
      m.Settle(message_id, status, now, CascadeEventType::kStakeholderAcknowledged, "receipt");
      return Status::Ok();
    case AttemptStatus::kFailed:
      m.Settle(message_id, status, now, CascadeEventType::kAttemptFailed, "receipt");
      return Status::Ok();
    case AttemptStatus::kUnreachable:
      m.Settle(message_id, status, now, CascadeEventType::kAttemptUnreachable, "receipt");
      return Status::Ok();
    default:
      return InvalidArgument("status: a receipt is PENDING, DELIVERED, ACKNOWLEDGED, FAILED or UNREACHABLE");
  }
}

Status CascadeEngine::OnProviderReceipt(std::string_view provider_ref, AttemptStatus status, UnixMillis now) {
  auto it = impl_->refs.find(std::string(provider_ref));
  if (it == impl_->refs.end()) return NotFound("provider_ref: unknown provider reference");
  return OnReceipt(it->second, status, now);
}

Status CascadeEngine::Acknowledge(std::string_view incident_id, std::string_view member_id,
                                  std::optional<Channel> channel, UnixMillis now) {
  Impl& m = *impl_;
  auto it = m.incident_ids.find(incident_id);
  if (it == m.incident_ids.end()) return NotFound("incident_id: unknown incident");
  for (std::uint64_t key : m.incidents.at(it->second).stakes) {
    Impl::Stake& st = m.stakes.at(key);
    if (st.state.member_id == member_id) {
      m.AcknowledgeStake(st, key, channel, now);
      return Status::Ok();
    }
  }
  return NotFound("member_id: not a stakeholder of this incident");
}

Status CascadeEngine::CloseIncident(std::string_view incident_id, UnixMillis now) {
  Impl& m = *impl_;
  auto it = m.incident_ids.find(incident_id);
  if (it == m.incident_ids.end()) return NotFound("incident_id: unknown incident");
  std::uint64_t serial = it->second;
  Impl::Incident& inc = m.incidents.at(serial);
  if (inc.state.status == IncidentStatus::kClosed) return Status::Ok();
  for (std::uint64_t key : inc.stakes) {
    Impl::Stake& st = m.stakes.at(key);
    // Cancel everything still queued, escalations included.
    m.Quiesce(st, key, now, "incident closed");
    if (m.Live(st)) {
      st.state.status = StakeholderStatus::kStopped;
      m.Emit(CascadeEventType::kStakeholderStopped, now, &st, nullptr, "incident closed");
    }
  }
  m.ArmSweep();
  inc.state.status = IncidentStatus::kClosed;
  inc.state.closed_at = now;
  m.Emit(CascadeEventType::kIncidentClosed, now, nullptr, nullptr, "closed", &inc);
  inc.forget_timer = m.wheel.Start(now + m.config.idempotency_window_ms, Tag(TimerKind::kForget, serial));
  return Status::Ok();
}

void CascadeEngine::OnTimer(UnixMillis now) {
  Impl& m = *impl_;
  m.wheel.Advance(now, [&](TimerId id, std::uint64_t tag, UnixMillis) {
    auto kind = static_cast<TimerKind>(tag >> 56);
    std::uint64_t key = tag & ((std::uint64_t{1} << 56) - 1);
    switch (kind) {
      case TimerKind::kStakeholder: {
        auto it = m.stakes.find(key);
        if (it != m.stakes.end() && it->second.timer == id) m.OnStakeTimer(key, now);
        break;
      }
      case TimerKind::kReceipt: {
        auto it = m.attempts.find(key);
        if (it == m.attempts.end() || it->second.receipt_timer != id) break;
        it->second.receipt_timer = kNoTimer;
        m.Settle(key, AttemptStatus::kTimeout, now, CascadeEventType::kChannelTimeout,
                 "no receipt within the receipt timeout");
        break;
      }
      case TimerKind::kSweep:
        if (m.sweep_timer == id) m.OnSweep(now);
        break;
      case TimerKind::kForget:
        m.Forget(key);
        break;
    }
  });
}

std::optional<UnixMillis> CascadeEngine::NextDeadline() const {
  const Impl& m = *impl_;
  std::optional<UnixMillis> best = m.wheel.NextDeadline();
  for (const auto& [name, ep] : m.endpoints) {
    if (ep.queue.empty()) continue;
    UnixMillis at = ep.throttle.ReadyAt();
    if (!best || at < *best) best = at;
  }
  return best;
}

const IncidentCascade* CascadeEngine::FindIncident(std::string_view incident_id) const {
  auto it = impl_->incident_ids.find(incident_id);
  return it == impl_->incident_ids.end() ? nullptr : &impl_->incidents.at(it->second).state;
}

const StakeholderCascade* CascadeEngine::FindStakeholder(std::string_view incident_id,
                                                         std::string_view member_id) const {
  auto it = impl_->incident_ids.find(incident_id);
  if (it == impl_->incident_ids.end()) return nullptr;
  for (std::uint64_t key : impl_->incidents.at(it->second).stakes) {
    const auto& st = impl_->stakes.at(key);
    if (st.state.member_id == member_id) return &st.state;
  }
  return nullptr;
}

const CascadeAttempt* CascadeEngine::FindAttempt(std::uint64_t message_id) const {
  auto it = impl_->attempts.find(message_id);
  if (it == impl_->attempts.end()) return nullptr;
  return &impl_->stakes.at(it->second.stake).state.attempts[it->second.index];
}

std::size_t CascadeEngine::QueuedCount(std::string_view endpoint) const {
  auto it = impl_->endpoints.find(endpoint);
  return it == impl_->endpoints.end() ? 0 : it->second.queue.size();
}

std::size_t CascadeEngine::PendingTimerCount() const { return impl_->wheel.size(); }

std::vector<std::string> CascadeEngine::IncidentIds() const {
  std::vector<std::string> ids;
  ids.reserve(impl_->incident_ids.size());
  for (const auto& entry : impl_->incident_ids) ids.push_back(entry.first);
  return ids;
}

}  // namespace lifeline
