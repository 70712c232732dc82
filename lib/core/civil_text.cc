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

Status ScanDigits(std::string_view text, std::size_t* pos, int count, int* value,
                  std::string_view what) {
  int v = 0;
  for (int i = 0; i < count; ++i) {
    std::size_t at = *pos + static_cast<std::size_t>(i);
    if (at >= text.size() || text[at] < '0' || text[at] > '9') {
      return InvalidArgument(ExpectedAt(text, at, what));
    }
    v = v * 10 + (text[at] - '0');
  }
  *pos += static_cast<std::size_t>(count);
  *value = v;
  return Status::Ok();
}

Status ScanChar(std::string_view text, std::size_t* pos, char c, std::string_view what) {
  if (*pos >= text.size() || text[*pos] != c) {
    return InvalidArgument(ExpectedAt(text, *pos, what));
  }
  ++*pos;
  return Status::Ok();
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
  *pos = 0;
  Status s = ScanDigits(text, pos, 4, &f->year, "a 4-digit year");
  if (!s.ok()) return s;
  if (f->year < 1) return InvalidArgument(ProblemAt(0, "year must be 0001-9999"));
  if (!(s = ScanChar(text, pos, '-', "'-' after the year")).ok()) return s;
  if (!(s = ScanDigits(text, pos, 2, &f->month, "a 2-digit month")).ok()) return s;
  if (f->month < 1 || f->month > 12) {
    return InvalidArgument(ProblemAt(5, "month must be 01-12"));
  }
  if (!(s = ScanChar(text, pos, '-', "'-' after the month")).ok()) return s;
  if (!(s = ScanDigits(text, pos, 2, &f->day, "a 2-digit day")).ok()) return s;
  if (!IsValidDate(f->year, f->month, f->day)) {
    return InvalidArgument(ProblemAt(8, "day does not exist in that month and year"));
  }
  if (*pos >= text.size() || (text[*pos] != 'T' && text[*pos] != 't')) {
    return InvalidArgument(ExpectedAt(text, *pos, "'T' between the date and the time"));
  }
  ++*pos;
  if (!(s = ScanDigits(text, pos, 2, &f->hour, "a 2-digit hour")).ok()) return s;
  if (f->hour > 23) return InvalidArgument(ProblemAt(11, "hour must be 00-23"));
  if (!(s = ScanChar(text, pos, ':', "':' after the hour")).ok()) return s;
  if (!(s = ScanDigits(text, pos, 2, &f->minute, "a 2-digit minute")).ok()) return s;
  if (f->minute > 59) return InvalidArgument(ProblemAt(14, "minute must be 00-59"));
  return Status::Ok();
}

}  // namespace lifeline::civil_text
