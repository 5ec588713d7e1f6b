/* Test support shared by the cmocka binaries: the runtime helper, and the
 * drivers of drive.h. */
#ifndef ZYNTAX_TESTS_SUPPORT_H
#define ZYNTAX_TESTS_SUPPORT_H

#include <zyntax/runtime.h>

#include "drive.h"

/* A runtime on the backend the environment names (ZYNTAX_RUNTIME, as every
 * per-backend test run sets it); a cmocka failure naming the reason if
 * none can be made. */
zyntax_runtime *test_runtime(void);

/* A runtime of the named backend with `workers` worker threads, or NULL
 * after a cmocka skip message when that backend is not built here; any
 * other failure fails the test. */
zyntax_runtime *test_runtime_of(const char *backend, uint32_t workers);

#endif
