// clock.hpp -- where the core gets "now" from.
//
// Overview: the core never reads a clock by itself. Engines take `now` as an
// argument and report their next deadline; hosts, the optional runtime, the
// tests and the drill feed them time from a `Clock`. `ManualClock` makes any
// scenario, an hour of outage included, replay exactly and in milliseconds.
//
// Time is `UnixMillis` (milliseconds since the Unix epoch, UTC) everywhere,
// which is also how it crosses the C ABI; durations are `DurationMillis`.
//
// Example:
//
//   lifeline::ManualClock clock(1'700'000'000'000);
//   clock.Advance(90'000);                 // 90 s later, instantly
//   engine.OnTimer(clock.Now());
#ifndef LIFELINE_CLOCK_HPP_
#define LIFELINE_CLOCK_HPP_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace lifeline {

using UnixMillis = std::int64_t;
using DurationMillis = std::int64_t;

// Abstract source of time. Thread-safe implementations only.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch, UTC. Never decreases.
  virtual UnixMillis Now() const = 0;
};

// The real clock: the wall time read once at construction, then advanced by
// the monotonic clock. Stepping the system time (NTP, an operator) can
// therefore never make timers fire early or run backwards.
class SystemClock final : public Clock {
 public:
  SystemClock()
      : wall_at_start_(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()),
        steady_at_start_(std::chrono::steady_clock::now()) {}

  UnixMillis Now() const override {
    auto elapsed = std::chrono::steady_clock::now() - steady_at_start_;
    return wall_at_start_ +
           std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  }

 private:
  UnixMillis wall_at_start_;
  std::chrono::steady_clock::time_point steady_at_start_;
};

// A clock that moves only when told to. Safe to read from any thread while
// one thread advances it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixMillis start = 0) : now_(start) {}

  UnixMillis Now() const override { return now_.load(std::memory_order_acquire); }

  // Moves time forward by `delta` (>= 0) and returns the new time.
  UnixMillis Advance(DurationMillis delta) {
    return now_.fetch_add(delta < 0 ? 0 : delta, std::memory_order_acq_rel) +
           (delta < 0 ? 0 : delta);
  }

  // Sets the time; a value in the past is ignored so time never goes back.
  // Returns whether the time was set.
  bool Set(UnixMillis t) {
    UnixMillis current = now_.load(std::memory_order_acquire);
    while (t >= current) {
      if (now_.compare_exchange_weak(current, t, std::memory_order_acq_rel)) return true;
    }
    return false;
  }

 private:
  std::atomic<UnixMillis> now_;
};

}  // namespace lifeline

#endif  // LIFELINE_CLOCK_HPP_
