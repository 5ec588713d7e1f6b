/* Runtime-provided streams: the generic entry points, and the two streams
 * built on runtime futures, an interval timer and a readable fd. (The
 * channel receiver's stream is in channel.c.) */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "shared.h"

zyntax_stream_poll zyntax_stream_poll_next(zyntax_stream *s, const zyntax_waker *waker,
                                           void *out_item) {
  if (s == NULL || s->result != ZYNTAX_TASK_RUNNING) return ZYNTAX_STREAM_DONE;
  return s->vt->poll_next(s, waker, out_item);
}

int zyntax_stream_result(const zyntax_stream *s) {
  return s ? s->result : zx_fail_code(__func__, ZYNTAX_EINVAL);
}

void zyntax_stream_drop(zyntax_stream *s) {
  if (s != NULL) s->vt->drop(s);
}

static zyntax_stream_poll vt_poll_next(void *state, const zyntax_waker *waker, void *out) {
  return zyntax_stream_poll_next(state, waker, out);
}

static void vt_drop(void *state) { zyntax_stream_drop(state); }

static const zyntax_stream_vtable runtime_stream_vt = {vt_poll_next, vt_drop};

const zyntax_stream_vtable *zyntax_stream_vtable_of_runtime(void) {
  return &runtime_stream_vt;
}

/* Ends a stream: records why and says DONE. */
static zyntax_stream_poll done(zyntax_stream *s, int result) {
  s->result = result;
  return ZYNTAX_STREAM_DONE;
}

/* ---- interval ---- */

typedef struct interval {
  zyntax_stream base;
  zyntax_runtime *rt;
  uint64_t period, next; /* next = start + k * period: no drift */
  zyntax_future *sleep;
} interval;

static zyntax_stream_poll interval_next(void *state, const zyntax_waker *waker, void *out) {
  interval *iv = state;
  /* A tick already due (the consumer fell behind) needs no timer. */
  if (iv->sleep == NULL && zx_runtime_now(iv->rt) < iv->next) {
    iv->sleep = zyntax_sleep_until(iv->rt, iv->next);
    if (iv->sleep == NULL) return done(&iv->base, zyntax_last_error()->code);
  }
  if (iv->sleep != NULL) {
    if (zyntax_future_poll(iv->sleep, waker) == ZYNTAX_PENDING) return ZYNTAX_STREAM_PENDING;
    int rc = zyntax_future_result(iv->sleep);
    zyntax_future_drop(iv->sleep);
    iv->sleep = NULL;
    if (rc < 0) return done(&iv->base, rc);
  }
  *(uint64_t *)out = iv->next;
  iv->next += iv->period;
  return ZYNTAX_STREAM_ITEM;
}

static void interval_drop(void *state) {
  interval *iv = state;
  zyntax_future_drop(iv->sleep);
  free(iv);
}

static const zyntax_stream_vtable interval_vt = {interval_next, interval_drop};

zyntax_stream *zyntax_interval(zyntax_runtime *rt, uint64_t period_ns) {
  if (rt == NULL || period_ns == 0) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return NULL;
  }
  interval *iv = malloc(sizeof *iv);
  if (iv == NULL) {
    zx_fail_code(__func__, ZYNTAX_ENOMEM);
    return NULL;
  }
  iv->base = (zyntax_stream){&interval_vt, ZYNTAX_TASK_RUNNING};
  iv->rt = rt;
  iv->period = period_ns;
  iv->next = zx_runtime_now(rt) + period_ns;
  iv->sleep = NULL;
  return &iv->base;
}

/* ---- readable fd ---- */

typedef struct fd_stream {
  zyntax_stream base;
  zyntax_runtime *rt;
  int fd;
  int nonblocking; /* read first; else wait for readiness before each read */
  zyntax_future *wait;
  size_t cap;
  unsigned char buf[];
} fd_stream;

#define FD_STREAM_DEFAULT_CHUNK (64u * 1024u)

static zyntax_stream_poll fd_next(void *state, const zyntax_waker *waker, void *out) {
  fd_stream *s = state;
  for (;;) {
    if (s->wait != NULL || !s->nonblocking) {
      if (s->wait == NULL) {
        s->wait = zyntax_fd_wait(s->rt, s->fd, ZYNTAX_READABLE);
        if (s->wait == NULL) return done(&s->base, zyntax_last_error()->code);
      }
      if (zyntax_future_poll(s->wait, waker) == ZYNTAX_PENDING) return ZYNTAX_STREAM_PENDING;
      int rc = zyntax_future_result(s->wait);
      zyntax_future_drop(s->wait);
      s->wait = NULL;
      if (rc < 0) return done(&s->base, rc);
    }
    ssize_t n = read(s->fd, s->buf, s->cap);
    if (n > 0) {
      *(zyntax_chunk *)out = (zyntax_chunk){s->buf, (size_t)n};
      return ZYNTAX_STREAM_ITEM;
    }
    if (n == 0) return done(&s->base, 0);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return done(&s->base, errno == EBADF ? ZYNTAX_EBADF : ZYNTAX_EIO);
    s->wait = zyntax_fd_wait(s->rt, s->fd, ZYNTAX_READABLE);
    if (s->wait == NULL) return done(&s->base, zyntax_last_error()->code);
  }
}

static void fd_stream_drop(void *state) {
  fd_stream *s = state;
  zyntax_future_drop(s->wait);
  free(s);
}

static const zyntax_stream_vtable fd_stream_vt = {fd_next, fd_stream_drop};

zyntax_stream *zyntax_fd_stream(zyntax_runtime *rt, int fd, size_t chunk_size) {
  if (chunk_size == 0) chunk_size = FD_STREAM_DEFAULT_CHUNK;
  if (rt == NULL || fd < 0 || chunk_size > SIZE_MAX - sizeof(fd_stream)) {
    zx_fail_code(__func__, ZYNTAX_EINVAL);
    return NULL;
  }
  fd_stream *s = malloc(sizeof *s + chunk_size);
  if (s == NULL) {
    zx_fail_code(__func__, ZYNTAX_ENOMEM);
    return NULL;
  }
  int flags = fcntl(fd, F_GETFL);
  s->base = (zyntax_stream){&fd_stream_vt, ZYNTAX_TASK_RUNNING};
  s->rt = rt;
  s->fd = fd;
  s->nonblocking = flags >= 0 && (flags & O_NONBLOCK) != 0;
  s->wait = NULL;
  s->cap = chunk_size;
  return &s->base;
}
