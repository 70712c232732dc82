#include "capi/capi_support.hpp"

#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>

namespace lifeline::capi {
namespace {
thread_local std::string t_last_error;
}  // namespace

const char* LastErrorCString() { return t_last_error.c_str(); }

void SetLastError(std::string_view message) { t_last_error.assign(message); }

lifeline_status Fail(const char* function, lifeline_status status, std::string_view message) {
  std::string text(function);
  text += ": ";
  text.append(message);
  t_last_error = std::move(text);
  return status;
}

lifeline_status Fail(const char* function, const Status& status) {
  if (status.ok()) return LIFELINE_OK;
  return Fail(function, status.c_status(), status.message());
}

bool IsValidUtf8(std::string_view text) {
  rapidjson::MemoryStream stream(text.data(), text.size());
  while (stream.Tell() < text.size()) {
    unsigned codepoint = 0;
    if (!rapidjson::UTF8<>::Decode(stream, &codepoint)) return false;
  }
  return true;
}

lifeline_status CheckString(const char* function, const char* name, const char* value) {
  if (value == nullptr) {
    return Fail(function, LIFELINE_E_INVALID_ARGUMENT, std::string(name) + " must not be NULL");
  }
  if (!IsValidUtf8(value)) {
    return Fail(function, LIFELINE_E_INVALID_ARGUMENT, std::string(name) + " is not valid UTF-8");
  }
  return LIFELINE_OK;
}

lifeline_status CopyOut(const char* function, std::string_view text, char* out, size_t cap,
                        size_t* needed) {
  if (needed != nullptr) *needed = text.size() + 1;
  if (out == nullptr) {
    return Fail(function, LIFELINE_E_INVALID_ARGUMENT, "out must not be NULL");
  }
  if (cap < text.size() + 1) {
    if (cap > 0) out[0] = '\0';
    return Fail(function, LIFELINE_E_BUFFER_TOO_SMALL,
                "buffer of " + std::to_string(cap) + " bytes is too small; " +
                    std::to_string(text.size() + 1) + " needed");
  }
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
  return LIFELINE_OK;
}

}  // namespace lifeline::capi
