// Picks the HighwayHash-128 implementation for this CPU (see dedup_digest.hpp).
#include "core/dedup_digest.hpp"

namespace lifeline::internal {

unsigned SupportedHighwayHashTargets() {
  unsigned targets = 1;  // portable
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.1")) targets |= 2;
  // The AVX2 implementation also uses BMI2 and FMA instructions.
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
      __builtin_cpu_supports("fma")) {
    targets |= 4;
  }
#endif
  return targets;
}

HighwayHash128Fn BestHighwayHash128() {
  static const HighwayHash128Fn best = [] {
#if defined(__x86_64__)
    const unsigned targets = SupportedHighwayHashTargets();
    if (targets & 4) return &HighwayHash128Avx2;
    if (targets & 2) return &HighwayHash128Sse41;
#endif
    return &HighwayHash128Portable;
  }();
  return best;
}

}  // namespace lifeline::internal
