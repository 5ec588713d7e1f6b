/* The drive loop and task lifecycle of the C executor: spawn, run queue,
 * inbox, poll, completion, block_on / run, shutdown. */
#include <stdlib.h>
#include <string.h>

#include "lost_wake.h"
#include "task.h"

/* Tasks polled between two looks at I/O and timers: enough to amortise the
 * non-blocking loop turn, few enough that a busy task set cannot starve I/O
 * (Tokio's event_interval plays the same role). */
#define ZX_TICK_BUDGET 128

/* The executor the calling thread is driving. Per-thread, not global. */
static _Thread_local zx_exec *driving;

int zx_exec_is_current(const zx_exec *ex) { return driving == ex; }

/* ---- owned list: unfinished tasks, driving thread only ---- */

static void owned_link(zx_exec *ex, zx_task *t) {
  t->owned_prev = NULL;
  t->owned_next = ex->owned;
  if (ex->owned) ex->owned->owned_prev = t;
  ex->owned = t;
}

static void owned_unlink(zx_exec *ex, zx_task *t) {
  if (t->owned_prev)
    t->owned_prev->owned_next = t->owned_next;
  else
    ex->owned = t->owned_next;
  if (t->owned_next) t->owned_next->owned_prev = t->owned_prev;
  t->owned_prev = t->owned_next = NULL;
}

/* ---- queues ---- */

static void push_local(zx_exec *ex, zx_task *t) {
  if (ex->in_loop && !ex->interrupted) {
    ex->interrupted = 1;
    ex->ops->interrupt(ex);
  }
  t->next = NULL;
  if (ex->run_tail)
    ex->run_tail->next = t;
  else
    ex->run_head = t;
  ex->run_tail = t;
}

static zx_task *pop_local(zx_exec *ex) {
  zx_task *t = ex->run_head;
  if (t == NULL) return NULL;
  ex->run_head = t->next;
  if (ex->run_head == NULL) ex->run_tail = NULL;
  return t;
}

/* Returns 0, or ZYNTAX_ECLOSED when the executor no longer accepts work. */
static int push_remote(zx_exec *ex, zx_task *t) {
  pthread_mutex_lock(&ex->lock);
  if (atomic_load_explicit(&ex->closed, memory_order_relaxed)) {
    pthread_mutex_unlock(&ex->lock);
    return ZYNTAX_ECLOSED;
  }
  t->next = NULL;
  int was_empty = ex->inbox_head == NULL;
  if (ex->inbox_tail)
    ex->inbox_tail->next = t;
  else
    ex->inbox_head = t;
  ex->inbox_tail = t;
  if (was_empty) {
    atomic_store_explicit(&ex->inbox_hint, 1, memory_order_release);
    ex->ops->signal(ex);
  }
  pthread_mutex_unlock(&ex->lock);
  return 0;
}

void zx_exec_push(zx_exec *ex, zx_task *t) {
  if (driving == ex)
    push_local(ex, t);
  else
    (void)push_remote(ex, t); /* closed: the task is being cancelled anyway */
}

static zx_task *take_inbox(zx_exec *ex) {
  if (!atomic_load_explicit(&ex->inbox_hint, memory_order_acquire)) return NULL;
  pthread_mutex_lock(&ex->lock);
  zx_task *list = ex->inbox_head;
  ex->inbox_head = ex->inbox_tail = NULL;
  atomic_store_explicit(&ex->inbox_hint, 0, memory_order_relaxed);
  pthread_mutex_unlock(&ex->lock);
  return list;
}

static void adopt(zx_exec *ex, zx_task *t) {
  if (t->unlinked_spawn) {
    t->unlinked_spawn = 0;
    owned_link(ex, t);
  }
}

static void drain_inbox(zx_exec *ex) {
  zx_task *t = take_inbox(ex);
  while (t != NULL) {
    zx_task *next = t->next;
    adopt(ex, t);
    push_local(ex, t);
    t = next;
  }
}

/* ---- completion and polling ---- */

/* ---- held list: completed tasks whose state waits for the handle ---- */

static void hold(zx_exec *ex, zx_task *t) {
  zx_task_ref(t);
  pthread_mutex_lock(&ex->lock);
  t->held = 1;
  t->owned_prev = NULL;
  t->owned_next = ex->held;
  if (ex->held) ex->held->owned_prev = t;
  ex->held = t;
  pthread_mutex_unlock(&ex->lock);
}

void zx_task_unhold(zx_task *t) {
  zx_exec *ex = t->ex;
  pthread_mutex_lock(&ex->lock);
  int was_held = t->held;
  if (was_held) {
    t->held = 0;
    if (t->owned_prev)
      t->owned_prev->owned_next = t->owned_next;
    else
      ex->held = t->owned_next;
    if (t->owned_next) t->owned_next->owned_prev = t->owned_prev;
  }
  pthread_mutex_unlock(&ex->lock);
  if (was_held) zx_task_unref(t);
}

/* Destroy: drop the states that handles were keeping for reading. */
static void drop_held(zx_exec *ex) {
  pthread_mutex_lock(&ex->lock);
  zx_task *list = ex->held;
  ex->held = NULL;
  for (zx_task *t = list; t; t = t->owned_next) t->held = 0;
  pthread_mutex_unlock(&ex->lock);
  while (list != NULL) {
    zx_task *next = list->owned_next;
    zx_task_drop_state(list);
    zx_task_unref(list);
    list = next;
  }
}

static void complete(zx_exec *ex, zx_task *t, int outcome) {
  t->outcome = outcome;
  owned_unlink(ex, t);
  /* Linked before ZX_COMPLETE is published, so a release that sees
   * ZX_COMPLETE always finds it there. */
  int keep = outcome == 0 &&
             (atomic_load_explicit(&t->state, memory_order_acquire) & ZX_HANDLE);
  if (keep) hold(ex, t);
  uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
  uint32_t clear = ZX_RUNNING | ZX_NOTIFIED | ZX_SCHEDULED;
  while (!atomic_compare_exchange_weak_explicit(&t->state, &s,
                                                (s & ~clear) | ZX_COMPLETE,
                                                memory_order_acq_rel,
                                                memory_order_relaxed)) {
  }
  if (outcome == 0)
    zx_count(&ex->stats.completed);
  else if (outcome == ZYNTAX_ECANCELED)
    zx_count(&ex->stats.cancelled);
  else
    zx_count(&ex->stats.failed);
  /* A completed task's state is kept for its handle to read; anything else
   * (cancelled, failed, detached) is released now. */
  if (outcome != 0 || !(s & ZX_HANDLE)) {
    zx_task_drop_state(t);
    if (keep) zx_task_unhold(t); /* released in between */
  }
  atomic_fetch_sub_explicit(&ex->live, 1, memory_order_release);
  zx_task_notify_joiner(t);
  zx_task_unref(t); /* the owned list's reference */
}

static void root_finished(zx_exec *ex, int outcome) {
  ex->root_done = 1;
  ex->root_outcome = outcome;
  ex->root->poll = NULL;
}

/* After a PENDING poll: idle, or queued again if woken meanwhile. */
static void after_pending(zx_exec *ex, zx_task *t) {
  uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
  uint32_t next;
  do {
    next = s & ~(ZX_RUNNING | ZX_NOTIFIED);
    if (s & ZX_NOTIFIED) next |= ZX_SCHEDULED;
  } while (!atomic_compare_exchange_weak_explicit(
      &t->state, &s, next, memory_order_acq_rel, memory_order_relaxed));
  if (next & ZX_SCHEDULED)
    push_local(ex, t);
  else
    zx_lost_wake_check(ex, t, next);
}

static void run_task(zx_exec *ex, zx_task *t) {
  uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(
      &t->state, &s, (s & ~ZX_SCHEDULED) | ZX_RUNNING, memory_order_acq_rel,
      memory_order_relaxed)) {
  }
  if (t == ex->root && t->poll == NULL) { /* stale wake of an idle root */
    atomic_fetch_and_explicit(&t->state, ~(uint32_t)(ZX_RUNNING | ZX_NOTIFIED),
                              memory_order_release);
    return;
  }
  if (s & ZX_CANCEL) {
    complete(ex, t, ZYNTAX_ECANCELED);
    return;
  }
  zyntax_waker waker = zx_task_waker(t);
  zx_count(&ex->stats.polls);
  zyntax_poll r = t->poll(t->user_state, &waker);
  if (r == ZYNTAX_PENDING) {
    after_pending(ex, t);
    return;
  }
  int outcome = r == ZYNTAX_READY ? 0 : ZYNTAX_EBADPOLL;
  if (t == ex->root) {
    atomic_fetch_and_explicit(&t->state, ~(uint32_t)(ZX_RUNNING | ZX_NOTIFIED),
                              memory_order_release);
    root_finished(ex, outcome);
    return;
  }
  complete(ex, t, outcome);
}

static void run_ready(zx_exec *ex) {
  for (int i = 0; i < ZX_TICK_BUDGET; i++) {
    zx_task *t = pop_local(ex);
    if (t == NULL) return;
    run_task(ex, t);
  }
}

/* ---- driving ---- */

typedef int (*done_fn)(zx_exec *ex, void *arg);

/* One loop turn; it may block only while nothing is queued, and a task
 * queued by a callback during the turn stops it from blocking. */
static void run_loop_once(zx_exec *ex) {
  ex->in_loop = 1;
  ex->interrupted = 0;
  ex->ops->run_once(ex, ex->run_head == NULL);
  ex->in_loop = 0;
}

static void drive(zx_exec *ex, done_fn done, void *arg) {
  zx_exec *outer = driving;
  driving = ex;
  for (;;) {
    drain_inbox(ex);
    run_ready(ex);
    if (done(ex, arg)) break;
    drain_inbox(ex);
    run_loop_once(ex);
  }
  driving = outer;
}

static int task_done(zx_exec *ex, void *arg) {
  (void)ex;
  zx_task *t = arg;
  return (atomic_load_explicit(&t->state, memory_order_acquire) & ZX_COMPLETE) != 0;
}

static int root_done(zx_exec *ex, void *arg) {
  (void)arg;
  return ex->root_done;
}

static int nothing_live(zx_exec *ex, void *arg) {
  (void)arg;
  return atomic_load_explicit(&ex->live, memory_order_acquire) == 0;
}

int zx_exec_block_on(zyntax_backend_runtime *rt, zyntax_task *task) {
  zx_exec *ex = (zx_exec *)rt;
  zx_task *t = (zx_task *)task;
  drive(ex, task_done, t);
  return t->outcome;
}

int zx_exec_block_on_future(zyntax_backend_runtime *rt, void *state,
                            zyntax_poll_fn poll) {
  zx_exec *ex = (zx_exec *)rt;
  zx_task *root = ex->root;
  root->poll = poll;
  root->user_state = state;
  ex->root_done = 0;
  zx_exec *outer = driving;
  driving = ex; /* so the wake below queues locally */
  zx_task_wake(root);
  drive(ex, root_done, NULL);
  driving = outer;
  return ex->root_outcome;
}

int zx_exec_run(zyntax_backend_runtime *rt) {
  drive((zx_exec *)rt, nothing_live, NULL);
  return 0;
}

/* ---- spawning ---- */

int zx_exec_spawn(zyntax_backend_runtime *rt, const zyntax_spawn_args *args,
                  zyntax_task **out) {
  zx_exec *ex = (zx_exec *)rt;
  if (atomic_load_explicit(&ex->closed, memory_order_acquire)) return ZYNTAX_ECLOSED;
  zx_task *t = zx_task_new(ex, args, ZX_HANDLE | ZX_SCHEDULED);
  if (t == NULL) return ZYNTAX_ENOMEM;
  if (args->inplace_size) {
    if (args->init == NULL)
      memset(t->user_state, 0, args->inplace_size);
    else if (args->init(t->user_state, args->init_arg) != 0) {
      t->drop = NULL;
      zx_task_unref(t);
      return ZYNTAX_EINVAL;
    }
  }
  zx_task_ref(t); /* one for the handle, one for the owned list */
  atomic_fetch_add_explicit(&ex->live, 1, memory_order_relaxed);
  if (driving == ex) {
    owned_link(ex, t);
    push_local(ex, t);
  } else {
    t->unlinked_spawn = 1;
    if (push_remote(ex, t) != 0) {
      atomic_fetch_sub_explicit(&ex->live, 1, memory_order_relaxed);
      if (args->inplace_size) zx_task_drop_state(t); /* it was initialised */
      zx_task_unref(t);
      zx_task_unref(t);
      return ZYNTAX_ECLOSED;
    }
  }
  zx_count_shared(&ex->stats.spawned);
  *out = &t->pub;
  return 0;
}

/* ---- lifetime ---- */

int zx_exec_init(zx_exec *ex, const zx_loop_ops *ops,
                 const zyntax_backend_host *host) {
  memset(ex, 0, sizeof *ex);
  ex->ops = ops;
  ex->owner = host->runtime;
  atomic_init(&ex->live, 0);
  atomic_init(&ex->refs, 1);
  atomic_init(&ex->closed, 0);
  atomic_init(&ex->inbox_hint, 0);
  if (pthread_mutex_init(&ex->lock, NULL) != 0) return ZYNTAX_ENOMEM;
  zyntax_spawn_args none = {.size = sizeof none};
  ex->root = zx_task_new(ex, &none, 0);
  if (ex->root == NULL) {
    pthread_mutex_destroy(&ex->lock);
    return ZYNTAX_ENOMEM;
  }
  return 0;
}

void zx_exec_shutdown(zx_exec *ex) {
  pthread_mutex_lock(&ex->lock);
  atomic_store_explicit(&ex->closed, 1, memory_order_release);
  pthread_mutex_unlock(&ex->lock);

  zx_exec *outer = driving;
  driving = ex; /* drops may drop leaf futures, which check this */
  for (zx_task *t = take_inbox(ex); t != NULL; t = t->next) adopt(ex, t);
  ex->run_head = ex->run_tail = NULL;
  while (ex->owned != NULL) complete(ex, ex->owned, ZYNTAX_ECANCELED);
  drop_held(ex);
  driving = outer;
  zx_task_unref(ex->root);
  ex->root = NULL;
}

void zx_exec_unref(zx_exec *ex) {
  if (atomic_fetch_sub_explicit(&ex->refs, 1, memory_order_acq_rel) != 1) return;
  pthread_mutex_destroy(&ex->lock);
  ex->ops->free(ex);
}

void zx_exec_stats(const zyntax_backend_runtime *rt, zyntax_stats *out) {
  zx_stats *s = &((zx_exec *)rt)->stats;
#define ZX_READ_(c) atomic_load_explicit(&s->c.value, memory_order_relaxed)
  zyntax_stats all = {
      .size = sizeof all,
      .tasks_spawned = ZX_READ_(spawned),
      .tasks_completed = ZX_READ_(completed),
      .tasks_cancelled = ZX_READ_(cancelled),
      .tasks_failed = ZX_READ_(failed),
      .polls = ZX_READ_(polls),
      .wakes = ZX_READ_(wakes_local) + ZX_READ_(wakes_remote),
      .timers = ZX_READ_(timers),
      .io_waits = ZX_READ_(io_waits),
      .blocking_jobs = ZX_READ_(blocking_jobs),
  };
#undef ZX_READ_
  size_t n = out->size < sizeof all ? out->size : sizeof all;
  memcpy((char *)out + sizeof(size_t), (char *)&all + sizeof(size_t),
         n - sizeof(size_t));
}
