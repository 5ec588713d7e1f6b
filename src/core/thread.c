/* Which runtime, if any, the calling thread is driving or working for. */
#include "internal.h"

static _Thread_local zyntax_runtime *current;

zyntax_runtime *zx_thread_current(void) { return current; }

void zx_thread_set_current(zyntax_runtime *rt) { current = rt; }

zyntax_runtime *zyntax_runtime_current(void) { return current; }
