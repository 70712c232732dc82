/* The notification cascade C ABI, from plain C99: trigger, take the outbound
 * JSON (with a too-small buffer first), a receipt, an acknowledgement, the
 * state JSON, events, and the argument checks. */
#include <stdio.h>
#include <string.h>

#include "c_test.h"
#include "lifeline/lifeline.h"

static const char* kDirectory =
    "{\"members\": [{\"id\": \"alice\", \"channels\": [\"sms\", \"email\"],"
    " \"addresses\": {\"sms\": \"+12125550101\", \"email\": \"a@example.com\"}},"
    " {\"id\": \"mgr\", \"addresses\": {\"voice\": \"+12125550199\"}}],"
    " \"groups\": [{\"id\": \"ops\", \"members\": [\"alice\"], \"onCallManager\": \"mgr\"}]}";

static const char* kTrigger =
    "{\"incidentId\": \"INC-1\", \"severity\": \"P1\", \"stakeholderGroupId\": \"ops\","
    " \"messageTemplate\": \"Outage at {{site}}\", \"timestamp\": \"2024-05-20T14:32:00Z\","
    " \"variables\": {\"site\": \"DC-East\"}}";

#define T0 1716215520000LL

int main(void) {
  lifeline_cascade_t* c = NULL;
  char small[8];
  char buf[8192];
  size_t needed = 0;
  int duplicate = -1;
  int has = 0;
  int64_t deadline = 0;
  unsigned long long id = 0;
  const char* p = NULL;

  CHECK(lifeline_cascade_new(kDirectory, NULL, T0, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_new("{\"members\": 3}", NULL, T0, &c) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "directory_json: members: expected an array") != NULL);
  CHECK(lifeline_cascade_new(kDirectory, "{\"retry\": {\"bogus\": 1}}", T0, &c) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "config_json: retry.bogus: unknown configuration key") != NULL);
  CHECK(lifeline_cascade_new(kDirectory, "", T0, &c) == LIFELINE_OK);

  CHECK(lifeline_cascade_trigger(c, "{\"incidentId\": \"x\"}", T0, &duplicate) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "severity: required") != NULL);
  CHECK(lifeline_cascade_trigger(c, kTrigger, T0, &duplicate) == LIFELINE_OK && duplicate == 0);
  CHECK(lifeline_cascade_trigger(c, kTrigger, T0 + 1, &duplicate) == LIFELINE_OK && duplicate == 1);

  /* Too small: nothing is lost, the same JSON comes back next time. */
  CHECK(lifeline_cascade_take_outbound(c, T0, small, sizeof small, &needed) == LIFELINE_E_BUFFER_TOO_SMALL);
  CHECK(needed > sizeof small);
  CHECK(lifeline_cascade_take_outbound(c, T0, buf, sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strstr(buf, "\"channel\":\"sms\"") != NULL);
  CHECK(strstr(buf, "\"text\":\"Outage at DC-East\"") != NULL);
  p = strstr(buf, "\"messageId\":");
  CHECK(p != NULL && sscanf(p, "\"messageId\":%llu", &id) == 1);
  CHECK(lifeline_cascade_take_outbound(c, T0, buf, sizeof buf, NULL) == LIFELINE_OK && strcmp(buf, "[]") == 0);

  CHECK(lifeline_cascade_on_send_result(c, id, LIFELINE_SEND_ACCEPTED, "SM1", 0, T0) == LIFELINE_OK);
  CHECK(lifeline_cascade_on_send_result(c, id, (lifeline_send_result)9, NULL, 0, T0) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_on_send_result(c, 999999, LIFELINE_SEND_ACCEPTED, NULL, 0, T0) == LIFELINE_E_NOT_FOUND);
  CHECK(lifeline_cascade_next_deadline(c, &deadline, &has) == LIFELINE_OK && has == 1 && deadline == T0 + 120000);
  CHECK(lifeline_cascade_on_provider_receipt(c, "SM1", LIFELINE_ATTEMPT_DELIVERED, T0 + 2000) == LIFELINE_OK);
  CHECK(lifeline_cascade_on_receipt(c, id, LIFELINE_ATTEMPT_TIMEOUT, T0) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_next_deadline(c, &deadline, &has) == LIFELINE_OK && deadline == T0 + 92000);
  CHECK(lifeline_cascade_on_timer(c, T0 + 92000) == LIFELINE_OK);
  CHECK(lifeline_cascade_take_outbound(c, T0 + 92000, buf, sizeof buf, NULL) == LIFELINE_OK);
  CHECK(strstr(buf, "\"channel\":\"email\"") != NULL);

  CHECK(lifeline_cascade_acknowledge(c, "INC-1", "alice", T0 + 95000) == LIFELINE_OK);
  CHECK(lifeline_cascade_acknowledge(c, "INC-1", "bob", T0 + 95000) == LIFELINE_E_NOT_FOUND);
  CHECK(lifeline_cascade_state_json(c, "INC-1", buf, sizeof buf, NULL) == LIFELINE_OK);
  CHECK(strstr(buf, "\"status\":\"SATISFIED\"") != NULL);
  CHECK(strstr(buf, "\"acknowledged\":true") != NULL);
  CHECK(strstr(buf, "\"lastAttemptedChannel\":\"email\"") != NULL);
  CHECK(lifeline_cascade_state_json(c, "nope", buf, sizeof buf, NULL) == LIFELINE_E_NOT_FOUND);

  CHECK(lifeline_cascade_take_events(c, buf, sizeof buf, NULL) == LIFELINE_OK);
  CHECK(strstr(buf, "\"type\":\"CASCADE_STARTED\"") != NULL);
  CHECK(strstr(buf, "\"type\":\"HOLD_EXPIRED\"") != NULL);
  CHECK(strstr(buf, "\"type\":\"GROUP_ACKNOWLEDGED\"") != NULL);
  CHECK(strstr(buf, "+1212") == NULL); /* no addresses in events */
  CHECK(lifeline_cascade_take_events(c, buf, sizeof buf, NULL) == LIFELINE_OK && strcmp(buf, "[]") == 0);

  CHECK(lifeline_cascade_close(c, "INC-1", T0 + 100000) == LIFELINE_OK);
  CHECK(lifeline_cascade_close(NULL, "INC-1", T0) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_close(c, NULL, T0) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_close(c, "\xff\xfe", T0) == LIFELINE_E_INVALID_ARGUMENT);
  lifeline_cascade_free(c);
  lifeline_cascade_free(NULL);
  return C_TEST_RESULT();
}
