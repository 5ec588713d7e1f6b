/* Linked into every cmocka test binary (zyntax_add_cmocka_test): stdout is
 * line-buffered even into CTest's pipe. cmocka flushes its own lines (the
 * "[ RUN      ] case" line of a case that hangs is always there), but a
 * test's own printf() lines would be lost with the buffer when CTest kills
 * a hung binary at its timeout. */
#include <stdio.h>

__attribute__((constructor)) static void zyntax_test_line_buffered(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
}
