/* zyntax-bench: the native libev baseline. Each workload of
 * docs/benchmarks.md as a libev user writes it with plain callbacks, all on
 * one loop from ev_loop_new made once per process; state reaches callbacks
 * through w->data. ev_run returns when no watcher is active, so each
 * repetition ends with every watcher stopped, its memory freed and its fds
 * closed. */
#include "bench_common.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct ev_loop *bench_loop; /* the process's loop, set once in main */

/* ---- dispatch, yield_many: idle watchers each called `calls` times ---- */

typedef struct idler {
  ev_idle idle;
  uint64_t left;
  uint64_t *calls;
} idler;

static void idler_cb(EV_P_ ev_idle *w, int revents) {
  idler *i = w->data;
  ++*i->calls;
  if (--i->left == 0) ev_idle_stop(EV_A_ w);
}

static int run_idlers(const char *what, uint32_t watchers, uint64_t calls_each,
                      zb_sample *out) {
  idler *w = calloc(watchers, sizeof *w);
  if (!w) return zb_fail("calloc");
  uint64_t calls = 0;
  zb_begin(out);
  for (uint32_t i = 0; i < watchers; i++) {
    ev_idle_init(&w[i].idle, idler_cb);
    w[i].idle.data = &w[i];
    w[i].left = calls_each;
    w[i].calls = &calls;
    ev_idle_start(bench_loop, &w[i].idle);
  }
  ev_run(bench_loop, 0);
  zb_end(out);
  out->ops = calls;
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

typedef void (*idle_cb)(EV_P_ ev_idle *w, int revents);

typedef struct spawner {
  ev_idle root;     /* started before the loop runs; starts the first batch */
  idle_cb child_cb; /* what each spawned watcher runs */
  uint32_t batch;   /* watchers the root starts */
  uint32_t total, done;
  int failed;
} spawner;

static void spawn_child(EV_P_ spawner *s) {
  ev_idle *w = malloc(sizeof *w);
  if (!w) {
    s->failed = 1;
    return;
  }
  ev_idle_init(w, s->child_cb);
  w->data = s;
  ev_idle_start(EV_A_ w);
}

static void spawn_root_cb(EV_P_ ev_idle *root, int revents) {
  spawner *s = root->data;
  ev_idle_stop(EV_A_ root);
  for (uint32_t i = 0; i < s->batch && !s->failed; i++) spawn_child(EV_A_ s);
}

static void spawned_cb(EV_P_ ev_idle *w, int revents) {
  spawner *s = w->data;
  ev_idle_stop(EV_A_ w);
  s->done++;
  free(w);
}

static void chained_cb(EV_P_ ev_idle *w, int revents) {
  spawner *s = w->data;
  ev_idle_stop(EV_A_ w);
  if (++s->done < s->total) spawn_child(EV_A_ s);
  free(w);
}

static int run_spawner(const char *what, idle_cb child_cb, uint32_t batch, uint32_t total,
                       zb_sample *out) {
  spawner s = {.child_cb = child_cb, .batch = batch, .total = total};
  zb_begin(out);
  ev_idle_init(&s.root, spawn_root_cb);
  s.root.data = &s;
  ev_idle_start(bench_loop, &s.root);
  ev_run(bench_loop, 0);
  zb_end(out);
  out->ops = s.done;
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
  ev_idle a, b;
  uint32_t rounds, limit;
} pp_pair;

static void ping_cb(EV_P_ ev_idle *a, int revents) {
  pp_pair *p = a->data;
  ev_idle_stop(EV_A_ a);
  if (p->rounds < p->limit) ev_idle_start(EV_A_ & p->b);
}

static void pong_cb(EV_P_ ev_idle *b, int revents) {
  pp_pair *p = b->data;
  ev_idle_stop(EV_A_ b);
  p->rounds++; /* A -> B -> A is one round trip */
  ev_idle_start(EV_A_ & p->a);
}

static int run_ping_pong(const zb_sizes *sz, zb_sample *out) {
  uint32_t n = sz->pingpong_pairs;
  pp_pair *p = calloc(n, sizeof *p);
  if (!p) return zb_fail("calloc");
  zb_begin(out);
  for (uint32_t i = 0; i < n; i++) {
    ev_idle_init(&p[i].a, ping_cb);
    ev_idle_init(&p[i].b, pong_cb);
    p[i].a.data = p[i].b.data = &p[i];
    p[i].limit = sz->pingpong_rounds;
    ev_idle_start(bench_loop, &p[i].a);
  }
  ev_run(bench_loop, 0);
  zb_end(out);
  uint64_t trips = 0;
  for (uint32_t i = 0; i < n; i++) trips += p[i].rounds;
  free(p);
  out->ops = trips;
  return zb_check_count("ping_pong: round trips", trips, (uint64_t)n * sz->pingpong_rounds);
}

/* ---- cross_thread_wake: ev_async_send from a thread, a semaphore back ---- */

typedef struct xwake {
  ev_async async;
  struct ev_loop *loop;
  sem_t sem;
  _Atomic uint64_t seq; /* the thread's latest wake */
  uint64_t seen, rounds;
} xwake;

static void *xwake_thread(void *arg) {
  xwake *x = arg;
  for (uint64_t i = 1; i <= x->rounds; i++) {
    atomic_store_explicit(&x->seq, i, memory_order_release);
    ev_async_send(x->loop, &x->async);
    while (sem_wait(&x->sem) != 0 && errno == EINTR) {
    }
  }
  return NULL;
}

static void xwake_cb(EV_P_ ev_async *w, int revents) {
  xwake *x = w->data;
  uint64_t seq = atomic_load_explicit(&x->seq, memory_order_acquire);
  if (seq == x->seen) return; /* nothing new */
  x->seen = seq;
  /* The thread sends no more after the last post: the loop can end. */
  if (seq == x->rounds) ev_async_stop(EV_A_ w);
  sem_post(&x->sem);
}

static int run_cross_thread_wake(const zb_sizes *sz, zb_sample *out) {
  xwake x = {.loop = bench_loop, .rounds = sz->xthread_rounds};
  atomic_init(&x.seq, 0);
  if (sem_init(&x.sem, 0, 0) != 0) return zb_fail("sem_init");
  pthread_t thread;
  zb_begin(out);
  ev_async_init(&x.async, xwake_cb);
  x.async.data = &x;
  ev_async_start(bench_loop, &x.async); /* keeps the loop alive meanwhile */
  int rc = pthread_create(&thread, NULL, xwake_thread, &x);
  if (rc != 0) {
    ev_async_stop(bench_loop, &x.async);
    sem_destroy(&x.sem);
    errno = rc;
    return zb_fail("pthread_create");
  }
  ev_run(bench_loop, 0);
  zb_end(out);
  pthread_join(thread, NULL);
  sem_destroy(&x.sem);
  out->ops = x.seen;
  return zb_check_count("cross_thread_wake: round trips", x.seen, x.rounds);
}

/* ---- timers: N one-shot ev_timer, the i-th due in (i mod S) + 1 ms ---- */

static void timer_cb(EV_P_ ev_timer *w, int revents) { ++*(uint64_t *)w->data; }

static int run_timers(const zb_sizes *sz, zb_sample *out) {
  uint32_t n = sz->timers;
  /* One array per process, reused by every repetition (made before the
   * timed region), as the zyntax side reuses its arena's blocks: neither
   * side pays page faults per repetition. */
  static ev_timer *t;
  if (!t && !(t = malloc((size_t)n * sizeof *t))) return zb_fail("malloc");
  uint64_t fired = 0;
  zb_begin(out);
  ev_now_update(bench_loop); /* deadlines from now, not from the last loop turn */
  for (uint32_t i = 0; i < n; i++) {
    ev_timer_init(&t[i], timer_cb, (i % sz->timer_spread_ms + 1) * 1e-3, 0.);
    t[i].data = &fired;
    ev_timer_start(bench_loop, &t[i]);
  }
  ev_run(bench_loop, 0); /* a one-shot timer stops itself when it fires */
  zb_end(out);
  out->ops = fired;
  return zb_check_count("timers: fired", fired, n);
}

/* ---- tcp_echo: an ev_io echo server and C clients on the same loop ---- */

typedef struct echo {
  ev_io listener;
  zb_echo z; /* the client-side bookkeeping */
} echo;

typedef struct echo_client {
  ev_io rio, wio; /* wio: the connect, and any write that would block */
  echo *e;
  int fd, connected;
  uint32_t sent; /* bytes of the current request */
  zb_echo_client z;
} echo_client;

typedef struct echo_conn {
  ev_io rio, wio;    /* wio only while an echo waits for room */
  uint32_t off, len; /* buf[off, len) is still to be written */
  char buf[16384];
} echo_conn;

static int would_block(void) { return errno == EAGAIN || errno == EWOULDBLOCK; }

static void echo_close_server(EV_P_ echo *e) {
  if (e->listener.fd < 0) return;
  ev_io_stop(EV_A_ & e->listener);
  close(e->listener.fd); /* resets connections not accepted yet */
  ev_io_set(&e->listener, -1, EV_READ);
}

static void echo_conn_close(EV_P_ echo_conn *c) {
  ev_io_stop(EV_A_ & c->rio);
  ev_io_stop(EV_A_ & c->wio);
  close(c->rio.fd);
  free(c);
}

/* Writes the rest of the echo; while the socket has no room, waits for it
 * instead of reading more. */
static void echo_conn_flush(EV_P_ echo_conn *c) {
  while (c->off < c->len) {
    ssize_t n = write(c->rio.fd, c->buf + c->off, c->len - c->off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && would_block()) {
      ev_io_stop(EV_A_ & c->rio);
      ev_io_start(EV_A_ & c->wio);
      return;
    }
    if (n < 0) {
      echo_conn_close(EV_A_ c);
      return;
    }
    c->off += (uint32_t)n;
  }
  if (ev_is_active(&c->wio)) {
    ev_io_stop(EV_A_ & c->wio);
    ev_io_start(EV_A_ & c->rio);
  }
}

static void echo_conn_writable(EV_P_ ev_io *w, int revents) { echo_conn_flush(EV_A_ w->data); }

static void echo_conn_read(EV_P_ ev_io *w, int revents) {
  echo_conn *c = w->data;
  ssize_t n = read(w->fd, c->buf, sizeof c->buf);
  if (n < 0 && (errno == EINTR || would_block())) return;
  if (n <= 0) { /* EOF or an error */
    echo_conn_close(EV_A_ c);
    return;
  }
  c->off = 0;
  c->len = (uint32_t)n;
  echo_conn_flush(EV_A_ c);
}

static void echo_accept(EV_P_ ev_io *w, int revents) {
  echo *e = w->data;
  for (;;) {
    int fd = accept(w->fd, NULL, NULL);
    if (fd < 0 && errno == EINTR) continue;
    if (fd < 0 && would_block()) return;
    echo_conn *c = fd < 0 || zb_tune_socket(fd) != 0 ? NULL : malloc(sizeof *c);
    if (!c) {
      if (fd >= 0) close(fd);
      e->z.failed = 1;
      echo_close_server(EV_A_ e);
      return;
    }
    ev_io_init(&c->rio, echo_conn_read, fd, EV_READ);
    ev_io_init(&c->wio, echo_conn_writable, fd, EV_WRITE);
    c->rio.data = c->wio.data = c;
    ev_io_start(EV_A_ & c->rio);
  }
}

static void echo_client_finish(EV_P_ echo_client *c, int failed) {
  if (c->fd < 0) return;
  ev_io_stop(EV_A_ & c->rio);
  ev_io_stop(EV_A_ & c->wio);
  close(c->fd);
  c->fd = -1;
  if (zb_echo_client_done(&c->e->z, failed)) echo_close_server(EV_A_ c->e);
}

/* Writes the rest of the request; waits for room if the socket has none. */
static void echo_client_flush(EV_P_ echo_client *c) {
  zb_echo *z = &c->e->z;
  while (c->sent < z->bytes) {
    ssize_t n = write(c->fd, z->payload + c->sent, z->bytes - c->sent);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && would_block()) {
      ev_io_start(EV_A_ & c->wio);
      return;
    }
    if (n < 0) {
      echo_client_finish(EV_A_ c, 1);
      return;
    }
    c->sent += (uint32_t)n;
  }
  ev_io_stop(EV_A_ & c->wio);
}

static void echo_send_request(EV_P_ echo_client *c) {
  c->sent = 0;
  echo_client_flush(EV_A_ c);
}

static void echo_client_writable(EV_P_ ev_io *w, int revents) {
  echo_client *c = w->data;
  if (c->connected) {
    echo_client_flush(EV_A_ c);
    return;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    echo_client_finish(EV_A_ c, 1);
    return;
  }
  c->connected = 1;
  ev_io_start(EV_A_ & c->rio);
  zb_echo_request(&c->z);
  echo_send_request(EV_A_ c);
}

static void echo_client_read(EV_P_ ev_io *w, int revents) {
  echo_client *c = w->data;
  ssize_t n = read(c->fd, c->z.in + c->z.got, c->e->z.bytes - c->z.got);
  if (n < 0 && (errno == EINTR || would_block())) return;
  switch (zb_echo_received(&c->e->z, &c->z, (long)n)) {
  case ZB_ECHO_READ_ON: break;
  case ZB_ECHO_SEND_NEXT: echo_send_request(EV_A_ c); break;
  case ZB_ECHO_DONE: echo_client_finish(EV_A_ c, 0); break;
  default: echo_client_finish(EV_A_ c, 1);
  }
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
  int fd = zb_listen_loopback(&port);
  if (fd < 0) {
    e.z.failed = 1;
    free(c);
    return zb_echo_finish(&e.z, out);
  }
  ev_io_init(&e.listener, echo_accept, fd, EV_READ);
  e.listener.data = &e;
  ev_io_start(bench_loop, &e.listener);
  for (uint32_t i = 0; i < n; i++) {
    c[i].e = &e;
    zb_echo_client_init(&e.z, &c[i].z, i);
    c[i].fd = zb_connect_loopback(port);
    if (c[i].fd < 0) {
      if (zb_echo_client_done(&e.z, 1)) echo_close_server(bench_loop, &e);
      continue;
    }
    ev_io_init(&c[i].rio, echo_client_read, c[i].fd, EV_READ);
    ev_io_init(&c[i].wio, echo_client_writable, c[i].fd, EV_WRITE);
    c[i].rio.data = c[i].wio.data = &c[i];
    ev_io_start(bench_loop, &c[i].wio); /* writable: connected */
  }
  ev_run(bench_loop, 0); /* zb_end when the last client is done */
  free(c);
  return zb_echo_finish(&e.z, out);
}

/* ---- fd_fanout: an ev_io per socket pair; the last reader writes on ---- */

typedef struct fanout {
  zb_fanout z; /* the pairs and the counts */
  ev_io *io;
} fanout;

static void fanout_cb(EV_P_ ev_io *w, int revents) {
  fanout *f = w->data;
  if (zb_fanout_ready(&f->z, w->fd)) return;
  for (uint32_t i = 0; i < f->z.sockets; i++) ev_io_stop(EV_A_ & f->io[i]);
}

static int run_fd_fanout(const zb_sizes *sz, zb_sample *out) {
  uint32_t n = sz->fanout_sockets;
  fanout f = {.io = calloc(n, sizeof *f.io)};
  if (!f.io) return zb_fail("calloc");
  if (zb_fanout_open(&f.z, sz) != 0) {
    free(f.io);
    return -1;
  }
  zb_begin(out);
  for (uint32_t i = 0; i < n; i++) {
    ev_io_init(&f.io[i], fanout_cb, f.z.fds[2 * (size_t)i], EV_READ);
    f.io[i].data = &f;
    ev_io_start(bench_loop, &f.io[i]);
  }
  if (zb_fanout_poke(&f.z) == 0) ev_run(bench_loop, 0);
  zb_end(out);
  if (f.z.failed) /* the poke failed before the loop ran */
    for (uint32_t i = 0; i < n; i++) ev_io_stop(bench_loop, &f.io[i]);
  free(f.io);
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
  bench_loop = ev_loop_new(EVFLAG_AUTO);
  if (!bench_loop) {
    fprintf(stderr, "%s: ev_loop_new failed\n", argv[0]);
    return 1;
  }
  int code = zb_child_main(argc, argv, workloads, sizeof workloads / sizeof workloads[0]);
  ev_loop_destroy(bench_loop);
  return code;
}
