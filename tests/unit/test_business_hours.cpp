// Business hours. Expected instants come from the zones' published
// transitions (New York 2026: 03-08 02:00 EST -> 03:00 EDT, 11-01 02:00 EDT
// -> 01:00 EST; Lord Howe 2026-04-05 02:00 +11 -> 01:30 +1030; Apia skipped
// 2011-12-30) and the calendar (2026-03-09 is a Monday, 2026-12-25 and
// 2027-01-01 are Fridays), converted by plain UTC arithmetic.
#include <catch2/catch.hpp>

#include <string>

#include "lifeline/business_hours.hpp"

using lifeline::BusinessHours;
using lifeline::StatusCode;
using lifeline::UnixMillis;

namespace {

BusinessHours Make(const std::string& json) {
  lifeline::Result<BusinessHours> hours = BusinessHours::FromJson(json);
  INFO(json);
  if (!hours.ok()) INFO(hours.status().message());
  REQUIRE(hours.ok());
  return std::move(hours).value();
}

std::string NewYork(const std::string& weekly, const std::string& holidays = "[]") {
  return R"({"timeZone":"America/New_York","weekly":)" + weekly + R"(,"holidays":)" + holidays +
         "}";
}

const char* kWeekdays =
    R"({"mon":[["08:00","20:00"]],"tue":[["08:00","20:00"]],"wed":[["08:00","20:00"]],)"
    R"("thu":[["08:00","20:00"]],"fri":[["08:00","20:00"]]})";

UnixMillis Next(const BusinessHours& h, UnixMillis t) {
  lifeline::Result<UnixMillis> n = h.NextOpen(t);
  INFO("NextOpen(" << t << ")");
  if (!n.ok()) INFO(n.status().message());
  REQUIRE(n.ok());
  return *n;
}

}  // namespace

TEST_CASE("Mon-Fri 08:00-20:00 New York across the spring-forward weekend") {
  BusinessHours h = Make(NewYork(kWeekdays, R"(["2026-12-25","2027-01-01"])"));
  // Friday 2026-03-06 closes at 20:00 EST = 03-07T01:00Z.
  CHECK(h.IsOpen(1772845200000 - 1));
  CHECK_FALSE(h.IsOpen(1772845200000));
  // Saturday noon EST -> Monday 08:00, which is EDT by then: 12:00Z.
  CHECK(Next(h, 1772902800000) == 1773057600000);
  CHECK(Next(h, 1772845200000) == 1773057600000);
  CHECK_FALSE(h.IsOpen(1773057600000 - 1));
  CHECK(h.IsOpen(1773057600000));
  CHECK(Next(h, 1773057600000) == 1773057600000);  // at the opening: itself
}

TEST_CASE("Mon-Fri 08:00-20:00 New York across the fall-back weekend") {
  BusinessHours h = Make(NewYork(kWeekdays));
  // Friday 2026-10-30 closes at 20:00 EDT = 10-31T00:00Z; Monday 11-02 opens
  // at 08:00 EST = 13:00Z.
  CHECK(h.IsOpen(1793404800000 - 1));
  CHECK_FALSE(h.IsOpen(1793404800000));
  CHECK(Next(h, 1793404800000) == 1793624400000);
}

TEST_CASE("Holidays close the whole local date") {
  BusinessHours h = Make(NewYork(kWeekdays, R"(["2026-12-25","2027-01-01","2026-12-25"])"));
  CHECK(h.IsOpen(1798124400000));        // Thu 12-24 10:00 EST
  CHECK_FALSE(h.IsOpen(1798210800000));  // Fri 12-25 10:00 EST, a holiday
  // Thu 12-24 20:00 EST -> Fri is a holiday, then the weekend -> Mon 12-28.
  CHECK(Next(h, 1798160400000) == 1798462800000);
  CHECK(Next(h, 1798729200000) == 1798729200000);  // Thu 12-31 10:00: open
  // Thu 12-31 20:00 EST -> Fri 2027-01-01 holiday -> Mon 2027-01-04 08:00 EST.
  CHECK(Next(h, 1798765200000) == 1799067600000);
  CHECK(h.IsHoliday({2026, 12, 25}));
  CHECK_FALSE(h.IsHoliday({2026, 12, 24}));
}

TEST_CASE("A 24/7 schedule closes for a holiday at local midnight") {
  const std::string all_day = R"([["00:00","24:00"]])";
  BusinessHours h = Make(NewYork(R"({"mon":)" + all_day + R"(,"tue":)" + all_day + R"(,"wed":)" +
                                     all_day + R"(,"thu":)" + all_day + R"(,"fri":)" + all_day +
                                     R"(,"sat":)" + all_day + R"(,"sun":)" + all_day + "}",
                                 R"(["2026-07-04"])"));
  CHECK(h.IsOpen(1783137600000 - 1));    // 07-03 23:59:59.999 EDT
  CHECK_FALSE(h.IsOpen(1783137600000));  // 07-04 00:00 EDT
  CHECK(Next(h, 1783137600000) == 1783224000000);  // 07-05 00:00 EDT
  CHECK(h.IsOpen(1783224000000));
}

TEST_CASE("Several intervals a day, and openings that run across midnight") {
  BusinessHours h = Make(NewYork(
      R"({"mon":[["13:00","17:00"],["08:00","12:00"],["20:00","24:00"]],"tue":[["00:00","06:00"]]})"));
  CHECK(h.IsOpen(1767632400000 - 1));        // Mon 2026-01-05 11:59:59.999 EST
  CHECK_FALSE(h.IsOpen(1767632400000));      // Mon 12:00
  CHECK(Next(h, 1767632400000) == 1767636000000);  // Mon 13:00
  CHECK(h.IsOpen(1767661200000));            // Mon 20:00
  CHECK(h.IsOpen(1767675600000 - 1));        // Mon 23:59:59.999
  CHECK(h.IsOpen(1767675600000));            // Tue 00:00
  CHECK_FALSE(h.IsOpen(1767697200000));      // Tue 06:00
  // Tue 06:00 -> next Monday 08:00 EST (2026-01-12T13:00Z).
  CHECK(Next(h, 1767697200000) == 1768222800000);
  CHECK(h.weekly()[0].size() == 3);
  CHECK(h.weekly()[0][0].open_minute == 8 * 60);  // sorted
}

TEST_CASE("An opening inside the spring-forward gap opens at the transition") {
  // Sunday 02:30-04:00. On 2026-03-08 the clocks go 01:59:59 EST -> 03:00 EDT
  // (07:00Z): the first reading at or after 02:30 is 03:00 EDT.
  BusinessHours h = Make(NewYork(R"({"sun":[["02:30","04:00"]]})"));
  CHECK(Next(h, 1772946000000) == 1772953200000);  // from 00:00 EST to 07:00Z
  CHECK_FALSE(h.IsOpen(1772953200000 - 1));
  CHECK(h.IsOpen(1772953200000));
  CHECK(h.IsOpen(1772956800000 - 1));  // 03:59:59.999 EDT
  CHECK_FALSE(h.IsOpen(1772956800000));  // 04:00 EDT
  // The next Sunday opens at 02:30 EDT (06:30Z).
  CHECK(Next(h, 1772956800000) == 1773556200000);
}

TEST_CASE("An interval entirely inside the gap is empty that day") {
  BusinessHours h = Make(NewYork(R"({"sun":[["02:00","02:45"]]})"));
  CHECK(Next(h, 1772946000000) == 1773554400000);  // 2026-03-15 02:00 EDT
  for (UnixMillis t = 1772946000000; t < 1772956800000; t += 60000) {
    REQUIRE_FALSE(h.IsOpen(t));
  }
}

TEST_CASE("Fall back: the repeated hour is open exactly when the clock reads in-hours") {
  // 2026-11-01: 01:59:59 EDT (05:59:59Z) -> 01:00 EST (06:00Z).
  SECTION("hours 00:00-01:30 close at 01:30 EDT and reopen 01:00-01:30 EST") {
    BusinessHours h = Make(NewYork(R"({"sun":[["00:00","01:30"]]})"));
    CHECK(h.IsOpen(1793505600000));          // 00:00 EDT
    CHECK(h.IsOpen(1793511000000 - 1));      // 01:29:59.999 EDT
    CHECK_FALSE(h.IsOpen(1793511000000));    // 01:30 EDT
    CHECK_FALSE(h.IsOpen(1793512800000 - 1));  // 01:59:59.999 EDT
    CHECK(h.IsOpen(1793512800000));          // 01:00 EST
    CHECK(h.IsOpen(1793514600000 - 1));      // 01:29:59.999 EST
    CHECK_FALSE(h.IsOpen(1793514600000));    // 01:30 EST
    CHECK(Next(h, 1793511000000) == 1793512800000);
    CHECK(Next(h, 1793514600000) == 1794114000000);  // 11-08 00:00 EST
  }
  SECTION("hours 01:30-03:00 open at 01:30 EDT, pause 01:00-01:30 EST") {
    BusinessHours h = Make(NewYork(R"({"sun":[["01:30","03:00"]]})"));
    CHECK(h.IsOpen(1793511000000));          // 01:30 EDT
    CHECK(h.IsOpen(1793512800000 - 1));      // 01:59:59.999 EDT
    CHECK_FALSE(h.IsOpen(1793512800000));    // 01:00 EST
    CHECK_FALSE(h.IsOpen(1793514600000 - 1));  // 01:29:59.999 EST
    CHECK(h.IsOpen(1793514600000));          // 01:30 EST
    CHECK(h.IsOpen(1793520000000 - 1));      // 02:59:59.999 EST
    CHECK_FALSE(h.IsOpen(1793520000000));    // 03:00 EST
    CHECK(Next(h, 1793512800000) == 1793514600000);
    CHECK(Next(h, 1793505600000) == 1793511000000);
  }
}

TEST_CASE("Lord Howe's 30-minute fall back repeats half an hour") {
  // 2026-04-05 02:00 +11 (04-04T15:00Z) -> 01:30 +1030. Hours 01:45-02:15.
  BusinessHours h = Make(
      R"({"timeZone":"Australia/Lord_Howe","weekly":{"sun":[["01:45","02:15"]]}})");
  CHECK(h.IsOpen(1775313900000));            // 01:45 +11
  CHECK(h.IsOpen(1775314800000 - 1));        // 01:59:59.999 +11
  CHECK_FALSE(h.IsOpen(1775314800000));      // 01:30 +1030
  CHECK(Next(h, 1775314800000) == 1775315700000);  // 01:45 +1030
  CHECK(h.IsOpen(1775317500000 - 1));        // 02:14:59.999 +1030
  CHECK_FALSE(h.IsOpen(1775317500000));      // 02:15 +1030
}

TEST_CASE("Apia: Friday 2011-12-30 never happened, so its hours never open") {
  BusinessHours h = Make(
      R"({"timeZone":"Pacific/Apia","weekly":{"fri":[["08:00","20:00"]],"sat":[["08:00","12:00"]]}})");
  // Thu 2011-12-29 21:00 -10 (12-30T07:00Z) -> Sat 2011-12-31 08:00 +14
  // (12-30T18:00Z).
  CHECK(Next(h, 1325228400000) == 1325268000000);
}

TEST_CASE("Nuuk skips Saturday 23:00-24:00, a Sunday holiday then starts at the jump") {
  // Sat 2026-03-28 23:00 -02 (03-29T01:00Z) -> Sun 00:00 -01.
  const char* weekly = R"("weekly":{"sat":[["22:00","24:00"]],"sun":[["00:00","02:00"]]})";
  BusinessHours open_sunday = Make(std::string(R"({"timeZone":"America/Nuuk",)") + weekly + "}");
  CHECK(open_sunday.IsOpen(1774742400000));      // Sat 22:00 -02 (00:00Z)
  CHECK(open_sunday.IsOpen(1774746000000));      // Sun 00:00 -01 (01:00Z)
  CHECK(open_sunday.IsOpen(1774753200000 - 1));  // Sun 01:59:59.999 -01
  CHECK_FALSE(open_sunday.IsOpen(1774753200000));  // Sun 02:00 -01 (03:00Z)
  BusinessHours closed_sunday = Make(std::string(R"({"timeZone":"America/Nuuk",)") + weekly +
                                     R"(,"holidays":["2026-03-29"]})");
  CHECK(closed_sunday.IsOpen(1774746000000 - 1));  // Sat 22:59:59.999 -02
  CHECK_FALSE(closed_sunday.IsOpen(1774746000000));  // Sun 00:00 -01, a holiday
  // Next: Saturday 2026-04-04 22:00 -01 (23:00Z).
  CHECK(Next(closed_sunday, 1774746000000) == 1775343600000);
}

TEST_CASE("A schedule that is never open answers NotFound") {
  for (const char* weekly : {"{}", R"({"mon":[],"sun":[]})"}) {
    BusinessHours h = Make(NewYork(weekly));
    auto n = h.NextOpen(1772902800000);
    REQUIRE_FALSE(n.ok());
    CHECK(n.status().code() == StatusCode::kNotFound);
    CHECK(n.status().message().find("never open") != std::string::npos);
    CHECK_FALSE(h.IsOpen(1772902800000));
  }
}

TEST_CASE("NextOpen refuses instants outside years 0001-9999") {
  BusinessHours h = Make(NewYork(kWeekdays));
  CHECK(h.NextOpen(lifeline::kEarliestUnixMillis - 1).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(h.NextOpen(253402300800000).status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(h.IsOpen(253402300800000));
}

TEST_CASE("NextOpen agrees with IsOpen minute by minute through the DST weeks") {
  const std::string specs[] = {
      NewYork(kWeekdays, R"(["2026-03-09"])"),
      NewYork(R"({"sun":[["00:00","01:30"],["02:30","04:00"]],"sat":[["23:00","24:00"]]})"),
      NewYork(R"({"sun":[["01:30","03:00"]],"mon":[["00:00","00:01"]]})"),
      R"({"timeZone":"Europe/Dublin","weekly":{"sun":[["00:30","01:30"],["01:45","02:30"]]}})",
      R"({"timeZone":"Australia/Lord_Howe","weekly":{"sun":[["01:45","02:15"]]}})",
  };
  const UnixMillis ranges[][2] = {
      {1772668800000, 1773273600000},  // 2026-03-05 .. 03-12
      {1793145600000, 1793750400000},  // 2026-10-28 .. 11-04
      {1774483200000, 1775088000000},  // 2026-03-26 .. 04-02 (Europe)
      {1792540800000, 1793145600000},  // 2026-10-21 .. 10-28 (Europe)
      {1775001600000, 1775606400000},  // 2026-04-01 .. 04-08 (Lord Howe)
  };
  for (const std::string& spec : specs) {
    BusinessHours h = Make(spec);
    for (const auto& range : ranges) {
      UnixMillis expected_next = -1;
      for (UnixMillis t = range[0]; t < range[1]; t += 60000) {
        INFO(spec << " t=" << t);
        const bool open = h.IsOpen(t);
        const UnixMillis next = Next(h, t);
        REQUIRE(next >= t);
        REQUIRE(open == (next == t));
        REQUIRE(h.IsOpen(next));
        if (expected_next > t) REQUIRE(next == expected_next);
        expected_next = next;
      }
    }
  }
}

TEST_CASE("The JSON spec is strict and names the key that is wrong") {
  struct Bad {
    std::string json;
    StatusCode code;
    const char* part;
  };
  const Bad bad[] = {
      {"not json", StatusCode::kInvalidArgument, "not valid JSON: position 1"},
      {"[]", StatusCode::kInvalidArgument, "must be a JSON object"},
      {R"({"timeZone":"America/New_York","weekly":{},"extra":1})", StatusCode::kInvalidArgument,
       "unknown key 'extra'"},
      {R"({"timeZone":"America/New_York","weekly":{},"timeZone":"UTC"})",
       StatusCode::kInvalidArgument, "'timeZone' repeated"},
      {R"({"weekly":{}})", StatusCode::kInvalidArgument, "missing key 'timeZone'"},
      {R"({"timeZone":"America/New_York"})", StatusCode::kInvalidArgument, "missing key 'weekly'"},
      {R"({"timeZone":5,"weekly":{}})", StatusCode::kInvalidArgument, "timeZone: must be a string"},
      {R"({"timeZone":"Nowhere/Zone","weekly":{}})", StatusCode::kNotFound,
       "timeZone: time zone 'Nowhere/Zone' is not in the tz database"},
      {NewYork("[]"), StatusCode::kInvalidArgument, "weekly: must be an object"},
      {NewYork(R"({"monday":[]})"), StatusCode::kInvalidArgument, "weekly: unknown key 'monday'"},
      {NewYork(R"({"mon":[],"mon":[]})"), StatusCode::kInvalidArgument, "weekly.mon: repeated"},
      {NewYork(R"({"mon":"08:00-20:00"})"), StatusCode::kInvalidArgument,
       "weekly.mon: must be an array"},
      {NewYork(R"({"mon":[["08:00"]]})"), StatusCode::kInvalidArgument,
       "weekly.mon[0]: must be a pair"},
      {NewYork(R"({"tue":[["08:00","12:00"],["8:00","20:00"]]})"), StatusCode::kInvalidArgument,
       "weekly.tue[1][0]: must be \"HH:MM\""},
      {NewYork(R"({"mon":[[8,20]]})"), StatusCode::kInvalidArgument,
       "weekly.mon[0][0]: must be a string"},
      {NewYork(R"({"mon":[["08:00","24:01"]]})"), StatusCode::kInvalidArgument,
       "weekly.mon[0][1]: must be \"HH:MM\" from 00:01 to 24:00"},
      {NewYork(R"({"mon":[["24:00","24:00"]]})"), StatusCode::kInvalidArgument,
       "weekly.mon[0][0]: must be \"HH:MM\" from 00:00 to 23:59"},
      {NewYork(R"({"mon":[["08:60","20:00"]]})"), StatusCode::kInvalidArgument,
       "weekly.mon[0][0]"},
      {NewYork(R"({"mon":[["20:00","08:00"]]})"), StatusCode::kInvalidArgument,
       "weekly.mon[0]: close must be after open"},
      {NewYork(R"({"mon":[["08:00","08:00"]]})"), StatusCode::kInvalidArgument,
       "weekly.mon[0]: close must be after open"},
      {NewYork(R"({"fri":[["08:00","12:00"],["11:00","14:00"]]})"), StatusCode::kInvalidArgument,
       "weekly.fri: intervals 08:00-12:00 and 11:00-14:00 overlap"},
      {NewYork("{}", R"("2026-12-25")"), StatusCode::kInvalidArgument, "holidays: must be an array"},
      {NewYork("{}", R"(["2026-12-25","2026-02-30"])"), StatusCode::kInvalidArgument,
       "holidays[1]: must be a valid date"},
      {NewYork("{}", R"([20261225])"), StatusCode::kInvalidArgument, "holidays[0]"},
      {NewYork("{}", R"(["0000-01-01"])"), StatusCode::kInvalidArgument, "holidays[0]"},
  };
  for (const Bad& b : bad) {
    INFO(b.json);
    lifeline::Result<BusinessHours> h = BusinessHours::FromJson(b.json);
    REQUIRE_FALSE(h.ok());
    CHECK(h.status().code() == b.code);
    INFO(h.status().message());
    CHECK(h.status().message().find(b.part) != std::string::npos);
  }
}

TEST_CASE("Create validates intervals and holidays built in C++") {
  const lifeline::TimeZone* ny = *lifeline::FindTimeZone("America/New_York");
  BusinessHours::WeeklySchedule weekly;
  weekly[2] = {{9 * 60, 17 * 60}};
  auto ok = BusinessHours::Create(*ny, weekly, {{2026, 1, 7}});
  REQUIRE(ok.ok());
  CHECK(&ok->zone() == ny);
  weekly[2] = {{-1, 60}};
  CHECK(BusinessHours::Create(*ny, weekly, {}).status().message() ==
        "weekly.wed[0]: open must be 00:00-23:59");
  weekly[2] = {{60, 1441}};
  CHECK(BusinessHours::Create(*ny, weekly, {}).status().code() == StatusCode::kInvalidArgument);
  weekly[2] = {{60, 120}};
  CHECK(BusinessHours::Create(*ny, weekly, {{2026, 2, 29}}).status().message() ==
        "holidays[0]: not a valid date");
}
