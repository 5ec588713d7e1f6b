/* The entry points of the suites folded into the conformance kit: each
 * suite's own main(), renamed when it is compiled into zyntax-conformance
 * (tests/conformance/CMakeLists.txt force-includes this header there). */
#ifndef ZYNTAX_TESTS_KIT_H
#define ZYNTAX_TESTS_KIT_H

int zyntax_kit_conformance_main(int argc, char **argv); /* conformance/main.c */
int zyntax_kit_matrix_main(void);                      /* matrix/matrix.c */
int zyntax_kit_misuse_main(void);                      /* misuse/misuse.c */

#endif
