// C ABI over backoff.hpp, retry_after.hpp, retry_classifier.hpp and
// retry_budget.hpp.
#include <string>

#include "capi/capi_support.hpp"
#include "capi/retry_handle.hpp"
#include "lifeline/backoff.hpp"
#include "lifeline/retry_after.hpp"
#include "lifeline/retry_budget.hpp"
#include "lifeline/retry_classifier.hpp"

using lifeline::capi::CheckString;
using lifeline::capi::Fail;
using lifeline::capi::Guard;

static_assert(LIFELINE_JITTER_NONE == static_cast<int>(lifeline::Jitter::kNone), "jitter");
static_assert(LIFELINE_JITTER_FULL == static_cast<int>(lifeline::Jitter::kFull), "jitter");
static_assert(LIFELINE_JITTER_EQUAL == static_cast<int>(lifeline::Jitter::kEqual), "jitter");
static_assert(LIFELINE_JITTER_DECORRELATED == static_cast<int>(lifeline::Jitter::kDecorrelated),
              "jitter");
static_assert(LIFELINE_GIVE_UP_NONE == static_cast<int>(lifeline::GiveUpReason::kNone), "give up");
static_assert(LIFELINE_GIVE_UP_ATTEMPTS_EXHAUSTED ==
                  static_cast<int>(lifeline::GiveUpReason::kAttemptsExhausted),
              "give up");
static_assert(LIFELINE_GIVE_UP_RETRY_AFTER_TOO_LONG ==
                  static_cast<int>(lifeline::GiveUpReason::kRetryAfterTooLong),
              "give up");
static_assert(LIFELINE_TRANSPORT_NONE == static_cast<int>(lifeline::TransportError::kNone), "te");
static_assert(LIFELINE_TRANSPORT_TIMEOUT == static_cast<int>(lifeline::TransportError::kTimeout),
              "te");
static_assert(LIFELINE_TRANSPORT_CONNECTION ==
                  static_cast<int>(lifeline::TransportError::kConnection),
              "te");
static_assert(LIFELINE_TRANSPORT_TLS == static_cast<int>(lifeline::TransportError::kTls), "te");
static_assert(LIFELINE_TRANSPORT_OTHER == static_cast<int>(lifeline::TransportError::kOther), "te");

namespace {

// Reads a caller's lifeline_retry_policy of any known version.
lifeline_status ToRetryPolicy(const char* fn, const lifeline_retry_policy& in,
                              lifeline::RetryPolicy* out) {
  if (in.version != LIFELINE_RETRY_POLICY_VERSION) {
    return Fail(fn, LIFELINE_E_INVALID_ARGUMENT,
                "policy->version " + std::to_string(in.version) +
                    " is not known (this library knows " +
                    std::to_string(LIFELINE_RETRY_POLICY_VERSION) +
                    "); initialise the struct with lifeline_retry_policy_init");
  }
  out->initial_ms = in.initial_ms;
  out->multiplier = in.multiplier;
  out->max_ms = in.max_ms;
  out->max_attempts = in.max_attempts;
  out->jitter = static_cast<lifeline::Jitter>(in.jitter);
  out->retry_after_cap_ms = in.retry_after_cap_ms;
  lifeline::Status valid = out->Validate();
  if (!valid.ok()) return Fail(fn, valid.c_status(), "policy->" + valid.message());
  return LIFELINE_OK;
}

}  // namespace

extern "C" {

LIFELINE_API lifeline_status lifeline_retry_policy_init(lifeline_retry_policy* policy) {
  static constexpr const char* kFn = "lifeline_retry_policy_init";
  LIFELINE_REQUIRE_NOT_NULL(kFn, policy);
  *policy = lifeline_retry_policy LIFELINE_RETRY_POLICY_INIT;
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_backoff_new(const lifeline_retry_policy* policy,
                                                  uint64_t seed, lifeline_backoff_t** out) {
  static constexpr const char* kFn = "lifeline_backoff_new";
  LIFELINE_REQUIRE_NOT_NULL(kFn, policy);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] {
    lifeline::RetryPolicy p;
    if (lifeline_status s = ToRetryPolicy(kFn, *policy, &p); s != LIFELINE_OK) return s;
    auto backoff = lifeline::Backoff::Create(p, seed);
    if (!backoff.ok()) return Fail(kFn, backoff.status());
    *out = new lifeline_backoff_t{std::move(backoff).value()};
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_backoff_next(lifeline_backoff_t* backoff,
                                                   int64_t retry_after_ms,
                                                   int64_t* out_delay_ms, int* out_give_up) {
  static constexpr const char* kFn = "lifeline_backoff_next";
  LIFELINE_REQUIRE_NOT_NULL(kFn, backoff);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_delay_ms);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_give_up);
  std::optional<lifeline::DurationMillis> asked;
  if (retry_after_ms >= 0) asked = retry_after_ms;
  std::optional<lifeline::DurationMillis> delay = backoff->backoff.NextDelay(asked);
  *out_delay_ms = delay.value_or(0);
  *out_give_up = static_cast<int>(backoff->backoff.give_up_reason());
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_backoff_attempts_made(const lifeline_backoff_t* backoff,
                                                            int32_t* out_attempts) {
  static constexpr const char* kFn = "lifeline_backoff_attempts_made";
  LIFELINE_REQUIRE_NOT_NULL(kFn, backoff);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_attempts);
  *out_attempts = backoff->backoff.attempts_made();
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_backoff_reset(lifeline_backoff_t* backoff) {
  static constexpr const char* kFn = "lifeline_backoff_reset";
  LIFELINE_REQUIRE_NOT_NULL(kFn, backoff);
  backoff->backoff.Reset();
  return LIFELINE_OK;
}

LIFELINE_API void lifeline_backoff_free(lifeline_backoff_t* backoff) { delete backoff; }

LIFELINE_API lifeline_status lifeline_retry_after_parse(const char* value, int64_t now_ms,
                                                        int64_t* out_delay_ms) {
  static constexpr const char* kFn = "lifeline_retry_after_parse";
  if (lifeline_status s = CheckString(kFn, "value", value); s != LIFELINE_OK) return s;
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_delay_ms);
  return Guard(kFn, [&] {
    auto delay = lifeline::ParseRetryAfter(value, now_ms);
    if (!delay.ok()) return Fail(kFn, delay.status());
    *out_delay_ms = *delay;
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_retry_is_retryable(int http_status, int transport_error,
                                                         int* out_retryable) {
  static constexpr const char* kFn = "lifeline_retry_is_retryable";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_retryable);
  if (transport_error < LIFELINE_TRANSPORT_NONE || transport_error > LIFELINE_TRANSPORT_OTHER) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "transport_error must be a lifeline_transport_error (0-4), got " +
                    std::to_string(transport_error));
  }
  if (transport_error == LIFELINE_TRANSPORT_NONE && (http_status < 100 || http_status > 599)) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "http_status must be 100-599 when transport_error is LIFELINE_TRANSPORT_NONE, "
                "got " + std::to_string(http_status));
  }
  *out_retryable =
      lifeline::IsRetryable(http_status, static_cast<lifeline::TransportError>(transport_error))
          ? 1
          : 0;
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_retry_budget_new(double max_tokens, double token_ratio,
                                                       lifeline_retry_budget_t** out) {
  static constexpr const char* kFn = "lifeline_retry_budget_new";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] {
    auto budget = lifeline::RetryBudget::Create(max_tokens, token_ratio);
    if (!budget.ok()) return Fail(kFn, budget.status());
    *out = new lifeline_retry_budget_t{std::move(budget).value()};
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_retry_budget_record_success(lifeline_retry_budget_t* budget) {
  static constexpr const char* kFn = "lifeline_retry_budget_record_success";
  LIFELINE_REQUIRE_NOT_NULL(kFn, budget);
  budget->budget->RecordSuccess();
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_retry_budget_record_failure(lifeline_retry_budget_t* budget) {
  static constexpr const char* kFn = "lifeline_retry_budget_record_failure";
  LIFELINE_REQUIRE_NOT_NULL(kFn, budget);
  budget->budget->RecordFailure();
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_retry_budget_allow_retry(
    const lifeline_retry_budget_t* budget, int* out_allowed) {
  static constexpr const char* kFn = "lifeline_retry_budget_allow_retry";
  LIFELINE_REQUIRE_NOT_NULL(kFn, budget);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_allowed);
  *out_allowed = budget->budget->AllowRetry() ? 1 : 0;
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_retry_budget_tokens(const lifeline_retry_budget_t* budget,
                                                          double* out_tokens) {
  static constexpr const char* kFn = "lifeline_retry_budget_tokens";
  LIFELINE_REQUIRE_NOT_NULL(kFn, budget);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_tokens);
  *out_tokens = budget->budget->tokens();
  return LIFELINE_OK;
}

LIFELINE_API void lifeline_retry_budget_free(lifeline_retry_budget_t* budget) { delete budget; }

}  // extern "C"
