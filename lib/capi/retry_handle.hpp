// retry_handle.hpp -- the structs behind the retry handles of the C ABI.
#ifndef LIFELINE_LIB_CAPI_RETRY_HANDLE_HPP_
#define LIFELINE_LIB_CAPI_RETRY_HANDLE_HPP_

#include <memory>

#include "lifeline/backoff.hpp"
#include "lifeline/retry_budget.hpp"

struct lifeline_backoff_t {
  lifeline::Backoff backoff;
};

struct lifeline_retry_budget_t {
  std::unique_ptr<lifeline::RetryBudget> budget;
};

#endif  // LIFELINE_LIB_CAPI_RETRY_HANDLE_HPP_
