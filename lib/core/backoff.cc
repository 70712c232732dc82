// Backoff and RetryPolicy (see include/lifeline/backoff.hpp).
#include "lifeline/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace lifeline {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

std::int64_t SaturatingTimes3(std::int64_t v) {
  std::int64_t out = 0;
  if (__builtin_mul_overflow(v, 3, &out)) return kInt64Max;
  return out;
}

// min(max_ms, initial_ms * multiplier^retry_index), rounded to the nearest
// millisecond. The product is formed in double; anything at or above the
// ceiling (infinity included) is the ceiling itself.
DurationMillis ExponentialCeiling(const RetryPolicy& p, int retry_index) {
  double raw = static_cast<double>(p.initial_ms) * std::pow(p.multiplier, retry_index);
  if (!(raw < static_cast<double>(p.max_ms))) return p.max_ms;
  return std::min<DurationMillis>(p.max_ms, std::llround(raw));
}

}  // namespace

Status RetryPolicy::Validate() const {
  if (initial_ms <= 0) {
    return InvalidArgument("initial_ms must be > 0 (got " + std::to_string(initial_ms) + ")");
  }
  if (!std::isfinite(multiplier) || multiplier < 1.0) {
    return InvalidArgument("multiplier must be finite and >= 1");
  }
  if (max_ms < initial_ms) {
    return InvalidArgument("max_ms must be >= initial_ms (got " + std::to_string(max_ms) +
                           " < " + std::to_string(initial_ms) + ")");
  }
  if (max_attempts < 1) {
    return InvalidArgument("max_attempts must be >= 1 (got " + std::to_string(max_attempts) +
                           ")");
  }
  switch (jitter) {
    case Jitter::kNone:
    case Jitter::kFull:
    case Jitter::kEqual:
    case Jitter::kDecorrelated:
      break;
    default:
      return InvalidArgument("jitter must be 0 (none), 1 (full), 2 (equal) or 3 (decorrelated) (got " +
                             std::to_string(static_cast<int>(jitter)) + ")");
  }
  if (retry_after_cap_ms < 0) {
    return InvalidArgument("retry_after_cap_ms must be >= 0 (got " +
                           std::to_string(retry_after_cap_ms) + ")");
  }
  return Status::Ok();
}

Result<Backoff> Backoff::Create(const RetryPolicy& policy, std::uint64_t seed) {
  Status valid = policy.Validate();
  if (!valid.ok()) return valid;
  return Backoff(policy, seed);
}

Backoff::Backoff(const RetryPolicy& policy, std::uint64_t seed)
    : policy_(policy), rng_state_(seed), previous_(policy.initial_ms) {}

void Backoff::Reset() {
  attempts_made_ = 1;
  previous_ = policy_.initial_ms;
  give_up_reason_ = GiveUpReason::kNone;
}

// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014), in the form Vigna publishes for seeding the
// xoshiro family: 64 bits of state, every seed valid, output fully specified.
std::uint64_t Backoff::NextRandom() {
  std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::int64_t Backoff::UniformBetween(std::int64_t lo, std::int64_t hi) {
  // hi - lo + 1 fits in uint64 because both are >= 0 here.
  const std::uint64_t range = static_cast<std::uint64_t>(hi - lo) + 1;
  // Reject the top values that would make `x % range` favour small results;
  // `(-range) % range` is 2^64 mod range.
  const std::uint64_t threshold = (0 - range) % range;
  std::uint64_t x = NextRandom();
  while (x < threshold) x = NextRandom();
  return lo + static_cast<std::int64_t>(x % range);
}

std::optional<DurationMillis> Backoff::NextDelay(std::optional<DurationMillis> retry_after) {
  if (attempts_made_ >= policy_.max_attempts) {
    give_up_reason_ = GiveUpReason::kAttemptsExhausted;
    return std::nullopt;
  }
  DurationMillis asked = 0;
  if (retry_after.has_value()) {
    asked = std::max<DurationMillis>(0, *retry_after);
    if (asked > policy_.retry_after_cap_ms) {
      give_up_reason_ = GiveUpReason::kRetryAfterTooLong;
      return std::nullopt;
    }
  }

  const int retry_index = attempts_made_ - 1;
  DurationMillis delay = 0;
  switch (policy_.jitter) {
    case Jitter::kNone:
      delay = ExponentialCeiling(policy_, retry_index);
      break;
    case Jitter::kFull:
      delay = UniformBetween(0, ExponentialCeiling(policy_, retry_index));
      break;
    case Jitter::kEqual: {
      const DurationMillis ceiling = ExponentialCeiling(policy_, retry_index);
      const DurationMillis half = ceiling / 2;
      delay = (ceiling - half) + UniformBetween(0, half);
      break;
    }
    case Jitter::kDecorrelated:
      previous_ = std::min(policy_.max_ms,
                           UniformBetween(policy_.initial_ms, SaturatingTimes3(previous_)));
      delay = previous_;
      break;
  }

  ++attempts_made_;
  give_up_reason_ = GiveUpReason::kNone;
  return std::max(delay, asked);
}

}  // namespace lifeline
