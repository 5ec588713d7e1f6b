/* The drive loop and the executor's side of the task lifecycle: spawn, the
 * run queue, the inbox, poll, completion, block_on / run, shutdown. Every
 * change of a task's state word is a transition of task_state.h. */
#include <stdlib.h>
#include <string.h>

#include "lost_wake.h"
#include "poll_timing.h"
#include "sized.h"
#include "sleep.h"
#include "task.h"

/* While tasks are queued, the loop's I/O and timers are looked at (a
 * non-blocking loop turn, a system call) after a pass over the tasks that
 * were queued when it began - at least ZX_TICK_BUDGET polls - once
 * ZX_TURN_INTERVAL_NS passed since the last turn: a busy task set cannot
 * starve I/O for longer than that plus one pass, and a pass of cheap polls
 * does not pay a system call every few hundred nanoseconds (a native
 * libuv/libev program runs every pending callback per loop iteration). */
#define ZX_TICK_BUDGET 128
#define ZX_TURN_INTERVAL_NS 50000u

/* The LIFO slot (Tokio's design): a task woken by the task being polled
 * runs next, while what the waker touched is still in cache - a message
 * passed along a chain of tasks, a ping answered by a pong. At most
 * ZX_LIFO_MAX polls in a row come from the slot; then its task goes to the
 * back of the queue, so two tasks waking each other cannot starve the
 * rest. The slot is used inside run_ready() only and emptied into the
 * queue when it returns: everything else sees the queue alone. */
#define ZX_LIFO_MAX 3

/* The executor the calling thread is driving. Per-thread, not global. */
_Thread_local zx_exec *zx_driving __attribute__((tls_model("initial-exec")));
#define driving zx_driving

/* ---- owned list: driving thread only ----
 *
 * Every task the executor holds its reference for is reachable from the
 * driving thread for shutdown: queued ones through the run queue, the
 * others through the owned list. A task is linked only once it needs to
 * be - the first time it goes idle (its poll returned PENDING and nothing
 * requeued it), or when it completes with its handle still out - so a task
 * that completes in the poll its spawn queued never touches the list.
 * zx_exec_shutdown() links the queued ones before it walks the list. */

static inline int owned_linked(const zx_exec *ex, const zx_task *t) {
  return t->owned_prev != NULL || ex->owned == t;
}

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

/* A finished task whose handle is gone: the executor lets go of it. */
static void reap_local(zx_exec *ex, zx_task *t) {
  owned_unlink(ex, t);
  zx_task_unref(t, 1);
}

/* ---- queues ---- */

/* (zx_list_push, zx_push_local and zx_push_lifo are inline in task.h: every wake
 * on the driving thread queues through them.) */

static zx_task *list_take(zx_task_list *l) {
  zx_task *all = l->head;
  l->head = l->tail = NULL;
  return all;
}

/* A loop callback queued a task: the loop turn under way must not block. */
void zx_exec_interrupt_loop(zx_exec *ex) {
  ex->interrupted = 1;
  ex->ops->interrupt(ex);
}

static zx_task *pop_local(zx_exec *ex) {
  zx_task *t = ex->run.head;
  if (t == NULL) return NULL;
  ex->run.head = t->next;
  if (ex->run.head == NULL)
    ex->run.tail = NULL;
  else /* polled next: with thousands queued its record is rarely cached */
    __builtin_prefetch(ex->run.head, 1);
  ex->run_len--;
  return t;
}

/* Under simulation the hook picks which queued task runs next (or ends
 * the pass: NULL). */
static zx_task *pop_picked(zx_exec *ex) {
  if (ex->run_len == 0) return NULL;
  size_t k = ex->hooks->pick(ex, ex->run_len);
  if (k >= ex->run_len) return NULL;
  zx_task *prev = NULL, *t = ex->run.head;
  for (size_t i = 0; i < k; i++) prev = t, t = t->next;
  if (prev == NULL) return pop_local(ex);
  prev->next = t->next;
  if (ex->run.tail == t) ex->run.tail = prev;
  ex->run_len--;
  return t;
}

/* Returns 0, or ZYNTAX_ECLOSED when the executor no longer accepts work. */
static int push_remote(zx_exec *ex, zx_task_list *list, zx_task *t) {
  pthread_mutex_lock(&ex->lock);
  if (atomic_load_explicit(&ex->closed, memory_order_relaxed)) { /* lock held */
    pthread_mutex_unlock(&ex->lock);
    return ZYNTAX_ECLOSED;
  }
  zx_list_push(list, t);
  if (!atomic_load_explicit(&ex->inbox_hint, memory_order_relaxed)) {
    /* Release: the driving thread's acquire load of the hint then finds
     * the lists filled (it takes the lock anyway). */
    atomic_store_explicit(&ex->inbox_hint, 1, memory_order_release);
    ex->ops->signal(ex);
    if (ex->host) zx_host_signal_locked(ex->host);
  }
  pthread_mutex_unlock(&ex->lock);
  return 0;
}

void zx_exec_push(zx_exec *ex, zx_task *t) {
  if (zx_exec_closed(ex)) return; /* shutdown cancels every task anyway */
  if (driving != ex)
    (void)push_remote(ex, &ex->in_woken, t);
  else
    zx_exec_push_here(ex, t);
}

void zx_exec_reap(zx_exec *ex, zx_task *t) {
  if (driving == ex)
    reap_local(ex, t);
  else
    (void)push_remote(ex, &ex->in_reaped, t); /* closed: shutdown reaps */
}

typedef struct inbox {
  zx_task *spawned, *woken, *reaped;
} inbox;

static inbox take_inbox(zx_exec *ex) {
  inbox in = {NULL, NULL, NULL};
  /* Acquire: pairs with push_remote's release (a cheap look first). */
  if (!atomic_load_explicit(&ex->inbox_hint, memory_order_acquire)) return in;
  pthread_mutex_lock(&ex->lock);
  in.spawned = list_take(&ex->in_spawned);
  in.woken = list_take(&ex->in_woken);
  in.reaped = list_take(&ex->in_reaped);
  /* Relaxed: under the lock, which orders it with the pushes. */
  atomic_store_explicit(&ex->inbox_hint, 0, memory_order_relaxed);
  pthread_mutex_unlock(&ex->lock);
  return in;
}

/* A new task counts as live; it is queued next (not linked: see above). */
static void adopt(zx_exec *ex, zx_task *t) {
  ex->nlive++;
  zx_count_max(&ex->stats.peak_live, ex->nlive);
}

static void drain_inbox(zx_exec *ex) {
  inbox in = take_inbox(ex);
  for (zx_task *t = in.spawned, *next; t != NULL; t = next) {
    next = t->next;
    adopt(ex, t);
    zx_push_local(ex, t);
  }
  for (zx_task *t = in.woken, *next; t != NULL; t = next) {
    next = t->next;
    zx_push_local(ex, t);
  }
  for (zx_task *t = in.reaped, *next; t != NULL; t = next) {
    next = t->next;
    reap_local(ex, t);
  }
}

/* ---- completion and polling ---- */

/* The task finished with `outcome`. Returns nonzero when its handle is
 * still out: the record stays on the owned list until the release. */
static inline __attribute__((always_inline)) int complete_(zx_exec *ex, zx_task *t,
                                                           int outcome) {
  t->outcome = outcome;
  zx_to_complete r = zx_transition_to_complete(&t->state, outcome == 0);
  ex->nlive--;
  if (outcome == 0)
    zx_count(&ex->stats.completed);
  else if (outcome == ZYNTAX_ECANCELED)
    zx_count(&ex->stats.cancelled);
  else
    zx_count(&ex->stats.failed);
  if (r.drop_state) zx_task_drop_state(t);
  if (r.joined) zx_waker_slot_wake(&t->joiner);
  int linked = owned_linked(ex, t);
  if (r.handle_out) {
    if (!linked) owned_link(ex, t); /* until the handle's release reaps it */
    return 1;
  }
  if (linked) owned_unlink(ex, t);
  if (r.sole_owner)
    zx_task_free(t);
  else
    zx_task_unref(t, 1);
  return 0;
}

/* Out of line for the rare callers (cancel, shutdown); a poll's own
 * completion inlines complete_(). */
static int complete(zx_exec *ex, zx_task *t, int outcome) {
  return complete_(ex, t, outcome);
}

/* block_on_future's cell after READY: it stays idle for the next call, and
 * a stale wake of it only polls this. */
static zyntax_poll root_idle_poll(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  return ZYNTAX_PENDING;
}

/* Inlined into both versions of run_ready below, `hooked` a constant:
 * the uv/ev one has no hook call and no check for one. Returns `t` when it
 * woke itself and nothing else is queued: the caller polls it again at
 * once, as a plain loop calling it would, without a trip through the queue
 * (the pass's budget still counts it). Else NULL. */
static inline __attribute__((always_inline)) zx_task *run_task(zx_exec *ex, zx_task *t,
                                                               int hooked, uint64_t *polls) {
  if (zx_transition_to_running(&t->state) == ZX_RUN_CANCEL) {
    complete(ex, t, ZYNTAX_ECANCELED);
    return NULL;
  }
  zyntax_waker waker = zx_task_waker(t);
  ++*polls;
  ex->current = t;
  ex->self_woken = 0;
  zyntax_poll r = zx_poll_call(ex->timing, t->poll, t->user_state, &waker, t);
  ex->current = NULL;
  if (hooked) ex->hooks->polled(ex, t, r);
  if (__builtin_expect(r != ZYNTAX_PENDING, 0)) {
    if (t != ex->root) {
      complete_(ex, t, r == ZYNTAX_READY ? 0 : ZYNTAX_EBADPOLL);
      return NULL;
    }
    /* The root: READY leaves it idle. */
    ex->root_done = 1;
    ex->root_outcome = r == ZYNTAX_READY ? 0 : ZYNTAX_EBADPOLL;
    t->poll = root_idle_poll;
  }
  /* Woken by its own borrowed waker: still RUNNING, so no other party
   * queues it meanwhile (a wake from elsewhere only sets NOTIFIED) and the
   * state word is not touched at all; back of the queue, or again now. */
  zx_snapshot after;
  if (ex->self_woken) {
    if (!hooked && ex->run.head == NULL && ex->lifo == NULL) return t;
    zx_push_local(ex, t);
  } else if (zx_transition_to_idle(&t->state, &after) == ZX_IDLE_NOTIFIED) {
    zx_push_local(ex, t);
  } else {
    /* Idle, in no queue: shutdown finds it on the owned list. The root
     * (block_on_future's cell) is not the executor's to cancel. */
    if (t != ex->root && !owned_linked(ex, t)) owned_link(ex, t);
    if (r == ZYNTAX_PENDING && !zx_state_may_be_woken(after) && t->poll != root_idle_poll)
      zx_lost_wake_report(ex, t); /* nothing can poll it again */
  }
  return NULL;
}

/* The next task: the LIFO slot's, unless ZX_LIFO_MAX polls in a row came
 * from it (then it goes to the back), else the queue's head. The counter
 * restarts when the slot is filled by a poll that did not come from it
 * (`lifo_last`: the last task taken from the slot). */
static zx_task *pop_next(zx_exec *ex) {
  zx_task *t = ex->lifo;
  if (__builtin_expect(t == NULL, 1)) return pop_local(ex);
  ex->lifo = NULL;
  if (ex->lifo_polls < ZX_LIFO_MAX) {
    ex->lifo_polls++;
    ex->lifo_last = t;
    return t;
  }
  zx_push_local(ex, t);
  return pop_local(ex);
}

/* One pass: at most `pass` polls (run_task). Returns 0 when it ended
 * early (nothing queued, or the simulation ended it), else 1. The poll
 * counter is added once per pass (a register, not a memory add per poll):
 * a stats reader on another thread sees it at most one pass late. */
static inline __attribute__((always_inline)) int run_pass(zx_exec *ex, size_t pass,
                                                         int hooked) {
  zx_task *again = NULL; /* polled next without queueing (run_task) */
  uint64_t polls = 0;
  int full = 1;
  for (size_t i = 0; i < pass; i++) {
    zx_task *t = again ? again : hooked ? pop_picked(ex) : pop_next(ex);
    if (t == NULL) {
      full = 0;
      break;
    }
    again = run_task(ex, t, hooked, &polls);
  }
  if (again != NULL) zx_push_local(ex, again); /* the pass ended: it waits in the queue */
  zx_count_add(&ex->stats.polls, polls);
  return full;
}

/* The simulation picks from the queue itself: its pushes skip the LIFO
 * slot (zx_exec_push), so the slot is empty when hooked. */
static inline __attribute__((always_inline)) void run_ready_(zx_exec *ex, int hooked) {
  for (;;) {
    size_t pass = ex->run_len > ZX_TICK_BUDGET ? ex->run_len : ZX_TICK_BUDGET;
    if (!run_pass(ex, pass, hooked)) return;
    if (!hooked && ex->lifo != NULL) { /* the pass ended: back to the queue */
      zx_push_local(ex, ex->lifo);
      ex->lifo = NULL;
    }
    uint64_t now = hooked ? ex->hooks->now(ex) : zx_now_ns();
    if (ex->run.head == NULL || now - ex->turn_ns >= ZX_TURN_INTERVAL_NS) return;
  }
}

/* The simulation's hooks are looked at once per call, not per task. */
static void run_ready(zx_exec *ex) {
  if (ex->hooks)
    run_ready_(ex, 1);
  else
    run_ready_(ex, 0);
}

/* ---- driving ---- */

typedef int (*done_fn)(zx_exec *ex, void *arg);

/* ---- timers: the wheel and the backend's one timer ---- */

#define NS_PER_MS 1000000u

/* A runtime about to block with no timer due sooner is idle. */
#define ZX_IDLE_MS 10u

/* Before a blocking turn: the backend timer fires at the wheel's next tick
 * (rounded up from now, so never before it). Re-armed only when that tick
 * changed; a timer left armed for a removed sleep fires once for nothing.
 * Returns that tick. */
static uint64_t arm_timer(zx_exec *ex) {
  uint64_t next = zx_wheel_next(&ex->wheel);
  if (next == ex->wheel.armed) return next;
  uint64_t now = zx_exec_now(ex), at = next * NS_PER_MS;
  ex->ops->timer_arm(ex, at > now ? (at - now + NS_PER_MS - 1) / NS_PER_MS : 0);
  ex->wheel.armed = next;
  return next;
}

void zx_exec_timer_fired(zx_exec *ex) {
  ex->wheel.armed = ZX_WHEEL_NONE;
  /* libuv runs timers before it polls: do not let it block after. */
  if (ex->in_loop && !ex->interrupted) zx_exec_interrupt_loop(ex);
}

void zx_exec_timer_insert(zx_exec *ex, zx_wheel_node *n, uint64_t when,
                          uint64_t now_ns) {
  zx_wheel *w = &ex->wheel;
  uint64_t now_tick = now_ns / NS_PER_MS;
  if (w->count == 0 && now_tick > w->elapsed) w->elapsed = now_tick;
  if (when <= w->elapsed) when = w->elapsed + 1;
  zx_wheel_insert(w, n, when);
}

void zx_exec_timer_remove(zx_exec *ex, zx_wheel_node *n) {
  zx_wheel_remove(&ex->wheel, n);
}

/* One loop turn, then the wheel turns to the current millisecond. */
static void loop_turn(zx_exec *ex, int block) {
  ex->in_loop = 1;
  ex->interrupted = 0;
  ex->ops->run_once(ex, block);
  ex->in_loop = 0;
  ex->turn_ns = zx_exec_now(ex);
  if (ex->wheel.count)
    zx_wheel_advance(&ex->wheel, ex->turn_ns / NS_PER_MS, zx_sleep_fire, NULL);
}

/* One loop turn; it may block only while nothing is queued, and a task
 * queued by a callback during the turn stops it from blocking. Afterwards
 * the wheel turns to the current millisecond. */
static void run_loop_once(zx_exec *ex) {
  int block = ex->run.head == NULL;
  if (block) {
    uint64_t next = ex->wheel.count ? arm_timer(ex) : ZX_WHEEL_NONE;
    /* Idle - nothing queued, no timer due within ZX_IDLE_MS: the arena's
     * memory above its bound goes back. */
    if (next == ZX_WHEEL_NONE || next >= ex->turn_ns / NS_PER_MS + ZX_IDLE_MS)
      zx_arena_trim(&ex->arena);
  }
  loop_turn(ex, block);
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
  return (zx_state_load(&((zx_task *)arg)->state) & ZX_COMPLETE) != 0;
}

static int root_done(zx_exec *ex, void *arg) {
  (void)arg;
  return ex->root_done;
}

/* A task spawned on another thread and not yet adopted keeps the inbox
 * hint set, so run() does not return before it ran. */
static int nothing_live(zx_exec *ex, void *arg) {
  (void)arg;
  return ex->nlive == 0 &&
         !atomic_load_explicit(&ex->inbox_hint, memory_order_acquire);
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

/* A host loop's turn never blocks. Every exit follows a loop turn, so
 * watchers the tasks started are registered with the loop's poll set (libev
 * applies fd changes at its next turn) before the host waits on it. Tasks
 * that keep waking each other stop after ZX_NOWAIT_TURNS: the host gets its
 * thread back and the caller (host.c) keeps the fd readable. */
#define ZX_NOWAIT_TURNS 8

int zx_exec_drive_nowait(zx_exec *ex) {
  zx_exec *outer = driving;
  driving = ex;
  for (int turn = 0; turn < ZX_NOWAIT_TURNS; turn++) {
    drain_inbox(ex);
    run_ready(ex);
    drain_inbox(ex);
    loop_turn(ex, 0);
    if (ex->run.head == NULL) break;
  }
  driving = outer;
  return ex->run.head != NULL;
}

/* ---- spawning ---- */

/* Runs the in-place state's init; 0 or ZYNTAX_EINVAL. */
static int init_state(zx_task *t, const zyntax_spawn_args *args) {
  if (args->inplace_size == 0) return 0;
  if (args->init == NULL) {
    memset(t->user_state, 0, args->inplace_size);
    return 0;
  }
  return args->init(t->user_state, args->init_arg) == 0 ? 0 : ZYNTAX_EINVAL;
}

/* Both spawns: `initial` is the new task's state word (with or without a
 * handle); `*out` the task once queued. */
static int spawn_task(zx_exec *ex, const zyntax_spawn_args *args, zx_snapshot initial,
                      zx_task **out) {
  if (zx_exec_closed(ex)) return ZYNTAX_ECLOSED;
  zx_task *t = zx_task_new(ex, args, initial);
  if (t == NULL) return ZYNTAX_ENOMEM;
  if (init_state(t, args) != 0) {
    zx_task_free(t); /* nothing to drop: init failed */
    return ZYNTAX_EINVAL;
  }
  if (driving == ex) {
    adopt(ex, t);
    zx_push_local(ex, t);
    zx_count(&ex->stats.spawned);
  } else {
    if (push_remote(ex, &ex->in_spawned, t) != 0) {
      if (args->inplace_size) zx_task_drop_state(t); /* it was initialised */
      zx_task_free(t);
      return ZYNTAX_ECLOSED;
    }
    zx_count_shared(&ex->stats.spawned);
  }
  *out = t;
  return 0;
}

int zx_exec_spawn(zyntax_backend_runtime *rt, const zyntax_spawn_args *args,
                  zyntax_task **out) {
  zx_task *t;
  int rc = spawn_task((zx_exec *)rt, args, ZX_STATE_SPAWNED, &t);
  if (rc == 0) *out = &t->pub;
  return rc;
}

/* The task may run (and end) on the driving thread as soon as it is
 * queued: nothing here reads it after spawn_task. */
int zx_exec_spawn_detached(zyntax_backend_runtime *rt, const zyntax_spawn_args *args) {
  zx_task *t;
  return spawn_task((zx_exec *)rt, args, ZX_STATE_DETACHED, &t);
}

/* ---- the arena ---- */

static void exec_free(zx_exec *ex) {
  zx_arena_destroy(&ex->arena);
  pthread_mutex_destroy(&ex->lock);
  zx_poll_timing_free(ex->timing);
  ex->ops->free(ex);
}

void *zx_exec_alloc_slow(zx_exec *ex, uint8_t cls, size_t size, size_t align) {
  return zx_arena_alloc(&ex->arena, cls, size, align, driving == ex);
}

void zx_exec_free_slow(zx_exec *ex, void *p, uint8_t cls) {
  if (zx_arena_free(&ex->arena, p, cls, driving == ex)) exec_free(ex);
}

/* ---- lifetime ---- */

int zx_exec_init(zx_exec *ex, const zx_loop_ops *ops,
                 const zyntax_backend_host *host) {
  static const zyntax_spawn_args root_args = {.size = sizeof root_args,
                                              .poll = root_idle_poll};
  memset(ex, 0, sizeof *ex);
  ex->ops = ops;
  ex->owner = host->runtime;
  atomic_init(&ex->closed, 0);
  atomic_init(&ex->inbox_hint, 0);
  /* Each step undoes the ones before it when a later one fails. */
  int rc = ZYNTAX_ENOMEM;
  if (zx_poll_timing_new(host, &ex->timing) != 0) return rc;
  if (zx_arena_init(&ex->arena) != 0) goto no_arena;
  zx_wheel_init(&ex->wheel, zx_now_ns() / NS_PER_MS);
  if ((rc = zx_reactor_init(&ex->reactor)) != 0) goto no_reactor;
  rc = ZYNTAX_ENOMEM;
  if (pthread_mutex_init(&ex->lock, NULL) != 0) goto no_lock;
  ex->root = zx_task_new(ex, &root_args, ZX_STATE_ROOT);
  if (ex->root == NULL) goto no_root;
  return 0;

no_root:
  pthread_mutex_destroy(&ex->lock);
no_lock:
  zx_reactor_close(&ex->reactor);
no_reactor:
  zx_arena_destroy(&ex->arena);
no_arena:
  zx_poll_timing_free(ex->timing);
  return rc;
}

void zx_exec_set_hooks(zx_exec *ex, const zx_exec_hooks *hooks) {
  ex->hooks = hooks;
  zx_wheel_init(&ex->wheel, hooks->now(ex) / NS_PER_MS);
  ex->turn_ns = hooks->now(ex);
}

void zx_exec_shutdown(zx_exec *ex) {
  pthread_mutex_lock(&ex->lock);
  /* Relaxed: the lock orders it with every push_remote. */
  atomic_store_explicit(&ex->closed, 1, memory_order_relaxed);
  pthread_mutex_unlock(&ex->lock);
  zx_host_close(ex); /* the runtime owns the host fds */

  zx_exec *outer = driving;
  driving = ex; /* drops may drop leaf futures, which check this */
  /* Woken (idle before) and reaped (finished with the handle out) tasks
   * are on the owned list already; spawned ones and queued ones that never
   * went idle are linked now. */
  atomic_store_explicit(&ex->inbox_hint, 1, memory_order_relaxed);
  inbox in = take_inbox(ex);
  for (zx_task *t = in.spawned; t != NULL; t = t->next) {
    adopt(ex, t);
    owned_link(ex, t);
  }
  for (zx_task *t = ex->run.head; t != NULL; t = t->next)
    if (t != ex->root && !owned_linked(ex, t)) owned_link(ex, t);
  ex->run.head = ex->run.tail = NULL;
  ex->run_len = 0;
  /* Always the head: a drop may reap other tasks from the list. */
  while (ex->owned != NULL) {
    zx_task *t = ex->owned;
    int kept = (zx_state_load(&t->state) & ZX_COMPLETE)
                   ? 1
                   : complete(ex, t, ZYNTAX_ECANCELED);
    if (!kept) continue;
    /* Finished, its handle still out: the state goes now, the record
     * when the handle is released. */
    if (zx_transition_take_drop(&t->state)) zx_task_drop_state(t);
    reap_local(ex, t);
  }
  /* Sleeps still out (kept outside any task) drop later without it. */
  zx_wheel_clear(&ex->wheel);
  driving = outer;
  zx_task_unref(ex->root, 1);
  ex->root = NULL;
}

void zx_exec_unref(zx_exec *ex) {
  zx_reactor_close(&ex->reactor); /* the backend stopped watching it */
  if (zx_arena_close(&ex->arena)) exec_free(ex);
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
      .wakes_remote = ZX_READ_(wakes_remote),
      .peak_live_tasks = ZX_READ_(peak_live),
  };
#undef ZX_READ_
  zx_poll_timing_stats(((const zx_exec *)rt)->timing, &all);
  zx_sized_copy(out, &all, ZX_STATS_SIZE_1_0);
}
