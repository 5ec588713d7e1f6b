/* fd readiness over the executor's own epoll set (reactor.h has the
 * design: one-shot registrations kept across waits, generation tokens). */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "executor.h"
#include "growtab.h"
#include "leaf.h"

struct zx_fdwait {
  zyntax_future base; /* first */
  zx_exec *ex;
  zx_fdwatch *watch; /* a watch's wait (NULL: a plain fd wait) */
  int fd;
  unsigned want;  /* ZYNTAX_READABLE / ZYNTAX_WRITABLE */
  int linked;     /* on its fd's (or its watch's) waiters */
  zx_fdwait *prev, *next;
  zyntax_waker waker;
  uint8_t cls; /* its arena class (leaf.h) */
};

/* An fd watch (reactor.h has the design). */
struct zx_fdwatch {
  zx_exec *ex;
  int fd;            /* the loader's duplicate: open until close returned */
  uint32_t armed;    /* EPOLLIN/EPOLLOUT reported now, level-triggered;
                        0: disarmed (one-shot, nothing asked) */
  int ended;         /* 0 while open, else the close's reason */
  zx_fdwait *waiters; /* pending waits, doubly linked */
  atomic_uint refs;  /* the loader's handle, one per wait future */
  uint8_t cls;
};

/* Events drained per epoll_wait, and rounds per dispatch (more wait for
 * the next loop turn: the set stays readable). */
#define ZX_REACTOR_BATCH 128
#define ZX_REACTOR_ROUNDS 4

static uint64_t token(int fd, uint32_t gen) {
  return (uint32_t)fd | (uint64_t)gen << 32;
}

/* A watch's token: its fd with bit 31 set, which no plain token has (fd
 * numbers are below 2^31). The loop's token (all ones) is checked first. */
#define WATCH_BIT (UINT64_C(1) << 31)

int zx_reactor_init(zx_reactor *r) {
  *r = (zx_reactor){.epfd = epoll_create1(EPOLL_CLOEXEC)};
  if (r->epfd >= 0) return 0;
  return errno == ENOMEM ? ZYNTAX_ENOMEM : ZYNTAX_EBACKEND;
}

static int reserve(zx_reactor *r, int fd) {
  if ((size_t)fd < r->n) return 0;
  zx_fdreg *grown = zx_table_grow(r->regs, &r->n, sizeof *grown, (size_t)fd);
  if (grown == NULL) return ZYNTAX_ENOMEM;
  r->regs = grown;
  return 0;
}

/* A list of waits: an fd's (zx_fdreg) or a watch's. */
static void link_wait(zx_fdwait **head, zx_fdwait *f) {
  f->prev = NULL;
  f->next = *head;
  if (*head) (*head)->prev = f;
  *head = f;
  f->linked = 1;
}

static void unlink_wait(zx_fdwait **head, zx_fdwait *f) {
  if (f->prev)
    f->prev->next = f->next;
  else
    *head = f->next;
  if (f->next) f->next->prev = f->prev;
  f->prev = f->next = NULL;
  f->linked = 0;
}

/* Completes a linked wait with `result` (the owner keeps the memory; its
 * next poll sees the result). */
static void finish(zx_fdwait **head, zx_fdwait *f, int result) {
  unlink_wait(head, f);
  f->base.result = result;
  zyntax_waker_wake(&f->waker);
}

/* Completes every wait of a list with `result`. */
static void finish_all(zx_fdwait **head, int result) {
  while (*head != NULL) finish(head, *head, result);
}

/* EPOLLIN / EPOLLOUT for what the waits of a list want. */
static uint32_t wanted(const zx_fdwait *f) {
  uint32_t mask = 0;
  for (; f != NULL; f = f->next)
    mask |= ((f->want & ZYNTAX_READABLE) ? EPOLLIN : 0u) |
            ((f->want & ZYNTAX_WRITABLE) ? EPOLLOUT : 0u);
  return mask;
}

static uint32_t epoll_mask(const zx_fdreg *reg) {
  return EPOLLONESHOT | wanted(reg->waiters);
}

/* The events of an epoll report as ZYNTAX_READABLE / WRITABLE. An error
 * or hangup reports every event: the waiter's next syscall returns the
 * real error, as with a plain poll(). */
static unsigned got_events(uint32_t events) {
  if (events & (EPOLLERR | EPOLLHUP)) return ZYNTAX_READABLE | ZYNTAX_WRITABLE;
  return ((events & EPOLLIN) ? ZYNTAX_READABLE : 0u) |
         ((events & EPOLLOUT) ? ZYNTAX_WRITABLE : 0u);
}

/* Completes the waits of a list that want some of `got`; nonzero when
 * any did. */
static int deliver_to(zx_fdwait **head, unsigned got) {
  int matched = 0;
  zx_fdwait *f = *head;
  while (f != NULL) {
    zx_fdwait *next = f->next;
    if (f->want & got) {
      finish(head, f, (int)(f->want & got));
      matched = 1;
    }
    f = next;
  }
  return matched;
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
    if (f != keep) finish(&reg->waiters, f, ZYNTAX_EBADF);
    f = next;
  }
  reg->registered = 0;
  reg->gen++;
}

/* Arms `fd` for its waiters, `fresh` (linked already) being a new one.
 * 0, or the error the new wait completes with. */
static int arm(zx_reactor *r, int fd, zx_fdwait *fresh) {
  zx_fdreg *reg = &r->regs[fd];
  /* A watch's duplicate: the caller's number was closed and a watch's
   * duplicate took it. A MOD would turn the watch's registration into this
   * wait's. */
  if (reg->watch != NULL) return ZYNTAX_EBADF;
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
  deliver_to(&reg->waiters, got_events(e->events));
  rearm(r, fd); /* one-shot: disabled until then */
}

/* Sets the watch's registration to report `events` (EPOLLIN/OUT),
 * level-triggered; with none, one-shot: an error or hangup (which epoll
 * reports whatever was asked) comes at most once more, not every turn. */
static int watch_ctl(zx_fdwatch *w, uint32_t events) {
  struct epoll_event ev = {.events = events ? events : EPOLLONESHOT,
                           .data.u64 = WATCH_BIT | (uint32_t)w->fd};
  if (epoll_ctl(w->ex->reactor.epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0) return -1;
  w->armed = events;
  return 0;
}

/* A watch's event. Waits that want it complete; the registration stays
 * as it is (the next wait costs nothing). Only an event nobody waited for
 * disarms what no wait wants (libuv's and libev's lazy stop): a task
 * between two waits is not woken for it, and the loop does not spin on a
 * level that nobody reads. */
static void deliver_watch(zx_reactor *r, const struct epoll_event *e) {
  size_t fd = (uint32_t)e->data.u64 & ~(uint32_t)WATCH_BIT;
  zx_fdwatch *w = fd < r->n ? r->regs[fd].watch : NULL;
  if (w == NULL || w->armed == 0) return; /* a disarmed one's last report */
  if (deliver_to(&w->waiters, got_events(e->events))) return;
  if (watch_ctl(w, wanted(w->waiters)) != 0) finish_all(&w->waiters, ZYNTAX_EBADF);
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
      if (evs[i].data.u64 == LOOP_TOKEN) {
        if (loop_ready != NULL) *loop_ready = 1;
      } else if (evs[i].data.u64 & WATCH_BIT) {
        deliver_watch(r, &evs[i]);
      } else {
        deliver(r, &evs[i]);
      }
    }
    if (n > 0) taken += n;
    if (n < ZX_REACTOR_BATCH) break;
  }
  return taken;
}

int zx_reactor_dispatch(zx_exec *ex) { return zx_reactor_wait(ex, 0, NULL); }

void zx_reactor_close(zx_reactor *r) {
  for (size_t fd = 0; fd < r->n; fd++) {
    finish_all(&r->regs[fd].waiters, ZYNTAX_ECLOSED);
    /* The loader closed every watch before destroy; one left over is
     * detached all the same. */
    if (r->regs[fd].watch != NULL) finish_all(&r->regs[fd].watch->waiters, ZYNTAX_ECLOSED);
  }
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
      link_wait(&r->regs[f->fd].waiters, f);
      rc = arm(r, f->fd, f);
      if (rc != 0) unlink_wait(&r->regs[f->fd].waiters, f);
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
  if (f->linked) unlink_wait(&f->ex->reactor.regs[f->fd].waiters, f);
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

/* ---- fd watches (ABI 2.2) ---- */

static zx_fdwatch *watch_of(zyntax_backend_fd_watch *h) { return (zx_fdwatch *)(void *)h; }

/* One reference less: the handle's or a wait's; the last frees. Any
 * thread (a wait may be dropped after destroy). */
static void watch_unref(zx_fdwatch *w) {
  /* acq_rel: the last one sees every other owner's writes before freeing. */
  if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) == 1)
    zx_leaf_free(w->ex, w, w->cls); /* maybe the executor's last block */
}

/* Registers the watch's fd, readable asked (most first waits are). The
 * number is the loader's duplicate: any plain waits the number still has
 * were left by a file closed under them (the caller's number, reused for
 * the duplicate) - stale. EEXIST: such a wait's one-shot registration of
 * this very file under this number is still in the set: taken over. */
static int watch_add(zx_reactor *r, zx_fdwatch *w) {
  displace(r, w->fd, NULL);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WATCH_BIT | (uint32_t)w->fd};
  if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, w->fd, &ev) == 0 ||
      (errno == EEXIST && epoll_ctl(r->epfd, EPOLL_CTL_MOD, w->fd, &ev) == 0)) {
    w->armed = EPOLLIN;
    r->regs[w->fd].watch = w;
    return 0;
  }
  /* EPERM: a file epoll cannot watch; EBADF; ENOMEM, ENOSPC. */
  return errno == ENOMEM || errno == ENOSPC ? ZYNTAX_ENOMEM : ZYNTAX_EBADF;
}

int zx_reactor_watch_open(zyntax_backend_runtime *rt, int fd,
                          zyntax_backend_fd_watch **out) {
  zx_exec *ex = (zx_exec *)rt;
  int rc = reserve(&ex->reactor, fd);
  if (rc != 0) return rc;
  uint8_t cls;
  zx_fdwatch *w = zx_leaf_alloc(ex, sizeof *w, alignof(zx_fdwatch), &cls);
  if (w == NULL) return ZYNTAX_ENOMEM;
  w->ex = ex;
  w->fd = fd;
  w->cls = cls;
  atomic_init(&w->refs, 1);
  if ((rc = watch_add(&ex->reactor, w)) != 0) {
    zx_leaf_free(ex, w, cls);
    return rc;
  }
  *out = (zyntax_backend_fd_watch *)(void *)w;
  return 0;
}

void zx_reactor_watch_close(zyntax_backend_fd_watch *h, int reason) {
  zx_fdwatch *w = watch_of(h);
  zx_reactor *r = &w->ex->reactor;
  struct epoll_event ev = {0}; /* kernels before 2.6.9 want one */
  if (r->epfd >= 0) epoll_ctl(r->epfd, EPOLL_CTL_DEL, w->fd, &ev);
  if ((size_t)w->fd < r->n && r->regs[w->fd].watch == w) r->regs[w->fd].watch = NULL;
  finish_all(&w->waiters, reason);
  w->ended = reason;
  watch_unref(w);
}

/* A wait's first poll: on the watch's list, its events asked of the
 * registration unless they are already (the steady state: no syscall).
 * 0, or the result it completes with. */
static int watch_start(zx_fdwait *f) {
  zx_fdwatch *w = f->watch;
  if (w->ended != 0) return w->ended;
  link_wait(&w->waiters, f);
  uint32_t need = wanted(w->waiters);
  if ((need & ~w->armed) != 0 && watch_ctl(w, w->armed | need) != 0) {
    unlink_wait(&w->waiters, f);
    return ZYNTAX_EBADF; /* the duplicate closed under the loader: misuse */
  }
  zx_count(&f->ex->stats.io_waits);
  return 0;
}

static zyntax_poll watchwait_poll(zyntax_future *base, const zyntax_waker *waker) {
  zx_fdwait *f = (zx_fdwait *)base;
  if (zx_leaf_refuse(base, f->ex)) return ZYNTAX_READY;
  if (!f->linked) { /* first poll: completion sets base->result instead */
    int rc = watch_start(f);
    if (rc != 0) {
      base->result = rc;
      return ZYNTAX_READY;
    }
  }
  zyntax_waker_store(&f->waker, waker);
  return ZYNTAX_PENDING;
}

/* Unlinked by the watch's close (the loader's, before destroy): then it
 * touches no reactor. */
static void watchwait_drop(zyntax_future *base) {
  zx_fdwait *f = (zx_fdwait *)base;
  zyntax_waker_drop(&f->waker);
  if (f->linked) unlink_wait(&f->watch->waiters, f);
  watch_unref(f->watch);
  zx_leaf_free(f->ex, f, f->cls);
}

const zyntax_future_ops zx_reactor_watchwait_ops =
    ZYNTAX_FUTURE_OPS_INIT(watchwait_poll, watchwait_drop);

int zx_reactor_watch_wait(zyntax_backend_fd_watch *h, unsigned events,
                          zyntax_future **out) {
  zx_fdwatch *w = watch_of(h);
  uint8_t cls;
  zx_fdwait *f = zx_leaf_alloc(w->ex, sizeof *f, alignof(zx_fdwait), &cls);
  if (f == NULL) return ZYNTAX_ENOMEM;
  f->cls = cls;
  f->base = (zyntax_future){&zx_reactor_watchwait_ops, ZYNTAX_NOT_FINISHED};
  f->ex = w->ex;
  f->watch = w;
  f->fd = w->fd;
  f->want = events;
  /* Relaxed: the wait reaches its poller through the caller's own
   * synchronisation, and only the last unref frees. */
  atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
  *out = &f->base;
  return 0;
}
