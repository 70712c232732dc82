// ParseRetryAfter (see include/lifeline/retry_after.hpp).
//
// The grammar of each form is checked here character by character (so that
// "Sun, 6 Nov 1994 8:49:37 GMT" is refused where RFC 9110 wants 2DIGIT);
// the calendar (valid days, day names, months, leap years) is left to the
// date library's `date::parse`.
#include "lifeline/retry_after.hpp"

// GCC 12 reports a false "may be used uninitialized" inside date::parse's
// seconds handling (date.h, from_stream); the variable is always written
// before it is read.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <date/date.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <locale>
#include <optional>
#include <sstream>
#include <string>

#include "lifeline/rfc3339.hpp"

namespace lifeline {
namespace {

using Millis = std::chrono::milliseconds;
using SysMillis = date::sys_time<Millis>;

bool IsOws(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view TrimOws(std::string_view v) {
  while (!v.empty() && IsOws(v.front())) v.remove_prefix(1);
  while (!v.empty() && IsOws(v.back())) v.remove_suffix(1);
  return v;
}

// Matches `text` against `shape`, where 'a' is an ASCII letter, 'd' a digit,
// '?' a digit or a space, and any other character stands for itself.
// Returns the 0-based position of the first mismatch, or npos.
std::size_t MatchShape(std::string_view text, std::string_view shape) {
  const std::size_t n = std::min(text.size(), shape.size());
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    bool ok = false;
    switch (shape[i]) {
      case 'a': ok = IsAlpha(c); break;
      case 'd': ok = IsDigit(c); break;
      case '?': ok = IsDigit(c) || c == ' '; break;
      default: ok = c == shape[i]; break;
    }
    if (!ok) return i;
  }
  if (text.size() != shape.size()) return n;
  return std::string_view::npos;
}

Status ShapeError(const char* form, std::size_t position, std::size_t offset,
                  std::string_view text, std::string_view shape) {
  std::string msg = "Retry-After: not a valid ";
  msg += form;
  if (position >= text.size()) {
    msg += ": the value ends early at position ";
  } else if (position >= shape.size()) {
    msg += ": unexpected extra character at position ";
  } else {
    msg += ": unexpected character at position ";
  }
  msg += std::to_string(position + offset);
  if (position >= shape.size()) return InvalidArgument(msg);
  switch (shape[position]) {
    case 'a': msg += " (expected a letter)"; break;
    case 'd': msg += " (expected a digit)"; break;
    case '?': msg += " (expected a digit or a space)"; break;
    default: msg += std::string(" (expected '") + shape[position] + "')"; break;
  }
  return InvalidArgument(msg);
}

// Runs date::parse over `text` with `format` in the classic locale and
// requires the whole text to be consumed.
std::optional<date::sys_seconds> DateParse(const std::string& text, const char* format) {
  std::istringstream in(text);
  in.imbue(std::locale::classic());
  date::sys_seconds tp{};
  in >> date::parse(format, tp);
  if (in.fail()) return std::nullopt;
  if (in.peek() != std::char_traits<char>::eof()) return std::nullopt;
  return tp;
}

// Handles second 60 in the time-of-day at `time_pos` ("HH:MM:SS") of `text`:
// allowed only as 23:59:60, which is rewritten to 23:59:59 and reported
// through `leap` so that the caller adds the second back.
Status PrepareLeapSecond(std::string& text, std::size_t time_pos, std::size_t base, bool* leap) {
  *leap = false;
  if (text.compare(time_pos + 6, 2, "60") != 0) return Status::Ok();
  if (text.compare(time_pos, 5, "23:59") != 0) {
    return InvalidArgument("Retry-After: second 60 at position " + std::to_string(base + time_pos + 6) +
                           " is only valid at 23:59:60 (a leap second)");
  }
  text[time_pos + 6] = '5';
  text[time_pos + 7] = '9';
  *leap = true;
  return Status::Ok();
}

Status NoSuchDate(const char* form) {
  return InvalidArgument(std::string("Retry-After: not a valid ") + form +
                         ": no such date or time, or the day name does not match the date");
}

DurationMillis DelayUntil(SysMillis when, UnixMillis now) {
  const std::int64_t target = when.time_since_epoch().count();
  return target > now ? target - now : 0;
}

Result<DurationMillis> ParseDelaySeconds(std::string_view v, std::size_t base) {
  constexpr std::int64_t kMaxSeconds = 2147483648LL;  // 2^31, RFC 9111 1.2.2
  std::int64_t seconds = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!IsDigit(v[i])) {
      return InvalidArgument("Retry-After: delay-seconds has a non-digit at position " +
                             std::to_string(base + i));
    }
    if (seconds < kMaxSeconds) seconds = seconds * 10 + (v[i] - '0');
  }
  return std::min(seconds, kMaxSeconds) * 1000;
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
Result<DurationMillis> ParseImfFixdate(std::string_view v, UnixMillis now, std::size_t base) {
  static constexpr std::string_view kShape = "aaa, dd aaa dddd dd:dd:dd GMT";
  if (std::size_t bad = MatchShape(v, kShape); bad != std::string_view::npos) {
    return ShapeError("IMF-fixdate", bad, base, v, kShape);
  }
  std::string text(v);
  bool leap = false;
  if (Status s = PrepareLeapSecond(text, 17, base, &leap); !s.ok()) return s;
  auto tp = DateParse(text, "%a, %d %b %Y %H:%M:%S GMT");
  if (!tp) return NoSuchDate("IMF-fixdate");
  return DelayUntil(*tp + std::chrono::seconds(leap ? 1 : 0), now);
}

// asctime-date: "Sun Nov  6 08:49:37 1994".
Result<DurationMillis> ParseAsctime(std::string_view v, UnixMillis now, std::size_t base) {
  static constexpr std::string_view kShape = "aaa aaa ?d dd:dd:dd dddd";
  if (std::size_t bad = MatchShape(v, kShape); bad != std::string_view::npos) {
    return ShapeError("asctime date", bad, base, v, kShape);
  }
  std::string text(v);
  bool leap = false;
  if (Status s = PrepareLeapSecond(text, 11, base, &leap); !s.ok()) return s;
  auto tp = DateParse(text, "%a %b %e %H:%M:%S %Y");
  if (!tp) return NoSuchDate("asctime date");
  return DelayUntil(*tp + std::chrono::seconds(leap ? 1 : 0), now);
}

// rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT". The two-digit year is
// placed per RFC 9110 5.6.7 relative to `now`, so the day name can only be
// checked after that.
Result<DurationMillis> ParseRfc850(std::string_view v, UnixMillis now, std::size_t base) {
  static constexpr std::string_view kShape = ", dd-aaa-dd dd:dd:dd GMT";
  std::size_t name_len = 0;
  while (name_len < v.size() && IsAlpha(v[name_len])) ++name_len;
  if (name_len < 6 || name_len > 9) {
    return InvalidArgument(
        "Retry-After: not a valid RFC 850 date: the day name at position " +
        std::to_string(base) + " must be a full day name such as Sunday");
  }
  std::string_view rest = v.substr(name_len);
  if (std::size_t bad = MatchShape(rest, kShape); bad != std::string_view::npos) {
    return ShapeError("RFC 850 date", bad, base + name_len, rest, kShape);
  }
  std::string text(rest.substr(2));  // "06-Nov-94 08:49:37 GMT"
  bool leap = false;
  if (Status s = PrepareLeapSecond(text, 10, base + name_len + 2, &leap); !s.ok()) return s;
  auto parsed = DateParse(text, "%d-%b-%y %H:%M:%S GMT");
  if (!parsed) return NoSuchDate("RFC 850 date");

  const date::sys_days parsed_day = date::floor<date::days>(*parsed);
  const auto time_of_day = *parsed - parsed_day;
  const date::year_month_day ymd{parsed_day};
  const int two_digits = static_cast<int>(ymd.year()) % 100;

  // "Not more than 50 years in the future": the limit is now + 50 years.
  const SysMillis now_tp{Millis{now}};
  const date::sys_days now_day = date::floor<date::days>(now_tp);
  const date::year_month_day now_ymd{now_day};
  date::year_month_day limit_ymd = (now_ymd.year() + date::years{50}) / now_ymd.month() / now_ymd.day();
  if (!limit_ymd.ok()) limit_ymd = limit_ymd.year() / limit_ymd.month() / date::last;  // Feb 29
  const SysMillis limit = date::sys_days{limit_ymd} + (now_tp - now_day);

  const int now_year = static_cast<int>(now_ymd.year());
  const int century = now_year - ((now_year % 100) + 100) % 100;
  // The candidates with these two digits in the centuries around `now`; the
  // latest one not after the limit is the year. The instant used to compare
  // is formed from the first of the month so that a day that does not exist
  // in some candidate year (29 Feb) still orders correctly; the day itself
  // is checked once the year is chosen.
  std::optional<int> chosen_year;
  for (int year = century + 100 + two_digits; year >= century - 100; year -= 100) {
    const SysMillis t = date::sys_days{date::year{year} / ymd.month() / 1} +
                        date::days{static_cast<unsigned>(ymd.day()) - 1} + time_of_day;
    if (t <= limit) {
      chosen_year = year;
      break;
    }
  }
  if (!chosen_year) return NoSuchDate("RFC 850 date");
  const date::year_month_day chosen_ymd = date::year{*chosen_year} / ymd.month() / ymd.day();
  if (!chosen_ymd.ok()) return NoSuchDate("RFC 850 date");
  const std::optional<SysMillis> chosen = date::sys_days{chosen_ymd} + time_of_day;

  // The full day name must match the date finally chosen.
  const date::weekday wd{date::floor<date::days>(*chosen)};
  std::string expected = date::format(std::locale::classic(), "%A", wd);
  std::string_view given = v.substr(0, name_len);
  const bool same = given.size() == expected.size() &&
                    std::equal(given.begin(), given.end(), expected.begin(), [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) ==
                             std::tolower(static_cast<unsigned char>(b));
                    });
  if (!same) return NoSuchDate("RFC 850 date");
  return DelayUntil(*chosen + std::chrono::seconds(leap ? 1 : 0), now);
}

}  // namespace

Result<DurationMillis> ParseRetryAfter(std::string_view value, UnixMillis now) {
  // Positions in messages count from the start of `value`, whitespace
  // included.
  const std::string_view v = TrimOws(value);
  if (v.empty()) return InvalidArgument("Retry-After: the value is empty");
  const std::size_t base = static_cast<std::size_t>(v.data() - value.data());
  if (IsDigit(v.front())) return ParseDelaySeconds(v, base);
  if (!IsAlpha(v.front())) {
    return InvalidArgument("Retry-After: position " + std::to_string(base) +
                           " starts neither delay-seconds (a digit) nor an HTTP-date "
                           "(a day name)");
  }
  if (now < kEarliestUnixMillis || now > kLatestUnixMillis) {
    return InvalidArgument("Retry-After: now is outside the years 0001-9999");
  }
  const std::size_t comma = v.find(',');
  if (comma == 3) return ParseImfFixdate(v, now, base);
  if (comma != std::string_view::npos) return ParseRfc850(v, now, base);
  return ParseAsctime(v, now, base);
}

}  // namespace lifeline
