/** @file
 * Zyntax Runtime - the poll protocol: poll status, wakers, future vtables.
 *
 * This is everything a compiled `async fn` touches on every poll. It mirrors
 * Rust's core::task (Poll, RawWaker, RawWakerVTable) with a C ABI, so a
 * compiler's lowering of async code is the usual state machine.
 */
#ifndef ZYNTAX_FUTURE_H
#define ZYNTAX_FUTURE_H

#include <stddef.h>

#include "zyntax/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a poll function returns. Any other value is a bug in the poll
 * function: the runtime ends the task with ZYNTAX_EBADPOLL.
 *
 * A lost wake: a poll that returns PENDING while its task keeps no waker
 * clone and has queued no wake (wake_by_ref) can never be polled again -
 * only a cancel or the runtime's destroy end it, so block_on on it waits
 * forever. Every backend sees it after every such poll and, with
 * ZYNTAX_LOG=1, writes one "zyntax: lost wake: poll function NAME ..." line
 * to stderr naming the poll function (its symbol if the dynamic symbol
 * table has it, else object file + offset, for addr2line), once per poll
 * function per process. There is no stats counter for it yet. A task
 * meant to wait for its cancel is reported too: the line says so. */
typedef enum zyntax_poll {
  ZYNTAX_PENDING = 0, /**< not done; a clone of the waker will be woken */
  ZYNTAX_READY = 1    /**< done; the result is in the state struct */
} zyntax_poll;

typedef struct zyntax_waker zyntax_waker;

/** Rust's RawWakerVTable with a C ABI. Implemented by the runtime; compiled
 * code only calls it through the helpers below.
 *   clone:       a new waker for the same task (one more reference)
 *   wake:        wake the task and release this waker (consumes it)
 *   wake_by_ref: wake the task, keep this waker
 *   drop:        release this waker without waking
 * Every function is thread-safe and may be called at any time, also after
 * the task finished or its runtime was destroyed (then waking is a no-op). */
typedef struct zyntax_waker_vtable {
  zyntax_waker (*clone)(const void *data);
  void (*wake)(const void *data);
  void (*wake_by_ref)(const void *data);
  void (*drop)(const void *data);
} zyntax_waker_vtable;

/** A waker: a task's wake-up capability. Two words, passed by pointer.
 * The waker handed to a poll function is borrowed for the duration of that
 * call; a future that must be woken later stores zyntax_waker_clone() of it
 * and later wakes or drops that clone exactly once. A waker whose vtable is
 * NULL is empty: every helper below treats it as a no-op. */
struct zyntax_waker {
  const void *data;
  const zyntax_waker_vtable *vtable;
};

/** An empty waker value, for initialising a slot. */
#define ZYNTAX_WAKER_EMPTY {NULL, NULL}

/** Returns an owned clone of `w` (empty if `w` is NULL or empty). */
static inline zyntax_waker zyntax_waker_clone(const zyntax_waker *w) {
  zyntax_waker none = ZYNTAX_WAKER_EMPTY;
  if (w == NULL || w->vtable == NULL) return none;
  return w->vtable->clone(w->data);
}

/** Wakes the task and consumes the owned waker `*w`; `*w` is left empty so a
 * second call is a no-op. */
static inline void zyntax_waker_wake(zyntax_waker *w) {
  if (w == NULL || w->vtable == NULL) return;
  const zyntax_waker_vtable *vt = w->vtable;
  w->vtable = NULL;
  vt->wake(w->data);
}

/** Wakes the task; `*w` stays owned by the caller. */
static inline void zyntax_waker_wake_by_ref(const zyntax_waker *w) {
  if (w == NULL || w->vtable == NULL) return;
  w->vtable->wake_by_ref(w->data);
}

/** Releases the owned waker `*w` without waking; `*w` is left empty. */
static inline void zyntax_waker_drop(zyntax_waker *w) {
  if (w == NULL || w->vtable == NULL) return;
  const zyntax_waker_vtable *vt = w->vtable;
  w->vtable = NULL;
  vt->drop(w->data);
}

/** Nonzero when waking `a` and `b` wakes the same task, so a stored clone
 * need not be replaced (Rust's Waker::will_wake). 0 when either is NULL.
 * Any thread; the caller owns neither. */
static inline int zyntax_waker_will_wake(const zyntax_waker *a,
                                         const zyntax_waker *b) {
  if (a == NULL || b == NULL) return 0;
  return a->data == b->data && a->vtable == b->vtable;
}

/** Stores a clone of `w` in the slot `*slot` (owned by the caller),
 * reusing the stored waker when it already wakes the same task (the common
 * case: no refcount traffic). A NULL or empty `w` empties the slot (its
 * waker is dropped); a NULL `slot` is a no-op. Never fails; call from the
 * thread that owns the slot (typically inside a poll function). */
static inline void zyntax_waker_store(zyntax_waker *slot,
                                      const zyntax_waker *w) {
  if (slot == NULL) return;
  if (slot->vtable != NULL && zyntax_waker_will_wake(slot, w)) return;
  zyntax_waker_drop(slot);
  *slot = zyntax_waker_clone(w);
}

/** A waker that does nothing; for polling by hand and for tests. Its clone is
 * itself. Thread-safe, never fails. */
ZYNTAX_EXTERN zyntax_waker zyntax_waker_noop(void);

/** A yield point that allocates nothing, for compiled code (`yield_now().await`
 * inlined): the first call wakes the task by reference - it goes to the back
 * of the run queue, so other tasks run - and returns ZYNTAX_PENDING; the next
 * call returns ZYNTAX_READY. `*yielded` is one byte of the caller's state, 0
 * before the first call and 0 again after READY, so one byte serves every
 * yield of a loop. Behaves as polling a zyntax_yield_future() future. */
static inline zyntax_poll zyntax_yield_poll(unsigned char *yielded,
                                            const zyntax_waker *waker) {
  if (*yielded) {
    *yielded = 0;
    return ZYNTAX_READY;
  }
  *yielded = 1;
  zyntax_waker_wake_by_ref(waker);
  return ZYNTAX_PENDING;
}

/** A compiled `async fn`'s poll function. `state` is the function's state
 * struct; `waker` is borrowed for this call. Returns ZYNTAX_PENDING after
 * arranging for a clone of `waker` to be woken, or ZYNTAX_READY with the
 * result stored in `state`. A poll function must not block, and must not
 * call zyntax_runtime_block_on/run/destroy (they fail with
 * ZYNTAX_EREENTRANT / ZYNTAX_EBUSY). */
typedef zyntax_poll (*zyntax_poll_fn)(void *state, const zyntax_waker *waker);

/** Releases everything `state` owns (live locals, nested futures, captures)
 * and, if the state was heap-allocated by the caller, the state itself. */
typedef void (*zyntax_drop_fn)(void *state);

/** A future type: how to poll it and how to release it. `drop` may be NULL
 * when the state owns nothing. The runtime calls `drop` exactly once per
 * spawned state: after completion (once no task handle refers to it), on
 * cancel, or on runtime destroy. A vtable must outlive every task using it
 * (normally it is a static constant). */
typedef struct zyntax_future_vtable {
  zyntax_poll_fn poll;
  zyntax_drop_fn drop;
} zyntax_future_vtable;

#ifdef __cplusplus
}
#endif

#endif /* ZYNTAX_FUTURE_H */
