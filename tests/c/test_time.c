/* Time normalisation from plain C99: RFC 3339, local <-> UTC with every
 * policy, business hours, and the argument checks. Expected instants come
 * from the published New York 2026 transitions (03-08 02:00 EST -> 03:00
 * EDT, 11-01 02:00 EDT -> 01:00 EST) by plain UTC arithmetic. */
#include <string.h>

#include "c_test.h"
#include "lifeline/lifeline.h"

static int contains(const char* haystack, const char* needle) {
  return strstr(haystack, needle) != NULL;
}

static void test_rfc3339(void) {
  int64_t t = 0;
  char out[LIFELINE_RFC3339_BUFFER_SIZE];
  char small[LIFELINE_RFC3339_BUFFER_SIZE - 1];

  CHECK(lifeline_rfc3339_parse("2026-03-08T02:30:00.123456-05:00", &t) == LIFELINE_OK);
  CHECK(t == 1772955000123LL);
  CHECK(lifeline_rfc3339_parse("2016-12-31T23:59:60z", &t) == LIFELINE_OK);
  CHECK(t == 1483228799000LL);
  CHECK(lifeline_rfc3339_parse("2026-03-08T07:30:00+0100", &t) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "lifeline_rfc3339_parse: text: position 22:"));
  CHECK(lifeline_rfc3339_parse("2026-03-08T07:30:00", &t) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "position 19"));
  CHECK(lifeline_rfc3339_parse("2023-02-29T00:00:00Z", &t) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "position 8"));
  CHECK(lifeline_rfc3339_parse("\xff", &t) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "UTF-8"));
  CHECK(lifeline_rfc3339_parse(NULL, &t) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_rfc3339_parse("2026-03-08T07:30:00Z", NULL) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "out_unix_ms"));

  CHECK(lifeline_rfc3339_format(-1, out, sizeof out) == LIFELINE_OK);
  CHECK(strcmp(out, "1969-12-31T23:59:59.999Z") == 0);
  CHECK(lifeline_rfc3339_format(1772955000000LL, out, sizeof out) == LIFELINE_OK);
  CHECK(strcmp(out, "2026-03-08T07:30:00.000Z") == 0);
  CHECK(lifeline_rfc3339_format(1772955000000LL, small, sizeof small) ==
        LIFELINE_E_BUFFER_TOO_SMALL);
  CHECK(lifeline_rfc3339_format(253402300800000LL, out, sizeof out) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "unix_ms"));
  CHECK(lifeline_rfc3339_format(0, NULL, 25) == LIFELINE_E_INVALID_ARGUMENT);
}

static void test_local_to_utc(void) {
  int64_t t = 0;
  int kind = -1;
  const char* ny = "America/New_York";

  CHECK(lifeline_local_to_utc("2026-07-01T12:00", ny, LIFELINE_GAP_REJECT,
                              LIFELINE_OVERLAP_REJECT, &t, &kind) == LIFELINE_OK);
  CHECK(t == 1782921600000LL && kind == LIFELINE_LOCAL_UNIQUE);

  /* The gap, every policy. */
  CHECK(lifeline_local_to_utc("2026-03-08T02:30", ny, LIFELINE_GAP_REJECT,
                              LIFELINE_OVERLAP_REJECT, &t, &kind) == LIFELINE_E_NONEXISTENT_TIME);
  CHECK(contains(lifeline_last_error(), "does not exist in America/New_York"));
  CHECK(lifeline_local_to_utc("2026-03-08T02:30", ny, LIFELINE_GAP_SHIFT_FORWARD,
                              LIFELINE_OVERLAP_REJECT, &t, &kind) == LIFELINE_OK);
  CHECK(t == 1772955000000LL && kind == LIFELINE_LOCAL_SHIFTED); /* 07:30Z = 03:30 EDT */
  CHECK(lifeline_local_to_utc("2026-03-08T02:30:00", ny, LIFELINE_GAP_NEXT_VALID,
                              LIFELINE_OVERLAP_REJECT, &t, &kind) == LIFELINE_OK);
  CHECK(t == 1772953200000LL && kind == LIFELINE_LOCAL_SHIFTED); /* 07:00Z = 03:00 EDT */

  /* The overlap, every policy. */
  CHECK(lifeline_local_to_utc("2026-11-01T01:30", ny, LIFELINE_GAP_REJECT,
                              LIFELINE_OVERLAP_REJECT, &t, &kind) == LIFELINE_E_AMBIGUOUS_TIME);
  CHECK(lifeline_local_to_utc("2026-11-01T01:30", ny, LIFELINE_GAP_REJECT,
                              LIFELINE_OVERLAP_EARLIEST, &t, &kind) == LIFELINE_OK);
  CHECK(t == 1793511000000LL && kind == LIFELINE_LOCAL_AMBIGUOUS);
  CHECK(lifeline_local_to_utc("2026-11-01T01:30", ny, LIFELINE_GAP_REJECT,
                              LIFELINE_OVERLAP_LATEST, &t, NULL) == LIFELINE_OK);
  CHECK(t == 1793514600000LL);

  /* Bad arguments. */
  CHECK(lifeline_local_to_utc("2026-03-08T02:30Z", ny, 0, 0, &t, &kind) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "local: position 16"));
  CHECK(lifeline_local_to_utc("2026-03-08T02:30+01:00", ny, 0, 0, &t, &kind) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_local_to_utc("2026-02-30T02:30", ny, 0, 0, &t, &kind) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "position 8"));
  CHECK(lifeline_local_to_utc("2026-03-08T02:30", "Mars/Olympus_Mons", 0, 0, &t, &kind) ==
        LIFELINE_E_NOT_FOUND);
  CHECK(contains(lifeline_last_error(), "tz: time zone 'Mars/Olympus_Mons'"));
  CHECK(lifeline_local_to_utc("2026-03-08T02:30", ny, 3, 0, &t, &kind) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "gap_policy"));
  CHECK(lifeline_local_to_utc("2026-03-08T02:30", ny, 0, -1, &t, &kind) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "overlap_policy"));
  CHECK(lifeline_local_to_utc(NULL, ny, 0, 0, &t, &kind) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_local_to_utc("2026-03-08T02:30", NULL, 0, 0, &t, &kind) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_local_to_utc("2026-03-08T02:30", ny, 0, 0, NULL, &kind) ==
        LIFELINE_E_INVALID_ARGUMENT);
}

static void test_utc_to_local(void) {
  char local[LIFELINE_LOCAL_TIME_BUFFER_SIZE];
  char abbrev[LIFELINE_TZ_ABBREV_BUFFER_SIZE];
  char tiny[3];
  int32_t offset = 0;

  CHECK(lifeline_utc_to_local(1772953200000LL, "America/New_York", local, sizeof local, &offset,
                              abbrev, sizeof abbrev) == LIFELINE_OK);
  CHECK(strcmp(local, "2026-03-08T03:00:00") == 0);
  CHECK(offset == -14400 && strcmp(abbrev, "EDT") == 0);
  CHECK(lifeline_utc_to_local(1772953199999LL, "America/New_York", local, sizeof local, &offset,
                              abbrev, sizeof abbrev) == LIFELINE_OK);
  CHECK(strcmp(local, "2026-03-08T01:59:59") == 0);
  CHECK(offset == -18000 && strcmp(abbrev, "EST") == 0);
  CHECK(lifeline_utc_to_local(1775315700000LL, "Australia/Lord_Howe", local, sizeof local,
                              &offset, NULL, 0) == LIFELINE_OK);
  CHECK(strcmp(local, "2026-04-05T01:45:00") == 0 && offset == 37800);

  /* Short buffers: nothing is written to the other outputs. */
  offset = 12345;
  CHECK(lifeline_utc_to_local(0, "Asia/Kolkata", local, sizeof local, &offset, tiny,
                              sizeof tiny) == LIFELINE_E_BUFFER_TOO_SMALL);
  CHECK(contains(lifeline_last_error(), "out_abbrev"));
  CHECK(offset == 12345);
  CHECK(lifeline_utc_to_local(0, "Asia/Kolkata", tiny, sizeof tiny, &offset, abbrev,
                              sizeof abbrev) == LIFELINE_E_BUFFER_TOO_SMALL);
  CHECK(offset == 12345);
  CHECK(lifeline_utc_to_local(0, "Asia/Kolkata", local, sizeof local, &offset, abbrev,
                              sizeof abbrev) == LIFELINE_OK);
  CHECK(strcmp(local, "1970-01-01T05:30:00") == 0 && offset == 19800 &&
        strcmp(abbrev, "IST") == 0);
  CHECK(lifeline_utc_to_local(0, "Nowhere/Zone", local, sizeof local, NULL, NULL, 0) ==
        LIFELINE_E_NOT_FOUND);
  CHECK(lifeline_utc_to_local(INT64_MAX, "UTC", local, sizeof local, NULL, NULL, 0) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_utc_to_local(0, "UTC", NULL, 20, NULL, NULL, 0) == LIFELINE_E_INVALID_ARGUMENT);
}

static void test_business_hours(void) {
  lifeline_business_hours_t* bh = NULL;
  int open = -1;
  int64_t next = 0;
  const char* spec =
      "{\"timeZone\":\"America/New_York\","
      "\"weekly\":{\"mon\":[[\"08:00\",\"20:00\"]],\"tue\":[[\"08:00\",\"20:00\"]],"
      "\"wed\":[[\"08:00\",\"20:00\"]],\"thu\":[[\"08:00\",\"20:00\"]],"
      "\"fri\":[[\"08:00\",\"20:00\"]]},"
      "\"holidays\":[\"2026-12-25\"]}";

  CHECK(lifeline_business_hours_new(spec, &bh) == LIFELINE_OK);
  /* Saturday 2026-03-07 12:00 EST: closed; next is Monday 08:00 EDT. */
  CHECK(lifeline_business_hours_is_open(bh, 1772902800000LL, &open) == LIFELINE_OK && open == 0);
  CHECK(lifeline_business_hours_next_open(bh, 1772902800000LL, &next) == LIFELINE_OK);
  CHECK(next == 1773057600000LL);
  CHECK(lifeline_business_hours_is_open(bh, next, &open) == LIFELINE_OK && open == 1);
  /* Thursday 2026-12-24 20:00 EST: Friday is a holiday -> Monday 12-28. */
  CHECK(lifeline_business_hours_next_open(bh, 1798160400000LL, &next) == LIFELINE_OK);
  CHECK(next == 1798462800000LL);
  CHECK(lifeline_business_hours_is_open(bh, INT64_MIN, &open) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_business_hours_is_open(NULL, 0, &open) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_business_hours_next_open(bh, 0, NULL) == LIFELINE_E_INVALID_ARGUMENT);
  lifeline_business_hours_free(bh);
  lifeline_business_hours_free(NULL);

  bh = NULL;
  CHECK(lifeline_business_hours_new("{\"timeZone\":\"UTC\",\"weekly\":{}}", &bh) == LIFELINE_OK);
  CHECK(lifeline_business_hours_next_open(bh, 0, &next) == LIFELINE_E_NOT_FOUND);
  CHECK(contains(lifeline_last_error(), "never open"));
  lifeline_business_hours_free(bh);

  bh = NULL;
  CHECK(lifeline_business_hours_new("{\"timeZone\":\"UTC\",\"weekly\":{},\"color\":1}", &bh) ==
        LIFELINE_E_INVALID_ARGUMENT);
  CHECK(contains(lifeline_last_error(), "spec_json: spec: unknown key 'color'"));
  CHECK(bh == NULL);
  CHECK(lifeline_business_hours_new("{\"timeZone\":\"Nowhere/Zone\",\"weekly\":{}}", &bh) ==
        LIFELINE_E_NOT_FOUND);
  CHECK(lifeline_business_hours_new(NULL, &bh) == LIFELINE_E_INVALID_ARGUMENT);
  CHECK(lifeline_business_hours_new("{}", NULL) == LIFELINE_E_INVALID_ARGUMENT);
}

int main(void) {
  test_rfc3339();
  test_local_to_utc();
  test_utc_to_local();
  test_business_hours();
  return C_TEST_RESULT();
}
