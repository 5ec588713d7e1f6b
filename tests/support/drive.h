/* Test support shared by the cmocka binaries (conformance, matrix). */
#ifndef ZYNTAX_TESTS_SUPPORT_DRIVE_H
#define ZYNTAX_TESTS_SUPPORT_DRIVE_H

#include <stdatomic.h>

#include <zyntax/runtime.h>

/* Drives `rt` on the calling thread (block_on of a stack future that
 * re-polls itself) until *flag >= value; a cmocka failure if block_on
 * fails. Other tasks of `rt` run meanwhile. */
void drive_until(zyntax_runtime *rt, atomic_int *flag, int value);

#endif
