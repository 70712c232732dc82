// libFuzzer target for ParseRetryAfter: any bytes, any `now`. Checks that it
// never crashes, never returns a negative delay, and that delay-seconds never
// exceed the documented saturation.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "lifeline/retry_after.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::uint64_t raw = 0;
  std::memcpy(&raw, data, sizeof raw);
  // Mostly within the years 0001-9999 where dates are parsed, sometimes not.
  const std::int64_t now = static_cast<std::int64_t>(raw % 400000000000000ULL) - 62135596800000LL;
  std::string_view value(reinterpret_cast<const char*>(data + 8), size - 8);
  auto r = lifeline::ParseRetryAfter(value, now);
  if (r.ok()) {
    if (*r < 0) std::abort();
    const bool digits = !value.empty() && value.find_first_not_of("0123456789 \t") ==
                                              std::string_view::npos;
    if (digits && *r > lifeline::kMaxRetryAfterSecondsMillis) std::abort();
  } else if (r.status().message().empty()) {
    std::abort();
  }
  return 0;
}
