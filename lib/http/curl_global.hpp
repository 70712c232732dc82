// curl_global.hpp -- libcurl's process-wide initialisation, done once.
//
// Overview: `curl_global_init` must run before any other libcurl call and,
// in libcurl older than 7.84, is not thread-safe. Every Lifeline component
// that touches libcurl calls `EnsureCurlGlobalInit()` first; the first call
// initialises (under std::call_once), later calls return the same result.
// Lifeline never calls `curl_global_cleanup`: it is embedded in host
// processes that may use libcurl themselves, and process exit reclaims it.
#ifndef LIFELINE_LIB_HTTP_CURL_GLOBAL_HPP_
#define LIFELINE_LIB_HTTP_CURL_GLOBAL_HPP_

#include "lifeline/status.hpp"

namespace lifeline {

// Initialises libcurl (CURL_GLOBAL_DEFAULT) once per process. Thread-safe.
// Returns OK, or kInternal when libcurl could not be initialised.
Status EnsureCurlGlobalInit();

}  // namespace lifeline

#endif  // LIFELINE_LIB_HTTP_CURL_GLOBAL_HPP_
