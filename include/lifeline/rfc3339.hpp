// rfc3339.hpp -- strict RFC 3339 timestamps to and from UnixMillis.
//
// Overview: callbacks must reach the contact-center platform in UTC, and the
// text form every platform accepts is RFC 3339. `ParseRfc3339` is strict:
// it accepts exactly
//
//   full-date ("T" / "t") partial-time time-offset
//   2026-03-08T02:30:00.123-05:00
//
// with these rules:
//   - the offset is mandatory: "Z", "z", "+hh:mm" or "-hh:mm" (hh 00-23,
//     mm 00-59); "-00:00" means UTC;
//   - "t" and "z" may be lowercase;
//   - fractional seconds may have any number of digits (at least one after
//     the '.'); they are truncated, not rounded, to the millisecond;
//   - second 60 is accepted only where the time in UTC is 23:59:60, and it
//     reads as 23:59:59 of that minute, fraction kept (as java.time does):
//     "2016-12-31T23:59:60.5Z" is 2016-12-31T23:59:59.500Z;
//   - the year is 0001-9999, the date must exist (no 02-30, no 2023-02-29),
//     hour 24 is refused, and so is everything else: a missing offset,
//     "+0100" without the colon, surrounding spaces, non-ASCII bytes;
//   - the instant, once the offset is applied, must lie in the range the
//     formatter writes (kEarliestUnixMillis..kLatestUnixMillis), so every
//     parsed value formats and parses back to itself.
//
// A refusal is an InvalidArgument whose message starts "position N:" (N is
// the 0-based byte offset of the first offending byte) and says what was
// expected there. The input itself is never echoed (it may carry PII).
//
// `FormatRfc3339` always writes the 24-byte UTC form YYYY-MM-DDTHH:MM:SS.sssZ,
// with exactly three fraction digits: the form Genesys Cloud's
// callbackScheduledTime takes. Times before 1970 are floored correctly
// (-1 ms is 1969-12-31T23:59:59.999Z).
//
// Both functions are pure, thread-safe, and do not allocate on success
// (except the std::string overload of FormatRfc3339).
//
// Example:
//
//   lifeline::Result<lifeline::UnixMillis> t =
//       lifeline::ParseRfc3339("2026-03-08T02:30:00-05:00");
//   if (!t.ok()) return t.status();          // "position 19: ..."
//   char text[lifeline::kRfc3339BufferSize];
//   lifeline::FormatRfc3339(*t, text);       // "2026-03-08T07:30:00.000Z"
#ifndef LIFELINE_RFC3339_HPP_
#define LIFELINE_RFC3339_HPP_

#include <cstddef>
#include <string>
#include <string_view>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// Size of the buffer FormatRfc3339 writes: 24 characters and a NUL.
// Equal to LIFELINE_RFC3339_BUFFER_SIZE in lifeline.h.
inline constexpr std::size_t kRfc3339BufferSize = 25;

// The instants the library reads and writes as text:
// 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
inline constexpr UnixMillis kEarliestUnixMillis = -62135596800000;
inline constexpr UnixMillis kLatestUnixMillis = 253402300799999;

// Parses a strict RFC 3339 timestamp (see the file comment for the rules)
// into milliseconds since the Unix epoch, UTC. Fails with InvalidArgument
// and a "position N: ..." message.
Result<UnixMillis> ParseRfc3339(std::string_view text);

// Writes `t` as "YYYY-MM-DDTHH:MM:SS.sssZ" plus a NUL into `out`. Fails with
// InvalidArgument, leaving `out` untouched, when `t` is outside
// [kEarliestUnixMillis, kLatestUnixMillis].
Status FormatRfc3339(UnixMillis t, char (&out)[kRfc3339BufferSize]);

// As above, returning a std::string of 24 characters.
Result<std::string> FormatRfc3339(UnixMillis t);

}  // namespace lifeline

#endif  // LIFELINE_RFC3339_HPP_
