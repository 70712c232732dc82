// Local wall time <-> UTC. Every expected instant comes from the published
// tz facts (the transition dates and offsets named in each comment, as the
// tz database's own zdump reports them), turned into milliseconds by plain
// UTC arithmetic outside this code.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <limits>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "lifeline/rfc3339.hpp"
#include "lifeline/time_zone.hpp"
#include "support/allocation_counter.hpp"

using lifeline::FindTimeZone;
using lifeline::GapPolicy;
using lifeline::LocalDateTime;
using lifeline::LocalKind;
using lifeline::LocalToUtc;
using lifeline::OverlapPolicy;
using lifeline::StatusCode;
using lifeline::TimeZone;
using lifeline::UnixMillis;
using lifeline::UtcToLocal;
using lifeline::testing::ThreadAllocations;

namespace {

const TimeZone& Zone(const char* name) {
  lifeline::Result<const TimeZone*> z = FindTimeZone(name);
  REQUIRE(z.ok());
  return **z;
}

LocalDateTime L(int y, int mo, int d, int h, int mi, int s = 0, int ms = 0) {
  LocalDateTime l;
  l.year = y;
  l.month = mo;
  l.day = d;
  l.hour = h;
  l.minute = mi;
  l.second = s;
  l.millisecond = ms;
  return l;
}

const GapPolicy kGaps[] = {GapPolicy::kReject, GapPolicy::kShiftForward, GapPolicy::kNextValid};
const OverlapPolicy kOverlaps[] = {OverlapPolicy::kReject, OverlapPolicy::kEarliest,
                                   OverlapPolicy::kLatest};

// A local time that exists exactly once: every policy pair gives `utc`.
void CheckUnique(const char* zone, const LocalDateTime& local, UnixMillis utc) {
  for (GapPolicy g : kGaps) {
    for (OverlapPolicy o : kOverlaps) {
      INFO(zone << " unique, gap " << static_cast<int>(g) << " overlap " << static_cast<int>(o));
      auto r = LocalToUtc(Zone(zone), local, g, o);
      REQUIRE(r.ok());
      CHECK(r->unix_ms == utc);
      CHECK(r->kind == LocalKind::kUnique);
    }
  }
}

// A local time in a gap: reject fails, shift-forward gives `shifted`,
// next-valid gives `transition`; the overlap policy plays no part.
void CheckGap(const char* zone, const LocalDateTime& local, UnixMillis shifted,
              UnixMillis transition) {
  for (OverlapPolicy o : kOverlaps) {
    INFO(zone << " gap, overlap policy " << static_cast<int>(o));
    auto rejected = LocalToUtc(Zone(zone), local, GapPolicy::kReject, o);
    REQUIRE_FALSE(rejected.ok());
    CHECK(rejected.status().code() == StatusCode::kNonexistentTime);
    CHECK(rejected.status().message().find(zone) != std::string::npos);
    auto shift = LocalToUtc(Zone(zone), local, GapPolicy::kShiftForward, o);
    REQUIRE(shift.ok());
    CHECK(shift->unix_ms == shifted);
    CHECK(shift->kind == LocalKind::kShifted);
    auto next = LocalToUtc(Zone(zone), local, GapPolicy::kNextValid, o);
    REQUIRE(next.ok());
    CHECK(next->unix_ms == transition);
    CHECK(next->kind == LocalKind::kShifted);
  }
}

// A local time in an overlap: reject fails, earliest / latest pick a pass;
// the gap policy plays no part.
void CheckOverlap(const char* zone, const LocalDateTime& local, UnixMillis earliest,
                  UnixMillis latest) {
  for (GapPolicy g : kGaps) {
    INFO(zone << " overlap, gap policy " << static_cast<int>(g));
    auto rejected = LocalToUtc(Zone(zone), local, g, OverlapPolicy::kReject);
    REQUIRE_FALSE(rejected.ok());
    CHECK(rejected.status().code() == StatusCode::kAmbiguousTime);
    auto first = LocalToUtc(Zone(zone), local, g, OverlapPolicy::kEarliest);
    REQUIRE(first.ok());
    CHECK(first->unix_ms == earliest);
    CHECK(first->kind == LocalKind::kAmbiguous);
    auto second = LocalToUtc(Zone(zone), local, g, OverlapPolicy::kLatest);
    REQUIRE(second.ok());
    CHECK(second->unix_ms == latest);
    CHECK(second->kind == LocalKind::kAmbiguous);
  }
}

void CheckLocal(const char* zone, UnixMillis t, const LocalDateTime& local, int offset,
                const char* abbreviation) {
  INFO(zone << " at " << t);
  auto z = UtcToLocal(Zone(zone), t);
  REQUIRE(z.ok());
  CHECK(z->local == local);
  CHECK(z->offset_seconds == offset);
  CHECK(std::string(z->abbreviation) == abbreviation);
}

}  // namespace

TEST_CASE("America/New_York: 2026 spring forward and fall back, every policy") {
  // DST starts Sun 2026-03-08 02:00 EST (07:00Z) -> 03:00 EDT.
  CheckGap("America/New_York", L(2026, 3, 8, 2, 30), 1772955000000 /* 07:30Z = 03:30 EDT */,
           1772953200000 /* 07:00Z = 03:00 EDT */);
  CheckGap("America/New_York", L(2026, 3, 8, 2, 0), 1772953200000, 1772953200000);
  CheckUnique("America/New_York", L(2026, 3, 8, 1, 59, 59), 1772953199000);  // 06:59:59Z
  CheckUnique("America/New_York", L(2026, 3, 8, 3, 0), 1772953200000);       // 07:00Z
  // DST ends Sun 2026-11-01 02:00 EDT (06:00Z) -> 01:00 EST.
  CheckOverlap("America/New_York", L(2026, 11, 1, 1, 30), 1793511000000 /* 05:30Z EDT */,
               1793514600000 /* 06:30Z EST */);
  CheckOverlap("America/New_York", L(2026, 11, 1, 1, 0), 1793509200000 /* 05:00Z */,
               1793512800000 /* 06:00Z */);
  CheckUnique("America/New_York", L(2026, 11, 1, 2, 0), 1793516400000);   // 07:00Z EST
  CheckUnique("America/New_York", L(2026, 11, 1, 0, 59, 59), 1793509199000);  // 04:59:59Z
  CheckUnique("America/New_York", L(2026, 7, 1, 12, 0), 1782921600000);   // 16:00Z EDT
  CheckUnique("America/New_York", L(2026, 1, 15, 12, 0), 1768496400000);  // 17:00Z EST
}

TEST_CASE("America/New_York after 2037 follows the zone's POSIX rule") {
  // The TZif file lists transitions to 2037; EST5EDT,M3.2.0,M11.1.0 after.
  // 2040: DST from Sun 2040-03-11 to Sun 2040-11-04.
  CheckGap("America/New_York", L(2040, 3, 11, 2, 30), 2215063800000 /* 07:30Z */,
           2215062000000 /* 07:00Z */);
  CheckOverlap("America/New_York", L(2040, 11, 4, 1, 30), 2235619800000 /* 05:30Z */,
               2235623400000 /* 06:30Z */);
  CheckUnique("America/New_York", L(2040, 7, 1, 12, 0), 2224771200000);   // EDT
  CheckUnique("America/New_York", L(2040, 1, 15, 12, 0), 2210259600000);  // EST
  CheckLocal("America/New_York", 2224771200000, L(2040, 7, 1, 12, 0), -14400, "EDT");
  CheckLocal("America/New_York", 2210259600000, L(2040, 1, 15, 12, 0), -18000, "EST");
  // Far future: still DST every summer (2nd Sunday of March 2099 is 03-08).
  CheckLocal("America/New_York", 4087123200000 /* 2099-07-07T16:00Z */, L(2099, 7, 7, 12, 0),
             -14400, "EDT");
}

TEST_CASE("America/New_York after 2100 evaluates the POSIX rule on the fly") {
  // The rule is materialised into the table through 2100 only. 2150: DST
  // from Sun 2150-03-08 to Sun 2150-11-01.
  CheckGap("America/New_York", L(2150, 3, 8, 2, 30), 5686011000000 /* 07:30Z */,
           5686009200000 /* 07:00Z */);
  CheckOverlap("America/New_York", L(2150, 11, 1, 1, 30), 5706567000000 /* 05:30Z */,
               5706570600000 /* 06:30Z */);
  CheckUnique("America/New_York", L(2150, 7, 1, 12, 0), 5695977600000);
  CheckLocal("America/New_York", 5695977600000, L(2150, 7, 1, 12, 0), -14400, "EDT");
}

TEST_CASE("Europe/London: BST 2026") {
  // BST starts Sun 2026-03-29 01:00 GMT (01:00Z) -> 02:00 BST.
  CheckGap("Europe/London", L(2026, 3, 29, 1, 30), 1774747800000 /* 01:30Z */,
           1774746000000 /* 01:00Z */);
  // BST ends Sun 2026-10-25 02:00 BST (01:00Z) -> 01:00 GMT.
  CheckOverlap("Europe/London", L(2026, 10, 25, 1, 30), 1792888200000 /* 00:30Z BST */,
               1792891800000 /* 01:30Z GMT */);
  CheckLocal("Europe/London", 1774746000000, L(2026, 3, 29, 2, 0), 3600, "BST");
  CheckLocal("Europe/London", 1774745999999, L(2026, 3, 29, 0, 59, 59, 999), 0, "GMT");
}

TEST_CASE("Europe/Dublin: negative DST (IST is standard, GMT the winter 'DST')") {
  // The OS tzdb (2025b) marks winter GMT as isdst=1 with IST +01:00 as
  // standard time; the wall clock changes on the same instants as London.
  CheckGap("Europe/Dublin", L(2026, 3, 29, 1, 30), 1774747800000, 1774746000000);
  CheckOverlap("Europe/Dublin", L(2026, 10, 25, 1, 30), 1792888200000, 1792891800000);
  CheckLocal("Europe/Dublin", 1768496400000 /* 2026-01-15T17:00Z */, L(2026, 1, 15, 17, 0), 0,
             "GMT");
  CheckLocal("Europe/Dublin", 1782921600000 /* 2026-07-01T16:00Z */, L(2026, 7, 1, 17, 0), 3600,
             "IST");
  // After 2037 the footer "IST-1GMT0,M10.5.0,M3.5.0/1" (a negative save)
  // applies: 2040 changes on Sun 03-25 and Sun 10-28.
  CheckGap("Europe/Dublin", L(2040, 3, 25, 1, 30), 2216251800000 /* 01:30Z */,
           2216250000000 /* 01:00Z */);
  CheckOverlap("Europe/Dublin", L(2040, 10, 28, 1, 30), 2234997000000 /* 00:30Z */,
               2235000600000 /* 01:30Z */);
}

TEST_CASE("Australia/Lord_Howe: a 30-minute DST") {
  // +1030 standard, +11 DST. DST ends Sun 2026-04-05 02:00 +11 (04-04
  // 15:00Z) -> 01:30 +1030: 01:30-02:00 happens twice.
  CheckOverlap("Australia/Lord_Howe", L(2026, 4, 5, 1, 45), 1775313900000 /* 04-04 14:45Z */,
               1775315700000 /* 04-04 15:15Z */);
  CheckUnique("Australia/Lord_Howe", L(2026, 4, 5, 1, 29), 1775312940000);  // 14:29Z at +11
  // DST starts Sun 2026-10-04 02:00 +1030 (10-03 15:30Z) -> 02:30 +11.
  CheckGap("Australia/Lord_Howe", L(2026, 10, 4, 2, 15), 1791042300000 /* 15:45Z */,
           1791041400000 /* 15:30Z */);
  CheckUnique("Australia/Lord_Howe", L(2026, 10, 4, 2, 30), 1791041400000);
  CheckLocal("Australia/Lord_Howe", 1775315700000, L(2026, 4, 5, 1, 45), 37800, "+1030");
  CheckLocal("Australia/Lord_Howe", 1775313900000, L(2026, 4, 5, 1, 45), 39600, "+11");
}

TEST_CASE("America/Sao_Paulo: DST in 2018, abolished from 2019") {
  // DST started Sun 2018-11-04 00:00 -03 (03:00Z) -> 01:00 -02.
  CheckGap("America/Sao_Paulo", L(2018, 11, 4, 0, 30), 1541302200000 /* 03:30Z */,
           1541300400000 /* 03:00Z */);
  // It ended Sun 2019-02-17 00:00 -02 (02:00Z) -> Sat 23:00 -03: the last
  // fall back Brazil had.
  CheckOverlap("America/Sao_Paulo", L(2019, 2, 16, 23, 30), 1550367000000 /* 01:30Z */,
               1550370600000 /* 02:30Z */);
  // Under the old rule DST would have started on the first Sunday of
  // November: 2019-11-03 and 2024-11-03. Nothing happens now.
  CheckUnique("America/Sao_Paulo", L(2024, 11, 3, 0, 30), 1730604600000);  // 03:30Z at -03
  CheckUnique("America/Sao_Paulo", L(2019, 11, 3, 0, 30), 1572751800000);  // 03:30Z at -03
  CheckLocal("America/Sao_Paulo", 1768496400000 /* 2026-01-15T17:00Z */, L(2026, 1, 15, 14, 0),
             -10800, "-03");
}

TEST_CASE("Pacific/Apia: 2011-12-30 never happened") {
  // Samoa moved across the date line: Thu 2011-12-29 23:59:59 -10 was
  // followed by Sat 2011-12-31 00:00 +14 (2011-12-30T10:00Z).
  for (int hour : {0, 9, 12, 23}) {
    INFO("hour " << hour);
    // Shift forward reads the wall time at -10: 2011-12-30T<hour>:00-10:00,
    // which is 2011-12-30T00:00Z (1325203200000) + hour + 10 h.
    const std::int64_t shifted = 1325203200000 + (hour + 10) * 3600000LL;
    CheckGap("Pacific/Apia", L(2011, 12, 30, hour, 0), shifted, 1325239200000);
  }
  CheckGap("Pacific/Apia", L(2011, 12, 30, 12, 0), 1325282400000 /* 22:00Z */, 1325239200000);
  CheckUnique("Pacific/Apia", L(2011, 12, 29, 23, 59, 59), 1325239199000);
  CheckUnique("Pacific/Apia", L(2011, 12, 31, 0, 0), 1325239200000);
  CheckLocal("Pacific/Apia", 1325239199000, L(2011, 12, 29, 23, 59, 59), -36000, "-10");
  CheckLocal("Pacific/Apia", 1325239200000, L(2011, 12, 31, 0, 0), 50400, "+14");
}

TEST_CASE("Africa/Casablanca: the clocks go back for Ramadan and forward after") {
  // Morocco is +01 with +00 during Ramadan. 2026: Sun 02-15 03:00 +01
  // (02:00Z) -> 02:00 +00, and Sun 03-22 02:00 +00 (02:00Z) -> 03:00 +01.
  CheckOverlap("Africa/Casablanca", L(2026, 2, 15, 2, 30), 1771119000000 /* 01:30Z */,
               1771122600000 /* 02:30Z */);
  CheckGap("Africa/Casablanca", L(2026, 3, 22, 2, 30), 1774146600000 /* 02:30Z */,
           1774144800000 /* 02:00Z */);
  CheckLocal("Africa/Casablanca", 1771120800000 /* 02-15T02:00Z */, L(2026, 2, 15, 2, 0), 0,
             "+00");
  CheckLocal("Africa/Casablanca", 1771120799000, L(2026, 2, 15, 2, 59, 59), 3600, "+01");
}

TEST_CASE("America/Nuuk: DST at -1:00 local time, a gap across midnight") {
  // Greenland changes at 01:00 UTC: Sat 2026-03-28 23:00 -02 -> Sun 00:00 -01,
  // Sat 2026-10-24 24:00 -01 -> 23:00 -02. Its TZif footer
  // "<-02>2<-01>,M3.5.0/-1,M10.5.0/0" is one date/ptz.h cannot read; the
  // explicit transitions (through 2037) still apply.
  CheckGap("America/Nuuk", L(2026, 3, 28, 23, 30), 1774747800000 /* 03-29T01:30Z */,
           1774746000000 /* 03-29T01:00Z */);
  CheckOverlap("America/Nuuk", L(2026, 10, 24, 23, 30), 1792888200000 /* 10-25T00:30Z */,
               1792891800000 /* 10-25T01:30Z */);
  CheckLocal("America/Nuuk", 1774746000000, L(2026, 3, 29, 0, 0), -3600, "-01");
}

TEST_CASE("The millisecond carries through, except to the transition instant") {
  const TimeZone& ny = Zone("America/New_York");
  auto unique = LocalToUtc(ny, L(2026, 7, 1, 12, 0, 0, 250), GapPolicy::kReject,
                           OverlapPolicy::kReject);
  REQUIRE(unique.ok());
  CHECK(unique->unix_ms == 1782921600250);
  auto shifted = LocalToUtc(ny, L(2026, 3, 8, 2, 30, 0, 250), GapPolicy::kShiftForward,
                            OverlapPolicy::kReject);
  REQUIRE(shifted.ok());
  CHECK(shifted->unix_ms == 1772955000250);
  auto next = LocalToUtc(ny, L(2026, 3, 8, 2, 30, 0, 250), GapPolicy::kNextValid,
                         OverlapPolicy::kReject);
  REQUIRE(next.ok());
  CHECK(next->unix_ms == 1772953200000);
}

TEST_CASE("LocalToUtc refuses invalid fields and policies") {
  const TimeZone& ny = Zone("America/New_York");
  struct Bad {
    LocalDateTime local;
    const char* part;
  };
  const Bad bad[] = {
      {L(2026, 2, 29, 12, 0), "day does not exist"},
      {L(2026, 13, 1, 12, 0), "month"},
      {L(0, 1, 1, 12, 0), "year"},
      {L(10000, 1, 1, 12, 0), "year"},
      {L(2026, 1, 1, 24, 0), "hour"},
      {L(2026, 1, 1, 12, 60), "minute"},
      {L(2026, 1, 1, 12, 0, 60), "second"},
      {L(2026, 1, 1, 12, 0, 0, 1000), "millisecond"},
  };
  for (const Bad& b : bad) {
    INFO(b.part);
    auto r = LocalToUtc(ny, b.local, GapPolicy::kReject, OverlapPolicy::kReject);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(r.status().message().find(b.part) != std::string::npos);
  }
  auto gap = LocalToUtc(ny, L(2026, 7, 1, 12, 0), static_cast<GapPolicy>(3), OverlapPolicy::kReject);
  CHECK(gap.status().code() == StatusCode::kInvalidArgument);
  CHECK(gap.status().message().find("gap policy") != std::string::npos);
  auto overlap =
      LocalToUtc(ny, L(2026, 7, 1, 12, 0), GapPolicy::kReject, static_cast<OverlapPolicy>(-1));
  CHECK(overlap.status().code() == StatusCode::kInvalidArgument);
  CHECK(overlap.status().message().find("overlap policy") != std::string::npos);
}

TEST_CASE("UtcToLocal handles the range edges and times before 1970") {
  CheckLocal("America/New_York", -1, L(1969, 12, 31, 18, 59, 59, 999), -18000, "EST");
  CheckLocal("Etc/UTC", lifeline::kEarliestUnixMillis, L(1, 1, 1, 0, 0), 0, "UTC");
  CheckLocal("Etc/UTC", 253402300799999, L(9999, 12, 31, 23, 59, 59, 999), 0, "UTC");
  // Before its first transition a zone keeps its local mean time:
  // New York LMT was -4:56:02 until 1883-11-18 12:03:58 LMT.
  CheckLocal("America/New_York", -2717650801000 /* 1883-11-18T16:59:59Z */,
             L(1883, 11, 18, 12, 3, 57), -17762, "LMT");
  CheckLocal("America/New_York", -2717650800000 /* 1883-11-18T17:00Z */,
             L(1883, 11, 18, 12, 0), -18000, "EST");
  // The local date must stay within years 0001-9999.
  auto early = UtcToLocal(Zone("America/New_York"), lifeline::kEarliestUnixMillis);
  CHECK(early.status().code() == StatusCode::kInvalidArgument);
  auto late = UtcToLocal(Zone("Pacific/Kiritimati"), 253402300799999);  // +14
  CHECK(late.status().code() == StatusCode::kInvalidArgument);
  auto way_out = UtcToLocal(Zone("Etc/UTC"), std::numeric_limits<std::int64_t>::max());
  CHECK(way_out.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("ParseLocalDateTime takes HH:MM or HH:MM:SS and nothing else") {
  auto a = lifeline::ParseLocalDateTime("2026-03-08T02:30");
  REQUIRE(a.ok());
  CHECK(*a == L(2026, 3, 8, 2, 30));
  auto b = lifeline::ParseLocalDateTime("2026-03-08t02:30:15");
  REQUIRE(b.ok());
  CHECK(*b == L(2026, 3, 8, 2, 30, 15));
  struct Bad {
    const char* text;
    const char* start;
    const char* part;
  };
  const Bad bad[] = {
      {"2026-03-08T02:30Z", "position 16:", "no offset"},
      {"2026-03-08T02:30:00Z", "position 19:", "no offset"},
      {"2026-03-08T02:30:00+01:00", "position 19:", "no offset"},
      {"2026-03-08T02:30-05:00", "position 16:", "no offset"},
      {"2026-03-08T02:30:00.5", "position 19:", "fractional"},
      {"2026-02-30T10:00", "position 8:", "day does not exist"},
      {"2023-02-29T10:00", "position 8:", "day does not exist"},
      {"2026-03-08T24:00", "position 11:", "hour must be 00-23"},
      {"2026-03-08T02:30:60", "position 17:", "second must be 00-59"},
      {"2026-03-08 02:30", "position 10:", "'T'"},
      {"2026-03-08T02", "position 13:", "':' after the hour"},
      {"2026-03-08T02:30 ", "position 16:", "':' and seconds"},
      {" 2026-03-08T02:30", "position 0:", "4-digit year"},
      {"2026-03-08T02:3\xC3\xA9", "position 15: non-ASCII", "2-digit minute"},
      {"", "position 0:", "4-digit year"},
  };
  for (const Bad& c : bad) {
    INFO(c.text);
    auto r = lifeline::ParseLocalDateTime(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK(r.status().message().rfind(c.start, 0) == 0);
    CHECK(r.status().message().find(c.part) != std::string::npos);
  }
}

TEST_CASE("FormatLocalDateTime writes YYYY-MM-DDTHH:MM:SS") {
  char out[lifeline::kLocalDateTimeBufferSize];
  REQUIRE(lifeline::FormatLocalDateTime(L(2026, 3, 8, 3, 30, 5, 999), out).ok());
  CHECK(std::string(out) == "2026-03-08T03:30:05");
  REQUIRE(lifeline::FormatLocalDateTime(L(1, 1, 1, 0, 0), out).ok());
  CHECK(std::string(out) == "0001-01-01T00:00:00");
  CHECK(lifeline::FormatLocalDateTime(L(2026, 2, 29, 0, 0), out).code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("An unknown zone is NotFound, names are case-sensitive") {
  for (const char* name : {"Mars/Olympus_Mons", "america/new_york", "", "America/New_York ",
                           "../../../etc/passwd", "/usr/share/zoneinfo/America/New_York"}) {
    INFO(name);
    auto z = FindTimeZone(name);
    REQUIRE_FALSE(z.ok());
    CHECK(z.status().code() == StatusCode::kNotFound);
  }
  auto z = FindTimeZone("Mars/Olympus_Mons");
  CHECK(z.status().message() ==
        "time zone 'Mars/Olympus_Mons' is not in the tz database (/usr/share/zoneinfo)");
  // A name that does not look like a zone name is not echoed.
  auto odd = FindTimeZone("+1 555 0100 call me");
  CHECK(odd.status().message().find("555") == std::string::npos);
}

TEST_CASE("Zones are cached: one object per name, found without allocating") {
  const TimeZone* first = &Zone("Europe/London");
  CHECK(first->name() == "Europe/London");
  const long before = ThreadAllocations();
  auto again = FindTimeZone("Europe/London");
  const long after = ThreadAllocations();
  REQUIRE(again.ok());
  CHECK(*again == first);
  CHECK(after - before == 0);

  std::vector<std::thread> threads;
  std::vector<const TimeZone*> seen(8, nullptr);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([i, &seen] {
      auto z = FindTimeZone("Asia/Kolkata");
      seen[static_cast<std::size_t>(i)] = z.ok() ? *z : nullptr;
    });
  }
  for (auto& t : threads) t.join();
  for (const TimeZone* z : seen) CHECK((z != nullptr && z == seen[0]));
}

TEST_CASE("Conversions do not allocate on success") {
  const TimeZone& ny = Zone("America/New_York");
  const TimeZone& dublin = Zone("Europe/Dublin");
  const LocalDateTime samples[] = {L(2026, 7, 1, 12, 0), L(2026, 3, 8, 2, 30),
                                   L(2026, 11, 1, 1, 30), L(2040, 3, 11, 2, 30),
                                   L(2060, 10, 31, 1, 30), L(2150, 3, 8, 2, 30),
                                   L(2150, 11, 1, 1, 30)};
  long allocations = 0;
  UnixMillis sink = 0;
  for (const LocalDateTime& local : samples) {
    const long before = ThreadAllocations();
    auto a = LocalToUtc(ny, local, GapPolicy::kShiftForward, OverlapPolicy::kLatest);
    auto b = LocalToUtc(dublin, local, GapPolicy::kNextValid, OverlapPolicy::kEarliest);
    auto c = UtcToLocal(ny, a.ok() ? a->unix_ms : 0);
    auto d = FindTimeZone("America/New_York");
    allocations += ThreadAllocations() - before;
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(c.ok());
    REQUIRE(d.ok());
    sink += a->unix_ms + b->unix_ms + c->offset_seconds;
  }
  CHECK(sink != 0);
  CHECK(allocations == 0);
}

TEST_CASE("Round trip: UtcToLocal then LocalToUtc gives the instant back") {
  // Every 37 minutes through 2026 in zones with unusual rules. An instant
  // whose wall time is repeated is recovered by the policy matching its
  // offset; every other instant is unique.
  for (const char* name : {"America/New_York", "Europe/Dublin", "Australia/Lord_Howe",
                           "Africa/Casablanca", "Asia/Kathmandu"}) {
    const TimeZone& zone = Zone(name);
    int ambiguous = 0;
    for (UnixMillis t = 1767225600000 /* 2026-01-01T00:00Z */; t < 1798761600000;
         t += 37 * 60000) {
      auto local = UtcToLocal(zone, t);
      REQUIRE(local.ok());
      auto early = LocalToUtc(zone, local->local, GapPolicy::kReject, OverlapPolicy::kEarliest);
      auto late = LocalToUtc(zone, local->local, GapPolicy::kReject, OverlapPolicy::kLatest);
      REQUIRE(early.ok());
      REQUIRE(late.ok());
      INFO(name << " " << t);
      REQUIRE((early->unix_ms == t || late->unix_ms == t));
      if (early->kind == LocalKind::kAmbiguous) ++ambiguous;
    }
    if (std::string(name) == "Asia/Kathmandu") {
      CHECK(ambiguous == 0);
    } else {
      CHECK(ambiguous > 0);
    }
  }
}
