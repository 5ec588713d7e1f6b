/* 10,000 loopback TCP connections held open at once and echoed. The echo
 * server runs on the runtime under test in this process; the clients run
 * on a runtime of the same backend in a forked child, so each process
 * needs only ~10,000 descriptors. Skips when the fd limit is too low.
 *
 * Every failure ends the test with a message, never a hang. A client
 * whose connect (or echo) fails counts as finished, with its error: the
 * clients still holding their connections let go, and the child exits
 * non-zero. The server's accept task watches, beside the listener, a pipe
 * whose write end only the child holds: it turns readable (the child's
 * report line, or EOF) when the child ends, however it ends, and then no
 * more connections can come, so the task stops and the test fails with
 * the child's exit status and report. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"

#define CONNECTIONS 10000
#define FDS_NEEDED (CONNECTIONS + 64)
#define IN_FLIGHT 512 /* connects at once: stay under the listen backlog */
/* The child's last resort, far beyond a healthy run's seconds even under
 * sanitizers: a hang outside the paths above still ends, with a message,
 * before CTest's timeout kills the whole binary. */
#define CHILD_ALARM_S 60

/* snprintf for messages: a long one is cut, which is all right here. */
__attribute__((format(printf, 3, 4))) static void say(char *buf, size_t size, const char *fmt,
                                                      ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, size, fmt, ap);
  va_end(ap);
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
  int lfd;     /* the listener; the accept task closes it when it ends */
  int gone_fd; /* the pipe's read end: readable once the child ended */
  int accepted, closed;
  int child_ended; /* the accept task stopped because the child ended */
  zyntax_future *wait, *gone;
  char why[160]; /* why the server stopped early ("" if it did not) */
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
    if (n > 0) { /* tiny: fits the buffer. No SIGPIPE if the client is gone */
      if (send(e->fd, buf, (size_t)n, MSG_NOSIGNAL) != n) n = 0;
      if (n > 0) continue;
    }
    /* The client sees a failed wait as a closed connection. */
    if (n < 0 && errno == EAGAIN &&
        zyntax_fd_wait_future(zyntax_runtime_current(), e->fd, ZYNTAX_READABLE, &e->wait) == 0)
      continue;
    close(e->fd);
    e->srv->closed++; /* one thread: the runtime is single-threaded */
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

/* Ends the accept task. Closing the listener refuses whatever is still
 * queued, so no client waits on a connection nobody will accept. */
static zyntax_poll accept_done(server *s) {
  zyntax_future_drop(s->wait);
  zyntax_future_drop(s->gone);
  s->wait = s->gone = NULL;
  close(s->lfd);
  s->lfd = -1;
  return ZYNTAX_READY;
}

__attribute__((format(printf, 2, 3))) static zyntax_poll accept_fail(server *s,
                                                                     const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->why, sizeof s->why, fmt, ap);
  va_end(ap);
  return accept_done(s);
}

/* The child's end: its pipe turned readable (the report it writes last,
 * or EOF). Waited on beside the listener, so the task never waits for
 * connections that cannot come. */
static int child_ended(server *s, const zyntax_waker *waker) {
  if (s->gone == NULL &&
      zyntax_fd_wait_future(zyntax_runtime_current(), s->gone_fd, ZYNTAX_READABLE, &s->gone) != 0)
    return -1;
  int events; /* readable, or an error: the child's end either way */
  return zyntax_future_poll(s->gone, waker, &events) == ZYNTAX_READY;
}

static zyntax_poll accept_poll(void *state, const zyntax_waker *waker) {
  server *s = state;
  zyntax_runtime *rt = zyntax_runtime_current();
  int ended = child_ended(s, waker);
  if (ended < 0) return accept_fail(s, "waiting on the child: %s", zyntax_last_error()->message);
  if (ended) {
    s->child_ended = 1;
    return accept_fail(s, "the client process ended after %d of %d accepts", s->accepted,
                       CONNECTIONS);
  }
  while (s->accepted < CONNECTIONS) {
    if (s->wait != NULL) {
      int events; /* the readiness (or the error the next syscall meets) */
      if (zyntax_future_poll(s->wait, waker, &events) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      zyntax_future_drop(s->wait);
      s->wait = NULL;
    }
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN) return accept_fail(s, "accept: %s", strerror(errno));
      if (zyntax_fd_wait_future(rt, s->lfd, ZYNTAX_READABLE, &s->wait) != 0)
        return accept_fail(s, "waiting on the listener: %s", zyntax_last_error()->message);
      continue;
    }
    echo init = {s, fd, NULL};
    zyntax_task *t;
    if (zyntax_runtime_spawn_inplace(rt, &echo_vt, sizeof(echo), _Alignof(echo), echo_init, &init,
                                     &t) != 0) {
      close(fd);
      return accept_fail(s, "spawning an echo task: %s", zyntax_last_error()->message);
    }
    zyntax_task_drop(t);
    s->accepted++;
  }
  return accept_done(s);
}

/* Runs the server until every echo task ended (s->why says if it could
 * not start, or stopped early). */
static void serve(server *s) {
  zyntax_runtime_options opts = ZYNTAX_RUNTIME_OPTIONS_INIT;
  opts.flags = ZYNTAX_RUNTIME_SINGLE_THREADED; /* counters are plain ints */
  zyntax_runtime *rt;
  if (zyntax_runtime_create_with(&opts, &rt) != 0) {
    say(s->why, sizeof s->why, "no runtime: %s", zyntax_last_error()->message);
    return;
  }
  zyntax_task *t = zyntax_runtime_spawn(rt, s, accept_poll);
  if (t == NULL)
    say(s->why, sizeof s->why, "spawning the accept task: %s", zyntax_last_error()->message);
  else if (zyntax_runtime_run(rt) != 0)
    say(s->why, sizeof s->why, "run: %s", zyntax_last_error()->message);
  zyntax_task_drop(t);
  if (zyntax_runtime_destroy(rt) != 0 && s->why[0] == '\0')
    say(s->why, sizeof s->why, "destroy: %s", zyntax_last_error()->message);
}

/* ---- the clients (child process) ---- */

typedef struct tally {
  int connected, ok;
  int failed;      /* clients that ended with an error */
  char first[128]; /* the first one's error */
} tally;

typedef struct client {
  int fd;
  int phase; /* 0 connecting, 1 waiting for all, 2 echo */
  zyntax_future *wait;
  tally *n;
} client;

static void client_drop(void *state) {
  client *c = state;
  zyntax_future_drop(c->wait);
  c->wait = NULL;
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

static void tally_fail(tally *n, const char *what, const char *why) {
  if (n->failed++ == 0) say(n->first, sizeof n->first, "%s: %s", what, why);
}

/* A client that failed has finished all the same: counted with its error,
 * so nobody waits for it. */
static zyntax_poll client_fail(client *c, const char *what, const char *why) {
  tally_fail(c->n, what, why);
  client_drop(c);
  return ZYNTAX_READY;
}

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
      if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) return client_fail(c, "connect", strerror(err));
      c->n->connected++;
      c->phase = 1;
    }
    if (c->phase == 1) { /* hold the connection until all are open */
      if (c->n->failed > 0) { /* one never will be: let go */
        client_drop(c);
        return ZYNTAX_READY;
      }
      if (c->n->connected < CONNECTIONS) {
        if (zyntax_sleep_future(rt, 1000000, &c->wait) != 0)
          return client_fail(c, "sleep", zyntax_last_error()->message);
        continue;
      }
      if (send(c->fd, "ping", 4, MSG_NOSIGNAL) != 4) return client_fail(c, "send", strerror(errno));
      c->phase = 2;
    }
    char buf[8];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN) {
      if (zyntax_fd_wait_future(rt, c->fd, ZYNTAX_READABLE, &c->wait) != 0)
        return client_fail(c, "wait", zyntax_last_error()->message);
      continue;
    }
    if (n != 4 || memcmp(buf, "ping", 4) != 0)
      return client_fail(c, "echo", n < 0 ? strerror(errno) : n == 0 ? "closed" : "wrong bytes");
    c->n->ok++;
    client_drop(c);
    return ZYNTAX_READY;
  }
}

static const zyntax_future_vtable client_vt = {client_poll, client_drop};

/* Starts a connect and the client's task; a failure here is counted as
 * the client's end like any other. */
static void start_client(zyntax_runtime *rt, client *c, const struct sockaddr_in *addr) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    client_fail(c, "socket", strerror(errno));
    return;
  }
  if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) != 0 && errno != EINPROGRESS) {
    client_fail(c, "connect", strerror(errno));
    return;
  }
  if (zyntax_fd_wait_future(rt, c->fd, ZYNTAX_WRITABLE, &c->wait) != 0) {
    client_fail(c, "wait", zyntax_last_error()->message);
    return;
  }
  zyntax_task *t;
  if (zyntax_runtime_spawn_future(rt, c, &client_vt, &t) != 0) {
    client_fail(c, "spawn", zyntax_last_error()->message);
    return;
  }
  zyntax_task_drop(t);
}

/* Opens connections in waves of IN_FLIGHT so the backlog never overflows;
 * stops at the first failure (the run fails then; holding on is moot). */
typedef struct opener {
  client *clients;
  const struct sockaddr_in *addr;
  int started;
  tally n;
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
    while (o->started < CONNECTIONS && o->n.failed == 0 &&
           o->started - o->n.connected < IN_FLIGHT) {
      client *c = &o->clients[o->started++];
      c->n = &o->n;
      start_client(rt, c, o->addr);
    }
    if (o->started == CONNECTIONS || o->n.failed > 0) return ZYNTAX_READY;
    if (zyntax_sleep_future(rt, 200000, &o->wait) != 0) {
      tally_fail(&o->n, "sleep", zyntax_last_error()->message);
      return ZYNTAX_READY;
    }
  }
}

/* Runs every client; returns the exit status (0: every echo came back) and
 * writes the report line. */
static int run_clients(const struct sockaddr_in *addr, char *report, size_t size) {
  zyntax_runtime_options opts = ZYNTAX_RUNTIME_OPTIONS_INIT;
  opts.flags = ZYNTAX_RUNTIME_SINGLE_THREADED; /* counters are plain ints */
  zyntax_runtime *rt;
  if (zyntax_runtime_create_with(&opts, &rt) != 0) {
    say(report, size, "clients: no runtime: %s", zyntax_last_error()->message);
    return 2;
  }
  opener o = {calloc(CONNECTIONS, sizeof(client)), addr, 0, {0, 0, 0, ""}, NULL};
  zyntax_task *t = o.clients != NULL ? zyntax_runtime_spawn(rt, &o, opener_poll) : NULL;
  int rc = t != NULL ? zyntax_runtime_run(rt) : -1;
  zyntax_task_drop(t);
  zyntax_runtime_destroy(rt);
  free(o.clients);
  say(report, size, "clients: %d connected, %d echoed, %d failed%s%s%s", o.n.connected, o.n.ok,
      o.n.failed, o.n.failed > 0 ? " (first: " : "", o.n.first, o.n.failed > 0 ? ")" : "");
  if (t == NULL || rc != 0) return 3;
  return o.n.ok == CONNECTIONS && o.n.failed == 0 ? 0 : 1;
}

/* The child: its report goes into the pipe last, just before it exits. */
static int client_process(const struct sockaddr_in *addr, pid_t parent, int report_fd) {
  /* Never outlive the test: CTest may kill it at a hang. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) return 4;
  /* A crash kills it, for the parent to report: cmocka's handlers, copied
   * by fork, would resume the test run in this process instead. */
  const int crashes[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT};
  for (size_t i = 0; i < sizeof crashes / sizeof crashes[0]; i++) signal(crashes[i], SIG_DFL);
  alarm(CHILD_ALARM_S);
  char report[256];
  int rc = run_clients(addr, report, sizeof report);
  size_t len = strlen(report);
  if (write(report_fd, report, len) != (ssize_t)len) rc = rc ? rc : 5;
  return rc;
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

static void describe_exit(int status, char *buf, size_t size) {
  if (status == -1)
    say(buf, size, "could not be reaped (waitpid failed)");
  else if (WIFEXITED(status))
    say(buf, size, "exited with status %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    say(buf, size, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else
    say(buf, size, "ended with wait status %#x", (unsigned)status);
}

/* Reaps the child (*status -1 if it cannot) and reads its
 * report (empty if it wrote none). The caller saw it end, or stopped
 * serving it (then it is killed: nothing it still does matters, and it
 * must not be waited for). */
static void end_child(pid_t child, int report_fd, int kill_it, int *status, char *report,
                      size_t size) {
  if (kill_it) kill(child, SIGKILL);
  pid_t got;
  while ((got = waitpid(child, status, 0)) < 0 && errno == EINTR) {
  }
  if (got != child) *status = -1;
  ssize_t len = read(report_fd, report, size - 1); /* one short write, read whole */
  report[len > 0 ? len : 0] = '\0';
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
  int pipefd[2]; /* the child holds the write end: the read end's EOF is its end */
  assert_int_equal(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK), 0);
  pid_t parent = getpid();
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    close(lfd);
    close(pipefd[0]);
    _exit(client_process(&addr, parent, pipefd[1]));
  }
  close(pipefd[1]);
  server s = {lfd, pipefd[0], 0, 0, 0, NULL, NULL, ""};
  serve(&s);
  if (s.lfd >= 0) close(s.lfd); /* the accept task never ran */
  int status = 0;
  char report[256], how[96];
  end_child(child, pipefd[0], s.why[0] != '\0' && !s.child_ended, &status, report, sizeof report);
  close(pipefd[0]);
  describe_exit(status, how, sizeof how);
  print_message("%s\n", report[0] != '\0' ? report : "clients: no report");
  if (s.why[0] != '\0' || s.accepted != CONNECTIONS || s.closed != CONNECTIONS ||
      !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("server: %s (%d accepted, %d closed of %d); the client process %s; %s",
             s.why[0] != '\0' ? s.why : "served", s.accepted, s.closed, CONNECTIONS, how,
             report[0] != '\0' ? report : "it wrote no report");
}
