/* Driving a runtime from a host's event loop: the readiness fd, the next
 * deadline, and the non-blocking drive (zyntax_runtime_poll_fd & co).
 *
 * The fd the host watches is an epoll set of our own holding:
 *   - the loop's own fd (uv_backend_fd, an epoll fd), when it has one: the
 *     completions the loop sees (libev keeps its epoll fd private);
 *   - the reactor's epoll set (reactor.h): every fd a task waits on;
 *   - a timerfd armed, after every run_nowait, for the wheel's earliest
 *     tick: timers are not fds in libuv or libev, so their loop fd alone
 *     says nothing about them (libuv issues #1565, #965);
 *   - an eventfd written by every push from another thread (spawn, wake,
 *     release) and while tasks are still queued. libev's ev_async_send()
 *     writes its pipe only while a thread is inside ev_run(), so a host
 *     asleep in its own poll would not hear it.
 * A deadline is only ever filed by a task polled on the driving thread,
 * and anything another thread does reaches that thread through the inbox,
 * which writes the eventfd: so a deadline armed "from another thread" makes
 * the fd readable first (the inbox), then again when due (the timerfd). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "executor.h"
#include "sleep.h"

#define NS_PER_MS 1000000u

/* How many sleeps of the wheel's first slot are looked at to find the
 * exact earliest (beyond, the slot's start: one early wakeup, no more). */
#define EXACT_SCAN 64u

struct zx_host {
  int epfd;    /* what the host watches: the loop's fd, `timer`, `wake` */
  int timer;   /* CLOCK_MONOTONIC timerfd, armed for tick `armed` */
  int wake;    /* eventfd */
  int wake_pending; /* `wake` was written and not read yet; inbox lock */
  uint64_t armed;   /* ZX_WHEEL_NONE: disarmed. Driving thread. */
};

static void host_free(struct zx_host *h) {
  if (h->epfd >= 0) close(h->epfd);
  if (h->timer >= 0) close(h->timer);
  if (h->wake >= 0) close(h->wake);
  free(h);
}

static int watch(int epfd, int fd, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int host_new(int loop_fd, int reactor_fd, struct zx_host **out) {
  struct zx_host *h = malloc(sizeof *h);
  if (h == NULL) return ZYNTAX_ENOMEM;
  *h = (struct zx_host){.wake_pending = 0, .armed = ZX_WHEEL_NONE};
  h->epfd = epoll_create1(EPOLL_CLOEXEC);
  h->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  h->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (h->epfd < 0 || h->timer < 0 || h->wake < 0 ||
      (loop_fd >= 0 && watch(h->epfd, loop_fd, EPOLLIN) != 0) ||
      watch(h->epfd, reactor_fd, EPOLLIN) != 0 ||
      watch(h->epfd, h->timer, EPOLLIN) != 0 || watch(h->epfd, h->wake, EPOLLIN) != 0) {
    int code = errno == ENOMEM ? ZYNTAX_ENOMEM : ZYNTAX_EIO;
    host_free(h);
    return code;
  }
  *out = h;
  return 0;
}

void zx_host_signal_locked(struct zx_host *h) {
  if (h->wake_pending) return;
  h->wake_pending = 1;
  uint64_t one = 1;
  ssize_t n = write(h->wake, &one, sizeof one); /* cannot overflow: read first */
  (void)n;
}

static void host_signal(zx_exec *ex, struct zx_host *h) {
  pthread_mutex_lock(&ex->lock);
  zx_host_signal_locked(h);
  pthread_mutex_unlock(&ex->lock);
}

/* Before the inbox is taken: a push after this read writes again. */
static void host_drain_wake(zx_exec *ex, struct zx_host *h) {
  pthread_mutex_lock(&ex->lock);
  if (h->wake_pending) {
    uint64_t count;
    ssize_t n = read(h->wake, &count, sizeof count);
    (void)n;
    h->wake_pending = 0;
  }
  pthread_mutex_unlock(&ex->lock);
}

/* The timerfd follows the wheel's next tick. Re-arming (or disarming)
 * resets a fired timerfd's count, so it is quiet again. */
static void host_arm(zx_exec *ex, struct zx_host *h) {
  uint64_t next = zx_wheel_next_exact(&ex->wheel, EXACT_SCAN);
  if (next == h->armed) return;
  struct itimerspec its = {{0, 0}, {0, 0}};
  if (next != ZX_WHEEL_NONE) {
    uint64_t at = next * NS_PER_MS;
    its.it_value.tv_sec = (time_t)(at / 1000000000u);
    its.it_value.tv_nsec = (long)(at % 1000000000u);
    if (at == 0) its.it_value.tv_nsec = 1; /* 0 would disarm */
  }
  timerfd_settime(h->timer, TFD_TIMER_ABSTIME, &its, NULL);
  h->armed = next;
}

/* Work the host should come back for at once: queued tasks, or an inbox
 * filled by another thread. */
static int ready_now(zx_exec *ex) {
  return ex->run.head != NULL ||
         atomic_load_explicit(&ex->inbox_hint, memory_order_acquire);
}

int zx_host_poll_fd(zyntax_backend_runtime *rt, int *fd) {
  zx_exec *ex = (zx_exec *)rt;
  if (zx_exec_closed(ex)) return ZYNTAX_ECLOSED;
  if (ex->host == NULL) {
    int loop_fd = ex->ops->backend_fd(ex);
    struct zx_host *h;
    int rc = host_new(loop_fd, zx_reactor_fd(&ex->reactor), &h);
    if (rc != 0) return rc;
    pthread_mutex_lock(&ex->lock);
    ex->host = h;
    pthread_mutex_unlock(&ex->lock);
    host_arm(ex, h); /* what is already pending shows at once */
    if (ready_now(ex)) host_signal(ex, h);
  }
  *fd = ex->host->epfd;
  return 0;
}

int zx_host_next_deadline(zyntax_backend_runtime *rt, uint64_t *deadline_ns) {
  zx_exec *ex = (zx_exec *)rt;
  if (ready_now(ex)) {
    *deadline_ns = zx_now_ns();
    return 0;
  }
  uint64_t next = zx_wheel_next_exact(&ex->wheel, EXACT_SCAN);
  *deadline_ns = next == ZX_WHEEL_NONE ? UINT64_MAX : next * NS_PER_MS;
  return next == ZX_WHEEL_NONE ? 1 : 0;
}

int zx_host_run_nowait(zyntax_backend_runtime *rt, int *more) {
  zx_exec *ex = (zx_exec *)rt;
  if (zx_exec_closed(ex)) return ZYNTAX_ECLOSED;
  struct zx_host *h = ex->host;
  if (h != NULL) host_drain_wake(ex, h);
  int queued = zx_exec_drive_nowait(ex);
  if (h != NULL) {
    host_arm(ex, h);
    if (queued) host_signal(ex, h);
  }
  *more = ex->nlive > 0 ||
          atomic_load_explicit(&ex->inbox_hint, memory_order_acquire) != 0;
  return 0;
}

void zx_host_close(zx_exec *ex) {
  pthread_mutex_lock(&ex->lock);
  struct zx_host *h = ex->host;
  ex->host = NULL;
  pthread_mutex_unlock(&ex->lock);
  if (h != NULL) host_free(h);
}
