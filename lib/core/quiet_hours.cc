// quiet_hours.cc -- quiet hours through the tz database (see quiet_hours.hpp).
#include "lifeline/quiet_hours.hpp"

#include <chrono>
#include <exception>

#include <date/tz.h>

namespace lifeline {
namespace {

const date::time_zone* FindZone(std::string_view zone) {
  try {
    return date::locate_zone(std::string(zone));
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

Result<int> ParseLocalMinute(std::string_view s) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (s.size() != 5 || !digit(s[0]) || !digit(s[1]) || s[2] != ':' || !digit(s[3]) ||
      !digit(s[4])) {
    return InvalidArgument("expected a local time \"HH:MM\"");
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return InvalidArgument("expected a local time \"HH:MM\" from 00:00 to 23:59");
  return h * 60 + m;
}

Status ValidateTimeZone(std::string_view zone) {
  if (FindZone(zone) == nullptr) return InvalidArgument("unknown IANA time zone");
  return Status::Ok();
}

Result<std::optional<UnixMillis>> QuietHoursEnd(const QuietHours& quiet, std::string_view zone,
                                                UnixMillis now) {
  const date::time_zone* tz = FindZone(zone);
  if (tz == nullptr) return InvalidArgument("unknown IANA time zone");
  if (!quiet.enabled()) return std::optional<UnixMillis>();
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  date::sys_time<milliseconds> sys{milliseconds(now)};
  auto local = tz->to_local(sys);
  auto day = date::floor<date::days>(local);
  int minute = static_cast<int>(date::floor<minutes>(local - day).count());
  bool wraps = quiet.start_minute > quiet.end_minute;
  bool inside = wraps ? (minute >= quiet.start_minute || minute < quiet.end_minute)
                      : (minute >= quiet.start_minute && minute < quiet.end_minute);
  if (!inside) return std::optional<UnixMillis>();
  auto end_day = (wraps && minute >= quiet.start_minute) ? day + date::days(1) : day;
  date::local_time<minutes> end_local = end_day + minutes(quiet.end_minute);
  auto end_sys = tz->to_sys(end_local, date::choose::earliest);
  return std::optional<UnixMillis>(
      std::chrono::duration_cast<milliseconds>(end_sys.time_since_epoch()).count());
}

}  // namespace lifeline
