/* zyntax-bench: sizes, clocks and the sample protocol (bench_common.h). */
#include "bench_common.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const zb_sizes full_sizes = {
    .dispatch_polls = 2000000,
    .yield_tasks = 200, .yield_count = 1000,
    .spawn_tasks = 10000,
    .chain_tasks = 100000,
    .pingpong_pairs = 100, .pingpong_rounds = 1000,
    .xthread_rounds = 100000,
    .timers = 1000000, .timer_spread_ms = 1000,
    .echo_conns = 32, .echo_requests = 2000, .echo_bytes = 64,
    .fanout_sockets = 1000, .fanout_rounds = 100,
};

/* --quick: every workload in well under a second, for the CTest smoke test. */
static const zb_sizes quick_sizes = {
    .dispatch_polls = 100000,
    .yield_tasks = 20, .yield_count = 100,
    .spawn_tasks = 1000,
    .chain_tasks = 100,
    .pingpong_pairs = 10, .pingpong_rounds = 100,
    .xthread_rounds = 2000,
    .timers = 20000, .timer_spread_ms = 20,
    .echo_conns = 4, .echo_requests = 100, .echo_bytes = 64,
    .fanout_sockets = 64, .fanout_rounds = 10,
};

const char *const zb_workload_names[] = {
    "dispatch", "yield_many", "spawn_many", "chained_spawn", "ping_pong",
    "cross_thread_wake", "timers", "tcp_echo", "fd_fanout",
};
const size_t zb_workload_count = sizeof zb_workload_names / sizeof zb_workload_names[0];

const zb_sizes *zb_sizes_get(int quick) { return quick ? &quick_sizes : &full_sizes; }

uint64_t zb_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t zb_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void zb_begin(zb_sample *out) {
  memset(out, 0, sizeof *out);
  out->cpu_ns = zb_cpu_ns();
  out->wall_ns = zb_now_ns();
}

void zb_end(zb_sample *out) {
  out->wall_ns = zb_now_ns() - out->wall_ns;
  out->cpu_ns = zb_cpu_ns() - out->cpu_ns;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

void zb_percentiles(uint64_t *lat, size_t n, zb_sample *out) {
  if (n == 0) return;
  qsort(lat, n, sizeof *lat, cmp_u64);
  out->p50_ns = lat[(n - 1) / 2];
  out->p99_ns = lat[(n - 1) * 99 / 100];
}

void zb_raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int zb_fail(const char *what) {
  fprintf(stderr, "zyntax-bench: %s%s%s\n", what, errno ? ": " : "",
          errno ? strerror(errno) : "");
  return -1;
}

void zb_die(const char *what) {
  zb_fail(what);
  exit(1);
}

static int set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int zb_socketpair(int fds[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    return zb_fail("socketpair");
  return 0;
}

static struct sockaddr_in loopback(uint16_t port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  return sa;
}

int zb_listen_loopback(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return zb_fail("socket");
  struct sockaddr_in sa = loopback(0);
  socklen_t len = sizeof sa;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    close(fd);
    return zb_fail("listen on 127.0.0.1");
  }
  *port = ntohs(sa.sin_port);
  return fd;
}

int zb_connect_loopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return zb_fail("socket");
  struct sockaddr_in sa = loopback(port);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
    close(fd);
    return zb_fail("connect to 127.0.0.1");
  }
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

int zb_tune_socket(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return set_nonblocking(fd);
}

static void print_sample(const char *name, unsigned rep, const zb_sample *s) {
  printf("sample workload=%s rep=%u ops=%llu wall_ns=%llu cpu_ns=%llu p50_ns=%llu "
         "p99_ns=%llu\n",
         name, rep, (unsigned long long)s->ops, (unsigned long long)s->wall_ns,
         (unsigned long long)s->cpu_ns, (unsigned long long)s->p50_ns,
         (unsigned long long)s->p99_ns);
  fflush(stdout);
}

static const zb_workload *find_workload(const char *name, const zb_workload *table,
                                        size_t count) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(table[i].name, name) == 0) return &table[i];
  return NULL;
}

int zb_child_main(int argc, char **argv, const zb_workload *table, size_t count) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s WORKLOAD REPS QUICK\n", argv[0]);
    return 2;
  }
  const zb_workload *w = find_workload(argv[1], table, count);
  char *end;
  unsigned long reps = strtoul(argv[2], &end, 10);
  if (!w || *end || reps == 0 || reps > 1000 || (strcmp(argv[3], "0") && strcmp(argv[3], "1"))) {
    fprintf(stderr, "%s: unknown workload '%s' or bad REPS/QUICK\n", argv[0], argv[1]);
    return 2;
  }
  if (!w->run) return 3;
  const zb_sizes *sizes = zb_sizes_get(argv[3][0] == '1');
  zb_raise_fd_limit();
  signal(SIGPIPE, SIG_IGN); /* a peer gone early is an error return, not a kill */
  /* stdout's buffer before the warm-up: stdio would malloc 4 KiB at the
   * first printf, after repetition 1 - a request large enough that glibc
   * first consolidates the small chunks repetition 1 freed, and
   * repetition 2's small allocations would take malloc's slow path
   * (spawn_many on Tokio: about 175 instructions per task). Rust's stdout
   * (native Tokio) makes its buffer when the program takes the handle,
   * before its warm-up. */
  static char out_buffer[4096];
  setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
  for (unsigned rep = 0; rep <= reps; rep++) {
    zb_sample s;
    if (w->run(sizes, &s) != 0) {
      fprintf(stderr, "%s: workload %s failed\n", argv[0], w->name);
      return 1;
    }
    if (rep > 0) print_sample(w->name, rep, &s); /* rep 0 is the warm-up */
  }
  return 0;
}

int zb_check_count(const char *what, uint64_t got, uint64_t want) {
  if (got == want) return 0;
  fprintf(stderr, "zyntax-bench: %s: got %" PRIu64 ", want %" PRIu64 "\n", what, got, want);
  return -1;
}

int zb_latencies_init(zb_latencies *l, size_t cap) {
  l->n = 0;
  l->cap = cap;
  l->ns = malloc((cap ? cap : 1) * sizeof *l->ns);
  return l->ns ? 0 : zb_fail("malloc latencies");
}

void zb_latency_add(zb_latencies *l, uint64_t start_ns) {
  if (l->n < l->cap) l->ns[l->n++] = zb_now_ns() - start_ns;
}

void zb_latencies_finish(zb_latencies *l, zb_sample *out) {
  zb_percentiles(l->ns, l->n, out);
  free(l->ns);
  l->ns = NULL;
  l->n = l->cap = 0;
}

void zb_fanout_close(zb_fanout *f) {
  for (size_t i = 0; i < 2 * (size_t)f->sockets; i++) close(f->fds[i]);
  free(f->fds);
  f->fds = NULL;
}

int zb_fanout_open(zb_fanout *f, const zb_sizes *sizes) {
  memset(f, 0, sizeof *f);
  f->sockets = sizes->fanout_sockets;
  f->rounds = sizes->fanout_rounds;
  f->fds = malloc(2 * (size_t)(f->sockets ? f->sockets : 1) * sizeof *f->fds);
  if (!f->fds) return zb_fail("malloc socket pairs");
  for (uint32_t i = 0; i < f->sockets; i++)
    if (zb_socketpair(&f->fds[2 * (size_t)i]) != 0) {
      f->sockets = i;
      zb_fanout_close(f);
      return -1;
    }
  return 0;
}

/* fd_fanout's bytes go through send/recv in every program: native Tokio's
 * sockets (Rust's std) use them, and read/write cost a socket more in the
 * kernel (the file layer's checks) than the work compared. */
int zb_fanout_poke(zb_fanout *f) {
  for (uint32_t i = 0; i < f->sockets; i++)
    if (send(f->fds[2 * (size_t)i + 1], "x", 1, MSG_NOSIGNAL) != 1) { /* 1 byte: all or -1 */
      f->failed = 1;
      return zb_fail("fd_fanout: write");
    }
  return 0;
}

int zb_fanout_ready(zb_fanout *f, int fd) {
  char byte;
  ssize_t n = recv(fd, &byte, 1, 0);
  if (n != 1) {
    if (n == 0) errno = 0; /* the other side closed */
    f->failed = 1;
    zb_fail("fd_fanout: read");
    return 0;
  }
  f->events++;
  if (++f->in_round < f->sockets) return 1;
  f->in_round = 0; /* every reader of this round is done: the next round */
  return ++f->round < f->rounds && zb_fanout_poke(f) == 0;
}

int zb_fanout_finish(zb_fanout *f, zb_sample *out) {
  zb_fanout_close(f);
  out->ops = f->events;
  if (f->failed) return -1;
  return zb_check_count("fd_fanout: events", f->events, (uint64_t)f->sockets * f->rounds);
}

int zb_echo_init(zb_echo *e, const zb_sizes *sizes, zb_sample *out) {
  memset(e, 0, sizeof *e);
  e->conns = e->clients_left = sizes->echo_conns;
  e->requests = sizes->echo_requests;
  e->bytes = sizes->echo_bytes;
  e->out = out;
  e->payload = malloc(e->bytes ? e->bytes : 1);
  e->answers = malloc((size_t)e->conns * e->bytes + 1);
  if (!e->payload || !e->answers ||
      zb_latencies_init(&e->lat, (size_t)e->conns * e->requests) != 0) {
    free(e->payload);
    free(e->answers);
    return zb_fail("malloc");
  }
  for (uint32_t i = 0; i < e->bytes; i++) e->payload[i] = (char)('a' + i % 26);
  return 0;
}

void zb_echo_client_init(zb_echo *e, zb_echo_client *c, uint32_t i) {
  memset(c, 0, sizeof *c);
  c->in = e->answers + (size_t)i * e->bytes;
}

void zb_echo_request(zb_echo_client *c) {
  c->got = 0;
  c->start_ns = zb_now_ns();
}

int zb_echo_received(zb_echo *e, zb_echo_client *c, long n) {
  if (n > 0 && (c->got += (uint32_t)n) < e->bytes) return ZB_ECHO_READ_ON;
  if (n <= 0 || memcmp(c->in, e->payload, e->bytes) != 0) return ZB_ECHO_FAILED;
  zb_latency_add(&e->lat, c->start_ns);
  e->answered++;
  if (++c->done == e->requests) return ZB_ECHO_DONE;
  zb_echo_request(c);
  return ZB_ECHO_SEND_NEXT;
}

int zb_echo_client_done(zb_echo *e, int failed) {
  e->failed |= failed;
  if (--e->clients_left != 0) return 0;
  zb_end(e->out); /* the last answer is in; the rest is teardown */
  return 1;
}

int zb_echo_finish(zb_echo *e, zb_sample *out) {
  out->ops = e->answered;
  zb_latencies_finish(&e->lat, out);
  free(e->payload);
  free(e->answers);
  errno = 0;
  if (e->failed) return zb_fail("tcp_echo: a connection failed");
  return zb_check_count("tcp_echo: requests", e->answered, (uint64_t)e->conns * e->requests);
}
