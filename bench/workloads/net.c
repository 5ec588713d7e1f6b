/* Socket workloads: tcp_echo (echo server + clients over 127.0.0.1 in one
 * runtime) and fd_fanout (readiness waits on many socket pairs). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zy.h"

/* Awaits readiness of `fd` through the future in `*slot`: 1 ready, 0 pending,
 * -1 failed (the runtime could not watch it). */
static int await_fd(zyntax_runtime *rt, zyntax_future **slot, int fd, unsigned events,
                    const zyntax_waker *waker) {
  int result;
  if (*slot == NULL && zyntax_fd_wait_future(rt, fd, events, slot) != 0) return -1;
  if (zyntax_future_poll(*slot, waker, &result) == ZYNTAX_PENDING) return 0;
  zyntax_future_drop(*slot);
  *slot = NULL;
  return result > 0 ? 1 : -1;
}

/* Resumes the await point a task left PENDING, before any new syscall: a
 * woken task that retried its read first would find the data, then leave
 * the completed wait behind and pay a second read for it later. 1 when no
 * wait is in flight or it completed, 0 pending, -1 failed. */
static int resume_wait(zyntax_runtime *rt, zyntax_future **slot, const zyntax_waker *waker) {
  return *slot == NULL ? 1 : await_fd(rt, slot, -1, 0, waker);
}

/* What a socket task owns: the fd, the readiness wait in flight, and the
 * fd watch its waits go through (opened at the first wait, destroyed
 * before the fd is closed): a registration kept across waits, as the
 * native programs keep one uv_poll_t / ev_io started per socket. A wait
 * on the watch is its wait in place (zyntax_fd_watch_poll), as compiled
 * code awaits readiness, and as a Tokio task awaits readable() inside its
 * own state: no future to make or drop per wait. */
typedef struct sock_task {
  zy_latch *latch;
  zyntax_runtime *rt;
  zyntax_future *wait; /* a plain fd wait (the listener's) in flight */
  zyntax_fd_watch *watch;
  int fd;
  unsigned watching; /* the events of the watch's wait in flight, or 0 */
} sock_task;

static sock_task new_sock(zy_latch *latch, zyntax_runtime *rt, int fd) {
  return (sock_task){.latch = latch, .rt = rt, .fd = fd};
}

/* Awaits readiness of `fd` (the task's socket, always the same one)
 * through its watch: 1 ready, 0 pending, -1 failed. */
static int await_watch(sock_task *t, int fd, unsigned events, const zyntax_waker *waker) {
  int result;
  if (t->watch == NULL && zyntax_fd_watch_open(t->rt, fd, &t->watch) != 0) return -1;
  if (zyntax_fd_watch_poll(t->watch, events, waker, &result) == ZYNTAX_PENDING) {
    t->watching = events;
    return 0;
  }
  t->watching = 0;
  return result > 0 ? 1 : -1;
}

/* resume_wait for a socket task: its watch's wait or its plain one. */
static int resume_sock(sock_task *t, const zyntax_waker *waker) {
  if (t->watching != 0) return await_watch(t, -1, t->watching, waker);
  return resume_wait(t->rt, &t->wait, waker);
}

static void sock_unwatch(sock_task *t) {
  zyntax_future_drop(t->wait);
  t->wait = NULL;
  t->watching = 0; /* the watch's destroy ends its wait */
  if (t->watch != NULL) zyntax_fd_watch_destroy(t->watch);
  t->watch = NULL;
}

static zyntax_poll sock_finish(sock_task *t, int ok) {
  sock_unwatch(t);
  if (t->fd >= 0) close(t->fd);
  t->fd = -1;
  if (ok)
    zy_latch_count_down(t->latch, 1);
  else
    zy_latch_fail(t->latch);
  return ZYNTAX_READY;
}

/* Drop of every socket task: only on cancel/destroy does it own anything. */
static void sock_drop(void *state) {
  sock_task *t = state;
  sock_unwatch(t);
  if (t->fd >= 0) close(t->fd);
}

/* ---- tcp_echo ---- */

typedef struct echo_run {
  const zb_sizes *sizes;
  int listener;
  uint16_t port;
  uint64_t *latency; /* one per request, ns */
} echo_run;

typedef struct echo_conn {
  sock_task sock; /* first: sock_drop works on every socket task */
  uint32_t have, sent;
  int partial; /* the last read did not fill buf: wait before the next */
  char buf[4096];
} echo_conn;

static zyntax_poll echo_poll(void *state, const zyntax_waker *waker) {
  echo_conn *c = state;
  int resumed = resume_sock(&c->sock, waker);
  if (resumed <= 0) return resumed == 0 ? ZYNTAX_PENDING : sock_finish(&c->sock, 0);
  for (;;) {
    if (c->sent < c->have) {
      ssize_t n = write(c->sock.fd, c->buf + c->sent, c->have - c->sent);
      if (n > 0) {
        c->sent += (uint32_t)n;
        continue;
      }
      if (n < 0 && errno != EAGAIN) return sock_finish(&c->sock, 0);
      int ready = await_watch(&c->sock, c->sock.fd, ZYNTAX_WRITABLE, waker);
      if (ready <= 0) return ready == 0 ? ZYNTAX_PENDING : sock_finish(&c->sock, 0);
      continue;
    }
    /* A read that did not fill the buffer took all there was: wait for
     * more instead of paying a read for EAGAIN, as libuv's uv__read does
     * (READ_PARTIAL) and a libev callback does (one read per event). */
    if (!c->partial) {
      ssize_t n = read(c->sock.fd, c->buf, sizeof c->buf);
      if (n == 0) return sock_finish(&c->sock, 1); /* the client is done */
      if (n > 0) {
        c->have = (uint32_t)n;
        c->sent = 0;
        c->partial = (size_t)n < sizeof c->buf;
        continue;
      }
      if (errno != EAGAIN) return sock_finish(&c->sock, 0);
    }
    c->partial = 0;
    int ready = await_watch(&c->sock, c->sock.fd, ZYNTAX_READABLE, waker);
    if (ready <= 0) return ready == 0 ? ZYNTAX_PENDING : sock_finish(&c->sock, 0);
  }
}

static const zyntax_future_vtable echo_vtable = {echo_poll, sock_drop};

typedef struct acceptor {
  sock_task sock; /* sock.fd is the listener: not owned, -1 */
  int listener;
  uint32_t left;
} acceptor;

static zyntax_poll acceptor_poll(void *state, const zyntax_waker *waker) {
  acceptor *a = state;
  if (resume_sock(&a->sock, waker) == 0) return ZYNTAX_PENDING;
  while (a->left > 0) {
    int fd = accept4(a->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int ready = errno == EAGAIN ? await_fd(a->sock.rt, &a->sock.wait, a->listener,
                                             ZYNTAX_READABLE, waker)
                                  : -1;
      if (ready == 0) return ZYNTAX_PENDING;
      if (ready < 0) zb_die("tcp_echo: accept failed"); /* clients would hang */
      continue;
    }
    zb_tune_socket(fd);
    echo_conn conn = {new_sock(a->sock.latch, a->sock.rt, fd), 0, 0, 0, {0}};
    if (zy_spawn_detached(a->sock.rt, &echo_vtable, &conn, sizeof conn) != 0)
      zb_die("tcp_echo: cannot spawn an echo task"); /* its client would hang */
    a->left--;
  }
  return sock_finish(&a->sock, 1);
}

static const zyntax_future_vtable acceptor_vtable = {acceptor_poll, sock_drop};

typedef struct client {
  sock_task sock;
  const echo_run *run;
  uint64_t *latency; /* this client's requests */
  uint32_t request, sent, got;
  int connected;
  int wait_first; /* nothing to read yet: wait before the next read */
  uint64_t started; /* of the current request */
  char buf[256];
} client;

/* One step of a client: 1 progressed, 0 pending, -1 failed. */
static int client_step(client *c, const zyntax_waker *waker) {
  uint32_t size = c->run->sizes->echo_bytes;
  if (!c->connected) {
    int ready = await_watch(&c->sock, c->sock.fd, ZYNTAX_WRITABLE, waker);
    c->connected = ready == 1;
    c->started = zb_now_ns();
    return ready;
  }
  if (c->sent < size) {
    ssize_t n = write(c->sock.fd, c->buf, size - c->sent);
    if (n > 0) c->sent += (uint32_t)n;
    /* The answer cannot be there yet: a native client too goes back to
     * its loop after sending. */
    c->wait_first = c->sent == size;
    if (n >= 0 || errno != EAGAIN) return n > 0 ? 1 : -1;
    return await_watch(&c->sock, c->sock.fd, ZYNTAX_WRITABLE, waker);
  }
  if (c->wait_first) {
    c->wait_first = 0;
    return await_watch(&c->sock, c->sock.fd, ZYNTAX_READABLE, waker);
  }
  ssize_t n = read(c->sock.fd, c->buf, size - c->got);
  if (n > 0) {
    c->got += (uint32_t)n;
    c->wait_first = c->got < size; /* a short read took all there was */
    if (c->got == size) { /* the request is back; the next one starts now */
      uint64_t now = zb_now_ns();
      c->latency[c->request++] = now - c->started;
      c->started = now;
      c->sent = c->got = 0;
    }
    return 1;
  }
  if (n == 0 || errno != EAGAIN) return -1;
  return await_watch(&c->sock, c->sock.fd, ZYNTAX_READABLE, waker);
}

static zyntax_poll client_poll(void *state, const zyntax_waker *waker) {
  client *c = state;
  int connecting = !c->connected && c->sock.watching != 0;
  int resumed = resume_sock(&c->sock, waker);
  if (resumed <= 0) return resumed == 0 ? ZYNTAX_PENDING : sock_finish(&c->sock, 0);
  if (connecting) { /* the connect's writability wait just completed */
    c->connected = 1;
    c->started = zb_now_ns();
  }
  while (c->request < c->run->sizes->echo_requests) {
    int step = client_step(c, waker);
    if (step == 0) return ZYNTAX_PENDING;
    if (step < 0) return sock_finish(&c->sock, 0);
  }
  return sock_finish(&c->sock, 1);
}

static const zyntax_future_vtable client_vtable = {client_poll, sock_drop};

static uint64_t start_echo(zy_root *root) {
  const echo_run *run = root->ctx;
  uint32_t conns = run->sizes->echo_conns;
  acceptor a = {new_sock(&root->latch, root->rt, -1), run->listener, conns};
  if (zy_spawn_detached(root->rt, &acceptor_vtable, &a, sizeof a) != 0) return root->count;
  for (uint32_t i = 0; i < conns; i++) {
    client c;
    memset(&c, 0, sizeof c);
    c.sock = new_sock(&root->latch, root->rt, zb_connect_loopback(run->port));
    c.run = run;
    c.latency = run->latency + (size_t)i * run->sizes->echo_requests;
    /* Past this point the acceptor waits for every connection: no way back. */
    if (c.sock.fd < 0 || zy_spawn_detached(root->rt, &client_vtable, &c, sizeof c) != 0)
      zb_die("tcp_echo: cannot start a client");
  }
  return 0;
}

int zy_tcp_echo(const zb_sizes *sizes, zb_sample *out) {
  size_t requests = (size_t)sizes->echo_conns * sizes->echo_requests;
  if (sizes->echo_bytes > sizeof ((client *)0)->buf) return zb_fail("tcp_echo: requests too big");
  echo_run run = {sizes, -1, 0, calloc(requests, sizeof(uint64_t))};
  if (run.latency == NULL) return zb_fail("tcp_echo: out of memory");
  run.listener = zb_listen_loopback(&run.port);
  int rc = -1;
  if (run.listener >= 0) {
    /* The acceptor, then per connection its client and its echo task. */
    rc = zy_run_root(zy_runtime(), 1 + 2 * (uint64_t)sizes->echo_conns, start_echo, &run,
                     out);
    close(run.listener);
  }
  if (rc == 0) zb_percentiles(run.latency, requests, out);
  free(run.latency);
  out->ops = requests;
  return rc;
}

/* ---- fd_fanout ---- */

typedef struct fanout_run {
  const zb_sizes *sizes;
  zb_fanout pairs; /* bench_common's: the same pairs and sends as the natives' */
  zy_latch round; /* the driver waits for every waiter's read of a round */
} fanout_run;

typedef struct waiter {
  sock_task sock; /* sock.fd: the pair's read end, not owned: -1 */
  fanout_run *run;
  int fd;
  uint32_t left;
  int wait_first; /* a byte was just read: wait before the next read */
} waiter;

/* Tokio's task record keeps 64 bytes of state in place (docs/architecture.md):
 * a waiter past them would cost an allocation per spawn, counted in the
 * workload's figures. */
_Static_assert(sizeof(waiter) <= 64, "a fd_fanout waiter no longer fits a task's inline state");

static zyntax_poll waiter_poll(void *state, const zyntax_waker *waker) {
  waiter *w = state;
  int resumed = resume_sock(&w->sock, waker);
  if (resumed <= 0) return resumed == 0 ? ZYNTAX_PENDING : sock_finish(&w->sock, 0);
  while (w->left > 0) {
    /* One read per readiness, as the native programs' callbacks do: a
     * round brings one byte, so a second read would only meet EAGAIN.
     * recv, as every fd_fanout program (bench_common.c). */
    if (!w->wait_first) {
      char byte;
      ssize_t n = recv(w->fd, &byte, 1, 0);
      if (n == 1) {
        w->left--;
        zy_latch_count_down(&w->run->round, 1);
        w->wait_first = 1;
        continue;
      }
      if (n == 0 || errno != EAGAIN) return sock_finish(&w->sock, 0);
    }
    w->wait_first = 0;
    int ready = await_watch(&w->sock, w->fd, ZYNTAX_READABLE, waker);
    if (ready <= 0) return ready == 0 ? ZYNTAX_PENDING : sock_finish(&w->sock, 0);
  }
  return sock_finish(&w->sock, 1);
}

static const zyntax_future_vtable waiter_vtable = {waiter_poll, sock_drop};

typedef struct driver {
  zy_latch *latch;
  fanout_run *run;
  uint32_t rounds_done;
  int writing; /* the current round's bytes are not written yet */
} driver;

static zyntax_poll driver_poll(void *state, const zyntax_waker *waker) {
  driver *d = state;
  const zb_sizes *sizes = d->run->sizes;
  for (;;) {
    if (d->writing) {
      atomic_store_explicit(&d->run->round.remaining, sizes->fanout_sockets,
                            memory_order_relaxed);
      d->run->round.waker = zyntax_waker_clone(waker);
      d->writing = 0;
      if (zb_fanout_poke(&d->run->pairs) != 0) zb_die("fd_fanout: send");
    }
    if (atomic_load_explicit(&d->run->round.remaining, memory_order_acquire) != 0)
      return ZYNTAX_PENDING;
    d->writing = 1;
    if (++d->rounds_done == sizes->fanout_rounds) break;
  }
  zy_latch_count_down(d->latch, 1);
  return ZYNTAX_READY;
}

static const zyntax_future_vtable driver_vtable = {driver_poll, NULL};

static uint64_t start_fanout(zy_root *root) {
  fanout_run *run = root->ctx;
  uint32_t n = run->sizes->fanout_sockets;
  for (uint32_t i = 0; i < n; i++) {
    /* Waits before its first read, as a native watcher is started first. */
    waiter w = {new_sock(&root->latch, root->rt, -1), run, run->pairs.fds[2 * (size_t)i],
                run->sizes->fanout_rounds, 1};
    if (zy_spawn_detached(root->rt, &waiter_vtable, &w, sizeof w) != 0)
      zb_die("fd_fanout: cannot spawn a waiter"); /* its round would never end */
  }
  driver d = {&root->latch, run, 0, 1};
  if (zy_spawn_detached(root->rt, &driver_vtable, &d, sizeof d) != 0)
    zb_die("fd_fanout: cannot spawn the driver");
  return 0;
}

int zy_fd_fanout(const zb_sizes *sizes, zb_sample *out) {
  fanout_run run = {.sizes = sizes};
  if (zb_fanout_open(&run.pairs, sizes) != 0) return -1;
  int rc = zy_run_root(zy_runtime(), (uint64_t)sizes->fanout_sockets + 1, start_fanout, &run, out);
  zb_fanout_close(&run.pairs);
  out->ops = (uint64_t)sizes->fanout_sockets * sizes->fanout_rounds;
  return rc;
}
