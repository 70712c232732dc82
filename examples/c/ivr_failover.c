/* ivr_failover.c -- a PBX integration loop over the Lifeline C ABI.
 *
 * A real PBX calls lifeline_call_begin when a call arrives and then reports
 * what its media layer did (prompt finished, digits, timeouts, hangup); each
 * call returns the next thing to do. This example plays the PBX's part with
 * a script of three callers and prints what a PBX would do. It needs no
 * network: callbacks wait in the (in-memory) outbox, addressed to a webhook
 * nobody answers, and stay there when the engine closes.
 *
 *   build/release/examples/c/example_ivr_failover
 */
#include <stdio.h>
#include <string.h>

#include "lifeline/lifeline.h"

static int fail(const char* what) {
  fprintf(stderr, "%s: %s\n", what, lifeline_last_error());
  return 1;
}

static void show(const char* caller, const lifeline_action* a) {
  switch (a->kind) {
    case LIFELINE_ACTION_PLAY:
      printf("  [%s] PBX plays \"%s\" (up to %lld ms)\n", caller, a->media_id, (long long)a->timeout_ms);
      break;
    case LIFELINE_ACTION_COLLECT_DIGITS:
      printf("  [%s] PBX collects up to %d digit(s), %lld ms for the first\n", caller, a->max_digits,
             (long long)a->timeout_ms);
      break;
    case LIFELINE_ACTION_HANGUP:
      printf("  [%s] PBX hangs up (%s tone)\n", caller, a->tone == LIFELINE_TONE_BUSY ? "busy" : "polite");
      break;
    default:
      printf("  [%s] PBX waits\n", caller);
  }
}

/* Runs one caller who answers every digit prompt with `key` ("" = silence). */
static int run_caller(lifeline_engine_t* engine, const char* call_id, const char* ani, const char* key) {
  char json[256];
  int entry = 0, outcome = LIFELINE_OUTCOME_NONE, steps = 0;
  lifeline_call_t* call = NULL;
  lifeline_action action;
  snprintf(json, sizeof json,
           "{\"callId\":\"%s\",\"ani\":\"%s\",\"originalQueueId\":\"q-support\",\"flowName\":\"Main_IVR\"}",
           call_id, ani);
  if (lifeline_call_begin(engine, json, &entry, &call, &action) != LIFELINE_OK) return fail("call_begin");
  if (entry == LIFELINE_ENTRY_NORMAL) {
    printf("  [%s] normal routing\n", call_id);
    return 0;
  }
  if (entry == LIFELINE_ENTRY_REJECT_BUSY) {
    show(call_id, &action);
    return 0;
  }
  show(call_id, &action);
  while (action.kind != LIFELINE_ACTION_HANGUP && steps++ < 20) {
    lifeline_status s;
    if (action.kind == LIFELINE_ACTION_COLLECT_DIGITS) {
      s = key[0] ? lifeline_call_event(call, LIFELINE_EVENT_DIGITS, key, &action)
                 : lifeline_call_event(call, LIFELINE_EVENT_TIMEOUT, NULL, &action);
    } else {
      s = lifeline_call_event(call, LIFELINE_EVENT_PROMPT_FINISHED, NULL, &action);
    }
    if (s != LIFELINE_OK) {
      lifeline_call_end(call); /* releases the media channel on the error path too */
      return fail("call_event");
    }
    show(call_id, &action);
  }
  lifeline_call_outcome(call, &outcome);
  printf("  [%s] outcome: %s\n", call_id, lifeline_call_outcome_str(outcome));
  lifeline_call_end(call);
  return 0;
}

int main(void) {
  lifeline_engine_t* engine = NULL;
  char metrics[4096];
  size_t needed = 0;
  const char* config =
      "{\"platform\":\"webhook\",\"webhook\":{\"url\":\"http://127.0.0.1:9/callbacks\"},"
      "\"outbox\":{\"path\":\":memory:\"},\"failover\":{\"media_channel_capacity\":50}}";
  if (lifeline_engine_open(config, &engine) != LIFELINE_OK) return fail("engine_open");

  printf("Before the outage:\n");
  if (run_caller(engine, "call-1", "+12125550100", "1")) return 1;

  printf("Monitoring reports the outage:\n");
  if (lifeline_failover_set(engine, LIFELINE_MODE_FAILOVER, "monitoring: ACD unreachable", 0) != LIFELINE_OK) {
    return fail("failover_set");
  }
  if (run_caller(engine, "call-2", "(212) 555-0101", "1")) return 1; /* wants a callback */
  if (run_caller(engine, "call-3", "+442079460000", "9")) return 1;  /* presses another key */
  if (run_caller(engine, "call-4", "+12125550102", "")) return 1;    /* says nothing */

  if (lifeline_metrics_json(engine, metrics, sizeof metrics, &needed) != LIFELINE_OK) return fail("metrics");
  printf("Metrics: %s\n", metrics);
  lifeline_engine_close(engine);
  return strstr(metrics, "\"callback_recorded\":1") != NULL ? 0 : 1;
}
