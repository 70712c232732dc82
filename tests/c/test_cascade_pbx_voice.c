/* Cascade voice through the host's PBX, from plain C99: a C
 * lifeline_voice_originator (the fake PBX) records each lifeline_voice_call
 * (copying its strings, which live only during the call) and answers as
 * told; the host reports outcomes with lifeline_cascade_runtime_voice_result.
 * A manual clock drives everything. Covers the request fields, digit 1
 * acknowledging, trunks busy (retried after the retry-after), unroutable,
 * no answer, a result reported from inside the originator, settle refused
 * there, removal of the originator, and every argument check. SMS goes to a
 * loopback port where nothing listens (it fails fast). */
#include <stdio.h>
#include <string.h>

#include "c_test.h"
#include "lifeline/lifeline.h"

#define T0 1716215520000LL
#define MAX_CALLS 16

static const char* kConfig =
    "{\"directory\": {\"members\": ["
    "   {\"id\": \"alice\", \"channels\": [\"voice\", \"sms\"],"
    "    \"addresses\": {\"voice\": \"+12125550101\", \"sms\": \"+12125550111\"}},"
    "   {\"id\": \"bob\", \"channels\": [\"voice\"], \"addresses\": {\"voice\": \"+12125550102\"}},"
    "   {\"id\": \"carol\", \"channels\": [\"voice\"], \"addresses\": {\"voice\": \"+12125550103\"}},"
    "   {\"id\": \"dave\", \"channels\": [\"voice\"], \"addresses\": {\"voice\": \"+12125550104\"}}],"
    "  \"groups\": [{\"id\": \"g-alice\", \"members\": [\"alice\"]}, {\"id\": \"g-bob\", \"members\": [\"bob\"]},"
    "              {\"id\": \"g-carol\", \"members\": [\"carol\"]}, {\"id\": \"g-dave\", \"members\": [\"dave\"]}]},"
    " \"channels\": {\"twilio\": {\"base_url\": \"http://127.0.0.1:9\", \"account_sid\": \"AC1\","
    "   \"auth_token\": \"tok\", \"from\": \"+15550000000\", \"timeout_ms\": 2000},"
    "   \"voice\": {\"via\": \"pbx\", \"caller_id\": \"+15550001111\", \"media_id\": \"bcp-intro\","
    "              \"ring_timeout_ms\": 25000}}}";

static const char* kTwilioVoiceConfig =
    "{\"directory\": {\"members\": [], \"groups\": []},"
    " \"channels\": {\"twilio\": {\"base_url\": \"http://127.0.0.1:9\", \"account_sid\": \"AC1\","
    "   \"auth_token\": \"tok\", \"from\": \"+15550000000\"}}}";

/* What the fake PBX saw and how it answers. */
typedef struct fake_pbx {
  int calls;
  uint64_t message_id[MAX_CALLS];
  char destination[MAX_CALLS][32];
  /* The last call, in full. */
  lifeline_voice_call last;
  char incident_id[32], member_id[32], caller_id[32], prompt_text[128], media_id[32], gather[64];
  /* The answer. */
  lifeline_status answer;
  int64_t retry_after_ms;
  /* Report ANSWERED "1" from inside the originator (and try to settle). */
  int report_inside;
  lifeline_cascade_runtime_t* rt;
  lifeline_status inside_result;
  lifeline_status inside_settle;
} fake_pbx;

static void copy(char* out, size_t cap, const char* in) {
  strncpy(out, in, cap - 1);
  out[cap - 1] = '\0';
}

static lifeline_status originate(const lifeline_voice_call* call, int64_t* out_retry_after_ms,
                                 void* user_data) {
  fake_pbx* pbx = (fake_pbx*)user_data;
  if (pbx->calls < MAX_CALLS) {
    pbx->message_id[pbx->calls] = call->message_id;
    copy(pbx->destination[pbx->calls], sizeof pbx->destination[0], call->destination);
  }
  ++pbx->calls;
  pbx->last = *call; /* the pointers die with the call: copy the strings */
  copy(pbx->incident_id, sizeof pbx->incident_id, call->incident_id);
  copy(pbx->member_id, sizeof pbx->member_id, call->member_id);
  copy(pbx->caller_id, sizeof pbx->caller_id, call->caller_id);
  copy(pbx->prompt_text, sizeof pbx->prompt_text, call->prompt_text);
  copy(pbx->media_id, sizeof pbx->media_id, call->media_id);
  copy(pbx->gather, sizeof pbx->gather, call->gather_prompt_text);
  if (*out_retry_after_ms != 0) return LIFELINE_E_INTERNAL; /* must be 0 on entry */
  if (pbx->report_inside) {
    pbx->inside_settle = lifeline_cascade_runtime_settle(pbx->rt, 1000);
    pbx->inside_result =
        lifeline_cascade_runtime_voice_result(pbx->rt, call->message_id, LIFELINE_VOICE_ANSWERED, "1");
  }
  if (pbx->answer == LIFELINE_E_RATE_LIMITED) *out_retry_after_ms = pbx->retry_after_ms;
  return pbx->answer;
}

static void trigger(lifeline_cascade_runtime_t* rt, const char* incident, const char* group) {
  char json[512];
  snprintf(json, sizeof json,
           "{\"incidentId\": \"%s\", \"severity\": \"P1\", \"stakeholderGroupId\": \"%s\","
           " \"messageTemplate\": \"Outage at DC-East\", \"timestamp\": \"2024-05-20T14:32:00Z\"}",
           incident, group);
  CHECK(lifeline_cascade_runtime_trigger(rt, json, NULL, 0, NULL) == LIFELINE_OK);
}

static char state[65536];

static const char* state_of(lifeline_cascade_runtime_t* rt, const char* incident) {
  state[0] = '\0';
  CHECK(lifeline_cascade_runtime_state_json(rt, incident, state, sizeof state, NULL) == LIFELINE_OK);
  return state;
}

int main(void) {
  lifeline_clock_t* clock = NULL;
  lifeline_cascade_runtime_t* rt = NULL;
  lifeline_cascade_runtime_t* twilio_rt = NULL;
  static fake_pbx pbx;
  static char buf[65536];
  const char bad_utf8[] = {'1', (char)0xC3, 0};
  uint64_t id;

  CHECK(lifeline_clock_new_manual(T0, &clock) == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_open_with_clock(kConfig, clock, &rt) == LIFELINE_OK);
  pbx.rt = rt;
  pbx.answer = LIFELINE_OK;

  /* The setter's checks; a runtime whose voice is Twilio's refuses it. */
  CHECK(lifeline_cascade_runtime_set_voice_originator(NULL, originate, &pbx) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "rt must not be NULL") != NULL);
  CHECK(lifeline_cascade_runtime_open_with_clock(kTwilioVoiceConfig, clock, &twilio_rt) == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_set_voice_originator(twilio_rt, originate, &pbx) == LIFELINE_E_STATE);
  CHECK(strcmp(lifeline_last_error(),
               "lifeline_cascade_runtime_set_voice_originator: no PBX voice channel is configured "
               "(channels.voice.via is not \"pbx\")") == 0);
  CHECK(lifeline_cascade_runtime_voice_result(twilio_rt, 1, LIFELINE_VOICE_ANSWERED, "1") == LIFELINE_E_STATE);
  lifeline_cascade_runtime_close(twilio_rt);
  CHECK(lifeline_cascade_runtime_set_voice_originator(rt, originate, &pbx) == LIFELINE_OK);

  /* 1. The call and its fields; digit 1 acknowledges. */
  trigger(rt, "INC-1", "g-alice");
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(pbx.calls == 1);
  id = pbx.message_id[0];
  CHECK(id != 0);
  CHECK(pbx.last.version == LIFELINE_VOICE_CALL_VERSION);
  CHECK(pbx.last.message_id == id);
  CHECK(strcmp(pbx.destination[0], "+12125550101") == 0);
  CHECK(strcmp(pbx.incident_id, "INC-1") == 0);
  CHECK(strcmp(pbx.member_id, "alice") == 0);
  CHECK(strcmp(pbx.caller_id, "+15550001111") == 0);
  CHECK(strcmp(pbx.prompt_text, "Outage at DC-East") == 0);
  CHECK(strcmp(pbx.media_id, "bcp-intro") == 0);
  CHECK(strcmp(pbx.gather, "Press 1 to acknowledge.") == 0);
  CHECK(pbx.last.ack_digit == '1');
  CHECK(pbx.last.max_digits == 1);
  CHECK(pbx.last.digit_timeout_ms == 10000);
  CHECK(pbx.last.ring_timeout_ms == 25000);
  CHECK(pbx.last.severity == 1);
  CHECK(pbx.last.escalation == 0);

  /* voice_result's checks. */
  CHECK(lifeline_cascade_runtime_voice_result(NULL, id, LIFELINE_VOICE_ANSWERED, "1") ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_voice_result(rt, id, -1, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strcmp(lifeline_last_error(),
               "lifeline_cascade_runtime_voice_result: result_kind must be 0 (LIFELINE_VOICE_ANSWERED) .. "
               "4 (LIFELINE_VOICE_FAILED)") == 0);
  CHECK(lifeline_cascade_runtime_voice_result(rt, id, 5, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_cascade_runtime_voice_result(rt, id, LIFELINE_VOICE_ANSWERED, "1x") ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strcmp(lifeline_last_error(),
               "lifeline_cascade_runtime_voice_result: digits: key 1 is not DTMF (0-9, *, #, A-D)") == 0);
  CHECK(lifeline_cascade_runtime_voice_result(rt, id, LIFELINE_VOICE_ANSWERED, "12345678901234567") ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "digits: at most 16 keys") != NULL);
  CHECK(lifeline_cascade_runtime_voice_result(rt, id, LIFELINE_VOICE_ANSWERED, bad_utf8) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "digits is not valid UTF-8") != NULL);
  CHECK(lifeline_cascade_runtime_voice_result(rt, id, LIFELINE_VOICE_BUSY, "1") == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "digits: only an answered call has digits") != NULL);
  CHECK(lifeline_cascade_runtime_voice_result(rt, id + 1000, LIFELINE_VOICE_ANSWERED, "1") ==
        LIFELINE_E_NOT_FOUND);
  CHECK(strcmp(lifeline_last_error(), "lifeline_cascade_runtime_voice_result: message_id: unknown message") == 0);
  CHECK(lifeline_cascade_runtime_voice_result(rt, 0, LIFELINE_VOICE_NO_ANSWER, NULL) == LIFELINE_E_NOT_FOUND);
  /* Nothing of the number in any message. */
  CHECK(strstr(lifeline_last_error(), "555") == NULL);
  CHECK(strstr(state_of(rt, "INC-1"), "\"status\":\"ACKNOWLEDGED\"") == NULL);

  CHECK(lifeline_cascade_runtime_voice_result(rt, id, LIFELINE_VOICE_ANSWERED, "1") == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(strstr(state_of(rt, "INC-1"), "\"acknowledgedCount\":1") != NULL);
  CHECK(strstr(state, "\"memberId\":\"alice\",\"currentStep\":0,\"lastAttemptedChannel\":\"voice\"") != NULL);
  CHECK(strstr(state, "\"channel\":\"voice\",\"status\":\"ACKNOWLEDGED\"") != NULL);
  CHECK(strstr(state, "\"channel\":\"sms\"") == NULL);
  /* A duplicate is fine and changes nothing. */
  CHECK(lifeline_cascade_runtime_voice_result(rt, id, LIFELINE_VOICE_ANSWERED, "1") == LIFELINE_OK);

  /* 2. Trunks busy: the same call is offered again after the retry-after;
   *    then no answer (NULL digits) fails the attempt, a retry follows. */
  pbx.answer = LIFELINE_E_RATE_LIMITED;
  pbx.retry_after_ms = 3000;
  trigger(rt, "INC-2", "g-bob");
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(pbx.calls == 2);
  CHECK(strcmp(pbx.destination[1], "+12125550102") == 0);
  CHECK(strstr(state_of(rt, "INC-2"), "\"channel\":\"voice\",\"status\":\"QUEUED\"") != NULL);
  pbx.answer = LIFELINE_OK;
  CHECK(lifeline_clock_advance(clock, 2999) == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(pbx.calls == 2);
  CHECK(lifeline_clock_advance(clock, 1) == LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(pbx.calls == 3);
  CHECK(pbx.message_id[2] == pbx.message_id[1]);
  CHECK(lifeline_cascade_runtime_voice_result(rt, pbx.message_id[2], LIFELINE_VOICE_NO_ANSWER, NULL) ==
        LIFELINE_OK);
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(strstr(state_of(rt, "INC-2"), "\"channel\":\"voice\",\"status\":\"FAILED\"") != NULL);
  CHECK(strstr(state, "\"nextEscalationTimestamp\":1716215538000") != NULL); /* T0 + 3 s + 15 s */

  /* 3. Unroutable (LIFELINE_E_NOT_FOUND at once): UNREACHABLE, no retry. */
  pbx.answer = LIFELINE_E_NOT_FOUND;
  trigger(rt, "INC-3", "g-carol");
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(pbx.calls == 4);
  CHECK(strstr(state_of(rt, "INC-3"), "\"channel\":\"voice\",\"status\":\"UNREACHABLE\"") != NULL);
  CHECK(strstr(state, "\"status\":\"ESCALATED\"") != NULL); /* no channel left (no manager either) */

  /* 4. A PBX that reports from inside the originator; settle is refused
   *    there rather than waiting for itself. */
  pbx.answer = LIFELINE_OK;
  pbx.report_inside = 1;
  pbx.inside_result = LIFELINE_E_INTERNAL;
  pbx.inside_settle = LIFELINE_OK;
  trigger(rt, "INC-4", "g-dave");
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(pbx.calls == 5);
  CHECK(pbx.inside_result == LIFELINE_OK);
  CHECK(pbx.inside_settle == LIFELINE_E_STATE);
  CHECK(strstr(state_of(rt, "INC-4"), "\"acknowledgedCount\":1") != NULL);
  pbx.report_inside = 0;

  /* 5. Removed: calls fail without reaching the PBX. */
  CHECK(lifeline_cascade_runtime_set_voice_originator(rt, NULL, NULL) == LIFELINE_OK);
  trigger(rt, "INC-5", "g-alice");
  CHECK(lifeline_cascade_runtime_settle(rt, 30000) == LIFELINE_OK);
  CHECK(pbx.calls == 5);
  CHECK(strstr(state_of(rt, "INC-5"), "\"channel\":\"voice\",\"status\":\"FAILED\"") != NULL);

  CHECK(lifeline_cascade_runtime_metrics_json(rt, buf, sizeof buf, NULL) == LIFELINE_OK);
  CHECK(strstr(buf, "\"voice\":{\"sent\":6,\"accepted\":3,\"throttled\":1,\"failed\":2}") != NULL);
  CHECK(strstr(buf, "\"voice_results\":4") != NULL);

  lifeline_cascade_runtime_close(rt);
  lifeline_clock_free(clock);
  return C_TEST_RESULT();
}
