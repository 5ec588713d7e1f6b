/* http_serve: a standalone HTTP/1.1 server, one binary on every backend
 * (ZYNTAX_RUNTIME picks it), written the way a compiler lowers
 *
 *   async fn serve(listener, signals) {
 *       loop { select! { _ = signals.readable() => break,
 *                        c = listener.accept() => spawn(connection(c)) } }
 *   }
 *   async fn connection(c) {
 *       while let Some(req) = read_request(&c).await { write(&c, RESPONSE).await }
 *   }
 *
 * Keep-alive, pipelined requests, a small fixed response (HTTP_SERVE_RESPONSE),
 * thousands of concurrent connections (one task each, waiting on its socket
 * through an fd watch: a registration kept across waits, destroyed by the
 * task's drop before the socket is closed; a watch holds a duplicate of its
 * fd, so each connection takes two descriptors).
 *
 * Usage: http_serve PORT [IPV4]   (PORT 0 = pick a free one; IPV4 default
 * 127.0.0.1). The first line on stdout is "listening on PORT" (what
 * `zyntax-bench run --ready tcp:auto` reads). SIGINT or SIGTERM stops it
 * cleanly: the handler writes to a self-pipe that the server task awaits with
 * zyntax_fd_wait_future, the listener is closed (no more accepts), and destroying
 * the runtime cancels every connection task, whose drop closes its socket.
 * Exits 0 when every connection task was dropped, 1 otherwise, 2 on bad
 * arguments or a setup failure. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zyntax/runtime.h>

#include "fd_await.h"
#include "http_parse.h"

static const char response[] = HTTP_SERVE_RESPONSE;
enum { RESPONSE_LEN = sizeof response - 1 };
_Static_assert(sizeof HTTP_SERVE_BODY - 1 == 18, "Content-Length in HTTP_SERVE_RESPONSE");

/* Work a task does in one poll before it yields (accepts or requests), so a
 * busy connection cannot starve the others on a one-thread loop. */
enum { POLL_BUDGET = 64 };

static int signal_pipe[2] = {-1, -1};
static atomic_long live_connections; /* spawned and not yet dropped */
static atomic_ulong requests_served, connections_accepted;

/* Async-signal-safe: one byte into the self-pipe; errno is preserved. */
static void on_signal(int sig) {
  (void)sig;
  int saved = errno;
  ssize_t rc = write(signal_pipe[1], "s", 1);
  (void)rc; /* a full pipe already holds a wake-up */
  errno = saved;
}

/* ---- connection(c) ------------------------------------------------------- */

typedef struct conn {
  int fd; /* owned */
  fd_await ready;
  char in[4096]; /* unparsed request bytes (+1 for http_parse_head's NUL) */
  size_t in_len;
  size_t sent; /* bytes of the current response written; writing while > 0 or pending */
  int writing;
  int close_after; /* the request said "Connection: close" */
  unsigned char yielded;
} conn;

enum { CONN_END = 0x80u }; /* besides ZYNTAX_READABLE / ZYNTAX_WRITABLE and 0 */

/* Takes one complete request off c->in: 1 taken, 0 incomplete, -1 too long
 * for the buffer (the connection ends; no request line can be answered). */
static int take_request(conn *c) {
  size_t body_at, body_length;
  if (c->in_len == 0) return 0;
  if (!http_parse_head(c->in, c->in_len, &body_at, &body_length))
    return c->in_len == sizeof c->in - 1 ? -1 : 0;
  size_t total = body_at + body_length; /* a body is read and ignored */
  if (total > sizeof c->in - 1) return -1;
  if (total > c->in_len) return 0;
  c->close_after = http_header_has(c->in, body_at, "Connection", "close");
  memmove(c->in, c->in + total, c->in_len - total);
  c->in_len -= total;
  return 1;
}

/* One step of the connection: 0 = progress made (step again), else what to
 * await (ZYNTAX_READABLE / ZYNTAX_WRITABLE), or CONN_END. */
static unsigned conn_step(conn *c) {
  if (c->writing) {
    ssize_t n = send(c->fd, response + c->sent, RESPONSE_LEN - c->sent, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN ? ZYNTAX_WRITABLE : CONN_END;
    if ((c->sent += (size_t)n) < RESPONSE_LEN) return 0;
    atomic_fetch_add_explicit(&requests_served, 1, memory_order_relaxed);
    c->writing = 0, c->sent = 0;
    return c->close_after ? CONN_END : 0;
  }
  int taken = take_request(c);
  if (taken != 0) return taken < 0 ? CONN_END : (c->writing = 1, 0u);
  ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
  if (n > 0) return c->in_len += (size_t)n, 0u;
  return n < 0 && errno == EAGAIN ? ZYNTAX_READABLE : CONN_END; /* EOF or error */
}

static zyntax_poll conn_poll(void *state, const zyntax_waker *waker) {
  conn *c = state;
  /* The socket is waited on again and again: one watch keeps its
   * registration across the waits (destroyed in conn_drop, before the
   * close). Failing (out of memory, out of fds) ends the connection. */
  if (c->ready.watch == NULL &&
      zyntax_fd_watch_open(zyntax_runtime_current(), c->fd, &c->ready.watch) != 0)
    return ZYNTAX_READY;
  if (c->yielded) zyntax_yield_poll(&c->yielded, waker); /* the resumed yield */
  for (int budget = POLL_BUDGET * 2; budget > 0; budget--) {
    unsigned want = conn_step(c);
    if (want == CONN_END) return ZYNTAX_READY;
    if (want == 0) continue;
    if (fd_await_poll(&c->ready, c->fd, want, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
    if (c->ready.result < 0) return ZYNTAX_READY;
  }
  return zyntax_yield_poll(&c->yielded, waker);
}

/* Drop glue, exactly once per task: on completion or on cancel (shutdown). */
static void conn_drop(void *state) {
  conn *c = state;
  fd_await_drop(&c->ready);
  if (c->ready.watch != NULL) zyntax_fd_watch_destroy(c->ready.watch);
  close(c->fd);
  free(c);
  atomic_fetch_sub(&live_connections, 1);
}

static const zyntax_future_vtable conn_vtable = {conn_poll, conn_drop};

/* ---- serve(listener, signals) --------------------------------------------- */

typedef struct server {
  int listener; /* owned; -1 once closed */
  fd_await accept_ready, signal_ready;
  unsigned char yielded;
} server;

/* Spawns a task for `fd`; it is detached (the handle dropped): the task
 * ends by itself or is cancelled by the runtime's destroy. */
static void spawn_connection(int fd) {
  conn *c = calloc(1, sizeof *c);
  if (c) c->fd = fd; /* before the spawn: a Tokio worker may poll it at once */
  atomic_fetch_add(&live_connections, 1);
  zyntax_task *task = NULL;
  if (c) zyntax_runtime_spawn_future(zyntax_runtime_current(), c, &conn_vtable, &task);
  if (task == NULL) {
    atomic_fetch_sub(&live_connections, 1);
    fprintf(stderr, "http_serve: connection dropped: %s\n",
            c ? zyntax_last_error()->message : "out of memory");
    free(c);
    close(fd);
    return;
  }
  atomic_fetch_add_explicit(&connections_accepted, 1, memory_order_relaxed);
  zyntax_task_drop(task);
}

/* Accepts up to POLL_BUDGET connections; 1 if the budget ran out (more may
 * be waiting), 0 when the backlog is empty or accept failed. */
static int accept_some(server *s) {
  for (int i = 0; i < POLL_BUDGET; i++) {
    int fd = accept4(s->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      spawn_connection(fd);
      continue;
    }
    if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
      perror("http_serve: accept"); /* EMFILE: retried on the next readiness */
    return 0;
  }
  return 1;
}

static void server_drop(server *s) {
  fd_await_drop(&s->accept_ready);
  fd_await_drop(&s->signal_ready);
  if (s->listener >= 0) close(s->listener);
  s->listener = -1;
}

/* READY once a signal arrived: the listener is closed then. */
static zyntax_poll server_poll(void *state, const zyntax_waker *waker) {
  server *s = state;
  if (s->yielded) zyntax_yield_poll(&s->yielded, waker);
  for (int round = 0; round < 4; round++) {
    if (fd_await_poll(&s->signal_ready, signal_pipe[0], ZYNTAX_READABLE, waker) == ZYNTAX_READY)
      return server_drop(s), ZYNTAX_READY; /* stop accepting */
    if (accept_some(s)) continue;
    if (fd_await_poll(&s->accept_ready, s->listener, ZYNTAX_READABLE, waker) == ZYNTAX_PENDING)
      return ZYNTAX_PENDING;
    if (s->accept_ready.result < 0) return server_drop(s), ZYNTAX_READY;
  }
  return zyntax_yield_poll(&s->yielded, waker);
}

/* ---- main ---------------------------------------------------------------- */

static int listen_on(const char *ip, unsigned port) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  socklen_t len = sizeof addr;
  int one = 1;
  if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) return errno = EINVAL, -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&addr, len) != 0 || listen(fd, SOMAXCONN) != 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
    int saved = errno;
    close(fd);
    return errno = saved, -1;
  }
  printf("listening on %u\n", ntohs(addr.sin_port));
  fflush(stdout);
  return fd;
}

/* The self-pipe and the handlers of SIGINT and SIGTERM; SIGPIPE ignored. */
static int install_signals(void) {
  if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  signal(SIGPIPE, SIG_IGN);
  return sigaction(SIGINT, &sa, NULL) | sigaction(SIGTERM, &sa, NULL);
}

/* Thousands of connections need thousands of fds: the soft limit is raised
 * to the hard one. */
static void raise_fd_limit(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

static int serve(zyntax_runtime *rt, int listener) {
  server s = {.listener = listener};
  int rc = zyntax_runtime_block_on_future(rt, &s, server_poll);
  server_drop(&s);
  if (rc != 0) fprintf(stderr, "http_serve: %s\n", zyntax_last_error()->message);
  /* Cancels every connection task still open; each drop closes its socket. */
  if (zyntax_runtime_destroy(rt) != 0) return 1;
  long left = atomic_load(&live_connections);
  fprintf(stderr, "http_serve: stopped: %lu requests on %lu connections, %ld tasks left\n",
          atomic_load(&requests_served), atomic_load(&connections_accepted), left);
  return rc != 0 || left != 0;
}

int main(int argc, char **argv) {
  char *end = NULL;
  unsigned long port = argc >= 2 ? strtoul(argv[1], &end, 10) : 0;
  if (argc < 2 || argc > 3 || *end != '\0' || port > 65535) {
    fprintf(stderr, "usage: %s PORT [IPV4]   (PORT 0 = any free port)\n", argv[0]);
    return 2;
  }
  raise_fd_limit();
  if (install_signals() != 0) return perror("http_serve: signals"), 2;
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) return fprintf(stderr, "http_serve: %s\n", zyntax_last_error()->message), 2;
  fprintf(stderr, "http_serve: backend %s (%s)\n", zyntax_runtime_backend_name(rt),
          zyntax_runtime_backend_version(rt));
  int listener = listen_on(argc == 3 ? argv[2] : "127.0.0.1", (unsigned)port);
  if (listener < 0) {
    perror("http_serve: listen");
    zyntax_runtime_destroy(rt);
    return 2;
  }
  int rc = serve(rt, listener);
  close(signal_pipe[0]);
  close(signal_pipe[1]);
  return rc;
}
