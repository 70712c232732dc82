// rate_limiter.hpp -- never more than N requests in any period.
//
// Overview: providers publish limits such as "500 requests per minute" for
// the callback API or "50 per second" per carrier endpoint, and answer 429
// when they are crossed. A `RateLimiter` makes sure Lifeline never crosses
// them: `TryAcquire(now)` grants a request or says exactly how long until one
// would be granted, and `PauseUntil(t)` honours a provider's 429 with
// Retry-After by granting nothing before `t`.
//
// Exactness: for every grant time g, the number of grants in [g - period + 1,
// g] -- that is, in any window of `period` milliseconds -- is at most N,
// whatever the pattern: bursts, window edges, requests that arrive at the
// same millisecond. A token bucket or GCRA with a burst of N cannot promise
// this (N at once, then a refill of one every period/N, puts up to 2N - 1
// grants in one period), and a fixed-window counter allows 2N across a
// window edge. This limiter is a sliding log: it remembers the grants of the
// last period and grants at `now` iff fewer than N of them are later than
// `now - period`. That is also the most any exact limiter can grant: a
// request it refuses would make some window hold N + 1.
//
// Cost: the log is a ring preallocated at creation that coalesces grants
// made in the same millisecond, so it holds at most min(N, period_ms)
// entries (16 bytes each): 500/min is 8 KB, 50/s is 800 bytes, 10000/s
// 16 KB. `TryAcquire` is O(1) amortised (each entry is appended once and
// expired once) and never allocates. N * period limits: see Create().
//
// Time: the limiter is sans-clock; every call takes `now` in ms since the
// epoch. Time passed in should not decrease, but racing threads that read a
// clock just before calling may pass slightly older values: the limiter
// keeps the latest time it has seen and treats an older `now` as that time,
// so a late caller can never cause an over-grant (it may be refused a
// little longer instead). `retry_in` is always counted from the caller's own
// `now`.
//
// Exact retry_in: after a refusal, a TryAcquire at now + retry_in is granted
// and one at now + retry_in - 1 is refused, provided no other grant or
// pause happened in between.
//
// Example:
//
//   auto limiter = lifeline::RateLimiter::Create(500, 60'000);  // 500/min
//   lifeline::RateLimiter::Decision d = (*limiter)->TryAcquire(clock.Now());
//   if (!d.allowed) schedule_at(clock.Now() + d.retry_in);
//   // provider said 429, Retry-After: 30
//   (*limiter)->PauseUntil(clock.Now() + 30'000);
//
// `KeyedRateLimiter` keeps one such limiter per key (per platform endpoint,
// per carrier endpoint), with a bound on the number of keys.
//
// Thread-safety: every member of both classes may be called concurrently.
// A RateLimiter has its own small lock held for a few dozen instructions;
// a KeyedRateLimiter is sharded, so different keys rarely contend.
#ifndef LIFELINE_RATE_LIMITER_HPP_
#define LIFELINE_RATE_LIMITER_HPP_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

class RateLimiter {
 public:
  // The answer of TryAcquire.
  struct Decision {
    bool allowed;
    // 0 when allowed; otherwise the exact wait (>= 1 ms) before a request
    // would be granted, counted from the `now` that was passed in.
    DurationMillis retry_in;
  };

  // The largest ring a limiter may need, min(requests, period_ms): 2^20
  // entries (16 MiB).
  static constexpr std::int64_t kMaxLogEntries = std::int64_t{1} << 20;

  // OK when requests >= 1, period_ms >= 1 and min(requests, period_ms) <=
  // kMaxLogEntries; otherwise kInvalidArgument naming the argument.
  static Status Validate(std::int64_t requests, DurationMillis period_ms);

  // A limiter granting at most `requests` in any `period_ms` window.
  static Result<std::unique_ptr<RateLimiter>> Create(std::int64_t requests,
                                                     DurationMillis period_ms);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;
  ~RateLimiter();

  // Grants one request at `now`, or says how long until one would be.
  // Never allocates.
  Decision TryAcquire(UnixMillis now);

  // Nothing is granted at times before `until` (a provider's 429 with
  // Retry-After). Pauses only ever extend: an earlier `until` than the
  // current pause changes nothing. Grants made before the pause still count
  // in their windows afterwards.
  void PauseUntil(UnixMillis until);

  // The end of the current pause (the smallest possible time when none).
  UnixMillis paused_until() const;

  // True when the limiter holds no grant in the window ending at `now` and
  // is not paused at `now`: it would behave exactly as a new limiter.
  bool IsIdle(UnixMillis now) const;

  std::int64_t requests() const { return requests_; }
  DurationMillis period_ms() const { return period_ms_; }

 private:
  friend class KeyedRateLimiter;
  struct Entry {
    UnixMillis time;      // a millisecond in which grants were made
    std::int64_t count;   // how many
  };

  RateLimiter(std::int64_t requests, DurationMillis period_ms, std::size_t capacity,
              UnixMillis start);
  // Drops the entries of the log that are out of the window ending at `now`.
  void ExpireLocked(UnixMillis now);
  // The latest time at which the limiter is still not idle.
  UnixMillis BusyUntilLocked() const;

  const std::int64_t requests_;
  const DurationMillis period_ms_;
  const std::size_t capacity_;
  const std::unique_ptr<Entry[]> log_;

  mutable std::mutex mu_;
  std::size_t head_ = 0;       // index of the oldest entry
  std::size_t size_ = 0;       // entries in the log
  std::int64_t granted_ = 0;   // sum of their counts
  UnixMillis clock_;           // latest time seen
  UnixMillis paused_until_;
};

// One RateLimiter per key, each with the same limit, and at most `max_keys`
// keys. A key's limiter is created on its first use. When the table is full,
// keys whose limiters are idle (no grant in the last period, not paused) are
// dropped -- a dropped key behaves exactly as if it had been kept -- and if
// none is idle the call fails with kFull rather than forget a live limit.
class KeyedRateLimiter {
 public:
  // The limit as for RateLimiter::Validate, and max_keys >= 1.
  static Result<std::unique_ptr<KeyedRateLimiter>> Create(std::int64_t requests,
                                                          DurationMillis period_ms,
                                                          std::size_t max_keys);

  KeyedRateLimiter(const KeyedRateLimiter&) = delete;
  KeyedRateLimiter& operator=(const KeyedRateLimiter&) = delete;
  ~KeyedRateLimiter();

  // RateLimiter::TryAcquire for `key`; kFull when `key` is new and the table
  // is full of live limiters. Does not allocate for a key already present.
  Result<RateLimiter::Decision> TryAcquire(std::string_view key, UnixMillis now);

  // RateLimiter::PauseUntil for `key` (created if needed; kFull as above:
  // with no `now` at hand, a full table drops only limiters idle at the
  // latest time they have themselves seen).
  Status PauseUntil(std::string_view key, UnixMillis until);

  // The number of keys held.
  std::size_t size() const;
  std::size_t max_keys() const;

 private:
  class Impl;
  explicit KeyedRateLimiter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeline

#endif  // LIFELINE_RATE_LIMITER_HPP_
