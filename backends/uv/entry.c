/* The libuv backend's table and entry point. Compiled twice: as the plugin's
 * zyntax_backend_entry and as zyntax_static_backend_uv for static builds. */
#include "uv_backend.h"

#define UVB_VERSION                                               \
  "libuv " ZYNTAX_STRINGIFY(UV_VERSION_MAJOR) "." ZYNTAX_STRINGIFY( \
      UV_VERSION_MINOR) "." ZYNTAX_STRINGIFY(UV_VERSION_PATCH)

static const zyntax_future_ops *const uvb_future_ops[] = {
    ZYNTAX_EXECUTOR_FUTURE_OPS, &zx_reactor_fdwait_ops,
    &zx_reactor_watchwait_ops, &uvb_work_ops, NULL};

ZYNTAX_BACKEND_DEFINE("uv", UVB_VERSION,
    .future_ops = uvb_future_ops,
    .runtime_create = uvb_create,
    .runtime_destroy = uvb_destroy,
    ZX_EXEC_BACKEND_ENTRIES,
    .sleep_until = uvb_sleep_until,
    .fd_wait = zx_reactor_fd_wait,
    ZX_REACTOR_WATCH_ENTRIES,
    .blocking = uvb_blocking)
