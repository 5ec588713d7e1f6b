/* An interposed allocator for fault injection. The test binary defines
 * malloc & co., so every library in the process allocates through it. Only
 * allocations whose caller is zyntax code (libzyntax or a backend plugin)
 * are counted, tracked and failed on demand: libev aborts on out-of-memory
 * by design and libuv in places, so failing their own allocations would
 * only test them. */
#ifndef ZYNTAX_TESTS_FAILMALLOC_H
#define ZYNTAX_TESTS_FAILMALLOC_H

#include <stddef.h>

/* Makes the n-th zyntax allocation from now fail (n >= 1); 0 disarms. */
void failmalloc_fail_nth(long n);

/* Zyntax allocations made since the last reset. */
long failmalloc_count(void);
void failmalloc_reset_count(void);

/* Zyntax allocations not yet freed. */
size_t failmalloc_live(void);

/* Nonzero once the armed failure happened. */
int failmalloc_failed(void);

#endif
