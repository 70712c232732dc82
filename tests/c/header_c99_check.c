/* Compiled with -std=c99 -Wall -Wextra -pedantic -Werror: the public header
 * must stand alone as strict C99. */
#include "lifeline/lifeline.h"

int lifeline_c99_header_check_dummy(void);
int lifeline_c99_header_check_dummy(void) { return LIFELINE_OK; }
