/* fd readiness for the C backends (uv, ev), written once: an epoll set of
 * the executor's own whose registrations stay across waits, watched by the
 * backend's loop as one fd (ev: an ev_io), or holding the loop's epoll fd
 * and waited on by the driving thread (uv: zx_reactor_add_loop).
 *
 * Why not the loop's own per-fd watch (uv_poll_t, ev_io) kept started?
 * zyntax_fd_wait() does not own its fd: the caller may close it as soon as
 * the wait is dropped. epoll forgets a registration only when the last
 * reference to the open file description goes, so a registration kept
 * past a close whose description lives on (dup(), fork(), SCM_RIGHTS)
 * stays in the set under the old number. libuv delivers its events by
 * number, to whatever watches that number now, cannot remove it (a DEL by
 * number resolves to the new file: ENOENT), and aborts on other epoll_ctl
 * errors; level-triggered, such a leftover spins the loop forever. Here:
 *
 *   - every registration is EPOLLONESHOT: once it fired it is disabled in
 *     the kernel and reports nothing more until re-armed. A leftover
 *     reports at most once.
 *   - its epoll data is a token (fd, generation), not the number: the
 *     generation changes whenever the number is registered anew, so the
 *     one event of a leftover is recognised and ignored.
 *   - a wait arms its fd with one EPOLL_CTL_MOD (level-checked: an fd
 *     ready already fires at once). The kernel keys the MOD by (open file,
 *     number), so the MOD is also the identity check: ENOENT means the
 *     number names another file now (closed and reused) - the waits still
 *     pending on the old file complete with ZYNTAX_EBADF (misuse displaced)
 *     and the number is registered again (ADD, next generation); EBADF
 *     means the fd is closed, EPERM that epoll cannot watch it (a regular
 *     file, /dev/null): the new wait completes with ZYNTAX_EBADF.
 *   - a completed or dropped wait changes nothing: a registration nobody
 *     waits on is at most armed once more and fires for nothing (lazy).
 *
 * Cost per wait: one epoll_ctl; per loop turn with fd events: one
 * epoll_wait on the set (ev: after the loop's own, but while the set stays
 * busy a blocking turn looks at it first; uv: the set holds the loop's fd
 * and is the only one waited on, zx_reactor_add_loop).
 * Driving thread only.
 *
 * Why still one epoll_ctl per plain wait, when a level-triggered
 * registration kept armed between waits would need none? Only the
 * epoll_ctl tells whether the number still names the registered file:
 * after a close, the kernel drops the registration silently (a kept one
 * would never fire for the socket now under the number), or keeps it while
 * a dup lives (it would fire for the old file). The one-shot re-arm is
 * that check.
 *
 * fd watches (zyntax_fd_watch_*, ABI 2.2) need no check: the loader hands
 * over a duplicate descriptor that nobody else can close or reuse until
 * the watch's close returned (src/core/fdwatch.c). So a watch's
 * registration is level-triggered and stays across waits:
 *   - its token is the duplicate's number with bit 31 set (WATCH_BIT), and
 *     regs[fd].watch finds the watch;
 *   - open ADDs it asking for readability; a wait whose events are asked
 *     already costs no syscall, one that wants more MODs them in (a
 *     level-triggered MOD reports at once what is ready already);
 *   - an event completes the waits that want it and changes nothing else;
 *     an event nobody waited for disarms lazily (one MOD, to what the
 *     waits still want, or to nothing - then one-shot, so that an error or
 *     hangup, which epoll always reports, fires at most once more). So a
 *     task between two waits is not woken, and a level nobody reads does
 *     not spin the loop; the next wait re-arms (one MOD), as libuv's lazy
 *     uv__io_stop and libev's lazy disarm do;
 *   - close DELs it (by the duplicate's number, which still names the
 *     file) before the loader closes the duplicate: no registration
 *     outlives its watch, whatever the caller did with its own fd;
 *   - a plain wait on a number that is a watch's duplicate (the caller's
 *     number closed under its wait and reused) completes with
 *     ZYNTAX_EBADF instead of taking over the watch's registration.
 * Steady state of a socket read once per readiness (tcp_echo, fd_fanout):
 * no epoll_ctl at all. */
#ifndef ZYNTAX_COMMON_REACTOR_H
#define ZYNTAX_COMMON_REACTOR_H

#include <stddef.h>
#include <stdint.h>

#include "zyntax/backend.h"

typedef struct zx_exec zx_exec;
typedef struct zx_fdwait zx_fdwait;
typedef struct zx_fdwatch zx_fdwatch;

/* What the set knows of one fd number. */
typedef struct zx_fdreg {
  zx_fdwait *waiters; /* pending waits on it, doubly linked */
  uint32_t gen;       /* in the token of its current registration */
  uint8_t registered; /* an ADD for this number succeeded (and may live) */
  zx_fdwatch *watch;  /* the open watch whose duplicate the number is */
} zx_fdreg;

typedef struct zx_reactor {
  int epfd;       /* the set, -1 once closed */
  zx_fdreg *regs; /* indexed by fd number, grown on demand */
  size_t n;
} zx_reactor;

/* Creates the set. 0, or ZYNTAX_ENOMEM / ZYNTAX_EBACKEND (out of fds). */
int zx_reactor_init(zx_reactor *r);

/* The set's fd: the backend's loop watches it for readability and calls
 * zx_reactor_dispatch() when it is; a host loop watches it too. */
static inline int zx_reactor_fd(const zx_reactor *r) { return r->epfd; }

/* Completes the waits whose fds are ready (loop callback, driving
 * thread). Returns how many events it took from the set. */
int zx_reactor_dispatch(zx_exec *ex);

/* The other way round, for a loop with an epoll fd of its own (libuv's
 * uv_backend_fd): the set holds the loop's fd, and the driving thread
 * blocks in the set instead of in the loop - one epoll_wait per turn, not
 * the loop's and then the set's, and no nested wakeup through the loop's
 * set for every fd event. 0, ZYNTAX_ENOMEM or ZYNTAX_EBACKEND. The loop
 * must then not watch the set (epoll refuses a cycle). */
int zx_reactor_add_loop(zx_reactor *r, int loop_fd);

/* Waits up to `timeout_ms` (-1: no limit, 0: not at all) for an event in
 * the set, completes the waits whose fds are ready, and sets *loop_ready
 * (unless NULL) when the loop's fd (zx_reactor_add_loop) is readable: the
 * loop has work. Returns how many events it took. Driving thread. */
int zx_reactor_wait(zx_exec *ex, int timeout_ms, int *loop_ready);

/* Destroy, after the backend stopped watching the set: waits that outlive
 * the runtime complete with ZYNTAX_ECLOSED and are detached (their drop
 * touches nothing); the set is closed. */
void zx_reactor_close(zx_reactor *r);

/* The backend vtable's fd_wait entry (any thread; the future arms its fd
 * at its first poll on the driving thread). */
int zx_reactor_fd_wait(zyntax_backend_runtime *rt, int fd, unsigned events,
                       zyntax_future **out);

/* The fd wait's op table, for the backend table's future_ops list. */
extern const zyntax_future_ops zx_reactor_fdwait_ops;

/* The backend vtable's fd watch entries (ABI 2.2; backend.h has the
 * contract). open and close run on the driving thread or while nobody
 * drives (the loader sees to it); wait on any thread, its future arming
 * at its first poll on the driving thread. */
int zx_reactor_watch_open(zyntax_backend_runtime *rt, int fd,
                          zyntax_backend_fd_watch **out);
int zx_reactor_watch_wait(zyntax_backend_fd_watch *w, unsigned events,
                          zyntax_future **out);
void zx_reactor_watch_close(zyntax_backend_fd_watch *w, int reason);

/* A watch wait's op table (future_ops), and the backend table's entries. */
extern const zyntax_future_ops zx_reactor_watchwait_ops;
#define ZX_REACTOR_WATCH_ENTRIES                                        \
  .fd_watch_open = zx_reactor_watch_open,                               \
  .fd_watch_wait = zx_reactor_watch_wait,                               \
  .fd_watch_close = zx_reactor_watch_close

#endif /* ZYNTAX_COMMON_REACTOR_H */
