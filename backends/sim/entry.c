/* The simulation backend's table and entry point. Compiled twice: as the
 * plugin's zyntax_backend_entry and as zyntax_static_backend_sim for static
 * builds. No host-loop entries: a host loop waits in real time, which a
 * virtual clock cannot serve (runtime.h, "Driving from a host's event
 * loop"). */
#include "sim.h"
#include "sleep.h"

static const zyntax_backend sim_table = {
    .abi_major = ZYNTAX_BACKEND_ABI_MAJOR,
    .abi_minor = ZYNTAX_BACKEND_ABI_MINOR,
    .size = sizeof(zyntax_backend),
    .name = "sim",
    .version = "sim " ZYNTAX_VERSION_STRING,
    .runtime_create = sim_create,
    .runtime_destroy = sim_destroy,
    .spawn = sim_spawn,
    .block_on = zx_exec_block_on,
    .block_on_future = zx_exec_block_on_future,
    .run = zx_exec_run,
    .stats = zx_exec_stats,
    .sleep_until = zx_sleep_until,
    .fd_wait = sim_fd_wait,
    .blocking = sim_blocking,
    .clock = sim_clock_read,
};

__attribute__((visibility(ZYNTAX_STRINGIFY(ZYNTAX_BACKEND_ENTRY_VISIBILITY))))
const zyntax_backend *ZYNTAX_BACKEND_ENTRY_NAME(void);

const zyntax_backend *ZYNTAX_BACKEND_ENTRY_NAME(void) { return &sim_table; }
