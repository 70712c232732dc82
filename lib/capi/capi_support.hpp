// capi_support.hpp -- the helpers every C ABI function is built from.
//
// Each exported function validates its arguments, runs its C++ body inside
// `Guard` so no exception ever crosses the ABI, and reports failures through
// `Fail`, which records the thread-local message `lifeline_last_error()`
// returns. Nothing here is exported.
#ifndef LIFELINE_LIB_CAPI_CAPI_SUPPORT_HPP_
#define LIFELINE_LIB_CAPI_CAPI_SUPPORT_HPP_

#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "lifeline/lifeline.h"
#include "lifeline/status.hpp"

namespace lifeline::capi {

// Records `message` as this thread's last error.
void SetLastError(std::string_view message);

// Records "<function>: <message>" and returns `status`.
lifeline_status Fail(const char* function, lifeline_status status, std::string_view message);

// Records the Status' message and returns its code (LIFELINE_OK clears nothing).
lifeline_status Fail(const char* function, const Status& status);

// Runs `body` (returning lifeline_status), turning any exception into
// LIFELINE_E_INTERNAL with a message instead of letting it cross the ABI.
template <typename Body>
lifeline_status Guard(const char* function, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(function, LIFELINE_E_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return Fail(function, LIFELINE_E_INTERNAL, e.what());
  } catch (...) {
    return Fail(function, LIFELINE_E_INTERNAL, "unknown internal error");
  }
}

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(std::string_view text);

// Validates a NUL-terminated UTF-8 input argument named `name`.
// Returns LIFELINE_OK or LIFELINE_E_INVALID_ARGUMENT with a message.
lifeline_status CheckString(const char* function, const char* name, const char* value);

// Copies `text` and a NUL into `out`. Writes the size needed (including the
// NUL) to `*needed` when it is not NULL, whether or not the copy fits.
lifeline_status CopyOut(const char* function, std::string_view text, char* out,
                        size_t cap, size_t* needed = nullptr);

}  // namespace lifeline::capi

// Returns LIFELINE_E_INVALID_ARGUMENT from the enclosing function when the
// pointer argument is NULL.
#define LIFELINE_REQUIRE_NOT_NULL(function, arg)                                   \
  do {                                                                             \
    if ((arg) == nullptr)                                                          \
      return ::lifeline::capi::Fail(function, LIFELINE_E_INVALID_ARGUMENT,         \
                                    #arg " must not be NULL");                     \
  } while (0)

#endif  // LIFELINE_LIB_CAPI_CAPI_SUPPORT_HPP_
