/* The sleep future of the C backends: a node of the executor's arena filed
 * in its timing wheel (wheel.h). The backend supplies only one timer per
 * runtime (zx_loop_ops.timer_arm) and calls zx_exec_timer_fired() from it.
 *
 * Lifetime: the future may be dropped after its runtime was destroyed (a
 * future kept outside any task). Destroy unlinks every node from the wheel
 * and the arena outlives the backend while a node is out, so such a drop
 * touches no loop and only gives the block back. */
#ifndef ZYNTAX_COMMON_SLEEP_H
#define ZYNTAX_COMMON_SLEEP_H

#include "executor.h"

/* The backend's sleep_until: a new sleep future for `deadline_ns`
 * (CLOCK_MONOTONIC). 0, ZYNTAX_ENOMEM, or ZYNTAX_ECLOSED when the runtime
 * is being destroyed. Any thread. */
int zx_sleep_until(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                   zyntax_future **out);

#endif /* ZYNTAX_COMMON_SLEEP_H */
