/* The task-state word of the C executor: every flag of a task and its
 * reference count in one atomic, and every transition of the task lifecycle
 * as a named function returning what happened (after Tokio's
 * runtime/task/state.rs). Nothing else in the executor writes the word.
 * The Tokio backend uses the same flags at the same bits: docs/task-state.md.
 *
 * Layout (64 bits):  refs << ZX_REF_SHIFT | flags
 *
 * Who may touch what:
 *
 *   bit / field  | set by                         | cleared by
 *   -------------+--------------------------------+-----------------------------
 *   NOTIFIED     | a wake (any thread), spawn     | the driving thread, when it
 *                |                                | starts the poll
 *   RUNNING      | the driving thread (to_running,| the driving thread (to_idle,
 *                | a local wake: wake_local)      | to_complete)
 *   COMPLETE     | the driving thread (once)      | never
 *   CANCEL       | the handle's cancel (any)      | never
 *   HANDLE       | spawn                          | the handle's release (once)
 *   JOINED       | the join future's creation     | the join future's drop
 *   DROPPED      | whoever drops the state (once: | never
 *                | completion, release, shutdown) |
 *   refs         | +1: waker clone, join creation | -1: waker drop/wake,
 *                |                                | handle release, join drop,
 *                |                                | the executor letting go
 *
 *   Fields of struct zx_task: `poll`, `user_state`, `owned_*` and `next`
 *   belong to the driving thread (or to the spawner before the record is
 *   published); `outcome` is written by the driving thread before COMPLETE
 *   and read by anyone after seeing COMPLETE; the user state belongs to the
 *   driving thread until COMPLETE, then to whoever wins DROPPED.
 *
 * References: the executor holds one from spawn until the task is complete
 * and its handle released (the task is then in the run queue or on the
 * executor's owned list, where shutdown finds it: executor.c), the
 * handle one while HANDLE is set, a join future one while JOINED, and every
 * waker clone one. A queued task holds none of its own: the executor's
 * reference keeps it alive until it completes.
 *
 * The ordering rule: every transition is one read-modify-write with
 * memory_order_acq_rel (a CAS loop or a fetch_*), so all parties agree on
 * one modification order of the word, and whatever a party wrote before its
 * transition (the outcome, a dropped state, a queued link) is visible to the
 * party whose transition comes later. Plain loads are acquire, for the same
 * reason. The exceptions - zx_state_sole_owner() and the driving
 * thread's release in zx_transition_release_local() - are stated there.
 */
#ifndef ZYNTAX_EXECUTOR_TASK_STATE_H
#define ZYNTAX_EXECUTOR_TASK_STATE_H

#include <stdatomic.h>
#include <stdint.h>

typedef uint64_t zx_snapshot;

enum {
  ZX_NOTIFIED = 1u << 0, /* queued, or to be queued again after this poll */
  ZX_RUNNING = 1u << 1,  /* owned by the driving thread's poll */
  ZX_COMPLETE = 1u << 2, /* finished; `outcome` is set */
  ZX_CANCEL = 1u << 3,   /* cancellation requested */
  ZX_HANDLE = 1u << 4,   /* the spawner's handle is not yet released */
  ZX_JOINED = 1u << 5,   /* a join future exists */
  ZX_DROPPED = 1u << 6,  /* the user state was dropped */
};

#define ZX_REF_SHIFT 8
#define ZX_REF_ONE ((zx_snapshot)1 << ZX_REF_SHIFT)

typedef struct zx_state {
  _Atomic zx_snapshot word;
} zx_state;

static inline zx_snapshot zx_refs(zx_snapshot s) { return s >> ZX_REF_SHIFT; }

/* The word as of now. Acquire: a decision taken on a flag sees what the
 * party that set it wrote before. */
static inline zx_snapshot zx_state_load(zx_state *st) {
  return atomic_load_explicit(&st->word, memory_order_acquire);
}

/* Before the record is published: no other party exists yet. */
static inline void zx_state_init(zx_state *st, zx_snapshot s) {
  atomic_init(&st->word, s);
}

/* A spawned task: queued (NOTIFIED), with a handle; one reference for the
 * executor, one for the handle. */
#define ZX_STATE_SPAWNED (ZX_NOTIFIED | ZX_HANDLE | 2 * ZX_REF_ONE)
/* A detached spawn: the spawned task whose handle is already released
 * (zx_transition_release_local's outcome), the executor's reference only. */
#define ZX_STATE_DETACHED (ZX_NOTIFIED | ZX_REF_ONE)
/* block_on_future's cell: idle, one reference (the executor's). */
#define ZX_STATE_ROOT ZX_REF_ONE

/* Sets `next` = `expr` (computed from the snapshot `s`, which the caller
 * loaded) until the CAS wins; afterwards `s` is the word it replaced.
 * acq_rel: the ordering rule; a failed CAS reloads `s` with acquire, as
 * zx_state_load() does. */
#define ZX_STATE_UPDATE_FROM(st, s, next, expr)                            \
  do {                                                                     \
    do {                                                                   \
      (next) = (expr);                                                     \
    } while (!atomic_compare_exchange_weak_explicit(                       \
        &(st)->word, &(s), (next), memory_order_acq_rel,                   \
        memory_order_acquire));                                            \
  } while (0)

/* The same from a fresh load of the word. */
#define ZX_STATE_UPDATE(st, s, next, expr)                                 \
  do {                                                                     \
    (s) = zx_state_load(st);                                               \
    ZX_STATE_UPDATE_FROM(st, s, next, expr);                               \
  } while (0)

/* The driving thread's shortcut: when the executor's is the only reference
 * and no handle or join future exists, no other thread can reach the record
 * at all (every way in - a waker, the handle, a join - holds a reference),
 * so the driving thread may update the word with a plain store. The
 * acquire load still orders this after the release of the last other
 * party. */
static inline int zx_state_sole_owner(zx_snapshot s) {
  return zx_refs(s) == 1 && !(s & (ZX_HANDLE | ZX_JOINED));
}

/* ---- references ---- */

/* Relaxed: a new reference is made from an existing one, which already
 * keeps the record alive; nothing is published by it. */
static inline void zx_state_ref(zx_state *st) {
  atomic_fetch_add_explicit(&st->word, ZX_REF_ONE, memory_order_relaxed);
}

/* Drops `n` references; nonzero when they were the last (the caller frees).
 * acq_rel: the freeing party must see every other party's writes. */
static inline int zx_state_unref(zx_state *st, unsigned n) {
  zx_snapshot prev = atomic_fetch_sub_explicit(&st->word, n * ZX_REF_ONE,
                                               memory_order_acq_rel);
  return zx_refs(prev) == n;
}

/* ---- the driving thread: poll ---- */

typedef enum { ZX_RUN_POLL, ZX_RUN_CANCEL } zx_to_running;

/* A queued task is about to be polled: RUNNING set, NOTIFIED cleared (a
 * wake during the poll sets it again). A task requeued by its own
 * wake_by_ref kept RUNNING and only needs NOTIFIED cleared. */
static inline zx_to_running zx_transition_to_running(zx_state *st) {
  zx_snapshot s = zx_state_load(st);
  /* Requeued by its own wake_by_ref, and nothing came since: the word
   * already says RUNNING, nothing to write (one load and one test). */
  if ((s & (ZX_RUNNING | ZX_NOTIFIED | ZX_CANCEL)) == ZX_RUNNING) return ZX_RUN_POLL;
  zx_snapshot next = (s & ~(zx_snapshot)ZX_NOTIFIED) | ZX_RUNNING;
  if (zx_state_sole_owner(s))
    atomic_store_explicit(&st->word, next, memory_order_relaxed);
  else if (next != s)
    ZX_STATE_UPDATE_FROM(st, s, next, (s & ~(zx_snapshot)ZX_NOTIFIED) | ZX_RUNNING);
  return (s & ZX_CANCEL) ? ZX_RUN_CANCEL : ZX_RUN_POLL;
}

typedef enum { ZX_IDLE_OK, ZX_IDLE_NOTIFIED } zx_to_idle;

/* The poll returned PENDING: RUNNING cleared. ZX_IDLE_NOTIFIED when a wake
 * came during the poll: NOTIFIED stays set and the caller queues the task.
 * `*after` is the word as this transition left it (for a lost-wake check,
 * zx_state_may_be_woken(), without loading it again). */
static inline zx_to_idle zx_transition_to_idle(zx_state *st, zx_snapshot *after) {
  zx_snapshot s, next;
  ZX_STATE_UPDATE(st, s, next, s & ~(zx_snapshot)ZX_RUNNING);
  *after = next;
  return (next & ZX_NOTIFIED) ? ZX_IDLE_NOTIFIED : ZX_IDLE_OK;
}

static inline zx_snapshot zx_next_complete_(zx_snapshot s, int keep_state) {
  zx_snapshot n = (s & ~(zx_snapshot)(ZX_RUNNING | ZX_NOTIFIED)) | ZX_COMPLETE;
  if (!(s & ZX_DROPPED) && (!keep_state || !(s & ZX_HANDLE))) n |= ZX_DROPPED;
  return n;
}

typedef struct zx_to_complete {
  int drop_state; /* the caller drops the user state (no handle keeps it) */
  int handle_out; /* the handle is still out: its release reaps the record */
  int joined;     /* a join future exists: wake its waker */
  int sole_owner; /* nobody else can reach the record: free it right away */
} zx_to_complete;

/* The task finished (outcome written before this call): COMPLETE set,
 * RUNNING and NOTIFIED cleared. A state no handle will read (no HANDLE, or
 * `keep_state` 0 for a cancelled or failed task) is the caller's to drop
 * (DROPPED set here). */
static inline zx_to_complete zx_transition_to_complete(zx_state *st,
                                                       int keep_state) {
  zx_to_complete r = {0, 0, 0, 0};
  zx_snapshot clear = ZX_RUNNING | ZX_NOTIFIED;
  zx_snapshot s = zx_state_load(st);
  if (zx_state_sole_owner(s)) {
    atomic_store_explicit(&st->word, (s & ~clear) | ZX_COMPLETE | ZX_DROPPED,
                          memory_order_relaxed);
    r.drop_state = !(s & ZX_DROPPED);
    r.sole_owner = 1;
    return r;
  }
  zx_snapshot next;
  ZX_STATE_UPDATE_FROM(st, s, next, zx_next_complete_(s, keep_state));
  r.drop_state = (next & ZX_DROPPED) && !(s & ZX_DROPPED);
  r.handle_out = (s & ZX_HANDLE) != 0;
  r.joined = (s & ZX_JOINED) != 0;
  return r;
}

/* After a PENDING poll, for a lost-wake check: nonzero when something can
 * still wake the task - a wake is already pending, or a reference exists
 * beyond the executor's, the handle's and the join future's (that is, a
 * waker clone). A task for which this is 0 will never be polled again. */
static inline int zx_state_may_be_woken(zx_snapshot s) {
  if (s & (ZX_NOTIFIED | ZX_COMPLETE)) return 1;
  zx_snapshot base = 1 + !!(s & ZX_HANDLE) + !!(s & ZX_JOINED);
  return zx_refs(s) > base;
}

/* ---- any thread: wakes ---- */

typedef enum { ZX_WAKE_NOTHING, ZX_WAKE_SUBMIT } zx_to_notified;

/* A wake by reference. ZX_WAKE_SUBMIT: the task was idle; NOTIFIED is now
 * set and the caller must queue it. A running task only gets NOTIFIED (its
 * poll's end queues it); a queued or finished one is left alone. */
static inline zx_to_notified zx_transition_wake(zx_state *st) {
  zx_snapshot s = zx_state_load(st);
  if (s & (ZX_NOTIFIED | ZX_COMPLETE)) return ZX_WAKE_NOTHING;
  zx_snapshot next;
  ZX_STATE_UPDATE_FROM(st, s, next,
                       (s & (ZX_NOTIFIED | ZX_COMPLETE)) ? s : s | ZX_NOTIFIED);
  return (next != s && !(s & ZX_RUNNING)) ? ZX_WAKE_SUBMIT : ZX_WAKE_NOTHING;
}

static inline zx_snapshot zx_next_wake_local_(zx_snapshot s) {
  if (s & (ZX_NOTIFIED | ZX_COMPLETE)) return s;
  return s | ((s & ZX_RUNNING) ? ZX_NOTIFIED : ZX_RUNNING);
}

/* A wake by reference on the driving thread. ZX_WAKE_SUBMIT: the task was
 * idle and is now RUNNING, not NOTIFIED - the driving thread, which queues
 * it, owns it from here on, as it owns a task requeued by its own
 * wake_by_ref - so its next zx_transition_to_running() is one load, not a
 * second read-modify-write. A wake from elsewhere meanwhile sees RUNNING
 * and only sets NOTIFIED, which that poll consumes; a cancel sees RUNNING
 * and leaves the queueing to the driving thread, as for a task being
 * polled. Otherwise as zx_transition_wake(). */
static inline zx_to_notified zx_transition_wake_local(zx_state *st) {
  zx_snapshot s = zx_state_load(st);
  if (s & (ZX_NOTIFIED | ZX_COMPLETE)) return ZX_WAKE_NOTHING;
  zx_snapshot next;
  ZX_STATE_UPDATE_FROM(st, s, next, zx_next_wake_local_(s));
  return !(s & (ZX_NOTIFIED | ZX_COMPLETE | ZX_RUNNING)) ? ZX_WAKE_SUBMIT
                                                         : ZX_WAKE_NOTHING;
}

static inline zx_snapshot zx_next_wake_by_val_(zx_snapshot s) {
  if (s & (ZX_NOTIFIED | ZX_COMPLETE)) return s - ZX_REF_ONE;
  if (s & ZX_RUNNING) return (s | ZX_NOTIFIED) - ZX_REF_ONE;
  return s | ZX_NOTIFIED; /* idle: the reference stays for the push */
}

typedef enum {
  ZX_WAKE_VAL_NOTHING,
  ZX_WAKE_VAL_SUBMIT,
  ZX_WAKE_VAL_DEALLOC
} zx_to_notified_by_val;

/* A wake that consumes the waker's reference, in the same transition. When
 * it must be queued, the reference is kept one moment longer and the caller
 * drops it after queueing (ZX_WAKE_VAL_SUBMIT); ZX_WAKE_VAL_DEALLOC: that
 * was the last reference, the caller frees. */
static inline zx_to_notified_by_val zx_transition_wake_by_val(zx_state *st) {
  zx_snapshot s, next;
  ZX_STATE_UPDATE(st, s, next, zx_next_wake_by_val_(s));
  if (zx_refs(next) == zx_refs(s)) return ZX_WAKE_VAL_SUBMIT;
  return zx_refs(next) == 0 ? ZX_WAKE_VAL_DEALLOC : ZX_WAKE_VAL_NOTHING;
}

/* ---- any thread: the handle ---- */

typedef enum { ZX_CANCEL_DONE, ZX_CANCEL_SUBMIT, ZX_CANCEL_FINISHED } zx_to_cancel;

/* Requests cancellation: CANCEL and NOTIFIED set, so the task is polled
 * once more and that poll cancels it (ZX_CANCEL_SUBMIT: it was idle, the
 * caller queues it; a running one is queued by its poll's end).
 * ZX_CANCEL_FINISHED: it had completed already. */
static inline zx_to_cancel zx_transition_cancel(zx_state *st) {
  zx_snapshot s, next;
  ZX_STATE_UPDATE(st, s, next,
                  (s & ZX_COMPLETE) ? s : s | ZX_CANCEL | ZX_NOTIFIED);
  if (s & ZX_COMPLETE) return ZX_CANCEL_FINISHED;
  return !(s & (ZX_NOTIFIED | ZX_RUNNING)) ? ZX_CANCEL_SUBMIT : ZX_CANCEL_DONE;
}

static inline zx_snapshot zx_next_release_(zx_snapshot s) {
  if (!(s & ZX_HANDLE)) return s;
  zx_snapshot n = s & ~(zx_snapshot)ZX_HANDLE;
  return (s & ZX_COMPLETE) ? n | ZX_DROPPED : n - ZX_REF_ONE;
}

typedef enum {
  ZX_RELEASE_TWICE,    /* HANDLE was not set: a second release */
  ZX_RELEASE_RUNNING,  /* unfinished: the handle's reference is gone too */
  ZX_RELEASE_COMPLETE, /* finished: the caller reaps (owned list) and then
                          drops the handle's reference */
} zx_to_released;

/* The release's shortcut, for a caller that drives the task's executor:
 * with two references (the executor's and this handle's), no join future
 * and no poll under way (so no borrowed waker is out), no other party can
 * reach the record - every way in holds a reference - and the driving
 * thread may write the word with a plain store, as zx_state_sole_owner()
 * allows: HANDLE cleared and the handle's reference dropped
 * (ZX_RELEASE_RUNNING's outcome). A detached spawn releases its handle
 * this way before the first poll. 0: not the case, nothing written. */
static inline int zx_transition_release_local(zx_state *st) {
  zx_snapshot s = zx_state_load(st);
  if (zx_refs(s) != 2 ||
      (s & (ZX_HANDLE | ZX_JOINED | ZX_RUNNING | ZX_COMPLETE)) != ZX_HANDLE)
    return 0;
  atomic_store_explicit(&st->word, (s & ~(zx_snapshot)ZX_HANDLE) - ZX_REF_ONE,
                        memory_order_relaxed);
  return 1;
}

/* The handle is given back: HANDLE cleared. For an unfinished task the
 * handle's reference goes in the same transition. For a finished one the
 * state is the caller's to drop when *drop_state, and the reference stays
 * until the caller has reaped the record. */
static inline zx_to_released zx_transition_release(zx_state *st, int *drop_state) {
  zx_snapshot s, next;
  ZX_STATE_UPDATE(st, s, next, zx_next_release_(s));
  *drop_state = (next & ZX_DROPPED) && !(s & ZX_DROPPED);
  if (!(s & ZX_HANDLE)) return ZX_RELEASE_TWICE;
  return (s & ZX_COMPLETE) ? ZX_RELEASE_COMPLETE : ZX_RELEASE_RUNNING;
}

/* Whoever gets DROPPED first drops the state (shutdown, for finished tasks
 * whose handle is still out). Nonzero: the caller drops it. */
static inline int zx_transition_take_drop(zx_state *st) {
  zx_snapshot prev = atomic_fetch_or_explicit(&st->word, ZX_DROPPED,
                                              memory_order_acq_rel);
  return !(prev & ZX_DROPPED);
}

/* ---- any thread: the join future ---- */

/* JOINED set and a reference taken; 0, or nonzero when a join future
 * exists already. */
static inline int zx_transition_join(zx_state *st) {
  zx_snapshot s, next;
  ZX_STATE_UPDATE(st, s, next,
                  (s & ZX_JOINED) ? s : (s | ZX_JOINED) + ZX_REF_ONE);
  return (s & ZX_JOINED) != 0;
}

/* The join future is dropped: JOINED cleared and its reference dropped in
 * one transition; nonzero when it was the last (the caller frees). */
static inline int zx_transition_unjoin(zx_state *st) {
  zx_snapshot prev = atomic_fetch_sub_explicit(&st->word, ZX_JOINED + ZX_REF_ONE,
                                               memory_order_acq_rel);
  return zx_refs(prev) == 1;
}

#endif /* ZYNTAX_EXECUTOR_TASK_STATE_H */
