/* Blocking jobs under simulation. A job is queued at its first poll; the
 * loop (runtime.c) runs one, picked by the PRNG among the queued, at
 * seeded points: sometimes between passes of busy tasks, and always
 * before the clock may jump or the loop may block. Running it means: a
 * thread of its own runs fn(arg) while the driving thread waits for it -
 * so fn never runs on a thread that polls tasks, one job runs at a time
 * (within any blocking_threads bound), and what the simulated world sees
 * of it happens at a point the seed chose, whatever fn's real duration.
 * With ZYNTAX_SIM_BLOCKING_LATENCY=MS its completion is then held back a
 * seeded 0..MS of virtual time (the clock jumps to it like to a deadline).
 *
 * A job waiting for something only a task of the same runtime does would
 * wait forever (the tasks wait for it): docs/simulation.md. */
#include <pthread.h>
#include <stdalign.h>

#include "leaf.h"
#include "sim.h"

enum { JOB_IDLE, JOB_QUEUED, JOB_HELD, JOB_DONE, JOB_DETACHED };

struct sim_job {
  zyntax_future base; /* first */
  sim_runtime *rt;
  zyntax_blocking_fn fn;
  void *arg;
  int state;
  int outcome;  /* JOB_DONE: fn ran (0), or why it could not */
  uint64_t due; /* JOB_HELD: when it completes */
  zyntax_waker waker;
  sim_link link;  /* on the queue (JOB_QUEUED) */
  sim_job *next;  /* on the held list (JOB_HELD) */
  uint8_t cls;
};

/* ---- the queue (submit order) and the held list (due order) ---- */

static void enqueue(sim_runtime *s, sim_job *j) {
  sim_list_append(&s->queued, &j->link);
  j->state = JOB_QUEUED;
}

static void dequeue(sim_runtime *s, sim_job *j) { sim_list_remove(&s->queued, &j->link); }

/* Ties keep submit order: a job is filed after every one due as soon. */
static void hold(sim_runtime *s, sim_job *j) {
  sim_job **p = &s->held;
  while (*p != NULL && (*p)->due <= j->due) p = &(*p)->next;
  j->next = *p;
  *p = j;
  j->state = JOB_HELD;
}

static void unhold(sim_runtime *s, sim_job *j) {
  sim_job **p = &s->held;
  while (*p != j) p = &(*p)->next;
  *p = j->next;
  j->next = NULL;
}

/* The outcome reaches base.result at the next poll, as on the other
 * backends: a job done but not polled READY before destroy gives
 * ZYNTAX_ECLOSED afterwards, like any leaf not READY then. */
static void complete(sim_job *j, int outcome) {
  j->state = JOB_DONE;
  j->outcome = outcome;
  zyntax_waker_wake(&j->waker);
}

/* ---- running ---- */

static void *job_main(void *arg) {
  sim_job *j = arg;
  j->fn(j->arg);
  return NULL;
}

int sim_jobs_run_one(sim_runtime *s) {
  if (s->queued.n == 0) return 0;
  sim_link *l = s->queued.head;
  for (uint64_t k = sim_rng_below(s, s->queued.n); k > 0; k--) l = l->next;
  sim_job *j = SIM_OF(l, sim_job, link);
  dequeue(s, j);
  pthread_t th;
  if (pthread_create(&th, NULL, job_main, j) != 0) {
    complete(j, ZYNTAX_EBACKEND); /* no thread: the job cannot run */
    return 1;
  }
  pthread_join(th, NULL);
  if (s->cfg.job_latency_ns == 0) {
    complete(j, 0);
    return 1;
  }
  j->due = sim_clock_peek() + sim_rng_below(s, s->cfg.job_latency_ns + 1);
  hold(s, j);
  return 1;
}

int sim_jobs_deliver_due(sim_runtime *s) {
  int n = 0;
  uint64_t now = sim_clock_peek();
  while (s->held != NULL && s->held->due <= now) {
    sim_job *j = s->held;
    unhold(s, j);
    complete(j, 0);
    n++;
  }
  return n;
}

uint64_t sim_jobs_next_due(const sim_runtime *s) {
  return s->held != NULL ? s->held->due : UINT64_MAX;
}

void sim_jobs_detach_all(sim_runtime *s) {
  while (s->queued.head != NULL) {
    sim_job *j = SIM_OF(s->queued.head, sim_job, link);
    dequeue(s, j);
    j->state = JOB_DETACHED;
  }
  while (s->held != NULL) {
    sim_job *j = s->held;
    unhold(s, j);
    j->state = JOB_DETACHED;
  }
}

/* ---- the future ---- */

static zyntax_poll job_poll(zyntax_future *f, const zyntax_waker *waker) {
  sim_job *j = (sim_job *)f;
  if (zx_leaf_refuse(f, &j->rt->ex)) return ZYNTAX_READY;
  if (j->state == JOB_DONE) {
    f->result = j->outcome;
    return ZYNTAX_READY;
  }
  zyntax_waker_store(&j->waker, waker);
  if (j->state == JOB_IDLE) {
    enqueue(j->rt, j);
    zx_count(&j->rt->ex.stats.blocking_jobs);
  }
  return ZYNTAX_PENDING;
}

/* A job not run yet is skipped; after destroy it is on no list. */
static void job_drop(zyntax_future *f) {
  sim_job *j = (sim_job *)f;
  if (j->state == JOB_QUEUED) dequeue(j->rt, j);
  if (j->state == JOB_HELD) unhold(j->rt, j);
  zyntax_waker_drop(&j->waker);
  zx_leaf_free(&j->rt->ex, j, j->cls); /* maybe the last block */
}

const zyntax_future_ops sim_job_ops = ZYNTAX_FUTURE_OPS_INIT(job_poll, job_drop);

int sim_blocking(zyntax_backend_runtime *rt, zyntax_blocking_fn fn, void *arg,
                 zyntax_future **out) {
  sim_runtime *s = sim_from(rt);
  uint8_t cls;
  sim_job *j = zx_leaf_alloc(&s->ex, sizeof *j, alignof(sim_job), &cls);
  if (j == NULL) return ZYNTAX_ENOMEM;
  j->cls = cls;
  j->base = (zyntax_future){&sim_job_ops, ZYNTAX_NOT_FINISHED};
  j->rt = s;
  j->fn = fn;
  j->arg = arg;
  j->state = JOB_IDLE;
  *out = &j->base;
  return 0;
}
