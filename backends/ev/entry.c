/* The libev backend's table and entry point. Compiled twice: as the plugin's
 * zyntax_backend_entry and as zyntax_static_backend_ev for static builds. */
#include "ev_backend.h"

#define EVB_VERSION                                              \
  "libev " ZYNTAX_STRINGIFY(EV_VERSION_MAJOR) "." ZYNTAX_STRINGIFY( \
      EV_VERSION_MINOR)

static const zyntax_backend evb_table = {
    .abi_major = ZYNTAX_BACKEND_ABI_MAJOR,
    .abi_minor = ZYNTAX_BACKEND_ABI_MINOR,
    .size = sizeof(zyntax_backend),
    .name = "ev",
    .version = EVB_VERSION,
    .runtime_create = evb_create,
    .runtime_destroy = evb_destroy,
    ZX_EXEC_BACKEND_ENTRIES,
    .sleep_until = evb_sleep_until,
    .fd_wait = zx_reactor_fd_wait,
    .blocking = evb_blocking,
};

__attribute__((visibility(ZYNTAX_STRINGIFY(ZYNTAX_BACKEND_ENTRY_VISIBILITY))))
const zyntax_backend *ZYNTAX_BACKEND_ENTRY_NAME(void);

const zyntax_backend *ZYNTAX_BACKEND_ENTRY_NAME(void) { return &evb_table; }
