/* One plugin file: security checks, dlopen, entry symbol, ABI validation. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "plugin.h"

/* The loader's registry: plugins already loaded and validated, by path.
 * Plugins stay resident, so a later create reuses the table without
 * touching the file system again. Guarded by the load lock (fork.c), which
 * zx_plugin_load holds throughout: fork() waits for a load under way. */
#define REGISTRY_SIZE 16

static struct {
  char path[PATH_MAX];
  const zyntax_backend *backend;
} registry[REGISTRY_SIZE];
static int registry_count;

static const zyntax_backend *registry_find(const char *path) {
  const zyntax_backend *be = NULL;
  for (int i = 0; i < registry_count && be == NULL; i++)
    if (strcmp(registry[i].path, path) == 0) be = registry[i].backend;
  return be;
}

static void registry_add(const char *path, const zyntax_backend *be) {
  if (registry_count < REGISTRY_SIZE && strlen(path) < PATH_MAX) {
    strcpy(registry[registry_count].path, path);
    registry[registry_count].backend = be;
    registry_count++;
  }
}

int zx_plugin_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* A plugin, or the folder holding it, that others may write could be
 * swapped under us: refuse it. */
static int check_permissions(const char *path, zyntax_error *err) {
  struct stat st;
  if (stat(path, &st) != 0)
    return zx_fail(err, ZYNTAX_ENOBACKEND, "plugin file '%s' does not exist",
                   path);
  if (!S_ISREG(st.st_mode))
    return zx_fail(err, ZYNTAX_EBADPLUGIN, "plugin '%s' is not a regular file",
                   path);
  if (st.st_mode & S_IWOTH)
    return zx_fail(err, ZYNTAX_EPERM,
                   "plugin '%s' is writable by others; refusing to load it",
                   path);
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  const char *parent = dirname(dir);
  if (stat(parent, &st) == 0 && (st.st_mode & S_IWOTH) &&
      !(st.st_mode & S_ISVTX))
    return zx_fail(err, ZYNTAX_EPERM,
                   "plugin directory '%s' is writable by others; refusing to "
                   "load '%s'", parent, path);
  return 0;
}

static int check_elf(const char *path, zyntax_error *err) {
  unsigned char magic[4] = {0};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int code = errno == EACCES ? ZYNTAX_EPERM : ZYNTAX_EIO;
    return zx_fail(err, code, "plugin '%s' cannot be opened: %s", path, strerror(errno));
  }
  ssize_t n = read(fd, magic, sizeof magic);
  close(fd);
  if (n != 4 || memcmp(magic, "\x7f" "ELF", 4) != 0)
    return zx_fail(err, ZYNTAX_EBADPLUGIN,
                   "plugin '%s' is not an ELF shared object", path);
  return 0;
}

static int load_locked(const char *path, const char *expected_name,
                       const zyntax_backend **out, zyntax_error *err) {
  const zyntax_backend *known = registry_find(path);
  if (known != NULL) return zx_plugin_validate(known, path, expected_name, out, err);
  int rc = check_permissions(path, err);
  if (rc == 0) rc = check_elf(path, err);
  if (rc != 0) return rc;

  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == NULL)
    return zx_fail(err, ZYNTAX_EBADPLUGIN, "plugin '%s' cannot be loaded: %s",
                   path, dlerror());
  zyntax_backend_entry_fn entry;
  *(void **)&entry = dlsym(handle, ZYNTAX_BACKEND_ENTRY_SYMBOL);
  if (entry == NULL)
    return zx_fail(err, ZYNTAX_EBADPLUGIN,
                   "plugin '%s' does not export " ZYNTAX_BACKEND_ENTRY_SYMBOL,
                   path);
  const zyntax_backend *be = entry();
  if (be == NULL)
    return zx_fail(err, ZYNTAX_EBADPLUGIN,
                   "plugin '%s': " ZYNTAX_BACKEND_ENTRY_SYMBOL "() returned NULL",
                   path);
  rc = zx_plugin_validate(be, path, expected_name, out, err);
  if (rc == 0) registry_add(path, be);
  if (rc == 0) zx_log("loaded backend '%s' (%s) from %s", be->name, be->version, path);
  return rc;
}

int zx_plugin_load(const char *path, const char *expected_name,
                   const zyntax_backend **out, zyntax_error *err) {
  zx_fork_watch(); /* the prepare handler must exist before we lock */
  zx_load_lock();
  int rc = load_locked(path, expected_name, out, err);
  zx_load_unlock();
  return rc;
}

static const char *missing_entry(const zyntax_backend *be) {
#define ZX_REQUIRE_(field) \
  if (be->field == NULL) return #field;
  ZX_REQUIRE_(task_ops)
  ZX_REQUIRE_(future_ops)
  ZX_REQUIRE_(runtime_create)
  ZX_REQUIRE_(runtime_destroy)
  ZX_REQUIRE_(spawn)
  ZX_REQUIRE_(block_on)
  ZX_REQUIRE_(block_on_future)
  ZX_REQUIRE_(run)
  ZX_REQUIRE_(stats)
  ZX_REQUIRE_(sleep_until)
  ZX_REQUIRE_(fd_wait)
  ZX_REQUIRE_(blocking)
#undef ZX_REQUIRE_
  return NULL;
}

/* Optional, but all three or none: half a host-loop interface would be
 * called with the other half missing. */
static int host_loop_partial(const zyntax_backend *be) {
  int set = (be->poll_fd != NULL) + (be->next_deadline != NULL) +
            (be->run_nowait != NULL);
  return set != 0 && set != 3;
}

/* Optional, but all three or none (ABI 2.2; a table too short for them
 * has none): a watch opened by one entry is waited on and closed by the
 * others. */
static int fd_watch_partial(const zyntax_backend *be) {
  if (be->size < ZYNTAX_BACKEND_SIZE_2_2) return 0;
  int set = (be->fd_watch_open != NULL) + (be->fd_watch_wait != NULL) +
            (be->fd_watch_close != NULL);
  return set != 0 && set != 3;
}

/* Optional, but both or none, and only over the 2.2 entries (ABI 2.3): a
 * backend that polls waits in place frees its watches in fd_watch_free. */
static int fd_watch_poll_partial(const zyntax_backend *be) {
  if (be->size < ZYNTAX_BACKEND_SIZE_2_3) return 0;
  int set = (be->fd_watch_poll != NULL) + (be->fd_watch_free != NULL);
  return set == 1 || (set == 2 && be->fd_watch_close == NULL);
}

/* The optional entries come in groups, each set whole or not at all: the
 * group set only in part, as the refusal names it, or NULL. */
static const char *partial_optional_group(const zyntax_backend *be) {
  if (host_loop_partial(be)) return "poll_fd, next_deadline, run_nowait: all three or none";
  if (fd_watch_partial(be))
    return "fd_watch_open, fd_watch_wait, fd_watch_close: all three or none";
  if (fd_watch_poll_partial(be))
    return "fd_watch_poll, fd_watch_free (both or none, and only with fd_watch_open, "
           "fd_watch_wait, fd_watch_close)";
  return NULL;
}

/* The first NULL op of a task op table, or NULL. */
static const char *missing_task_op(const zyntax_task_ops *t) {
  return !t->state ? "state" : !t->status ? "status" : !t->cancel ? "cancel"
       : !t->release ? "release" : !t->join ? "join" : NULL;
}

/* The op tables the backend's tasks and futures point to: each declares
 * a size covering ABI 2.0 and sets every op. Describes the first wrong
 * one in `what`; returns 0, ZYNTAX_EABI (too small) or ZYNTAX_EBADPLUGIN
 * (an op missing). */
static int check_op_tables(const zyntax_backend *be, char *what, size_t len) {
  const zyntax_task_ops *t = be->task_ops;
  if (t->size < ZYNTAX_TASK_OPS_SIZE_2_0) {
    snprintf(what, len, "task_ops declares %zu bytes; ABI %d.0 needs at least %zu",
             t->size, ZYNTAX_BACKEND_ABI_MAJOR, (size_t)ZYNTAX_TASK_OPS_SIZE_2_0);
    return ZYNTAX_EABI;
  }
  if (missing_task_op(t) != NULL) {
    snprintf(what, len, "task_ops has no '%s'", missing_task_op(t));
    return ZYNTAX_EBADPLUGIN;
  }
  size_t i = 0;
  for (const zyntax_future_ops *f; (f = be->future_ops[i]) != NULL; i++) {
    if (f->size < ZYNTAX_FUTURE_OPS_SIZE_2_0) {
      snprintf(what, len, "future_ops[%zu] declares %zu bytes; ABI %d.0 needs at least %zu",
               i, f->size, ZYNTAX_BACKEND_ABI_MAJOR, (size_t)ZYNTAX_FUTURE_OPS_SIZE_2_0);
      return ZYNTAX_EABI;
    }
    if (f->poll == NULL || f->drop == NULL) {
      snprintf(what, len, "future_ops[%zu] has no '%s'", i, f->poll ? "drop" : "poll");
      return ZYNTAX_EBADPLUGIN;
    }
  }
  if (i == 0) {
    snprintf(what, len, "future_ops lists no table");
    return ZYNTAX_EBADPLUGIN;
  }
  return 0;
}

int zx_plugin_validate(const zyntax_backend *be, const char *origin,
                       const char *expected_name, const zyntax_backend **out,
                       zyntax_error *err) {
  if (be->abi_major != ZYNTAX_BACKEND_ABI_MAJOR)
    return zx_fail(err, ZYNTAX_EABI,
                   "backend '%s' has ABI %u.%u; this libzyntax %s needs ABI "
                   "%d.x (it has %d.%d)",
                   origin, be->abi_major, be->abi_minor, ZYNTAX_VERSION_STRING,
                   ZYNTAX_BACKEND_ABI_MAJOR, ZYNTAX_BACKEND_ABI_MAJOR,
                   ZYNTAX_BACKEND_ABI_MINOR);
  if (be->size < ZYNTAX_BACKEND_SIZE_2_0)
    return zx_fail(err, ZYNTAX_EABI,
                   "backend '%s' (ABI %u.%u) declares a table of %zu bytes; ABI "
                   "%d.0 needs at least %zu",
                   origin, be->abi_major, be->abi_minor, be->size,
                   ZYNTAX_BACKEND_ABI_MAJOR, (size_t)ZYNTAX_BACKEND_SIZE_2_0);
  if (be->name == NULL || be->name[0] == '\0' || be->version == NULL)
    return zx_fail(err, ZYNTAX_EBADPLUGIN,
                   "backend '%s' has no name or version string", origin);
  const char *missing = missing_entry(be);
  if (missing != NULL)
    return zx_fail(err, ZYNTAX_EBADPLUGIN,
                   "backend '%s' (%s, ABI %u.%u) lacks the required entry '%s'",
                   origin, be->name, be->abi_major, be->abi_minor, missing);
  const char *partial = partial_optional_group(be);
  if (partial != NULL)
    return zx_fail(err, ZYNTAX_EBADPLUGIN,
                   "backend '%s' (%s, ABI %u.%u) sets only some of the optional "
                   "entries %s",
                   origin, be->name, be->abi_major, be->abi_minor, partial);
  char what[160];
  int rc = check_op_tables(be, what, sizeof what);
  if (rc != 0)
    return zx_fail(err, rc, "backend '%s' (%s, ABI %u.%u): its %s", origin,
                   be->name, be->abi_major, be->abi_minor, what);
  if (expected_name != NULL && strcmp(be->name, expected_name) != 0)
    return zx_fail(err, ZYNTAX_EBADPLUGIN,
                   "backend '%s' calls itself '%s', not '%s'", origin,
                   be->name, expected_name);
  *out = be;
  return 0;
}
