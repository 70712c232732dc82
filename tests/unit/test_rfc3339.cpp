// RFC 3339 parse and format. Expected instants were computed by UTC
// arithmetic independent of this code (Python datetime in UTC), and the
// error positions by counting bytes in the literal.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "lifeline/rfc3339.hpp"

using lifeline::FormatRfc3339;
using lifeline::ParseRfc3339;
using lifeline::StatusCode;
using lifeline::UnixMillis;

namespace {

struct Valid {
  const char* text;
  UnixMillis expected;
};

struct Invalid {
  const char* text;
  const char* message_start;  // the message must start with this
  const char* message_part;   // and contain this
};

}  // namespace

TEST_CASE("ParseRfc3339 accepts the RFC 3339 forms and reads them exactly") {
  const Valid cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01t00:00:00z", 0},                       // lowercase t and z
      {"1970-01-01T00:00:00-00:00", 0},                  // -00:00 is UTC
      {"1970-01-01T00:00:00+00:00", 0},
      {"1970-01-01T01:00:00+01:00", 0},
      {"1969-12-31T19:00:00-05:00", 0},
      {"2026-03-08T02:30:00-05:00", 1772955000000},      // 07:30Z
      {"2026-03-08T07:30:00Z", 1772955000000},
      {"2026-03-08T07:30:00.1Z", 1772955000100},
      {"2026-03-08T07:30:00.12Z", 1772955000120},
      {"2026-03-08T07:30:00.123Z", 1772955000123},
      {"2026-03-08T07:30:00.123456789Z", 1772955000123},  // truncated
      {"2026-03-08T07:30:00.9999999999999999999999Z", 1772955000999},  // not rounded
      {"2026-03-08T07:30:00.000000000001Z", 1772955000000},
      {"2026-03-08T07:30:00+23:59", 1772868660000},
      {"1969-12-31T23:59:59.999Z", -1},
      {"1969-12-31T23:59:59.9999Z", -1},
      {"1969-12-31T23:59:59Z", -1000},
      {"1985-04-12T23:20:50.52Z", 482196050520},         // RFC 3339 section 5.8
      {"1996-12-19T16:39:57-08:00", 851042397000},       // RFC 3339 section 5.8
      {"1937-01-01T12:00:27.87+00:20", -1041337172130},  // RFC 3339 section 5.8
      {"2000-02-29T00:00:00Z", 951782400000},            // 2000 is a leap year
      {"2024-02-29T12:00:00Z", 1709208000000},
      {"1600-02-29T00:00:00Z", -11670998400000},
      {"1900-03-01T00:00:00Z", -2203891200000},
      {"0001-01-01T00:00:00Z", -62135596800000},
      {"9999-12-31T23:59:59.999Z", 253402300799999},
      // Second 60 where the UTC time is 23:59:60: read as 23:59:59.
      {"2016-12-31T23:59:60Z", 1483228799000},
      {"2016-12-31T23:59:60.5Z", 1483228799500},
      {"2017-01-01T00:59:60+01:00", 1483228799000},
      {"2016-12-31T18:59:60-05:00", 1483228799000},
      {"1990-12-31T15:59:60-08:00", 662687999000},       // RFC 3339 section 5.8
      {"1998-12-31T23:59:60.999999z", 915148799999},
  };
  for (const Valid& c : cases) {
    INFO(c.text);
    lifeline::Result<UnixMillis> t = ParseRfc3339(c.text);
    REQUIRE(t.ok());
    CHECK(*t == c.expected);
  }
}

TEST_CASE("ParseRfc3339 refuses everything else and names the position") {
  const Invalid cases[] = {
      {"", "position 0: unexpected end of text", "4-digit year"},
      {"2026-03-08T07:30:00", "position 19: unexpected end of text", "time offset"},
      {"2026-03-08T07:30:00.123", "position 23: unexpected end of text", "time offset"},
      {"2026-03-08T07:30:00+0100", "position 22: expected", "':' inside the offset"},
      {"2026-03-08T07:30:00+1:00", "position 21: expected", "2-digit offset hour"},
      {"2026-03-08T07:30:00+24:00", "position 20:", "offset hour must be 00-23"},
      {"2026-03-08T07:30:00+01:60", "position 23:", "offset minute must be 00-59"},
      {"2026-02-30T00:00:00Z", "position 8:", "day does not exist"},
      {"2023-02-29T00:00:00Z", "position 8:", "day does not exist"},
      {"1900-02-29T00:00:00Z", "position 8:", "day does not exist"},
      {"2026-04-31T00:00:00Z", "position 8:", "day does not exist"},
      {"2026-13-01T00:00:00Z", "position 5:", "month must be 01-12"},
      {"2026-00-01T00:00:00Z", "position 5:", "month must be 01-12"},
      {"0000-01-01T00:00:00Z", "position 0:", "year must be 0001-9999"},
      {"2026-03-08T24:00:00Z", "position 11:", "hour must be 00-23"},
      {"2026-03-08T07:60:00Z", "position 14:", "minute must be 00-59"},
      {"2026-03-08T07:30:61Z", "position 17:", "second must be 00-60"},
      {"2026-03-08T07:30:60Z", "position 17:", "only at 23:59:60 UTC"},
      {"2016-12-31T23:59:60+01:00", "position 17:", "only at 23:59:60 UTC"},
      {" 2026-03-08T07:30:00Z", "position 0: expected", "4-digit year"},
      {"2026-03-08T07:30:00Z ", "position 20: expected", "end of the text"},
      {"2026-03-08 07:30:00Z", "position 10: expected", "'T'"},
      {"2026-03-08T07:30Z", "position 16: expected", "':' after the minute"},
      {"2026-03-08T07:30:00.Z", "position 20: expected", "digit after '.'"},
      {"2026-03-08T07:30:00,5Z", "position 19: expected", "time offset"},
      {"26-03-08T07:30:00Z", "position 2: expected", "4-digit year"},
      {"2026-3-08T07:30:00Z", "position 6: expected", "2-digit month"},
      {"2026-03-08T07:30:00ZZ", "position 20: expected", "end of the text"},
      {"2026-03-08T07:30:00Z\xC3\xA9", "position 20: non-ASCII byte", "end of the text"},
      {"\xEF\xBC\x92" "026-03-08T07:30:00Z", "position 0: non-ASCII byte", "4-digit year"},
      {"2026-03-08T07:30:00\xE2\x88\x92" "05:00", "position 19: non-ASCII byte", "time offset"},
      {"0001-01-01T00:00:00+00:01", "position 0:", "outside"},
      {"9999-12-31T23:59:59.999-00:01", "position 0:", "outside"},
  };
  for (const Invalid& c : cases) {
    INFO(c.text);
    lifeline::Result<UnixMillis> t = ParseRfc3339(c.text);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().code() == StatusCode::kInvalidArgument);
    const std::string& m = t.status().message();
    CHECK(m.rfind(c.message_start, 0) == 0);
    CHECK(m.find(c.message_part) != std::string::npos);
  }
}

TEST_CASE("ParseRfc3339 stops at an embedded NUL instead of reading past it") {
  const std::string text("2026-03-08T07:30:00Z\0garbage", 28);
  lifeline::Result<UnixMillis> t = ParseRfc3339(text);
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().message().rfind("position 20:", 0) == 0);
}

TEST_CASE("FormatRfc3339 writes UTC with exactly three fraction digits") {
  const Valid cases[] = {
      {"1970-01-01T00:00:00.000Z", 0},
      {"1970-01-01T00:00:00.001Z", 1},
      {"1969-12-31T23:59:59.999Z", -1},
      {"1969-12-31T23:59:59.000Z", -1000},
      {"1969-12-31T00:00:00.000Z", -86400000},
      {"1969-12-30T23:59:59.999Z", -86400001},
      {"2026-03-08T07:30:00.000Z", 1772955000000},
      {"2026-03-08T07:30:00.123Z", 1772955000123},
      {"2000-02-29T00:00:00.001Z", 951782400001},
      {"1937-01-01T11:40:27.870Z", -1041337172130},
      {"1900-03-01T00:00:00.000Z", -2203891200000},
      {"0001-01-01T00:00:00.000Z", -62135596800000},
      {"9999-12-31T23:59:59.999Z", 253402300799999},
  };
  for (const Valid& c : cases) {
    INFO(c.text);
    char out[lifeline::kRfc3339BufferSize];
    REQUIRE(FormatRfc3339(c.expected, out).ok());
    CHECK(std::string(out) == c.text);
    lifeline::Result<std::string> s = FormatRfc3339(c.expected);
    REQUIRE(s.ok());
    CHECK(*s == c.text);
  }
}

TEST_CASE("FormatRfc3339 refuses instants outside years 0001-9999 and leaves out untouched") {
  const UnixMillis outside[] = {lifeline::kEarliestUnixMillis - 1, lifeline::kLatestUnixMillis + 1,
                                std::numeric_limits<UnixMillis>::min(),
                                std::numeric_limits<UnixMillis>::max()};
  for (UnixMillis t : outside) {
    INFO(t);
    char out[lifeline::kRfc3339BufferSize] = "untouched";
    lifeline::Status s = FormatRfc3339(t, out);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message().find("outside") != std::string::npos);
    CHECK(std::string(out) == "untouched");
    CHECK_FALSE(FormatRfc3339(t).ok());
  }
}

TEST_CASE("Format then parse gives back the same instant across the whole range") {
  // A deterministic walk over the range with a stride that is not a whole
  // number of seconds, days or years, plus the edges.
  int checked = 0;
  const UnixMillis stride = 7'777'777'777'777;  // about 246 years and some ms
  for (UnixMillis t = lifeline::kEarliestUnixMillis; t <= lifeline::kLatestUnixMillis;
       t += stride / 64 + 12'345) {
    char out[lifeline::kRfc3339BufferSize];
    REQUIRE(FormatRfc3339(t, out).ok());
    lifeline::Result<UnixMillis> back = ParseRfc3339(out);
    REQUIRE(back.ok());
    REQUIRE(*back == t);
    ++checked;
  }
  CHECK(checked > 2000);
}
