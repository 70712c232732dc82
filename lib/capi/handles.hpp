// handles.hpp -- the structs behind the C ABI's opaque handles.
//
// Each C handle holds one C++ object (as in LevelDB's db/c.cc). Handles that
// other handles refer to (clocks) are held by shared_ptr so a component keeps
// its clock alive even if the host frees the C handle first.
#ifndef LIFELINE_LIB_CAPI_HANDLES_HPP_
#define LIFELINE_LIB_CAPI_HANDLES_HPP_

#include <memory>

#include "lifeline/clock.hpp"

struct lifeline_clock_t {
  std::shared_ptr<lifeline::Clock> clock;
  lifeline::ManualClock* manual;  // non-null when `clock` is a ManualClock
};

#endif  // LIFELINE_LIB_CAPI_HANDLES_HPP_
