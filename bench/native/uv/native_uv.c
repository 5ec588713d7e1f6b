/* zyntax-bench: the native libuv baseline. Each workload of
 * docs/benchmarks.md as a libuv user writes it with plain callbacks, all on
 * one uv_loop_t made once per process; state reaches callbacks through
 * handle->data. Each repetition closes every handle it made and runs the
 * loop until the closes are done, so the loop is empty between repetitions
 * and uv_loop_close succeeds at exit. */
#include "bench_common.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t *loop; /* the process's loop, set once in main */

static int uv_fail(const char *what, int rc) {
  errno = -rc; /* libuv's codes are negated errnos on Unix */
  return zb_fail(what);
}

static void free_handle(uv_handle_t *h) { free(h); }
static void free_data(uv_handle_t *h) { free(h->data); }

/* Runs the loop until the closes just asked for are done. */
static void finish_closes(void) { uv_run(loop, UV_RUN_DEFAULT); }

/* ---- dispatch, yield_many: idle watchers each called `calls` times ---- */

typedef struct idler {
  uv_idle_t idle;
  uint64_t left;
  uint64_t *calls;
} idler;

static void idler_cb(uv_idle_t *h) {
  idler *w = h->data;
  ++*w->calls;
  if (--w->left == 0) uv_idle_stop(h);
}

static int run_idlers(const char *what, uint32_t watchers, uint64_t calls_each,
                      zb_sample *out) {
  idler *w = calloc(watchers, sizeof *w);
  if (!w) return zb_fail("calloc");
  uint64_t calls = 0;
  zb_begin(out);
  for (uint32_t i = 0; i < watchers; i++) {
    uv_idle_init(loop, &w[i].idle);
    w[i].idle.data = &w[i];
    w[i].left = calls_each;
    w[i].calls = &calls;
    uv_idle_start(&w[i].idle, idler_cb);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  zb_end(out);
  out->ops = calls;
  for (uint32_t i = 0; i < watchers; i++) uv_close((uv_handle_t *)&w[i].idle, NULL);
  finish_closes();
  free(w);
  return zb_check_count(what, calls, (uint64_t)watchers * calls_each);
}

static int run_dispatch(const zb_sizes *sz, zb_sample *out) {
  return run_idlers("dispatch: polls", 1, sz->dispatch_polls, out);
}

static int run_yield_many(const zb_sizes *sz, zb_sample *out) {
  return run_idlers("yield_many: yields", sz->yield_tasks, sz->yield_count, out);
}

/* ---- spawn_many, chained_spawn: heap watchers started from a callback ---- */

typedef struct spawner {
  uv_idle_t root;      /* started before the loop runs; starts the first batch */
  uv_idle_cb child_cb; /* what each spawned watcher runs */
  uint32_t batch;      /* watchers the root starts */
  uint32_t total, done;
  int failed;
} spawner;

static void spawn_child(uv_loop_t *l, spawner *s) {
  uv_idle_t *h = malloc(sizeof *h);
  if (!h) {
    s->failed = 1;
    return;
  }
  uv_idle_init(l, h);
  h->data = s;
  uv_idle_start(h, s->child_cb);
}

static void spawn_root_cb(uv_idle_t *root) {
  spawner *s = root->data;
  uv_idle_stop(root);
  for (uint32_t i = 0; i < s->batch && !s->failed; i++) spawn_child(root->loop, s);
}

static void spawned_cb(uv_idle_t *h) {
  spawner *s = h->data;
  uv_idle_stop(h);
  s->done++;
  uv_close((uv_handle_t *)h, free_handle);
}

static void chained_cb(uv_idle_t *h) {
  spawner *s = h->data;
  uv_idle_stop(h);
  if (++s->done < s->total) spawn_child(h->loop, s);
  uv_close((uv_handle_t *)h, free_handle);
}

static int run_spawner(const char *what, uv_idle_cb child_cb, uint32_t batch,
                       uint32_t total, zb_sample *out) {
  spawner s = {.child_cb = child_cb, .batch = batch, .total = total};
  zb_begin(out);
  uv_idle_init(loop, &s.root);
  s.root.data = &s;
  uv_idle_start(&s.root, spawn_root_cb);
  uv_run(loop, UV_RUN_DEFAULT);
  zb_end(out);
  out->ops = s.done;
  uv_close((uv_handle_t *)&s.root, NULL);
  finish_closes();
  if (s.failed) return zb_fail("malloc");
  return zb_check_count(what, s.done, total);
}

static int run_spawn_many(const zb_sizes *sz, zb_sample *out) {
  return run_spawner("spawn_many: tasks", spawned_cb, sz->spawn_tasks, sz->spawn_tasks, out);
}

static int run_chained_spawn(const zb_sizes *sz, zb_sample *out) {
  return run_spawner("chained_spawn: tasks", chained_cb, 1, sz->chain_tasks, out);
}

/* ---- ping_pong: the ball is whichever idle watcher of the pair is active ---- */

typedef struct pp_pair {
  uv_idle_t a, b;
  uint32_t rounds, limit;
} pp_pair;

static void pong_cb(uv_idle_t *b);

static void ping_cb(uv_idle_t *a) {
  pp_pair *p = a->data;
  uv_idle_stop(a);
  if (p->rounds < p->limit) uv_idle_start(&p->b, pong_cb);
}

static void pong_cb(uv_idle_t *b) {
  pp_pair *p = b->data;
  uv_idle_stop(b);
  p->rounds++; /* A -> B -> A is one round trip */
  uv_idle_start(&p->a, ping_cb);
}

static int run_ping_pong(const zb_sizes *sz, zb_sample *out) {
  uint32_t n = sz->pingpong_pairs;
  pp_pair *p = calloc(n, sizeof *p);
  if (!p) return zb_fail("calloc");
  zb_begin(out);
  for (uint32_t i = 0; i < n; i++) {
    uv_idle_init(loop, &p[i].a);
    uv_idle_init(loop, &p[i].b);
    p[i].a.data = p[i].b.data = &p[i];
    p[i].limit = sz->pingpong_rounds;
    uv_idle_start(&p[i].a, ping_cb);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  zb_end(out);
  uint64_t trips = 0;
  for (uint32_t i = 0; i < n; i++) {
    trips += p[i].rounds;
    uv_close((uv_handle_t *)&p[i].a, NULL);
    uv_close((uv_handle_t *)&p[i].b, NULL);
  }
  finish_closes();
  free(p);
  out->ops = trips;
  return zb_check_count("ping_pong: round trips", trips, (uint64_t)n * sz->pingpong_rounds);
}

/* ---- cross_thread_wake: uv_async_send from a thread, a semaphore back ---- */

typedef struct xwake {
  uv_async_t async;
  uv_sem_t sem;
  _Atomic uint64_t seq; /* the thread's latest wake */
  uint64_t seen, rounds;
} xwake;

static void xwake_thread(void *arg) {
  xwake *x = arg;
  for (uint64_t i = 1; i <= x->rounds; i++) {
    atomic_store_explicit(&x->seq, i, memory_order_release);
    uv_async_send(&x->async);
    uv_sem_wait(&x->sem);
  }
}

static void xwake_cb(uv_async_t *a) {
  xwake *x = a->data;
  uint64_t seq = atomic_load_explicit(&x->seq, memory_order_acquire);
  if (seq == x->seen) return; /* nothing new */
  x->seen = seq;
  /* The thread sends no more after the last post: the loop can end. */
  if (seq == x->rounds) uv_close((uv_handle_t *)a, NULL);
  uv_sem_post(&x->sem);
}

static int run_cross_thread_wake(const zb_sizes *sz, zb_sample *out) {
  xwake x = {.rounds = sz->xthread_rounds};
  atomic_init(&x.seq, 0);
  int rc = uv_sem_init(&x.sem, 0);
  if (rc != 0) return uv_fail("uv_sem_init", rc);
  uv_thread_t thread;
  zb_begin(out);
  rc = uv_async_init(loop, &x.async, xwake_cb); /* keeps the loop alive meanwhile */
  if (rc != 0) {
    uv_sem_destroy(&x.sem);
    return uv_fail("uv_async_init", rc);
  }
  x.async.data = &x;
  rc = uv_thread_create(&thread, xwake_thread, &x);
  if (rc != 0) {
    uv_close((uv_handle_t *)&x.async, NULL);
    finish_closes();
    uv_sem_destroy(&x.sem);
    return uv_fail("uv_thread_create", rc);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  zb_end(out);
  uv_thread_join(&thread);
  uv_sem_destroy(&x.sem);
  out->ops = x.seen;
  return zb_check_count("cross_thread_wake: round trips", x.seen, x.rounds);
}

/* ---- timers: N one-shot uv_timer_t, the i-th due in (i mod S) + 1 ms ---- */

static void timer_cb(uv_timer_t *t) { ++*(uint64_t *)t->data; }

static int run_timers(const zb_sizes *sz, zb_sample *out) {
  uint32_t n = sz->timers;
  /* One array per process, reused by every repetition (made before the
   * timed region), as the zyntax side reuses its arena's blocks: neither
   * side pays page faults per repetition. */
  static uv_timer_t *t;
  if (!t && !(t = malloc((size_t)n * sizeof *t))) return zb_fail("malloc");
  uint64_t fired = 0;
  zb_begin(out);
  uv_update_time(loop); /* deadlines from now, not from the last loop turn */
  for (uint32_t i = 0; i < n; i++) {
    uv_timer_init(loop, &t[i]);
    t[i].data = &fired;
    uv_timer_start(&t[i], timer_cb, i % sz->timer_spread_ms + 1, 0);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  zb_end(out);
  out->ops = fired;
  for (uint32_t i = 0; i < n; i++) uv_close((uv_handle_t *)&t[i], NULL);
  finish_closes();
  return zb_check_count("timers: fired", fired, n);
}

/* ---- tcp_echo: uv_tcp echo server and C clients on the same loop ---- */

typedef struct echo {
  uv_tcp_t server;
  zb_echo z; /* the client-side bookkeeping */
} echo;

typedef struct echo_client {
  uv_tcp_t tcp;
  uv_connect_t connect;
  echo *e;
  zb_echo_client z;
} echo_client;

typedef struct echo_conn {
  uv_tcp_t tcp;
  char buf[16384];
} echo_conn;

typedef struct echo_write {
  uv_write_t req;
  char data[];
} echo_write;

static void echo_written(uv_write_t *req, int status) { free(req); }

/* Writes `len` bytes now if the socket takes them (it does on loopback),
 * else queues a copy; 0 or a libuv error. */
static int echo_send(uv_stream_t *s, const char *data, size_t len) {
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
  int n = uv_try_write(s, &buf, 1);
  if (n == UV_EAGAIN) n = 0;
  if (n < 0 || (size_t)n == len) return n < 0 ? n : 0;
  echo_write *w = malloc(sizeof *w + len - (size_t)n);
  if (!w) return UV_ENOMEM;
  memcpy(w->data, data + n, len - (size_t)n);
  buf = uv_buf_init(w->data, (unsigned)(len - (size_t)n));
  int rc = uv_write(&w->req, s, &buf, 1, echo_written);
  if (rc != 0) free(w);
  return rc;
}

static void echo_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  echo_conn *c = h->data;
  *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void echo_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  if (nread > 0 && echo_send(s, buf->base, (size_t)nread) == 0) return;
  if (nread != 0) uv_close((uv_handle_t *)s, free_data); /* EOF or an error */
}

static void echo_close_server(echo *e) {
  if (!uv_is_closing((uv_handle_t *)&e->server)) uv_close((uv_handle_t *)&e->server, NULL);
}

static void echo_accept(uv_stream_t *server, int status) {
  echo *e = server->data;
  echo_conn *c = malloc(sizeof *c);
  if (status < 0 || !c) { /* closing the listener resets the unaccepted */
    e->z.failed = 1;
    free(c);
    echo_close_server(e);
    return;
  }
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
      uv_tcp_nodelay(&c->tcp, 1) != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, echo_conn_alloc, echo_conn_read) != 0) {
    e->z.failed = 1;
    uv_close((uv_handle_t *)&c->tcp, free_data);
  }
}

static void echo_client_finish(echo_client *c, int failed) {
  if (uv_is_closing((uv_handle_t *)&c->tcp)) return;
  uv_close((uv_handle_t *)&c->tcp, NULL);
  if (zb_echo_client_done(&c->e->z, failed)) echo_close_server(c->e);
}

static void echo_send_request(echo_client *c) {
  if (echo_send((uv_stream_t *)&c->tcp, c->e->z.payload, c->e->z.bytes) != 0)
    echo_client_finish(c, 1);
}

static void echo_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  echo_client *c = h->data;
  *buf = uv_buf_init(c->z.in + c->z.got, c->e->z.bytes - c->z.got);
}

static void echo_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  echo_client *c = s->data;
  if (nread == 0) return; /* EAGAIN */
  switch (zb_echo_received(&c->e->z, &c->z, nread < 0 ? 0 : (long)nread)) {
  case ZB_ECHO_READ_ON: break;
  case ZB_ECHO_SEND_NEXT: echo_send_request(c); break;
  case ZB_ECHO_DONE: echo_client_finish(c, 0); break;
  default: echo_client_finish(c, 1);
  }
}

static void echo_connected(uv_connect_t *req, int status) {
  echo_client *c = req->data;
  if (status != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, echo_client_alloc, echo_client_read) != 0) {
    echo_client_finish(c, 1);
    return;
  }
  zb_echo_request(&c->z);
  echo_send_request(c);
}

static int run_tcp_echo(const zb_sizes *sz, zb_sample *out) {
  uint32_t n = sz->echo_conns;
  echo_client *c = calloc(n, sizeof *c);
  if (!c) return zb_fail("calloc");
  echo e;
  if (zb_echo_init(&e.z, sz, out) != 0) {
    free(c);
    return -1;
  }
  zb_begin(out);
  uint16_t port;
  int rc, fd = zb_listen_loopback(&port);
  if (fd < 0) {
    e.z.failed = 1;
    goto out;
  }
  uv_tcp_init(loop, &e.server);
  e.server.data = &e;
  if ((rc = uv_tcp_open(&e.server, fd)) != 0) close(fd);
  if (rc != 0 || (rc = uv_listen((uv_stream_t *)&e.server, 1024, echo_accept)) != 0) {
    uv_close((uv_handle_t *)&e.server, NULL);
    finish_closes();
    uv_fail("uv_listen", rc);
    e.z.failed = 1;
    goto out;
  }
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  for (uint32_t i = 0; i < n; i++) {
    c[i].e = &e;
    zb_echo_client_init(&e.z, &c[i].z, i);
    uv_tcp_init(loop, &c[i].tcp);
    c[i].tcp.data = c[i].connect.data = &c[i];
    uv_tcp_nodelay(&c[i].tcp, 1);
    if (uv_tcp_connect(&c[i].connect, &c[i].tcp, (const struct sockaddr *)&addr,
                       echo_connected) != 0)
      echo_client_finish(&c[i], 1);
  }
  uv_run(loop, UV_RUN_DEFAULT); /* zb_end when the last client is done */
out:
  free(c);
  return zb_echo_finish(&e.z, out);
}

/* ---- fd_fanout: a uv_poll_t per socket pair; the last reader writes on ---- */

typedef struct fanout {
  zb_fanout z; /* the pairs and the counts */
  uv_poll_t *polls;
} fanout;

static void fanout_cb(uv_poll_t *p, int status, int events) {
  fanout *f = p->data;
  size_t i = (size_t)(p - f->polls);
  if (status == 0 && zb_fanout_ready(&f->z, f->z.fds[2 * i])) return;
  f->z.failed |= status != 0;
  for (uint32_t k = 0; k < f->z.sockets; k++) uv_poll_stop(&f->polls[k]);
}

static int run_fd_fanout(const zb_sizes *sz, zb_sample *out) {
  uint32_t n = sz->fanout_sockets;
  fanout f = {.polls = calloc(n, sizeof *f.polls)};
  if (!f.polls) return zb_fail("calloc");
  if (zb_fanout_open(&f.z, sz) != 0) {
    free(f.polls);
    return -1;
  }
  zb_begin(out);
  for (uint32_t i = 0; i < n; i++) {
    uv_poll_init(loop, &f.polls[i], f.z.fds[2 * (size_t)i]);
    f.polls[i].data = &f;
    uv_poll_start(&f.polls[i], UV_READABLE, fanout_cb);
  }
  if (zb_fanout_poke(&f.z) == 0) uv_run(loop, UV_RUN_DEFAULT);
  zb_end(out);
  for (uint32_t i = 0; i < n; i++) uv_close((uv_handle_t *)&f.polls[i], NULL);
  finish_closes();
  free(f.polls);
  return zb_fanout_finish(&f.z, out);
}

static const zb_workload workloads[] = {
    {"dispatch", run_dispatch},
    {"yield_many", run_yield_many},
    {"spawn_many", run_spawn_many},
    {"chained_spawn", run_chained_spawn},
    {"ping_pong", run_ping_pong},
    {"cross_thread_wake", run_cross_thread_wake},
    {"timers", run_timers},
    {"tcp_echo", run_tcp_echo},
    {"fd_fanout", run_fd_fanout},
};

int main(int argc, char **argv) {
  static uv_loop_t storage;
  int rc = uv_loop_init(&storage);
  if (rc != 0) return uv_fail("uv_loop_init", rc), 1;
  loop = &storage;
  int code = zb_child_main(argc, argv, workloads, sizeof workloads / sizeof workloads[0]);
  rc = uv_loop_close(loop);
  if (rc != 0) {
    uv_fail("uv_loop_close (a handle was left open)", rc);
    if (code == 0) code = 1;
  }
  return code;
}
