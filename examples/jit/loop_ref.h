/* The loop workload's hand-written poll function (the benchmark baseline). */
#ifndef ZYNTAX_EXAMPLES_JIT_LOOP_REF_H
#define ZYNTAX_EXAMPLES_JIT_LOOP_REF_H

#include "jit_layout.h"

zyntax_poll zjit_loop_ref_poll(void *state, const zyntax_waker *waker);
void zjit_loop_ref_drop(void *state);

#endif
