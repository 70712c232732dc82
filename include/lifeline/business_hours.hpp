// business_hours.hpp -- when a contact center may call people back.
//
// Overview: a callback must never be scheduled off-hours, and "off-hours"
// is defined on the center's wall clock: a weekly schedule in an IANA zone
// (e.g. Mon-Fri 08:00-20:00 America/New_York), several intervals a day if
// needed, plus holidays (local dates, closed all day). `BusinessHours`
// answers two questions about UTC instants:
//
//   IsOpen(t)    is t inside an opening?
//   NextOpen(t)  the first instant >= t that is inside an opening (the next
//                allowed callback time); NotFound when the schedule is never
//                open.
//
// Intervals are [open, close) in minutes of the local day; close may be
// 24:00 (1440), which is 00:00 of the next day. Intervals of one weekday
// must not overlap (touching is fine: 08:00-12:00 and 12:00-18:00). A day
// that ends at 24:00 and a next day that opens at 00:00 form one opening.
//
// The rule across DST changes is the wall clock itself: t is open when the
// zone's wall clock at t shows a date that is not a holiday and a time
// inside one of that weekday's intervals. Consequences, in New York:
//   - spring forward (2026-03-08, 02:00 EST -> 03:00 EDT): an opening at
//     02:30 happens at 03:00 EDT, the first instant the clock shows 02:30 or
//     later; an interval entirely inside the gap (02:00-02:45) is empty;
//   - fall back (2026-11-01, 02:00 EDT -> 01:00 EST): with hours
//     00:00-01:30 the center closes at 01:30 EDT and is open again from
//     01:00 to 01:30 EST, because the clocks show those times twice; with
//     hours 01:30-03:00 it opens at 01:30 EDT, is closed 01:00-01:30 EST
//     and open again from 01:30 EST.
// So a callback is never scheduled at a wall time outside the stated hours,
// whatever the zone's rules, and NextOpen(t) is exactly the first instant
// >= t for which IsOpen is true.
//
// Holidays close the whole local date (as the wall clock shows it). An
// interval of the day before that runs to 24:00 still runs to midnight.
//
// Thread-safety: immutable after construction; every const member may be
// called from any thread. No call allocates except on error.
//
// JSON form (FromJson, and lifeline_business_hours_new in C):
//
//   {"timeZone": "America/New_York",
//    "weekly": {"mon": [["08:00", "20:00"]], "tue": [["08:00", "12:00"], ["13:00", "20:00"]],
//               "sat": [], "sun": [["00:00", "24:00"]]},
//    "holidays": ["2026-12-25", "2027-01-01"]}
//
// "timeZone" and "weekly" are required, "holidays" is optional; weekday keys
// are mon tue wed thu fri sat sun, a missing weekday is closed. Unknown or
// repeated keys and wrong types are refused with InvalidArgument naming the
// key ("weekly.mon[0][1]: ..."); an unknown zone is NotFound.
//
// Example:
//
//   auto hours = lifeline::BusinessHours::FromJson(spec);
//   if (!hours.ok()) return hours.status();
//   lifeline::Result<lifeline::UnixMillis> at = hours->NextOpen(now);
#ifndef LIFELINE_BUSINESS_HOURS_HPP_
#define LIFELINE_BUSINESS_HOURS_HPP_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/rfc3339.hpp"  // kEarliestUnixMillis, kLatestUnixMillis
#include "lifeline/status.hpp"
#include "lifeline/time_zone.hpp"

namespace lifeline {

// [open_minute, close_minute) in minutes since local midnight;
// 0 <= open_minute < close_minute <= 1440.
struct BusinessInterval {
  int open_minute = 0;
  int close_minute = 0;
};

// A local calendar date (years 0001-9999).
struct LocalDate {
  int year = 1970;
  int month = 1;
  int day = 1;
};

class BusinessHours {
 public:
  // Index 0 is Monday, 6 is Sunday (ISO 8601 weekday - 1).
  using WeeklySchedule = std::array<std::vector<BusinessInterval>, 7>;

  // Validates and builds a schedule. Intervals of a day are sorted; holidays
  // are deduplicated. InvalidArgument names the weekday and interval index
  // or the holiday index that is wrong.
  static Result<BusinessHours> Create(const TimeZone& zone, WeeklySchedule weekly,
                                      std::vector<LocalDate> holidays);

  // Parses the JSON form described in the file comment.
  static Result<BusinessHours> FromJson(std::string_view json);

  // True when `t` lies inside an opening. False for instants outside
  // kEarliestUnixMillis..kLatestUnixMillis (rfc3339.hpp).
  bool IsOpen(UnixMillis t) const;

  // The first instant at or after `t` inside an opening: `t` itself when
  // open. NotFound when the schedule is never open (no interval on any
  // weekday) or has no opening before the end of year 9999;
  // InvalidArgument when `t` is outside kEarliestUnixMillis..kLatestUnixMillis.
  Result<UnixMillis> NextOpen(UnixMillis t) const;

  const TimeZone& zone() const { return *zone_; }
  const WeeklySchedule& weekly() const { return weekly_; }
  // True when the local date is one of the holidays.
  bool IsHoliday(const LocalDate& date) const;

 private:
  BusinessHours() = default;
  bool IsHolidayDay(std::int64_t day) const;
  // Whether the wall reading `local_ms` (ms since 1970-01-01T00:00 local)
  // lies inside an opening.
  bool IsOpenLocal(std::int64_t local_ms) const;
  // The first wall reading in [from, to) that lies inside an opening, or -1
  // through `*found == false`. Scans no day after `last_day`.
  std::int64_t FirstOpenLocal(std::int64_t from, std::int64_t to, std::int64_t last_day,
                              bool* found) const;

  const TimeZone* zone_ = nullptr;
  WeeklySchedule weekly_;
  std::vector<std::int64_t> holidays_;  // days since 1970-01-01, sorted, unique
  bool never_open_ = true;
};

}  // namespace lifeline

#endif  // LIFELINE_BUSINESS_HOURS_HPP_
