/* The libev backend's table and entry point. Compiled twice: as the plugin's
 * zyntax_backend_entry and as zyntax_static_backend_ev for static builds. */
#include "ev_backend.h"

#define EVB_VERSION                                              \
  "libev " ZYNTAX_STRINGIFY(EV_VERSION_MAJOR) "." ZYNTAX_STRINGIFY( \
      EV_VERSION_MINOR)

static const zyntax_future_ops *const evb_future_ops[] = {
    ZYNTAX_EXECUTOR_FUTURE_OPS, &zx_reactor_fdwait_ops,
    &zx_reactor_watchwait_ops, NULL};

ZYNTAX_BACKEND_DEFINE("ev", EVB_VERSION,
    .future_ops = evb_future_ops,
    .runtime_create = evb_create,
    .runtime_destroy = evb_destroy,
    ZX_EXEC_BACKEND_ENTRIES,
    .sleep_until = evb_sleep_until,
    .fd_wait = zx_reactor_fd_wait,
    ZX_REACTOR_WATCH_ENTRIES,
    .blocking = evb_blocking)
