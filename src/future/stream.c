/* Runtime-provided streams: the generic entry points, and the two streams
 * built on runtime futures, an interval timer and a readable fd. (The
 * channel receiver's stream is in channel.c.) */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "shared.h"

/* NULL arguments end the poll at once (DONE: nothing loops on it) without
 * ending the stream. */
zyntax_stream_poll zyntax_stream_poll_next(zyntax_stream *s, const zyntax_waker *waker,
                                           void *out_item, int *result) {
  if (s == NULL || out_item == NULL || result == NULL) {
    int bad = zx_fail_code(__func__, ZYNTAX_EINVAL);
    if (result != NULL) *result = bad;
    return ZYNTAX_STREAM_DONE;
  }
  zyntax_stream_poll p = ZYNTAX_STREAM_DONE;
  if (s->result == ZYNTAX_NOT_FINISHED) p = s->vt->poll_next(s, waker, out_item);
  if (p == ZYNTAX_STREAM_ITEM) *result = 0;
  if (p == ZYNTAX_STREAM_DONE) *result = s->result;
  return p;
}

int zyntax_stream_result(const zyntax_stream *s) {
  return s ? s->result : zx_fail_code(__func__, ZYNTAX_EINVAL);
}

void zyntax_stream_drop(zyntax_stream *s) {
  if (s != NULL) s->vt->drop(s);
}

/* The generic protocol has no result slot: a DONE stream's reason stays
 * readable through zyntax_stream_result. */
static zyntax_stream_poll vt_poll_next(void *state, const zyntax_waker *waker, void *out) {
  int rc;
  return zyntax_stream_poll_next(state, waker, out, &rc);
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
    int rc = zyntax_sleep_until_future(iv->rt, iv->next, &iv->sleep);
    if (rc != 0) return done(&iv->base, rc);
  }
  if (iv->sleep != NULL) {
    int rc;
    if (zyntax_future_poll(iv->sleep, waker, &rc) == ZYNTAX_PENDING)
      return ZYNTAX_STREAM_PENDING;
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

int zyntax_interval_stream(zyntax_runtime *rt, uint64_t period_ns,
                           zyntax_stream **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (rt == NULL || period_ns == 0) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  interval *iv = malloc(sizeof *iv);
  if (iv == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  iv->base = (zyntax_stream){&interval_vt, ZYNTAX_NOT_FINISHED};
  iv->rt = rt;
  iv->period = period_ns;
  iv->next = zx_runtime_now(rt) + period_ns;
  iv->sleep = NULL;
  *out = &iv->base;
  return 0;
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
      int rc = 0;
      if (s->wait == NULL) rc = zyntax_fd_wait_future(s->rt, s->fd, ZYNTAX_READABLE, &s->wait);
      if (rc != 0) return done(&s->base, rc);
      if (zyntax_future_poll(s->wait, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_STREAM_PENDING;
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
    int rc = zyntax_fd_wait_future(s->rt, s->fd, ZYNTAX_READABLE, &s->wait);
    if (rc != 0) return done(&s->base, rc);
  }
}

static void fd_stream_drop(void *state) {
  fd_stream *s = state;
  zyntax_future_drop(s->wait);
  free(s);
}

static const zyntax_stream_vtable fd_stream_vt = {fd_next, fd_stream_drop};

int zyntax_fd_stream(zyntax_runtime *rt, int fd, size_t chunk_size,
                     zyntax_stream **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (chunk_size == 0) chunk_size = FD_STREAM_DEFAULT_CHUNK;
  if (rt == NULL || fd < 0 || chunk_size > SIZE_MAX - sizeof(fd_stream))
    return zx_fail_code(__func__, ZYNTAX_EINVAL);
  fd_stream *s = malloc(sizeof *s + chunk_size);
  if (s == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  int flags = fcntl(fd, F_GETFL);
  s->base = (zyntax_stream){&fd_stream_vt, ZYNTAX_NOT_FINISHED};
  s->rt = rt;
  s->fd = fd;
  s->nonblocking = flags >= 0 && (flags & O_NONBLOCK) != 0;
  s->wait = NULL;
  s->cap = chunk_size;
  *out = &s->base;
  return 0;
}
