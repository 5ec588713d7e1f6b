/* Stands in for zyntax-jit when libgccjit was not found at configure time:
 * CTest reports the test as skipped (SKIP_RETURN_CODE 77), never passed. */
#include <stdio.h>

int main(void) {
  puts("SKIPPED: libgccjit was not found when this tree was configured "
       "(install libgccjit-12-dev and re-run cmake)");
  return 77;
}
