/* Retry and backoff from plain C99: the policy struct and its _INIT macro,
 * the backoff handle, Retry-After parsing, the classifier and the retry
 * budget, with their argument checks. */
#include <string.h>

#include "c_test.h"
#include "lifeline/lifeline.h"

static int contains(const char* haystack, const char* needle) {
  return strstr(haystack, needle) != NULL;
}

static void test_policy_and_backoff(void) {
  lifeline_retry_policy macro = LIFELINE_RETRY_POLICY_INIT;
  lifeline_retry_policy policy;
  lifeline_backoff_t* b = NULL;
  int64_t delay = -1;
  int give_up = -1;
  int32_t attempts = 0;

  memset(&policy, 0xAB, sizeof policy);
  CHECK(lifeline_retry_policy_init(&policy) == LIFELINE_OK);
  CHECK(policy.version == LIFELINE_RETRY_POLICY_VERSION);
  CHECK(policy.initial_ms == 15000 && policy.multiplier == 2.0 && policy.max_ms == 120000);
  CHECK(policy.max_attempts == 4 && policy.jitter == LIFELINE_JITTER_NONE);
  CHECK(policy.retry_after_cap_ms == 300000);
  CHECK(macro.version == policy.version && macro.initial_ms == policy.initial_ms &&
        macro.multiplier == policy.multiplier && macro.max_ms == policy.max_ms &&
        macro.max_attempts == policy.max_attempts && macro.jitter == policy.jitter &&
        macro.retry_after_cap_ms == policy.retry_after_cap_ms);
  CHECK(lifeline_retry_policy_init(NULL) == LIFELINE_E_INVALID_ARGUMENT);

  /* The seed's policy: 15 s, 30 s, 60 s, then give up. */
  CHECK(lifeline_backoff_new(&policy, 1, &b) == LIFELINE_OK);
  CHECK(lifeline_backoff_attempts_made(b, &attempts) == LIFELINE_OK && attempts == 1);
  CHECK(lifeline_backoff_next(b, -1, &delay, &give_up) == LIFELINE_OK);
  CHECK(delay == 15000 && give_up == LIFELINE_GIVE_UP_NONE);
  /* Retry-After of 45 s is honoured; one of 301 s is above the cap. */
  CHECK(lifeline_backoff_next(b, 301000, &delay, &give_up) == LIFELINE_OK);
  CHECK(delay == 0 && give_up == LIFELINE_GIVE_UP_RETRY_AFTER_TOO_LONG);
  CHECK(lifeline_backoff_next(b, 45000, &delay, &give_up) == LIFELINE_OK);
  CHECK(delay == 45000 && give_up == LIFELINE_GIVE_UP_NONE);
  CHECK(lifeline_backoff_next(b, -1, &delay, &give_up) == LIFELINE_OK);
  CHECK(delay == 60000 && give_up == LIFELINE_GIVE_UP_NONE);
  CHECK(lifeline_backoff_next(b, -1, &delay, &give_up) == LIFELINE_OK);
  CHECK(delay == 0 && give_up == LIFELINE_GIVE_UP_ATTEMPTS_EXHAUSTED);
  CHECK(lifeline_backoff_attempts_made(b, &attempts) == LIFELINE_OK && attempts == 4);
  CHECK(lifeline_backoff_reset(b) == LIFELINE_OK);
  CHECK(lifeline_backoff_attempts_made(b, &attempts) == LIFELINE_OK && attempts == 1);
  CHECK(lifeline_backoff_next(b, -1, &delay, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "out_give_up"));
  CHECK(lifeline_backoff_next(NULL, -1, &delay, &give_up) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_backoff_reset(NULL) == LIFELINE_E_INVALID_ARGUMENT);
  lifeline_backoff_free(b);
  lifeline_backoff_free(NULL);

  /* Full jitter: within [0, ceiling], and equal seeds agree. */
  {
    lifeline_backoff_t* x = NULL;
    lifeline_backoff_t* y = NULL;
    int64_t dx = 0, dy = 0;
    int i;
    policy.jitter = LIFELINE_JITTER_FULL;
    policy.max_attempts = 6;
    CHECK(lifeline_backoff_new(&policy, 99, &x) == LIFELINE_OK);
    CHECK(lifeline_backoff_new(&policy, 99, &y) == LIFELINE_OK);
    for (i = 0; i < 5; ++i) {
      int64_t ceiling = i < 3 ? (int64_t)15000 << i : 120000;
      CHECK(lifeline_backoff_next(x, -1, &dx, &give_up) == LIFELINE_OK && give_up == 0);
      CHECK(lifeline_backoff_next(y, -1, &dy, &give_up) == LIFELINE_OK && give_up == 0);
      CHECK(dx == dy && dx >= 0 && dx <= ceiling);
    }
    lifeline_backoff_free(x);
    lifeline_backoff_free(y);
  }

  /* Validation names the field. */
  CHECK(lifeline_retry_policy_init(&policy) == LIFELINE_OK);
  policy.multiplier = 0.5;
  b = NULL;
  CHECK(lifeline_backoff_new(&policy, 1, &b) == LIFELINE_E_INVALID_ARGUMENT && b == NULL);
  CHECK(contains(lifeline_last_error(), "policy->multiplier must be finite and >= 1"));
  CHECK(lifeline_retry_policy_init(&policy) == LIFELINE_OK);
  policy.initial_ms = 0;
  CHECK(lifeline_backoff_new(&policy, 1, &b) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "policy->initial_ms"));
  CHECK(lifeline_retry_policy_init(&policy) == LIFELINE_OK);
  policy.max_ms = 1000;
  CHECK(lifeline_backoff_new(&policy, 1, &b) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "policy->max_ms must be >= initial_ms"));
  CHECK(lifeline_retry_policy_init(&policy) == LIFELINE_OK);
  policy.max_attempts = 0;
  CHECK(lifeline_backoff_new(&policy, 1, &b) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "policy->max_attempts"));
  CHECK(lifeline_retry_policy_init(&policy) == LIFELINE_OK);
  policy.jitter = 4;
  CHECK(lifeline_backoff_new(&policy, 1, &b) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "policy->jitter"));
  CHECK(lifeline_retry_policy_init(&policy) == LIFELINE_OK);
  policy.retry_after_cap_ms = -1;
  CHECK(lifeline_backoff_new(&policy, 1, &b) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "policy->retry_after_cap_ms"));
  CHECK(lifeline_retry_policy_init(&policy) == LIFELINE_OK);
  policy.version = 2;
  CHECK(lifeline_backoff_new(&policy, 1, &b) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "policy->version 2 is not known"));
  CHECK(lifeline_backoff_new(NULL, 1, &b) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "policy must not be NULL"));
  CHECK(lifeline_retry_policy_init(&policy) == LIFELINE_OK);
  CHECK(lifeline_backoff_new(&policy, 1, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(b == NULL);
}

static void test_retry_after(void) {
  int64_t delay = -1;
  /* 1994-11-06T08:49:37Z */
  const int64_t example = 784111777000LL;
  CHECK(lifeline_retry_after_parse("120", 0, &delay) == LIFELINE_OK && delay == 120000);
  CHECK(lifeline_retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", example - 1500, &delay) ==
            LIFELINE_OK &&
        delay == 1500);
  CHECK(lifeline_retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", example - 1000, &delay) ==
            LIFELINE_OK &&
        delay == 1000);
  CHECK(lifeline_retry_after_parse("Sun Nov  6 08:49:37 1994", example + 1000, &delay) ==
            LIFELINE_OK &&
        delay == 0);
  delay = 7;
  CHECK(lifeline_retry_after_parse("soon", 0, &delay) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(delay == 7);
  CHECK(contains(lifeline_last_error(), "lifeline_retry_after_parse: Retry-After:"));
  CHECK(lifeline_retry_after_parse("1.5", 0, &delay) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "position 1"));
  CHECK(lifeline_retry_after_parse(NULL, 0, &delay) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "value must not be NULL"));
  CHECK(lifeline_retry_after_parse("\xff", 0, &delay) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "value is not valid UTF-8"));
  CHECK(lifeline_retry_after_parse("5", 0, NULL) == LIFELINE_E_INVALID_ARGUMENT);
}

static void test_classifier(void) {
  int r = -1;
  CHECK(lifeline_retry_is_retryable(429, LIFELINE_TRANSPORT_NONE, &r) == LIFELINE_OK && r == 1);
  CHECK(lifeline_retry_is_retryable(503, LIFELINE_TRANSPORT_NONE, &r) == LIFELINE_OK && r == 1);
  CHECK(lifeline_retry_is_retryable(408, LIFELINE_TRANSPORT_NONE, &r) == LIFELINE_OK && r == 1);
  CHECK(lifeline_retry_is_retryable(425, LIFELINE_TRANSPORT_NONE, &r) == LIFELINE_OK && r == 1);
  CHECK(lifeline_retry_is_retryable(404, LIFELINE_TRANSPORT_NONE, &r) == LIFELINE_OK && r == 0);
  CHECK(lifeline_retry_is_retryable(200, LIFELINE_TRANSPORT_NONE, &r) == LIFELINE_OK && r == 0);
  CHECK(lifeline_retry_is_retryable(0, LIFELINE_TRANSPORT_TIMEOUT, &r) == LIFELINE_OK && r == 1);
  CHECK(lifeline_retry_is_retryable(0, LIFELINE_TRANSPORT_CONNECTION, &r) == LIFELINE_OK && r == 1);
  CHECK(lifeline_retry_is_retryable(0, LIFELINE_TRANSPORT_TLS, &r) == LIFELINE_OK && r == 0);
  CHECK(lifeline_retry_is_retryable(0, LIFELINE_TRANSPORT_OTHER, &r) == LIFELINE_OK && r == 0);
  CHECK(lifeline_retry_is_retryable(99, LIFELINE_TRANSPORT_NONE, &r) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "http_status must be 100-599"));
  CHECK(lifeline_retry_is_retryable(503, 5, &r) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "transport_error"));
  CHECK(lifeline_retry_is_retryable(503, -1, &r) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_retry_is_retryable(503, 0, NULL) == LIFELINE_E_INVALID_ARGUMENT);
}

static void test_budget(void) {
  lifeline_retry_budget_t* budget = NULL;
  int allowed = -1;
  double tokens = -1;
  int i;
  CHECK(lifeline_retry_budget_new(10, 0.1, &budget) == LIFELINE_OK);
  CHECK(lifeline_retry_budget_tokens(budget, &tokens) == LIFELINE_OK && tokens == 10.0);
  for (i = 0; i < 4; ++i) CHECK(lifeline_retry_budget_record_failure(budget) == LIFELINE_OK);
  CHECK(lifeline_retry_budget_allow_retry(budget, &allowed) == LIFELINE_OK && allowed == 1);
  CHECK(lifeline_retry_budget_record_failure(budget) == LIFELINE_OK);
  CHECK(lifeline_retry_budget_allow_retry(budget, &allowed) == LIFELINE_OK && allowed == 0);
  CHECK(lifeline_retry_budget_record_success(budget) == LIFELINE_OK);
  CHECK(lifeline_retry_budget_tokens(budget, &tokens) == LIFELINE_OK && tokens == 5.1);
  CHECK(lifeline_retry_budget_allow_retry(budget, &allowed) == LIFELINE_OK && allowed == 1);
  CHECK(lifeline_retry_budget_allow_retry(budget, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_retry_budget_record_failure(NULL) == LIFELINE_E_INVALID_ARGUMENT);
  lifeline_retry_budget_free(budget);
  lifeline_retry_budget_free(NULL);
  budget = NULL;
  CHECK(lifeline_retry_budget_new(0, 0.1, &budget) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "max_tokens"));
  CHECK(lifeline_retry_budget_new(10, 0, &budget) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "token_ratio"));
  CHECK(budget == NULL);
}

int main(void) {
  test_policy_and_backoff();
  test_retry_after();
  test_classifier();
  test_budget();
  return C_TEST_RESULT();
}
