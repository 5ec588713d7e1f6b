/* Where plugin files are looked for, and what is there. */
#ifndef ZYNTAX_LOADER_DIRS_H
#define ZYNTAX_LOADER_DIRS_H

#include <limits.h>

#define ZX_PLUGIN_PREFIX "libzyntax-backend-"
#define ZX_PLUGIN_SUFFIX ".so"
#define ZX_MAX_DIRS 16

typedef struct zx_dirs {
  char dir[ZX_MAX_DIRS][PATH_MAX];
  int count;
} zx_dirs;

/* The plugin search path, in order: $ZYNTAX_RUNTIME_PATH's absolute
 * entries, <dir of libzyntax>/zyntax/backends, the install dir, the build
 * tree. The environment and the build tree are skipped in secure-execution
 * mode. */
void zx_dirs_search(zx_dirs *dirs);

/* Nonzero in secure-execution mode (setuid, setgid, capabilities). */
int zx_secure_mode(void);

/* Calls fn(dir, file, name) for every libzyntax-backend-NAME.so in `dirs`;
 * stops early when fn returns nonzero. */
typedef int (*zx_plugin_visit_fn)(const char *dir, const char *file,
                                  const char *name, void *arg);
void zx_dirs_each_plugin(const zx_dirs *dirs, zx_plugin_visit_fn fn, void *arg);

/* Writes "dir/libzyntax-backend-NAME.so" to `out`; 0, or -1 if too long. */
int zx_plugin_path(char *out, size_t cap, const char *dir, const char *name);

#endif /* ZYNTAX_LOADER_DIRS_H */
