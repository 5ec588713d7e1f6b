/* The stress family: large, bounded loads through the public API only,
 * each checking that nothing is lost (every drop runs exactly once). */
#ifndef ZYNTAX_TESTS_STRESS_H
#define ZYNTAX_TESTS_STRESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <zyntax/runtime.h>

#include "support.h"

void stress_million_tasks(void **state);
void stress_pending_at_destroy(void **state);
void stress_wake_storm(void **state);
void stress_spawn_from_threads(void **state);
void stress_tcp_connections(void **state);

#endif
