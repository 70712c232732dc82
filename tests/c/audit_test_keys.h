/* audit_test_keys.h -- the fixed keys of the audit trail's C tests, served
 * by a lifeline_key_callback: "k1" (data), "p1" (pseudonyms) and "c1"
 * (checkpoints), the same bytes as tests/support/audit_fixture.hpp. Any
 * other key id is LIFELINE_E_NOT_FOUND. audit_test_key_calls counts the
 * calls. Include it in one test program's single source file. */
#ifndef LIFELINE_TESTS_C_AUDIT_TEST_KEYS_H_
#define LIFELINE_TESTS_C_AUDIT_TEST_KEYS_H_

#include <string.h>

#include "lifeline/lifeline.h"

static int audit_test_key_calls = 0;

static lifeline_status audit_test_keys(const char* key_id, uint8_t* out_key32, void* user_data) {
  int i;
  unsigned char fill;
  (void)user_data;
  ++audit_test_key_calls;
  if (strcmp(key_id, "k1") == 0) {
    fill = 0x10;
  } else if (strcmp(key_id, "p1") == 0) {
    fill = 0x70;
  } else if (strcmp(key_id, "c1") == 0) {
    fill = 0xa0;
  } else {
    return LIFELINE_E_NOT_FOUND;
  }
  for (i = 0; i < 32; ++i) out_key32[i] = (uint8_t)(fill + i);
  return LIFELINE_OK;
}

#endif /* LIFELINE_TESTS_C_AUDIT_TEST_KEYS_H_ */
