// Strict RFC 3339: see include/lifeline/rfc3339.hpp for the rules.
#include "lifeline/rfc3339.hpp"

#include <date/date.h>

#include <cstdint>

#include "core/civil_text.hpp"

namespace lifeline {
namespace {

using civil_text::ExpectedAt;
using civil_text::ProblemAt;
using civil_text::ReadChar;
using civil_text::ReadDigits;

constexpr std::int64_t kMillisPerDay = 86'400'000;

constexpr std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

void Put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

Result<UnixMillis> ParseRfc3339(std::string_view text) {
  constexpr const char* kOffset = "a time offset ('Z', 'z', '+hh:mm' or '-hh:mm')";
  civil_text::Fields f;
  std::size_t pos = 0;
  if (Status s = civil_text::ScanDateHourMinute(text, &f, &pos); !s.ok()) return s;
  std::size_t at = 0;
  if (!ReadChar(text, &pos, ':', &at)) {
    return InvalidArgument(ExpectedAt(text, at, "':' after the minute"));
  }
  const std::size_t second_pos = pos;
  if (!ReadDigits(text, &pos, 2, &f.second, &at)) {
    return InvalidArgument(ExpectedAt(text, at, "a 2-digit second"));
  }
  if (f.second > 60) return InvalidArgument(ProblemAt(second_pos, "second must be 00-60"));

  // Fraction: any number of digits, truncated to milliseconds.
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    if (pos >= text.size() || text[pos] < '0' || text[pos] > '9') {
      return InvalidArgument(ExpectedAt(text, pos, "a digit after '.'"));
    }
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    for (; digits < 3; ++digits) millis *= 10;
  }

  // Offset: Z, z, +hh:mm or -hh:mm.
  int offset_minutes = 0;
  if (pos >= text.size()) return InvalidArgument(ExpectedAt(text, pos, kOffset));
  const char sign = text[pos];
  if (sign == 'Z' || sign == 'z') {
    ++pos;
  } else if (sign == '+' || sign == '-') {
    ++pos;
    int oh = 0;
    int om = 0;
    const std::size_t oh_pos = pos;
    if (!ReadDigits(text, &pos, 2, &oh, &at)) {
      return InvalidArgument(ExpectedAt(text, at, "a 2-digit offset hour"));
    }
    if (oh > 23) return InvalidArgument(ProblemAt(oh_pos, "offset hour must be 00-23"));
    if (!ReadChar(text, &pos, ':', &at)) {
      return InvalidArgument(ExpectedAt(text, at, "':' inside the offset (+hh:mm)"));
    }
    const std::size_t om_pos = pos;
    if (!ReadDigits(text, &pos, 2, &om, &at)) {
      return InvalidArgument(ExpectedAt(text, at, "a 2-digit offset minute"));
    }
    if (om > 59) return InvalidArgument(ProblemAt(om_pos, "offset minute must be 00-59"));
    offset_minutes = (oh * 60 + om) * (sign == '-' ? -1 : 1);
  } else {
    return InvalidArgument(ExpectedAt(text, pos, kOffset));
  }
  if (pos != text.size()) {
    return InvalidArgument(ExpectedAt(text, pos, "the end of the text after the offset"));
  }

  // Second 60: only at 23:59:60 UTC, read as 23:59:59 (fraction kept).
  if (f.second == 60) {
    const int utc_minute_of_day = ((f.hour * 60 + f.minute - offset_minutes) % 1440 + 1440) % 1440;
    if (utc_minute_of_day != 23 * 60 + 59) {
      return InvalidArgument(ProblemAt(
          second_pos, "second 60 (a leap second) is accepted only at 23:59:60 UTC"));
    }
    f.second = 59;
  }

  const std::int64_t days = civil_text::DaysFromCivil(f.year, f.month, f.day);
  const std::int64_t local_ms =
      days * kMillisPerDay +
      ((f.hour * 60 + f.minute) * 60 + f.second) * std::int64_t{1000} + millis;
  const UnixMillis utc = local_ms - std::int64_t{offset_minutes} * 60'000;
  if (utc < kEarliestUnixMillis || utc > kLatestUnixMillis) {
    return InvalidArgument(ProblemAt(
        0, "the instant is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z"));
  }
  return utc;
}

Status FormatRfc3339(UnixMillis t, char (&out)[kRfc3339BufferSize]) {
  if (t < kEarliestUnixMillis || t > kLatestUnixMillis) {
    return InvalidArgument(
        "unix_ms is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z "
        "(-62135596800000..253402300799999)");
  }
  const std::int64_t days = FloorDiv(t, kMillisPerDay);
  std::int64_t ms_of_day = t - days * kMillisPerDay;  // 0 .. 86'399'999
  const date::year_month_day ymd{date::sys_days{date::days{days}}};
  const unsigned year = static_cast<unsigned>(static_cast<int>(ymd.year()));
  const unsigned ms = static_cast<unsigned>(ms_of_day % 1000);
  ms_of_day /= 1000;
  const unsigned sec = static_cast<unsigned>(ms_of_day % 60);
  ms_of_day /= 60;
  const unsigned min = static_cast<unsigned>(ms_of_day % 60);
  const unsigned hour = static_cast<unsigned>(ms_of_day / 60);
  char* p = out;
  Put2(p, year / 100);
  Put2(p + 2, year % 100);
  p[4] = '-';
  Put2(p + 5, static_cast<unsigned>(ymd.month()));
  p[7] = '-';
  Put2(p + 8, static_cast<unsigned>(ymd.day()));
  p[10] = 'T';
  Put2(p + 11, hour);
  p[13] = ':';
  Put2(p + 14, min);
  p[16] = ':';
  Put2(p + 17, sec);
  p[19] = '.';
  p[20] = static_cast<char>('0' + ms / 100);
  Put2(p + 21, ms % 100);
  p[23] = 'Z';
  p[24] = '\0';
  return Status::Ok();
}

Result<std::string> FormatRfc3339(UnixMillis t) {
  char buffer[kRfc3339BufferSize];
  Status s = FormatRfc3339(t, buffer);
  if (!s.ok()) return s;
  return std::string(buffer, kRfc3339BufferSize - 1);
}

}  // namespace lifeline
