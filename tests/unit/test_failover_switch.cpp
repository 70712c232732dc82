#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/failover_switch.hpp"
#include "support/allocation_counter.hpp"

using lifeline::CallEntry;
using lifeline::CallEntryDecision;
using lifeline::ChannelLease;
using lifeline::FailoverCause;
using lifeline::FailoverEventKind;
using lifeline::FailoverEventSink;
using lifeline::FailoverStateSource;
using lifeline::FailoverSwitch;
using lifeline::FailoverSwitchConfig;
using lifeline::FailoverTransition;
using lifeline::ForwardingFailoverStateSource;
using lifeline::ManualClock;
using lifeline::Result;
using lifeline::RoutingMode;
using lifeline::StalePolicy;
using lifeline::Status;
using lifeline::StatusCode;
using lifeline::UnixMillis;
using lifeline::testing::ThreadAllocations;

namespace {

constexpr UnixMillis kT0 = 1'700'000'000'000;
constexpr RoutingMode N = RoutingMode::kNormal;
constexpr RoutingMode F = RoutingMode::kFailover;

// An event with its reason copied (the view is valid only during the call).
struct Event {
  FailoverEventKind kind;
  FailoverCause cause;
  RoutingMode from;
  RoutingMode to;
  UnixMillis at;
  std::uint64_t sequence;
  std::string reason;
  UnixMillis expires_at;
  StalePolicy policy;
};

class RecordingSink : public FailoverEventSink {
 public:
  void OnTransition(const FailoverTransition& e) override {
    events.push_back({e.kind, e.cause, e.from, e.to, e.at, e.sequence, std::string(e.reason),
                      e.expires_at, e.stale_policy});
  }
  // Returns and forgets the events so far.
  std::vector<Event> Take() {
    std::vector<Event> out;
    out.swap(events);
    return out;
  }
  std::vector<Event> events;
};

std::unique_ptr<FailoverSwitch> Make(const FailoverSwitchConfig& config, FailoverEventSink* sink,
                                     UnixMillis now = kT0) {
  auto r = FailoverSwitch::Create(config, sink, now);
  REQUIRE(r.ok());
  return std::move(r).value();
}

// A config with flap protection and staleness out of the way unless a test
// turns them on.
FailoverSwitchConfig Plain() {
  FailoverSwitchConfig c;
  c.stale_after_ms = 0;
  c.min_dwell_ms = 0;
  c.recovery_reads = 1;
  return c;
}

void RequireOk(const Status& s) {
  INFO(s.message());
  REQUIRE(s.ok());
}

void CheckModeChanged(const Event& e, FailoverCause cause, RoutingMode from, RoutingMode to,
                      UnixMillis at) {
  CHECK(e.kind == FailoverEventKind::kModeChanged);
  CHECK(e.cause == cause);
  CHECK(e.from == from);
  CHECK(e.to == to);
  CHECK(e.at == at);
}

}  // namespace

TEST_CASE("config defaults validate, and every field is range-checked") {
  FailoverSwitchConfig c;
  CHECK(c.initial_mode == N);
  CHECK(c.stale_after_ms == 30'000);
  CHECK(c.stale_policy == StalePolicy::kKeepLastKnown);
  CHECK(c.min_dwell_ms == 60'000);
  CHECK(c.recovery_reads == 3);
  CHECK(c.max_channels == 0);
  CHECK(c.Validate().ok());

  auto refused = [](auto mutate, const char* message) {
    FailoverSwitchConfig bad;
    mutate(bad);
    Status s = bad.Validate();
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message() == message);
    auto r = FailoverSwitch::Create(bad, nullptr, kT0);
    CHECK_FALSE(r.ok());
    CHECK(r.status().message() == message);
  };
  refused([](auto& b) { b.initial_mode = static_cast<RoutingMode>(2); },
          "initial_mode must be NORMAL or FAILOVER");
  refused([](auto& b) { b.stale_after_ms = -1; }, "stale_after_ms must be between 0 and 30 days");
  refused([](auto& b) { b.stale_after_ms = 30LL * 86'400'000 + 1; },
          "stale_after_ms must be between 0 and 30 days");
  refused([](auto& b) { b.stale_policy = static_cast<StalePolicy>(3); },
          "stale_policy must be keep_last_known, assume_failover or assume_normal");
  refused([](auto& b) { b.min_dwell_ms = -5; }, "min_dwell_ms must be between 0 and 30 days");
  refused([](auto& b) { b.recovery_reads = 0; }, "recovery_reads must be between 1 and 10000");
  refused([](auto& b) { b.recovery_reads = 10'001; }, "recovery_reads must be between 1 and 10000");
  FailoverSwitchConfig edge;
  edge.stale_after_ms = 30LL * 86'400'000;
  edge.min_dwell_ms = 0;
  edge.recovery_reads = 10'000;
  CHECK(edge.Validate().ok());
}

TEST_CASE("names and parsing") {
  CHECK(std::string(lifeline::RoutingModeName(N)) == "NORMAL");
  CHECK(std::string(lifeline::RoutingModeName(F)) == "FAILOVER");
  CHECK(std::string(lifeline::RoutingModeName(static_cast<RoutingMode>(9))) == "unknown");
  CHECK(*lifeline::ParseRoutingMode("FAILOVER") == F);
  CHECK(*lifeline::ParseRoutingMode(" failover\n") == F);
  CHECK(*lifeline::ParseRoutingMode("Normal") == N);
  CHECK(lifeline::ParseRoutingMode("FAIL").status().message() ==
        "routing mode must be \"NORMAL\" or \"FAILOVER\"");
  CHECK_FALSE(lifeline::ParseRoutingMode("").ok());
  CHECK(*lifeline::ParseStalePolicy("assume_failover") == StalePolicy::kAssumeFailover);
  CHECK(*lifeline::ParseStalePolicy("keep_last_known") == StalePolicy::kKeepLastKnown);
  CHECK(*lifeline::ParseStalePolicy("assume_normal") == StalePolicy::kAssumeNormal);
  CHECK_FALSE(lifeline::ParseStalePolicy("Assume_Normal").ok());
  CHECK(std::string(lifeline::CallEntryDecisionName(CallEntryDecision::kRejectBusy)) == "reject_busy");
  CHECK(std::string(lifeline::CallEntryDecisionName(CallEntryDecision::kFailoverFlow)) == "failover_flow");
  CHECK(std::string(lifeline::CallEntryDecisionName(CallEntryDecision::kNormalRouting)) == "normal_routing");
  CHECK(std::string(lifeline::FailoverCauseName(FailoverCause::kStaleFailsafe)) == "stale_failsafe");
  CHECK(std::string(lifeline::FailoverCauseName(FailoverCause::kPushExpired)) == "push_expired");
  CHECK(std::string(lifeline::FailoverCauseName(FailoverCause::kPushCleared)) == "push_cleared");
  CHECK(std::string(lifeline::FailoverCauseName(FailoverCause::kRecovery)) == "recovery");
  CHECK(std::string(lifeline::FailoverCauseName(FailoverCause::kRead)) == "read");
  CHECK(std::string(lifeline::FailoverCauseName(FailoverCause::kPush)) == "push");
  CHECK(std::string(lifeline::FailoverEventKindName(FailoverEventKind::kSourceFresh)) == "source_fresh");
  CHECK(std::string(lifeline::FailoverEventKindName(FailoverEventKind::kOverrideEnded)) == "override_ended");
  CHECK(std::string(lifeline::StalePolicyName(static_cast<StalePolicy>(7))) == "unknown");
}

TEST_CASE("a new switch is in its initial mode with nothing scheduled") {
  RecordingSink sink;
  auto sw = Make(Plain(), &sink);
  CHECK(sw->Mode(kT0) == N);
  CallEntry e = sw->Enter(kT0);
  CHECK(e.decision == CallEntryDecision::kNormalRouting);
  CHECK_FALSE(e.lease.held());
  CHECK(sw->NextDeadline() == FailoverSwitch::kNoDeadline);
  CHECK(sink.events.empty());

  FailoverSwitchConfig f = Plain();
  f.initial_mode = F;
  auto sw2 = Make(f, &sink);
  CHECK(sw2->Mode(kT0) == F);
  CHECK(sw2->Enter(kT0).decision == CallEntryDecision::kFailoverFlow);
  CHECK(sw2->Stats().mode_since == kT0);
  CHECK(sink.events.empty());
}

TEST_CASE("a push without expiry switches at once and overrides reads") {
  RecordingSink sink;
  auto sw = Make(Plain(), &sink);
  RequireOk(sw->Push(F, "synthetic checks failing", 0, kT0 + 10));
  CHECK(sw->Mode(kT0 + 10) == F);
  auto ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == FailoverEventKind::kOverrideSet);
  CHECK(ev[0].cause == FailoverCause::kPush);
  CHECK(ev[0].from == N);
  CHECK(ev[0].to == N);
  CHECK(ev[0].reason == "synthetic checks failing");
  CHECK(ev[0].expires_at == 0);
  CHECK(ev[0].sequence == 1);
  CheckModeChanged(ev[1], FailoverCause::kPush, N, F, kT0 + 10);
  CHECK(ev[1].reason == "synthetic checks failing");
  CHECK(ev[1].sequence == 2);
  CHECK(sw->NextDeadline() == FailoverSwitch::kNoDeadline);

  // Reads do not move a pushed mode, however many.
  for (int i = 0; i < 10; ++i) RequireOk(sw->ObserveRead(N, kT0 + 100 + i));
  CHECK(sw->Mode(kT0 + 200) == F);
  CHECK(sink.Take().empty());
  CHECK(sw->Stats().source_mode == N);
  CHECK(sw->Stats().override_active);

  // A push that confirms the mode is reported but is not a transition.
  RequireOk(sw->Push(F, "still failing", 0, kT0 + 300));
  ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == FailoverEventKind::kOverrideSet);
  CHECK(ev[0].reason == "still failing");

  // Another push replaces it.
  RequireOk(sw->Push(N, "all clear", 0, kT0 + 400));
  ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CheckModeChanged(ev[1], FailoverCause::kPush, F, N, kT0 + 400);
  CHECK(ev[1].reason == "all clear");
  auto st = sw->Stats();
  CHECK(st.pushes == 3);
  CHECK(st.transitions == 2);
  CHECK(st.transitions_to_failover == 1);
  CHECK(st.transitions_to_normal == 1);
  CHECK(st.mode_since == kT0 + 400);
  CHECK(st.override_mode == N);
}

TEST_CASE("a push with an expiry reverts to the source's mode when it expires") {
  RecordingSink sink;
  auto sw = Make(Plain(), &sink);
  const UnixMillis expiry = kT0 + 60'000;
  RequireOk(sw->Push(F, "maintenance window", expiry, kT0));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].expires_at == expiry);
  CHECK(sw->NextDeadline() == expiry);
  CHECK(sw->Stats().override_expires_at == expiry);

  // The call path honours the expiry to the millisecond, before OnTimer runs.
  CHECK(sw->Mode(expiry - 1) == F);
  CHECK(sw->Mode(expiry) == N);
  CHECK(sw->Enter(expiry).decision == CallEntryDecision::kNormalRouting);
  CHECK(sink.events.empty());  // the event waits for the writer side

  RequireOk(sw->OnTimer(expiry - 1));
  CHECK(sink.events.empty());
  RequireOk(sw->OnTimer(expiry + 5));
  ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == FailoverEventKind::kOverrideEnded);
  CHECK(ev[0].cause == FailoverCause::kPushExpired);
  CHECK(ev[0].reason == "maintenance window");
  CHECK(ev[0].from == F);
  CHECK(ev[0].to == F);
  CheckModeChanged(ev[1], FailoverCause::kPushExpired, F, N, expiry + 5);
  CHECK(ev[1].reason == "maintenance window");
  CHECK(sw->NextDeadline() == FailoverSwitch::kNoDeadline);
  CHECK_FALSE(sw->Stats().override_active);
  CHECK(sw->Mode(expiry + 5) == N);
}

TEST_CASE("an expiring push reverts to FAILOVER when the source says FAILOVER") {
  RecordingSink sink;
  auto sw = Make(Plain(), &sink);
  RequireOk(sw->ObserveRead(F, kT0));
  CHECK(sw->Mode(kT0) == F);
  sink.Take();
  RequireOk(sw->Push(N, "operator test call", kT0 + 1000, kT0 + 1));
  CHECK(sw->Mode(kT0 + 999) == N);
  CHECK(sw->Mode(kT0 + 1000) == F);  // the call path sees the source's mode
  // The source keeps being tracked under the push: a recovery read now
  // changes what the push reverts to.
  RequireOk(sw->ObserveRead(N, kT0 + 500));
  CHECK(sw->Stats().source_mode == N);
  CHECK(sw->Mode(kT0 + 1000) == N);
  RequireOk(sw->ObserveRead(F, kT0 + 600));
  CHECK(sw->Mode(kT0 + 1000) == F);
  sink.Take();
  RequireOk(sw->OnTimer(kT0 + 1000));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == FailoverEventKind::kOverrideEnded);
  CheckModeChanged(ev[1], FailoverCause::kPushExpired, N, F, kT0 + 1000);
}

TEST_CASE("an expiry that the source agrees with ends the override without a transition") {
  RecordingSink sink;
  auto sw = Make(Plain(), &sink);
  RequireOk(sw->Push(N, "confirm normal", kT0 + 10, kT0));
  CHECK(sink.Take().size() == 1);  // override_set only: already NORMAL
  RequireOk(sw->ObserveRead(N, kT0 + 20));  // the writer applies the expiry first
  auto ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == FailoverEventKind::kOverrideEnded);
  CHECK(ev[0].at == kT0 + 20);
  CHECK(sw->Stats().transitions == 0);
}

TEST_CASE("push arguments are validated") {
  RecordingSink sink;
  auto sw = Make(Plain(), &sink);
  Status s = sw->Push(static_cast<RoutingMode>(2), "x", 0, kT0);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(s.message() == "mode must be 0 (NORMAL) or 1 (FAILOVER)");
  s = sw->Push(F, std::string(257, 'r'), 0, kT0);
  CHECK(s.message() == "reason is longer than 256 bytes");
  CHECK(sw->Push(F, std::string(256, 'r'), 0, kT0).ok());
  s = sw->Push(F, "x", kT0, kT0);
  CHECK(s.message() == "expires_at_ms must be 0 (none) or a time after now, before year 2100");
  CHECK(sw->Push(F, "x", kT0 - 1, kT0).code() == StatusCode::kInvalidArgument);
  CHECK(sw->Push(F, "x", FailoverSwitch::kMaxExpiresAt + 1, kT0).code() ==
        StatusCode::kInvalidArgument);
  CHECK(sw->Push(F, "x", FailoverSwitch::kMaxExpiresAt, kT0).ok());
  CHECK(sw->ObserveRead(static_cast<RoutingMode>(-1), kT0).message() ==
        "mode must be 0 (NORMAL) or 1 (FAILOVER)");
  CHECK(sw->ClearPush(std::string(300, 'c'), kT0).message() == "reason is longer than 256 bytes");
  CHECK(sw->Stats().pushes == 2);  // refused pushes are not counted
}

TEST_CASE("ClearPush returns control to the source at once") {
  RecordingSink sink;
  auto sw = Make(Plain(), &sink);
  RequireOk(sw->ClearPush("nothing to clear", kT0));
  CHECK(sink.events.empty());
  RequireOk(sw->Push(F, "outage", 0, kT0));
  sink.Take();
  RequireOk(sw->ClearPush("incident closed", kT0 + 50));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == FailoverEventKind::kOverrideEnded);
  CHECK(ev[0].cause == FailoverCause::kPushCleared);
  CHECK(ev[0].reason == "incident closed");
  CheckModeChanged(ev[1], FailoverCause::kPushCleared, F, N, kT0 + 50);
  CHECK(sw->Mode(kT0 + 50) == N);
  CHECK_FALSE(sw->Stats().override_active);
}

TEST_CASE("one FAILOVER read enters FAILOVER at once") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.min_dwell_ms = 60'000;
  c.recovery_reads = 3;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(N, kT0 + 1));
  CHECK(sink.events.empty());
  RequireOk(sw->ObserveRead(F, kT0 + 2));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CheckModeChanged(ev[0], FailoverCause::kRead, N, F, kT0 + 2);
  CHECK(ev[0].reason == "source read");
  CHECK(sw->Mode(kT0 + 2) == F);
  // More FAILOVER reads change nothing.
  RequireOk(sw->ObserveRead(F, kT0 + 3));
  CHECK(sink.events.empty());
  CHECK(sw->Stats().reads == 3);
}

TEST_CASE("N consecutive healthy reads are needed to leave FAILOVER") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.recovery_reads = 3;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(F, kT0));
  sink.Take();
  RequireOk(sw->ObserveRead(N, kT0 + 1000));
  CHECK(sw->Stats().consecutive_healthy_reads == 1);
  RequireOk(sw->ObserveRead(N, kT0 + 2000));
  CHECK(sw->Mode(kT0 + 2000) == F);
  CHECK(sink.events.empty());
  RequireOk(sw->ObserveRead(N, kT0 + 3000));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CheckModeChanged(ev[0], FailoverCause::kRecovery, F, N, kT0 + 3000);
  CHECK(ev[0].reason == "source recovered");
  CHECK(sw->Mode(kT0 + 3000) == N);
}

TEST_CASE("a FAILOVER read or a failed read in the middle resets the count") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.recovery_reads = 3;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(F, kT0));
  RequireOk(sw->ObserveRead(N, kT0 + 1));
  RequireOk(sw->ObserveRead(N, kT0 + 2));
  RequireOk(sw->ObserveRead(F, kT0 + 3));
  CHECK(sw->Stats().consecutive_healthy_reads == 0);
  RequireOk(sw->ObserveRead(N, kT0 + 4));
  RequireOk(sw->ObserveRead(N, kT0 + 5));
  CHECK(sw->Mode(kT0 + 5) == F);
  RequireOk(sw->ObserveReadFailure(kT0 + 6));
  CHECK(sw->Stats().consecutive_healthy_reads == 0);
  CHECK(sw->Stats().read_failures == 1);
  RequireOk(sw->ObserveRead(N, kT0 + 7));
  RequireOk(sw->ObserveRead(N, kT0 + 8));
  CHECK(sw->Mode(kT0 + 8) == F);
  RequireOk(sw->ObserveRead(N, kT0 + 9));
  CHECK(sw->Mode(kT0 + 9) == N);
  auto ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CheckModeChanged(ev[0], FailoverCause::kRead, N, F, kT0);
  CheckModeChanged(ev[1], FailoverCause::kRecovery, F, N, kT0 + 9);
}

TEST_CASE("the dwell time holds FAILOVER, then OnTimer leaves it") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.min_dwell_ms = 60'000;
  c.recovery_reads = 2;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(F, kT0));
  sink.Take();
  RequireOk(sw->ObserveRead(N, kT0 + 1000));
  CHECK(sw->NextDeadline() == FailoverSwitch::kNoDeadline);  // not armed yet
  RequireOk(sw->ObserveRead(N, kT0 + 2000));
  CHECK(sw->Mode(kT0 + 2000) == F);
  CHECK(sw->NextDeadline() == kT0 + 60'000);
  RequireOk(sw->OnTimer(kT0 + 59'999));
  CHECK(sw->Mode(kT0 + 59'999) == F);
  CHECK(sink.events.empty());
  RequireOk(sw->OnTimer(kT0 + 60'000));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CheckModeChanged(ev[0], FailoverCause::kRecovery, F, N, kT0 + 60'000);
  CHECK(sw->NextDeadline() == FailoverSwitch::kNoDeadline);
}

TEST_CASE("a FAILOVER read disarms a pending recovery but does not extend the dwell") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.min_dwell_ms = 60'000;
  c.recovery_reads = 2;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(F, kT0));
  RequireOk(sw->ObserveRead(N, kT0 + 1000));
  RequireOk(sw->ObserveRead(N, kT0 + 2000));
  CHECK(sw->NextDeadline() == kT0 + 60'000);
  RequireOk(sw->ObserveRead(F, kT0 + 3000));
  CHECK(sw->NextDeadline() == FailoverSwitch::kNoDeadline);
  RequireOk(sw->OnTimer(kT0 + 60'000));
  CHECK(sw->Mode(kT0 + 60'000) == F);
  // After the dwell (still measured from kT0), two healthy reads suffice.
  RequireOk(sw->ObserveRead(N, kT0 + 61'000));
  CHECK(sw->Mode(kT0 + 61'000) == F);
  RequireOk(sw->ObserveRead(N, kT0 + 62'000));
  CHECK(sw->Mode(kT0 + 62'000) == N);
  auto ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CheckModeChanged(ev[1], FailoverCause::kRecovery, F, N, kT0 + 62'000);
}

TEST_CASE("re-entering FAILOVER right after a recovery is immediate") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.min_dwell_ms = 60'000;
  c.recovery_reads = 1;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(F, kT0));
  RequireOk(sw->ObserveRead(N, kT0 + 60'000));
  CHECK(sw->Mode(kT0 + 60'000) == N);
  RequireOk(sw->ObserveRead(F, kT0 + 60'001));
  CHECK(sw->Mode(kT0 + 60'001) == F);
  // ... and leaving again waits a full dwell from the new entry.
  RequireOk(sw->ObserveRead(N, kT0 + 60'002));
  CHECK(sw->Mode(kT0 + 60'002) == F);
  CHECK(sw->NextDeadline() == kT0 + 120'001);
  RequireOk(sw->OnTimer(kT0 + 120'001));
  CHECK(sw->Mode(kT0 + 120'001) == N);
  CHECK(sw->Stats().transitions == 4);
}

TEST_CASE("staleness with keep_last_known reports and keeps the mode") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.stale_after_ms = 30'000;
  c.stale_policy = StalePolicy::kKeepLastKnown;
  auto sw = Make(c, &sink);
  CHECK(sw->NextDeadline() == kT0 + 30'000);  // the clock starts at creation
  RequireOk(sw->ObserveRead(F, kT0 + 10'000));
  sink.Take();
  CHECK(sw->NextDeadline() == kT0 + 40'000);
  RequireOk(sw->OnTimer(kT0 + 39'999));
  CHECK(sink.events.empty());
  RequireOk(sw->OnTimer(kT0 + 40'000));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == FailoverEventKind::kSourceStale);
  CHECK(ev[0].cause == FailoverCause::kStaleFailsafe);
  CHECK(ev[0].policy == StalePolicy::kKeepLastKnown);
  CHECK(ev[0].from == F);
  CHECK(ev[0].to == F);
  CHECK(ev[0].at == kT0 + 40'000);
  CHECK(ev[0].reason == "source stale");
  CHECK(sw->Mode(kT0 + 40'000) == F);
  CHECK(sw->Stats().source_stale);
  CHECK(sw->Stats().stale_episodes == 1);
  CHECK(sw->NextDeadline() == FailoverSwitch::kNoDeadline);
  // Still stale later: no second event.
  RequireOk(sw->OnTimer(kT0 + 100'000));
  CHECK(sink.events.empty());
  // Fresh again.
  RequireOk(sw->ObserveRead(F, kT0 + 100'001));
  ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == FailoverEventKind::kSourceFresh);
  CHECK(ev[0].cause == FailoverCause::kRead);
  CHECK(ev[0].reason == "source answered again");
  CHECK_FALSE(sw->Stats().source_stale);
  CHECK(sw->NextDeadline() == kT0 + 130'001);
}

TEST_CASE("staleness with assume_failover enters FAILOVER, recovery then needs N reads") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.stale_after_ms = 30'000;
  c.stale_policy = StalePolicy::kAssumeFailover;
  c.min_dwell_ms = 10'000;
  c.recovery_reads = 2;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(N, kT0));
  RequireOk(sw->OnTimer(kT0 + 30'000));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == FailoverEventKind::kSourceStale);
  CHECK(ev[0].policy == StalePolicy::kAssumeFailover);
  CheckModeChanged(ev[1], FailoverCause::kStaleFailsafe, N, F, kT0 + 30'000);
  CHECK(ev[1].sequence == ev[0].sequence + 1);
  CHECK(sw->Enter(kT0 + 30'000).decision == CallEntryDecision::kFailoverFlow);

  // Fresh again with NORMAL: one read is not enough.
  RequireOk(sw->ObserveRead(N, kT0 + 35'000));
  ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == FailoverEventKind::kSourceFresh);
  CHECK(sw->Mode(kT0 + 35'000) == F);
  // The second healthy read is in time but the dwell runs until +40 000.
  RequireOk(sw->ObserveRead(N, kT0 + 36'000));
  CHECK(sw->Mode(kT0 + 36'000) == F);
  CHECK(sw->NextDeadline() == kT0 + 40'000);
  RequireOk(sw->OnTimer(kT0 + 40'000));
  ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CheckModeChanged(ev[0], FailoverCause::kRecovery, F, N, kT0 + 40'000);
}

TEST_CASE("staleness with assume_normal leaves FAILOVER once the dwell allows") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.stale_after_ms = 30'000;
  c.stale_policy = StalePolicy::kAssumeNormal;
  c.min_dwell_ms = 60'000;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(F, kT0));
  sink.Take();
  RequireOk(sw->OnTimer(kT0 + 30'000));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == FailoverEventKind::kSourceStale);
  CHECK(ev[0].policy == StalePolicy::kAssumeNormal);
  CHECK(sw->Mode(kT0 + 30'000) == F);
  CHECK(sw->NextDeadline() == kT0 + 60'000);
  RequireOk(sw->OnTimer(kT0 + 60'000));
  ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CheckModeChanged(ev[0], FailoverCause::kStaleFailsafe, F, N, kT0 + 60'000);
  CHECK(ev[0].reason == "source stale");
  CHECK(sw->NextDeadline() == FailoverSwitch::kNoDeadline);
  // Fresh with FAILOVER: straight back in.
  RequireOk(sw->ObserveRead(F, kT0 + 61'000));
  ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == FailoverEventKind::kSourceFresh);
  CheckModeChanged(ev[1], FailoverCause::kRead, N, F, kT0 + 61'000);
}

TEST_CASE("assume_normal after the dwell has passed applies with the stale event") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.stale_after_ms = 30'000;
  c.stale_policy = StalePolicy::kAssumeNormal;
  c.min_dwell_ms = 5'000;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(F, kT0));
  sink.Take();
  RequireOk(sw->OnTimer(kT0 + 30'000));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == FailoverEventKind::kSourceStale);
  CheckModeChanged(ev[1], FailoverCause::kStaleFailsafe, F, N, kT0 + 30'000);
}

TEST_CASE("regular reads keep the source fresh, failed reads do not") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.stale_after_ms = 30'000;
  auto sw = Make(c, &sink);
  for (int i = 1; i <= 10; ++i) {
    RequireOk(sw->ObserveRead(N, kT0 + i * 10'000));
    RequireOk(sw->OnTimer(kT0 + i * 10'000 + 5'000));
  }
  CHECK(sink.events.empty());
  CHECK(sw->NextDeadline() == kT0 + 130'000);
  RequireOk(sw->ObserveReadFailure(kT0 + 110'000));
  RequireOk(sw->ObserveReadFailure(kT0 + 120'000));
  CHECK(sw->NextDeadline() == kT0 + 130'000);
  RequireOk(sw->ObserveReadFailure(kT0 + 130'000));  // applies staleness first
  auto ev = sink.Take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == FailoverEventKind::kSourceStale);
  CHECK(sw->Stats().read_failures == 3);
}

TEST_CASE("a read that arrives after the staleness deadline reports stale, then fresh") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.stale_after_ms = 30'000;
  c.stale_policy = StalePolicy::kAssumeFailover;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(N, kT0 + 31'000));  // the host never called OnTimer
  auto ev = sink.Take();
  REQUIRE(ev.size() == 4);
  CHECK(ev[0].kind == FailoverEventKind::kSourceStale);
  CheckModeChanged(ev[1], FailoverCause::kStaleFailsafe, N, F, kT0 + 31'000);
  CHECK(ev[2].kind == FailoverEventKind::kSourceFresh);
  // recovery_reads = 1 and no dwell: this healthy read recovers at once.
  CheckModeChanged(ev[3], FailoverCause::kRecovery, F, N, kT0 + 31'000);
  for (std::size_t i = 0; i < ev.size(); ++i) CHECK(ev[i].sequence == i + 1);
}

TEST_CASE("staleness disabled schedules nothing") {
  RecordingSink sink;
  auto sw = Make(Plain(), &sink);
  RequireOk(sw->OnTimer(kT0 + 365LL * 86'400'000));
  CHECK(sink.events.empty());
  CHECK(sw->NextDeadline() == FailoverSwitch::kNoDeadline);
}

TEST_CASE("staleness under a push is reported, the push still decides") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.stale_after_ms = 30'000;
  c.stale_policy = StalePolicy::kAssumeFailover;
  auto sw = Make(c, &sink);
  RequireOk(sw->Push(N, "forced normal", 0, kT0));
  sink.Take();
  RequireOk(sw->OnTimer(kT0 + 30'000));
  auto ev = sink.Take();
  REQUIRE(ev.size() == 1);  // stale, and no transition: the push wins
  CHECK(ev[0].kind == FailoverEventKind::kSourceStale);
  CHECK(sw->Mode(kT0 + 30'000) == N);
  CHECK(sw->Stats().source_mode == F);
  RequireOk(sw->ClearPush("hand back", kT0 + 31'000));
  ev = sink.Take();
  REQUIRE(ev.size() == 2);
  CheckModeChanged(ev[1], FailoverCause::kPushCleared, N, F, kT0 + 31'000);
}

TEST_CASE("NextDeadline is the earliest of expiry, staleness and dwell") {
  FailoverSwitchConfig c = Plain();
  c.stale_after_ms = 30'000;
  c.min_dwell_ms = 20'000;
  c.recovery_reads = 1;
  auto sw = Make(c, nullptr);
  RequireOk(sw->ObserveRead(F, kT0));
  RequireOk(sw->ObserveRead(N, kT0 + 1'000));      // armed: dwell ends kT0 + 20 000
  CHECK(sw->NextDeadline() == kT0 + 20'000);
  RequireOk(sw->Push(F, "x", kT0 + 5'000, kT0 + 2'000));
  CHECK(sw->NextDeadline() == kT0 + 5'000);
  RequireOk(sw->OnTimer(kT0 + 5'000));
  CHECK(sw->NextDeadline() == kT0 + 20'000);
  RequireOk(sw->OnTimer(kT0 + 20'000));
  CHECK(sw->Mode(kT0 + 20'000) == N);
  CHECK(sw->NextDeadline() == kT0 + 31'000);       // staleness from the last read
}

TEST_CASE("time never runs backwards inside the switch") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.stale_after_ms = 30'000;
  auto sw = Make(c, &sink);
  RequireOk(sw->ObserveRead(F, kT0 + 10'000));
  RequireOk(sw->ObserveRead(F, kT0 + 5'000));  // treated as kT0 + 10 000
  CHECK(sw->Stats().last_read_at == kT0 + 10'000);
  CHECK(sw->NextDeadline() == kT0 + 40'000);
  // An expiry checked against the clamped time.
  CHECK(sw->Push(N, "x", kT0 + 9'000, kT0 + 1'000).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("admission control admits up to capacity, then REJECT_BUSY") {
  FailoverSwitchConfig c = Plain();
  c.max_channels = 3;
  auto sw = Make(c, nullptr);
  RequireOk(sw->Push(F, "outage", 0, kT0));
  std::vector<CallEntry> calls;
  for (int i = 0; i < 3; ++i) {
    calls.push_back(sw->Enter(kT0 + i));
    CHECK(calls.back().decision == CallEntryDecision::kFailoverFlow);
    CHECK(calls.back().lease.held());
  }
  CallEntry busy = sw->Enter(kT0 + 3);
  CHECK(busy.decision == CallEntryDecision::kRejectBusy);
  CHECK_FALSE(busy.lease.held());
  auto st = sw->Stats();
  CHECK(st.active_channels == 3);
  CHECK(st.peak_channels == 3);
  CHECK(st.failover_admissions == 3);
  CHECK(st.rejected_busy == 1);
  CHECK(st.max_channels == 3);

  CHECK(calls[1].lease.Release());  // one caller hangs up
  CHECK(sw->Stats().active_channels == 2);
  CallEntry next = sw->Enter(kT0 + 4);
  CHECK(next.decision == CallEntryDecision::kFailoverFlow);
  CHECK(sw->Enter(kT0 + 5).decision == CallEntryDecision::kRejectBusy);
  calls.clear();  // destructors release the rest (calls[1] already released)
  CHECK(sw->Stats().active_channels == 1);
  next.lease.Release();
  st = sw->Stats();
  CHECK(st.active_channels == 0);
  CHECK(st.peak_channels == 3);
  CHECK(st.rejected_busy == 2);
  CHECK(st.failover_admissions == 4);
}

TEST_CASE("NORMAL routing never takes a slot, unlimited capacity never rejects") {
  auto sw = Make(Plain(), nullptr);
  for (int i = 0; i < 100; ++i) CHECK(sw->Enter(kT0).decision == CallEntryDecision::kNormalRouting);
  CHECK(sw->Stats().active_channels == 0);
  CHECK(sw->Stats().failover_admissions == 0);
  RequireOk(sw->Push(F, "x", 0, kT0));
  std::vector<CallEntry> held;
  for (int i = 0; i < 1000; ++i) {
    held.push_back(sw->Enter(kT0));
    REQUIRE(held.back().decision == CallEntryDecision::kFailoverFlow);
  }
  CHECK(sw->Stats().active_channels == 1000);
  held.clear();
  CHECK(sw->Stats().active_channels == 0);
  CHECK(sw->Stats().peak_channels == 1000);
}

TEST_CASE("a lease is released exactly once on every path") {
  FailoverSwitchConfig c = Plain();
  c.max_channels = 2;
  c.initial_mode = F;
  auto sw = Make(c, nullptr);
  auto active = [&] { return sw->Stats().active_channels; };

  SECTION("double release") {
    CallEntry e = sw->Enter(kT0);
    CHECK(active() == 1);
    CHECK(e.lease.Release());
    CHECK_FALSE(e.lease.Release());
    CHECK_FALSE(e.lease.held());
    CHECK(active() == 0);
  }
  SECTION("destructor after release does not release again") {
    CallEntry other = sw->Enter(kT0);
    {
      CallEntry e = sw->Enter(kT0);
      CHECK(active() == 2);
      e.lease.Release();
      CHECK(active() == 1);
    }
    CHECK(active() == 1);
  }
  SECTION("error path: an exception unwinds the lease") {
    try {
      CallEntry e = sw->Enter(kT0);
      CHECK(active() == 1);
      throw std::runtime_error("media server error");
    } catch (const std::runtime_error&) {
    }
    CHECK(active() == 0);
  }
  SECTION("move construction transfers the slot") {
    CallEntry e = sw->Enter(kT0);
    ChannelLease moved(std::move(e.lease));
    CHECK_FALSE(e.lease.held());  // NOLINT(bugprone-use-after-move): testing it
    CHECK_FALSE(e.lease.Release());
    CHECK(moved.held());
    CHECK(active() == 1);
    CHECK(moved.Release());
    CHECK(active() == 0);
  }
  SECTION("move assignment releases the target's own slot first") {
    CallEntry a = sw->Enter(kT0);
    CallEntry b = sw->Enter(kT0);
    CHECK(active() == 2);
    a.lease = std::move(b.lease);
    CHECK(active() == 1);
    CHECK(a.lease.held());
    CHECK_FALSE(b.lease.held());  // NOLINT(bugprone-use-after-move)
    ChannelLease& self = a.lease;
    a.lease = std::move(self);  // self-move keeps it
    CHECK(a.lease.held());
    CHECK(active() == 1);
  }
  SECTION("a default lease holds nothing") {
    ChannelLease none;
    CHECK_FALSE(none.held());
    CHECK_FALSE(none.Release());
    CHECK(active() == 0);
  }
  SECTION("a lease outlives a switch back to NORMAL and is still counted") {
    CallEntry e = sw->Enter(kT0);
    RequireOk(sw->Push(N, "recovered", 0, kT0 + 1));
    CHECK(sw->Enter(kT0 + 1).decision == CallEntryDecision::kNormalRouting);
    CHECK(active() == 1);
    e.lease.Release();
    CHECK(active() == 0);
  }
  SECTION("two threads racing to release return one slot") {
    CallEntry e = sw->Enter(kT0);
    std::atomic<int> released{0};
    std::thread t1([&] { released += e.lease.Release() ? 1 : 0; });
    std::thread t2([&] { released += e.lease.Release() ? 1 : 0; });
    t1.join();
    t2.join();
    CHECK(released == 1);
    CHECK(active() == 0);
  }
}

namespace {

// Counts events and checks their sequence numbers, without keeping them.
class CountingSink : public FailoverEventSink {
 public:
  void OnTransition(const FailoverTransition& e) override {
    if (e.sequence != count + 1) ++out_of_order;
    ++count;
  }
  std::uint64_t count = 0;
  std::uint64_t out_of_order = 0;
};

}  // namespace

TEST_CASE("call entry from many threads never exceeds capacity while a writer flips modes") {
  constexpr std::uint32_t kCapacity = 8;
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 20'000;
  constexpr int kBurst = 10;  // each caller thread holds up to 10 calls, then hangs them all up
  FailoverSwitchConfig c = Plain();
  c.max_channels = kCapacity;
  CountingSink sink;
  auto sw = Make(c, &sink);
  ManualClock clock(kT0);

  std::atomic<int> holding{0};
  std::atomic<int> max_holding{0};
  std::atomic<long> normal{0}, failover{0}, busy{0};
  std::atomic<int> over_capacity{0};
  std::atomic<long> calls{0};
  std::atomic<int> flips{0};
  int min_flips = 0;  // callers keep going until the writer has flipped this often

  auto callers = [&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        std::vector<CallEntry> mine;
        mine.reserve(kBurst);
        for (int i = 0; i < kCallsPerThread || flips.load() < min_flips; ++i) {
          ++calls;
          CallEntry e = sw->Enter(clock.Now());
          switch (e.decision) {
            case CallEntryDecision::kNormalRouting: ++normal; break;
            case CallEntryDecision::kRejectBusy: ++busy; break;
            case CallEntryDecision::kFailoverFlow: {
              ++failover;
              const int h = ++holding;  // counted after the slot is taken
              if (h > static_cast<int>(kCapacity)) ++over_capacity;
              int m = max_holding.load();
              while (h > m && !max_holding.compare_exchange_weak(m, h)) {
              }
              mine.push_back(std::move(e));
              break;
            }
          }
          if (i % kBurst == kBurst - 1) {  // hang up: uncounted before the slot returns
            holding -= static_cast<int>(mine.size());
            for (std::size_t k = 0; k < mine.size(); k += 2) mine[k].lease.Release();
            mine.clear();  // the other half released by destructors
            std::this_thread::yield();  // let the writer in
          }
        }
        holding -= static_cast<int>(mine.size());
      });
    }
    for (auto& th : threads) th.join();
  };

  SECTION("modes flipping under the callers") {
    min_flips = 400;
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      for (int i = 0; !stop.load(); ++i) {
        Status s = sw->Push((i % 2) ? N : F, "flip", 0, clock.Advance(1));
        if (!s.ok()) over_capacity += 1000;  // surfaces as a failure below
        ++flips;
        std::this_thread::yield();
      }
    });
    callers();
    stop = true;
    writer.join();
    auto st = sw->Stats();
    // Every push was a transition and the events came in order without gaps.
    CHECK(st.transitions == st.pushes);
    CHECK(sink.count == st.pushes + st.transitions);
    CHECK(sink.out_of_order == 0);
    CHECK(st.transitions >= 400);
  }
  SECTION("FAILOVER throughout: every burst overflows the capacity") {
    RequireOk(sw->Push(F, "outage", 0, clock.Now()));
    callers();
    CHECK(normal == 0);
    CHECK(busy >= kThreads * (kCallsPerThread / kBurst) * (kBurst - static_cast<int>(kCapacity)));
  }

  auto st = sw->Stats();
  CHECK(over_capacity == 0);
  CHECK(max_holding <= static_cast<int>(kCapacity));
  CHECK(st.peak_channels <= kCapacity);
  CHECK(st.active_channels == 0);
  CHECK(holding == 0);
  CHECK(normal + failover + busy == calls);
  CHECK(calls >= kThreads * kCallsPerThread);
  CHECK(st.failover_admissions == static_cast<std::uint64_t>(failover.load()));
  CHECK(st.rejected_busy == static_cast<std::uint64_t>(busy.load()));
  CHECK(failover > 0);
}

namespace {

// A sink that tries to re-enter the switch from inside an event.
class ReentrantSink : public FailoverEventSink {
 public:
  void OnTransition(const FailoverTransition&) override {
    push_status = sw->Push(RoutingMode::kNormal, "from sink", 0, kT0);
    timer_status = sw->OnTimer(kT0);
    stats_mode = sw->Stats().mode;  // reading is fine
    deadline = sw->NextDeadline();
    entry = sw->Enter(kT0).decision;
  }
  FailoverSwitch* sw = nullptr;
  Status push_status, timer_status;
  RoutingMode stats_mode = RoutingMode::kNormal;
  UnixMillis deadline = 0;
  CallEntryDecision entry = CallEntryDecision::kNormalRouting;
};

}  // namespace

TEST_CASE("writers called from inside the sink are refused with kState, reads work") {
  ReentrantSink sink;
  auto sw = Make(Plain(), &sink);
  sink.sw = sw.get();
  RequireOk(sw->Push(F, "outage", 0, kT0));
  CHECK(sink.push_status.code() == StatusCode::kState);
  CHECK(sink.push_status.message() ==
        "Push: a writer of the failover switch cannot be called from its own event sink");
  CHECK(sink.timer_status.code() == StatusCode::kState);
  CHECK(sink.stats_mode == F);  // the last event was the transition to FAILOVER
  CHECK(sink.deadline == FailoverSwitch::kNoDeadline);
  CHECK(sink.entry == CallEntryDecision::kFailoverFlow);
  CHECK(sw->Mode(kT0) == F);
  CHECK(sw->Stats().pushes == 1);
  // Outside the sink, writers work again.
  sw->Push(N, "ok", 0, kT0);  // the sink's nested Push is refused again
  CHECK(sw->Mode(kT0) == N);
}

namespace {

class FakeSource : public FailoverStateSource {
 public:
  Result<RoutingMode> Read(UnixMillis) override {
    ++calls;
    return mode;
  }
  RoutingMode mode = RoutingMode::kNormal;
  int calls = 0;
};

// Fault injection: fails every read while `down` is set.
class FlakySource : public ForwardingFailoverStateSource {
 public:
  using ForwardingFailoverStateSource::ForwardingFailoverStateSource;
  Result<RoutingMode> Read(UnixMillis now) override {
    if (down) return lifeline::Unavailable("state endpoint: connection refused");
    return ForwardingFailoverStateSource::Read(now);
  }
  bool down = false;
};

}  // namespace

TEST_CASE("Poll reads a source through the interface and observes the result") {
  RecordingSink sink;
  FailoverSwitchConfig c = Plain();
  c.stale_after_ms = 15'000;
  c.recovery_reads = 2;
  auto sw = Make(c, &sink);
  FakeSource real;
  FlakySource source(&real);

  real.mode = F;
  RequireOk(sw->Poll(source, kT0 + 5'000));
  CHECK(sw->Mode(kT0 + 5'000) == F);
  CHECK(real.calls == 1);

  source.down = true;
  Status s = sw->Poll(source, kT0 + 10'000);
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(s.message() == "state endpoint: connection refused");
  CHECK(real.calls == 1);
  CHECK(sw->Stats().read_failures == 1);
  CHECK(sw->Poll(source, kT0 + 20'000).code() == StatusCode::kUnavailable);
  CHECK(sw->Stats().source_stale);

  source.down = false;
  real.mode = N;
  RequireOk(sw->Poll(source, kT0 + 25'000));
  RequireOk(sw->Poll(source, kT0 + 30'000));
  CHECK(sw->Mode(kT0 + 30'000) == N);
  auto ev = sink.Take();
  REQUIRE(ev.size() == 4);
  CheckModeChanged(ev[0], FailoverCause::kRead, N, F, kT0 + 5'000);
  CHECK(ev[1].kind == FailoverEventKind::kSourceStale);
  CHECK(ev[1].at == kT0 + 20'000);
  CHECK(ev[2].kind == FailoverEventKind::kSourceFresh);
  CheckModeChanged(ev[3], FailoverCause::kRecovery, F, N, kT0 + 30'000);
  CHECK(sw->Stats().reads == 3);
}

TEST_CASE("a switch without a sink still counts everything") {
  auto sw = Make(Plain(), nullptr);
  RequireOk(sw->Push(F, "x", 0, kT0));
  RequireOk(sw->ClearPush("y", kT0 + 1));
  RequireOk(sw->ObserveRead(F, kT0 + 2));
  RequireOk(sw->ObserveRead(N, kT0 + 3));
  auto st = sw->Stats();
  CHECK(st.transitions == 4);
  CHECK(st.transitions_to_failover == 2);
  CHECK(st.transitions_to_normal == 2);
  CHECK(st.reads == 2);
  CHECK(st.pushes == 1);
}

TEST_CASE("the call-entry decision and lease release allocate nothing") {
  FailoverSwitchConfig c = Plain();
  c.max_channels = 2;
  auto sw = Make(c, nullptr);
  const long before_normal = ThreadAllocations();
  for (int i = 0; i < 1000; ++i) {
    CallEntry e = sw->Enter(kT0 + i);
    CHECK(e.decision == CallEntryDecision::kNormalRouting);
  }
  CHECK(ThreadAllocations() == before_normal);
  RequireOk(sw->Push(F, "outage", kT0 + 5'000, kT0));
  const long before = ThreadAllocations();
  long busy = 0;
  for (int i = 0; i < 1000; ++i) {
    CallEntry a = sw->Enter(kT0 + i);
    CallEntry b = sw->Enter(kT0 + i);
    CallEntry x = sw->Enter(kT0 + i);  // over capacity
    busy += x.decision == CallEntryDecision::kRejectBusy;
    ChannelLease moved(std::move(a.lease));
    moved.Release();
    (void)sw->Mode(kT0 + 6'000);  // past the push's expiry: still allocation-free
  }
  const long after = ThreadAllocations();
  CHECK(after == before);
  CHECK(busy == 1000);
  // The counter itself works.
  const long probe = ThreadAllocations();
  auto* heap = new std::string(64, 'x');
  delete heap;
  CHECK(ThreadAllocations() > probe);
}
