// Time zones: a compact transition table built from date/tz.h (OS tz
// database), extended past the last explicit transition by the zone's POSIX
// TZ rule through date/ptz.h. See include/lifeline/time_zone.hpp.
#include "lifeline/time_zone.hpp"

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <date/date.h>
#include <date/ptz.h>  // defines non-inline functions: include in this file only
#include <date/tz.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>

#include "core/civil_text.hpp"
#include "lifeline/rfc3339.hpp"

namespace lifeline {
namespace {

using civil_text::ExpectedAt;
using civil_text::ProblemAt;

constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::int64_t kMin64 = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax64 = std::numeric_limits<std::int64_t>::max();
// Where date/tz.h finds the OS tz database on Debian (its discover_tz_dir).
constexpr const char* kZoneInfoDir = "/usr/share/zoneinfo";

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

std::int64_t ToSeconds(date::sys_seconds t) { return t.time_since_epoch().count(); }

// The POSIX TZ string at the end of a version 2+ TZif file: the text
// between the last two newlines. Empty when absent or unreadable.
std::string ReadTzifFooter(std::string_view name) {
  std::string path(kZoneInfoDir);
  path += '/';
  path.append(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 6 || data.compare(0, 4, "TZif") != 0 || data[4] < '2') return {};
  if (data.back() != '\n') return {};
  const std::size_t open = data.rfind('\n', data.size() - 2);
  if (open == std::string::npos) return {};
  return data.substr(open + 1, data.size() - open - 2);
}

// A name is echoed in messages only when it looks like a zone name.
std::string DescribeName(std::string_view name) {
  const bool plain = !name.empty() && name.size() <= 64 &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '-' ||
                              c == '+';
                     });
  return plain ? "'" + std::string(name) + "'" : std::string("the given name");
}

Status CheckLocal(const LocalDateTime& l) {
  if (l.year < 1 || l.year > 9999) return InvalidArgument("local year must be 0001-9999");
  if (l.month < 1 || l.month > 12) return InvalidArgument("local month must be 1-12");
  if (!civil_text::IsValidDate(l.year, l.month, l.day)) {
    return InvalidArgument("local day does not exist in that month and year");
  }
  if (l.hour < 0 || l.hour > 23) return InvalidArgument("local hour must be 0-23");
  if (l.minute < 0 || l.minute > 59) return InvalidArgument("local minute must be 0-59");
  if (l.second < 0 || l.second > 59) return InvalidArgument("local second must be 0-59");
  if (l.millisecond < 0 || l.millisecond > 999) {
    return InvalidArgument("local millisecond must be 0-999");
  }
  return Status::Ok();
}

std::string FormatUtcSeconds(std::int64_t utc_seconds) {
  Result<std::string> text = FormatRfc3339(utc_seconds * 1000);
  return text.ok() ? *text : std::string("an instant out of range");
}

}  // namespace

// ---------------------------------------------------------------------------
// The POSIX rule that governs after the last explicit transition.
// ---------------------------------------------------------------------------
struct TimeZone::Rule {
  explicit Rule(const std::string& tz) : posix(tz) {}
  Posix::time_zone posix;
  std::uint16_t abbrev_a = 0;  // the two abbreviations the rule uses,
  std::uint16_t abbrev_b = 0;  // interned in the zone's table
  std::string name_a;
  std::string name_b;
};

bool operator==(const LocalDateTime& a, const LocalDateTime& b) {
  return a.year == b.year && a.month == b.month && a.day == b.day && a.hour == b.hour &&
         a.minute == b.minute && a.second == b.second && a.millisecond == b.millisecond;
}

TimeZone::TimeZone() = default;
TimeZone::~TimeZone() = default;

std::uint16_t TimeZone::Intern(std::string_view abbreviation) {
  for (std::size_t i = 0; i < abbreviations_.size(); ++i) {
    if (abbreviations_[i] == abbreviation) return static_cast<std::uint16_t>(i);
  }
  abbreviations_.emplace_back(abbreviation);
  return static_cast<std::uint16_t>(abbreviations_.size() - 1);
}

Result<std::unique_ptr<TimeZone>> TimeZone::Load(std::string_view iana_name) {
  if (iana_name.empty() || iana_name.size() > 255) {
    return NotFound("time zone " + DescribeName(iana_name) + " is not in the tz database");
  }
  // date::locate_zone would throw for an unknown name; unknown names are
  // ordinary input here, so look the name up without an exception.
  const date::time_zone* zone = nullptr;
  const date::tzdb& db = date::get_tzdb();
  auto found = std::find_if(db.zones.begin(), db.zones.end(),
                            [iana_name](const date::time_zone& z) { return z.name() == iana_name; });
  if (found == db.zones.end()) {
    return NotFound("time zone " + DescribeName(iana_name) +
                    " is not in the tz database (" + kZoneInfoDir + ")");
  }
  zone = &*found;
  std::unique_ptr<TimeZone> tz(new TimeZone());
  tz->name_.assign(iana_name);
  tz->abbreviations_.reserve(16);

  // 1. Every explicit transition the TZif file lists, as date/tz.h reads it.
  const date::sys_seconds last_day{date::sys_days{date::year{32767} / 1 / 1}};
  date::sys_seconds at{date::sys_days{date::year{-32767} / 1 / 1}};
  for (int guard = 0;; ++guard) {
    if (guard > 100000) return InternalError("time zone table did not terminate");
    const date::sys_info info = zone->get_info(at);
    const auto offset = static_cast<std::int32_t>(info.offset.count());
    const std::uint16_t abbrev = tz->Intern(info.abbrev);
    if (tz->transitions_.empty()) {
      tz->transitions_.push_back({kMin64, offset, abbrev});
    } else if (tz->transitions_.back().offset != offset ||
               tz->transitions_.back().abbrev != abbrev) {
      tz->transitions_.push_back({ToSeconds(info.begin), offset, abbrev});
    }
    if (info.end >= last_day || info.end <= at) break;
    at = info.end;
  }

  // 2. After the last explicit transition, the TZif footer's POSIX rule.
  // (A zone without any explicit transition keeps its one offset.)
  const std::string footer =
      tz->transitions_.size() > 1 ? ReadTzifFooter(iana_name) : std::string();
  if (!footer.empty()) {
    try {
      auto rule = std::make_unique<Rule>(footer);
      const date::sys_info probe =
          rule->posix.get_info(date::sys_seconds{date::sys_days{date::year{2100} / 1 / 1}});
      const std::int64_t from = tz->transitions_.back().at;
      const date::sys_info at_from = rule->posix.get_info(date::sys_seconds{std::chrono::seconds{from}});
      const bool has_dst = probe.end < last_day;
      if (has_dst && at_from.offset.count() == tz->transitions_.back().offset) {
        const date::sys_info jan =
            rule->posix.get_info(date::sys_seconds{date::sys_days{date::year{2100} / 1 / 15}});
        const date::sys_info jul =
            rule->posix.get_info(date::sys_seconds{date::sys_days{date::year{2100} / 7 / 15}});
        rule->name_a = jan.abbrev;
        rule->name_b = jul.abbrev;
        rule->abbrev_a = tz->Intern(jan.abbrev);
        rule->abbrev_b = tz->Intern(jul.abbrev);
        // Materialise the rule's transitions through 2100 so that the usual
        // conversions stay a table lookup; later instants ask the rule.
        const date::sys_seconds table_end{date::sys_days{date::year{2101} / 1 / 1}};
        date::sys_seconds t{std::chrono::seconds{from}};
        while (t < table_end) {
          const date::sys_info info = rule->posix.get_info(t);
          const auto offset = static_cast<std::int32_t>(info.offset.count());
          const std::uint16_t abbrev = info.abbrev == rule->name_a ? rule->abbrev_a : rule->abbrev_b;
          if (tz->transitions_.back().offset != offset || tz->transitions_.back().abbrev != abbrev) {
            tz->transitions_.push_back({std::max(ToSeconds(info.begin), from), offset, abbrev});
          }
          if (info.end <= t) break;
          t = info.end;
        }
        tz->rule_from_ = tz->transitions_.back().at;
        tz->rule_ = std::move(rule);
      }
    } catch (const std::exception&) {
      // ptz.h cannot read this rule: the last offset stays in force, as in
      // date/tz.h. Documented in time_zone.hpp.
    }
  }
  if (tz->abbreviations_.size() > 0xffff) return InternalError("too many abbreviations");
  return tz;
}

TimeZone::Span TimeZone::SpanAt(std::int64_t utc_seconds) const {
  if (rule_ != nullptr && utc_seconds >= rule_from_) {
    const date::sys_info info =
        rule_->posix.get_info(date::sys_seconds{std::chrono::seconds{utc_seconds}});
    Span span;
    span.begin = std::max(ToSeconds(info.begin), rule_from_);
    span.end = ToSeconds(info.end);
    span.offset = static_cast<std::int32_t>(info.offset.count());
    span.abbrev = info.abbrev == rule_->name_a ? rule_->abbrev_a : rule_->abbrev_b;
    return span;
  }
  auto it = std::upper_bound(
      transitions_.begin(), transitions_.end(), utc_seconds,
      [](std::int64_t t, const Transition& tr) { return t < tr.at; });
  const std::size_t i = static_cast<std::size_t>(it - transitions_.begin()) - 1;
  Span span;
  span.begin = transitions_[i].at;
  span.end = i + 1 < transitions_.size() ? transitions_[i + 1].at : kMax64;
  if (span.end > rule_from_) span.end = rule_from_;
  span.offset = transitions_[i].offset;
  span.abbrev = transitions_[i].abbrev;
  return span;
}

int TimeZone::SpansBetween(std::int64_t lo, std::int64_t hi, Span* out, int cap) const {
  int n = 0;
  std::int64_t t = lo;
  if (t < rule_from_) {
    // One binary search, then walk the table.
    auto it = std::upper_bound(
        transitions_.begin(), transitions_.end(), t,
        [](std::int64_t v, const Transition& tr) { return v < tr.at; });
    for (std::size_t i = static_cast<std::size_t>(it - transitions_.begin()) - 1;
         i < transitions_.size() && transitions_[i].at < rule_from_; ++i) {
      if (n == cap) return -1;
      Span& span = out[n++];
      span.begin = transitions_[i].at;
      span.end = i + 1 < transitions_.size() ? transitions_[i + 1].at : kMax64;
      if (span.end > rule_from_) span.end = rule_from_;
      span.offset = transitions_[i].offset;
      span.abbrev = transitions_[i].abbrev;
      if (span.end > hi || span.end == kMax64) return n;
      t = span.end;
    }
  }
  while (true) {  // beyond the table: the zone's POSIX rule
    if (n == cap) return -1;
    const Span span = SpanAt(t);
    out[n++] = span;
    if (span.end > hi || span.end == kMax64) break;
    t = span.end;
  }
  return n;
}

TimeZone::Offset TimeZone::OffsetAt(std::int64_t utc_seconds) const {
  const Span span = SpanAt(utc_seconds);
  return Offset{span.offset, abbreviations_[span.abbrev], span.begin, span.end};
}

Status TimeZone::ResolveLocalSeconds(std::int64_t local, GapPolicy gap, OverlapPolicy overlap,
                                     std::int64_t* utc_seconds, LocalKind* kind) const {
  if (static_cast<int>(gap) < 0 || static_cast<int>(gap) > 2) {
    return InvalidArgument("gap policy must be kReject, kShiftForward or kNextValid");
  }
  if (static_cast<int>(overlap) < 0 || static_cast<int>(overlap) > 2) {
    return InvalidArgument("overlap policy must be kReject, kEarliest or kLatest");
  }
  // Every offset in the tz database is well under a day, so the UTC
  // candidates of `local` lie within two days of it.
  constexpr int kCap = 8;
  Span spans[kCap];
  const int n = SpansBetween(local - 2 * kSecondsPerDay, local + 2 * kSecondsPerDay, spans, kCap);
  if (n < 0) return InternalError("too many transitions around one local time in " + name_);

  int matches = 0;
  std::int64_t earliest = 0;
  std::int64_t latest = 0;
  for (int i = 0; i < n; ++i) {
    const std::int64_t u = local - spans[i].offset;
    if (spans[i].begin <= u && u < spans[i].end) {
      earliest = matches == 0 ? u : std::min(earliest, u);
      latest = matches == 0 ? u : std::max(latest, u);
      ++matches;
    }
  }
  if (matches == 1) {
    *utc_seconds = earliest;
    *kind = LocalKind::kUnique;
    return Status::Ok();
  }
  if (matches > 1) {
    switch (overlap) {
      case OverlapPolicy::kReject:
        return Status(StatusCode::kAmbiguousTime,
                      "the local time happens twice in " + name_ +
                          " (the clocks fall back); earliest " + FormatUtcSeconds(earliest) +
                          ", latest " + FormatUtcSeconds(latest));
      case OverlapPolicy::kEarliest:
        *utc_seconds = earliest;
        break;
      case OverlapPolicy::kLatest:
        *utc_seconds = latest;
        break;
    }
    *kind = LocalKind::kAmbiguous;
    return Status::Ok();
  }
  // A gap: find the transition the wall clock jumped over.
  for (int i = 1; i < n; ++i) {
    const std::int64_t at = spans[i].begin;
    if (at + spans[i - 1].offset <= local && local < at + spans[i].offset) {
      switch (gap) {
        case GapPolicy::kReject:
          return Status(StatusCode::kNonexistentTime,
                        "the local time does not exist in " + name_ +
                            " (the clocks skip it at " + FormatUtcSeconds(at) + ")");
        case GapPolicy::kShiftForward:
          *utc_seconds = local - spans[i - 1].offset;
          break;
        case GapPolicy::kNextValid:
          *utc_seconds = at;
          break;
      }
      *kind = LocalKind::kShifted;
      return Status::Ok();
    }
  }
  return InternalError("no offset of " + name_ + " matches the local time");
}

// ---------------------------------------------------------------------------
// The zone cache: an open-addressing table of atomic pointers. Zones are
// only ever added (there are fewer than the table has slots: the tz database
// has about 600 names), so readers probe without a lock and without
// allocating; writers take a mutex and publish a zone with a release store.
// ---------------------------------------------------------------------------
namespace {
class ZoneCache {
 public:
  explicit ZoneCache(std::size_t capacity)
      : capacity_(capacity), slots_(new std::atomic<const TimeZone*>[capacity]) {
    for (std::size_t i = 0; i < capacity_; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
  }

  const TimeZone* Find(std::string_view name) const {
    const std::size_t mask = capacity_ - 1;
    for (std::size_t i = std::hash<std::string_view>()(name) & mask;; i = (i + 1) & mask) {
      const TimeZone* zone = slots_[i].load(std::memory_order_acquire);
      if (zone == nullptr || zone->name() == name) return zone;
    }
  }

  // Adds `zone` unless a zone of that name is already there; returns the
  // one in the cache, or nullptr when the table is full.
  const TimeZone* Insert(std::unique_ptr<TimeZone> zone) {
    absl::MutexLock lock(&mu_);
    const std::size_t mask = capacity_ - 1;
    for (std::size_t i = std::hash<std::string_view>()(zone->name()) & mask;; i = (i + 1) & mask) {
      const TimeZone* present = slots_[i].load(std::memory_order_acquire);
      if (present != nullptr && present->name() == zone->name()) return present;
      if (present == nullptr) {
        if ((size_ + 1) * 2 > capacity_) return nullptr;  // keep probes short
        ++size_;
        slots_[i].store(zone.get(), std::memory_order_release);
        return zone.release();  // owned by the cache until the process exits
      }
    }
  }

 private:
  const std::size_t capacity_;  // a power of two
  std::unique_ptr<std::atomic<const TimeZone*>[]> slots_;
  absl::Mutex mu_;
  std::size_t size_ ABSL_GUARDED_BY(mu_) = 0;
};

ZoneCache& Cache() {
  // Sized once for every name in the tz database. Never destroyed: zones
  // must outlive every static that might still convert times at exit.
  static ZoneCache* cache = [] {
    std::size_t names = 1024;
    try {
      names = std::max(names, date::get_tzdb().zones.size());
    } catch (const std::exception&) {
      // No readable tz database: every lookup will fail anyway.
    }
    std::size_t capacity = 1;
    while (capacity < names * 2 + 2) capacity *= 2;
    return new ZoneCache(capacity);
  }();
  return *cache;
}
}  // namespace

Result<const TimeZone*> FindTimeZone(std::string_view iana_name) {
  ZoneCache& cache = Cache();
  if (const TimeZone* zone = cache.Find(iana_name)) return zone;
  // Loading reads files: it runs outside the lock; the first insert wins.
  Result<std::unique_ptr<TimeZone>> loaded = InternalError("time zone not loaded");
  try {
    loaded = TimeZone::Load(iana_name);
  } catch (const std::exception& e) {
    // date/tz.h throws when the tz database or a zone file is unreadable.
    return Unavailable(std::string("the OS tz database could not be read: ") + e.what());
  }
  if (!loaded.ok()) return loaded.status();
  const TimeZone* zone = cache.Insert(std::move(*loaded));
  if (zone == nullptr) return InternalError("the time zone cache is full");
  return zone;
}

// ---------------------------------------------------------------------------
// Local date-time text and the conversions.
// ---------------------------------------------------------------------------
Result<LocalDateTime> ParseLocalDateTime(std::string_view text) {
  civil_text::Fields f;
  std::size_t pos = 0;
  Status s = civil_text::ScanDateHourMinute(text, &f, &pos);
  if (!s.ok()) return s;
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    const std::size_t second_pos = pos;
    std::size_t at = 0;
    if (!civil_text::ReadDigits(text, &pos, 2, &f.second, &at)) {
      return InvalidArgument(ExpectedAt(text, at, "a 2-digit second"));
    }
    if (f.second > 59) return InvalidArgument(ProblemAt(second_pos, "second must be 00-59"));
  }
  if (pos != text.size()) {
    const char c = text[pos];
    if (c == 'Z' || c == 'z' || c == '+' || c == '-') {
      return InvalidArgument(
          ProblemAt(pos, "a local time carries no offset (the time zone gives it)"));
    }
    if (c == '.') {
      return InvalidArgument(ProblemAt(pos, "a local time carries no fractional seconds"));
    }
    return InvalidArgument(ExpectedAt(text, pos, pos == 16 ? "':' and seconds, or the end of the text"
                                                           : "the end of the text"));
  }
  LocalDateTime local;
  local.year = f.year;
  local.month = f.month;
  local.day = f.day;
  local.hour = f.hour;
  local.minute = f.minute;
  local.second = f.second;
  return local;
}

Status FormatLocalDateTime(const LocalDateTime& l, char (&out)[kLocalDateTimeBufferSize]) {
  Status s = CheckLocal(l);
  if (!s.ok()) return s;
  auto put = [&out](int at, int value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      out[at + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, l.year, 4);
  out[4] = '-';
  put(5, l.month, 2);
  out[7] = '-';
  put(8, l.day, 2);
  out[10] = 'T';
  put(11, l.hour, 2);
  out[13] = ':';
  put(14, l.minute, 2);
  out[16] = ':';
  put(17, l.second, 2);
  out[19] = '\0';
  return Status::Ok();
}

Result<LocalResolution> LocalToUtc(const TimeZone& zone, const LocalDateTime& local,
                                   GapPolicy gap, OverlapPolicy overlap) {
  Status s = CheckLocal(local);
  if (!s.ok()) return s;
  const std::int64_t local_seconds =
      civil_text::DaysFromCivil(local.year, local.month, local.day) * kSecondsPerDay +
      local.hour * 3600 + local.minute * 60 + local.second;
  std::int64_t utc = 0;
  LocalKind kind = LocalKind::kUnique;
  s = zone.ResolveLocalSeconds(local_seconds, gap, overlap, &utc, &kind);
  if (!s.ok()) return s;
  LocalResolution r;
  const bool at_transition = kind == LocalKind::kShifted && gap == GapPolicy::kNextValid;
  r.unix_ms = utc * 1000 + (at_transition ? 0 : local.millisecond);
  r.kind = kind;
  return r;
}

Result<ZonedDateTime> UtcToLocal(const TimeZone& zone, UnixMillis t) {
  constexpr const char* kRange =
      "the local date must fall in years 0001-9999 (unix_ms out of range)";
  if (t < kEarliestUnixMillis - 2 * kSecondsPerDay * 1000 ||
      t > kLatestUnixMillis + 2 * kSecondsPerDay * 1000) {
    return InvalidArgument(kRange);
  }
  const TimeZone::Offset offset = zone.OffsetAt(FloorDiv(t, 1000));
  const std::int64_t local_ms = t + std::int64_t{offset.seconds} * 1000;
  const std::int64_t days = FloorDiv(local_ms, kSecondsPerDay * 1000);
  const date::year_month_day ymd{date::sys_days{date::days{days}}};
  const int year = static_cast<int>(ymd.year());
  if (year < 1 || year > 9999) return InvalidArgument(kRange);
  std::int64_t ms_of_day = local_ms - days * kSecondsPerDay * 1000;
  ZonedDateTime z;
  z.local.year = year;
  z.local.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  z.local.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  z.local.millisecond = static_cast<int>(ms_of_day % 1000);
  ms_of_day /= 1000;
  z.local.second = static_cast<int>(ms_of_day % 60);
  ms_of_day /= 60;
  z.local.minute = static_cast<int>(ms_of_day % 60);
  z.local.hour = static_cast<int>(ms_of_day / 60);
  z.offset_seconds = offset.seconds;
  z.abbreviation = offset.abbreviation;
  return z;
}

}  // namespace lifeline
