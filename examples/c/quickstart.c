/* quickstart.c -- the README's C example, built and run by the tests. */
#include <stdio.h>
#include <lifeline/lifeline.h>

int main(void) {
  lifeline_dedup_t* seen = NULL;
  int64_t when;
  int kind, duplicate;
  char utc[LIFELINE_RFC3339_BUFFER_SIZE];

  /* 02:30 does not exist in New York on 2026-03-08: shift it forward. */
  if (lifeline_local_to_utc("2026-03-08T02:30", "America/New_York",
                            LIFELINE_GAP_SHIFT_FORWARD, LIFELINE_OVERLAP_EARLIEST,
                            &when, &kind) != LIFELINE_OK) {
    fprintf(stderr, "%s\n", lifeline_last_error());
    return 1;
  }
  lifeline_rfc3339_format(when, utc, sizeof utc);
  lifeline_dedup_new(60000, 100000, &seen);
  lifeline_dedup_check(seen, "+12125550100", 12, when, &duplicate);
  printf("callback at %s, duplicate=%d\n", utc, duplicate);  /* 07:30:00.000Z */
  lifeline_dedup_free(seen);
  return 0;
}
