/* 10,000 loopback TCP connections held open at once and echoed. The echo
 * server runs on the runtime under test in this process; the clients run
 * on a runtime of the same backend in a forked child, so each process
 * needs only ~10,000 descriptors. Skips when the fd limit is too low. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"

#define CONNECTIONS 10000
#define FDS_NEEDED (CONNECTIONS + 64)
#define IN_FLIGHT 512 /* connects at once: stay under the listen backlog */

/* ---- small non-blocking socket helpers ---- */

static int nonblocking(int fd) {
  return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int listener(struct sockaddr_in *addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  socklen_t len = sizeof *addr;
  memset(addr, 0, sizeof *addr);
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)addr, len) != 0 || listen(fd, 4096) != 0 ||
      getsockname(fd, (struct sockaddr *)addr, &len) != 0)
    return -1;
  return fd;
}

/* ---- the server: an accept task and one echo task per connection ---- */

typedef struct server {
  int lfd;
  int accepted, closed;
  zyntax_future *wait;
} server;

typedef struct echo {
  server *srv;
  int fd;
  zyntax_future *wait;
} echo;

static zyntax_poll echo_poll(void *state, const zyntax_waker *waker) {
  echo *e = state;
  for (;;) {
    if (e->wait != NULL) {
      int events; /* the readiness (or the error the next syscall meets) */
      if (zyntax_future_poll(e->wait, waker, &events) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      zyntax_future_drop(e->wait);
      e->wait = NULL;
    }
    char buf[256];
    ssize_t n = read(e->fd, buf, sizeof buf);
    if (n > 0) {
      if (write(e->fd, buf, (size_t)n) != n) n = 0; /* tiny: fits the buffer */
      if (n > 0) continue;
    }
    if (n < 0 && errno == EAGAIN) {
      zyntax_fd_wait_future(zyntax_runtime_current(), e->fd, ZYNTAX_READABLE, &e->wait);
      continue;
    }
    close(e->fd);
    e->srv->closed++; /* uv/ev: one thread; tokio: see the note in accept */
    return ZYNTAX_READY;
  }
}

static void echo_drop(void *state) {
  echo *e = state;
  zyntax_future_drop(e->wait);
}

static const zyntax_future_vtable echo_vt = {echo_poll, echo_drop};

static int echo_init(void *state, void *arg) {
  *(echo *)state = *(echo *)arg;
  return 0;
}

static zyntax_poll accept_poll(void *state, const zyntax_waker *waker) {
  server *s = state;
  zyntax_runtime *rt = zyntax_runtime_current();
  while (s->accepted < CONNECTIONS) {
    if (s->wait != NULL) {
      int events; /* the readiness (or the error the next syscall meets) */
      if (zyntax_future_poll(s->wait, waker, &events) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      zyntax_future_drop(s->wait);
      s->wait = NULL;
    }
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN) return ZYNTAX_READY; /* the counts will show it */
      zyntax_fd_wait_future(rt, s->lfd, ZYNTAX_READABLE, &s->wait);
      continue;
    }
    echo init = {s, fd, NULL};
    zyntax_task *t;
    zyntax_runtime_spawn_inplace(rt, &echo_vt, sizeof(echo),
                                 _Alignof(echo), echo_init, &init, &t);
    if (t == NULL) {
      close(fd);
      return ZYNTAX_READY;
    }
    zyntax_task_drop(t);
    s->accepted++;
  }
  return ZYNTAX_READY;
}

/* ---- the clients (child process) ---- */

typedef struct client {
  int fd;
  int phase; /* 0 connecting, 1 waiting for all, 2 echo, 3 done */
  zyntax_future *wait;
  int *connected;
  int *ok;
} client;

static zyntax_poll client_poll(void *state, const zyntax_waker *waker) {
  client *c = state;
  zyntax_runtime *rt = zyntax_runtime_current();
  for (;;) {
    if (c->wait != NULL) {
      int events; /* the readiness (or the error the next syscall meets) */
      if (zyntax_future_poll(c->wait, waker, &events) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      zyntax_future_drop(c->wait);
      c->wait = NULL;
    }
    if (c->phase == 0) { /* connect finished (or failed) */
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return ZYNTAX_READY;
      ++*c->connected;
      c->phase = 1;
    }
    if (c->phase == 1) { /* hold the connection until all are open */
      if (*c->connected < CONNECTIONS) {
        zyntax_sleep_future(rt, 1000000, &c->wait);
        continue;
      }
      if (write(c->fd, "ping", 4) != 4) return ZYNTAX_READY;
      c->phase = 2;
    }
    char buf[8];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN) {
      zyntax_fd_wait_future(rt, c->fd, ZYNTAX_READABLE, &c->wait);
      continue;
    }
    if (n == 4 && memcmp(buf, "ping", 4) == 0) ++*c->ok;
    close(c->fd);
    c->fd = -1;
    return ZYNTAX_READY;
  }
}

static void client_drop(void *state) {
  client *c = state;
  zyntax_future_drop(c->wait);
  if (c->fd >= 0) close(c->fd);
}

static const zyntax_future_vtable client_vt = {client_poll, client_drop};

static int start_client(zyntax_runtime *rt, client *c, const struct sockaddr_in *addr) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0 || nonblocking(c->fd) != 0) return -1;
  if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) != 0 && errno != EINPROGRESS)
    return -1;
  zyntax_fd_wait_future(rt, c->fd, ZYNTAX_WRITABLE, &c->wait);
  zyntax_task *t;
  zyntax_runtime_spawn_future(rt, c, &client_vt, &t);
  if (t == NULL) return -1;
  zyntax_task_drop(t);
  return 0;
}

/* Opens connections in waves of IN_FLIGHT so the backlog never overflows. */
typedef struct opener {
  client *clients;
  const struct sockaddr_in *addr;
  int started, failed;
  int connected, ok;
  zyntax_future *wait;
} opener;

static zyntax_poll opener_poll(void *state, const zyntax_waker *waker) {
  opener *o = state;
  zyntax_runtime *rt = zyntax_runtime_current();
  for (;;) {
    if (o->wait != NULL) {
      int events; /* the readiness (or the error the next syscall meets) */
      if (zyntax_future_poll(o->wait, waker, &events) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      zyntax_future_drop(o->wait);
      o->wait = NULL;
    }
    while (o->started < CONNECTIONS && o->started - o->connected < IN_FLIGHT) {
      client *c = &o->clients[o->started++];
      c->connected = &o->connected;
      c->ok = &o->ok;
      if (start_client(rt, c, o->addr) != 0) o->failed++;
    }
    if (o->started == CONNECTIONS || o->failed) return ZYNTAX_READY;
    zyntax_sleep_future(rt, 200000, &o->wait);
  }
}

static int run_clients(const struct sockaddr_in *addr) {
  zyntax_runtime_options opts = ZYNTAX_RUNTIME_OPTIONS_INIT;
  opts.flags = ZYNTAX_RUNTIME_SINGLE_THREADED; /* counters are plain ints */
  zyntax_runtime *rt;
  zyntax_runtime_create_with(&opts, &rt);
  if (rt == NULL) return 2;
  opener o = {calloc(CONNECTIONS, sizeof(client)), addr, 0, 0, 0, 0, NULL};
  if (o.clients == NULL) return 3;
  zyntax_task *t = zyntax_runtime_spawn(rt, &o, opener_poll);
  int rc = t ? zyntax_runtime_run(rt) : -1;
  zyntax_task_drop(t);
  zyntax_runtime_destroy(rt);
  fprintf(stderr, "clients: %d connected, %d echoed, %d failed\n", o.connected, o.ok, o.failed);
  free(o.clients);
  return rc == 0 && o.ok == CONNECTIONS ? 0 : 1;
}

/* ---- the test ---- */

static int raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur >= FDS_NEEDED) return 0;
  if (rl.rlim_max < FDS_NEEDED) return -1;
  rl.rlim_cur = FDS_NEEDED;
  return setrlimit(RLIMIT_NOFILE, &rl);
}

void stress_tcp_connections(void **state) {
  (void)state;
  if (raise_fd_limit() != 0) {
    print_message("skipped: needs %d file descriptors per process (RLIMIT_NOFILE)\n", FDS_NEEDED);
    skip();
  }
  struct sockaddr_in addr;
  int lfd = listener(&addr);
  assert_true(lfd >= 0);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    close(lfd);
    alarm(120); /* bounded even if something hangs */
    _exit(run_clients(&addr));
  }
  zyntax_runtime_options opts = ZYNTAX_RUNTIME_OPTIONS_INIT;
  opts.flags = ZYNTAX_RUNTIME_SINGLE_THREADED; /* counters are plain ints */
  zyntax_runtime *rt;
  assert_int_equal(zyntax_runtime_create_with(&opts, &rt), 0);
  server s = {lfd, 0, 0, NULL};
  zyntax_task *t = zyntax_runtime_spawn(rt, &s, accept_poll);
  assert_non_null(t);
  assert_int_equal(zyntax_runtime_run(rt), 0); /* until every echo task ended */
  int status = 0;
  assert_int_equal(waitpid(child, &status, 0), child);
  zyntax_task_drop(t);
  assert_int_equal(zyntax_runtime_destroy(rt), 0);
  close(lfd);
  assert_int_equal(s.accepted, CONNECTIONS);
  assert_int_equal(s.closed, CONNECTIONS);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}
