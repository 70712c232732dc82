// dedup_digest.hpp -- the keyed hash behind DedupCache digests (internal).
//
// DedupCache stores keys as HighwayHash-128 digests (google/highwayhash, from
// Debian's libhighwayhash-dev). HighwayHash is a keyed pseudorandom function
// with a 256-bit key; its output is frozen by the upstream project and is the
// same for every implementation, so digests agree across processes, machines
// and CPU generations for the same key.
//
// The library's headers are used directly (HighwayHashT over HHStateT), one
// translation unit per instruction set, each compiled for its target with a
// pragma (dedup_digest_avx2.cc, dedup_digest_sse41.cc,
// dedup_digest_portable.cc); `BestHighwayHash128()` picks the fastest one the
// CPU supports, once. Every implementation is checked against the upstream
// golden vectors in tests/unit/test_dedup_cache.cpp.
#ifndef LIFELINE_LIB_CORE_DEDUP_DIGEST_HPP_
#define LIFELINE_LIB_CORE_DEDUP_DIGEST_HPP_

#include <cstddef>
#include <cstdint>

namespace lifeline::internal {

// Computes HighwayHash-128 of `data[0, size)` under the four 64-bit key words
// `key` (HighwayHash's HHKey) and stores the two result words in `out`.
using HighwayHash128Fn = void (*)(const std::uint64_t key[4], const char* data,
                                  std::size_t size, std::uint64_t out[2]);

// Plain C++, any CPU.
void HighwayHash128Portable(const std::uint64_t key[4], const char* data, std::size_t size,
                            std::uint64_t out[2]);

#if defined(__x86_64__)
// Need SSE4.1, respectively AVX2 (+BMI2, FMA); call only when the CPU has them.
void HighwayHash128Sse41(const std::uint64_t key[4], const char* data, std::size_t size,
                         std::uint64_t out[2]);
void HighwayHash128Avx2(const std::uint64_t key[4], const char* data, std::size_t size,
                        std::uint64_t out[2]);
#endif

// The implementations this CPU can run, as bits: 1 portable, 2 SSE4.1, 4 AVX2
// (HighwayHash's HH_TARGET_* values).
unsigned SupportedHighwayHashTargets();

// The fastest implementation this CPU can run. Chosen once; thread-safe.
HighwayHash128Fn BestHighwayHash128();

}  // namespace lifeline::internal

#endif  // LIFELINE_LIB_CORE_DEDUP_DIGEST_HPP_
