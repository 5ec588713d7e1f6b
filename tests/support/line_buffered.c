/* Linked into every cmocka test binary (zyntax_add_cmocka_test): stdout is
 * line-buffered even into CTest's pipe, so when a case hangs and CTest
 * kills the binary at its timeout, the output it shows ends with the
 * "[ RUN      ] case" line of the case that hung instead of losing the
 * whole unflushed buffer. */
#include <stdio.h>

__attribute__((constructor)) static void zyntax_test_line_buffered(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
}
