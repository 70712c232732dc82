/* lifeline_audit_purge_archive from plain C99: argument validation, who may
 * purge, the retention floor, what is removed, idempotence, verify after a
 * purge, and a tampered purge manifest (LIFELINE_AUDIT_BAD_PURGE_MANIFEST). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_test_keys.h"
#include "c_test.h"
#include "lifeline/lifeline.h"

#define T0 1716215520000LL
#define DAY 86400000LL

static int admin_only(const char* role, const char* credential, void* user_data) {
  (void)user_data;
  return strcmp(role, "bcp_admin") == 0 && strcmp(credential, "admin-secret") == 0;
}

static int file_exists(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return 0;
  fclose(f);
  return 1;
}

/* Replaces the first occurrence of `from` in the file by `to` (same length). */
static int edit_file(const char* path, const char* from, const char* to) {
  static char data[1 << 16];
  size_t n;
  char* at;
  FILE* f = fopen(path, "rb");
  if (f == NULL) return 0;
  n = fread(data, 1, sizeof data - 1, f);
  fclose(f);
  data[n] = '\0';
  at = strstr(data, from);
  if (at == NULL || strlen(from) != strlen(to)) return 0;
  memcpy(at, to, strlen(to));
  f = fopen(path, "wb");
  if (f == NULL) return 0;
  fwrite(data, 1, n, f);
  fclose(f);
  return 1;
}

int main(void) {
  const char* tmp = getenv("LIFELINE_TEST_TMP");
  char dir[512], config[2048], path[700], report[2048], event[256];
  lifeline_audit_t* log = NULL;
  lifeline_audit_finding finding = LIFELINE_AUDIT_EDITED;
  uint64_t seq = 99, archived = 0, segments = 99, records = 99;
  const int64_t now = T0 + 250 * DAY;
  int i;

  snprintf(dir, sizeof dir, "%s/c_audit_purge_%ld", tmp != NULL ? tmp : "/tmp", (long)getpid());
  snprintf(config, sizeof config,
           "{\"dir\":\"%s\",\"keys\":{\"provider\":\"callback\",\"data_key_id\":\"k1\","
           "\"pseudonym_key_id\":\"p1\",\"checkpoint_key_id\":\"c1\"},"
           "\"pii\":{\"phone\":\"encrypt\"},\"segment_max_records\":2}",
           dir);
  CHECK(lifeline_audit_open(config, audit_test_keys, NULL, &log) == LIFELINE_OK);
  /* 8 events 10 days apart (days 0-70); at day 250, with 180 days of
   * retention, seqs 1-7 (days 0-60) move to segments 1-2, 3-4, 5-6, 7-7. */
  for (i = 0; i < 8; ++i) {
    snprintf(event, sizeof event,
             "{\"source\":\"cascade\",\"time\":%lld,\"event\":\"DELIVERY_ATTEMPT\","
             "\"pii\":{\"phone\":\"+1555000%04d\"}}",
             T0 + i * 10 * DAY, i);
    CHECK(lifeline_audit_append(log, event) == LIFELINE_OK);
  }
  CHECK(lifeline_audit_archive(log, now, &archived) == LIFELINE_OK);
  CHECK(archived == 7);

  /* Argument validation. */
  CHECK(lifeline_audit_purge_archive(NULL, T0, "bcp_admin", "x", now, NULL, NULL) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strcmp(lifeline_last_error(), "lifeline_audit_purge_archive: log must not be NULL") == 0);
  CHECK(lifeline_audit_purge_archive(log, T0, NULL, "x", now, NULL, NULL) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strcmp(lifeline_last_error(), "lifeline_audit_purge_archive: role must not be NULL") == 0);
  CHECK(lifeline_audit_purge_archive(log, T0, "bcp_admin", NULL, now, NULL, NULL) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "credential must not be NULL") != NULL);
  CHECK(lifeline_audit_purge_archive(log, T0, "bcp_admin", "\xff", now, NULL, NULL) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "credential is not valid UTF-8") != NULL);
  CHECK(lifeline_audit_purge_archive(log, -1, "bcp_admin", "x", now, NULL, NULL) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "cutoff_unix_ms must be between 0 and") != NULL);
  CHECK(lifeline_audit_purge_archive(log, T0, "bcp_admin", "x", 253402300800000LL, NULL, NULL) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "now_unix_ms must be between 0 and") != NULL);
  /* No verifier: nobody may purge. */
  CHECK(lifeline_audit_purge_archive(log, T0 + 45 * DAY, "bcp_admin", "admin-secret", now, NULL,
                                     NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "no credential verifier is configured") != NULL);

  CHECK(lifeline_audit_set_credential_verifier(log, admin_only, NULL) == LIFELINE_OK);
  CHECK(lifeline_audit_purge_archive(log, T0 + 45 * DAY, "compliance_officer", "admin-secret",
                                     now, &segments, &records) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "requires the role 'bcp_admin'") != NULL);
  CHECK(lifeline_audit_purge_archive(log, T0 + 45 * DAY, "bcp_admin", "guess", now, &segments,
                                     &records) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "was not accepted") != NULL);
  /* The safety floor: now - 180 days is day 70. */
  CHECK(lifeline_audit_purge_archive(log, T0 + 71 * DAY, "bcp_admin", "admin-secret", now,
                                     &segments, &records) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "is inside the retention period") != NULL);

  /* Day 45: segments 1-2 (days 0, 10) and 3-4 (days 20, 30) go; 5-6 holds
   * day 50 and stays. */
  CHECK(lifeline_audit_purge_archive(log, T0 + 45 * DAY, "bcp_admin", "admin-secret", now,
                                     &segments, &records) == LIFELINE_OK);
  CHECK(segments == 2);
  CHECK(records == 4);
  snprintf(path, sizeof path, "%s/archive/seg-00000000000000000001-00000000000000000002.jsonl.gz",
           dir);
  CHECK(!file_exists(path));
  snprintf(path, sizeof path, "%s/archive/seg-00000000000000000005-00000000000000000006.jsonl.gz",
           dir);
  CHECK(file_exists(path));
  /* Idempotent, and the out pointers may be NULL. */
  CHECK(lifeline_audit_purge_archive(log, T0 + 45 * DAY, "bcp_admin", "admin-secret", now,
                                     &segments, NULL) == LIFELINE_OK);
  CHECK(segments == 0);
  CHECK(lifeline_audit_purge_archive(log, T0 + 45 * DAY, "bcp_admin", "admin-secret", now, NULL,
                                     NULL) == LIFELINE_OK);

  CHECK(lifeline_audit_verify(log, &finding, &seq, report, sizeof report) == LIFELINE_OK);
  CHECK(finding == LIFELINE_AUDIT_OK);
  CHECK(strstr(report, "\"purged_segments\":2,\"purged_through\":4") != NULL);
  CHECK(lifeline_audit_close(log) == LIFELINE_OK);
  lifeline_audit_free(log);

  /* The manifest edited: verify names the kind. */
  snprintf(path, sizeof path, "%s/archive/purged.jsonl", dir);
  CHECK(edit_file(path, "\"last_seq\":4", "\"last_seq\":5"));
  CHECK(lifeline_audit_verify_dir(config, audit_test_keys, NULL, &finding, &seq, report, sizeof report) ==
        LIFELINE_OK);
  CHECK(finding == LIFELINE_AUDIT_BAD_PURGE_MANIFEST);
  CHECK(strcmp(lifeline_audit_finding_str(finding), "bad_purge_manifest") == 0);
  CHECK(strstr(report, "\"kind\":\"bad_purge_manifest\"") != NULL);
  CHECK(lifeline_audit_open(config, audit_test_keys, NULL, &log) == LIFELINE_E_STATE);
  CHECK(strstr(lifeline_last_error(), "purge manifest") != NULL);
  return C_TEST_RESULT();
}
