// libFuzzer target for local wall time -> UTC.
//
// Input layout: byte 0 picks a zone from a small list of zones with unusual
// rules, byte 1 the gap policy, byte 2 the overlap policy (values 0-3, so
// invalid policies are exercised too), the rest is the local text
// ("YYYY-MM-DDTHH:MM[:SS]"). Checks: no crash or leak; the C and C++ entry
// points agree; a valid answer is consistent with UtcToLocal (a unique or
// ambiguous local time reads back exactly; a shifted one lands after it).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "lifeline/lifeline.h"
#include "lifeline/time_zone.hpp"

namespace {

constexpr const char* kZones[] = {
    "America/New_York", "Europe/London",   "Europe/Dublin",     "Australia/Lord_Howe",
    "America/Sao_Paulo", "Pacific/Apia",   "Africa/Casablanca", "Asia/Kathmandu",
    "America/Nuuk",      "Antarctica/Troll", "UTC",             "Not/AZone",
};

void Fail(const char* what) {
  std::fprintf(stderr, "fuzz_local_time: %s\n", what);
  std::abort();
}

bool Before(const lifeline::LocalDateTime& a, const lifeline::LocalDateTime& b) {
  const int x[] = {a.year, a.month, a.day, a.hour, a.minute, a.second};
  const int y[] = {b.year, b.month, b.day, b.hour, b.minute, b.second};
  for (int i = 0; i < 6; ++i) {
    if (x[i] != y[i]) return x[i] < y[i];
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const char* zone_name = kZones[data[0] % (sizeof kZones / sizeof kZones[0])];
  const int gap = data[1] % 4;
  const int overlap = data[2] % 4;
  const std::string text(reinterpret_cast<const char*>(data + 3), size - 3);

  int64_t c_ms = 0;
  int c_kind = -1;
  const lifeline_status c_status =
      lifeline_local_to_utc(text.c_str(), zone_name, gap, overlap, &c_ms, &c_kind);

  const lifeline::Result<lifeline::LocalDateTime> local = lifeline::ParseLocalDateTime(text);
  const lifeline::Result<const lifeline::TimeZone*> zone = lifeline::FindTimeZone(zone_name);
  if (!local.ok()) {
    if (local.status().message().rfind("position ", 0) != 0) Fail("no position in message");
    return 0;
  }
  if (!zone.ok()) {
    const bool policies_valid = gap < 3 && overlap < 3;
    if (c_status != (policies_valid ? LIFELINE_E_NOT_FOUND : LIFELINE_E_INVALID_ARGUMENT)) {
      Fail("unknown zone: wrong C status");
    }
    return 0;
  }
  const lifeline::Result<lifeline::LocalResolution> r = lifeline::LocalToUtc(
      **zone, *local, static_cast<lifeline::GapPolicy>(gap),
      static_cast<lifeline::OverlapPolicy>(overlap));
  if (std::memchr(text.data(), 0, text.size()) == nullptr) {
    if (r.ok() != (c_status == LIFELINE_OK)) Fail("C and C++ disagree on success");
    if (r.ok() && (c_ms != r->unix_ms || c_kind != static_cast<int>(r->kind))) {
      Fail("C and C++ disagree on the answer");
    }
    if (!r.ok() && c_status != r.status().c_status()) Fail("C and C++ disagree on the error");
  }
  if (!r.ok()) {
    const lifeline::StatusCode code = r.status().code();
    if (code == lifeline::StatusCode::kInternal) Fail("internal error");
    if (code == lifeline::StatusCode::kNonexistentTime && gap != 0) Fail("gap not resolved");
    if (code == lifeline::StatusCode::kAmbiguousTime && overlap != 0) Fail("overlap not resolved");
    return 0;
  }
  const lifeline::Result<lifeline::ZonedDateTime> back = lifeline::UtcToLocal(**zone, r->unix_ms);
  if (!back.ok()) return 0;  // a local date near year 0001/9999 may map outside
  switch (r->kind) {
    case lifeline::LocalKind::kUnique:
    case lifeline::LocalKind::kAmbiguous:
      if (back->local != *local) Fail("local time does not read back");
      break;
    case lifeline::LocalKind::kShifted:
      if (!Before(*local, back->local)) Fail("a shifted time did not move forward");
      break;
  }
  return 0;
}
