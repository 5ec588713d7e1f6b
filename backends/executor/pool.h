/* A small blocking-work pool for backends whose loop has none (libev):
 * bounded threads started on demand, a FIFO queue, and a shutdown that
 * skips jobs not yet started and waits for running ones.
 *
 * zx_pool_blocking() makes the zyntax_blocking_future() future on top of it: the
 * job's result reaches the task by waking its waker from the pool thread. */
#ifndef ZYNTAX_COMMON_POOL_H
#define ZYNTAX_COMMON_POOL_H

#include <pthread.h>

#include "executor.h"

typedef struct zx_job zx_job;

typedef struct zx_pool {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  zx_job *head, *tail;
  pthread_t *threads;
  unsigned nthreads, max_threads, idle;
  int closing;
} zx_pool;

#define ZX_POOL_DEFAULT_THREADS 4u

/* `max_threads` 0 means ZX_POOL_DEFAULT_THREADS. Returns 0 or ZYNTAX_ENOMEM. */
int zx_pool_init(zx_pool *pool, unsigned max_threads);

/* Refuses new jobs, lets workers skip queued jobs that were cancelled,
 * waits for running jobs and joins the threads. */
void zx_pool_shutdown(zx_pool *pool);

/* The zyntax_blocking_future() future of a backend using this pool. */
int zx_pool_blocking(zx_exec *ex, zx_pool *pool, zyntax_blocking_fn fn,
                     void *arg, zyntax_future **out);

#endif /* ZYNTAX_COMMON_POOL_H */
