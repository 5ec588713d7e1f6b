/* cross_thread_wake: a plain OS thread wakes a parked task R times; the task
 * acknowledges each wake through a semaphore before the next one is sent. */
#include <pthread.h>
#include <semaphore.h>

#include "zy.h"

typedef struct xt_shared {
  pthread_mutex_t lock;
  uint64_t seq; /* the waker thread's latest wake number */
  zyntax_waker parked;
  sem_t ack;
  uint32_t rounds;
} xt_shared;

typedef struct xt_task {
  xt_shared *shared;
  uint64_t seen;
} xt_task;

static zyntax_poll xt_poll(void *state, const zyntax_waker *waker) {
  xt_task *t = state;
  xt_shared *sh = t->shared;
  for (;;) {
    pthread_mutex_lock(&sh->lock);
    uint64_t seq = sh->seq;
    if (seq == t->seen) zyntax_waker_store(&sh->parked, waker);
    pthread_mutex_unlock(&sh->lock);
    if (seq == t->seen) return ZYNTAX_PENDING;
    t->seen = seq;
    sem_post(&sh->ack);
    if (seq == sh->rounds) break;
  }
  pthread_mutex_lock(&sh->lock);
  zyntax_waker_drop(&sh->parked);
  pthread_mutex_unlock(&sh->lock);
  return ZYNTAX_READY;
}

static void *xt_waker_thread(void *arg) {
  xt_shared *sh = arg;
  for (uint64_t i = 1; i <= sh->rounds; i++) {
    pthread_mutex_lock(&sh->lock);
    sh->seq = i;
    zyntax_waker_wake_by_ref(&sh->parked);
    pthread_mutex_unlock(&sh->lock);
    while (sem_wait(&sh->ack) != 0) {
    }
  }
  return NULL;
}

int zy_cross_thread_wake(const zb_sizes *sizes, zb_sample *out) {
  zyntax_runtime *rt = zy_runtime();
  xt_shared sh = {.seq = 0, .parked = ZYNTAX_WAKER_EMPTY, .rounds = sizes->xthread_rounds};
  xt_task task_state = {&sh, 0};
  pthread_mutex_init(&sh.lock, NULL);
  sem_init(&sh.ack, 0, 0);
  zb_begin(out);
  zyntax_task *task = zyntax_runtime_spawn(rt, &task_state, xt_poll);
  pthread_t thread;
  int rc = -1;
  if (task != NULL && pthread_create(&thread, NULL, xt_waker_thread, &sh) == 0) {
    rc = zyntax_runtime_block_on(rt, task);
    pthread_join(thread, NULL);
  }
  zb_end(out);
  zyntax_task_drop(task);
  sem_destroy(&sh.ack);
  pthread_mutex_destroy(&sh.lock);
  out->ops = sizes->xthread_rounds;
  return rc == 0 && task_state.seen == sizes->xthread_rounds
             ? 0
             : zb_fail("cross_thread_wake: the task missed wakes");
}
