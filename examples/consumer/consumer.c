/* Built with find_package(lifeline) against the installed package. */
#include <stdio.h>

#include <lifeline/lifeline.h>

int main(void) {
  if (lifeline_version_number() / 10000 != LIFELINE_VERSION_MAJOR) {
    fprintf(stderr, "header %s but library %s\n", LIFELINE_VERSION_STRING, lifeline_version());
    return 1;
  }
  printf("linked against lifeline %s\n", lifeline_version());
  return 0;
}
