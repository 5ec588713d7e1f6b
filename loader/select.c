/* Backend discovery: a name or an absolute path -> a validated backend table.
 *
 * Order for a name: backends linked into libzyntax, then plugin files
 * libzyntax-backend-NAME.so in $ZYNTAX_RUNTIME_PATH (absolute dirs only),
 * the plugin dir next to this library, the configured install dir, and the
 * build tree. The first file found decides: a broken file is an error, never
 * a reason to try the next one (an A/B run must not measure the wrong thing).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "internal.h"
#include "plugin.h"
#include "static_registry.h"

#define PLUGIN_PREFIX "libzyntax-backend-"
#define PLUGIN_SUFFIX ".so"
#define MAX_DIRS 16

typedef struct dir_list {
  char dirs[MAX_DIRS][PATH_MAX];
  int count;
} dir_list;

/* A short growing text, truncated (never overflowing) at its capacity. */
typedef struct text {
  char buf[ZYNTAX_ERROR_MESSAGE_MAX];
  size_t len;
} text;

static void text_add(text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *fmt, ...) {
  if (t->len >= sizeof t->buf - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
  va_end(ap);
  if (n > 0) t->len += (size_t)n;
  if (t->len > sizeof t->buf - 1) t->len = sizeof t->buf - 1;
}

static int secure_mode(void) { return getauxval(AT_SECURE) != 0; }

static void dirs_add(dir_list *l, const char *dir, size_t len) {
  if (len == 0 || len >= PATH_MAX || l->count == MAX_DIRS) return;
  for (int i = 0; i < l->count; i++)
    if (strncmp(l->dirs[i], dir, len) == 0 && l->dirs[i][len] == '\0') return;
  memcpy(l->dirs[l->count], dir, len);
  l->dirs[l->count][len] = '\0';
  l->count++;
}

/* Entries of $ZYNTAX_RUNTIME_PATH that are absolute; relative ones are
 * ignored (they would depend on the working directory). */
static void dirs_from_env(dir_list *l) {
  const char *path = zx_getenv("ZYNTAX_RUNTIME_PATH");
  while (path != NULL && *path != '\0') {
    const char *end = strchr(path, ':');
    size_t len = end ? (size_t)(end - path) : strlen(path);
    if (path[0] == '/') dirs_add(l, path, len);
    path = end ? end + 1 : NULL;
  }
}

/* <dir of libzyntax.so>/zyntax/backends: an installed tree that was moved
 * still finds its own plugins. */
static void dir_next_to_library(dir_list *l) {
  Dl_info info;
  if (dladdr((void *)zx_backend_select, &info) == 0 || !info.dli_fname) return;
  const char *slash = strrchr(info.dli_fname, '/');
  if (slash == NULL) return;
  char dir[PATH_MAX];
  int n = snprintf(dir, sizeof dir, "%.*s/zyntax/backends",
                   (int)(slash - info.dli_fname), info.dli_fname);
  if (n > 0 && n < (int)sizeof dir) dirs_add(l, dir, (size_t)n);
}

static void search_dirs(dir_list *l) {
  l->count = 0;
  if (!secure_mode()) dirs_from_env(l);
  dir_next_to_library(l);
  dirs_add(l, ZYNTAX_PLUGIN_INSTALL_DIR, strlen(ZYNTAX_PLUGIN_INSTALL_DIR));
#ifdef ZYNTAX_PLUGIN_BUILD_DIR
  if (!secure_mode())
    dirs_add(l, ZYNTAX_PLUGIN_BUILD_DIR, strlen(ZYNTAX_PLUGIN_BUILD_DIR));
#endif
}

static int valid_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 64) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return 0;
  }
  return 1;
}

/* "uv (linked in), ev (/dir/libzyntax-backend-ev.so), ..." */
static void list_available(text *t, const dir_list *dirs) {
  int any = 0;
  for (const zx_static_backend *s = zx_static_backends; s->name; s++) {
    text_add(t, "%s%s (linked in)", any ? ", " : "", s->name);
    any = 1;
  }
  for (int i = 0; i < dirs->count; i++) {
    DIR *d = opendir(dirs->dirs[i]);
    if (d == NULL) continue;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      size_t n = strlen(e->d_name);
      size_t pre = strlen(PLUGIN_PREFIX), suf = strlen(PLUGIN_SUFFIX);
      if (n <= pre + suf || strncmp(e->d_name, PLUGIN_PREFIX, pre) != 0 ||
          strcmp(e->d_name + n - suf, PLUGIN_SUFFIX) != 0)
        continue;
      text_add(t, "%s%.*s (%s/%s)", any ? ", " : "", (int)(n - pre - suf),
               e->d_name + pre, dirs->dirs[i], e->d_name);
      any = 1;
    }
    closedir(d);
  }
  if (!any) text_add(t, "none");
}

static const zyntax_backend *find_static(const char *name) {
  for (const zx_static_backend *s = zx_static_backends; s->name; s++)
    if (strcmp(s->name, name) == 0) return s->entry();
  return NULL;
}

static int select_by_name(const char *name, const zyntax_backend **out,
                          zyntax_error *err) {
  const zyntax_backend *linked = find_static(name);
  if (linked != NULL)
    return zx_plugin_validate(linked, "linked-in backend", name, out, err);

  dir_list dirs;
  search_dirs(&dirs);
  text tried = {.len = 0};
  for (int i = 0; i < dirs.count; i++) {
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/" PLUGIN_PREFIX "%s" PLUGIN_SUFFIX,
                     dirs.dirs[i], name);
    if (n <= 0 || n >= (int)sizeof path) continue;
    if (zx_plugin_exists(path)) return zx_plugin_load(path, name, out, err);
    text_add(&tried, "%s%s", tried.len ? ", " : "", path);
  }
  text avail = {.len = 0};
  list_available(&avail, &dirs);
  return zx_fail(err, ZYNTAX_ENOBACKEND,
                 "backend '%s' not found; tried: %s%s; available: %s", name,
                 zx_static_backends[0].name ? "linked-in backends, " : "",
                 tried.len ? tried.buf : "no plugin directories", avail.buf);
}

static int select_by_path(const char *path, const zyntax_backend **out,
                          zyntax_error *err) {
  if (path[0] != '/')
    return zx_fail(err, ZYNTAX_EPERM,
                   "plugin path '%s' is relative; only absolute paths are "
                   "accepted", path);
  if (secure_mode())
    return zx_fail(err, ZYNTAX_EPERM,
                   "plugin path '%s' refused: plugin paths are ignored in "
                   "secure-execution (setuid/setgid) mode", path);
  if (!zx_plugin_exists(path))
    return zx_fail(err, ZYNTAX_ENOBACKEND, "plugin file '%s' does not exist",
                   path);
  return zx_plugin_load(path, NULL, out, err);
}

int zx_backend_select(const char *request, const zyntax_backend **out,
                      zyntax_error *err) {
  if (request == NULL || request[0] == '\0')
    request = zx_getenv("ZYNTAX_RUNTIME");
  if (request == NULL || request[0] == '\0') request = ZYNTAX_DEFAULT_BACKEND;
  if (strchr(request, '/') != NULL) return select_by_path(request, out, err);
  if (!valid_name(request)) {
    dir_list dirs;
    search_dirs(&dirs);
    text avail = {.len = 0};
    list_available(&avail, &dirs);
    return zx_fail(err, ZYNTAX_ENOBACKEND,
                   "'%.64s' is not a backend name (letters, digits, '-', '_') "
                   "nor an absolute plugin path; available: %s",
                   request, avail.buf);
  }
  return select_by_name(request, out, err);
}
