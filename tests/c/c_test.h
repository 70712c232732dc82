/* A tiny harness for the plain-C tests: CHECK records a failure and goes on,
 * so one run reports every broken expectation. */
#ifndef LIFELINE_TESTS_C_C_TEST_H_
#define LIFELINE_TESTS_C_C_TEST_H_

#include <stdio.h>

static int c_test_failures = 0;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, \
              __LINE__, #cond, lifeline_last_error());                       \
      ++c_test_failures;                                                     \
    }                                                                        \
  } while (0)

#define C_TEST_RESULT() (c_test_failures == 0 ? 0 : 1)

#endif
