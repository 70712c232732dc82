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
  LIFELINE_E_INTERNAL = 13,
  LIFELINE_E_UNAUTHENTICATED = 14   /* an inbound request's signature or token was refused */
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

/* Four pieces that together decide when a failed request is tried again
 * (docs/retry.md):
 *
 *  - a backoff (lifeline_backoff_t): the delay before each retry of one
 *    request or channel, under a lifeline_retry_policy;
 *  - lifeline_retry_after_parse: the server's Retry-After header as a delay;
 *  - lifeline_retry_is_retryable: which outcomes deserve a retry;
 *  - a retry budget (lifeline_retry_budget_t): gRPC-style retry throttling
 *    shared by all requests to one provider, so a surge of failures cannot
 *    multiply the load. */

/* How backoff delays are randomised ("Exponential Backoff and Jitter",
 * AWS Architecture Blog). With n the retry index (0 for the first retry)
 * and ceiling(n) = min(max_ms, initial_ms * multiplier^n):
 *   NONE          ceiling(n)
 *   FULL          random(0, ceiling(n))
 *   EQUAL         ceiling(n) - ceiling(n)/2 + random(0, ceiling(n)/2)
 *   DECORRELATED  min(max_ms, random(initial_ms, previous * 3)), previous
 *                 starting at initial_ms (multiplier is not used) */
typedef enum lifeline_jitter {
  LIFELINE_JITTER_NONE = 0,
  LIFELINE_JITTER_FULL = 1,
  LIFELINE_JITTER_EQUAL = 2,
  LIFELINE_JITTER_DECORRELATED = 3
} lifeline_jitter;

/* The version of lifeline_retry_policy this header describes. */
#define LIFELINE_RETRY_POLICY_VERSION 1

/* How a failing operation is retried. Fill it with LIFELINE_RETRY_POLICY_INIT
 * or lifeline_retry_policy_init() and change the fields you need: the
 * defaults are the seed's policy (15 s, x2, at most 120 s, 3 retries). The
 * struct only grows at its end; `version` tells the library which fields
 * the caller knows. */
typedef struct lifeline_retry_policy {
  uint32_t version;            /* LIFELINE_RETRY_POLICY_VERSION */
  int64_t initial_ms;          /* delay before the first retry; > 0 (15000) */
  double multiplier;           /* growth per retry; finite, >= 1 (2.0) */
  int64_t max_ms;              /* ceiling of every delay; >= initial_ms (120000) */
  int32_t max_attempts;        /* attempts in all, the first included; >= 1 (4) */
  int32_t jitter;              /* a lifeline_jitter (LIFELINE_JITTER_NONE) */
  int64_t retry_after_cap_ms;  /* longest Retry-After honoured; >= 0 (300000) */
} lifeline_retry_policy;

#define LIFELINE_RETRY_POLICY_INIT \
  { LIFELINE_RETRY_POLICY_VERSION, 15000, 2.0, 120000, 4, LIFELINE_JITTER_NONE, 300000 }

/* Fills *policy with the defaults above (same as LIFELINE_RETRY_POLICY_INIT),
 * for callers that cannot use the macro (ctypes, other FFIs). */
LIFELINE_API lifeline_status lifeline_retry_policy_init(lifeline_retry_policy* policy);

/* Why lifeline_backoff_next() gave up. Non-zero means "do not retry". */
typedef enum lifeline_give_up {
  LIFELINE_GIVE_UP_NONE = 0,                 /* a delay was returned */
  LIFELINE_GIVE_UP_ATTEMPTS_EXHAUSTED = 1,   /* max_attempts were made */
  LIFELINE_GIVE_UP_RETRY_AFTER_TOO_LONG = 2  /* Retry-After > retry_after_cap_ms */
} lifeline_give_up;

/* The retry state of one request or channel. Equal seeds and equal calls
 * give equal delays on every platform; give each client its own seed so
 * that their retries spread out.
 *
 * Thread-safety: a backoff is not synchronised; use one per request or
 * channel, or serialise the calls. */
typedef struct lifeline_backoff_t lifeline_backoff_t;

/* Checks *policy (a message names the first bad field, e.g. "multiplier")
 * and creates a backoff seeded with `seed`. */
LIFELINE_API lifeline_status lifeline_backoff_new(const lifeline_retry_policy* policy,
                                                  uint64_t seed, lifeline_backoff_t** out);

/* To be called after an attempt failed in a retryable way.
 * retry_after_ms is how long the server asked to wait, or < 0 for none.
 * On LIFELINE_OK, *out_give_up is a lifeline_give_up: 0 means retry after
 * *out_delay_ms milliseconds (never less than retry_after_ms); non-zero
 * means give up, and *out_delay_ms is 0. A Retry-After above
 * retry_after_cap_ms is not shortened (that would retry earlier than the
 * server asked): it gives LIFELINE_GIVE_UP_RETRY_AFTER_TOO_LONG and does not
 * consume an attempt. */
LIFELINE_API lifeline_status lifeline_backoff_next(lifeline_backoff_t* backoff,
                                                   int64_t retry_after_ms,
                                                   int64_t* out_delay_ms, int* out_give_up);

/* Attempts made so far, the first included: 1 after new or reset, plus one
 * per delay returned. */
LIFELINE_API lifeline_status lifeline_backoff_attempts_made(const lifeline_backoff_t* backoff,
                                                            int32_t* out_attempts);

/* Starts over after a success: attempts_made becomes 1. The random stream
 * continues; it is not rewound to the seed. */
LIFELINE_API lifeline_status lifeline_backoff_reset(lifeline_backoff_t* backoff);

LIFELINE_API void lifeline_backoff_free(lifeline_backoff_t* backoff);

/* Parses an HTTP Retry-After field value (RFC 9110 10.2.3) into a delay from
 * now_ms: delay-seconds ("120") or an HTTP-date in any of its three forms
 * (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday,
 * 06-Nov-94 08:49:37 GMT", asctime "Sun Nov  6 08:49:37 1994"). A date in
 * the past gives 0; delay-seconds above 2^31 read as 2^31 s. Surrounding
 * spaces and tabs are ignored. Anything else is LIFELINE_E_INVALID_ARGUMENT
 * with a message naming the position. */
LIFELINE_API lifeline_status lifeline_retry_after_parse(const char* value, int64_t now_ms,
                                                        int64_t* out_delay_ms);

/* Why an HTTP exchange produced no response. */
typedef enum lifeline_transport_error {
  LIFELINE_TRANSPORT_NONE = 0,        /* a response arrived: its status decides */
  LIFELINE_TRANSPORT_TIMEOUT = 1,     /* deadline passed */
  LIFELINE_TRANSPORT_CONNECTION = 2,  /* DNS, refused, reset, empty reply */
  LIFELINE_TRANSPORT_TLS = 3,         /* TLS handshake or certificate verification */
  LIFELINE_TRANSPORT_OTHER = 4        /* anything else */
} lifeline_transport_error;

/* *out_retryable = 1 when the outcome deserves a retry, else 0:
 *   with LIFELINE_TRANSPORT_NONE, http_status 408, 425, 429 and 500-599
 *   retry; other 4xx and 1xx-3xx do not. http_status must be 100-599.
 *   TIMEOUT and CONNECTION retry; TLS does not (a configuration or security
 *   fault that fails the same way again); OTHER does not. http_status is
 *   then ignored. */
LIFELINE_API lifeline_status lifeline_retry_is_retryable(int http_status, int transport_error,
                                                         int* out_retryable);

/* gRPC retry throttling (gRFC A6), shared by every request to one provider.
 * A token count starts at max_tokens; each retryable failure takes 1, each
 * success gives back token_ratio; retries are allowed only while the count
 * is above max_tokens / 2. Both values are kept in thousandths. Over any
 * run, retries allowed < max_tokens / 2 + token_ratio * successes.
 *
 * Thread-safety: every function may be called from any thread at once. */
typedef struct lifeline_retry_budget_t lifeline_retry_budget_t;

/* max_tokens in [0.001, 1000000]; token_ratio in [0.001, max_tokens]
 * (gRPC's usual values: 10 and 0.1). */
LIFELINE_API lifeline_status lifeline_retry_budget_new(double max_tokens, double token_ratio,
                                                       lifeline_retry_budget_t** out);
LIFELINE_API lifeline_status lifeline_retry_budget_record_success(lifeline_retry_budget_t* budget);
/* Only for failures that lifeline_retry_is_retryable() calls retryable. */
LIFELINE_API lifeline_status lifeline_retry_budget_record_failure(lifeline_retry_budget_t* budget);
/* *out_allowed = 1 while a retry is allowed. Does not change the count. */
LIFELINE_API lifeline_status lifeline_retry_budget_allow_retry(
    const lifeline_retry_budget_t* budget, int* out_allowed);
/* The current token count. */
LIFELINE_API lifeline_status lifeline_retry_budget_tokens(const lifeline_retry_budget_t* budget,
                                                          double* out_tokens);
LIFELINE_API void lifeline_retry_budget_free(lifeline_retry_budget_t* budget);

/* ======================================================================== */
/* Rate limiter                                                              */
/* ======================================================================== */

/* Never more than `requests` grants in any window of `period_ms`
 * milliseconds, across bursts and window edges (docs/rate-limiting.md): an
 * exact sliding log that grants at now iff fewer than `requests` grants
 * happened after now - period_ms. It needs min(requests, period_ms) entries
 * of 16 bytes, allocated at creation; that minimum may be at most 2^20.
 *
 * Times passed in should not go backwards; an older time than one already
 * seen is treated as that latest time, so racing threads never over-grant.
 *
 * Thread-safety: every function may be called from any thread at once. */
typedef struct lifeline_rate_limiter_t lifeline_rate_limiter_t;

/* requests >= 1 and period_ms >= 1, e.g. 500 per 60000 for the callback API,
 * 50 per 1000 per carrier endpoint. */
LIFELINE_API lifeline_status lifeline_rate_limiter_new(int64_t requests, int64_t period_ms,
                                                       lifeline_rate_limiter_t** out);

/* Grants one request at now_ms (*out_allowed = 1, *out_retry_in_ms = 0), or
 * refuses it (*out_allowed = 0) and gives the exact wait: a call at
 * now_ms + *out_retry_in_ms is granted and one a millisecond earlier is
 * not, unless other grants or pauses happen in between. A refusal is an
 * answer, not an error: the status is LIFELINE_OK. Does not allocate. */
LIFELINE_API lifeline_status lifeline_rate_limiter_try_acquire(lifeline_rate_limiter_t* limiter,
                                                               int64_t now_ms, int* out_allowed,
                                                               int64_t* out_retry_in_ms);

/* Grants nothing before until_ms: for a provider's 429 with Retry-After.
 * Pauses only extend; an earlier until_ms changes nothing. */
LIFELINE_API lifeline_status lifeline_rate_limiter_pause_until(lifeline_rate_limiter_t* limiter,
                                                               int64_t until_ms);

LIFELINE_API void lifeline_rate_limiter_free(lifeline_rate_limiter_t* limiter);

/* One rate limiter per key (a platform endpoint, a carrier endpoint), all
 * with the same limit, for at most max_keys keys. A key's limiter is made on
 * its first use. When the table is full, keys whose limiters are idle (no
 * grant within the last period, not paused) are dropped, which changes no
 * answer; when none is idle, a new key gets LIFELINE_E_FULL.
 *
 * Thread-safety: every function may be called from any thread at once. */
typedef struct lifeline_keyed_rate_limiter_t lifeline_keyed_rate_limiter_t;

LIFELINE_API lifeline_status lifeline_keyed_rate_limiter_new(
    int64_t requests, int64_t period_ms, size_t max_keys, lifeline_keyed_rate_limiter_t** out);

/* As lifeline_rate_limiter_try_acquire, for the non-empty UTF-8 `key`. */
LIFELINE_API lifeline_status lifeline_keyed_rate_limiter_try_acquire(
    lifeline_keyed_rate_limiter_t* limiter, const char* key, int64_t now_ms, int* out_allowed,
    int64_t* out_retry_in_ms);

/* As lifeline_rate_limiter_pause_until, for `key`. */
LIFELINE_API lifeline_status lifeline_keyed_rate_limiter_pause_until(
    lifeline_keyed_rate_limiter_t* limiter, const char* key, int64_t until_ms);

/* The number of keys currently held. */
LIFELINE_API lifeline_status lifeline_keyed_rate_limiter_size(
    const lifeline_keyed_rate_limiter_t* limiter, size_t* out_size);

LIFELINE_API void lifeline_keyed_rate_limiter_free(lifeline_keyed_rate_limiter_t* limiter);

/* ======================================================================== */
/* Dedup cache                                                               */
/* ======================================================================== */

/* "Have we seen this request in the last TTL?" with bounded memory: the
 * callback request ids of the IVR failover (seed 000, 60 s) and the incident
 * ids of the notification cascade (seed 004, 5 minutes).
 *
 *  - lifeline_dedup_check answers first seen (*out_duplicate = 0, and the key
 *    is remembered) or duplicate (*out_duplicate = 1). A key first seen at
 *    t0 is a duplicate for every check with now_ms < t0 + ttl_ms and has
 *    expired at now_ms >= t0 + ttl_ms. A duplicate does not extend the window.
 *  - At most `capacity` entries are live. When all are live at now_ms, a new
 *    key gets LIFELINE_E_FULL and is not remembered; a live entry is never
 *    evicted to make room. Memory (about 60 bytes per unit of capacity) is
 *    reserved by lifeline_dedup_new and checks never allocate.
 *  - Keys are any bytes (key_len > 0). They are kept only as 128-bit
 *    HighwayHash digests under a 256-bit hash key, never in clear. Digests
 *    are the same in every process and on every machine for the same hash
 *    key. lifeline_dedup_new uses the fixed, public default hash key (the 32
 *    ASCII bytes "Lifeline dedup default key v1.0!"): stable but not secret.
 *    Nodes that must agree share a key through lifeline_dedup_new_keyed;
 *    keep it secret when keys come from untrusted callers.
 *  - Time is given, never read. A now_ms earlier than one the cache has
 *    already been given counts as that later time (docs/dedup.md).
 *
 * Thread-safety: every function may be called concurrently on the same
 * handle, except lifeline_dedup_free. Threads racing on the same key see
 * exactly one first-seen. */
typedef struct lifeline_dedup_t lifeline_dedup_t;

#define LIFELINE_DEDUP_HASH_KEY_SIZE 32
#define LIFELINE_DEDUP_DIGEST_SIZE 16

/* A cache holding keys ttl_ms (> 0) with at most capacity (> 0) live
 * entries, with the default hash key. */
LIFELINE_API lifeline_status lifeline_dedup_new(int64_t ttl_ms, size_t capacity,
                                                lifeline_dedup_t** out);
/* As lifeline_dedup_new, with the hash key: hash_key_len must be
 * LIFELINE_DEDUP_HASH_KEY_SIZE (32) bytes. */
LIFELINE_API lifeline_status lifeline_dedup_new_keyed(int64_t ttl_ms, size_t capacity,
                                                      const void* hash_key, size_t hash_key_len,
                                                      lifeline_dedup_t** out);
/* First seen (0, remembered) or duplicate (1) at now_ms. key_len must be > 0.
 * LIFELINE_E_FULL: first seen, but the cache is full; not remembered. */
LIFELINE_API lifeline_status lifeline_dedup_check(lifeline_dedup_t* d, const void* key,
                                                  size_t key_len, int64_t now_ms,
                                                  int* out_duplicate);
/* As lifeline_dedup_check, for the LIFELINE_DEDUP_DIGEST_SIZE-byte digest
 * lifeline_dedup_digest gave for a key (e.g. kept as a request id). */
LIFELINE_API lifeline_status lifeline_dedup_check_digest(lifeline_dedup_t* d,
                                                         const uint8_t* digest, int64_t now_ms,
                                                         int* out_duplicate);
/* Writes the 16-byte digest the cache keeps for key into out (cap >= 16, or
 * LIFELINE_E_BUFFER_TOO_SMALL): HighwayHash-128's two 64-bit words, each
 * little-endian. Changes nothing in the cache. */
LIFELINE_API lifeline_status lifeline_dedup_digest(const lifeline_dedup_t* d, const void* key,
                                                   size_t key_len, uint8_t* out, size_t cap);
/* The number of entries held: those live at the latest now_ms the cache has
 * seen, plus any expired ones no check has dropped yet. */
LIFELINE_API lifeline_status lifeline_dedup_size(const lifeline_dedup_t* d, size_t* out_size);
/* Drops every entry expired at now_ms and writes the number still held to
 * *out_size (which may be NULL). Optional: checks drop expired entries as
 * they go; this makes the count exact and is cheap to call from a timer. */
LIFELINE_API lifeline_status lifeline_dedup_expire(lifeline_dedup_t* d, int64_t now_ms,
                                                   size_t* out_size);
LIFELINE_API void lifeline_dedup_free(lifeline_dedup_t* d);

/* ======================================================================== */
/* Notification cascades                                                     */
/* ======================================================================== */

/* A stakeholder notification cascade engine (docs/cascade.md): on a trigger
 * it notifies every member of a stakeholder group channel after channel
 * until they acknowledge, with retries, hold times, escalation to the group's
 * on-call manager and per-endpoint throttling. It does no I/O and reads no
 * clock: every call takes now_ms, messages to send come out of
 * lifeline_cascade_take_outbound as JSON, and the host reports send results
 * and receipts back.
 *
 * Thread-safety: a cascade handle must not be used from two threads at once. */
typedef struct lifeline_cascade_t lifeline_cascade_t;

/* What the provider answered to a send (lifeline_cascade_on_send_result). */
typedef enum lifeline_send_result {
  LIFELINE_SEND_ACCEPTED = 0,     /* queued at the provider; receipts follow */
  LIFELINE_SEND_DELIVERED = 1,    /* delivered synchronously (e.g. webhook 2xx) */
  LIFELINE_SEND_FAILED = 2,
  LIFELINE_SEND_UNREACHABLE = 3,
  LIFELINE_SEND_THROTTLED = 4     /* HTTP 429: re-queued, endpoint paused */
} lifeline_send_result;

/* Attempt statuses, as in receipts and the state JSON. */
typedef enum lifeline_attempt_status {
  LIFELINE_ATTEMPT_QUEUED = 0,
  LIFELINE_ATTEMPT_PENDING = 1,
  LIFELINE_ATTEMPT_DELIVERED = 2,
  LIFELINE_ATTEMPT_ACKNOWLEDGED = 3,
  LIFELINE_ATTEMPT_FAILED = 4,
  LIFELINE_ATTEMPT_TIMEOUT = 5,
  LIFELINE_ATTEMPT_UNREACHABLE = 6,
  LIFELINE_ATTEMPT_CANCELLED = 7
} lifeline_attempt_status;

/* Creates an engine. directory_json is the stakeholder directory (groups and
 * members); config_json the CascadeConfig JSON, or NULL / "" for the
 * defaults. Unknown keys are refused, naming their path. */
LIFELINE_API lifeline_status lifeline_cascade_new(const char* directory_json,
                                                  const char* config_json,
                                                  int64_t now_ms,
                                                  lifeline_cascade_t** out);
LIFELINE_API void lifeline_cascade_free(lifeline_cascade_t* cascade);

/* Starts a cascade from a trigger JSON (incidentId, severity "P1".."P4",
 * stakeholderGroupId, messageTemplate, timestamp RFC 3339, variables?).
 * *out_duplicate is 1 when an existing cascade for the same incidentId was
 * returned instead (open, or closed within the idempotency window).
 * LIFELINE_E_NOT_FOUND for an unknown group. */
LIFELINE_API lifeline_status lifeline_cascade_trigger(lifeline_cascade_t* cascade,
                                                      const char* trigger_json,
                                                      int64_t now_ms,
                                                      int* out_duplicate);

/* The messages the throttles allow out now, as a JSON array of
 * {"messageId", "incidentId", "memberId", "channel", "endpoint", "address",
 * "text", "severity", "escalation"}. Taken messages become PENDING. On
 * LIFELINE_E_BUFFER_TOO_SMALL, *needed (if not NULL) gets the size and the
 * same messages are returned by the next call: nothing is lost. */
LIFELINE_API lifeline_status lifeline_cascade_take_outbound(lifeline_cascade_t* cascade,
                                                            int64_t now_ms, char* out,
                                                            size_t cap, size_t* needed);

/* The provider's answer to a send. provider_ref (may be NULL) is matched by
 * later receipts; retry_after_ms (>= 0, 0 = default) applies to THROTTLED. */
LIFELINE_API lifeline_status lifeline_cascade_on_send_result(lifeline_cascade_t* cascade,
                                                             uint64_t message_id,
                                                             int result, /* a lifeline_send_result */
                                                             const char* provider_ref,
                                                             int64_t retry_after_ms,
                                                             int64_t now_ms);

/* A delivery receipt, by message id or by provider reference. status is
 * PENDING, DELIVERED, ACKNOWLEDGED, FAILED or UNREACHABLE. Late, duplicate
 * and out-of-order receipts are accepted and ignored. */
LIFELINE_API lifeline_status lifeline_cascade_on_receipt(lifeline_cascade_t* cascade,
                                                         uint64_t message_id,
                                                         int status, /* a lifeline_attempt_status */
                                                         int64_t now_ms);
LIFELINE_API lifeline_status lifeline_cascade_on_provider_receipt(
    lifeline_cascade_t* cascade, const char* provider_ref, int status, /* a lifeline_attempt_status */
    int64_t now_ms);

/* An acknowledgement not tied to an attempt (SMS reply, email link). */
LIFELINE_API lifeline_status lifeline_cascade_acknowledge(lifeline_cascade_t* cascade,
                                                          const char* incident_id,
                                                          const char* member_id,
                                                          int64_t now_ms);

/* Closes (resolves) an incident: every timer and queued message stops. */
LIFELINE_API lifeline_status lifeline_cascade_close(lifeline_cascade_t* cascade,
                                                    const char* incident_id,
                                                    int64_t now_ms);

/* Fires due timers. */
LIFELINE_API lifeline_status lifeline_cascade_on_timer(lifeline_cascade_t* cascade,
                                                       int64_t now_ms);

/* When to call on_timer / take_outbound next. *out_has is 0 when idle
 * (then *out_unix_ms is untouched). */
LIFELINE_API lifeline_status lifeline_cascade_next_deadline(const lifeline_cascade_t* cascade,
                                                            int64_t* out_unix_ms,
                                                            int* out_has);

/* The state of one incident's cascade as JSON (the seed schema per
 * stakeholder plus the attempt history). LIFELINE_E_NOT_FOUND when unknown. */
LIFELINE_API lifeline_status lifeline_cascade_state_json(const lifeline_cascade_t* cascade,
                                                         const char* incident_id, char* out,
                                                         size_t cap, size_t* needed);

/* The events emitted since the last call, as a JSON array of {"type", "at",
 * "incidentId", "groupId", "memberId", "channel", "attemptId", "detail",
 * "staleContactData", "recovered"}, then forgotten. "recovered" is true for an
 * event re-emitted when the runtime's store was reopened, because the audit
 * trail had not acknowledged it before the process stopped. Same buffer rules as take_outbound. */
LIFELINE_API lifeline_status lifeline_cascade_take_events(lifeline_cascade_t* cascade,
                                                          char* out, size_t cap,
                                                          size_t* needed);

/* --- The cascade runtime --------------------------------------------------- */

/* A cascade engine with everything around it, for hosts without their own
 * event loop (docs/cascade.md, "Runtime"): the stakeholder directory (and an
 * optional live lookup over HTTP that flags stale_contact_data when it
 * fails), a SQLite store that survives kill -9, the channel adapters (Twilio
 * SMS and Voice, SendGrid, FCM, webhook) over libcurl, and one background
 * thread that sends what is due, throttled per endpoint. The host's web
 * server hands it inbound requests: authenticated triggers, provider
 * callbacks, email acknowledgement links.
 *
 * Output JSON goes into (char* out, size_t cap, size_t* needed) buffers as
 * everywhere else. For the functions that act *and* answer (trigger,
 * trigger_http, ingest_provider_callback, ack_link), out may be NULL when
 * cap is 0 (the answer is not wanted; *needed still gets its size), and on
 * LIFELINE_E_BUFFER_TOO_SMALL the action has already happened: a trigger
 * repeated with a bigger buffer returns the same cascade (duplicate true).
 *
 * Thread-safety: every function may be called from any thread, except that
 * lifeline_cascade_runtime_close must not race with other calls on it. */
typedef struct lifeline_cascade_runtime_t lifeline_cascade_runtime_t;

/* Opens a runtime from its JSON configuration (every key, with defaults, in
 * docs/cascade.md: "directory" (required), "directory_lookup", "store",
 * "cascade" (severity hold table, retries, throttles ...), "channels"
 * ("twilio", "sendgrid", "fcm", "webhook" with base URLs and credentials),
 * "inbound" (trigger HMAC secret / bearer token), "http"). Unknown keys and
 * bad values are LIFELINE_E_INVALID_ARGUMENT naming their path. With a file
 * store, cascades left by an earlier process resume with their timers. The
 * time is the system clock. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_open(const char* config_json,
                                                           lifeline_cascade_runtime_t** out);

/* As lifeline_cascade_runtime_open, with time taken from `clock` (a manual
 * clock replays a scenario exactly). The runtime keeps its own reference:
 * the clock handle may be freed first. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_open_with_clock(
    const char* config_json, lifeline_clock_t* clock, lifeline_cascade_runtime_t** out);

/* Stops the thread after the sends in flight have answered; the store keeps
 * everything else for the next open. NULL is harmless. */
LIFELINE_API void lifeline_cascade_runtime_close(lifeline_cascade_runtime_t* rt);

/* Waits until the runtime has done everything due at its clock's current
 * time: no call pending, no send in flight, nothing due (as
 * lifeline_engine_settle). For manual clocks: advance the clock, then
 * settle. LIFELINE_E_TIMEOUT after timeout_ms (>= 0) of real time. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_settle(lifeline_cascade_runtime_t* rt,
                                                             int64_t timeout_ms);

/* Starts a cascade from a trigger JSON (as lifeline_cascade_trigger), or
 * returns the existing one for the same incidentId while it is open or
 * within the idempotency window. The answer is the cascade's state JSON (as
 * lifeline_cascade_runtime_state_json) with a leading "duplicate": bool.
 * LIFELINE_E_INVALID_ARGUMENT for a malformed trigger (naming the field),
 * LIFELINE_E_NOT_FOUND for an unknown group. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_trigger(lifeline_cascade_runtime_t* rt,
                                                              const char* trigger_json,
                                                              char* out_cascade_json, size_t cap,
                                                              size_t* needed);

/* A trigger as it arrived over HTTP. method must be "POST"; headers_json is
 * a JSON object of header values ({"Authorization": "Bearer ..."} or
 * {"X-Lifeline-Timestamp": "<unix s>", "X-Lifeline-Signature":
 * "v1=<hex HMAC-SHA256(secret, timestamp + '.' + body)>"}), NULL or "" for
 * none; body is the trigger JSON. LIFELINE_E_UNAUTHENTICATED when the token
 * or signature is missing or wrong, outside the replay window (inbound.
 * replay_window_ms) or replayed (all compared in constant time); then as
 * lifeline_cascade_runtime_trigger. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_trigger_http(
    lifeline_cascade_runtime_t* rt, const char* method, const char* url, const char* headers_json,
    const char* body, char* out_cascade_json, size_t cap, size_t* needed);

/* An acknowledgement through the API: the stakeholder's cascade stops
 * (timers cancelled, queued messages removed). LIFELINE_E_NOT_FOUND for an
 * unknown incident or member. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_acknowledge(lifeline_cascade_runtime_t* rt,
                                                                  const char* incident_id,
                                                                  const char* member_id);

/* Closes (resolves) an incident: everything for it stops. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_close_incident(lifeline_cascade_runtime_t* rt,
                                                                     const char* incident_id);

/* A provider's request to the host's web server. provider "twilio": a form
 * POST whose X-Twilio-Signature is checked against `url` (the full URL
 * Twilio called, query included) and the auth token
 * (LIFELINE_E_UNAUTHENTICATED when wrong); it is a message or call status
 * callback (MessageSid/MessageStatus, CallSid/CallStatus), an inbound SMS
 * (From, Body: "1" or "ACK [incident id]" acknowledges the latest cascade
 * message sent to that number, LIFELINE_E_NOT_FOUND when none was), or a
 * <Gather> result (Digits; "1" acknowledges the message named by the
 * action URL's m= parameter); the number-to-member match survives a
 * restart (it is kept, hashed, in the store). provider "sendgrid": an Event
 * Webhook JSON array (delivered, bounce, dropped applied; other events
 * ignored); with channels.sendgrid.webhook_public_key set, a batch whose
 * Signed Event Webhook signature (ECDSA P-256) is missing, stale or wrong
 * is LIFELINE_E_UNAUTHENTICATED.
 * The answer is {"kind": "status"|"reply"|"gather"|"events",
 * "acknowledged": bool, "applied": n, "ignored": n}. Late, duplicate and
 * out-of-order receipts are applied as no-ops (statuses only move
 * forward). LIFELINE_E_NOT_FOUND for a status about an unknown message. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_ingest_provider_callback(
    lifeline_cascade_runtime_t* rt, const char* provider, const char* method, const char* url,
    const char* headers_json, const char* body, char* out_json, size_t cap, size_t* needed);

/* The token of an email's acknowledgement link (channels.sendgrid.ack_url
 * "?token=..."): the stakeholder acknowledges. The answer is {"incidentId",
 * "memberId"}. LIFELINE_E_UNAUTHENTICATED for a forged or malformed token,
 * LIFELINE_E_TIMEOUT when expired, LIFELINE_E_DUPLICATE when already used
 * (also across a restart: redemptions are kept in the store),
 * LIFELINE_E_STATE when no ack_key is configured. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_ack_link(lifeline_cascade_runtime_t* rt,
                                                               const char* token, char* out_json,
                                                               size_t cap, size_t* needed);

/* One incident's state JSON (as lifeline_cascade_state_json: the seed schema
 * per stakeholder, staleContactData, the attempt history).
 * LIFELINE_E_NOT_FOUND when unknown. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_state_json(lifeline_cascade_runtime_t* rt,
                                                                 const char* incident_id, char* out,
                                                                 size_t cap, size_t* needed);

/* Every incident the runtime knows (open, or closed within the idempotency
 * window), as a JSON array of {"incidentId", "stakeholderGroupId",
 * "severity", "status", "startedAt", "closedAt", "stakeholderCount",
 * "requiredAcks", "acknowledgedCount", "escalatedCount",
 * "staleContactCount"}, sorted by incidentId. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_list_json(lifeline_cascade_runtime_t* rt,
                                                                char* out, size_t cap,
                                                                size_t* needed);

/* Counters as one JSON object (docs/cascade.md lists them): per channel
 * sent/accepted/throttled/failed, receipts, acknowledgements, resends,
 * triggers, unauthenticated requests, directory lookups ... */
LIFELINE_API lifeline_status lifeline_cascade_runtime_metrics_json(lifeline_cascade_runtime_t* rt,
                                                                   char* out, size_t cap,
                                                                   size_t* needed);

/* The same in the Prometheus text exposition format. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_metrics_prometheus(
    lifeline_cascade_runtime_t* rt, char* out, size_t cap, size_t* needed);

/* Records every cascade event (attempts, receipts, acknowledgements,
 * escalations, CASCADE_FAILURE, stale contact data ...) in the audit trail
 * `audit` from now on, stakeholder references protected as PII by the log's
 * policy. No message is sent before the events leading to it are recorded:
 * while the log refuses appends (a full disk: LIFELINE_E_IO inside), claimed
 * messages are held and the runtime retries; the metrics "audit_backlog" and
 * "held_messages" show it. `audit` is not owned: keep it open until the
 * runtime is closed or another log (or NULL, to detach) is set. With
 * "audit": {"required": true} in the configuration, events are held (and
 * nothing is sent) from the open until a log is set. */
struct lifeline_audit_t; /* lifeline_audit_t, declared with the audit trail */
LIFELINE_API lifeline_status lifeline_cascade_runtime_set_audit(lifeline_cascade_runtime_t* rt,
                                                               struct lifeline_audit_t* audit);

/* The events since the last call, as a JSON array in the format of
 * lifeline_cascade_take_events, then forgotten. The runtime keeps at most
 * "events": {"queue_limit"} (default 10000) events for the host; older ones
 * are dropped and counted in the metric "events_dropped" (the audit trail is
 * the durable record). On LIFELINE_E_BUFFER_TOO_SMALL the events are kept
 * for the next call; *needed gets the size. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_take_events(lifeline_cascade_runtime_t* rt,
                                                                 char* out, size_t cap,
                                                                 size_t* needed);

/* --- Voice through the host's PBX ------------------------------------------ */

/* With "channels": {"voice": {"via": "pbx", ...}} in the configuration
 * (docs/cascade.md), the cascade's voice calls -- stakeholders' calls and
 * escalations to the on-call manager ("voice.priority") alike -- are placed
 * by the host's PBX instead of Twilio:
 *
 *  1. the runtime calls the host's lifeline_voice_originator with a
 *     lifeline_voice_call: dial `destination`, present `caller_id`, when
 *     answered play `media_id` (if not ""), say `prompt_text`, say
 *     `gather_prompt_text` and collect one DTMF digit for up to
 *     digit_timeout_ms; stop ringing after ring_timeout_ms;
 *  2. the originator answers at once (a lifeline_status, below);
 *  3. when the call has ended, the host reports how with
 *     lifeline_cascade_runtime_voice_result(rt, call->message_id, ...).
 *
 * This is the PBX twin of Twilio's <Say>/<Play> + <Gather numDigits="1">:
 * the acknowledgement digit (default '1') pressed on an answered call
 * acknowledges the stakeholder and stops their cascade. */

/* Grows only at its end; `version` says which fields are present. */
#define LIFELINE_VOICE_CALL_VERSION 1

/* One call the PBX is asked to place. Every string is NUL-terminated UTF-8,
 * never NULL ("" when not set), and valid only during the originator call:
 * copy what you keep. */
typedef struct lifeline_voice_call {
  uint32_t version;            /* LIFELINE_VOICE_CALL_VERSION */
  uint64_t message_id;         /* report the result by this id */
  const char* incident_id;
  const char* member_id;
  const char* destination;     /* PII: the number to dial, as in the directory */
  const char* caller_id;       /* the number to present; "" = the trunk's default */
  const char* prompt_text;     /* the rendered message, for text-to-speech */
  const char* media_id;        /* a recording played before prompt_text; "" = none */
  const char* gather_prompt_text; /* e.g. "Press 1 to acknowledge." */
  char ack_digit;              /* the digit that acknowledges, e.g. '1' */
  int32_t max_digits;          /* digits to collect: 1 */
  int64_t digit_timeout_ms;    /* wait for the digit after the prompts */
  int64_t ring_timeout_ms;     /* unanswered this long: LIFELINE_VOICE_NO_ANSWER */
  int32_t severity;            /* 1..4 for P1..P4 */
  int32_t escalation;          /* 1: a call to the group's on-call manager */
} lifeline_voice_call;

/* The host's PBX: starts placing `call` and returns at once. It is called on
 * the runtime's own background thread (never on the caller's thread, never
 * on the HTTP transport's), one call at a time; it must not block -- every
 * channel waits while it runs. It may call
 * lifeline_cascade_runtime_voice_result (and the other
 * lifeline_cascade_runtime_* functions, which then run at once), but must
 * not call lifeline_cascade_runtime_settle (LIFELINE_E_STATE) or
 * lifeline_cascade_runtime_close. The return value is the immediate answer:
 *
 *   LIFELINE_OK                  the PBX is placing the call; report the
 *                                result with _voice_result
 *   LIFELINE_E_RATE_LIMITED      refused for now (all trunks busy): voice
 *                                calls pause for *out_retry_after_ms (set it,
 *                                or leave 0 for the cascade's
 *                                throttle.default_retry_after_ms; at most
 *                                1 h), then this call is offered again
 *   LIFELINE_E_NOT_FOUND,
 *   LIFELINE_E_INVALID_ARGUMENT  no route, or not a valid number:
 *                                the attempt is UNREACHABLE
 *   any other status             FAILED (the cascade's retry rule applies)
 *
 * *out_retry_after_ms is 0 on entry and read only with
 * LIFELINE_E_RATE_LIMITED. */
typedef lifeline_status (*lifeline_voice_originator)(const lifeline_voice_call* call,
                                                     int64_t* out_retry_after_ms,
                                                     void* user_data);

/* Sets the PBX originator (originator NULL removes it; user_data is passed
 * back untouched). Until one is set, voice calls fail (the retry rule
 * applies, then the next channel), so set it right after opening the
 * runtime. Once this returns, the previous originator is not called again
 * (when called from inside it, the current call finishes normally).
 * LIFELINE_E_STATE unless "channels.voice.via" is "pbx". */
LIFELINE_API lifeline_status lifeline_cascade_runtime_set_voice_originator(
    lifeline_cascade_runtime_t* rt, lifeline_voice_originator originator, void* user_data);

/* How a placed call ended (values are only appended). */
typedef enum lifeline_voice_result_kind {
  LIFELINE_VOICE_ANSWERED = 0,   /* answered; digits holds what was pressed */
  LIFELINE_VOICE_BUSY = 1,       /* FAILED: the retry rule */
  LIFELINE_VOICE_NO_ANSWER = 2,  /* FAILED: the retry rule */
  LIFELINE_VOICE_UNROUTABLE = 3, /* no route / invalid number: UNREACHABLE */
  LIFELINE_VOICE_FAILED = 4      /* any other failure: FAILED */
} lifeline_voice_result_kind;

/* The longest digits string _voice_result accepts. */
#define LIFELINE_VOICE_MAX_DIGITS 16

/* Reports how the call for message_id ended. For LIFELINE_VOICE_ANSWERED,
 * digits is what the callee pressed (NULL or "" for nothing; at most
 * LIFELINE_VOICE_MAX_DIGITS keys of 0-9, *, #, A-D): when its first key is
 * the acknowledgement digit the stakeholder is ACKNOWLEDGED (their cascade
 * stops: timers cancelled, queued messages removed), otherwise the attempt
 * is DELIVERED (the hold time runs, then the next channel). Other kinds
 * take no digits (NULL or ""). Late and duplicate results are accepted and
 * change nothing (statuses only move forward; an acknowledgement always
 * counts). May be called from any thread, including the originator.
 * LIFELINE_E_INVALID_ARGUMENT for a bad result_kind or digits,
 * LIFELINE_E_NOT_FOUND for a message id the runtime does not know or that
 * is not a voice call, LIFELINE_E_STATE unless voice goes to the PBX. */
LIFELINE_API lifeline_status lifeline_cascade_runtime_voice_result(lifeline_cascade_runtime_t* rt,
                                                                   uint64_t message_id,
                                                                   int result_kind, /* a lifeline_voice_result_kind */
                                                                   const char* digits);

/* ======================================================================== */
/* IVR failover engine                                                       */
/* ======================================================================== */

/* The emergency IVR failover engine: the failover switch, the per-call
 * emergency flow, and durable asynchronous callback submission to Genesys
 * Cloud, NICE CXone or a webhook (docs/failover.md, docs/call-flow.md,
 * docs/callbacks.md; every configuration key is in docs/config.md).
 *
 * The engine owns one background thread that sends due callbacks over HTTP
 * (libcurl) and, when configured, polls the failover state endpoint. Call
 * threads never wait on the network: lifeline_call_* and
 * lifeline_callback_submit at most commit one row to the local outbox.
 *
 * Thread-safety: every function may be called from any thread, except that
 * one lifeline_call_t must not be used from two threads at once, and
 * lifeline_engine_close must not race with other calls on the engine. */
typedef struct lifeline_engine_t lifeline_engine_t;

/* A request id: 32 lower-case hex digits and a NUL. */
#define LIFELINE_REQUEST_ID_BUFFER_SIZE 33

/* Opens an engine from its JSON configuration. On start it recovers the
 * outbox: requests left pending by an earlier process resume. */
LIFELINE_API lifeline_status lifeline_engine_open(const char* config_json,
                                                  lifeline_engine_t** out);

/* As lifeline_engine_open, with the engine's time taken from `clock` (a
 * manual clock replays a scenario exactly). The engine keeps its own
 * reference: the clock handle may be freed first. */
LIFELINE_API lifeline_status lifeline_engine_open_with_clock(const char* config_json,
                                                             lifeline_clock_t* clock,
                                                             lifeline_engine_t** out);

/* Waits until the outbox holds no pending or in-flight request, or until
 * timeout_ms of real time have passed (LIFELINE_E_TIMEOUT). Requests that are
 * waiting on a backoff or a Retry-After only become due as the engine's
 * clock advances. */
LIFELINE_API lifeline_status lifeline_engine_drain(lifeline_engine_t* engine,
                                                   int64_t timeout_ms);

/* Waits until the engine has done everything due at its clock's current
 * time: nothing in flight and nothing due. For manual clocks: advance the
 * clock, then settle. LIFELINE_E_TIMEOUT after timeout_ms of real time. */
LIFELINE_API lifeline_status lifeline_engine_settle(lifeline_engine_t* engine,
                                                    int64_t timeout_ms);

/* Stops cleanly: requests not yet delivered stay in the outbox for the next
 * open. NULL is harmless. */
LIFELINE_API void lifeline_engine_close(lifeline_engine_t* engine);

/* Events (mode transitions, staleness, dead letters), as one JSON object per
 * call, e.g. {"type":"failover_transition","from":"NORMAL","to":"FAILOVER",
 * "cause":"push","reason":"...","at":...}. Called on the thread that caused
 * the event; it must not call back into the engine. NULL clears it. */
typedef void (*lifeline_event_callback)(const char* event_json, void* user_data);
LIFELINE_API lifeline_status lifeline_engine_set_event_callback(lifeline_engine_t* engine,
                                                                lifeline_event_callback callback,
                                                                void* user_data);

/* Records the engine's audit trail in `audit` (see the Audit trail section):
 * every failover transition, every captured callback (the caller's number as
 * PII, protected by the log's policy) and every delivery outcome. A capture
 * the audit log refuses is not committed either: lifeline_callback_submit
 * returns LIFELINE_E_IO and the caller hears the fallback. `audit` is not
 * owned: keep it open until the engine is closed or another log (or NULL, to
 * detach) is set. */
struct lifeline_audit_t; /* lifeline_audit_t, declared with the audit trail */
LIFELINE_API lifeline_status lifeline_engine_set_audit(lifeline_engine_t* engine,
                                                       struct lifeline_audit_t* audit);

/* --- The failover switch --------------------------------------------------- */

typedef enum lifeline_routing_mode {
  LIFELINE_MODE_NORMAL = 0,
  LIFELINE_MODE_FAILOVER = 1
} lifeline_routing_mode;

/* Pushes a mode from the monitoring integration, with a reason (for the
 * audit trail) and an optional expiry (0 = none), after which the mode falls
 * back to what the pulled source says. */
LIFELINE_API lifeline_status lifeline_failover_set(lifeline_engine_t* engine, int mode,
                                                   const char* reason, int64_t expires_at_ms);

/* Reports one successful read of the host's own state source (when the host
 * polls it itself rather than configuring failover.poll.url). */
LIFELINE_API lifeline_status lifeline_failover_observe(lifeline_engine_t* engine, int mode);

/* Reports one failed read of the host's own state source. */
LIFELINE_API lifeline_status lifeline_failover_observe_failure(lifeline_engine_t* engine);

/* The mode in force now (lock-free). */
LIFELINE_API lifeline_status lifeline_failover_mode(lifeline_engine_t* engine, int* out_mode);

/* --- Calls ----------------------------------------------------------------- */

/* The call-entry decision. */
typedef enum lifeline_call_entry {
  LIFELINE_ENTRY_NORMAL = 0,      /* route the call as usual */
  LIFELINE_ENTRY_FAILOVER = 1,    /* run the emergency flow (a call handle is returned) */
  LIFELINE_ENTRY_REJECT_BUSY = 2  /* no prompt: a short busy, media channels are full */
} lifeline_call_entry;

/* What the telephony side reports. */
typedef enum lifeline_call_event_kind {
  LIFELINE_EVENT_ANSWERED = 0,
  LIFELINE_EVENT_PROMPT_FINISHED = 1,
  LIFELINE_EVENT_DIGITS = 2,   /* `digits` holds what was collected */
  LIFELINE_EVENT_TIMEOUT = 3,  /* a playback or digit timeout expired */
  LIFELINE_EVENT_HANGUP = 4
} lifeline_call_event_kind;

/* What the telephony side must do next. */
typedef enum lifeline_action_kind {
  LIFELINE_ACTION_NONE = 0,
  LIFELINE_ACTION_PLAY = 1,           /* play media_id, up to timeout_ms */
  LIFELINE_ACTION_COLLECT_DIGITS = 2, /* play media_id (if any) and collect digits */
  LIFELINE_ACTION_HANGUP = 3          /* hang up with `tone` */
} lifeline_action_kind;

/* Which of the flow's recordings an action plays. */
typedef enum lifeline_prompt {
  LIFELINE_PROMPT_EMERGENCY_MESSAGE = 0,
  LIFELINE_PROMPT_CALLBACK_OFFER = 1,
  LIFELINE_PROMPT_NUMBER_ENTRY = 2,
  LIFELINE_PROMPT_CONFIRMATION = 3,
  LIFELINE_PROMPT_FALLBACK = 4,
  LIFELINE_PROMPT_GOODBYE = 5
} lifeline_prompt;

typedef enum lifeline_hangup_tone {
  LIFELINE_TONE_POLITE = 0,
  LIFELINE_TONE_BUSY = 1
} lifeline_hangup_tone;

typedef struct lifeline_action {
  int kind;                       /* lifeline_action_kind */
  int prompt;                     /* lifeline_prompt: which recording media_id is */
  char media_id[128];             /* PLAY, COLLECT_DIGITS */
  int64_t timeout_ms;             /* PLAY: playback timeout; COLLECT: first-digit timeout */
  int32_t max_digits;             /* COLLECT_DIGITS */
  int64_t inter_digit_timeout_ms; /* COLLECT_DIGITS */
  char terminator;                /* COLLECT_DIGITS: '#' or 0 for none */
  int tone;                       /* HANGUP: lifeline_hangup_tone */
} lifeline_action;

/* How every call ends: exactly one of these. */
typedef enum lifeline_call_outcome_kind {
  LIFELINE_OUTCOME_NONE = -1,            /* not finished yet */
  LIFELINE_OUTCOME_CALLBACK_RECORDED = 0,
  LIFELINE_OUTCOME_DECLINED = 1,
  LIFELINE_OUTCOME_TIMEOUT = 2,
  LIFELINE_OUTCOME_HANGUP = 3,
  LIFELINE_OUTCOME_REJECTED_BUSY = 4,
  LIFELINE_OUTCOME_FALLBACK = 5
} lifeline_call_outcome_kind;

typedef struct lifeline_call_t lifeline_call_t;

/* Decides at call entry. call_json: {"callId": "...", "ani": "...",
 * "originalQueueId": "...", "flowName": "...", "contextData": {...}}.
 * *out_call is set only for LIFELINE_ENTRY_FAILOVER (else NULL): it holds
 * one emergency media channel until lifeline_call_end. The first action is
 * written to *out_action (answer and play the emergency message). */
LIFELINE_API lifeline_status lifeline_call_begin(lifeline_engine_t* engine, const char* call_json,
                                                 int* out_entry, lifeline_call_t** out_call,
                                                 lifeline_action* out_action);

/* Reports a telephony event; writes the next action. `digits` is read only
 * for LIFELINE_EVENT_DIGITS (ASCII 0-9, *, #). When the caller consents,
 * the callback is committed to the outbox inside this call and the action
 * returned is the confirmation (or the fallback if it could not be
 * recorded). LIFELINE_E_STATE for an event the flow does not expect now. */
LIFELINE_API lifeline_status lifeline_call_event(lifeline_call_t* call, int event,
                                                 const char* digits, lifeline_action* out_action);

/* The flow's own backstop: when lifeline_call_on_timer has something to do
 * (a prompt or a digit collection the PBX never ended, a submission answer
 * that never came), in ms since the epoch on the engine's clock. *out_has is
 * 0 when nothing is scheduled (then *out_unix_ms is untouched). A PBX that
 * cannot trust its own media timeouts arms a timer for this instant, so no
 * caller waits in silence beyond the flow's max_silence_ms. */
LIFELINE_API lifeline_status lifeline_call_next_deadline(const lifeline_call_t* call,
                                                         int64_t* out_unix_ms, int* out_has);

/* Applies the flow's deadline at the engine's current time: when it has
 * passed, writes the next action (as a TIMEOUT event would, or the fallback
 * when the submission answer is missing); otherwise LIFELINE_ACTION_NONE.
 * Never LIFELINE_E_STATE: calling it early or after the end is harmless. */
LIFELINE_API lifeline_status lifeline_call_on_timer(lifeline_call_t* call, lifeline_action* out_action);

/* The call's outcome (LIFELINE_OUTCOME_NONE while it runs). */
LIFELINE_API lifeline_status lifeline_call_outcome(const lifeline_call_t* call, int* out_outcome);

/* The request id of the recorded callback, when there is one
 * (LIFELINE_E_NOT_FOUND otherwise). */
LIFELINE_API lifeline_status lifeline_call_request_id(const lifeline_call_t* call, char* out,
                                                      size_t cap);

/* Ends the call on every path (hangup, error, normal end): releases its
 * media channel and counts its outcome (hangup when it had not finished).
 * NULL is harmless. */
LIFELINE_API void lifeline_call_end(lifeline_call_t* call);

/* The static name of an outcome: "callback_recorded", "declined", ... */
LIFELINE_API const char* lifeline_call_outcome_str(int outcome);

/* --- Callbacks ------------------------------------------------------------- */

/* Submits a callback request directly (without the call flow). request_json
 * uses the seed's names: callerPhone, originalQueueId, callbackTime (RFC 3339,
 * or a local time with callbackTimeZone; absent = ASAP), flowName, callId,
 * callerName, contextData. Returns OK once the request is durably committed,
 * writing its request id (32 hex digits + NUL: cap >=
 * LIFELINE_REQUEST_ID_BUFFER_SIZE).
 * LIFELINE_E_DUPLICATE: the same caller for the same queue within dedup.ttl_ms
 * (the id of the first request is still written). LIFELINE_E_IO: it could
 * not be recorded. */
LIFELINE_API lifeline_status lifeline_callback_submit(lifeline_engine_t* engine,
                                                      const char* request_json,
                                                      char* out_request_id, size_t cap);

/* The dead letters as a JSON array of {"requestId","attempts","lastError",
 * "createdAt","settledAt"}, oldest first. */
LIFELINE_API lifeline_status lifeline_callback_dead_letters(lifeline_engine_t* engine, char* out,
                                                            size_t cap, size_t* out_needed);

/* Sends a dead letter again (request_id NULL: all of them). */
LIFELINE_API lifeline_status lifeline_callback_redrive(lifeline_engine_t* engine,
                                                       const char* request_id);

/* One request's state as JSON {"requestId","state","attempts","lastError",
 * "resends","providerReference"}; LIFELINE_E_NOT_FOUND when unknown. */
LIFELINE_API lifeline_status lifeline_callback_status(lifeline_engine_t* engine,
                                                      const char* request_id, char* out,
                                                      size_t cap, size_t* out_needed);

/* --- Metrics --------------------------------------------------------------- */

/* Counters and gauges as one JSON object (docs/callbacks.md lists them). */
LIFELINE_API lifeline_status lifeline_metrics_json(lifeline_engine_t* engine, char* out,
                                                   size_t cap, size_t* out_needed);

/* The same in the Prometheus text exposition format. */
LIFELINE_API lifeline_status lifeline_metrics_prometheus(lifeline_engine_t* engine, char* out,
                                                         size_t cap, size_t* out_needed);


/* ======================================================================== */
/* Audit trail                                                               */
/* ======================================================================== */

/* A tamper-evident, PII-protected audit trail (docs/audit.md). Every event
 * becomes a record with a gap-free seq, chained to the one before it by
 * SHA-256, its personal data encrypted (AES-256-GCM) or pseudonymised
 * (HMAC-SHA256), and durable (written and fsynced) before append returns
 * LIFELINE_OK. HMAC checkpoints over the chain head go to a separate file,
 * so cutting records off the end is detected too. Old records move to
 * compressed archive segments that keep their chain boundaries.
 *
 * The configuration is a JSON object (docs/audit.md lists every key):
 *
 *   {"dir": "/var/lib/lifeline/audit",
 *    "store": "file",                         "file" (default) or "sqlite"
 *    "keys": {"provider": "env",              "env", "file" or "callback"
 *             "data_key_id": "k1", "pseudonym_key_id": "p1",
 *             "checkpoint_key_id": "c1"},
 *    "pii": {"phone": "encrypt", "email": "encrypt",
 *            "push_token": "pseudonymise", "subject": "plain"},
 *    "checkpoint_every": 1000, "retention_days": 180}
 *
 * An event is a JSON object: "source" ("ivr", "cascade" or "failover") and
 * "time" (int64 ms) are required; "incidentId", "callId", "subject",
 * "channel", "event", "status", "providerId", "detail" are optional strings;
 * "pii" is an object of field name to value ({"phone": "+15551234567"}).
 * Unknown keys are refused.
 *
 * Appending returns LIFELINE_E_IO when the disk is full or an I/O error
 * occurs: the event was NOT recorded, and the producer must keep it.
 *
 * Thread-safety: every function may be called from any thread on the same
 * handle, except lifeline_audit_close and lifeline_audit_free. */
typedef struct lifeline_audit_t lifeline_audit_t;

/* A host key source (e.g. a KMS client): writes the 32-byte key named key_id
 * to out_key32 and returns LIFELINE_OK, or returns LIFELINE_E_NOT_FOUND
 * (unknown id) or LIFELINE_E_UNAVAILABLE. May be called from any thread,
 * while the handle lives. Used when "keys.provider" is "callback". */
typedef lifeline_status (*lifeline_key_callback)(const char* key_id, uint8_t* out_key32,
                                                 void* user_data);

/* The host's check of a reader's credential: returns 1 when `credential` is
 * valid for `role` ("compliance_officer" or "bcp_admin"), 0 otherwise. */
typedef int (*lifeline_credential_callback)(const char* role, const char* credential,
                                            void* user_data);

/* What a verification found, at its first bad seq. Values are only appended. */
typedef enum lifeline_audit_finding {
  LIFELINE_AUDIT_OK = 0,
  LIFELINE_AUDIT_EDITED = 1,          /* a record changed, or its link broke */
  LIFELINE_AUDIT_DELETED = 2,         /* a seq is missing */
  LIFELINE_AUDIT_REORDERED = 3,       /* a seq is out of place */
  LIFELINE_AUDIT_TRUNCATED = 4,       /* the chain ends before its last checkpoint */
  LIFELINE_AUDIT_BAD_CHECKPOINT = 5,  /* a checkpoint fails its MAC or the chain */
  LIFELINE_AUDIT_CORRUPT_ARCHIVE = 6, /* an archive segment cannot be read */
  LIFELINE_AUDIT_BAD_PURGE_MANIFEST = 7 /* the purge manifest fails its MAC, does not
                                           chain, lacks what a purge removed, or
                                           contradicts a segment still present */
} lifeline_audit_finding;

/* "ok", "edited", "deleted", "reordered", "truncated", "bad_checkpoint",
 * "corrupt_archive", "bad_purge_manifest"; "unknown" otherwise. Static
 * string. */
LIFELINE_API const char* lifeline_audit_finding_str(lifeline_audit_finding finding);

/* Opens (or creates) the log described by config_json. key_callback is
 * required when "keys.provider" is "callback" and must be NULL otherwise.
 * Opening repairs a torn last line, finishes an interrupted archive and
 * checks the end of the store against the last checkpoint: a store that
 * does not verify there gives LIFELINE_E_STATE (nothing is appended to it).
 * Another open handle on the same dir gives LIFELINE_E_UNAVAILABLE. */
LIFELINE_API lifeline_status lifeline_audit_open(const char* config_json,
                                                 lifeline_key_callback key_callback,
                                                 void* key_user_data, lifeline_audit_t** out);

/* Sets (or, with NULL, clears) the credential check used by export. Without
 * one, nobody gets PII decrypted. */
LIFELINE_API lifeline_status lifeline_audit_set_credential_verifier(
    lifeline_audit_t* log, lifeline_credential_callback callback, void* user_data);

/* Records one event (JSON object, see above). LIFELINE_OK once durable. */
LIFELINE_API lifeline_status lifeline_audit_append(lifeline_audit_t* log, const char* event_json);

/* Records a JSON array of events with one write and one fsync: all or none. */
LIFELINE_API lifeline_status lifeline_audit_append_batch(lifeline_audit_t* log,
                                                         const char* events_json);

/* Writes a checkpoint over the head if it moved since the last one. */
LIFELINE_API lifeline_status lifeline_audit_flush(lifeline_audit_t* log);

/* Makes key_id the data key for new records; old records stay readable. */
LIFELINE_API lifeline_status lifeline_audit_rotate_data_key(lifeline_audit_t* log,
                                                            const char* key_id);

/* The last durable seq (0 when empty) and its hash (64 hex digits; cap >= 65). */
LIFELINE_API lifeline_status lifeline_audit_head(const lifeline_audit_t* log, uint64_t* out_seq,
                                                 char* out_hash, size_t cap);

/* Verifies the open log: archive segments, live store, checkpoints.
 * LIFELINE_OK means the verification ran; its verdict is *out_finding and
 * *out_first_bad_seq (0 when LIFELINE_AUDIT_OK). When out_report_json is not
 * NULL, the full report is written there as JSON:
 * {"ok":false,"kind":"deleted","first_bad_seq":7,"message":"...","records":6,...} */
LIFELINE_API lifeline_status lifeline_audit_verify(lifeline_audit_t* log,
                                                   lifeline_audit_finding* out_finding,
                                                   uint64_t* out_first_bad_seq,
                                                   char* out_report_json, size_t cap);

/* The same for a log that is not open (read-only; no lock taken, nothing
 * written). Only "dir", "store" and "keys" of config_json are used. */
LIFELINE_API lifeline_status lifeline_audit_verify_dir(const char* config_json,
                                                       lifeline_key_callback key_callback,
                                                       void* key_user_data,
                                                       lifeline_audit_finding* out_finding,
                                                       uint64_t* out_first_bad_seq,
                                                       char* out_report_json, size_t cap);

/* Verifies an export file on its own: each record's hash, the chain through
 * the omitted records' digests, and the closing checkpoint's MAC (needing
 * the checkpoint key through config_json's "keys"; "dir" is not used). */
LIFELINE_API lifeline_status lifeline_audit_verify_export(const char* export_path,
                                                          const char* config_json,
                                                          lifeline_key_callback key_callback,
                                                          void* key_user_data,
                                                          lifeline_audit_finding* out_finding,
                                                          uint64_t* out_first_bad_seq,
                                                          char* out_report_json, size_t cap);

/* Moves the records older than now - retention into archive segments.
 * *out_archived (may be NULL) is how many moved. */
LIFELINE_API lifeline_status lifeline_audit_archive(lifeline_audit_t* log, int64_t now_unix_ms,
                                                    uint64_t* out_archived);

/* Writes the records matching filter_json ({"incidentId":"...","callId":
 * "...","from":ms,"to":ms}, every key optional; "{}" is everything) to
 * out_path as JSON Lines with a chain proof. PII is decrypted only for the
 * roles "compliance_officer" and "bcp_admin" whose credential the verifier
 * accepts (and that is audited first as PII_DECRYPTED); any other role (or
 * NULL) gets pseudonyms. A privileged role with a rejected credential gives
 * LIFELINE_E_INVALID_ARGUMENT. *out_records (may be NULL) is the number of
 * matching records written. */
LIFELINE_API lifeline_status lifeline_audit_export(lifeline_audit_t* log, const char* filter_json,
                                                   const char* role, const char* credential,
                                                   int64_t now_unix_ms, const char* out_path,
                                                   uint64_t* out_records);

/* Writes a final checkpoint and releases the directory. The handle must
 * still be freed. Later calls on it give LIFELINE_E_STATE. */
LIFELINE_API lifeline_status lifeline_audit_close(lifeline_audit_t* log);

/* Closes (if needed) and frees the handle. NULL is harmless. */
LIFELINE_API void lifeline_audit_free(lifeline_audit_t* log);

/* Deletes, for good, the oldest archive segments whose records are all older
 * than cutoff_unix_ms. Their chain boundaries go to a purge manifest
 * (archive/purged.jsonl, MAC'd with the checkpoint key), so verify still
 * proves the remaining history; a tampered or missing manifest is
 * LIFELINE_AUDIT_BAD_PURGE_MANIFEST.
 *
 * Only role "bcp_admin" with a credential the verifier set by
 * lifeline_audit_set_credential_verifier accepts may purge; any other role
 * or credential gives LIFELINE_E_INVALID_ARGUMENT and is recorded as
 * PURGE_DENIED. cutoff_unix_ms later than now_unix_ms minus the retention
 * period gives LIFELINE_E_INVALID_ARGUMENT (the safety floor). An archive
 * that does not verify up to the cutoff gives LIFELINE_E_STATE and nothing
 * is purged. The purge is recorded (ARCHIVE_PURGED) before anything is
 * deleted. Purging again with the same cutoff removes and records nothing.
 * role and credential are required; both times must lie between
 * 1970-01-01 and 9999-12-31. *out_segments and *out_records (each may be
 * NULL) receive how many segments and records were removed. */
LIFELINE_API lifeline_status lifeline_audit_purge_archive(lifeline_audit_t* log,
                                                          int64_t cutoff_unix_ms,
                                                          const char* role,
                                                          const char* credential,
                                                          int64_t now_unix_ms,
                                                          uint64_t* out_segments,
                                                          uint64_t* out_records);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIFELINE_LIFELINE_H_ */
