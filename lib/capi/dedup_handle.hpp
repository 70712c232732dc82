// dedup_handle.hpp -- the struct behind lifeline_dedup_t.
#ifndef LIFELINE_LIB_CAPI_DEDUP_HANDLE_HPP_
#define LIFELINE_LIB_CAPI_DEDUP_HANDLE_HPP_

#include <memory>

#include "lifeline/dedup_cache.hpp"

struct lifeline_dedup_t {
  std::unique_ptr<lifeline::DedupCache> cache;
};

#endif  // LIFELINE_LIB_CAPI_DEDUP_HANDLE_HPP_
