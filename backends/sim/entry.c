/* The simulation backend's table and entry point. Compiled twice: as the
 * plugin's zyntax_backend_entry and as zyntax_static_backend_sim for static
 * builds. No host-loop entries: a host loop waits in real time, which a
 * virtual clock cannot serve (runtime.h, "Driving from a host's event
 * loop"). */
#include "sim.h"
#include "sleep.h"

static const zyntax_future_ops *const sim_future_ops[] = {
    ZYNTAX_EXECUTOR_FUTURE_OPS, &sim_fdwait_ops, &sim_job_ops, NULL};

/* The executor's entries one by one (not ZX_EXEC_BACKEND_ENTRIES): its
 * spawn is wrapped (trace.c numbers tasks), and its host-loop entries are
 * left out. No spawn_detached: the loader's spawn-and-release numbers a
 * detached task like any other (a detached task may end before a spawn
 * of its own could number it). */
ZYNTAX_BACKEND_DEFINE("sim", "sim " ZYNTAX_VERSION_STRING,
    .task_ops = &zyntax_executor_task_ops,
    .future_ops = sim_future_ops,
    .runtime_create = sim_create,
    .runtime_destroy = sim_destroy,
    .spawn = sim_spawn,
    .block_on = zx_exec_block_on,
    .block_on_future = zx_exec_block_on_future,
    .run = zx_exec_run,
    .stats = sim_stats,
    .sleep_until = zx_sleep_until,
    .fd_wait = sim_fd_wait,
    .blocking = sim_blocking,
    .clock = sim_clock_read)
