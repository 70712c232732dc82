// libFuzzer target for the strict RFC 3339 parser.
//
// Every input must either be refused with a "position N:" InvalidArgument,
// or parse to an instant that formats (YYYY-MM-DDTHH:MM:SS.sssZ) and parses
// back to the same millisecond; the formatted text must be a fixed point.
// The C entry point must agree with the C++ one.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "lifeline/lifeline.h"
#include "lifeline/rfc3339.hpp"

namespace {
void Fail(const char* what) {
  std::fprintf(stderr, "fuzz_rfc3339: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const lifeline::Result<lifeline::UnixMillis> parsed = lifeline::ParseRfc3339(text);

  // The C ABI sees the text up to its first NUL; it must agree when the
  // text has none and is valid UTF-8 (or fail cleanly otherwise).
  const std::string c_text(text);
  int64_t c_ms = 0;
  const lifeline_status c_status = lifeline_rfc3339_parse(c_text.c_str(), &c_ms);
  if (std::memchr(data, 0, size) == nullptr) {
    if (parsed.ok() && (c_status != LIFELINE_OK || c_ms != *parsed)) Fail("C and C++ disagree");
    if (!parsed.ok() && c_status != LIFELINE_E_INVALID_ARGUMENT) Fail("C accepted a refusal");
  }

  if (!parsed.ok()) {
    if (parsed.status().code() != lifeline::StatusCode::kInvalidArgument) Fail("wrong code");
    if (parsed.status().message().rfind("position ", 0) != 0) Fail("no position in message");
    return 0;
  }
  char out[lifeline::kRfc3339BufferSize];
  if (!lifeline::FormatRfc3339(*parsed, out).ok()) Fail("a parsed instant does not format");
  if (std::strlen(out) != lifeline::kRfc3339BufferSize - 1) Fail("formatted length");
  const lifeline::Result<lifeline::UnixMillis> again = lifeline::ParseRfc3339(out);
  if (!again.ok() || *again != *parsed) Fail("format then parse is not the identity");
  char out2[lifeline::kRfc3339BufferSize];
  if (!lifeline::FormatRfc3339(*again, out2).ok() || std::strcmp(out, out2) != 0) {
    Fail("formatted text is not a fixed point");
  }
  return 0;
}
