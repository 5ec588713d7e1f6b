/* Runtime-provided streams: the interval (drift-free deadlines, never
 * early) and the readable fd (every byte, in order, then DONE at EOF). */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"

#define TICKS 5
#define PERIOD_NS 2000000u

typedef struct ticker {
  zyntax_stream *s;
  uint64_t deadline[TICKS], seen_at[TICKS];
  int n, result;
} ticker;

static zyntax_poll ticker_poll(void *state, const zyntax_waker *waker) {
  ticker *t = state;
  while (t->n < TICKS) {
    zyntax_stream_poll p =
        zyntax_stream_poll_next(t->s, waker, &t->deadline[t->n], &t->result);
    if (p == ZYNTAX_STREAM_PENDING) return ZYNTAX_PENDING;
    assert_int_equal(p, ZYNTAX_STREAM_ITEM);
    assert_int_equal(t->result, 0);
    t->seen_at[t->n++] = zyntax_now();
  }
  return ZYNTAX_READY;
}

static void interval_ticks_without_drift(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  uint64_t start = zyntax_now();
  ticker t = {NULL, {0}, {0}, 0, -99};
  assert_int_equal(zyntax_interval_stream(rt, PERIOD_NS, &t.s), 0);
  zyntax_task *task = zyntax_runtime_spawn(rt, &t, ticker_poll);
  assert_int_equal(zyntax_runtime_block_on(rt, task), 0);
  for (int i = 0; i < TICKS; i++) {
    /* Deadlines are first + k * period exactly, however late a poll ran. */
    assert_int_equal(t.deadline[i] - t.deadline[0], (uint64_t)i * PERIOD_NS);
    assert_true(t.seen_at[i] >= t.deadline[i]); /* never early */
  }
  assert_true(t.deadline[0] >= start + PERIOD_NS);
  assert_int_equal(zyntax_stream_result(t.s), ZYNTAX_NOT_FINISHED);
  zyntax_stream_drop(t.s);
  zyntax_task_drop(task);
  assert_int_equal(zyntax_interval_stream(rt, 0, &t.s), ZYNTAX_EINVAL);
  assert_null(t.s);
  assert_int_equal(zyntax_last_error()->code, ZYNTAX_EINVAL);
  end_runtime(rt);
}

#define BYTES (256 * 1024)

typedef struct reader {
  zyntax_stream *s;
  zyntax_chunk chunk;
  size_t total, chunks, max_chunk;
  uint64_t mismatches;
  int result;
} reader;

static zyntax_poll reader_poll(void *state, const zyntax_waker *waker) {
  reader *r = state;
  for (;;) {
    zyntax_stream_poll p = zyntax_stream_poll_next(r->s, waker, &r->chunk, &r->result);
    if (p == ZYNTAX_STREAM_PENDING) return ZYNTAX_PENDING;
    if (p == ZYNTAX_STREAM_DONE) return ZYNTAX_READY;
    const unsigned char *b = r->chunk.data;
    for (size_t i = 0; i < r->chunk.len; i++)
      r->mismatches += b[i] != (unsigned char)((r->total + i) * 7);
    r->total += r->chunk.len;
    r->chunks++;
    if (r->chunk.len > r->max_chunk) r->max_chunk = r->chunk.len;
  }
}

static void *pipe_writer(void *arg) {
  int fd = (int)(intptr_t)arg;
  static unsigned char buf[BYTES];
  for (size_t i = 0; i < BYTES; i++) buf[i] = (unsigned char)(i * 7);
  /* Pieces of odd sizes, so chunk boundaries vary. */
  for (size_t off = 0; off < BYTES;) {
    size_t n = BYTES - off < 5003 ? BYTES - off : 5003;
    ssize_t w = write(fd, buf + off, n);
    if (w <= 0) break;
    off += (size_t)w;
  }
  close(fd);
  return NULL;
}

static void fd_stream_reads_everything(void **state) {
  (void)state;
  for (int nonblocking = 0; nonblocking < 2; nonblocking++) {
    zyntax_runtime *rt = new_runtime();
    int p[2];
    assert_int_equal(pipe(p), 0);
    if (nonblocking) fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    reader r = {NULL, {NULL, 0}, 0, 0, 0, 0, -99};
    assert_int_equal(zyntax_fd_stream(rt, p[0], 4096, &r.s), 0);
    zyntax_task *t = zyntax_runtime_spawn(rt, &r, reader_poll);
    pthread_t th;
    pthread_create(&th, NULL, pipe_writer, (void *)(intptr_t)p[1]);
    assert_int_equal(zyntax_runtime_block_on(rt, t), 0);
    pthread_join(th, NULL);
    assert_int_equal(r.total, BYTES);
    assert_int_equal(r.mismatches, 0);
    assert_true(r.max_chunk <= 4096);
    assert_true(r.chunks >= BYTES / 4096);
    assert_int_equal(r.result, 0); /* EOF */
    assert_int_equal(zyntax_stream_result(r.s), 0);
    zyntax_stream_drop(r.s);
    close(p[0]);
    zyntax_task_drop(t);
    end_runtime(rt);
  }
}

static void fd_stream_bad_fd_ends_with_error(void **state) {
  (void)state;
  zyntax_runtime *rt = new_runtime();
  int p[2];
  assert_int_equal(pipe(p), 0);
  close(p[1]);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  zyntax_stream *s;
  assert_int_equal(zyntax_fd_stream(rt, p[0], 0, &s), 0);
  close(p[0]); /* now a bad descriptor */
  zyntax_chunk c;
  zyntax_waker w = zyntax_waker_noop();
  int rc = -99;
  assert_int_equal(zyntax_stream_poll_next(s, &w, &c, &rc), ZYNTAX_STREAM_DONE);
  assert_int_equal(rc, ZYNTAX_EBADF);
  assert_int_equal(zyntax_stream_result(s), ZYNTAX_EBADF);
  zyntax_stream_drop(s);
  assert_int_equal(zyntax_fd_stream(rt, -1, 0, &s), ZYNTAX_EINVAL);
  assert_null(s);
  rc = -99;
  assert_int_equal(zyntax_stream_poll_next(NULL, &w, &c, &rc), ZYNTAX_STREAM_DONE);
  assert_int_equal(rc, ZYNTAX_EINVAL);
  zyntax_stream_drop(NULL);
  end_runtime(rt);
}

TEST_GROUP(stream_tests) = {
    cmocka_unit_test(interval_ticks_without_drift),
    cmocka_unit_test(fd_stream_reads_everything),
    cmocka_unit_test(fd_stream_bad_fd_ends_with_error),
};
const size_t stream_count = GROUP_SIZE(stream_tests);
