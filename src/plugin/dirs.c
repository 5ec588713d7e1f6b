/* The plugin search path and the plugin files found on it. */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "dirs.h"
#include "internal.h"

int zx_secure_mode(void) { return getauxval(AT_SECURE) != 0; }

static void add(zx_dirs *d, const char *dir, size_t len) {
  if (len == 0 || len >= PATH_MAX || d->count == ZX_MAX_DIRS) return;
  for (int i = 0; i < d->count; i++)
    if (strncmp(d->dir[i], dir, len) == 0 && d->dir[i][len] == '\0') return;
  memcpy(d->dir[d->count], dir, len);
  d->dir[d->count][len] = '\0';
  d->count++;
}

/* Relative entries are ignored: they would depend on the working dir. */
static void add_from_env(zx_dirs *d) {
  const char *path = zx_getenv("ZYNTAX_RUNTIME_PATH");
  while (path != NULL && *path != '\0') {
    const char *end = strchr(path, ':');
    size_t len = end ? (size_t)(end - path) : strlen(path);
    if (path[0] == '/') add(d, path, len);
    path = end ? end + 1 : NULL;
  }
}

/* The folder libzyntax itself was loaded from ("" if unknown). */
static void library_dir(char *out, size_t cap) {
  Dl_info info;
  out[0] = '\0';
  if (dladdr((void *)zx_dirs_search, &info) == 0 || !info.dli_fname) return;
  const char *slash = strrchr(info.dli_fname, '/');
  if (slash != NULL)
    snprintf(out, cap, "%.*s", (int)(slash - info.dli_fname), info.dli_fname);
}

void zx_dirs_search(zx_dirs *d) {
  d->count = 0;
  int secure = zx_secure_mode();
  if (!secure) add_from_env(d);
  /* An installed tree that was moved still finds its own plugins. */
  char lib[PATH_MAX], dir[PATH_MAX];
  library_dir(lib, sizeof lib);
  int n = snprintf(dir, sizeof dir, "%s/zyntax/backends", lib);
  if (lib[0] && n > 0 && n < (int)sizeof dir) add(d, dir, (size_t)n);
  add(d, ZYNTAX_PLUGIN_INSTALL_DIR, strlen(ZYNTAX_PLUGIN_INSTALL_DIR));
  /* The build tree's plugins, only for the libzyntax of that build tree. */
  if (!secure && strcmp(lib, ZYNTAX_LOADER_BUILD_DIR) == 0)
    add(d, ZYNTAX_PLUGIN_BUILD_DIR, strlen(ZYNTAX_PLUGIN_BUILD_DIR));
}

int zx_plugin_path(char *out, size_t cap, const char *dir, const char *name) {
  int n = snprintf(out, cap, "%s/" ZX_PLUGIN_PREFIX "%s" ZX_PLUGIN_SUFFIX, dir, name);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int plugin_name(const char *file, char *name, size_t cap) {
  size_t n = strlen(file), pre = strlen(ZX_PLUGIN_PREFIX), suf = strlen(ZX_PLUGIN_SUFFIX);
  if (n <= pre + suf || n - pre - suf >= cap) return -1;
  if (strncmp(file, ZX_PLUGIN_PREFIX, pre) != 0 || strcmp(file + n - suf, ZX_PLUGIN_SUFFIX) != 0)
    return -1;
  memcpy(name, file + pre, n - pre - suf);
  name[n - pre - suf] = '\0';
  return 0;
}

void zx_dirs_each_plugin(const zx_dirs *d, zx_plugin_visit_fn fn, void *arg) {
  for (int i = 0; i < d->count; i++) {
    DIR *dir = opendir(d->dir[i]);
    if (dir == NULL) continue;
    struct dirent *e;
    int stop = 0;
    while (!stop && (e = readdir(dir)) != NULL) {
      char name[128];
      if (plugin_name(e->d_name, name, sizeof name) == 0)
        stop = fn(d->dir[i], e->d_name, name, arg);
    }
    closedir(dir);
    if (stop) return;
  }
}
