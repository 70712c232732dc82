/* The cascade runtime C ABI, from plain C99: open with a manual clock,
 * trigger (idempotent, too-small buffers), a directory outage flagging
 * stale_contact_data, settle, state/list/metrics JSON, acknowledgement,
 * authenticated HTTP triggers, provider callbacks refused without a valid
 * signature, and the argument checks of every function. Nothing listens on
 * the loopback ports used here: sends and lookups fail fast. */
#include <stdio.h>
#include <string.h>

#include "c_test.h"
#include "lifeline/lifeline.h"

#define T0 1716215520000LL

static const char* kConfig =
    "{\"directory\": {\"members\": ["
    "   {\"id\": \"alice\", \"channels\": [\"sms\"], \"addresses\": {\"sms\": \"+12125550101\"}},"
    "   {\"id\": \"bob\", \"channels\": [\"sms\"], \"addresses\": {\"sms\": \"+12125550102\"}},"
    "   {\"id\": \"mgr\", \"channels\": [\"sms\"], \"addresses\": {\"sms\": \"+12125550199\"}}],"
    "  \"groups\": [{\"id\": \"ops\", \"members\": [\"alice\", \"bob\"], \"onCallManager\": \"mgr\"}]},"
    " \"directory_lookup\": {\"url\": \"http://127.0.0.1:9/contacts\"},"
    " \"cascade\": {\"directory_timeout_ms\": 500},"
    " \"channels\": {\"twilio\": {\"base_url\": \"http://127.0.0.1:9\", \"account_sid\": \"AC1\","
    "   \"auth_token\": \"tok\", \"from\": \"+15550000000\", \"timeout_ms\": 2000}},"
    " \"inbound\": {\"bearer_token\": \"secret-token\"}}";

static const char* kTrigger =
    "{\"incidentId\": \"INC-1\", \"severity\": \"P1\", \"stakeholderGroupId\": \"ops\","
    " \"messageTemplate\": \"Outage\", \"timestamp\": \"2024-05-20T14:32:00Z\"}";

static const char* kTrigger2 =
    "{\"incidentId\": \"INC-2\", \"severity\": \"P2\", \"stakeholderGroupId\": \"ops\","
    " \"messageTemplate\": \"Outage\", \"timestamp\": \"2024-05-20T14:32:00Z\"}";

int main(void) {
  lifeline_clock_t* clock = NULL;
  lifeline_cascade_runtime_t* rt = NULL;
  char small[8];
  static char buf[65536];
  size_t needed = 0;
  const char bad_utf8[] = {'{', '"', (char)0xC3, '"', '}', 0};

  CHECK(lifeline_clock_new_manual(T0, &clock) == LIFELINE_OK);

  /* Opening: argument and configuration checks. */
  CHECK(lifeline_cascade_runtime_open_with_clock(kConfig, clock, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_open_with_clock(kConfig, NULL, &rt) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "clock must not be NULL") != NULL);
  CHECK(lifeline_cascade_runtime_open_with_clock(NULL, clock, &rt) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_open_with_clock(bad_utf8, clock, &rt) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "UTF-8") != NULL);
  CHECK(lifeline_cascade_runtime_open_with_clock("{}", clock, &rt) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "config_json: directory: required") != NULL);
  CHECK(lifeline_cascade_runtime_open_with_clock(
            "{\"directory\": {\"members\": [], \"groups\": []}, \"store\": {\"synchronous\": \"sometimes\"}}",
            clock, &rt) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "store.synchronous") != NULL);
  CHECK(lifeline_cascade_runtime_open_with_clock(
            "{\"directory\": {\"members\": [], \"groups\": []}, \"cascade\": {\"hold_ms\": {\"P9\": 1}}}",
            clock, &rt) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "cascade.hold_ms.P9") != NULL);
  CHECK(rt == NULL);
  CHECK(lifeline_cascade_runtime_open_with_clock(kConfig, clock, &rt) == LIFELINE_OK);
  lifeline_clock_free(clock); /* the runtime keeps its own reference */
  clock = NULL;

  /* Trigger: a too-small buffer still triggers; the retry is a duplicate. */
  CHECK(lifeline_cascade_runtime_trigger(rt, kTrigger, small, sizeof small, &needed) ==
        LIFELINE_E_BUFFER_TOO_SMALL);
  CHECK(needed > sizeof small);
  CHECK(lifeline_cascade_runtime_trigger(rt, kTrigger, buf, sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strncmp(buf, "{\"duplicate\":true,\"incidentId\":\"INC-1\"", 38) == 0);
  CHECK(needed == strlen(buf) + 1);
  /* The directory is down: every record is the cached one, flagged. */
  CHECK(strstr(buf, "\"memberId\":\"alice\"") != NULL);
  CHECK(strstr(buf, "\"staleContactData\":false") == NULL);
  CHECK(strstr(buf, "\"staleContactData\":true") != NULL);
  CHECK(lifeline_cascade_runtime_trigger(rt, "{\"incidentId\": 1}", NULL, 0, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "lifeline_cascade_runtime_trigger: severity: required") != NULL);
  CHECK(lifeline_cascade_runtime_trigger(rt, kTrigger, NULL, 16, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_trigger(NULL, kTrigger, NULL, 0, NULL) == LIFELINE_E_INVALID_ARGUMENT);

  /* Settle: the SMS sends fail (nothing listens) and are retried later. */
  CHECK(lifeline_cascade_runtime_settle(rt, -1) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_state_json(rt, "INC-1", buf, sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strstr(buf, "\"status\":\"FAILED\"") != NULL);
  CHECK(strstr(buf, "\"nextEscalationTimestamp\":1716215535000") != NULL); /* retry after 15 s */
  CHECK(lifeline_cascade_runtime_state_json(rt, "INC-9", buf, sizeof buf, &needed) == LIFELINE_E_NOT_FOUND);
  CHECK(lifeline_cascade_runtime_state_json(rt, "INC-1", small, sizeof small, &needed) ==
        LIFELINE_E_BUFFER_TOO_SMALL);

  /* Acknowledgement through the API. */
  CHECK(lifeline_cascade_runtime_acknowledge(rt, "INC-1", "alice") == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_acknowledge(rt, "INC-1", "zed") == LIFELINE_E_NOT_FOUND);
  CHECK(lifeline_cascade_runtime_acknowledge(rt, "INC-1", NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_state_json(rt, "INC-1", buf, sizeof buf, NULL) == LIFELINE_OK);
  CHECK(strstr(buf, "\"acknowledgedCount\":1") != NULL);

  /* HTTP triggers: bearer token, refused with a clear status. */
  CHECK(lifeline_cascade_runtime_trigger_http(rt, "POST", "https://h/trigger", "{\"Authorization\": \"Bearer nope\"}",
                                              kTrigger2, NULL, 0, NULL) == LIFELINE_E_UNAUTHENTICATED);
  CHECK(strstr(lifeline_last_error(), "trigger authentication failed") != NULL);
  CHECK(strcmp(lifeline_status_str(LIFELINE_E_UNAUTHENTICATED), "unauthenticated") == 0);
  CHECK(lifeline_cascade_runtime_trigger_http(rt, "POST", "https://h/trigger", NULL, kTrigger2, NULL, 0, NULL) ==
        LIFELINE_E_UNAUTHENTICATED);
  CHECK(lifeline_cascade_runtime_trigger_http(rt, "POST", "https://h/trigger", "[1]", kTrigger2, NULL, 0, NULL) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "headers_json") != NULL);
  CHECK(lifeline_cascade_runtime_trigger_http(rt, "POST", "https://h/trigger",
                                              "{\"Authorization\": \"Bearer secret-token\"}", kTrigger2, buf,
                                              sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strncmp(buf, "{\"duplicate\":false,\"incidentId\":\"INC-2\"", 39) == 0);

  /* Provider callbacks. */
  CHECK(lifeline_cascade_runtime_ingest_provider_callback(rt, "twilio", "POST", "https://h/twilio", NULL,
                                                          "MessageSid=SM1&MessageStatus=delivered", NULL, 0,
                                                          NULL) == LIFELINE_E_UNAUTHENTICATED);
  CHECK(lifeline_cascade_runtime_ingest_provider_callback(
            rt, "twilio", "POST", "https://h/twilio", "{\"X-Twilio-Signature\": \"AAAA\"}",
            "From=%2B12125550101&Body=1", NULL, 0, NULL) == LIFELINE_E_UNAUTHENTICATED);
  CHECK(lifeline_cascade_runtime_ingest_provider_callback(rt, "sendgrid", "POST", "https://h/sg", NULL, "{}", NULL,
                                                          0, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "expected a JSON array") != NULL);
  CHECK(lifeline_cascade_runtime_ingest_provider_callback(
            rt, "sendgrid", "POST", "https://h/sg", NULL,
            "[{\"event\": \"delivered\", \"sg_message_id\": \"unknown.1\"}, {\"event\": \"open\"}]", buf,
            sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strcmp(buf, "{\"kind\":\"events\",\"acknowledged\":false,\"applied\":0,\"ignored\":2}") == 0);
  CHECK(lifeline_cascade_runtime_ingest_provider_callback(rt, "pagerduty", "POST", "https://h/x", NULL, "", NULL,
                                                          0, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_ingest_provider_callback(rt, "sendgrid", "GET", "https://h/sg", NULL, "[]", NULL,
                                                          0, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_ingest_provider_callback(rt, "sendgrid", "POST", "https://h/sg", NULL, bad_utf8,
                                                          NULL, 0, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_ack_link(rt, "abc.def", NULL, 0, NULL) == LIFELINE_E_STATE);
  CHECK(lifeline_cascade_runtime_ack_link(rt, NULL, NULL, 0, NULL) == LIFELINE_E_INVALID_ARGUMENT);

  /* Listing, closing, metrics. */
  CHECK(lifeline_cascade_runtime_close_incident(rt, "INC-2") == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_close_incident(rt, "INC-404") == LIFELINE_E_NOT_FOUND);
  CHECK(lifeline_cascade_runtime_list_json(rt, buf, sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strncmp(buf, "[{\"incidentId\":\"INC-1\"", 22) == 0);
  CHECK(strstr(buf, "\"incidentId\":\"INC-2\",\"stakeholderGroupId\":\"ops\",\"severity\":\"P2\",\"status\":\"CLOSED\"") !=
        NULL);
  CHECK(strstr(buf, "\"staleContactCount\":2") != NULL);
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_metrics_json(rt, buf, sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strstr(buf, "\"unauthenticated_requests\":4") != NULL);
  CHECK(strstr(buf, "\"directory_lookups_failed\":2") != NULL);
  CHECK(strstr(buf, "\"triggers\":3") != NULL);
  CHECK(lifeline_cascade_runtime_metrics_prometheus(rt, buf, sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strstr(buf, "lifeline_cascade_unauthenticated_requests_total 4\n") != NULL);
  CHECK(lifeline_cascade_runtime_metrics_json(rt, NULL, 0, &needed) == LIFELINE_E_INVALID_ARGUMENT);

  /* Events for the host: kept across a too-small buffer, then forgotten. */
  CHECK(lifeline_cascade_runtime_take_events(NULL, buf, sizeof buf, &needed) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_take_events(rt, NULL, 16, &needed) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_take_events(rt, small, sizeof small, &needed) == LIFELINE_E_BUFFER_TOO_SMALL);
  CHECK(needed > sizeof small);
  CHECK(lifeline_cascade_runtime_take_events(rt, buf, sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strncmp(buf, "[{\"type\":\"CASCADE_STARTED\",\"at\":1716215520000,\"incidentId\":\"INC-1\"", 66) == 0);
  CHECK(strstr(buf, "\"type\":\"CONTACT_DATA_STALE\"") != NULL);
  CHECK(strstr(buf, "\"type\":\"INCIDENT_CLOSED\",\"at\":1716215520000,\"incidentId\":\"INC-2\"") != NULL);
  CHECK(strstr(buf, "+1212555") == NULL); /* no addresses */
  CHECK(strstr(buf, "\"recovered\":false}") != NULL); /* live events, not re-emitted at an open */
  CHECK(strstr(buf, "\"recovered\":true") == NULL);
  CHECK(lifeline_cascade_runtime_take_events(rt, buf, sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strcmp(buf, "[]") == 0);
  /* Audit: NULL runtime refused; detaching when nothing is attached is fine. */
  CHECK(lifeline_cascade_runtime_set_audit(NULL, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_set_audit(rt, NULL) == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_metrics_json(rt, buf, sizeof buf, &needed) == LIFELINE_OK);
  CHECK(strstr(buf, "\"audit_backlog\":0,\"audit_refusals\":0,\"held_messages\":0") != NULL);
  CHECK(strstr(buf, "\"recovered_events\":0") != NULL); /* a fresh store: nothing re-emitted */

  lifeline_cascade_runtime_close(rt);
  lifeline_cascade_runtime_close(NULL);
  return C_TEST_RESULT();
}
