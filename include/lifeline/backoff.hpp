// backoff.hpp -- how long to wait before the next attempt, and when to stop.
//
// Overview: a `RetryPolicy` says how a failing operation is retried: the
// delay before the first retry, how it grows, its ceiling, how many attempts
// are made in all, and how the delays are randomised ("jitter") so that many
// clients failing at once do not retry in lock-step. A `Backoff` is the
// state of one request (or one channel) under a policy: each time an attempt
// fails, `NextDelay()` answers the delay before the next attempt, or that it
// is time to give up.
//
// The defaults are the seed's notification policy: 15 s initial delay,
// doubling, at most 120 s, at most 3 retries (4 attempts in all), no jitter.
//
// The jitter modes are those of Marc Brooker's "Exponential Backoff and
// Jitter" (AWS Architecture Blog, 2015). With `n` the retry index (0 for the
// first retry), `base` = initial_ms, `cap` = max_ms and
// `ceiling(n)` = min(cap, base * multiplier^n) rounded to the millisecond:
//
//   kNone          delay = ceiling(n)
//   kFull          delay = random(0, ceiling(n))
//   kEqual         delay = ceiling(n) - ceiling(n)/2 + random(0, ceiling(n)/2)
//                  (i.e. in [ceil(ceiling/2), ceiling])
//   kDecorrelated  delay = min(cap, random(base, previous * 3)), previous
//                  starting at base. As in the article, this mode grows by
//                  its own factor 3 and does not use `multiplier`.
//
// `random(a, b)` is uniform over the integers a..b inclusive.
//
// Randomness comes from a seed given to the Backoff: equal seeds and equal
// calls give equal delays, on every platform (the generator is SplitMix64 and
// the range reduction is unbiased rejection, both fully specified here rather
// than left to the standard library's distributions, whose output differs
// between implementations). There is no global random state. Give each
// client or request its own seed (e.g. from std::random_device once at
// start-up) so that clients spread out.
//
// Retry-After: the server may say how long to wait (see retry_after.hpp). A
// retry then never comes earlier than it asked: the delay is
// max(backoff delay, Retry-After). A Retry-After above the policy's
// `retry_after_cap_ms` is not shortened to the cap, because that would retry
// earlier than the server asked; instead `NextDelay()` gives up with
// `GiveUpReason::kRetryAfterTooLong`, and the caller handles the request as a
// failure (for the callback pipeline: it stays in the outbox and is
// dead-lettered or re-driven later) rather than hammering a server that asked
// for quiet. That give-up does not consume an attempt.
//
// Example:
//
//   lifeline::RetryPolicy policy;             // 15 s, x2, 120 s, 4 attempts
//   policy.jitter = lifeline::Jitter::kFull;
//   auto backoff = lifeline::Backoff::Create(policy, seed);
//   // ... attempt 1 failed with 503:
//   std::optional<lifeline::DurationMillis> d = backoff->NextDelay();
//   if (!d) give_up(backoff->give_up_reason());
//   else schedule_retry_at(now + *d);
//
// Thread-safety: a RetryPolicy is a value. A Backoff is not synchronised;
// use one per request or channel, or guard it.
#ifndef LIFELINE_BACKOFF_HPP_
#define LIFELINE_BACKOFF_HPP_

#include <cstdint>
#include <optional>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// How delays are randomised. The values are the C ABI's `lifeline_jitter`.
enum class Jitter : int {
  kNone = 0,
  kFull = 1,
  kEqual = 2,
  kDecorrelated = 3,
};

// A static lower-case name: "none", "full", "equal", "decorrelated";
// "unknown" for a value outside the enum.
constexpr const char* JitterName(Jitter jitter) {
  switch (jitter) {
    case Jitter::kNone: return "none";
    case Jitter::kFull: return "full";
    case Jitter::kEqual: return "equal";
    case Jitter::kDecorrelated: return "decorrelated";
  }
  return "unknown";
}

// How a failing operation is retried. A plain value; `Validate()` says
// whether it can be used.
struct RetryPolicy {
  // Delay before the first retry. Must be > 0.
  DurationMillis initial_ms = 15000;
  // Growth factor per retry. Must be finite and >= 1 (1 means constant).
  double multiplier = 2.0;
  // Ceiling of every backoff delay. Must be >= initial_ms.
  DurationMillis max_ms = 120000;
  // Attempts in all, the first included: 4 means 1 attempt + 3 retries (the
  // seed's "at most 3 retries"). Must be >= 1; 1 means never retry.
  int max_attempts = 4;
  Jitter jitter = Jitter::kNone;
  // The longest Retry-After that is honoured. A longer one makes NextDelay()
  // give up instead of retrying earlier than asked. Must be >= 0.
  DurationMillis retry_after_cap_ms = 300000;

  // OK, or kInvalidArgument with a message naming the first bad field.
  Status Validate() const;
};

// Why NextDelay() answered "no more retries".
enum class GiveUpReason : int {
  kNone = 0,                // the last call returned a delay (or none yet)
  kAttemptsExhausted = 1,   // max_attempts attempts have been made
  kRetryAfterTooLong = 2,   // Retry-After exceeded retry_after_cap_ms
};

// The retry state of one request or channel under a policy. Copyable.
class Backoff {
 public:
  // Checks `policy` (see RetryPolicy::Validate) and returns a Backoff whose
  // random source is seeded with `seed`.
  static Result<Backoff> Create(const RetryPolicy& policy, std::uint64_t seed);

  // To be called after an attempt failed in a retryable way. Returns the
  // delay in milliseconds before the next attempt, or nullopt when no further
  // attempt should be made; `give_up_reason()` then says why.
  //
  // `retry_after`, when present, is how long the server asked to wait (a
  // negative value counts as 0). The delay returned is never shorter than it.
  // When it exceeds `retry_after_cap_ms`, the result is nullopt with
  // kRetryAfterTooLong and no attempt is consumed. When attempts are
  // exhausted, every later call returns nullopt with kAttemptsExhausted until
  // Reset().
  std::optional<DurationMillis> NextDelay(std::optional<DurationMillis> retry_after = {});

  // Attempts made so far, the first included: 1 after Create() or Reset(),
  // plus one for each delay NextDelay() returned. Never exceeds max_attempts.
  int attempts_made() const { return attempts_made_; }

  // Why the last NextDelay() returned nullopt; kNone if it returned a delay.
  GiveUpReason give_up_reason() const { return give_up_reason_; }

  // Starts over (after a success): attempts_made() becomes 1 and the
  // decorrelated state returns to initial_ms. The random stream continues
  // where it was; it is not rewound to the seed.
  void Reset();

  const RetryPolicy& policy() const { return policy_; }

 private:
  Backoff(const RetryPolicy& policy, std::uint64_t seed);

  // A uniform integer in [lo, hi] (lo <= hi), unbiased.
  std::int64_t UniformBetween(std::int64_t lo, std::int64_t hi);
  std::uint64_t NextRandom();

  RetryPolicy policy_;
  std::uint64_t rng_state_;
  int attempts_made_ = 1;
  DurationMillis previous_;  // kDecorrelated: the previous backoff delay
  GiveUpReason give_up_reason_ = GiveUpReason::kNone;
};

}  // namespace lifeline

#endif  // LIFELINE_BACKOFF_HPP_
