// retry_after.hpp -- reading the HTTP Retry-After header.
//
// Overview: a server answering 429 (Too Many Requests) or 503 (Service
// Unavailable) may say how long the client should wait, in the Retry-After
// field (RFC 9110, section 10.2.3):
//
//   Retry-After = HTTP-date / delay-seconds
//
// `ParseRetryAfter` turns either form into a delay in milliseconds from
// `now`, ready for `Backoff::NextDelay(retry_after)` (backoff.hpp), which
// makes sure the retry never comes earlier than that.
//
//  - delay-seconds is 1*DIGIT: "120" is two minutes. No sign, no fraction,
//    no exponent. A value above 2^31 seconds (about 68 years) is read as
//    2^31 seconds, the saturation RFC 9111 section 1.2.2 prescribes for
//    delta-seconds, rather than refused: an absurdly long wait must not turn
//    into "no wait at all" in a caller that ignores unparseable values.
//  - HTTP-date (RFC 9110, section 5.6.7) in its three forms:
//      IMF-fixdate    "Sun, 06 Nov 1994 08:49:37 GMT"   (the one to send)
//      RFC 850        "Sunday, 06-Nov-94 08:49:37 GMT" (obsolete)
//      asctime        "Sun Nov  6 08:49:37 1994"       (obsolete)
//    The date is checked with the date library: the day must exist, hours
//    are 00-23 and the day name must match the date. Second 60 is accepted
//    only at 23:59:60 (a leap second) and read as the next midnight, one
//    second later, so the retry is not earlier than asked. The two-digit
//    year of the RFC 850 form is read as RFC 9110 requires: the year with
//    those two digits that is not more than 50 years after `now`.
//    Month and day names are matched case-insensitively; "GMT" is not.
//    A date at or before `now` gives 0.
//  - Optional whitespace (spaces and tabs) around the value is ignored, as
//    HTTP field parsing does.
//
// Anything else is kInvalidArgument, with a message that names the position
// or the rule that failed (never the value itself).
//
// Example:
//
//   auto delay = lifeline::ParseRetryAfter(response.Header("retry-after"), now);
//   std::optional<lifeline::DurationMillis> asked;
//   if (delay.ok()) asked = *delay;
//   auto next = backoff.NextDelay(asked);
//
// Thread-safety: a pure function.
#ifndef LIFELINE_RETRY_AFTER_HPP_
#define LIFELINE_RETRY_AFTER_HPP_

#include <string_view>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// The largest delay ParseRetryAfter returns for delay-seconds: 2^31 s in ms.
inline constexpr DurationMillis kMaxRetryAfterSecondsMillis = 2147483648LL * 1000;

// The delay in milliseconds (>= 0) that the Retry-After field value `value`
// asks for, counted from `now`; or kInvalidArgument.
Result<DurationMillis> ParseRetryAfter(std::string_view value, UnixMillis now);

}  // namespace lifeline

#endif  // LIFELINE_RETRY_AFTER_HPP_
