// Business hours: see include/lifeline/business_hours.hpp for the model and
// the DST rule (boundaries resolve with kNextValid / kEarliest).
#include "lifeline/business_hours.hpp"

#include <date/date.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <limits>
#include <string>

#include "core/civil_text.hpp"
#include "lifeline/rfc3339.hpp"

namespace lifeline {
namespace {

constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::int64_t kMillisPerDay = 86'400'000;
constexpr std::int64_t kMillisPerMinute = 60'000;
constexpr const char* kWeekdayKeys[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
// Days since 1970-01-01 of 9999-12-31.
constexpr std::int64_t kLastDay = 2'932'896;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// 0 = Monday .. 6 = Sunday.
int WeekdayIndex(std::int64_t day) {
  const date::weekday wd{date::sys_days{date::days{day}}};
  return static_cast<int>(wd.iso_encoding()) - 1;
}

std::string Minutes(int m) {
  std::string s = std::to_string(m / 60);
  if (s.size() < 2) s.insert(0, "0");
  s += m % 60 < 10 ? ":0" : ":";
  s += std::to_string(m % 60);
  return s;
}

// "HH:MM" -> minutes; `allow_24` admits "24:00" (closings).
bool ParseClock(std::string_view text, bool allow_24, int* minutes) {
  if (text.size() != 5 || text[2] != ':') return false;
  for (int i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (m > 59) return false;
  if (h > 23 && !(allow_24 && h == 24 && m == 0)) return false;
  *minutes = h * 60 + m;
  return true;
}

// "YYYY-MM-DD" -> LocalDate.
bool ParseDate(std::string_view text, LocalDate* out) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  out->year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
  out->month = (text[5] - '0') * 10 + (text[6] - '0');
  out->day = (text[8] - '0') * 10 + (text[9] - '0');
  return out->year >= 1 && civil_text::IsValidDate(out->year, out->month, out->day);
}

std::string Key(std::string_view path) { return std::string(path) + ": "; }

}  // namespace

Result<BusinessHours> BusinessHours::Create(const TimeZone& zone, WeeklySchedule weekly,
                                            std::vector<LocalDate> holidays) {
  BusinessHours hours;
  hours.zone_ = &zone;
  for (int d = 0; d < 7; ++d) {
    std::vector<BusinessInterval>& day = weekly[static_cast<std::size_t>(d)];
    for (std::size_t i = 0; i < day.size(); ++i) {
      const BusinessInterval& in = day[i];
      const std::string where = std::string("weekly.") + kWeekdayKeys[d] + "[" + std::to_string(i) + "]";
      if (in.open_minute < 0 || in.open_minute >= 1440) {
        return InvalidArgument(Key(where) + "open must be 00:00-23:59");
      }
      if (in.close_minute <= in.open_minute || in.close_minute > 1440) {
        return InvalidArgument(Key(where) + "close must be after open and at most 24:00");
      }
    }
    std::stable_sort(day.begin(), day.end(), [](const BusinessInterval& a, const BusinessInterval& b) {
      return a.open_minute < b.open_minute;
    });
    for (std::size_t i = 1; i < day.size(); ++i) {
      if (day[i].open_minute < day[i - 1].close_minute) {
        return InvalidArgument(std::string("weekly.") + kWeekdayKeys[d] + ": intervals " +
                               Minutes(day[i - 1].open_minute) + "-" +
                               Minutes(day[i - 1].close_minute) + " and " +
                               Minutes(day[i].open_minute) + "-" + Minutes(day[i].close_minute) +
                               " overlap");
      }
    }
    if (!day.empty()) hours.never_open_ = false;
  }
  hours.weekly_ = std::move(weekly);
  hours.holidays_.reserve(holidays.size());
  for (std::size_t i = 0; i < holidays.size(); ++i) {
    const LocalDate& h = holidays[i];
    if (h.year < 1 || h.year > 9999 || !civil_text::IsValidDate(h.year, h.month, h.day)) {
      return InvalidArgument("holidays[" + std::to_string(i) + "]: not a valid date");
    }
    hours.holidays_.push_back(civil_text::DaysFromCivil(h.year, h.month, h.day));
  }
  std::sort(hours.holidays_.begin(), hours.holidays_.end());
  hours.holidays_.erase(std::unique(hours.holidays_.begin(), hours.holidays_.end()),
                        hours.holidays_.end());
  return hours;
}

Result<BusinessHours> BusinessHours::FromJson(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseDefaultFlags>(json.data(), json.size());
  if (doc.HasParseError()) {
    return InvalidArgument("spec is not valid JSON: position " +
                           std::to_string(doc.GetErrorOffset()) + ": " +
                           rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject()) return InvalidArgument("spec must be a JSON object");

  const rapidjson::Value* zone_name = nullptr;
  const rapidjson::Value* weekly_value = nullptr;
  const rapidjson::Value* holidays_value = nullptr;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string_view key(it->name.GetString(), it->name.GetStringLength());
    const rapidjson::Value** slot = key == "timeZone"   ? &zone_name
                                    : key == "weekly"   ? &weekly_value
                                    : key == "holidays" ? &holidays_value
                                                        : nullptr;
    if (slot == nullptr) {
      return InvalidArgument("spec: unknown key '" + std::string(key) +
                             "' (expected timeZone, weekly, holidays)");
    }
    if (*slot != nullptr) return InvalidArgument("spec: key '" + std::string(key) + "' repeated");
    *slot = &it->value;
  }
  if (zone_name == nullptr) return InvalidArgument("spec: missing key 'timeZone'");
  if (!zone_name->IsString()) return InvalidArgument("timeZone: must be a string (an IANA zone name)");
  Result<const TimeZone*> zone =
      FindTimeZone(std::string_view(zone_name->GetString(), zone_name->GetStringLength()));
  if (!zone.ok()) return Status(zone.status().code(), "timeZone: " + zone.status().message());

  if (weekly_value == nullptr) return InvalidArgument("spec: missing key 'weekly'");
  if (!weekly_value->IsObject()) return InvalidArgument("weekly: must be an object");
  WeeklySchedule weekly;
  bool seen[7] = {false, false, false, false, false, false, false};
  for (auto it = weekly_value->MemberBegin(); it != weekly_value->MemberEnd(); ++it) {
    const std::string_view key(it->name.GetString(), it->name.GetStringLength());
    int d = 0;
    while (d < 7 && key != kWeekdayKeys[d]) ++d;
    if (d == 7) {
      return InvalidArgument("weekly: unknown key '" + std::string(key) +
                             "' (expected mon, tue, wed, thu, fri, sat, sun)");
    }
    const std::string day_path = "weekly." + std::string(key);
    if (seen[d]) return InvalidArgument(Key(day_path) + "repeated");
    seen[d] = true;
    if (!it->value.IsArray()) {
      return InvalidArgument(Key(day_path) + "must be an array of [\"HH:MM\", \"HH:MM\"] pairs");
    }
    for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
      const rapidjson::Value& pair = it->value[i];
      const std::string path = day_path + "[" + std::to_string(i) + "]";
      if (!pair.IsArray() || pair.Size() != 2) {
        return InvalidArgument(Key(path) + "must be a pair [\"HH:MM\", \"HH:MM\"]");
      }
      BusinessInterval interval;
      for (rapidjson::SizeType j = 0; j < 2; ++j) {
        const std::string item = path + "[" + std::to_string(j) + "]";
        if (!pair[j].IsString()) return InvalidArgument(Key(item) + "must be a string \"HH:MM\"");
        const std::string_view text(pair[j].GetString(), pair[j].GetStringLength());
        int* target = j == 0 ? &interval.open_minute : &interval.close_minute;
        if (!ParseClock(text, j == 1, target)) {
          return InvalidArgument(Key(item) + (j == 0 ? "must be \"HH:MM\" from 00:00 to 23:59"
                                                     : "must be \"HH:MM\" from 00:01 to 24:00"));
        }
      }
      weekly[static_cast<std::size_t>(d)].push_back(interval);
    }
  }

  std::vector<LocalDate> holidays;
  if (holidays_value != nullptr) {
    if (!holidays_value->IsArray()) {
      return InvalidArgument("holidays: must be an array of \"YYYY-MM-DD\" strings");
    }
    for (rapidjson::SizeType i = 0; i < holidays_value->Size(); ++i) {
      const rapidjson::Value& v = (*holidays_value)[i];
      LocalDate date;
      if (!v.IsString() ||
          !ParseDate(std::string_view(v.GetString(), v.GetStringLength()), &date)) {
        return InvalidArgument("holidays[" + std::to_string(i) +
                               "]: must be a valid date \"YYYY-MM-DD\"");
      }
      holidays.push_back(date);
    }
  }
  return Create(**zone, std::move(weekly), std::move(holidays));
}

bool BusinessHours::IsHolidayDay(std::int64_t day) const {
  return std::binary_search(holidays_.begin(), holidays_.end(), day);
}

bool BusinessHours::IsHoliday(const LocalDate& date) const {
  if (date.year < 1 || date.year > 9999 || !civil_text::IsValidDate(date.year, date.month, date.day)) {
    return false;
  }
  return IsHolidayDay(civil_text::DaysFromCivil(date.year, date.month, date.day));
}

bool BusinessHours::IsOpenLocal(std::int64_t local_ms) const {
  const std::int64_t day = FloorDiv(local_ms, kMillisPerDay);
  if (IsHolidayDay(day)) return false;
  const std::int64_t ms_of_day = local_ms - day * kMillisPerDay;
  for (const BusinessInterval& in : weekly_[static_cast<std::size_t>(WeekdayIndex(day))]) {
    if (in.open_minute * kMillisPerMinute <= ms_of_day &&
        ms_of_day < in.close_minute * kMillisPerMinute) {
      return true;
    }
  }
  return false;
}

bool BusinessHours::IsOpen(UnixMillis t) const {
  if (never_open_ || t < kEarliestUnixMillis || t > kLatestUnixMillis) return false;
  const TimeZone::Offset offset = zone_->OffsetAt(FloorDiv(t, 1000));
  return IsOpenLocal(t + std::int64_t{offset.seconds} * 1000);
}

std::int64_t BusinessHours::FirstOpenLocal(std::int64_t from, std::int64_t to,
                                           std::int64_t last_day, bool* found) const {
  *found = false;
  for (std::int64_t day = FloorDiv(from, kMillisPerDay); day <= last_day; ++day) {
    const std::int64_t day_start = day * kMillisPerDay;
    if (day_start >= to) break;
    if (IsHolidayDay(day)) continue;
    // Intervals are sorted, so the first one still running is the answer.
    for (const BusinessInterval& in : weekly_[static_cast<std::size_t>(WeekdayIndex(day))]) {
      if (day_start + in.close_minute * kMillisPerMinute <= from) continue;
      const std::int64_t open = std::max(day_start + in.open_minute * kMillisPerMinute, from);
      if (open >= to) return -1;
      *found = true;
      return open;
    }
  }
  return -1;
}

Result<UnixMillis> BusinessHours::NextOpen(UnixMillis t) const {
  if (t < kEarliestUnixMillis || t > kLatestUnixMillis) {
    return InvalidArgument(
        "unix_ms is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z");
  }
  if (never_open_) return NotFound("the schedule is never open (no interval on any weekday)");
  // Walk the runs of constant UTC offset from t on. Within one run the wall
  // clock advances with UTC, so the first open wall reading of the run maps
  // straight back to UTC. Past the last holiday every weekday recurs within
  // a week; two weeks of margin cover days that a DST gap emptied.
  std::int64_t last_day = 0;
  {
    const TimeZone::Offset offset = zone_->OffsetAt(FloorDiv(t, 1000));
    const std::int64_t today = FloorDiv(t + std::int64_t{offset.seconds} * 1000, kMillisPerDay);
    last_day = std::max(today, holidays_.empty() ? today : holidays_.back()) + 14;
    last_day = std::min(last_day, kLastDay);
  }
  UnixMillis u = t;
  for (;;) {
    const TimeZone::Offset offset = zone_->OffsetAt(FloorDiv(u, 1000));
    const std::int64_t offset_ms = std::int64_t{offset.seconds} * 1000;
    // Runs that end after year 9999 are treated as endless.
    const bool endless = offset.until > kLatestUnixMillis / 1000 + 2 * kSecondsPerDay;
    const std::int64_t run_end = endless ? 0 : offset.until * 1000;
    const std::int64_t from = u + offset_ms;
    const std::int64_t to = endless ? std::numeric_limits<std::int64_t>::max() : run_end + offset_ms;
    bool found = false;
    const std::int64_t local = FirstOpenLocal(from, to, last_day, &found);
    if (found) return local - offset_ms;
    if (endless || FloorDiv(to, kMillisPerDay) > last_day) break;
    u = run_end;
  }
  return NotFound("the schedule has no opening after this instant");
}

}  // namespace lifeline
