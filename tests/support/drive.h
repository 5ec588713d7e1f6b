/* Test support shared by the cmocka binaries (conformance, matrix). */
#ifndef ZYNTAX_TESTS_SUPPORT_DRIVE_H
#define ZYNTAX_TESTS_SUPPORT_DRIVE_H

#include <stdatomic.h>

#include <zyntax/runtime.h>

/* Drives `rt` on the calling thread (block_on of a stack future that
 * re-polls itself) until *flag >= value; a cmocka failure if block_on
 * fails. Other tasks of `rt` run meanwhile. */
void drive_until(zyntax_runtime *rt, atomic_int *flag, int value);

/* drive_until that also sets *driving to 1 from its first poll, so another
 * thread can wait until this one is really driving `rt` (on tokio, tasks
 * are polled by workers whether anyone drives or not). */
void drive_until_marking(zyntax_runtime *rt, atomic_int *flag, int value,
                         atomic_int *driving);

#endif
