/* Backend selection: a name or an absolute path -> a validated backend.
 *
 * A name is looked up among the backends linked into libzyntax, then as a
 * plugin file on the search path (dirs.c). The first file found decides: a
 * broken file is an error, never a reason to try the next one (an A/B run
 * must not measure the wrong thing).
 */
#include <stdio.h>
#include <string.h>

#include "dirs.h"
#include "internal.h"
#include "plugin.h"
#include "static_registry.h"

/* A bounded growing text; truncates, never overflows. */
typedef struct text {
  char buf[ZYNTAX_ERROR_MESSAGE_MAX];
  size_t len;
} text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *fmt, ...) {
  if (t->len >= sizeof t->buf - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
  va_end(ap);
  if (n > 0) t->len += (size_t)n;
  if (t->len > sizeof t->buf - 1) t->len = sizeof t->buf - 1;
}

static int list_one(const char *dir, const char *file, const char *name, void *arg) {
  text *t = arg;
  text_add(t, "%s%s (%s/%s)", t->len ? ", " : "", name, dir, file);
  return 0;
}

/* "uv (linked in), ev (/dir/libzyntax-backend-ev.so), ..." */
static void list_available(text *t, const zx_dirs *dirs) {
  for (const zx_static_backend *s = zx_static_backends; s->name; s++)
    text_add(t, "%s%s (linked in)", t->len ? ", " : "", s->name);
  zx_dirs_each_plugin(dirs, list_one, t);
  if (t->len == 0) text_add(t, "none");
}

static int valid_name(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 64) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return 0;
  }
  return 1;
}

static const zyntax_backend *find_static(const char *name) {
  for (const zx_static_backend *s = zx_static_backends; s->name; s++)
    if (strcmp(s->name, name) == 0) return s->entry();
  return NULL;
}

static int select_by_name(const char *name, zx_choice *out, zyntax_error *err) {
  const zyntax_backend *linked = find_static(name);
  if (linked != NULL) {
    out->path[0] = '\0';
    return zx_plugin_validate(linked, "linked-in backend", name, &out->backend, err);
  }
  zx_dirs dirs;
  zx_dirs_search(&dirs);
  text tried = {.len = 0};
  for (int i = 0; i < dirs.count; i++) {
    if (zx_plugin_path(out->path, sizeof out->path, dirs.dir[i], name) != 0) continue;
    if (zx_plugin_exists(out->path))
      return zx_plugin_load(out->path, name, &out->backend, err);
    text_add(&tried, "%s%s", tried.len ? ", " : "", out->path);
  }
  text avail = {.len = 0};
  list_available(&avail, &dirs);
  return zx_fail(err, ZYNTAX_ENOBACKEND, "backend '%s' not found; tried: %s%s; available: %s",
                 name, zx_static_backends[0].name ? "linked-in backends, " : "",
                 tried.len ? tried.buf : "no plugin directories", avail.buf);
}

static int select_by_path(const char *path, zx_choice *out, zyntax_error *err) {
  if (path[0] != '/')
    return zx_fail(err, ZYNTAX_EPERM,
                   "plugin path '%s' is relative; only absolute paths are accepted", path);
  if (zx_secure_mode())
    return zx_fail(err, ZYNTAX_EPERM,
                   "plugin path '%s' refused: plugin paths are ignored in "
                   "secure-execution (setuid/setgid) mode", path);
  if (!zx_plugin_exists(path))
    return zx_fail(err, ZYNTAX_ENOBACKEND, "plugin file '%s' does not exist", path);
  snprintf(out->path, sizeof out->path, "%s", path);
  return zx_plugin_load(path, NULL, &out->backend, err);
}

int zx_backend_resolve(const char *request, zx_choice *out, zyntax_error *err) {
  out->backend = NULL;
  out->path[0] = '\0';
  if (request != NULL && request[0] != '\0') {
    snprintf(out->reason, sizeof out->reason, "requested in the runtime options");
  } else if ((request = zx_getenv("ZYNTAX_RUNTIME")) != NULL && request[0] != '\0') {
    snprintf(out->reason, sizeof out->reason, "ZYNTAX_RUNTIME=%.200s", request);
  } else {
    request = ZYNTAX_DEFAULT_BACKEND;
    snprintf(out->reason, sizeof out->reason,
             "ZYNTAX_RUNTIME is unset: the build's default backend");
  }
  if (strchr(request, '/') != NULL) return select_by_path(request, out, err);
  if (valid_name(request)) return select_by_name(request, out, err);
  zx_dirs dirs;
  zx_dirs_search(&dirs);
  text avail = {.len = 0};
  list_available(&avail, &dirs);
  return zx_fail(err, ZYNTAX_ENOBACKEND,
                 "'%.64s' is not a backend name (letters, digits, '-', '_') nor an "
                 "absolute plugin path; available: %s", request, avail.buf);
}
