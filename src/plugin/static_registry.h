/* Backends linked into libzyntax (CMake's ZYNTAX_STATIC_BACKENDS). The
 * table is generated at configure time and ends with a NULL name. */
#ifndef ZYNTAX_LOADER_STATIC_REGISTRY_H
#define ZYNTAX_LOADER_STATIC_REGISTRY_H

#include "zyntax/backend.h"

typedef struct zx_static_backend {
  const char *name;
  zyntax_backend_entry_fn entry;
} zx_static_backend;

extern const zx_static_backend zx_static_backends[];

#endif
