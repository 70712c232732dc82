// retry_budget.hpp -- retries stay a bounded fraction of the traffic.
//
// Overview: per-request retry limits (backoff.hpp) do not stop a surge: when
// a provider fails every request, each one is retried up to its limit and
// the load on the provider is multiplied exactly when it can least take it.
// A `RetryBudget`, shared by every request to one provider (one server
// name, one platform endpoint), turns retries off while failures dominate.
//
// It is gRPC's retry throttling (gRFC A6, "Throttling Retry Attempts and
// Hedged RPCs"), exactly:
//
//  - a token count starts at `max_tokens` and stays within [0, max_tokens];
//  - every failed attempt takes 1 token; "failed" means failed in a way that
//    would be retried (IsRetryable in retry_classifier.hpp; for the server a
//    pushback counts too) -- a 400 or a 404 is not the provider's distress
//    and records nothing;
//  - every successful attempt gives back `token_ratio` tokens;
//  - a retry is allowed only while the count is above max_tokens / 2.
//
// As in gRPC's implementation both numbers are kept in thousandths of a
// token (integers, so the threshold comparison is exact): `max_tokens` and
// `token_ratio` are rounded to the nearest 0.001.
//
// What that guarantees, when each retry is preceded by the RecordFailure of
// the attempt it repeats: the count is above max_tokens / 2 after each such
// failure, it started at max_tokens and only successes raise it, so over
// any run
//
//     retries allowed < max_tokens / 2 + token_ratio * successes.
//
// With gRPC's usual max_tokens = 10, token_ratio = 0.1, a total outage lets
// through at most 4 retries in all (the count goes 9, 8, 7, 6, then 5 which
// is not above 5), however many requests fail, and while things are healthy
// retries may run at up to about 10% of successes.
//
// Example:
//
//   auto budget = lifeline::RetryBudget::Create(10, 0.1);   // shared
//   // an attempt finished:
//   if (ok) { budget->RecordSuccess(); return; }
//   if (!lifeline::IsRetryable(status, error)) return fail();
//   budget->RecordFailure();
//   auto delay = budget->AllowRetry() ? backoff.NextDelay(asked) : std::nullopt;
//
// Thread-safety: every member may be called concurrently; the count is one
// atomic, updated with compare-and-swap, and nothing allocates or locks.
#ifndef LIFELINE_RETRY_BUDGET_HPP_
#define LIFELINE_RETRY_BUDGET_HPP_

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "lifeline/status.hpp"

namespace lifeline {

class RetryBudget {
 public:
  // The largest max_tokens and token_ratio accepted.
  static constexpr double kMaxTokensLimit = 1000000.0;

  // OK when max_tokens is finite and in [0.001, 1e6] and token_ratio is
  // finite and in [0.001, max_tokens] (after rounding to thousandths);
  // otherwise kInvalidArgument naming the argument.
  static Status Validate(double max_tokens, double token_ratio) {
    if (!std::isfinite(max_tokens) || max_tokens > kMaxTokensLimit ||
        std::llround(max_tokens * 1000) < 1) {
      return InvalidArgument("max_tokens must be finite and in [0.001, 1000000]");
    }
    if (!std::isfinite(token_ratio) || token_ratio > max_tokens ||
        std::llround(token_ratio * 1000) < 1) {
      return InvalidArgument("token_ratio must be finite and in [0.001, max_tokens]");
    }
    return Status::Ok();
  }

  // A budget that starts full (max_tokens tokens).
  static Result<std::unique_ptr<RetryBudget>> Create(double max_tokens, double token_ratio) {
    Status valid = Validate(max_tokens, token_ratio);
    if (!valid.ok()) return valid;
    return std::unique_ptr<RetryBudget>(
        new RetryBudget(std::llround(max_tokens * 1000), std::llround(token_ratio * 1000)));
  }

  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  // A successful attempt: adds token_ratio, up to max_tokens.
  void RecordSuccess() {
    std::int64_t current = milli_tokens_.load(std::memory_order_relaxed);
    std::int64_t next;
    do {
      next = current + milli_ratio_;
      if (next > max_milli_tokens_) next = max_milli_tokens_;
    } while (!milli_tokens_.compare_exchange_weak(current, next, std::memory_order_relaxed));
  }

  // A failed attempt that was retryable: takes one token, down to 0.
  void RecordFailure() {
    std::int64_t current = milli_tokens_.load(std::memory_order_relaxed);
    std::int64_t next;
    do {
      next = current - 1000;
      if (next < 0) next = 0;
    } while (!milli_tokens_.compare_exchange_weak(current, next, std::memory_order_relaxed));
  }

  // True while the count is above max_tokens / 2. Does not change the count.
  bool AllowRetry() const {
    return milli_tokens_.load(std::memory_order_relaxed) * 2 > max_milli_tokens_;
  }

  // The current count, in tokens (thousandths exact).
  double tokens() const {
    return static_cast<double>(milli_tokens_.load(std::memory_order_relaxed)) / 1000.0;
  }
  double max_tokens() const { return static_cast<double>(max_milli_tokens_) / 1000.0; }
  double token_ratio() const { return static_cast<double>(milli_ratio_) / 1000.0; }

 private:
  RetryBudget(std::int64_t max_milli_tokens, std::int64_t milli_ratio)
      : max_milli_tokens_(max_milli_tokens),
        milli_ratio_(milli_ratio),
        milli_tokens_(max_milli_tokens) {}

  const std::int64_t max_milli_tokens_;
  const std::int64_t milli_ratio_;
  std::atomic<std::int64_t> milli_tokens_;
};

}  // namespace lifeline

#endif  // LIFELINE_RETRY_BUDGET_HPP_
