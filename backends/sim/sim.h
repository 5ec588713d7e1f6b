/* The deterministic simulation backend (ZYNTAX_RUNTIME=sim): the shared C
 * executor with a loop of its own instead of libuv/libev. docs/simulation.md
 * has the design; in short:
 *   - one virtual clock per process (clock.c): zyntax_now(), sleeps,
 *     intervals and timeouts use it; it only moves when the loop jumps it
 *     to the next deadline (nothing else to do) and by 100 ns per
 *     zyntax_now() read;
 *   - a seeded PRNG (xoshiro256**) picks the next task among the queued
 *     ones, when blocking jobs run, and every injected fault;
 *   - real fds are checked with poll(2), without blocking while anything
 *     virtual (a deadline, a job) is pending (io.c);
 *   - blocking jobs run one at a time on a thread of their own while the
 *     simulated world waits (jobs.c);
 *   - every poll is folded into a trace hash (trace.c), printed at destroy.
 * Threads: the driving thread only, except sim_signal (any thread) and the
 * clock (any thread). */
#ifndef ZYNTAX_SIM_BACKEND_H
#define ZYNTAX_SIM_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "executor.h"
#include "fdtab.h"

typedef struct sim_fdwait sim_fdwait;
typedef struct sim_job sim_job;

/* An intrusive list in insertion order (the fd waits, the queued jobs):
 * the order is part of what a seed replays. */
typedef struct sim_link {
  struct sim_link *prev, *next;
} sim_link;

typedef struct sim_list {
  sim_link *head, *tail;
  size_t n;
} sim_list;

static inline void sim_list_append(sim_list *l, sim_link *e) {
  e->next = NULL;
  e->prev = l->tail;
  if (l->tail)
    l->tail->next = e;
  else
    l->head = e;
  l->tail = e;
  l->n++;
}

static inline void sim_list_remove(sim_list *l, sim_link *e) {
  if (e->prev)
    e->prev->next = e->next;
  else
    l->head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    l->tail = e->prev;
  e->prev = e->next = NULL;
  l->n--;
}

#define SIM_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* The settings read from the environment at runtime creation. Fault rates
 * are percentages (0: off). */
typedef struct sim_config {
  uint64_t seed;
  int seed_random;        /* chosen at random (ZYNTAX_SIM_SEED unset) */
  unsigned spurious_wakes; /* ZYNTAX_SIM_SPURIOUS_WAKES: % of polls */
  unsigned delay_wakes;    /* ZYNTAX_SIM_DELAY_WAKES: % of picks */
  unsigned reorder_ready;  /* ZYNTAX_SIM_REORDER_READY: % of fd events */
  uint64_t job_latency_ns; /* ZYNTAX_SIM_BLOCKING_LATENCY (ms): upper bound */
  int log;                 /* ZYNTAX_LOG=1 */
  char trace[256];         /* ZYNTAX_SIM_TRACE: "", "1" (stderr) or a path */
} sim_config;

/* The trace (trace.c): task ids by record address, and the hash. */
typedef struct sim_trace {
  uintptr_t *keys;
  uint64_t *ids;
  size_t cap, used;
  uint64_t next_id;
  uint64_t hash; /* FNV-1a 64 */
  uint64_t polls;
  pthread_mutex_t lock; /* spawns come from any thread */
} sim_trace;

typedef struct sim_runtime {
  zx_exec ex; /* first: the executor casts the backend runtime to it */
  sim_config cfg;
  uint64_t rng[4];  /* xoshiro256** state */
  uint64_t ordinal; /* the how-manieth sim runtime of the process */
  uint64_t v0;      /* the virtual clock at creation (the trace's zero) */
  int signal_fd;    /* eventfd: remote pushes (sim_signal) */
  int in_pass;      /* a pass of picks is under way (sim_pick) */
  size_t budget;    /* picks left in it */
  int jump_now;     /* a delayed wake: the next turn jumps the clock */
  /* fd waits started, in start order (io.c), and poll(2)'s array. */
  sim_list waits;
  struct pollfd *pfds;
  sim_fdwait **ready;
  size_t pfds_cap;
  int probe_fd; /* an epoll fd asking whether a device is watchable */
  /* Blocking jobs (jobs.c): submitted and not run yet, in submit order;
   * run and held back by an injected latency, by due time. */
  sim_list queued;
  sim_job *held;
  sim_trace trace;
} sim_runtime;

static inline sim_runtime *sim_from(zyntax_backend_runtime *rt) {
  return (sim_runtime *)rt;
}

/* ---- the PRNG (xoshiro256**, seeded through splitmix64) ---- */

void sim_rng_seed(sim_runtime *s, uint64_t seed);
uint64_t sim_rng_next(sim_runtime *s);
/* Uniform in [0, n) (n > 0). */
uint64_t sim_rng_below(sim_runtime *s, uint64_t n);
/* 1 with probability pct %. */
int sim_rng_percent(sim_runtime *s, unsigned pct);

/* ---- clock.c: the process's virtual clock ---- */

/* The backend's clock entry (zyntax_now()): the virtual time, 100 ns later
 * on every read, so a loop waiting for the clock to pass a value ends. */
uint64_t sim_clock_read(void);
/* The virtual time, unchanged (the executor's reads). */
uint64_t sim_clock_peek(void);
/* Moves the clock forward to `t` (never back). */
void sim_clock_advance_to(uint64_t t);
/* A sim runtime starts / ends: while one lives the clock is virtual; while
 * none does it runs at real speed from where it was. */
void sim_clock_attach(void);
void sim_clock_detach(void);

/* ---- runtime.c ---- */

int sim_create(const zyntax_backend_host *host,
               const zyntax_runtime_options *opts, zyntax_backend_runtime **out,
               zyntax_error *err);
void sim_destroy(zyntax_backend_runtime *rt);
int sim_spawn(zyntax_backend_runtime *rt, const zyntax_spawn_args *args,
              zyntax_task **out);
void sim_stats(const zyntax_backend_runtime *rt, zyntax_stats *out);

/* config.c: reads the environment; 0 or ZYNTAX_EINVAL with err filled. */
int sim_config_read(sim_config *cfg, zyntax_error *err);
/* Prints one "zyntax-sim: ..." line on stderr - or, for a trace line
 * (`to_trace`) when ZYNTAX_SIM_TRACE names a file, appended to that file. */
void sim_report(const sim_config *cfg, int to_trace, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- io.c: fd readiness from poll(2) ---- */

int sim_fd_wait(zyntax_backend_runtime *rt, int fd, unsigned events,
                zyntax_future **out);
extern const zyntax_future_ops sim_fdwait_ops;
/* Room for `need` entries in poll(2)'s array (made at create, grown when
 * a wait starts: the loop itself never allocates). 0 or ZYNTAX_ENOMEM. */
int sim_io_reserve(sim_runtime *s, size_t need);
/* Polls the started waits and the signal fd with `timeout_ms` (-1: block)
 * and wakes the ready waits. Returns how many events it delivered (the
 * signal fd's included). */
int sim_io_poll(sim_runtime *s, int timeout_ms);
/* Destroy: completes the waits still started with ZYNTAX_ECLOSED. */
void sim_io_detach_all(sim_runtime *s);

/* ---- jobs.c: blocking jobs ---- */

int sim_blocking(zyntax_backend_runtime *rt, zyntax_blocking_fn fn, void *arg,
                 zyntax_future **out);
extern const zyntax_future_ops sim_job_ops;
/* Runs one queued job, picked by the PRNG (0: none was queued). */
int sim_jobs_run_one(sim_runtime *s);
/* Completes the held jobs due by now; returns how many. */
int sim_jobs_deliver_due(sim_runtime *s);
/* The earliest held job's due time, or UINT64_MAX. */
uint64_t sim_jobs_next_due(const sim_runtime *s);
/* Destroy: forgets queued and held jobs (their futures give ECLOSED). */
void sim_jobs_detach_all(sim_runtime *s);

/* ---- trace.c ---- */

int sim_trace_init(sim_trace *t);
void sim_trace_free(sim_trace *t);
/* Room for one more task: 0 or ZYNTAX_ENOMEM (before a spawn, so that a
 * spawn fails as a whole). Any thread. */
int sim_trace_reserve(sim_trace *t);
/* A task was spawned at `task`: it gets the next id. Any thread. */
void sim_trace_spawned(sim_trace *t, const void *task);
/* A poll of `task` returned `r` at virtual offset `vt`. Driving thread. */
void sim_trace_polled(sim_trace *t, const void *task, int r, uint64_t vt);

#endif /* ZYNTAX_SIM_BACKEND_H */
