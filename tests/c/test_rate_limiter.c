/* The rate limiters from plain C99: exact grants and retry_in, pauses, a
 * full key table, and argument checks. */
#include <string.h>

#include "c_test.h"
#include "lifeline/lifeline.h"

static int contains(const char* haystack, const char* needle) {
  return strstr(haystack, needle) != NULL;
}

static void test_single(void) {
  lifeline_rate_limiter_t* rl = NULL;
  int allowed = -1;
  int64_t retry_in = -1;
  int i;

  CHECK(lifeline_rate_limiter_new(3, 1000, &rl) == LIFELINE_OK);
  for (i = 0; i < 3; ++i) {
    CHECK(lifeline_rate_limiter_try_acquire(rl, 0, &allowed, &retry_in) == LIFELINE_OK);
    CHECK(allowed == 1 && retry_in == 0);
  }
  CHECK(lifeline_rate_limiter_try_acquire(rl, 250, &allowed, &retry_in) == LIFELINE_OK);
  CHECK(allowed == 0 && retry_in == 750);
  CHECK(lifeline_rate_limiter_try_acquire(rl, 999, &allowed, &retry_in) == LIFELINE_OK);
  CHECK(allowed == 0 && retry_in == 1);
  CHECK(lifeline_rate_limiter_try_acquire(rl, 1000, &allowed, &retry_in) == LIFELINE_OK);
  CHECK(allowed == 1 && retry_in == 0);

  /* A 429 with Retry-After: 5 s at t = 1000. */
  CHECK(lifeline_rate_limiter_pause_until(rl, 6000) == LIFELINE_OK);
  CHECK(lifeline_rate_limiter_try_acquire(rl, 1500, &allowed, &retry_in) == LIFELINE_OK);
  CHECK(allowed == 0 && retry_in == 4500);
  CHECK(lifeline_rate_limiter_try_acquire(rl, 6000, &allowed, &retry_in) == LIFELINE_OK);
  CHECK(allowed == 1);

  CHECK(lifeline_rate_limiter_try_acquire(rl, 0, NULL, &retry_in) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "out_allowed must not be NULL"));
  CHECK(lifeline_rate_limiter_try_acquire(rl, 0, &allowed, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_rate_limiter_try_acquire(NULL, 0, &allowed, &retry_in) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_rate_limiter_pause_until(NULL, 0) == LIFELINE_E_INVALID_ARGUMENT);
  lifeline_rate_limiter_free(rl);
  lifeline_rate_limiter_free(NULL);

  rl = NULL;
  CHECK(lifeline_rate_limiter_new(0, 1000, &rl) == LIFELINE_E_INVALID_ARGUMENT && rl == NULL);
  CHECK(contains(lifeline_last_error(), "lifeline_rate_limiter_new: requests must be >= 1"));
  CHECK(lifeline_rate_limiter_new(5, 0, &rl) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "period_ms must be >= 1"));
  CHECK(lifeline_rate_limiter_new(5, 1000, NULL) == LIFELINE_E_INVALID_ARGUMENT);
}

static void test_keyed(void) {
  lifeline_keyed_rate_limiter_t* k = NULL;
  int allowed = -1;
  int64_t retry_in = -1;
  size_t size = 99;

  CHECK(lifeline_keyed_rate_limiter_new(1, 1000, 2, &k) == LIFELINE_OK);
  CHECK(lifeline_keyed_rate_limiter_try_acquire(k, "carrier-a", 0, &allowed, &retry_in) ==
            LIFELINE_OK &&
        allowed == 1);
  CHECK(lifeline_keyed_rate_limiter_try_acquire(k, "carrier-b", 0, &allowed, &retry_in) ==
            LIFELINE_OK &&
        allowed == 1);
  CHECK(lifeline_keyed_rate_limiter_try_acquire(k, "carrier-a", 400, &allowed, &retry_in) ==
            LIFELINE_OK &&
        allowed == 0 && retry_in == 600);
  CHECK(lifeline_keyed_rate_limiter_size(k, &size) == LIFELINE_OK && size == 2);
  CHECK(lifeline_keyed_rate_limiter_try_acquire(k, "carrier-c", 500, &allowed, &retry_in) ==
        LIFELINE_E_FULL);
  CHECK(contains(lifeline_last_error(), "max_keys (2)"));
  CHECK(lifeline_keyed_rate_limiter_try_acquire(k, "carrier-c", 1000, &allowed, &retry_in) ==
            LIFELINE_OK &&
        allowed == 1);
  CHECK(lifeline_keyed_rate_limiter_pause_until(k, "carrier-c", 9000) == LIFELINE_OK);
  CHECK(lifeline_keyed_rate_limiter_try_acquire(k, "carrier-c", 2000, &allowed, &retry_in) ==
            LIFELINE_OK &&
        allowed == 0 && retry_in == 7000);

  CHECK(lifeline_keyed_rate_limiter_try_acquire(k, "", 0, &allowed, &retry_in) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "key must not be empty"));
  CHECK(lifeline_keyed_rate_limiter_try_acquire(k, NULL, 0, &allowed, &retry_in) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "key must not be NULL"));
  CHECK(lifeline_keyed_rate_limiter_try_acquire(k, "\xc3(", 0, &allowed, &retry_in) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "key is not valid UTF-8"));
  CHECK(lifeline_keyed_rate_limiter_pause_until(k, NULL, 0) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_keyed_rate_limiter_size(k, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  lifeline_keyed_rate_limiter_free(k);
  lifeline_keyed_rate_limiter_free(NULL);

  k = NULL;
  CHECK(lifeline_keyed_rate_limiter_new(1, 1000, 0, &k) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "max_keys must be >= 1"));
  CHECK(k == NULL);
}

int main(void) {
  test_single();
  test_keyed();
  return C_TEST_RESULT();
}
