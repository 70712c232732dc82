/* The audit trail's C ABI from plain C99: open with a key callback, append,
 * head, verify, tamper, export with and without a role, verify an export,
 * archive, and argument validation. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_test_keys.h"
#include "c_test.h"
#include "lifeline/lifeline.h"

static int officer_only(const char* role, const char* credential, void* user_data) {
  (void)user_data;
  return strcmp(role, "compliance_officer") == 0 && strcmp(credential, "co-secret") == 0;
}

static long file_size(const char* path) {
  FILE* f = fopen(path, "rb");
  long size;
  if (f == NULL) return -1;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fclose(f);
  return size;
}

static int file_contains(const char* path, const char* needle) {
  static char data[1 << 20];
  size_t n;
  FILE* f = fopen(path, "rb");
  if (f == NULL) return 0;
  n = fread(data, 1, sizeof data - 1, f);
  fclose(f);
  data[n] = '\0';
  return strstr(data, needle) != NULL;
}

/* Flips one byte of the file at `offset`. */
static void flip(const char* path, long offset) {
  FILE* f = fopen(path, "r+b");
  int c;
  if (f == NULL) return;
  fseek(f, offset, SEEK_SET);
  c = fgetc(f);
  fseek(f, offset, SEEK_SET);
  fputc(c ^ 0x01, f);
  fclose(f);
}

int main(void) {
  const char* tmp = getenv("LIFELINE_TEST_TMP");
  char dir[512], config[2048], path[600], out_path[600], report[2048], hash[65];
  char event[512];
  lifeline_audit_t* log = NULL;
  lifeline_audit_finding finding = LIFELINE_AUDIT_EDITED;
  uint64_t seq = 99, records = 0, archived = 0;
  int i;

  snprintf(dir, sizeof dir, "%s/c_audit_%ld", tmp != NULL ? tmp : "/tmp", (long)getpid());
  snprintf(config, sizeof config,
           "{\"dir\":\"%s\",\"keys\":{\"provider\":\"callback\",\"data_key_id\":\"k1\","
           "\"pseudonym_key_id\":\"p1\",\"checkpoint_key_id\":\"c1\"},"
           "\"pii\":{\"phone\":\"encrypt\",\"subject\":\"plain\"},\"checkpoint_every\":4}",
           dir);

  /* Argument validation. */
  CHECK(lifeline_audit_open(config, audit_test_keys, NULL, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "out must not be NULL") != NULL);
  CHECK(lifeline_audit_open("{\"dir\":", audit_test_keys, NULL, &log) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "config is not valid JSON at offset 7") != NULL);
  CHECK(lifeline_audit_open("{\"dir\":\"/x\",\"color\":1}", audit_test_keys, NULL, &log) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "config: unknown key 'color'") != NULL);
  CHECK(lifeline_audit_open(config, NULL, NULL, &log) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "no key callback was given") != NULL);
  CHECK(log == NULL);

  CHECK(lifeline_audit_open(config, audit_test_keys, NULL, &log) == LIFELINE_OK);
  CHECK(audit_test_key_calls >= 3);
  CHECK(lifeline_audit_append(log, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_audit_append(NULL, "{}") == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_audit_append(log, "{\"source\":\"ivr\"}") == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strcmp(lifeline_last_error(), "lifeline_audit_append: event_json.time is required") == 0);
  CHECK(lifeline_audit_append(log, "{\"source\":\"ivr\",\"time\":1,\"colour\":\"red\"}") ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "event_json: unknown key 'colour'") != NULL);
  CHECK(lifeline_audit_append(log, "{\"source\":\"audit\",\"time\":1}") ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "event_json.source must be") != NULL);
  CHECK(lifeline_audit_append(log, "{\"source\":\"ivr\",\"time\":1,\"pii\":{\"phone\":5}}") ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "event_json.pii.phone must be a string") != NULL);

  for (i = 0; i < 6; ++i) {
    snprintf(event, sizeof event,
             "{\"source\":\"%s\",\"time\":%lld,\"incidentId\":\"INC-%d\",\"subject\":\"stk-%d\","
             "\"channel\":\"sms\",\"event\":\"DELIVERY_ATTEMPT\",\"status\":\"DELIVERED\","
             "\"providerId\":\"twilio\",\"pii\":{\"phone\":\"+1555000%04d\"}}",
             i % 2 == 0 ? "cascade" : "ivr", 1716215520000LL + i * 1000LL, i % 2, i, i);
    CHECK(lifeline_audit_append(log, event) == LIFELINE_OK);
  }
  CHECK(lifeline_audit_append_batch(log, "[{\"source\":\"failover\",\"time\":1716215530000,"
                                         "\"event\":\"FAILOVER\",\"incidentId\":\"INC-0\"},"
                                         "{\"source\":\"ivr\",\"time\":1716215531000,"
                                         "\"event\":\"CALLBACK_CAPTURED\",\"incidentId\":\"INC-0\","
                                         "\"pii\":{\"phone\":\"+15550009999\"}}]") == LIFELINE_OK);
  CHECK(lifeline_audit_append_batch(log, "[{\"source\":\"ivr\",\"time\":1},{\"time\":2}]") ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "events_json[1].source is required") != NULL);

  CHECK(lifeline_audit_head(log, &seq, hash, sizeof hash) == LIFELINE_OK);
  CHECK(seq == 8);
  CHECK(strlen(hash) == 64);
  CHECK(lifeline_audit_head(log, &seq, hash, 10) == LIFELINE_E_BUFFER_TOO_SMALL);

  CHECK(lifeline_audit_verify(log, &finding, &seq, report, sizeof report) == LIFELINE_OK);
  CHECK(finding == LIFELINE_AUDIT_OK);
  CHECK(seq == 0);
  CHECK(strstr(report, "\"ok\":true") != NULL);
  CHECK(strstr(report, "\"records\":8") != NULL);
  CHECK(lifeline_audit_verify(log, &finding, &seq, report, 8) == LIFELINE_E_BUFFER_TOO_SMALL);
  CHECK(lifeline_audit_verify(log, NULL, &seq, NULL, 0) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_audit_verify(log, &finding, &seq, NULL, 0) == LIFELINE_OK);

  /* The raw store holds no phone number in clear. */
  snprintf(path, sizeof path, "%s/audit.log", dir);
  CHECK(!file_contains(path, "+15550000003"));
  CHECK(!file_contains(path, "+15550009999"));
  CHECK(file_contains(path, "\"subject\":\"stk-3\""));  /* configured plain */

  /* Exports. */
  snprintf(out_path, sizeof out_path, "%s/export.jsonl", dir);
  CHECK(lifeline_audit_export(log, "{\"incidentId\":\"INC-0\"}", NULL, NULL, 1716215540000LL,
                              out_path, &records) == LIFELINE_OK);
  CHECK(records == 5);
  CHECK(!file_contains(out_path, "+15550009999"));
  CHECK(lifeline_audit_export(log, "{\"incidentId\":\"INC-0\"}", "compliance_officer", "co-secret",
                              1716215540000LL, out_path, &records) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "no credential verifier is configured") != NULL);
  CHECK(lifeline_audit_set_credential_verifier(log, officer_only, NULL) == LIFELINE_OK);
  CHECK(lifeline_audit_export(log, "{\"incidentId\":\"INC-0\"}", "compliance_officer", "wrong",
                              1716215540000LL, out_path, &records) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "was not accepted") != NULL);
  CHECK(lifeline_audit_export(log, "{\"incidentId\":\"INC-0\"}", "compliance_officer", "co-secret",
                              1716215540000LL, out_path, &records) == LIFELINE_OK);
  CHECK(file_contains(out_path, "+15550009999"));
  CHECK(lifeline_audit_export(log, "{\"from\":\"yesterday\"}", NULL, NULL, 0, out_path, NULL) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "filter_json.from must be an integer") != NULL);
  CHECK(lifeline_audit_verify_export(out_path, config, audit_test_keys, NULL, &finding, &seq, NULL, 0) ==
        LIFELINE_OK);
  CHECK(finding == LIFELINE_AUDIT_OK);

  CHECK(lifeline_audit_archive(log, 1716215520000LL + 181LL * 86400000LL, &archived) == LIFELINE_OK);
  CHECK(archived >= 8);
  CHECK(lifeline_audit_verify(log, &finding, &seq, NULL, 0) == LIFELINE_OK);
  CHECK(finding == LIFELINE_AUDIT_OK);
  CHECK(lifeline_audit_close(log) == LIFELINE_OK);
  CHECK(lifeline_audit_append(log, "{\"source\":\"ivr\",\"time\":1}") == LIFELINE_E_STATE);
  lifeline_audit_free(log);
  lifeline_audit_free(NULL);

  /* A second handle, then tampering seen from a closed log. */
  CHECK(lifeline_audit_open(config, audit_test_keys, NULL, &log) == LIFELINE_OK);
  CHECK(lifeline_audit_append(log, "{\"source\":\"ivr\",\"time\":1716215600000,\"event\":\"X\"}") ==
        LIFELINE_OK);
  CHECK(lifeline_audit_append(log, "{\"source\":\"ivr\",\"time\":1716215600001,\"event\":\"Y\"}") ==
        LIFELINE_OK);
  lifeline_audit_free(log);
  CHECK(file_size(path) > 100);
  flip(path, 30);
  CHECK(lifeline_audit_verify_dir(config, audit_test_keys, NULL, &finding, &seq, report, sizeof report) ==
        LIFELINE_OK);
  CHECK(finding == LIFELINE_AUDIT_EDITED);
  CHECK(strcmp(lifeline_audit_finding_str(finding), "edited") == 0);
  CHECK(strstr(report, "\"kind\":\"edited\"") != NULL);
  CHECK(seq > 0);
  CHECK(strcmp(lifeline_audit_finding_str((lifeline_audit_finding)42), "unknown") == 0);

  snprintf(config, sizeof config,
           "{\"dir\":\"%s/nope\",\"keys\":{\"provider\":\"env\",\"data_key_id\":\"k1\","
           "\"pseudonym_key_id\":\"p1\",\"checkpoint_key_id\":\"c1\"}}",
           dir);
  CHECK(lifeline_audit_verify_dir(config, NULL, NULL, &finding, &seq, NULL, 0) ==
        LIFELINE_E_NOT_FOUND);
  CHECK(lifeline_audit_verify_dir(config, audit_test_keys, NULL, &finding, &seq, NULL, 0) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "key_callback must be NULL") != NULL);
  return C_TEST_RESULT();
}
