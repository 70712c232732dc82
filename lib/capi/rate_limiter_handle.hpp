// rate_limiter_handle.hpp -- the structs behind the rate-limiter handles.
#ifndef LIFELINE_LIB_CAPI_RATE_LIMITER_HANDLE_HPP_
#define LIFELINE_LIB_CAPI_RATE_LIMITER_HANDLE_HPP_

#include <memory>

#include "lifeline/rate_limiter.hpp"

struct lifeline_rate_limiter_t {
  std::unique_ptr<lifeline::RateLimiter> limiter;
};

struct lifeline_keyed_rate_limiter_t {
  std::unique_ptr<lifeline::KeyedRateLimiter> limiter;
};

#endif  // LIFELINE_LIB_CAPI_RATE_LIMITER_HANDLE_HPP_
