/* zyntax-bench: what every C workload program shares - the workload sizes
 * (one table, so zyntax and the native baselines do the same work), the
 * clocks, and the sample line the harness parses.
 *
 * A workload program is run as `PROGRAM WORKLOAD REPS QUICK` (QUICK 0 or 1).
 * It does one warm-up repetition, then REPS measured ones, and prints one
 * line per measured repetition on stdout:
 *
 *   sample workload=W rep=I ops=N wall_ns=T cpu_ns=C p50_ns=P p99_ns=Q
 *
 * ops is the number of operations the repetition did (polls, tasks, round
 * trips, timers, requests, readiness events: docs/benchmarks.md), wall_ns its
 * elapsed CLOCK_MONOTONIC time, cpu_ns the process CPU time it used (all
 * threads), p50/p99 per-operation latencies where the workload measures them
 * (tcp_echo), else 0. Exit 0; 2 for an unknown workload or bad arguments;
 * 1 if the workload failed (message on stderr). */
#ifndef ZYNTAX_BENCH_COMMON_H
#define ZYNTAX_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/** Sizes of every workload; zb_sizes_get() gives the full or quick set. The
 * native Tokio baseline (native/tokio/src/sizes.rs) mirrors this table. */
typedef struct zb_sizes {
  uint64_t dispatch_polls; /**< dispatch: polls of one self-waking task */
  uint32_t yield_tasks, yield_count; /**< yield_many: tasks x yields each */
  uint32_t spawn_tasks; /**< spawn_many: tasks spawned from inside the runtime */
  uint32_t chain_tasks; /**< chained_spawn: length of the chain */
  uint32_t pingpong_pairs, pingpong_rounds; /**< ping_pong: pairs x round trips */
  uint32_t xthread_rounds; /**< cross_thread_wake: wake round trips */
  uint32_t timers, timer_spread_ms; /**< timers: count, deadlines 1..spread ms */
  uint32_t echo_conns, echo_requests, echo_bytes; /**< tcp_echo */
  uint32_t fanout_sockets, fanout_rounds; /**< fd_fanout */
} zb_sizes;

const zb_sizes *zb_sizes_get(int quick);

/** One measured repetition, as the sample line reports it. */
typedef struct zb_sample {
  uint64_t ops;
  uint64_t wall_ns;
  uint64_t cpu_ns;
  uint64_t p50_ns;
  uint64_t p99_ns;
} zb_sample;

/** A workload: does one repetition at `sizes`, fills `out`; 0 or -1. */
typedef int (*zb_workload_fn)(const zb_sizes *sizes, zb_sample *out);

typedef struct zb_workload {
  const char *name;
  zb_workload_fn run;
} zb_workload;

/** The workload names in table order (the harness's default order). */
extern const char *const zb_workload_names[];
extern const size_t zb_workload_count;

/** The whole child: parses argv, looks WORKLOAD up in `table` (NULL `run`
 * entries mean "not offered by this program": exit 3, the harness shows a
 * gap), runs warm-up + REPS, prints samples. Returns the exit code. */
int zb_child_main(int argc, char **argv, const zb_workload *table, size_t count);

/** CLOCK_MONOTONIC and process CPU time, in ns. */
uint64_t zb_now_ns(void);
uint64_t zb_cpu_ns(void);

/** Starts / stops a repetition's clocks into `out` (ops set by the caller). */
void zb_begin(zb_sample *out);
void zb_end(zb_sample *out);

/** Fills out->p50_ns / p99_ns from `n` latencies (sorted in place). */
void zb_percentiles(uint64_t *lat, size_t n, zb_sample *out);

/** Raises RLIMIT_NOFILE to its hard limit (fd_fanout, tcp_echo). */
void zb_raise_fd_limit(void);

/** Prints "WORKLOAD: MESSAGE: strerror(errno)" style failures on stderr and
 * returns -1, so workloads can `return zb_fail(...)`. */
int zb_fail(const char *what);

/** For failures a workload cannot count its way out of (its tasks would
 * wait forever): prints like zb_fail and exits the child with status 1. */
_Noreturn void zb_die(const char *what);

/** A connected, non-blocking AF_UNIX stream pair (fd_fanout); 0 or -1. */
int zb_socketpair(int fds[2]);

/** A non-blocking TCP listener on 127.0.0.1 with an ephemeral port; returns
 * the fd and the port in *port, or -1. */
int zb_listen_loopback(uint16_t *port);

/** A non-blocking TCP connect to 127.0.0.1:port (in progress); fd or -1. */
int zb_connect_loopback(uint16_t port);

/** Sets TCP_NODELAY and O_NONBLOCK on an accepted or connected socket. */
int zb_tune_socket(int fd);

/** Checks a workload's count: 0 if got == want, else prints "WHAT: got G,
 * want W" on stderr and returns -1 (a count, unlike zb_fail, has no errno). */
int zb_check_count(const char *what, uint64_t got, uint64_t want);

/** Per-request latencies (tcp_echo): room for `cap` of them. */
typedef struct zb_latencies {
  uint64_t *ns;
  size_t n, cap;
} zb_latencies;

/** Allocates room for `cap` latencies; 0 or -1. */
int zb_latencies_init(zb_latencies *l, size_t cap);

/** Records zb_now_ns() - start_ns (dropped once `cap` are recorded). */
void zb_latency_add(zb_latencies *l, uint64_t start_ns);

/** Fills out->p50_ns / p99_ns from what was recorded and frees it. */
void zb_latencies_finish(zb_latencies *l, zb_sample *out);

/** fd_fanout, whatever waits on the sockets: the pairs (pair i is fds[2i],
 * the side waited on, and fds[2i+1], the side written) and the counts. */
typedef struct zb_fanout {
  int *fds;
  uint32_t sockets, rounds, round, in_round;
  uint64_t events;
  int failed;
} zb_fanout;

/** Makes the pairs (outside the timed region); 0, or -1 with nothing open. */
int zb_fanout_open(zb_fanout *f, const zb_sizes *sizes);

/** The driver's round: one byte into every pair's written side; 0, or -1
 * with f->failed set. */
int zb_fanout_poke(zb_fanout *f);

/** Closes the pairs (zb_fanout_finish does, for a program that counts its
 * events in `f`). */
void zb_fanout_close(zb_fanout *f);

/** Pair side `fd` became readable: takes its byte and counts it; the last
 * reader of a round pokes the next round. 1: wait on; 0: the last round is
 * done or something failed, stop every waiter. */
int zb_fanout_ready(zb_fanout *f, int fd);

/** Closes the pairs and sets out->ops; 0 if every byte came, else -1. */
int zb_fanout_finish(zb_fanout *f, zb_sample *out);

/** tcp_echo's client side, whatever does the I/O: the request bytes, the
 * answer buffers, the counts and the latencies. */
typedef struct zb_echo {
  uint32_t conns, requests, bytes, clients_left;
  uint64_t answered;
  char *payload; /**< what every request sends: `bytes` bytes */
  char *answers; /**< conns x bytes: where each client reads its answer */
  zb_latencies lat;
  zb_sample *out; /**< zb_end(out) when the last client is done */
  int failed;
} zb_echo;

/** One client's progress. */
typedef struct zb_echo_client {
  uint32_t done, got; /**< requests answered; bytes of the current answer */
  uint64_t start_ns;
  char *in; /**< the current answer */
} zb_echo_client;

/** Allocates the payload, answers and latencies (before zb_begin); 0 or -1. */
int zb_echo_init(zb_echo *e, const zb_sizes *sizes, zb_sample *out);

/** Gives client `i` its answer buffer. */
void zb_echo_client_init(zb_echo *e, zb_echo_client *c, uint32_t i);

/** A request starts now: the caller sends e->payload, e->bytes long, and
 * reads the answer into c->in + c->got, at most e->bytes - c->got. */
void zb_echo_request(zb_echo_client *c);

enum { ZB_ECHO_READ_ON, ZB_ECHO_SEND_NEXT, ZB_ECHO_DONE, ZB_ECHO_FAILED };

/** `n` more bytes of the answer are in c->in (n <= 0: the connection ended
 * or failed). READ_ON: the answer is incomplete; SEND_NEXT: it was right and
 * the next request has started (zb_echo_request); DONE: the last one was
 * right; FAILED: close the client. */
int zb_echo_received(zb_echo *e, zb_echo_client *c, long n);

/** A client is closed (failed or not). 1 if it was the last: zb_end(e->out)
 * is done, close the server. */
int zb_echo_client_done(zb_echo *e, int failed);

/** After the loop: sets ops and percentiles, checks every request was
 * answered, frees; 0 or -1. */
int zb_echo_finish(zb_echo *e, zb_sample *out);

#endif
