/* The foundation's conventions, from plain C99: version, status strings,
 * last_error, NULL handling, and the clock handle. */
#include <string.h>

#include "c_test.h"
#include "lifeline/lifeline.h"

int main(void) {
  lifeline_clock_t* clock = NULL;
  int64_t now = 0;

  CHECK(strcmp(lifeline_version(), LIFELINE_VERSION_STRING) == 0);
  CHECK(lifeline_version_number() / 10000 == LIFELINE_VERSION_MAJOR);
  CHECK(strcmp(lifeline_status_str(LIFELINE_OK), "ok") == 0);
  CHECK(strcmp(lifeline_status_str((lifeline_status)999), "unknown status") == 0);
  CHECK(lifeline_last_error() != NULL);

  CHECK(lifeline_clock_new_manual(1000, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "out") != NULL);
  CHECK(lifeline_clock_new_manual(1000, &clock) == LIFELINE_OK);
  CHECK(lifeline_clock_advance(clock, 500) == LIFELINE_OK);
  CHECK(lifeline_clock_now(clock, &now) == LIFELINE_OK && now == 1500);
  CHECK(lifeline_clock_advance(clock, -1) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_clock_set(clock, 1400) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_clock_set(clock, 9000) == LIFELINE_OK);
  CHECK(lifeline_clock_now(clock, &now) == LIFELINE_OK && now == 9000);
  CHECK(lifeline_clock_now(NULL, &now) == LIFELINE_E_INVALID_ARGUMENT);
  lifeline_clock_free(clock);
  lifeline_clock_free(NULL);

  CHECK(lifeline_clock_new_system(&clock) == LIFELINE_OK);
  CHECK(lifeline_clock_now(clock, &now) == LIFELINE_OK && now > 1700000000000LL);
  CHECK(lifeline_clock_advance(clock, 1) == LIFELINE_E_STATE);
  lifeline_clock_free(clock);
  return C_TEST_RESULT();
}
