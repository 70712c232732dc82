/* The call flow's backstop timer from plain C99: a caller whose PBX never
 * reports the end of the emergency message is still led to a polite hangup
 * by lifeline_call_next_deadline / lifeline_call_on_timer on a manual clock;
 * plus the argument checks. Nothing listens on the webhook port: no
 * callback is submitted here. */
#include <string.h>

#include "c_test.h"
#include "lifeline/lifeline.h"

#define T0 1716215520000LL

int main(void) {
  lifeline_clock_t* clock = NULL;
  lifeline_engine_t* engine = NULL;
  lifeline_call_t* call = NULL;
  lifeline_action action;
  int entry = -1, has = -1, outcome = -2, steps = 0;
  int64_t deadline = 0;

  CHECK(lifeline_clock_new_manual(T0, &clock) == LIFELINE_OK);
  CHECK(lifeline_engine_open_with_clock(
            "{\"platform\": \"webhook\", \"webhook\": {\"url\": \"http://127.0.0.1:9/cb\"}}", clock,
            &engine) == LIFELINE_OK);
  CHECK(lifeline_failover_set(engine, LIFELINE_MODE_FAILOVER, "drill", 0) == LIFELINE_OK);
  CHECK(lifeline_call_begin(engine, "{\"callId\": \"c-1\", \"ani\": \"+12125550100\"}", &entry, &call,
                            &action) == LIFELINE_OK);
  CHECK(entry == LIFELINE_ENTRY_FAILOVER);
  CHECK(action.kind == LIFELINE_ACTION_PLAY);

  /* Argument checks. */
  CHECK(lifeline_call_next_deadline(NULL, &deadline, &has) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "call must not be NULL") != NULL);
  CHECK(lifeline_call_next_deadline(call, NULL, &has) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_call_next_deadline(call, &deadline, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_call_on_timer(NULL, &action) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_call_on_timer(call, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "out_action must not be NULL") != NULL);

  /* The deadline is the playback timeout plus the grace; early is a no-op. */
  CHECK(lifeline_call_next_deadline(call, &deadline, &has) == LIFELINE_OK);
  CHECK(has == 1);
  CHECK(deadline == T0 + action.timeout_ms + 1000);
  CHECK(lifeline_call_on_timer(call, &action) == LIFELINE_OK);
  CHECK(action.kind == LIFELINE_ACTION_NONE);

  /* The PBX stays silent: the flow's timers alone end the call. */
  while (action.kind != LIFELINE_ACTION_HANGUP && steps++ < 10) {
    CHECK(lifeline_call_next_deadline(call, &deadline, &has) == LIFELINE_OK);
    CHECK(has == 1);
    CHECK(lifeline_clock_set(clock, deadline) == LIFELINE_OK);
    CHECK(lifeline_call_on_timer(call, &action) == LIFELINE_OK);
    CHECK(action.kind != LIFELINE_ACTION_NONE);
  }
  CHECK(action.kind == LIFELINE_ACTION_HANGUP);
  CHECK(action.tone == LIFELINE_TONE_POLITE);
  CHECK(lifeline_call_outcome(call, &outcome) == LIFELINE_OK);
  CHECK(outcome == LIFELINE_OUTCOME_TIMEOUT);
  has = -1;
  CHECK(lifeline_call_next_deadline(call, &deadline, &has) == LIFELINE_OK);
  CHECK(has == 0);
  CHECK(lifeline_call_on_timer(call, &action) == LIFELINE_OK);  /* after the end: harmless */
  CHECK(action.kind == LIFELINE_ACTION_NONE);

  lifeline_call_end(call);
  lifeline_engine_close(engine);
  lifeline_clock_free(clock);
  return C_TEST_RESULT();
}
