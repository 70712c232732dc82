#include "core/civil_text.hpp"

#include <date/date.h>

namespace lifeline::civil_text {

std::string ProblemAt(std::size_t pos, std::string_view problem) {
  std::string m = "position " + std::to_string(pos) + ": ";
  m.append(problem);
  return m;
}

std::string ExpectedAt(std::string_view text, std::size_t pos, std::string_view what) {
  std::string m = "position " + std::to_string(pos) + ": ";
  if (pos >= text.size()) {
    m += "unexpected end of text; expected ";
  } else if (static_cast<unsigned char>(text[pos]) >= 0x80) {
    m += "non-ASCII byte; expected ";
  } else {
    m += "expected ";
  }
  m.append(what);
  return m;
}

bool IsValidDate(int year, int month, int day) {
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  return date::year_month_day{date::year{year}, date::month{static_cast<unsigned>(month)},
                              date::day{static_cast<unsigned>(day)}}
      .ok();
}

std::int64_t DaysFromCivil(int year, int month, int day) {
  const date::sys_days days{date::year{year} / date::month{static_cast<unsigned>(month)} /
                            date::day{static_cast<unsigned>(day)}};
  return days.time_since_epoch().count();
}

Status ScanDateHourMinute(std::string_view text, Fields* f, std::size_t* pos) {
  // The happy path builds no Status: each step only says where it failed.
  *pos = 0;
  std::size_t at = 0;
  const char* what = nullptr;
  if (!ReadDigits(text, pos, 4, &f->year, &at)) {
    what = "a 4-digit year";
  } else if (f->year < 1) {
    return InvalidArgument(ProblemAt(0, "year must be 0001-9999"));
  } else if (!ReadChar(text, pos, '-', &at)) {
    what = "'-' after the year";
  } else if (!ReadDigits(text, pos, 2, &f->month, &at)) {
    what = "a 2-digit month";
  } else if (f->month < 1 || f->month > 12) {
    return InvalidArgument(ProblemAt(5, "month must be 01-12"));
  } else if (!ReadChar(text, pos, '-', &at)) {
    what = "'-' after the month";
  } else if (!ReadDigits(text, pos, 2, &f->day, &at)) {
    what = "a 2-digit day";
  } else if (!IsValidDate(f->year, f->month, f->day)) {
    return InvalidArgument(ProblemAt(8, "day does not exist in that month and year"));
  } else if (!ReadChar(text, pos, 'T', &at) && !ReadChar(text, pos, 't', &at)) {
    what = "'T' between the date and the time";
  } else if (!ReadDigits(text, pos, 2, &f->hour, &at)) {
    what = "a 2-digit hour";
  } else if (f->hour > 23) {
    return InvalidArgument(ProblemAt(11, "hour must be 00-23"));
  } else if (!ReadChar(text, pos, ':', &at)) {
    what = "':' after the hour";
  } else if (!ReadDigits(text, pos, 2, &f->minute, &at)) {
    what = "a 2-digit minute";
  } else if (f->minute > 59) {
    return InvalidArgument(ProblemAt(14, "minute must be 00-59"));
  }
  if (what != nullptr) return InvalidArgument(ExpectedAt(text, at, what));
  return Status::Ok();
}

}  // namespace lifeline::civil_text
