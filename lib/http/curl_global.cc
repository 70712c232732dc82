// curl_global.cc -- see curl_global.hpp.
#include "http/curl_global.hpp"

#include <curl/curl.h>

#include <mutex>
#include <string>

namespace lifeline {

Status EnsureCurlGlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    return InternalError(std::string("curl_global_init failed: ") + curl_easy_strerror(result));
  }
  return Status::Ok();
}

}  // namespace lifeline
