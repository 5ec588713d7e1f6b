/* The libuv backend's table and entry point. Compiled twice: as the plugin's
 * zyntax_backend_entry and as zyntax_static_backend_uv for static builds. */
#include "uv_backend.h"

#define UVB_VERSION                                               \
  "libuv " ZYNTAX_STRINGIFY(UV_VERSION_MAJOR) "." ZYNTAX_STRINGIFY( \
      UV_VERSION_MINOR) "." ZYNTAX_STRINGIFY(UV_VERSION_PATCH)

static const zyntax_backend uvb_table = {
    .abi_major = ZYNTAX_BACKEND_ABI_MAJOR,
    .abi_minor = ZYNTAX_BACKEND_ABI_MINOR,
    .size = sizeof(zyntax_backend),
    .name = "uv",
    .version = UVB_VERSION,
    .runtime_create = uvb_create,
    .runtime_destroy = uvb_destroy,
    ZX_EXEC_BACKEND_ENTRIES,
    .sleep_until = uvb_sleep_until,
    .fd_wait = zx_reactor_fd_wait,
    .blocking = uvb_blocking,
};

__attribute__((visibility(ZYNTAX_STRINGIFY(ZYNTAX_BACKEND_ENTRY_VISIBILITY))))
const zyntax_backend *ZYNTAX_BACKEND_ENTRY_NAME(void);

const zyntax_backend *ZYNTAX_BACKEND_ENTRY_NAME(void) { return &uvb_table; }
