// The checks the fuzz targets share: a failed one aborts, which libFuzzer
// reports as a crash with the input that caused it.
#ifndef LIFELINE_TESTS_FUZZ_FUZZ_CHECKS_HPP_
#define LIFELINE_TESTS_FUZZ_FUZZ_CHECKS_HPP_

#include <cstdlib>

#include "lifeline/status.hpp"

namespace lifeline::fuzz {

inline void Require(bool ok) {
  if (!ok) std::abort();
}

// Bad input must come back as an error that says what is wrong.
inline void RequireMessage(const Status& s) { Require(s.ok() || !s.message().empty()); }

template <typename T>
void RequireMessage(const Result<T>& r) {
  Require(r.ok() || !r.status().message().empty());
}

}  // namespace lifeline::fuzz

#endif  // LIFELINE_TESTS_FUZZ_FUZZ_CHECKS_HPP_
