// C ABI over rfc3339.hpp, time_zone.hpp and business_hours.hpp.
#include <cstring>
#include <string>

#include "capi/capi_support.hpp"
#include "capi/time_handle.hpp"
#include "lifeline/business_hours.hpp"
#include "lifeline/rfc3339.hpp"
#include "lifeline/time_zone.hpp"

using lifeline::capi::CheckString;
using lifeline::capi::CopyOut;
using lifeline::capi::Fail;
using lifeline::capi::Guard;

namespace {

constexpr const char* kUnixMsRange =
    "unix_ms is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z "
    "(-62135596800000..253402300799999)";

bool InRange(int64_t unix_ms) {
  return unix_ms >= lifeline::kEarliestUnixMillis && unix_ms <= lifeline::kLatestUnixMillis;
}

// Prefixes the Status message with the argument it is about.
lifeline_status FailArg(const char* function, const char* argument,
                        const lifeline::Status& status) {
  std::string message(argument);
  message += ": ";
  message += status.message();
  return Fail(function, status.c_status(), message);
}

}  // namespace

extern "C" {

LIFELINE_API lifeline_status lifeline_rfc3339_parse(const char* text, int64_t* out_unix_ms) {
  static constexpr const char* kFn = "lifeline_rfc3339_parse";
  if (lifeline_status s = CheckString(kFn, "text", text); s != LIFELINE_OK) return s;
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_unix_ms);
  return Guard(kFn, [&] {
    lifeline::Result<lifeline::UnixMillis> t = lifeline::ParseRfc3339(text);
    if (!t.ok()) return FailArg(kFn, "text", t.status());
    *out_unix_ms = *t;
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_rfc3339_format(int64_t unix_ms, char* out, size_t cap) {
  static constexpr const char* kFn = "lifeline_rfc3339_format";
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  if (!InRange(unix_ms)) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, kUnixMsRange);
  return Guard(kFn, [&] {
    char text[lifeline::kRfc3339BufferSize];
    lifeline::Status s = lifeline::FormatRfc3339(unix_ms, text);
    if (!s.ok()) return Fail(kFn, s);
    return CopyOut(kFn, std::string_view(text, lifeline::kRfc3339BufferSize - 1), out, cap);
  });
}

LIFELINE_API lifeline_status lifeline_local_to_utc(const char* local, const char* tz,
                                                   int gap_policy, int overlap_policy,
                                                   int64_t* out_unix_ms, int* out_kind) {
  static constexpr const char* kFn = "lifeline_local_to_utc";
  if (lifeline_status s = CheckString(kFn, "local", local); s != LIFELINE_OK) return s;
  if (lifeline_status s = CheckString(kFn, "tz", tz); s != LIFELINE_OK) return s;
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_unix_ms);
  if (gap_policy < LIFELINE_GAP_REJECT || gap_policy > LIFELINE_GAP_NEXT_VALID) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "gap_policy must be LIFELINE_GAP_REJECT (0), LIFELINE_GAP_SHIFT_FORWARD (1) "
                "or LIFELINE_GAP_NEXT_VALID (2)");
  }
  if (overlap_policy < LIFELINE_OVERLAP_REJECT || overlap_policy > LIFELINE_OVERLAP_LATEST) {
    return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT,
                "overlap_policy must be LIFELINE_OVERLAP_REJECT (0), "
                "LIFELINE_OVERLAP_EARLIEST (1) or LIFELINE_OVERLAP_LATEST (2)");
  }
  return Guard(kFn, [&] {
    lifeline::Result<lifeline::LocalDateTime> parsed = lifeline::ParseLocalDateTime(local);
    if (!parsed.ok()) return FailArg(kFn, "local", parsed.status());
    lifeline::Result<const lifeline::TimeZone*> zone = lifeline::FindTimeZone(tz);
    if (!zone.ok()) return FailArg(kFn, "tz", zone.status());
    lifeline::Result<lifeline::LocalResolution> r =
        lifeline::LocalToUtc(**zone, *parsed, static_cast<lifeline::GapPolicy>(gap_policy),
                             static_cast<lifeline::OverlapPolicy>(overlap_policy));
    if (!r.ok()) return FailArg(kFn, "local", r.status());
    *out_unix_ms = r->unix_ms;
    if (out_kind != nullptr) *out_kind = static_cast<int>(r->kind);
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_utc_to_local(int64_t unix_ms, const char* tz,
                                                   char* out_local, size_t local_cap,
                                                   int32_t* out_offset_seconds,
                                                   char* out_abbrev, size_t abbrev_cap) {
  static constexpr const char* kFn = "lifeline_utc_to_local";
  if (lifeline_status s = CheckString(kFn, "tz", tz); s != LIFELINE_OK) return s;
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_local);
  return Guard(kFn, [&] {
    lifeline::Result<const lifeline::TimeZone*> zone = lifeline::FindTimeZone(tz);
    if (!zone.ok()) return FailArg(kFn, "tz", zone.status());
    lifeline::Result<lifeline::ZonedDateTime> z = lifeline::UtcToLocal(**zone, unix_ms);
    if (!z.ok()) return FailArg(kFn, "unix_ms", z.status());
    char text[lifeline::kLocalDateTimeBufferSize];
    lifeline::Status s = lifeline::FormatLocalDateTime(z->local, text);
    if (!s.ok()) return FailArg(kFn, "unix_ms", s);
    // Check both buffers before writing either: outputs are all or nothing.
    const std::string_view local_text(text, lifeline::kLocalDateTimeBufferSize - 1);
    if (local_cap < local_text.size() + 1) return CopyOut(kFn, local_text, out_local, local_cap);
    if (out_abbrev != nullptr && abbrev_cap < z->abbreviation.size() + 1) {
      return Fail(kFn, LIFELINE_E_BUFFER_TOO_SMALL,
                  "out_abbrev: buffer of " + std::to_string(abbrev_cap) + " bytes is too small; " +
                      std::to_string(z->abbreviation.size() + 1) + " needed");
    }
    CopyOut(kFn, local_text, out_local, local_cap);
    if (out_abbrev != nullptr) CopyOut(kFn, z->abbreviation, out_abbrev, abbrev_cap);
    if (out_offset_seconds != nullptr) *out_offset_seconds = z->offset_seconds;
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_business_hours_new(const char* spec_json,
                                                         lifeline_business_hours_t** out) {
  static constexpr const char* kFn = "lifeline_business_hours_new";
  if (lifeline_status s = CheckString(kFn, "spec_json", spec_json); s != LIFELINE_OK) return s;
  LIFELINE_REQUIRE_NOT_NULL(kFn, out);
  return Guard(kFn, [&] {
    lifeline::Result<lifeline::BusinessHours> hours =
        lifeline::BusinessHours::FromJson(spec_json);
    if (!hours.ok()) return FailArg(kFn, "spec_json", hours.status());
    *out = new lifeline_business_hours_t{std::move(*hours)};
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_business_hours_is_open(const lifeline_business_hours_t* bh,
                                                             int64_t unix_ms, int* out_open) {
  static constexpr const char* kFn = "lifeline_business_hours_is_open";
  LIFELINE_REQUIRE_NOT_NULL(kFn, bh);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_open);
  if (!InRange(unix_ms)) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, kUnixMsRange);
  return Guard(kFn, [&] {
    *out_open = bh->hours.IsOpen(unix_ms) ? 1 : 0;
    return LIFELINE_OK;
  });
}

LIFELINE_API lifeline_status lifeline_business_hours_next_open(
    const lifeline_business_hours_t* bh, int64_t unix_ms, int64_t* out_unix_ms) {
  static constexpr const char* kFn = "lifeline_business_hours_next_open";
  LIFELINE_REQUIRE_NOT_NULL(kFn, bh);
  LIFELINE_REQUIRE_NOT_NULL(kFn, out_unix_ms);
  if (!InRange(unix_ms)) return Fail(kFn, LIFELINE_E_INVALID_ARGUMENT, kUnixMsRange);
  return Guard(kFn, [&] {
    lifeline::Result<lifeline::UnixMillis> next = bh->hours.NextOpen(unix_ms);
    if (!next.ok()) return Fail(kFn, next.status());
    *out_unix_ms = *next;
    return LIFELINE_OK;
  });
}

LIFELINE_API void lifeline_business_hours_free(lifeline_business_hours_t* bh) { delete bh; }

}  // extern "C"
