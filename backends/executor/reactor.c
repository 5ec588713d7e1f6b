/* fd readiness over the executor's own epoll set (reactor.h has the
 * design: one-shot registrations kept across waits, generation tokens). */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "executor.h"
#include "leaf.h"

struct zx_fdwait {
  zyntax_future base; /* first */
  zx_exec *ex;
  int fd;
  unsigned want;  /* ZYNTAX_READABLE / ZYNTAX_WRITABLE */
  int linked;     /* on its fd's waiters */
  zx_fdwait *prev, *next;
  zyntax_waker waker;
  uint8_t cls; /* its arena class (leaf.h) */
};

/* Events drained per epoll_wait, and rounds per dispatch (more wait for
 * the next loop turn: the set stays readable). */
#define ZX_REACTOR_BATCH 128
#define ZX_REACTOR_ROUNDS 4

static uint64_t token(int fd, uint32_t gen) {
  return (uint32_t)fd | (uint64_t)gen << 32;
}

int zx_reactor_init(zx_reactor *r) {
  *r = (zx_reactor){.epfd = epoll_create1(EPOLL_CLOEXEC)};
  if (r->epfd >= 0) return 0;
  return errno == ENOMEM ? ZYNTAX_ENOMEM : ZYNTAX_EBACKEND;
}

static int reserve(zx_reactor *r, int fd) {
  if ((size_t)fd < r->n) return 0;
  size_t n = r->n ? r->n : 64;
  while (n <= (size_t)fd) n *= 2;
  zx_fdreg *grown = realloc(r->regs, n * sizeof *grown);
  if (grown == NULL) return ZYNTAX_ENOMEM;
  memset(grown + r->n, 0, (n - r->n) * sizeof *grown);
  r->regs = grown;
  r->n = n;
  return 0;
}

static void link_wait(zx_fdreg *reg, zx_fdwait *f) {
  f->prev = NULL;
  f->next = reg->waiters;
  if (reg->waiters) reg->waiters->prev = f;
  reg->waiters = f;
  f->linked = 1;
}

static void unlink_wait(zx_fdreg *reg, zx_fdwait *f) {
  if (f->prev)
    f->prev->next = f->next;
  else
    reg->waiters = f->next;
  if (f->next) f->next->prev = f->prev;
  f->prev = f->next = NULL;
  f->linked = 0;
}

/* Completes a linked wait with `result` (the owner keeps the memory; its
 * next poll sees the result). */
static void finish(zx_fdreg *reg, zx_fdwait *f, int result) {
  unlink_wait(reg, f);
  f->base.result = result;
  zyntax_waker_wake(&f->waker);
}

static uint32_t epoll_mask(const zx_fdreg *reg) {
  uint32_t mask = EPOLLONESHOT;
  for (zx_fdwait *f = reg->waiters; f != NULL; f = f->next)
    mask |= ((f->want & ZYNTAX_READABLE) ? EPOLLIN : 0u) |
            ((f->want & ZYNTAX_WRITABLE) ? EPOLLOUT : 0u);
  return mask;
}

static int ctl(zx_reactor *r, int op, int fd) {
  zx_fdreg *reg = &r->regs[fd];
  struct epoll_event ev = {.events = epoll_mask(reg), .data.u64 = token(fd, reg->gen)};
  return epoll_ctl(r->epfd, op, fd, &ev);
}

/* The number names another file than the one registered: its pending
 * waits are stale (their fd was closed under them), the next
 * registration gets a new generation. */
static void displace(zx_reactor *r, int fd, zx_fdwait *keep) {
  zx_fdreg *reg = &r->regs[fd];
  zx_fdwait *f = reg->waiters;
  while (f != NULL) {
    zx_fdwait *next = f->next;
    if (f != keep) finish(reg, f, ZYNTAX_EBADF);
    f = next;
  }
  reg->registered = 0;
  reg->gen++;
}

/* Arms `fd` for its waiters, `fresh` (linked already) being a new one.
 * 0, or the error the new wait completes with. */
static int arm(zx_reactor *r, int fd, zx_fdwait *fresh) {
  zx_fdreg *reg = &r->regs[fd];
  if (reg->registered) {
    if (ctl(r, EPOLL_CTL_MOD, fd) == 0) return 0;
    if (errno == EBADF) return ZYNTAX_EBADF; /* closed: nothing to re-add */
    displace(r, fd, fresh); /* ENOENT, EPERM: another file now */
  }
  /* EEXIST: an earlier registration of this very file outlived a failed
   * re-arm; modifying it is as good. */
  if (ctl(r, EPOLL_CTL_ADD, fd) == 0 ||
      (errno == EEXIST && ctl(r, EPOLL_CTL_MOD, fd) == 0)) {
    reg->registered = 1;
    return 0;
  }
  /* EBADF: closed; EPERM: a file epoll cannot watch; ENOMEM, ENOSPC. */
  return errno == ENOMEM ? ZYNTAX_ENOMEM : ZYNTAX_EBADF;
}

/* Re-arms an fd whose registration fired while some of its waits still
 * want other events; if that fails the fd was closed under them. */
static void rearm(zx_reactor *r, int fd) {
  zx_fdreg *reg = &r->regs[fd];
  if (reg->waiters == NULL || ctl(r, EPOLL_CTL_MOD, fd) == 0) return;
  displace(r, fd, NULL);
}

static void deliver(zx_reactor *r, const struct epoll_event *e) {
  int fd = (int)(uint32_t)e->data.u64;
  uint32_t gen = (uint32_t)(e->data.u64 >> 32);
  if ((size_t)fd >= r->n || r->regs[fd].gen != gen) return; /* a leftover */
  zx_fdreg *reg = &r->regs[fd];
  /* An error or hangup reports every wanted event: the waiter's next
   * syscall returns the real error, as with a plain poll(). */
  unsigned got = (e->events & (EPOLLERR | EPOLLHUP))
                     ? ZYNTAX_READABLE | ZYNTAX_WRITABLE
                     : ((e->events & EPOLLIN) ? ZYNTAX_READABLE : 0u) |
                           ((e->events & EPOLLOUT) ? ZYNTAX_WRITABLE : 0u);
  zx_fdwait *f = reg->waiters;
  while (f != NULL) {
    zx_fdwait *next = f->next;
    if (f->want & got) finish(reg, f, (int)(f->want & got));
    f = next;
  }
  rearm(r, fd); /* one-shot: disabled until then */
}

/* The token of the loop's own fd in the set: no fd number (< 2^31) and
 * generation give it. */
#define LOOP_TOKEN UINT64_MAX

int zx_reactor_add_loop(zx_reactor *r, int loop_fd) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LOOP_TOKEN};
  if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, loop_fd, &ev) == 0) return 0;
  return errno == ENOMEM || errno == ENOSPC ? ZYNTAX_ENOMEM : ZYNTAX_EBACKEND;
}

int zx_reactor_wait(zx_exec *ex, int timeout_ms, int *loop_ready) {
  zx_reactor *r = &ex->reactor;
  struct epoll_event evs[ZX_REACTOR_BATCH];
  int taken = 0;
  for (int round = 0; round < ZX_REACTOR_ROUNDS; round++) {
    int n = epoll_wait(r->epfd, evs, ZX_REACTOR_BATCH, round == 0 ? timeout_ms : 0);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 != LOOP_TOKEN)
        deliver(r, &evs[i]);
      else if (loop_ready != NULL)
        *loop_ready = 1;
    }
    if (n > 0) taken += n;
    if (n < ZX_REACTOR_BATCH) break;
  }
  return taken;
}

int zx_reactor_dispatch(zx_exec *ex) { return zx_reactor_wait(ex, 0, NULL); }

void zx_reactor_close(zx_reactor *r) {
  for (size_t fd = 0; fd < r->n; fd++)
    while (r->regs[fd].waiters != NULL)
      finish(&r->regs[fd], r->regs[fd].waiters, ZYNTAX_ECLOSED);
  free(r->regs);
  r->regs = NULL;
  r->n = 0;
  if (r->epfd >= 0) close(r->epfd);
  r->epfd = -1;
}

/* ---- the future ---- */

static zyntax_poll fdwait_poll(zyntax_future *base, const zyntax_waker *waker) {
  zx_fdwait *f = (zx_fdwait *)base;
  zx_reactor *r = &f->ex->reactor;
  if (zx_leaf_refuse(base, f->ex)) return ZYNTAX_READY;
  if (!f->linked) { /* first poll: completion sets base->result instead */
    int rc = reserve(r, f->fd);
    if (rc == 0) {
      link_wait(&r->regs[f->fd], f);
      rc = arm(r, f->fd, f);
      if (rc != 0) unlink_wait(&r->regs[f->fd], f);
    }
    if (rc != 0) {
      base->result = rc;
      return ZYNTAX_READY;
    }
    zx_count(&f->ex->stats.io_waits);
  }
  zyntax_waker_store(&f->waker, waker);
  return ZYNTAX_PENDING;
}

/* Unlinked after destroy (zx_reactor_close): touches no reactor then. */
static void fdwait_drop(zyntax_future *base) {
  zx_fdwait *f = (zx_fdwait *)base;
  zyntax_waker_drop(&f->waker);
  if (f->linked) unlink_wait(&f->ex->reactor.regs[f->fd], f);
  zx_leaf_free(f->ex, f, f->cls); /* maybe the last block */
}

const zyntax_future_ops zx_reactor_fdwait_ops = ZYNTAX_FUTURE_OPS_INIT(fdwait_poll, fdwait_drop);

int zx_reactor_fd_wait(zyntax_backend_runtime *rt, int fd, unsigned events,
                       zyntax_future **out) {
  zx_exec *ex = (zx_exec *)rt;
  uint8_t cls;
  zx_fdwait *f = zx_leaf_alloc(ex, sizeof *f, alignof(zx_fdwait), &cls);
  if (f == NULL) return ZYNTAX_ENOMEM;
  f->cls = cls;
  f->base = (zyntax_future){&zx_reactor_fdwait_ops, ZYNTAX_NOT_FINISHED};
  f->ex = ex;
  f->fd = fd;
  f->want = events;
  *out = &f->base;
  return 0;
}
