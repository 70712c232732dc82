/* The dedup cache from plain C99: TTL edges, a full cache, digests, keyed
 * caches and argument checking. */
#include <string.h>

#include "c_test.h"
#include "lifeline/lifeline.h"

static int check(lifeline_dedup_t* d, const char* key, int64_t now) {
  int duplicate = -1;
  lifeline_status s = lifeline_dedup_check(d, key, strlen(key), now, &duplicate);
  if (s == LIFELINE_E_FULL) return 2;
  if (s != LIFELINE_OK) return -1;
  return duplicate;
}

int main(void) {
  const int64_t t0 = 1767225600000LL; /* 2026-01-01T00:00:00Z */
  const int64_t ttl = 60000;
  lifeline_dedup_t* d = NULL;
  lifeline_dedup_t* keyed = NULL;
  lifeline_dedup_t* keyed_again = NULL;
  uint8_t hash_key[LIFELINE_DEDUP_HASH_KEY_SIZE];
  uint8_t digest[LIFELINE_DEDUP_DIGEST_SIZE];
  uint8_t digest2[LIFELINE_DEDUP_DIGEST_SIZE];
  uint8_t small[8];
  const uint8_t binary_key[4] = {0, 1, 0, 2};
  int duplicate = -1;
  size_t size = 99;
  int i;

  /* Construction and its argument checks. */
  CHECK(lifeline_dedup_new(ttl, 3, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "out must not be NULL") != NULL);
  CHECK(lifeline_dedup_new(0, 3, &d) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strcmp(lifeline_last_error(), "lifeline_dedup_new: ttl_ms must be > 0, got 0") == 0);
  CHECK(lifeline_dedup_new(-1, 3, &d) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_dedup_new(ttl, 0, &d) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strcmp(lifeline_last_error(), "lifeline_dedup_new: capacity must be > 0") == 0);
  CHECK(d == NULL);
  CHECK(lifeline_dedup_new(ttl, 3, &d) == LIFELINE_OK);
  CHECK(d != NULL);

  /* TTL edges: duplicate until t0 + ttl - 1, first seen at t0 + ttl. */
  CHECK(check(d, "+15551234567|q1", t0) == 0);
  CHECK(check(d, "+15551234567|q1", t0 + ttl - 1) == 1);
  CHECK(check(d, "+15551234567|q1", t0 + ttl) == 0);
  CHECK(check(d, "+15551234567|q1", t0 + ttl + 1) == 1);

  /* Full: two more fill it; the fourth key is refused and nothing evicted. */
  CHECK(check(d, "b", t0 + ttl + 2) == 0);
  CHECK(check(d, "c", t0 + ttl + 3) == 0);
  duplicate = 7;
  CHECK(lifeline_dedup_check(d, "d", 1, t0 + ttl + 4, &duplicate) == LIFELINE_E_FULL);
  CHECK(duplicate == 7); /* untouched on failure */
  CHECK(strcmp(lifeline_last_error(),
               "lifeline_dedup_check: the cache is full: all 3 entries are live at now_ms; "
               "the key was not remembered") == 0);
  CHECK(lifeline_dedup_size(d, &size) == LIFELINE_OK && size == 3);
  CHECK(check(d, "+15551234567|q1", t0 + ttl + 5) == 1);
  CHECK(check(d, "b", t0 + ttl + 5) == 1);
  CHECK(check(d, "c", t0 + ttl + 5) == 1);
  /* The first entry expires at t0 + 2 ttl and frees exactly one place. */
  CHECK(check(d, "d", t0 + 2 * ttl - 1) == 2);
  CHECK(check(d, "d", t0 + 2 * ttl) == 0);
  CHECK(check(d, "e", t0 + 2 * ttl) == 2);
  CHECK(lifeline_dedup_expire(d, t0 + 2 * ttl + 2, &size) == LIFELINE_OK && size == 2);
  CHECK(lifeline_dedup_expire(d, t0 + 10 * ttl, NULL) == LIFELINE_OK);
  CHECK(lifeline_dedup_size(d, &size) == LIFELINE_OK && size == 0);

  /* Keys are bytes, not strings. */
  CHECK(lifeline_dedup_check(d, binary_key, 4, t0, &duplicate) == LIFELINE_OK && duplicate == 0);
  CHECK(lifeline_dedup_check(d, binary_key, 3, t0, &duplicate) == LIFELINE_OK && duplicate == 0);
  CHECK(lifeline_dedup_check(d, binary_key, 4, t0, &duplicate) == LIFELINE_OK && duplicate == 1);

  /* Bad check arguments. */
  CHECK(lifeline_dedup_check(NULL, "k", 1, t0, &duplicate) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "d must not be NULL") != NULL);
  CHECK(lifeline_dedup_check(d, NULL, 3, t0, &duplicate) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strcmp(lifeline_last_error(),
               "lifeline_dedup_check: key must not be NULL when key_len > 0") == 0);
  CHECK(lifeline_dedup_check(d, "k", 0, t0, &duplicate) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "key_len must be > 0") != NULL);
  CHECK(lifeline_dedup_check(d, "k", 1, t0, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "out_duplicate must not be NULL") != NULL);
  CHECK(lifeline_dedup_size(NULL, &size) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_dedup_size(d, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_dedup_expire(NULL, t0, &size) == LIFELINE_E_INVALID_ARGUMENT);

  /* Digests: frozen under the default key, and usable as the key. */
  CHECK(lifeline_dedup_digest(d, "+15551234567|2026-03-08T07:30:00Z|queue-42", 42, digest,
                              sizeof digest) == LIFELINE_OK);
  {
    static const uint8_t expected[16] = {0x1b, 0xc4, 0xdc, 0x2a, 0x9a, 0xd3, 0x8d, 0xbf,
                                         0x19, 0x38, 0x7b, 0x94, 0xa7, 0x93, 0x38, 0xf2};
    CHECK(memcmp(digest, expected, 16) == 0);
  }
  CHECK(lifeline_dedup_digest(d, "x", 1, small, sizeof small) == LIFELINE_E_BUFFER_TOO_SMALL);
  CHECK(strstr(lifeline_last_error(), "16 needed") != NULL);
  CHECK(lifeline_dedup_digest(d, "x", 0, digest2, sizeof digest2) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_dedup_digest(d, "request-9", 9, digest2, sizeof digest2) == LIFELINE_OK);
  CHECK(lifeline_dedup_check_digest(d, digest2, t0, &duplicate) == LIFELINE_OK && duplicate == 0);
  CHECK(check(d, "request-9", t0 + 1) == 1);
  CHECK(lifeline_dedup_check_digest(d, NULL, t0, &duplicate) == LIFELINE_E_INVALID_ARGUMENT);

  /* Keyed caches: the key length is checked; the same key agrees. */
  for (i = 0; i < LIFELINE_DEDUP_HASH_KEY_SIZE; ++i) hash_key[i] = (uint8_t)(0xA0 + i);
  CHECK(lifeline_dedup_new_keyed(ttl, 10, hash_key, 16, &keyed) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strcmp(lifeline_last_error(),
               "lifeline_dedup_new_keyed: hash_key_len must be 32 (a 256-bit key), got 16") == 0);
  CHECK(lifeline_dedup_new_keyed(ttl, 10, NULL, 32, &keyed) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_dedup_new_keyed(0, 10, hash_key, 32, &keyed) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(strstr(lifeline_last_error(), "ttl_ms must be > 0") != NULL);
  CHECK(keyed == NULL);
  CHECK(lifeline_dedup_new_keyed(ttl, 10, hash_key, 32, &keyed) == LIFELINE_OK);
  CHECK(lifeline_dedup_new_keyed(ttl, 10, hash_key, 32, &keyed_again) == LIFELINE_OK);
  CHECK(lifeline_dedup_digest(keyed, "request-9", 9, digest, sizeof digest) == LIFELINE_OK);
  CHECK(memcmp(digest, digest2, 16) != 0); /* another key, another digest */
  CHECK(lifeline_dedup_digest(keyed_again, "request-9", 9, digest2, sizeof digest2) ==
        LIFELINE_OK);
  CHECK(memcmp(digest, digest2, 16) == 0); /* same key, same digest */
  /* A digest from one node's cache is a duplicate on another with the key. */
  CHECK(lifeline_dedup_check_digest(keyed, digest, t0, &duplicate) == LIFELINE_OK &&
        duplicate == 0);
  CHECK(check(keyed, "request-9", t0 + 5) == 1);

  lifeline_dedup_free(keyed_again);
  lifeline_dedup_free(keyed);
  lifeline_dedup_free(d);
  lifeline_dedup_free(NULL);
  return C_TEST_RESULT();
}
