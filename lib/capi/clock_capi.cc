// C ABI over lifeline::Clock.
#include <memory>

#include "capi/capi_support.hpp"
#include "capi/handles.hpp"
#include "lifeline/clock.hpp"

using lifeline::capi::Fail;
using lifeline::capi::Guard;

extern "C" {

LIFELINE_API lifeline_status lifeline_clock_new_system(lifeline_clock_t** out) {
  static constexpr const char* kFn = "lifeline_clock_new_system";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] {
    *out = new lifeline_clock_t{std::make_shared<lifeline::SystemClock>(), nullptr};
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_clock_new_manual(int64_t start_unix_ms,
                                                       lifeline_clock_t** out) {
  static constexpr const char* kFn = "lifeline_clock_new_manual";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] {
    auto manual = std::make_shared<lifeline::ManualClock>(start_unix_ms);
    *out = new lifeline_clock_t{manual, manual.get()};
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_clock_now(const lifeline_clock_t* clock,
                                                int64_t* out_unix_ms) {
  static constexpr const char* kFn = "lifeline_clock_now";
  LIFELINE_REQUIRE_NOT_NULL(kFn, clock);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_unix_ms);
  *out_unix_ms = clock->clock->Now();
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_clock_advance(lifeline_clock_t* clock, int64_t delta_ms) {
  static constexpr const char* kFn = "lifeline_clock_advance";
  LIFELINE_REQUIRE_NOT_NULL(kFn, clock);
  if (clock->manual == nullptr) {
    return Fail(kFn, LIFELINE_E_STATE, "only a manual clock can be advanced");
  }
  if (delta_ms < 0) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, "delta_ms must be >= 0; time never goes back");
  }
  clock->manual->Advance(delta_ms);
  return LIFELINE_OK;
}

LIFELINE_API lifeline_status lifeline_clock_set(lifeline_clock_t* clock, int64_t unix_ms) {
  static constexpr const char* kFn = "lifeline_clock_set";
  LIFELINE_REQUIRE_NOT_NULL(kFn, clock);
  if (clock->manual == nullptr) {
    return Fail(kFn, LIFELINE_E_STATE, "only a manual clock can be set");
  }
  if (!clock->manual->Set(unix_ms)) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "unix_ms is earlier than the clock's current time; time never goes back");
  }
  return LIFELINE_OK;
}

LIFELINE_API void lifeline_clock_free(lifeline_clock_t* clock) { delete clock; }

}  // extern "C"
