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

/* @@SECTION:retry@@ */

/* ======================================================================== */
/* Rate limiter                                                              */
/* ======================================================================== */

/* @@SECTION:rate_limiter@@ */

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
