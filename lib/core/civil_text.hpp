// civil_text.hpp -- the lexer shared by the RFC 3339 and the local-time
// parsers (internal; not installed).
//
// Both formats begin with "YYYY-MM-DDTHH:MM". `ScanDateHourMinute` reads that
// prefix strictly, checks every field's range and the calendar date, and
// reports the first problem as "position N: ..." with N the 0-based byte
// offset, which is what lifeline_last_error() shows to a C caller.
#ifndef LIFELINE_LIB_CORE_CIVIL_TEXT_HPP_
#define LIFELINE_LIB_CORE_CIVIL_TEXT_HPP_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lifeline/status.hpp"

namespace lifeline::civil_text {

// The fields read so far. Every field is range-checked when set.
struct Fields {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// "position N: <what went wrong>; expected <what>". Distinguishes the end of
// the text and a non-ASCII byte from an ordinary wrong character.
std::string ExpectedAt(std::string_view text, std::size_t pos, std::string_view what);

// "position N: <problem>".
std::string ProblemAt(std::size_t pos, std::string_view problem);

// Reads exactly `count` ASCII digits at `*pos` into `*value` and advances
// `*pos`. On failure returns false, leaves `*pos` alone and sets `*fail_at`
// to the offending position. Builds no Status (the parsers' hot path).
inline bool ReadDigits(std::string_view text, std::size_t* pos, int count, int* value,
                       std::size_t* fail_at) {
  int v = 0;
  for (std::size_t i = *pos, end = *pos + static_cast<std::size_t>(count); i < end; ++i) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') {
      *fail_at = i;
      return false;
    }
    v = v * 10 + (text[i] - '0');
  }
  *pos += static_cast<std::size_t>(count);
  *value = v;
  return true;
}

// Requires the character `c` at `*pos` and advances past it; on failure
// returns false and sets `*fail_at`.
inline bool ReadChar(std::string_view text, std::size_t* pos, char c, std::size_t* fail_at) {
  if (*pos >= text.size() || text[*pos] != c) {
    *fail_at = *pos;
    return false;
  }
  ++*pos;
  return true;
}

// Reads "YYYY-MM-DD" then 'T' or 't' then "HH:MM" from position 0. Checks
// year 0001-9999, month 01-12, that the day exists in that month and year,
// hour 00-23 and minute 00-59. On success `*pos` is just past the minute.
Status ScanDateHourMinute(std::string_view text, Fields* fields, std::size_t* pos);

// Days since 1970-01-01 of a valid proleptic Gregorian date (Howard
// Hinnant's days_from_civil, through date::sys_days).
std::int64_t DaysFromCivil(int year, int month, int day);

// True when year/month/day is a real date.
bool IsValidDate(int year, int month, int day);

}  // namespace lifeline::civil_text

#endif  // LIFELINE_LIB_CORE_CIVIL_TEXT_HPP_
