// HighwayHash-128, portable C++ implementation (see dedup_digest.hpp).
//
// highwayhash/hh_portable.h rotates its uint64_t lanes through a uint32_t*
// (HHStatePortable::UpdateRemainder), which breaks strict aliasing: g++ 12 at
// -O2 then returns wrong hashes for inputs whose length is not a multiple of
// 4 (seen on Debian 12 with lengths 33 and 40). This file therefore turns
// strict aliasing off for itself. The unit test checks this implementation
// against the upstream golden vectors for every length 0..64.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-strict-aliasing")
#endif

#include "core/dedup_digest.hpp"

#define HH_TARGET_NAME Portable
#include <highwayhash/highwayhash.h>

namespace lifeline::internal {

void HighwayHash128Portable(const std::uint64_t key[4], const char* data, std::size_t size,
                            std::uint64_t out[2]) {
  const highwayhash::HHKey hh_key = {key[0], key[1], key[2], key[3]};
  highwayhash::HHStateT<HH_TARGET> state(hh_key);
  highwayhash::HHResult128 result;
  highwayhash::HighwayHashT(&state, data, size, &result);
  out[0] = result[0];
  out[1] = result[1];
}

}  // namespace lifeline::internal
