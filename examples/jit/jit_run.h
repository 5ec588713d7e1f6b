/* The host side: runs each generated async fn through the public API on the
 * runtime ZYNTAX_RUNTIME names and checks its real result. Each function
 * prints one "ok ..." line or a "FAIL ..." line and returns 0 / nonzero. */
#ifndef ZYNTAX_EXAMPLES_JIT_RUN_H
#define ZYNTAX_EXAMPLES_JIT_RUN_H

#include "jit_layout.h"

/* Vtables of the generated code (poll and drop from the compiled result). */
typedef struct zjit_program {
  zyntax_future_vtable fetch, loop, join, closure;
} zjit_program;

int zjit_run_fetch(zyntax_runtime *rt, const zjit_program *p);
int zjit_run_loop(zyntax_runtime *rt, const zjit_program *p);
int zjit_run_spawn(zyntax_runtime *rt, const zjit_program *p);
int zjit_run_closure(zyntax_runtime *rt, const zjit_program *p);

/* --bench: the loop with a yielding await, hand-written vs generated, best
 * of `rounds`; prints ns per poll for each. */
int zjit_bench_loop(zyntax_runtime *rt, const zjit_program *p, int rounds);

#endif
