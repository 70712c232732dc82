// HighwayHash-128, SSE4.1 implementation (see dedup_digest.hpp).
//
// The library is compiled without -msse4.1, so this file switches the target on
// with a pragma before it includes HighwayHash's target-specific headers. Those
// headers are "restricted" (highwayhash/arch_specific.h): everything they
// define lives in namespace highwayhash::SSE41 or is static inline, so the
// SSE4.1 code cannot leak into other translation units. Only C headers are
// included after the pragma.
#include "core/dedup_digest.hpp"

#if defined(__x86_64__)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("sse4.1"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("sse4.1")
#endif

#define HH_TARGET_NAME SSE41
#include <highwayhash/highwayhash.h>

namespace lifeline::internal {

void HighwayHash128Sse41(const std::uint64_t key[4], const char* data, std::size_t size,
                         std::uint64_t out[2]) {
  const highwayhash::HHKey hh_key = {key[0], key[1], key[2], key[3]};
  highwayhash::HHStateT<HH_TARGET> state(hh_key);
  highwayhash::HHResult128 result;
  highwayhash::HighwayHashT(&state, data, size, &result);
  out[0] = result[0];
  out[1] = result[1];
}

}  // namespace lifeline::internal

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // __x86_64__
