/* The executor shared by the C backends (uv, ev): task records, the run
 * queue, the cross-thread inbox, task wakers, join, the drive loop and the
 * stats. A backend embeds `zx_exec` as the FIRST member of its runtime
 * struct and supplies only its loop primitives (zx_loop_ops) and its leaf
 * futures (timers, fd readiness, blocking work).
 *
 * Threads: one thread at a time drives the executor (the loader enforces
 * it); polls, drops of cancelled tasks and loop callbacks run there. Wakes,
 * spawns, cancels and releases may come from any thread: they reach the
 * driving thread through the inbox (mutex-protected lists) and
 * ops->signal().
 *
 * A task's lifecycle is its state word: task_state.h has every transition,
 * who may make it, and the ordering rule.
 */
#ifndef ZYNTAX_COMMON_EXECUTOR_H
#define ZYNTAX_COMMON_EXECUTOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "arena.h"
#include "reactor.h"
#include "wheel.h"
#include "zyntax/backend.h"
#include "zyntax/executor.h"

typedef struct zx_exec zx_exec;
typedef struct zx_task zx_task;
typedef struct zx_exec_hooks zx_exec_hooks;
typedef struct zx_poll_timing zx_poll_timing; /* poll_timing.h */

/* What a C backend supplies. */
typedef struct zx_loop_ops {
  /* Makes a blocked run_once() return. Any thread; called with the inbox
   * lock held, never after zx_exec_shutdown() started. */
  void (*signal)(zx_exec *ex);
  /* Runs one loop iteration on the driving thread: waits for an event when
   * `block`, else only handles what is ready now. */
  void (*run_once)(zx_exec *ex, int block);
  /* Called on the driving thread from inside run_once(), when a loop
   * callback (a timer, an fd event) queued a task: the iteration under way
   * must not block waiting for events any more. A loop that runs some
   * callbacks before it waits would otherwise sleep with work queued.
   * Neither loop does today: libev invokes callbacks after its poll (ev
   * breaks anyway, to keep the contract should that change), and uv waits
   * only in the reactor's set, before any callback, with uv_run() called
   * UV_RUN_NOWAIT (a no-op). At most once per run_once(). */
  void (*interrupt)(zx_exec *ex);
  /* Frees the backend runtime once the last task record referring to the
   * executor is gone (after the backend's own destroy). */
  void (*free)(zx_exec *ex);
  /* (Re)starts the runtime's one timer to fire in `ms` milliseconds or
   * later, measured from now (not from a cached loop time); its callback
   * calls zx_exec_timer_fired(). Driving thread. */
  void (*timer_arm)(zx_exec *ex, uint64_t ms);
  /* The loop's own pollable fd (an epoll fd readable while the loop has
   * work), or -1 when the loop has none; a host loop watches it (host.c).
   * fd waits are in the reactor's set, which the host watches anyway. */
  int (*backend_fd)(zx_exec *ex);
} zx_loop_ops;

/* Optional: what a simulating backend (backends/sim) changes in the
 * executor. Installed with zx_exec_set_hooks() right after zx_exec_init();
 * uv and ev leave ex->hooks NULL and the executor then costs one
 * predictable branch per pop, poll and clock read. Driving thread. */
struct zx_exec_hooks {
  /* The clock of the timers, sleeps and loop turns, in ns (instead of
   * zx_now_ns(): CLOCK_MONOTONIC). */
  uint64_t (*now)(zx_exec *ex);
  /* Which of the `n` (> 0) queued tasks runs next: 0 (the head) to n-1,
   * or n to end the pass - run_ready returns and a loop turn follows. */
  size_t (*pick)(zx_exec *ex, size_t n);
  /* After every poll of a task (block_on_future's cell included), with
   * its result. */
  void (*polled)(zx_exec *ex, zx_task *t, zyntax_poll r);
};

/* A counter with one writer at a time (the driving thread): a relaxed
 * load + store, no locked instruction, yet race-free for readers. */
typedef struct zx_counter {
  _Atomic uint64_t value;
} zx_counter;

static inline void zx_count(zx_counter *c) {
  atomic_store_explicit(&c->value,
                        atomic_load_explicit(&c->value, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

/* `n` more, same rule as zx_count. */
static inline void zx_count_add(zx_counter *c, uint64_t n) {
  atomic_store_explicit(&c->value,
                        atomic_load_explicit(&c->value, memory_order_relaxed) + n,
                        memory_order_relaxed);
}

/* A high-water mark with one writer at a time: a store only when `v`
 * exceeds it. */
static inline void zx_count_max(zx_counter *c, uint64_t v) {
  if (v > atomic_load_explicit(&c->value, memory_order_relaxed))
    atomic_store_explicit(&c->value, v, memory_order_relaxed);
}

/* A counter written from any thread. */
static inline void zx_count_shared(zx_counter *c) {
  atomic_fetch_add_explicit(&c->value, 1, memory_order_relaxed);
}

typedef struct zx_stats {
  zx_counter spawned, completed, cancelled, failed, polls;
  zx_counter wakes_local, wakes_remote;
  zx_counter timers, io_waits, blocking_jobs;
  zx_counter peak_live; /* the most `nlive` has been */
} zx_stats;

typedef struct zx_task_list {
  zx_task *head, *tail;
} zx_task_list;

struct zx_exec {
  const zx_loop_ops *ops;
  const zx_exec_hooks *hooks; /* NULL except under simulation */
  zyntax_runtime *owner; /* the public handle (task owner) */
  zx_stats stats;

  /* Driving thread only (and the destroying thread, once nobody drives). */
  zx_task_list run;  /* FIFO of scheduled tasks */
  size_t run_len;    /* tasks in it */
  uint64_t turn_ns;  /* when the last loop turn ended */
  zx_task *owned;    /* tasks the executor holds a reference for, once
                        idle or finished (the others are queued) */
  size_t nlive;      /* unfinished tasks (spawned and adopted) */
  zx_task *root;     /* block_on_future's reusable task cell */
  int root_done;
  int root_outcome;
  zx_wheel wheel;    /* the sleeps (sleep.c) */
  zx_reactor reactor; /* the fd waits (reactor.c) */
  zx_task *current; /* the task being polled */
  zx_task *lifo;     /* woken by `current`: runs next (executor.c) */
  unsigned lifo_polls; /* polls in a row taken from `lifo` */
  zx_task *lifo_last;  /* the last task taken from `lifo` */
  zx_poll_timing *timing; /* NULL unless polls are timed (poll_timing.h) */
  int self_woken;    /* it woke itself by reference during this poll */
  int in_loop;     /* inside ops->run_once() */
  int interrupted; /* ops->interrupt() was called in this run_once() */

  /* Any thread. Task records, join futures and sleep nodes; the executor
   * is freed with it, once the backend let go and its last block is back. */
  zx_arena arena;
  atomic_int closed;   /* set once by zx_exec_shutdown(), under `lock` */
  atomic_int inbox_hint; /* the inbox is not empty */
  pthread_mutex_t lock;  /* guards the inbox */
  /* The inbox: tasks spawned on other threads, tasks woken there, and
   * finished tasks whose handle was released there. */
  zx_task_list in_spawned, in_woken, in_reaped;
  /* The host-loop fds (host.c), once zyntax_runtime_poll_fd() made them:
   * set and cleared under `lock` while nobody drives; read under `lock`
   * by remote pushes, and by the driving thread. */
  struct zx_host *host;
};

/* Nonzero once zx_exec_shutdown() started. Acquire: pairs with the store
 * under the lock, so work refused here is work shutdown takes care of. */
static inline int zx_exec_closed(zx_exec *ex) {
  return atomic_load_explicit(&ex->closed, memory_order_acquire);
}

/* The executor the calling thread is driving (NULL: none). initial-exec:
 * read on every wake and arena block, it must not cost a __tls_get_addr
 * call; a plugin's 8 bytes fit glibc's static TLS reserve for dlopen. */
extern _Thread_local zx_exec *zx_driving __attribute__((tls_model("initial-exec")));

/* Initialises `ex`. Returns 0 or ZYNTAX_ENOMEM. */
int zx_exec_init(zx_exec *ex, const zx_loop_ops *ops,
                 const zyntax_backend_host *host);

/* Installs `hooks` (before any task exists) and restarts the timing wheel
 * at hooks->now(). */
void zx_exec_set_hooks(zx_exec *ex, const zx_exec_hooks *hooks);

/* CLOCK_MONOTONIC in nanoseconds (the clock of zyntax_now(); sleep.c). */
uint64_t zx_now_ns(void);

/* The executor's clock: hooks->now() under simulation, else zx_now_ns(). */
static inline uint64_t zx_exec_now(zx_exec *ex) {
  return ex->hooks ? ex->hooks->now(ex) : zx_now_ns();
}

/* Destroy, step one: refuses new spawns and remote wakes, then cancels every
 * unfinished task, dropping each state exactly once. Called on the
 * destroying thread while nobody drives; the backend then closes its loop
 * (running it until closes finish) and calls zx_exec_unref(). */
void zx_exec_shutdown(zx_exec *ex);

/* Destroy, last step: the backend lets go (its loop no longer watches the
 * reactor's fd; fd waits still out complete with ZYNTAX_ECLOSED and the
 * reactor closes). ops->free runs now, or when the
 * last arena block still out (a record kept by a leaked waker or handle, a
 * sleep dropped later) comes back, on whichever thread frees it. */
void zx_exec_unref(zx_exec *ex);

/* Nonzero when the calling thread is driving `ex` (leaf futures use it to
 * refuse being polled from another runtime's task; the arena to take its
 * lock-free path). */
static inline int zx_exec_is_current(const zx_exec *ex) { return zx_driving == ex; }

/* The backend timer armed by ops->timer_arm fired (driving thread). */
void zx_exec_timer_fired(zx_exec *ex);

/* Files a sleep's wheel node for tick `when` (ms), or unlinks it (driving
 * thread; sleep.c). */
void zx_exec_timer_insert(zx_exec *ex, zx_wheel_node *n, uint64_t when,
                          uint64_t now_ns);
void zx_exec_timer_remove(zx_exec *ex, zx_wheel_node *n);

/* Wakes the sleep whose node the wheel passed (sleep.c). */
void zx_sleep_fire(zx_wheel_node *n, void *arg);

/* The arena's slow paths (executor.c): a lock, a refill, or the last
 * block of a closed executor. */
void *zx_exec_alloc_slow(zx_exec *ex, uint8_t cls, size_t size, size_t align);
void zx_exec_free_slow(zx_exec *ex, void *p, uint8_t cls);

/* A block of the executor's arena (NULL: out of memory) and its return;
 * `cls` from zx_arena_class(). Any thread; inline, the driving thread's
 * local free list first (no call, no lock). */
static inline void *zx_exec_alloc(zx_exec *ex, uint8_t cls, size_t size, size_t align) {
  if (__builtin_expect(cls != ZX_ARENA_BIG && zx_driving == ex, 1)) {
    zx_free_list *l = &ex->arena.local[cls];
    if (__builtin_expect(l->n > 0, 1)) return zx_arena_local_take(l);
  }
  return zx_exec_alloc_slow(ex, cls, size, align);
}

static inline void zx_exec_free(zx_exec *ex, void *p, uint8_t cls) {
  if (__builtin_expect(cls != ZX_ARENA_BIG && zx_driving == ex, 1))
    zx_arena_local_give(&ex->arena, cls, p);
  else
    zx_exec_free_slow(ex, p, cls);
}

/* Leaf futures call this first in their poll: a future polled from a task
 * of another runtime completes with ZYNTAX_EFOREIGN (returns nonzero). */
static inline int zx_future_refuse_foreign(zyntax_future *f, const zx_exec *ex) {
  if (zx_exec_is_current(ex)) return 0;
  f->result = ZYNTAX_EFOREIGN;
  return 1;
}

/* The backend vtable entries every C backend shares. `rt` is a backend
 * runtime whose first member is a zx_exec. */
int zx_exec_spawn(zyntax_backend_runtime *rt, const zyntax_spawn_args *args,
                  zyntax_task **out);
int zx_exec_spawn_detached(zyntax_backend_runtime *rt, const zyntax_spawn_args *args);
int zx_exec_block_on(zyntax_backend_runtime *rt, zyntax_task *task);
int zx_exec_block_on_future(zyntax_backend_runtime *rt, void *state,
                            zyntax_poll_fn poll);
int zx_exec_run(zyntax_backend_runtime *rt);
void zx_exec_stats(const zyntax_backend_runtime *rt, zyntax_stats *out);

/* Driving from a host's loop (host.c). */
int zx_host_poll_fd(zyntax_backend_runtime *rt, int *fd);
int zx_host_next_deadline(zyntax_backend_runtime *rt, uint64_t *deadline_ns);
int zx_host_run_nowait(zyntax_backend_runtime *rt, int *more);

/* host.c: a remote push filled the inbox (inbox lock held), and the close
 * of the host fds at shutdown. */
void zx_host_signal_locked(struct zx_host *h);
void zx_host_close(zx_exec *ex);

/* One non-blocking drive (executor.c): the inbox, the ready tasks and
 * non-blocking loop turns, until nothing is queued or a bounded number of
 * turns ran. Returns nonzero when tasks are still queued. */
int zx_exec_drive_nowait(zx_exec *ex);

/* The op tables of the executor's tasks and futures (task.c, join.c,
 * sleep.c, pool.c) and ZYNTAX_EXECUTOR_FUTURE_OPS are declared in the
 * installed header, for the backend table's task_ops and future_ops. */
#define ZX_EXEC_BACKEND_ENTRIES                                  \
  .task_ops = &zyntax_executor_task_ops, .spawn = zx_exec_spawn,          \
  .spawn_detached = zx_exec_spawn_detached, .block_on = zx_exec_block_on, \
  .block_on_future = zx_exec_block_on_future, .run = zx_exec_run, \
  .stats = zx_exec_stats, .poll_fd = zx_host_poll_fd,            \
  .next_deadline = zx_host_next_deadline, .run_nowait = zx_host_run_nowait

#endif /* ZYNTAX_COMMON_EXECUTOR_H */
