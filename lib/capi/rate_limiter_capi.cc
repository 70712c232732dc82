// C ABI over rate_limiter.hpp.
#include <string>

#include "capi/capi_support.hpp"
#include "capi/rate_limiter_handle.hpp"
#include "lifeline/rate_limiter.hpp"

using lifeline::capi::CheckString;
using lifeline::capi::Fail;
using lifeline::capi::Guard;

namespace {

lifeline_status CheckKey(const char* fn, const char* key) {
  if (lifeline_status s = CheckString(fn, "key", key); s != LIFELINE_OK) return s;
  if (key[0] == '\0') return Fail(fn, LIFELINE_E_INVALID_ARGUMENT, "key must not be empty");
  return LIFELINE_OK;
}

}  // namespace

extern "C" {

LIFELINE_API lifeline_status lifeline_rate_limiter_new(int64_t requests, int64_t period_ms,
                                                       lifeline_rate_limiter_t** out) {
  static constexpr const char* kFn = "lifeline_rate_limiter_new";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] {
    auto limiter = lifeline::RateLimiter::Create(requests, period_ms);
    if (!limiter.ok()) return Fail(kFn, limiter.status());
    *out = new lifeline_rate_limiter_t{std::move(limiter).value()};
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_rate_limiter_try_acquire(lifeline_rate_limiter_t* limiter,
                                                               int64_t now_ms, int* out_allowed,
                                                               int64_t* out_retry_in_ms) {
  static constexpr const char* kFn = "lifeline_rate_limiter_try_acquire";
  LIFELINE_REQUIRE_NOT_NULL(kFn, limiter);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_allowed);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_retry_in_ms);
  lifeline::RateLimiter::Decision d = limiter->limiter->TryAcquire(now_ms);
  *out_allowed = d.allowed ? 1 : 0;
  *out_retry_in_ms = d.retry_in;
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_rate_limiter_pause_until(lifeline_rate_limiter_t* limiter,
                                                               int64_t until_ms) {
  static constexpr const char* kFn = "lifeline_rate_limiter_pause_until";
  LIFELINE_REQUIRE_NOT_NULL(kFn, limiter);
  limiter->limiter->PauseUntil(until_ms);
  return LIFELINE_OK;
}

LIFELINE_API void lifeline_rate_limiter_free(lifeline_rate_limiter_t* limiter) { delete limiter; }

LIFELINE_API lifeline_status lifeline_keyed_rate_limiter_new(
    int64_t requests, int64_t period_ms, size_t max_keys, lifeline_keyed_rate_limiter_t** out) {
  static constexpr const char* kFn = "lifeline_keyed_rate_limiter_new";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] {
    auto limiter = lifeline::KeyedRateLimiter::Create(requests, period_ms, max_keys);
    if (!limiter.ok()) return Fail(kFn, limiter.status());
    *out = new lifeline_keyed_rate_limiter_t{std::move(limiter).value()};
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_keyed_rate_limiter_try_acquire(
    lifeline_keyed_rate_limiter_t* limiter, const char* key, int64_t now_ms, int* out_allowed,
    int64_t* out_retry_in_ms) {
  static constexpr const char* kFn = "lifeline_keyed_rate_limiter_try_acquire";
  LIFELINE_REQUIRE_NOT_NULL(kFn, limiter);
  if (lifeline_status s = CheckKey(kFn, key); s != LIFELINE_OK) return s;
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_allowed);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_retry_in_ms);
  return Guard(kFn, [&] {
    auto d = limiter->limiter->TryAcquire(key, now_ms);
    if (!d.ok()) return Fail(kFn, d.status());
    *out_allowed = d->allowed ? 1 : 0;
    *out_retry_in_ms = d->retry_in;
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_keyed_rate_limiter_pause_until(
    lifeline_keyed_rate_limiter_t* limiter, const char* key, int64_t until_ms) {
  static constexpr const char* kFn = "lifeline_keyed_rate_limiter_pause_until";
  LIFELINE_REQUIRE_NOT_NULL(kFn, limiter);
  if (lifeline_status s = CheckKey(kFn, key); s != LIFELINE_OK) return s;
  return Guard(kFn, [&] {
    lifeline::Status s = limiter->limiter->PauseUntil(key, until_ms);
    if (!s.ok()) return Fail(kFn, s);
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_keyed_rate_limiter_size(
    const lifeline_keyed_rate_limiter_t* limiter, size_t* out_size) {
  static constexpr const char* kFn = "lifeline_keyed_rate_limiter_size";
  LIFELINE_REQUIRE_NOT_NULL(kFn, limiter);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_size);
  *out_size = limiter->limiter->size();
  return LIFELINE_OK;
}

LIFELINE_API void lifeline_keyed_rate_limiter_free(lifeline_keyed_rate_limiter_t* limiter) {
  delete limiter;
}

}  // extern "C"
