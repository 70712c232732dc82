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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIFELINE_LIFELINE_H_ */
