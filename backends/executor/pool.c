/* The blocking-work pool and its future. A job is the future itself, shared
 * by the polling thread and one pool thread through an atomic state and a
 * reference count. */
#include <stdalign.h>
#include <stdlib.h>

#include "leaf.h"
#include "pool.h"
#include "waker_slot.h"

enum { JOB_IDLE, JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_CANCELLED };

struct zx_job {
  zyntax_future base; /* first */
  zx_exec *ex;
  zx_pool *pool;
  zyntax_blocking_fn fn;
  void *arg;
  _Atomic int state;
  atomic_int refs; /* the future, plus the pool while queued or running */
  zx_waker_slot waker;
  zx_job *next;
  uint8_t cls; /* its arena class (leaf.h) */
};

/* acq_rel: the thread that frees the job sees the other party's writes.
 * The block may be the executor's last (a job dropped after destroy). */
static void job_unref(zx_job *job) {
  if (atomic_fetch_sub_explicit(&job->refs, 1, memory_order_acq_rel) == 1)
    zx_leaf_free(job->ex, job, job->cls);
}

/* ---- the pool ---- */

int zx_pool_init(zx_pool *pool, unsigned max_threads) {
  pool->head = pool->tail = NULL;
  pool->nthreads = pool->idle = 0;
  pool->closing = 0;
  pool->max_threads = max_threads ? max_threads : ZX_POOL_DEFAULT_THREADS;
  pool->threads = calloc(pool->max_threads, sizeof *pool->threads);
  if (pool->threads == NULL) return ZYNTAX_ENOMEM;
  if (pthread_mutex_init(&pool->lock, NULL) != 0) goto fail_lock;
  if (pthread_cond_init(&pool->wake, NULL) != 0) goto fail_cond;
  return 0;
fail_cond:
  pthread_mutex_destroy(&pool->lock);
fail_lock:
  free(pool->threads);
  return ZYNTAX_ENOMEM;
}

static zx_job *next_job(zx_pool *pool) {
  pthread_mutex_lock(&pool->lock);
  while (pool->head == NULL && !pool->closing) {
    pool->idle++;
    pthread_cond_wait(&pool->wake, &pool->lock);
    pool->idle--;
  }
  zx_job *job = pool->head;
  if (job != NULL) {
    pool->head = job->next;
    if (pool->head == NULL) pool->tail = NULL;
  }
  pthread_mutex_unlock(&pool->lock);
  return job;
}

static void run_job(zx_job *job) {
  int queued = JOB_QUEUED;
  /* seq_cst (the default) is more than needed; acquire would do: a drop's
   * CANCELLED and this RUNNING are decided by the one CAS that wins. */
  if (atomic_compare_exchange_strong(&job->state, &queued, JOB_RUNNING)) {
    job->fn(job->arg);
    /* Release: the poll that sees DONE (acquire) sees what fn wrote. */
    atomic_store_explicit(&job->state, JOB_DONE, memory_order_release);
    zx_waker_slot_wake(&job->waker);
  }
  job_unref(job);
}

static void *worker(void *arg) {
  zx_pool *pool = arg;
  zx_job *job;
  while ((job = next_job(pool)) != NULL) run_job(job);
  return NULL;
}

/* Returns 0, or ZYNTAX_ECLOSED / ZYNTAX_EBACKEND (no thread could start). */
static int submit(zx_pool *pool, zx_job *job) {
  pthread_mutex_lock(&pool->lock);
  int rc = pool->closing ? ZYNTAX_ECLOSED : 0;
  if (rc == 0 && pool->idle == 0 && pool->nthreads < pool->max_threads) {
    if (pthread_create(&pool->threads[pool->nthreads], NULL, worker, pool) == 0)
      pool->nthreads++;
    else if (pool->nthreads == 0)
      rc = ZYNTAX_EBACKEND;
  }
  if (rc == 0) {
    job->next = NULL;
    if (pool->tail)
      pool->tail->next = job;
    else
      pool->head = job;
    pool->tail = job;
    pthread_cond_signal(&pool->wake);
  }
  pthread_mutex_unlock(&pool->lock);
  return rc;
}

void zx_pool_shutdown(zx_pool *pool) {
  pthread_mutex_lock(&pool->lock);
  pool->closing = 1;
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->lock);
  for (unsigned i = 0; i < pool->nthreads; i++) pthread_join(pool->threads[i], NULL);
  /* Workers drained the queue before exiting; nothing is left. */
  pthread_cond_destroy(&pool->wake);
  pthread_mutex_destroy(&pool->lock);
  free(pool->threads);
}

/* ---- the future ---- */

static zyntax_poll job_poll(zyntax_future *f, const zyntax_waker *waker) {
  zx_job *job = (zx_job *)f;
  if (zx_leaf_refuse(f, job->ex)) return ZYNTAX_READY;
  /* Acquire: pairs with the worker's DONE (fn's writes are visible). */
  int state = atomic_load_explicit(&job->state, memory_order_acquire);
  if (state != JOB_DONE) {
    zx_waker_slot_store(&job->waker, waker);
    if (state == JOB_IDLE) {
      /* Relaxed: the pool's lock in submit() publishes both to the
       * worker that takes the job. */
      atomic_store_explicit(&job->state, JOB_QUEUED, memory_order_relaxed);
      atomic_fetch_add_explicit(&job->refs, 1, memory_order_relaxed);
      int rc = submit(job->pool, job);
      if (rc != 0) {
        /* Not submitted: no other party ever saw the job. */
        atomic_store_explicit(&job->state, JOB_DONE, memory_order_relaxed);
        atomic_fetch_sub_explicit(&job->refs, 1, memory_order_relaxed);
        f->result = rc;
        return ZYNTAX_READY;
      }
      zx_count(&job->ex->stats.blocking_jobs);
    }
    /* The worker sets DONE before taking the waker: no lost wake. */
    if (atomic_load_explicit(&job->state, memory_order_acquire) != JOB_DONE)
      return ZYNTAX_PENDING;
  }
  f->result = 0;
  return ZYNTAX_READY;
}

/* Touches no pool: after destroy the pool is gone (and every job ended). */
static void job_drop(zyntax_future *f) {
  zx_job *job = (zx_job *)f;
  int queued = JOB_QUEUED;
  /* A job not yet started is skipped; a running one finishes on its own. */
  /* seq_cst (default); see run_job: one CAS decides skip or run. */
  atomic_compare_exchange_strong(&job->state, &queued, JOB_CANCELLED);
  zx_waker_slot_clear(&job->waker);
  job_unref(job);
}

const zyntax_future_ops zyntax_executor_job_ops = ZYNTAX_FUTURE_OPS_INIT(job_poll, job_drop);

int zx_pool_blocking(zx_exec *ex, zx_pool *pool, zyntax_blocking_fn fn,
                     void *arg, zyntax_future **out) {
  uint8_t cls;
  zx_job *job = zx_leaf_alloc(ex, sizeof *job, alignof(zx_job), &cls);
  if (job == NULL) return ZYNTAX_ENOMEM;
  job->cls = cls;
  job->base = (zyntax_future){&zyntax_executor_job_ops, ZYNTAX_NOT_FINISHED};
  job->ex = ex;
  job->pool = pool;
  job->fn = fn;
  job->arg = arg;
  atomic_init(&job->state, JOB_IDLE);
  atomic_init(&job->refs, 1);
  zx_waker_slot_init(&job->waker);
  job->next = NULL;
  *out = &job->base;
  return 0;
}
