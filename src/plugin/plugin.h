/* Loading one plugin file and validating a backend table. */
#ifndef ZYNTAX_LOADER_PLUGIN_H
#define ZYNTAX_LOADER_PLUGIN_H

#include "zyntax/backend.h"

/* Nonzero if `path` names an existing file (of any kind). */
int zx_plugin_exists(const char *path);

/* dlopen()s `path` (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE: a plugin is never
 * unloaded), calls its zyntax_backend_entry and validates the table. When
 * `expected_name` is not NULL the backend must report that name. */
int zx_plugin_load(const char *path, const char *expected_name,
                   const zyntax_backend **out, zyntax_error *err);

/* Checks ABI version, size and required entries of `be`; `origin` names
 * where it came from in error messages. */
int zx_plugin_validate(const zyntax_backend *be, const char *origin,
                       const char *expected_name, const zyntax_backend **out,
                       zyntax_error *err);

#endif /* ZYNTAX_LOADER_PLUGIN_H */
