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

/* @@SECTION:time@@ */

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

/* @@SECTION:dedup@@ */

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
                                                             lifeline_send_result result,
                                                             const char* provider_ref,
                                                             int64_t retry_after_ms,
                                                             int64_t now_ms);

/* A delivery receipt, by message id or by provider reference. status is
 * PENDING, DELIVERED, ACKNOWLEDGED, FAILED or UNREACHABLE. Late, duplicate
 * and out-of-order receipts are accepted and ignored. */
LIFELINE_API lifeline_status lifeline_cascade_on_receipt(lifeline_cascade_t* cascade,
                                                         uint64_t message_id,
                                                         lifeline_attempt_status status,
                                                         int64_t now_ms);
LIFELINE_API lifeline_status lifeline_cascade_on_provider_receipt(
    lifeline_cascade_t* cascade, const char* provider_ref, lifeline_attempt_status status,
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
 * "staleContactData"}, then forgotten. Same buffer rules as take_outbound. */
LIFELINE_API lifeline_status lifeline_cascade_take_events(lifeline_cascade_t* cascade,
                                                          char* out, size_t cap,
                                                          size_t* needed);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIFELINE_LIFELINE_H_ */
