/* The simulation's runtime: its loop (the executor's loop ops), its hooks
 * into the executor (clock, pick, trace), the PRNG, create and destroy.
 *
 * One loop turn (sim_run_once), in order:
 *   1. fd readiness and remote pushes: poll(2) without blocking;
 *      completions of held-back jobs that are due;
 *   2. not allowed to block (tasks are queued): maybe run a queued job
 *      (1 in 4 turns), maybe move the clock on (an injected delayed wake:
 *      up to 10 ms, or to the next deadline if sooner), and return;
 *   3. something arrived in 1: return (the tasks run first);
 *   4. idle: run a queued job, or jump the clock to the next deadline (a
 *      sleep's or a held job's) - the PRNG decides when both are possible;
 *   5. nothing virtual pending at all: block in poll(2) for fds and
 *      remote pushes.
 * So virtual time never passes while a task is queued or an fd event is
 * ready, and real time never passes while anything virtual is pending. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sim.h"
#include "task.h"

#define NS_PER_MS 1000000u
#define JOB_CHANCE_BUSY 25 /* % of busy turns that run a queued job */
#define JOB_CHANCE_IDLE 50 /* % of idle turns, with a deadline pending too */
/* The next task is picked among the first PICK_WINDOW queued ones (all of
 * them in any program with fewer ready at once): the executor's queue is
 * a list, and a million queued tasks must not cost a walk each. */
#define PICK_WINDOW 64
/* An injected delayed wake lets up to this much virtual time pass (less
 * when a deadline comes sooner) while woken tasks stay queued. */
#define DELAY_MAX_NS 10000000u

/* ---- the PRNG ---- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void sim_rng_seed(sim_runtime *s, uint64_t seed) {
  for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(sim_runtime *s) {
  uint64_t *r = s->rng;
  uint64_t out = rotl(r[1] * 5, 7) * 9, t = r[1] << 17;
  r[2] ^= r[0];
  r[3] ^= r[1];
  r[1] ^= r[2];
  r[0] ^= r[3];
  r[2] ^= t;
  r[3] = rotl(r[3], 45);
  return out;
}

uint64_t sim_rng_below(sim_runtime *s, uint64_t n) {
  /* Lemire's multiply-shift; the bias (n / 2^64) does not matter here. */
  return (uint64_t)(((unsigned __int128)sim_rng_next(s) * n) >> 64);
}

int sim_rng_percent(sim_runtime *s, unsigned pct) {
  return pct != 0 && sim_rng_below(s, 100) < pct;
}

/* ---- the executor's hooks ---- */

static uint64_t hook_now(zx_exec *ex) {
  (void)ex;
  return sim_clock_peek();
}

/* A pass picks as many tasks as were queued when it began, each at random
 * among those queued at that moment (tasks woken meanwhile included; the
 * first PICK_WINDOW of them), then a loop turn follows. An injected delayed wake ends the pass early and
 * lets the clock jump while tasks stay queued. */
static size_t hook_pick(zx_exec *ex, size_t n) {
  sim_runtime *s = (sim_runtime *)ex;
  if (!s->in_pass) {
    s->in_pass = 1;
    s->budget = n;
  }
  if (s->budget == 0) return n;
  if (sim_rng_percent(s, s->cfg.delay_wakes)) {
    s->jump_now = 1;
    return n;
  }
  s->budget--;
  return (size_t)sim_rng_below(s, n < PICK_WINDOW ? n : PICK_WINDOW);
}

/* An injected spurious wake: a random unfinished task of the runtime is
 * woken although nothing happened to it (futures must cope: a poll
 * re-checks its condition). */
static void spurious_wake(sim_runtime *s) {
  size_t n = 0;
  for (zx_task *t = s->ex.owned; t != NULL; t = t->owned_next)
    n += (zx_state_load(&t->state) & ZX_COMPLETE) == 0;
  if (n == 0) return;
  size_t k = (size_t)sim_rng_below(s, n);
  for (zx_task *t = s->ex.owned; t != NULL; t = t->owned_next) {
    if (zx_state_load(&t->state) & ZX_COMPLETE) continue;
    if (k-- == 0) {
      zx_task_wake(t);
      return;
    }
  }
}

static void hook_polled(zx_exec *ex, zx_task *t, zyntax_poll r) {
  sim_runtime *s = (sim_runtime *)ex;
  sim_trace_polled(&s->trace, t, (int)r, sim_clock_peek() - s->v0);
  if (sim_rng_percent(s, s->cfg.spurious_wakes)) spurious_wake(s);
}

static const zx_exec_hooks hooks = {hook_now, hook_pick, hook_polled};

/* ---- the loop ---- */

/* Any thread, inbox lock held: a remote push. */
static void loop_signal(zx_exec *ex) {
  uint64_t one = 1;
  ssize_t n = write(((sim_runtime *)ex)->signal_fd, &one, sizeof one);
  (void)n; /* a full counter is readable anyway */
}

/* The earliest virtual deadline: a sleep's (the wheel's tick) or a held
 * job's; UINT64_MAX when none. */
static uint64_t next_deadline(sim_runtime *s) {
  uint64_t tick = zx_wheel_next_exact(&s->ex.wheel, 64);
  uint64_t at = tick == ZX_WHEEL_NONE ? UINT64_MAX : tick * NS_PER_MS;
  uint64_t job = sim_jobs_next_due(s);
  return job < at ? job : at;
}

/* Moves the clock to the next deadline, or at most `max_ns` on; the
 * executor turns the wheel to it after this turn. Returns 0 when there is
 * no deadline. */
static int jump(sim_runtime *s, uint64_t max_ns) {
  uint64_t at = next_deadline(s), now = sim_clock_peek();
  if (at == UINT64_MAX) return 0;
  if (at > now && at - now > max_ns) at = now + max_ns;
  sim_clock_advance_to(at);
  sim_jobs_deliver_due(s);
  return 1;
}

static void loop_run_once(zx_exec *ex, int block) {
  sim_runtime *s = (sim_runtime *)ex;
  s->in_pass = 0;
  int events = sim_io_poll(s, 0) + sim_jobs_deliver_due(s);
  if (!block) {
    if (sim_rng_percent(s, JOB_CHANCE_BUSY)) sim_jobs_run_one(s);
    if (s->jump_now) jump(s, sim_rng_below(s, DELAY_MAX_NS + 1));
    s->jump_now = 0;
    return;
  }
  s->jump_now = 0;
  if (events > 0) return;
  int has_deadline = next_deadline(s) != UINT64_MAX;
  if (s->queued.n > 0 && (!has_deadline || sim_rng_percent(s, JOB_CHANCE_IDLE))) {
    sim_jobs_run_one(s);
    return;
  }
  if (jump(s, UINT64_MAX)) return;
  sim_io_poll(s, -1); /* only real events can come: wait for them */
}

static void loop_interrupt(zx_exec *ex) {
  (void)ex; /* run_once never blocks after delivering an event */
}

static void loop_timer_arm(zx_exec *ex, uint64_t ms) {
  (void)ex, (void)ms; /* run_once reads the wheel itself */
}

static void loop_free(zx_exec *ex) { free(ex); }

static int loop_backend_fd(zx_exec *ex) {
  (void)ex;
  return -1; /* unused: the sim offers no host-loop driving */
}

static const zx_loop_ops loop_ops = {loop_signal, loop_run_once, loop_interrupt,
                                     loop_free, loop_timer_arm, loop_backend_fd};

/* ---- the seed on a crash ---- */

/* "zyntax-sim: seed=N ..." written by a fatal signal's handler (an assert
 * failing in a poll function aborts): formatted beforehand, since only
 * write() may be called there. Installed only where the program left the
 * default action, which it restores before re-raising. */
static char crash_line[128];
static size_t crash_len;

static void on_crash(int sig) {
  ssize_t n = write(2, crash_line, crash_len);
  (void)n;
  signal(sig, SIG_DFL);
  raise(sig);
}

static void watch_crashes(const sim_config *cfg) {
  static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
  int len = snprintf(crash_line, sizeof crash_line,
                     "zyntax-sim: seed=%" PRIu64 " (the run crashed; "
                     "ZYNTAX_SIM_SEED=%" PRIu64 " replays it)\n",
                     cfg->seed, cfg->seed);
  crash_len = len > 0 ? (size_t)len : 0;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL) continue;
    struct sigaction sa = {.sa_handler = on_crash};
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }
}

/* ---- create / destroy ---- */

/* Runtimes of one process get different streams from one seed. */
static atomic_uint_fast64_t runtimes_created;

/* Undoes what start() made before the executor (the executor's own
 * failure leaves nothing of its own). */
static void unstart(sim_runtime *s) {
  free(s->pfds);
  free(s->ready);
  if (s->trace.cap != 0 || s->trace.next_id != 0) sim_trace_free(&s->trace);
  if (s->signal_fd >= 0) close(s->signal_fd);
}

/* Everything the loop and the trace need from the start, so that no poll
 * or loop turn allocates: poll(2)'s array, the trace table (with
 * block_on_future's cell numbered), the executor. */
static int start(sim_runtime *s, const zyntax_backend_host *host,
                 zyntax_error *err) {
  s->signal_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->signal_fd < 0) {
    snprintf(err->message, sizeof err->message, "sim: eventfd: %s", strerror(errno));
    return errno == ENOMEM ? ZYNTAX_ENOMEM : ZYNTAX_EBACKEND;
  }
  if (sim_trace_init(&s->trace) != 0) return ZYNTAX_ENOMEM;
  if (sim_io_reserve(s, 16) != 0 || sim_trace_reserve(&s->trace) != 0)
    return ZYNTAX_ENOMEM;
  int rc = zx_exec_init(&s->ex, &loop_ops, host); /* its reactor takes an fd */
  if (rc != 0) {
    snprintf(err->message, sizeof err->message, "sim: executor: %s",
             rc == ZYNTAX_ENOMEM ? "out of memory" : "out of file descriptors");
    return rc;
  }
  sim_trace_spawned(&s->trace, s->ex.root);
  return 0;
}

int sim_create(const zyntax_backend_host *host,
               const zyntax_runtime_options *opts, zyntax_backend_runtime **out,
               zyntax_error *err) {
  (void)opts; /* one thread polls; jobs run one at a time: any bound holds */
  sim_runtime *s = calloc(1, sizeof *s);
  if (s == NULL) return ZYNTAX_ENOMEM;
  s->probe_fd = -1;
  s->signal_fd = -1;
  int rc = sim_config_read(&s->cfg, err);
  if (rc == 0) rc = start(s, host, err);
  if (rc != 0) {
    unstart(s);
    free(s);
    return rc;
  }
  s->ordinal = atomic_fetch_add(&runtimes_created, 1);
  sim_rng_seed(s, s->cfg.seed ^ (s->ordinal * 0xd1b54a32d192ed03ull));
  sim_clock_attach();
  zx_exec_set_hooks(&s->ex, &hooks);
  s->v0 = sim_clock_peek();
  watch_crashes(&s->cfg);
  if (s->cfg.log)
    sim_report(&s->cfg, 0, "runtime %" PRIu64 " seed=%" PRIu64, s->ordinal, s->cfg.seed);
  *out = (zyntax_backend_runtime *)s;
  return 0;
}

/* The line a run is compared by: printed with ZYNTAX_SIM_TRACE or
 * ZYNTAX_LOG=1, and on stderr whenever the seed was random or a task
 * failed (ZYNTAX_EBADPOLL), so a failing run names its seed. */
static void report(sim_runtime *s) {
  uint64_t failed = atomic_load(&s->ex.stats.failed.value);
  char line[256];
  snprintf(line, sizeof line,
           "seed=%" PRIu64 " trace=%016" PRIx64 " runtime=%" PRIu64 " polls=%" PRIu64
           " virtual_ns=%" PRIu64 " failed=%" PRIu64,
           s->cfg.seed, s->trace.hash, s->ordinal, s->trace.polls,
           sim_clock_peek() - s->v0, failed);
  if (s->cfg.trace[0] != '\0') sim_report(&s->cfg, 1, "%s", line);
  int on_stderr = strcmp(s->cfg.trace, "1") == 0;
  if (!on_stderr && (s->cfg.log || s->cfg.seed_random || failed != 0))
    sim_report(&s->cfg, 0, "%s", line);
}

void sim_destroy(zyntax_backend_runtime *rt) {
  sim_runtime *s = sim_from(rt);
  zx_exec_shutdown(&s->ex); /* cancels tasks: their futures unlink */
  sim_io_detach_all(s);     /* fd waits of futures that outlive it */
  sim_jobs_detach_all(s);
  report(s);
  close(s->signal_fd);
  sim_trace_free(&s->trace);
  sim_clock_detach();
  zx_exec_unref(&s->ex);
}

/* The executor's counters, with the seed and the trace so far (the
 * ZYNTAX_STATS line carries them: docs/simulation.md). */
void sim_stats(const zyntax_backend_runtime *rt, zyntax_stats *out) {
  zx_exec_stats(rt, out);
  const sim_runtime *s = (const sim_runtime *)rt;
  out->sim_seed = s->cfg.seed;
  out->sim_trace = __atomic_load_n(&s->trace.hash, __ATOMIC_RELAXED); /* trace.c */
}

int sim_spawn(zyntax_backend_runtime *rt, const zyntax_spawn_args *args,
              zyntax_task **out) {
  sim_trace *trace = &sim_from(rt)->trace;
  if (sim_trace_reserve(trace) != 0) return ZYNTAX_ENOMEM;
  int rc = zx_exec_spawn(rt, args, out);
  /* Numbered after the spawn: the record exists, and a spawn refused
   * takes no number (the next one is the same in every run). */
  if (rc == 0) sim_trace_spawned(trace, *out);
  return rc;
}
