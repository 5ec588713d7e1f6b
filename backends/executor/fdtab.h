/* A table indexed by file descriptor number, grown on demand: each C
 * backend keeps its per-fd state (uv: the one watch of an fd; ev: the
 * waits started on it) in one. Driving thread only. */
#ifndef ZYNTAX_COMMON_FDTAB_H
#define ZYNTAX_COMMON_FDTAB_H

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "growtab.h"
#include "zyntax/backend.h"

typedef struct zx_fdtab {
  void **slot; /* slot[fd], NULL when nothing is kept for fd */
  size_t n;
} zx_fdtab;

/* Makes slot[fd] exist. Returns 0 or ZYNTAX_ENOMEM. */
static inline int zx_fdtab_reserve(zx_fdtab *t, int fd) {
  if ((size_t)fd < t->n) return 0;
  void **grown = zx_table_grow(t->slot, &t->n, sizeof *grown, (size_t)fd);
  if (grown == NULL) return ZYNTAX_ENOMEM;
  t->slot = grown;
  return 0;
}

static inline void zx_fdtab_free(zx_fdtab *t) {
  free(t->slot);
  t->slot = NULL;
  t->n = 0;
}

/* Which open file an fd number names: a number closed and reused while a
 * wait was pending on it names another file (device and inode) - the wait
 * is stale. */
typedef struct zx_fdid {
  dev_t dev;
  ino_t ino;
} zx_fdid;

static inline int zx_fdid_same(zx_fdid a, zx_fdid b) {
  return a.dev == b.dev && a.ino == b.ino;
}

static inline zx_fdid zx_fdid_of(const struct stat *st) {
  return (zx_fdid){st->st_dev, st->st_ino};
}

/* Can epoll watch this file? Sockets and pipes can; regular files and
 * directories cannot; a device is asked to an epoll instance of the
 * caller's own, `*probe_fd` (made on first use, -1 before; the caller
 * closes it), as libuv's uv_poll_init asks its loop's. With `probe_fd`
 * NULL (a loop that does not use epoll) a device counts as watchable, as
 * does one when no epoll instance can be made. */
static inline int zx_fd_watchable(int fd, const struct stat *st, int *probe_fd) {
  if (S_ISSOCK(st->st_mode) || S_ISFIFO(st->st_mode)) return 1;
  if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) return 0;
  if (probe_fd == NULL) return 1;
  if (*probe_fd < 0) *probe_fd = epoll_create1(EPOLL_CLOEXEC);
  if (*probe_fd < 0) return 1; /* cannot tell: let the loop decide */
  struct epoll_event e = {.events = EPOLLIN, .data = {.fd = fd}};
  if (epoll_ctl(*probe_fd, EPOLL_CTL_ADD, fd, &e) != 0) return 0;
  epoll_ctl(*probe_fd, EPOLL_CTL_DEL, fd, &e);
  return 1;
}

#endif /* ZYNTAX_COMMON_FDTAB_H */
