/*
 * lifeline.h -- the whole C ABI of Lifeline.
 *
 * Lifeline keeps a contact center reachable and its people informed during
 * an outage: emergency IVR failover with durable callback capture, and
 * stakeholder notification cascades. This header is the only interface a C
 * program, a PBX written in any language, or the Python ctypes bindings need.
 *
 * Conventions (docs/c-api.md has the long form):
 *
 *  - Every name starts with lifeline_ / LIFELINE_.
 *  - Objects are opaque handles. lifeline_X_new(..., lifeline_X_t** out)
 *    creates one; lifeline_X_free(x) destroys it and accepts NULL.
 *  - Every fallible function returns a lifeline_status. LIFELINE_OK is 0.
 *    On failure, lifeline_last_error() gives a message for this thread that
 *    names the argument or the position in the input that was wrong.
 *  - Out-parameters are written only on LIFELINE_OK, unless a function says
 *    otherwise (e.g. the size needed on LIFELINE_E_BUFFER_TOO_SMALL).
 *  - Strings go in as NUL-terminated UTF-8. Strings come out into caller
 *    buffers (char* out, size_t cap); the result is always NUL-terminated and
 *    a buffer that is too small gives LIFELINE_E_BUFFER_TOO_SMALL.
 *  - Times are int64_t milliseconds since the Unix epoch, UTC. Durations are
 *    int64_t milliseconds.
 *  - Nothing here throws, aborts or crashes on bad input: NULL pointers, bad
 *    lengths, invalid UTF-8 and out-of-range values give
 *    LIFELINE_E_INVALID_ARGUMENT.
 *  - Callbacks are a function pointer plus a void* user_data, passed last.
 *
 * ABI policy: within a major version (LIFELINE_VERSION_MAJOR), functions are
 * only added, status codes are only appended, and option structs only grow
 * at their end, guarded by their version field.
 *
 * This header is C99 (it compiles with -std=c99 -pedantic -Werror) and C++.
 */
#ifndef LIFELINE_LIFELINE_H_
#define LIFELINE_LIFELINE_H_

#include <stddef.h>
#include <stdint.h>

#if defined(LIFELINE_BUILDING_LIBRARY)
#define LIFELINE_API __attribute__((visibility("default")))
#else
#define LIFELINE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* Version                                                                   */
/* ======================================================================== */

#define LIFELINE_VERSION_MAJOR 0
#define LIFELINE_VERSION_MINOR 1
#define LIFELINE_VERSION_PATCH 0
#define LIFELINE_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, comparable with lifeline_version_number(). */
#define LIFELINE_VERSION_NUMBER                                     \
  (LIFELINE_VERSION_MAJOR * 10000 + LIFELINE_VERSION_MINOR * 100 + \
   LIFELINE_VERSION_PATCH)

/* The version of the library actually loaded, e.g. "0.1.0". Static string. */
LIFELINE_API const char* lifeline_version(void);

/* LIFELINE_VERSION_NUMBER of the library actually loaded. A program built
 * against one header and run against another .so can compare the two at
 * start-up; the major parts must match. */
LIFELINE_API int lifeline_version_number(void);

/* ======================================================================== */
/* Status                                                                    */
/* ======================================================================== */

/* The result of every fallible function. Values are explicit and are only
 * ever appended. */
typedef enum lifeline_status {
  LIFELINE_OK = 0,
  LIFELINE_E_INVALID_ARGUMENT = 1,
  LIFELINE_E_BUFFER_TOO_SMALL = 2,
  LIFELINE_E_NOT_FOUND = 3,         /* e.g. an unknown time zone */
  LIFELINE_E_NONEXISTENT_TIME = 4,  /* local time in a DST gap, policy reject */
  LIFELINE_E_AMBIGUOUS_TIME = 5,    /* local time in a DST overlap, policy reject */
  LIFELINE_E_FULL = 6,
  LIFELINE_E_RATE_LIMITED = 7,
  LIFELINE_E_UNAVAILABLE = 8,
  LIFELINE_E_IO = 9,
  LIFELINE_E_TIMEOUT = 10,
  LIFELINE_E_STATE = 11,            /* not valid in the object's current state */
  LIFELINE_E_DUPLICATE = 12,
  LIFELINE_E_INTERNAL = 13
} lifeline_status;

/* A static, English name for a status, e.g. "invalid argument". Never NULL;
 * unknown values give "unknown status". */
LIFELINE_API const char* lifeline_status_str(lifeline_status status);

/* The message describing the last failure on the calling thread. Never
 * NULL: "" when nothing has failed yet. It stays valid until the next
 * Lifeline call on this thread. A successful call does not clear it. */
LIFELINE_API const char* lifeline_last_error(void);

/* ======================================================================== */
/* Clock                                                                     */
/* ======================================================================== */

/* A source of "now". Components that keep time take one, so a manual clock
 * can replay any scenario exactly (tests, the outage drill). The system
 * clock is the wall clock read once at creation, advanced by the monotonic
 * clock: stepping the system time does not make it jump or go backwards.
 *
 * Thread-safety: every function may be called from any thread. */
typedef struct lifeline_clock_t lifeline_clock_t;

LIFELINE_API lifeline_status lifeline_clock_new_system(lifeline_clock_t** out);
LIFELINE_API lifeline_status lifeline_clock_new_manual(int64_t start_unix_ms,
                                                       lifeline_clock_t** out);
LIFELINE_API lifeline_status lifeline_clock_now(const lifeline_clock_t* clock,
                                                int64_t* out_unix_ms);
/* Manual clocks only (LIFELINE_E_STATE otherwise). delta_ms must be >= 0:
 * time never goes backwards. */
LIFELINE_API lifeline_status lifeline_clock_advance(lifeline_clock_t* clock,
                                                    int64_t delta_ms);
/* Manual clocks only. unix_ms must not be earlier than the current time. */
LIFELINE_API lifeline_status lifeline_clock_set(lifeline_clock_t* clock,
                                                int64_t unix_ms);
LIFELINE_API void lifeline_clock_free(lifeline_clock_t* clock);

/* ======================================================================== */
/* Time normalisation                                                        */
/* ======================================================================== */

/* Callbacks must reach the platform in UTC, and DST must never shift them.
 * These functions read and write RFC 3339, turn a local wall time in an IANA
 * zone into UTC with an explicit policy for DST gaps and overlaps, and answer
 * business-hours questions. Zones come from the OS tz database
 * (/usr/share/zoneinfo); a zone is loaded once and cached for the life of
 * the process. docs/time.md has the long form.
 *
 * Thread-safety: every function may be called from any thread; a
 * lifeline_business_hours_t is immutable and may be shared between threads. */

/* A local time that the clocks skip (spring forward): 2026-03-08T02:30 in
 * America/New_York. */
typedef enum lifeline_gap_policy {
  /* Fail with LIFELINE_E_NONEXISTENT_TIME. */
  LIFELINE_GAP_REJECT = 0,
  /* Read the wall time with the offset in force before the transition:
   * 02:30 EST = 07:30Z, shown as 03:30 EDT (java.time, Python zoneinfo). */
  LIFELINE_GAP_SHIFT_FORWARD = 1,
  /* The instant of the transition: 07:00Z = 03:00 EDT. */
  LIFELINE_GAP_NEXT_VALID = 2
} lifeline_gap_policy;

/* A local time that the clocks show twice (fall back): 2026-11-01T01:30 in
 * America/New_York. */
typedef enum lifeline_overlap_policy {
  LIFELINE_OVERLAP_REJECT = 0,   /* fail with LIFELINE_E_AMBIGUOUS_TIME */
  LIFELINE_OVERLAP_EARLIEST = 1, /* the first pass: 01:30 EDT = 05:30Z */
  LIFELINE_OVERLAP_LATEST = 2    /* the second pass: 01:30 EST = 06:30Z */
} lifeline_overlap_policy;

/* Which case lifeline_local_to_utc met. */
typedef enum lifeline_local_kind {
  LIFELINE_LOCAL_UNIQUE = 0,   /* the local time happens exactly once */
  LIFELINE_LOCAL_SHIFTED = 1,  /* it was in a gap; the gap policy resolved it */
  LIFELINE_LOCAL_AMBIGUOUS = 2 /* it was in an overlap; the overlap policy resolved it */
} lifeline_local_kind;

/* "YYYY-MM-DDTHH:MM:SS.sssZ" and its NUL. */
#define LIFELINE_RFC3339_BUFFER_SIZE 25
/* "YYYY-MM-DDTHH:MM:SS" and its NUL (lifeline_utc_to_local). */
#define LIFELINE_LOCAL_TIME_BUFFER_SIZE 20
/* Enough for every zone abbreviation in the tz database ("EDT", "+0530"). */
#define LIFELINE_TZ_ABBREV_BUFFER_SIZE 16

/* Parses a strict RFC 3339 timestamp, "2026-03-08T02:30:00.5-05:00":
 * full-date "T" full-time with a mandatory offset "Z" or "+hh:mm"/"-hh:mm".
 * "t" and "z" may be lowercase; any number of fraction digits, truncated to
 * the millisecond; "-00:00" is UTC; second 60 only where the UTC time is
 * 23:59:60, read as 23:59:59 of that minute. Years 0001-9999.
 * Anything else (no offset, "+0100", 02-30, 2023-02-29, hour 24, spaces,
 * non-ASCII) gives LIFELINE_E_INVALID_ARGUMENT and a last error that names
 * the 0-based position: "lifeline_rfc3339_parse: position 19: ...". */
LIFELINE_API lifeline_status lifeline_rfc3339_parse(const char* text, int64_t* out_unix_ms);

/* Writes "YYYY-MM-DDTHH:MM:SS.sssZ" (UTC, always three fraction digits) to
 * out. cap must be at least LIFELINE_RFC3339_BUFFER_SIZE, else
 * LIFELINE_E_BUFFER_TOO_SMALL. unix_ms must lie in 0001-01-01T00:00:00Z ..
 * 9999-12-31T23:59:59.999Z (-62135596800000 .. 253402300799999), else
 * LIFELINE_E_INVALID_ARGUMENT. */
LIFELINE_API lifeline_status lifeline_rfc3339_format(int64_t unix_ms, char* out, size_t cap);

/* Converts a wall-clock reading in the IANA zone tz ("America/New_York") to
 * UTC. local is "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS", without offset
 * or fraction. gap_policy is a lifeline_gap_policy, overlap_policy a
 * lifeline_overlap_policy. On LIFELINE_OK, *out_unix_ms is the instant
 * (under LIFELINE_GAP_NEXT_VALID, the transition itself) and *out_kind, when
 * out_kind is not NULL, a lifeline_local_kind.
 * Errors: LIFELINE_E_INVALID_ARGUMENT (a bad local text, e.g. one carrying an
 * offset or a date that does not exist; a policy value outside its enum),
 * LIFELINE_E_NOT_FOUND (an unknown zone), LIFELINE_E_NONEXISTENT_TIME and
 * LIFELINE_E_AMBIGUOUS_TIME (the reject policies). */
LIFELINE_API lifeline_status lifeline_local_to_utc(const char* local, const char* tz,
                                                   int gap_policy, int overlap_policy,
                                                   int64_t* out_unix_ms, int* out_kind);

/* The wall-clock reading in zone tz at unix_ms, written as
 * "YYYY-MM-DDTHH:MM:SS" (milliseconds dropped) to out_local (local_cap at
 * least LIFELINE_LOCAL_TIME_BUFFER_SIZE). *out_offset_seconds gets the UTC
 * offset in seconds east of Greenwich (EDT: -14400) and out_abbrev the zone
 * abbreviation ("EDT"; abbrev_cap LIFELINE_TZ_ABBREV_BUFFER_SIZE is always
 * enough); both may be NULL when not wanted. Nothing is written unless the
 * result is LIFELINE_OK. LIFELINE_E_NOT_FOUND for an unknown zone,
 * LIFELINE_E_INVALID_ARGUMENT when the local date would fall outside years
 * 0001-9999. */
LIFELINE_API lifeline_status lifeline_utc_to_local(int64_t unix_ms, const char* tz,
                                                   char* out_local, size_t local_cap,
                                                   int32_t* out_offset_seconds,
                                                   char* out_abbrev, size_t abbrev_cap);

/* A weekly schedule in a zone plus holidays: when callbacks are allowed.
 * Created from JSON:
 *   {"timeZone": "America/New_York",
 *    "weekly": {"mon": [["08:00", "20:00"]], "tue": [["08:00", "12:00"], ["13:00", "20:00"]]},
 *    "holidays": ["2026-12-25"]}
 * Intervals are [open, close) on the local wall clock, close up to "24:00";
 * a missing weekday is closed; holidays close the whole local date. Across
 * DST, a boundary happens the first time the wall clock shows that time or
 * later (a gap moves it to the transition, an overlap takes the first pass),
 * so the schedule is never open at a wall time outside its hours.
 * Immutable; thread-safe. */
typedef struct lifeline_business_hours_t lifeline_business_hours_t;

/* LIFELINE_E_INVALID_ARGUMENT names the key that is wrong (unknown keys and
 * wrong types are refused); LIFELINE_E_NOT_FOUND for an unknown timeZone. */
LIFELINE_API lifeline_status lifeline_business_hours_new(const char* spec_json,
                                                         lifeline_business_hours_t** out);
/* *out_open is 1 when unix_ms lies inside an opening, else 0. */
LIFELINE_API lifeline_status lifeline_business_hours_is_open(const lifeline_business_hours_t* bh,
                                                             int64_t unix_ms, int* out_open);
/* The next allowed callback time: the first instant at or after unix_ms
 * inside an opening (unix_ms itself when open). LIFELINE_E_NOT_FOUND when
 * the schedule is never open. */
LIFELINE_API lifeline_status lifeline_business_hours_next_open(
    const lifeline_business_hours_t* bh, int64_t unix_ms, int64_t* out_unix_ms);
/* Accepts NULL. */
LIFELINE_API void lifeline_business_hours_free(lifeline_business_hours_t* bh);

/* ======================================================================== */
/* Retry and backoff                                                         */
/* ======================================================================== */

/* @@SECTION:retry@@ */

/* ======================================================================== */
/* Rate limiter                                                              */
/* ======================================================================== */

/* @@SECTION:rate_limiter@@ */

/* ======================================================================== */
/* Dedup cache                                                               */
/* ======================================================================== */

/* @@SECTION:dedup@@ */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIFELINE_LIFELINE_H_ */
