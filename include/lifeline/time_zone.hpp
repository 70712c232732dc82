// time_zone.hpp -- local wall time in an IANA zone, to and from UTC.
//
// Overview: a caller asks to be called back "tomorrow at 02:30" in their own
// zone; the platform wants UTC. `LocalToUtc` converts, and says what it had
// to decide, because twice a year the wall clock skips or repeats an hour:
//
//   - a gap (spring forward: New York 2026-03-08 02:00-03:00 never happens)
//     is resolved by a GapPolicy:
//       kReject        NonexistentTime error (LIFELINE_E_NONEXISTENT_TIME);
//       kShiftForward  read the wall time with the offset in force before the
//                      transition: 02:30 EST = 07:30Z, which the clocks show
//                      as 03:30 EDT (java.time, Python zoneinfo with fold=0);
//       kNextValid     the instant of the transition: 07:00Z = 03:00 EDT.
//   - an overlap (fall back: New York 2026-11-01 01:00-02:00 happens twice)
//     is resolved by an OverlapPolicy:
//       kReject        AmbiguousTime error (LIFELINE_E_AMBIGUOUS_TIME);
//       kEarliest      the first pass (01:30 EDT = 05:30Z);
//       kLatest        the second pass (01:30 EST = 06:30Z).
//   - the result carries a LocalKind: kUnique (no decision was needed),
//     kShifted (a gap was resolved) or kAmbiguous (an overlap was resolved).
//
// `UtcToLocal` goes the other way and gives the offset and the zone's
// abbreviation ("EDT", "+0530", ...).
//
// Zones come from the operating system's tz database (/usr/share/zoneinfo,
// read through Howard Hinnant's date/tz.h; nothing is ever downloaded).
// `FindTimeZone` loads a zone once, turns its rules into a compact table of
// transitions, and caches it for the life of the process. The TZif files
// list explicit transitions only up to 2037 for rule-based zones; after the
// last one, the zone's POSIX TZ rule (the TZif footer, e.g.
// "EST5EDT,M3.2.0,M11.1.0") is applied through date/ptz.h, so New York in
// 2040 still observes DST. The rule's transitions are materialised into the
// table through 2100; later instants evaluate the rule on the fly (slower,
// still allocation-free). A footer that ptz.h cannot read (e.g. negative
// transition times, "M3.5.0/-1") leaves the last offset in force after the
// last explicit transition, which is what date/tz.h itself does.
//
// Performance: a cached zone is an immutable table. Conversions do a binary
// search and a few comparisons, take no lock and never allocate on success
// (errors allocate their message). Looking up an already cached zone takes
// a reader lock and does not allocate.
//
// Thread-safety: every function here may be called from any thread. A
// `const TimeZone*` stays valid until the process exits.
//
// Range: local dates are years 0001-9999; UtcToLocal accepts instants whose
// local date falls in that range.
//
// Example:
//
//   auto zone = lifeline::FindTimeZone("America/New_York");
//   if (!zone.ok()) return zone.status();              // NotFound
//   auto local = lifeline::ParseLocalDateTime("2026-03-08T02:30");
//   auto utc = lifeline::LocalToUtc(**zone, *local,
//                                   lifeline::GapPolicy::kShiftForward,
//                                   lifeline::OverlapPolicy::kEarliest);
//   // utc->unix_ms == 1772955000000 (2026-03-08T07:30:00Z),
//   // utc->kind == lifeline::LocalKind::kShifted
#ifndef LIFELINE_TIME_ZONE_HPP_
#define LIFELINE_TIME_ZONE_HPP_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lifeline/clock.hpp"
#include "lifeline/status.hpp"

namespace lifeline {

// What to do with a local time that the clocks skip (spring forward).
// Values equal LIFELINE_GAP_*.
enum class GapPolicy : int {
  kReject = 0,
  kShiftForward = 1,
  kNextValid = 2,
};

// What to do with a local time that the clocks show twice (fall back).
// Values equal LIFELINE_OVERLAP_*.
enum class OverlapPolicy : int {
  kReject = 0,
  kEarliest = 1,
  kLatest = 2,
};

// Which case LocalToUtc met. Values equal LIFELINE_LOCAL_*.
enum class LocalKind : int {
  kUnique = 0,     // the local time happens exactly once
  kShifted = 1,    // it fell in a gap, resolved by the GapPolicy
  kAmbiguous = 2,  // it fell in an overlap, resolved by the OverlapPolicy
};

// A wall-clock reading, without a zone. Fields are plain numbers; functions
// that take one validate it (year 1-9999, a real date, hour 0-23, minute and
// second 0-59, millisecond 0-999).
struct LocalDateTime {
  int year = 1970;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millisecond = 0;
};

bool operator==(const LocalDateTime& a, const LocalDateTime& b);
inline bool operator!=(const LocalDateTime& a, const LocalDateTime& b) { return !(a == b); }

// The answer of LocalToUtc.
struct LocalResolution {
  UnixMillis unix_ms = 0;
  LocalKind kind = LocalKind::kUnique;
};

// The answer of UtcToLocal.
struct ZonedDateTime {
  LocalDateTime local;
  // UTC offset in force, seconds east of Greenwich (EDT is -14400).
  std::int32_t offset_seconds = 0;
  // The zone's abbreviation at that instant ("EDT", "GMT", "+1030").
  // Points into the cached zone: valid until the process exits.
  std::string_view abbreviation;
};

// Size of the buffer FormatLocalDateTime writes: "YYYY-MM-DDTHH:MM:SS" and a
// NUL. Equal to LIFELINE_LOCAL_TIME_BUFFER_SIZE in lifeline.h.
inline constexpr std::size_t kLocalDateTimeBufferSize = 20;

// An IANA time zone, loaded from the OS tz database by FindTimeZone. It is
// immutable; FindTimeZone owns it and keeps it until the process exits.
class TimeZone {
 public:
  TimeZone(const TimeZone&) = delete;
  TimeZone& operator=(const TimeZone&) = delete;
  ~TimeZone();

  // The IANA name it was found by, e.g. "America/New_York".
  std::string_view name() const { return name_; }

  // The offset and abbreviation in force at `utc_seconds` (seconds since the
  // Unix epoch), and the run of time [since, until) in UTC seconds during
  // which they stay in force (the lowest / highest int64 when unbounded).
  // Never fails; does not allocate.
  struct Offset {
    std::int32_t seconds = 0;
    std::string_view abbreviation;
    std::int64_t since = 0;
    std::int64_t until = 0;
  };
  Offset OffsetAt(std::int64_t utc_seconds) const;

  // The low-level form of LocalToUtc: `local_seconds` counts seconds since
  // 1970-01-01T00:00:00 on this zone's wall clock (no validation beyond
  // years 0001-9999). On success `*utc_seconds` and `*kind` are set.
  // kNextValid answers the transition instant itself. Fails with
  // NonexistentTime / AmbiguousTime under the reject policies, and
  // InvalidArgument for a policy value outside the enum.
  Status ResolveLocalSeconds(std::int64_t local_seconds, GapPolicy gap, OverlapPolicy overlap,
                             std::int64_t* utc_seconds, LocalKind* kind) const;

 private:
  friend Result<const TimeZone*> FindTimeZone(std::string_view iana_name);
  struct Rule;  // the POSIX TZ footer rule (date/ptz.h), when it has DST

  // One entry per change of offset or abbreviation, sorted by `at`.
  // transitions_[0].at is the lowest int64: it covers all earlier times.
  struct Transition {
    std::int64_t at;      // UTC seconds at which this offset starts
    std::int32_t offset;  // seconds east of UTC
    std::uint16_t abbrev; // index into abbreviations_
  };
  // A run of time with one offset: [begin, end) in UTC seconds.
  struct Span {
    std::int64_t begin;
    std::int64_t end;
    std::int32_t offset;
    std::uint16_t abbrev;
  };

  TimeZone();
  static Result<std::unique_ptr<TimeZone>> Load(std::string_view iana_name);
  std::uint16_t Intern(std::string_view abbreviation);
  Span SpanAt(std::int64_t utc_seconds) const;
  // Writes the consecutive spans that intersect [lo, hi] to `out` (at most
  // `cap`); returns their number, or -1 when there are more than `cap`.
  int SpansBetween(std::int64_t lo, std::int64_t hi, Span* out, int cap) const;

  std::string name_;
  std::vector<Transition> transitions_;
  std::vector<std::string> abbreviations_;
  // From this UTC second on, rule_ (not transitions_) gives the offset.
  std::int64_t rule_from_ = std::numeric_limits<std::int64_t>::max();
  std::unique_ptr<const Rule> rule_;
};

// The zone called `iana_name` ("Europe/Dublin"), from the cache or loaded
// from the OS tz database on first use. Names are case-sensitive, as in the
// tz database. Fails with NotFound for a name the database does not have.
Result<const TimeZone*> FindTimeZone(std::string_view iana_name);

// Parses "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" ('t' is also accepted).
// A local time carries no offset and no fraction: "...Z", "...+01:00" and
// "....5" are refused, like a bad calendar date, hour 24 or second 60, with
// InvalidArgument and a "position N: ..." message.
Result<LocalDateTime> ParseLocalDateTime(std::string_view text);

// Writes "YYYY-MM-DDTHH:MM:SS" and a NUL (the millisecond is not written).
// InvalidArgument when `local` is not a valid LocalDateTime.
Status FormatLocalDateTime(const LocalDateTime& local, char (&out)[kLocalDateTimeBufferSize]);

// The UTC instant of a wall-clock reading in `zone`, with the DST gap and
// overlap decided by the policies (see the file comment). The millisecond
// field carries through, except under kNextValid, which answers the
// transition instant itself. Fails with InvalidArgument (bad fields or
// policy), NonexistentTime or AmbiguousTime.
Result<LocalResolution> LocalToUtc(const TimeZone& zone, const LocalDateTime& local,
                                   GapPolicy gap, OverlapPolicy overlap);

// The wall-clock reading, offset and abbreviation in `zone` at `t`.
// InvalidArgument when the local date would fall outside years 0001-9999.
Result<ZonedDateTime> UtcToLocal(const TimeZone& zone, UnixMillis t);

}  // namespace lifeline

#endif  // LIFELINE_TIME_ZONE_HPP_
