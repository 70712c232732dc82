// Version, status names and the thread-local last error.
#include "capi/capi_support.hpp"

namespace lifeline::capi {
const char* LastErrorCString();
}

extern "C" {

LIFELINE_API const char* lifeline_version(void) { return LIFELINE_VERSION_STRING; }

LIFELINE_API int lifeline_version_number(void) { return LIFELINE_VERSION_NUMBER; }

LIFELINE_API const char* lifeline_status_str(lifeline_status status) {
  switch (status) {
    case LIFELINE_OK: return "ok";
    case LIFELINE_E_INVALID_ARGUMENT: return "invalid argument";
    case LIFELINE_E_BUFFER_TOO_SMALL: return "buffer too small";
    case LIFELINE_E_NOT_FOUND: return "not found";
    case LIFELINE_E_NONEXISTENT_TIME: return "nonexistent local time";
    case LIFELINE_E_AMBIGUOUS_TIME: return "ambiguous local time";
    case LIFELINE_E_FULL: return "full";
    case LIFELINE_E_RATE_LIMITED: return "rate limited";
    case LIFELINE_E_UNAVAILABLE: return "unavailable";
    case LIFELINE_E_IO: return "I/O error";
    case LIFELINE_E_TIMEOUT: return "timeout";
    case LIFELINE_E_STATE: return "invalid state";
    case LIFELINE_E_DUPLICATE: return "duplicate";
    case LIFELINE_E_INTERNAL: return "internal error";
    case LIFELINE_E_UNAUTHENTICATED: return "unauthenticated";
  }
  return "unknown status";
}

LIFELINE_API const char* lifeline_last_error(void) {
  return lifeline::capi::LastErrorCString();
}

}  // extern "C"
