// ParseRetryAfter: delay-seconds, the three HTTP-date forms of RFC 9110,
// past dates, huge values and garbage.
#include <catch2/catch.hpp>

#include <string>

#include "lifeline/retry_after.hpp"

using lifeline::DurationMillis;
using lifeline::kMaxRetryAfterSecondsMillis;
using lifeline::ParseRetryAfter;
using lifeline::UnixMillis;

namespace {

// 1994-11-06T08:49:37Z, RFC 9110's example date.
constexpr UnixMillis kExample = 784111777000;
// 2026-03-08T07:30:00Z.
constexpr UnixMillis kNow2026 = 1772955000000;

DurationMillis Ok(std::string_view value, UnixMillis now) {
  auto r = ParseRetryAfter(value, now);
  INFO("value: " << value << " message: " << r.status().message());
  REQUIRE(r.ok());
  return *r;
}

std::string Error(std::string_view value, UnixMillis now = kNow2026) {
  auto r = ParseRetryAfter(value, now);
  INFO("value: " << value);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == lifeline::StatusCode::kInvalidArgument);
  return r.status().message();
}

}  // namespace

TEST_CASE("delay-seconds") {
  CHECK(Ok("0", kNow2026) == 0);
  CHECK(Ok("1", kNow2026) == 1000);
  CHECK(Ok("120", kNow2026) == 120000);
  CHECK(Ok("000120", kNow2026) == 120000);
  CHECK(Ok(" \t120 ", kNow2026) == 120000);
  CHECK(Ok("120", 0) == 120000);  // independent of now
  CHECK(Ok("2147483647", kNow2026) == 2147483647000);
}

TEST_CASE("Huge delay-seconds saturate at 2^31 seconds instead of failing") {
  CHECK(kMaxRetryAfterSecondsMillis == 2147483648000);
  CHECK(Ok("2147483648", kNow2026) == kMaxRetryAfterSecondsMillis);
  CHECK(Ok("2147483649", kNow2026) == kMaxRetryAfterSecondsMillis);
  CHECK(Ok("99999999999999999999999999999999999999", kNow2026) == kMaxRetryAfterSecondsMillis);
}

TEST_CASE("IMF-fixdate") {
  CHECK(Ok("Sun, 06 Nov 1994 08:49:37 GMT", kExample - 90000) == 90000);
  CHECK(Ok("Sun, 06 Nov 1994 08:49:37 GMT", kExample - 1) == 1);
  CHECK(Ok("Sun, 06 Nov 1994 08:49:37 GMT", kExample) == 0);
  CHECK(Ok("Sun, 06 Nov 1994 08:49:37 GMT", kExample + 1) == 0);      // past
  CHECK(Ok("Sun, 06 Nov 1994 08:49:37 GMT", kNow2026) == 0);          // long past
  CHECK(Ok("Sun, 06 Nov 1994 08:49:37 GMT", kExample - 500) == 500);  // sub-second now
  CHECK(Ok("  Sun, 06 Nov 1994 08:49:37 GMT\t", kExample - 1000) == 1000);
  CHECK(Ok("Sun, 08 Mar 2026 07:31:00 GMT", kNow2026) == 60000);
  CHECK(Ok("Fri, 31 Dec 9999 23:59:59 GMT", kNow2026) == 253402300799000 - kNow2026);
  // Names are matched without regard to case, as robust parsing suggests.
  CHECK(Ok("SUN, 06 NOV 1994 08:49:37 GMT", kExample - 1000) == 1000);
}

TEST_CASE("RFC 850 date, with the two-digit year placed per RFC 9110") {
  // 94: 2094 is more than 50 years after 2026, so 1994: in the past.
  CHECK(Ok("Sunday, 06-Nov-94 08:49:37 GMT", kNow2026) == 0);
  CHECK(Ok("Sunday, 06-Nov-94 08:49:37 GMT", kExample - 2000) == 2000);
  // 30: 2030, four years ahead.
  CHECK(Ok("Wednesday, 06-Nov-30 08:49:37 GMT", kNow2026) == 1920185377000 - kNow2026);
  // 75: 2075 is within 50 years of 2026 (POSIX %y would say 1975).
  CHECK(Ok("Wednesday, 06-Nov-75 08:49:37 GMT", kNow2026) == 3340255777000 - kNow2026);
  // 76 in November: 2076-11-06 is more than 50 years after 2026-03-08: 1976.
  CHECK(Ok("Saturday, 06-Nov-76 08:49:37 GMT", kNow2026) == 0);
  CHECK(Error("Friday, 06-Nov-76 08:49:37 GMT").find("day name does not match") !=
        std::string::npos);
  // Late in a century, 01 is the next century's year, not 98 years ago.
  constexpr UnixMillis kNow2099 = 4083955200000;  // 2099-06-01
  CHECK(Ok("Tuesday, 01-Mar-01 12:00:00 GMT", kNow2099) == 4139121600000 - kNow2099);
  CHECK_FALSE(ParseRetryAfter("Thursday, 01-Mar-01 12:00:00 GMT", kNow2099).ok());
  // 29 February: 2000 exists, 2100 does not.
  CHECK(Ok("Tuesday, 29-Feb-00 00:00:00 GMT", 951782400000 - 5000) == 5000);
  constexpr UnixMillis kNow2060 = 2840140800000;  // 2060-01-01: "00" is 2100
  CHECK(Error("Monday, 29-Feb-00 00:00:00 GMT", kNow2060).find("no such date") !=
        std::string::npos);
  // The abbreviated day name is the IMF form's, not RFC 850's.
  CHECK(Error("Sun, 06-Nov-94 08:49:37 GMT").find("IMF-fixdate") != std::string::npos);
}

TEST_CASE("asctime date") {
  CHECK(Ok("Sun Nov  6 08:49:37 1994", kExample - 3000) == 3000);
  CHECK(Ok("Sun Nov 06 08:49:37 1994", kExample - 3000) == 3000);
  CHECK(Ok("Sun Nov  6 08:49:37 1994", kNow2026) == 0);
  CHECK(Ok("Sun Mar  8 07:30:01 2026", kNow2026) == 1000);
  CHECK_FALSE(ParseRetryAfter("Sun Nov 6 08:49:37 1994", kExample).ok());
  CHECK_FALSE(ParseRetryAfter("Mon Nov  6 08:49:37 1994", kExample).ok());
  CHECK_FALSE(ParseRetryAfter("Sun Nov  6 08:49:37 1994 GMT", kExample).ok());
}

TEST_CASE("A leap second is read as the next midnight, never earlier") {
  constexpr UnixMillis kNewYear2017 = 1483228800000;
  CHECK(Ok("Sat, 31 Dec 2016 23:59:60 GMT", kNewYear2017 - 100000) == 100000);
  CHECK(Ok("Saturday, 31-Dec-16 23:59:60 GMT", kNewYear2017 - 100000) == 100000);
  CHECK(Ok("Sat Dec 31 23:59:60 2016", kNewYear2017 - 100000) == 100000);
  CHECK(Error("Sat, 31 Dec 2016 12:00:60 GMT") ==
        "Retry-After: second 60 at position 23 is only valid at 23:59:60 (a leap second)");
  CHECK(Error("Sat, 31 Dec 2016 23:59:61 GMT").find("no such date") != std::string::npos);
}

TEST_CASE("Garbage is refused with the position or the rule that failed") {
  CHECK(Error("") == "Retry-After: the value is empty");
  CHECK(Error(" \t ") == "Retry-After: the value is empty");
  CHECK(Error("12a") == "Retry-After: delay-seconds has a non-digit at position 2");
  CHECK(Error("  1.5") == "Retry-After: delay-seconds has a non-digit at position 3");
  CHECK(Error("1e3") == "Retry-After: delay-seconds has a non-digit at position 1");
  CHECK(Error("12 s") == "Retry-After: delay-seconds has a non-digit at position 2");
  CHECK(Error("-1") ==
        "Retry-After: position 0 starts neither delay-seconds (a digit) nor an HTTP-date (a day "
        "name)");
  CHECK(Error("+5").find("position 0") != std::string::npos);
  CHECK(Error("\xC3\xA9t\xC3\xA9").find("position 0") != std::string::npos);
  CHECK(Error("Sun, 6 Nov 1994 08:49:37 GMT") ==
        "Retry-After: not a valid IMF-fixdate: unexpected character at position 6 (expected a "
        "digit)");
  CHECK(Error(" Sun, 06 Nov 1994 08:49:37 UTC") ==
        "Retry-After: not a valid IMF-fixdate: unexpected character at position 27 (expected "
        "'G')");
  CHECK(Error("Sun, 06 Nov 1994 08:49:37 gmt").find("position 26") != std::string::npos);
  CHECK(Error("Sun, 06 Nov 1994 08:49:37 GMT extra") ==
        "Retry-After: not a valid IMF-fixdate: unexpected extra character at position 29");
  CHECK(Error("Sun, 06 Nov 1994 08:49:37") ==
        "Retry-After: not a valid IMF-fixdate: the value ends early at position 25 (expected "
        "' ')");
  CHECK(Error("Mon, 06 Nov 1994 08:49:37 GMT") ==
        "Retry-After: not a valid IMF-fixdate: no such date or time, or the day name does not "
        "match the date");
  CHECK(Error("Sun, 31 Nov 1994 08:49:37 GMT").find("no such date") != std::string::npos);
  CHECK(Error("Sun, 06 Nov 1994 24:00:00 GMT").find("no such date") != std::string::npos);
  CHECK(Error("Sun, 06 Nov 1994 08:60:00 GMT").find("no such date") != std::string::npos);
  CHECK(Error("Sun, 06 Xyz 1994 08:49:37 GMT").find("no such date") != std::string::npos);
  CHECK(Error("Abc, 06 Nov 1994 08:49:37 GMT").find("no such date") != std::string::npos);
  CHECK(Error("Sunday, 06-Nov-1994 08:49:37 GMT") ==
        "Retry-After: not a valid RFC 850 date: unexpected character at position 17 (expected "
        "' ')");
  CHECK(Error("Sundayyyyy, 06-Nov-94 08:49:37 GMT") ==
        "Retry-After: not a valid RFC 850 date: the day name at position 0 must be a full day "
        "name such as Sunday");
  CHECK(Error("Sunday 06 Nov 1994").find("asctime") != std::string::npos);
  CHECK(Error("tomorrow").find("asctime") != std::string::npos);
}

TEST_CASE("A date needs a now within years 0001-9999") {
  CHECK(Error("Sun, 06 Nov 1994 08:49:37 GMT", INT64_MAX) ==
        "Retry-After: now is outside the years 0001-9999");
  CHECK(Ok("5", INT64_MAX) == 5000);
}
