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
  LIFELINE_AUDIT_CORRUPT_ARCHIVE = 6  /* an archive segment cannot be read */
} lifeline_audit_finding;

/* "ok", "edited", "deleted", "reordered", "truncated", "bad_checkpoint",
 * "corrupt_archive"; "unknown" otherwise. Static string. */
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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIFELINE_LIFELINE_H_ */
