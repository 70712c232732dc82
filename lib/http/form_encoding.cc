// form_encoding.cc -- see form_encoding.hpp.
#include "http/form_encoding.hpp"

#include <curl/curl.h>

#include "http/curl_global.hpp"

namespace lifeline {
namespace {

// CURL_MAX_INPUT_LENGTH in libcurl's sources; curl_easy_escape refuses more.
constexpr std::size_t kMaxEscapeInput = 8000000;

}  // namespace

Result<std::string> UrlEncode(std::string_view text) {
  if (text.empty()) return std::string();
  if (text.size() > kMaxEscapeInput) {
    return InvalidArgument("text to URL-encode is longer than 8000000 bytes");
  }
  Status init = EnsureCurlGlobalInit();
  if (!init.ok()) return init;
  // The handle argument is ignored since libcurl 7.82.0. A non-zero length
  // keeps embedded NULs.
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (escaped == nullptr) return InternalError("curl_easy_escape failed (out of memory)");
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

Result<std::string> EncodeFormBody(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& field : fields) {
    Result<std::string> name = UrlEncode(field.first);
    if (!name.ok()) return name.status();
    Result<std::string> value = UrlEncode(field.second);
    if (!value.ok()) return value.status();
    if (!body.empty()) body += '&';
    body += *name;
    body += '=';
    body += *value;
  }
  return body;
}

}  // namespace lifeline
