// quiet_hours.hpp -- a member's quiet hours, evaluated in the member's zone.
//
// Overview: quiet hours are a local wall-clock window ("22:00" to "07:00",
// which wraps midnight) in the member's IANA time zone. The cascade asks one
// question: "is `now` (a UTC instant) inside the window, and if so at which
// UTC instant does it end?". The answer is computed with the tz database
// (Howard Hinnant's date/tz), so the end of a night that contains a DST change
// is the right instant: 07:00 local after the spring-forward night is one
// hour earlier in UTC than the night before. Timers are then UTC instants and
// never move again.
//
// A local end time that does not exist (inside a spring-forward gap) resolves
// to the instant the gap ends; an ambiguous one (fall-back) to its earlier
// occurrence.
//
// Example:
//
//   lifeline::QuietHours q{22 * 60, 7 * 60};
//   auto end = lifeline::QuietHoursEnd(q, "America/New_York", now);
//   if (end.ok() && end->has_value()) defer_until = **end;
#ifndef LIFELINE_QUIET_HOURS_HPP_
#define LIFELINE_QUIET_HOURS_HPP_

#include <optional>
#include <string>
#include <string_view>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// A local window [start_minute, end_minute) in minutes after local midnight.
// start > end wraps midnight; start == end means "no quiet hours".
struct QuietHours {
  int start_minute = 0;
  int end_minute = 0;
  bool enabled() const { return start_minute != end_minute; }
};

// Parses "HH:MM" (00:00 to 23:59) into minutes after midnight.
Result<int> ParseLocalMinute(std::string_view hh_mm);

// InvalidArgument naming the zone's position (not its value) when `zone` is
// not an IANA zone name known to the tz database.
Status ValidateTimeZone(std::string_view zone);

// nullopt when `now` is outside the window (or the window is disabled);
// otherwise the UTC instant at which the window containing `now` ends.
// InvalidArgument for an unknown zone.
Result<std::optional<UnixMillis>> QuietHoursEnd(const QuietHours& quiet,
                                                std::string_view zone, UnixMillis now);

}  // namespace lifeline

#endif  // LIFELINE_QUIET_HOURS_HPP_
