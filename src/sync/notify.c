/* The notify: permits saturate at one. notify_one hands a permit to the
 * oldest waiter, else stores it; notify_all hands one to every waiter
 * waiting now and stores none.
 *
 * The common case - at most one waiter at a time, as two tasks handing a
 * ball back and forth - takes no lock: the notify's `slot` word holds the
 * whole state, EMPTY, PERMIT, or the one waiting record itself (its
 * address). A second waiter arriving while one is parked moves the notify,
 * under its mutex and for good, to QUEUE: from then on the waitq (waitq.c)
 * under the mutex holds waiters and permits, as for the semaphore.
 *
 * The hand-off to a parked record W, and why a concurrent drop or re-park
 * of W is safe:
 *   - the waiter writes W's waker, then publishes W with a CAS EMPTY -> W
 *     (release: the notifier sees the waker);
 *   - a notifier claims W with a CAS W -> EMPTY (acquire). From then on it
 *     owns W until its release: it wakes W's waker by reference and then
 *     stores W's `granted` (release), after which it never touches W;
 *   - the waiter's own thread changes or drops W's waker, or frees W, only
 *     while W is not parked: it takes W back with a CAS W -> EMPTY first,
 *     and when that fails (a notifier claimed W, or a second waiter moved
 *     it into the queue), it looks under the mutex: queued means the waitq
 *     owns it (the mutex rules, as for the semaphore); not queued means a
 *     claim, and it waits for that notifier's `granted` store (acquire) - a
 *     few instructions away, the rest of one wake - before touching W.
 * Only W's own thread parks W, so `slot == W` always means "parked and not
 * claimed" (no ABA). */
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "shared.h"
#include "waitq.h"

/* The slot's values besides a record's address (records are malloc'd,
 * aligned to at least 8, so never 0, 1 or 2). */
enum { SLOT_EMPTY = 0, SLOT_PERMIT = 1, SLOT_QUEUE = 2 };

struct zyntax_notify {
  /* EMPTY, PERMIT, a parked record, or QUEUE (sticky): see above. */
  _Atomic uintptr_t slot;
  zx_mutex lock;
  zx_waitq q; /* in use once `slot` is QUEUE; under lock */
  size_t refs; /* under lock */
};

struct zyntax_notified {
  zyntax_notify *n;
  zx_waiter wait;
  /* This record was parked in the slot and has not seen its grant yet.
   * Read and written by the record's own thread only. */
  unsigned char in_slot;
};

/* A CAS of the slot: acq_rel, for the reasons in the comment at the top
 * (the park's release publishes the waker, the claim's acquire reads it).
 * While the process has one thread nobody can race it, and a load and a
 * store do (as zx_lock does, for the same reason: waitq.h). */
static inline int slot_cas(zyntax_notify *n, uintptr_t expect, uintptr_t want) {
  if (zx_one_thread()) {
    if (atomic_load_explicit(&n->slot, memory_order_relaxed) != expect) return 0;
    atomic_store_explicit(&n->slot, want, memory_order_relaxed);
    return 1;
  }
  return atomic_compare_exchange_strong_explicit(&n->slot, &expect, want,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire);
}

/* Acquire: a parked record's waker, a queue switch made under the mutex. */
static inline uintptr_t slot_load(zyntax_notify *n) {
  return atomic_load_explicit(&n->slot, memory_order_acquire);
}

int zyntax_notify_create(zyntax_notify **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zyntax_notify *n = *out = malloc(sizeof *n);
  if (n == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  atomic_init(&n->slot, SLOT_EMPTY);
  zx_mutex_init(&n->lock);
  zx_waitq_init(&n->q, 0, 1);
  n->refs = 1;
  return 0;
}

static void notify_unref(zyntax_notify *n) {
  zx_lock(&n->lock);
  int last = --n->refs == 0;
  zx_unlock(&n->lock);
  if (!last) return;
  free(n);
}

/* The notifier's side of the hand-off to a record it claimed: wake, then
 * let go (release: the waiter's acquire of `granted` orders its later use
 * of the waker after this wake). */
static inline void grant_claimed(zyntax_notified *w) {
  zyntax_waker_wake_by_ref(&w->wait.waker);
  atomic_store_explicit(&w->wait.granted, 1, memory_order_release);
}

/* The queue mode's notify, under the mutex. */
static __attribute__((noinline)) void notify_locked(zyntax_notify *n, int all) {
  ZX_WAKES_EMPTY(wakes); /* grants wake under the mutex: nothing collected */
  zx_lock(&n->lock);
  if (all)
    zx_waitq_release_all(&n->q, &wakes);
  else
    zx_waitq_release(&n->q, 1, &wakes);
  zx_unlock(&n->lock);
  zx_wakes_run(&wakes);
}

static inline __attribute__((always_inline)) void notify_release(zyntax_notify *n, int all,
                                                                 const char *func) {
  if (__builtin_expect(n == NULL, 0)) {
    zx_fail_code(func, ZYNTAX_EINVAL);
    return;
  }
  for (;;) {
    uintptr_t s = slot_load(n);
    if (s == SLOT_PERMIT) return; /* saturated */
    if (s == SLOT_QUEUE) {
      notify_locked(n, all);
      return;
    }
    if (s == SLOT_EMPTY) {
      if (all || slot_cas(n, SLOT_EMPTY, SLOT_PERMIT)) return;
    } else if (slot_cas(n, s, SLOT_EMPTY)) {
      grant_claimed((zyntax_notified *)s);
      return;
    }
  }
}

void zyntax_notify_one(zyntax_notify *n) { notify_release(n, 0, __func__); }

void zyntax_notify_all(zyntax_notify *n) { notify_release(n, 1, __func__); }

void zyntax_notify_drop(zyntax_notify *n) {
  if (n != NULL) notify_unref(n);
}

int zyntax_notified_create(zyntax_notify *n, zyntax_notified **out) {
  if (out == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  *out = NULL;
  if (n == NULL) return zx_fail_code(__func__, ZYNTAX_EINVAL);
  zyntax_notified *wt = calloc(1, sizeof *wt);
  if (wt == NULL) return zx_fail_code(__func__, ZYNTAX_ENOMEM);
  wt->n = n;
  zx_lock(&n->lock);
  n->refs++;
  zx_unlock(&n->lock);
  *out = wt;
  return 0;
}

/* Bad arguments: READY (never awaited forever) with ZYNTAX_EINVAL. Out of
 * line, so the poll's own path saves no registers for it. */
static __attribute__((noinline, cold)) zyntax_poll notified_bad(int *result) {
  int bad = zx_fail_code("zyntax_notified_poll", ZYNTAX_EINVAL);
  if (result != NULL) *result = bad;
  return ZYNTAX_READY;
}

/* A notifier claimed the record: its `granted` store follows its wake
 * within a few instructions. Acquire: after it, the notifier is done
 * with the record. */
static void wait_granted(zyntax_notified *wt) {
  while (!atomic_load_explicit(&wt->wait.granted, memory_order_acquire)) sched_yield();
}

enum { WAIT_PENDING = 0, WAIT_READY = 1, WAIT_RETRY = 2 };

/* The parked record left the slot without this thread taking it back:
 * moved into the queue (queued, under the mutex) or claimed by a notifier
 * (then its grant is on the way). */
static __attribute__((noinline)) int notified_unparked(zyntax_notified *wt,
                                                       const zyntax_waker *waker) {
  zyntax_notify *n = wt->n;
  wt->in_slot = 0;
  zx_lock(&n->lock);
  if (wt->wait.queued) {
    int got = zx_waitq_acquire(&n->q, &wt->wait, waker);
    zx_unlock(&n->lock);
    return got == 1 ? WAIT_READY : WAIT_PENDING;
  }
  zx_unlock(&n->lock);
  wait_granted(wt);
  /* Taken: relaxed, as in zx_waiter_take_grant - nobody else writes it
   * while it is set (the notifier let go with its store). */
  atomic_store_explicit(&wt->wait.granted, 0, memory_order_relaxed);
  return WAIT_READY;
}

/* Another record is parked, or the notify is in queue mode: under the
 * mutex, switch to (or use) the queue. WAIT_RETRY when the slot changed
 * meanwhile to a state the lock-free path handles. */
static __attribute__((noinline)) int notified_locked(zyntax_notified *wt,
                                                     const zyntax_waker *waker) {
  zyntax_notify *n = wt->n;
  zx_lock(&n->lock);
  uintptr_t s = slot_load(n);
  if (s == SLOT_EMPTY || s == SLOT_PERMIT) {
    zx_unlock(&n->lock);
    return WAIT_RETRY;
  }
  if (s != SLOT_QUEUE) {
    /* Take the parked record into the queue, at its head (it waited
     * first); its waker was published by its park (the CAS's acquire). */
    if (!slot_cas(n, s, SLOT_QUEUE)) {
      zx_unlock(&n->lock);
      return WAIT_RETRY;
    }
    zx_waitq_push(&n->q, &((zyntax_notified *)s)->wait);
  }
  int got = zx_waitq_acquire(&n->q, &wt->wait, waker);
  zx_unlock(&n->lock);
  return got == 1 ? WAIT_READY : WAIT_PENDING;
}

/* One wait, no grant seen yet: WAIT_READY or WAIT_PENDING. Out of line:
 * the poll's two common cases (below) need no loop and no saved register. */
static __attribute__((noinline)) int notified_wait(zyntax_notified *wt,
                                                   const zyntax_waker *waker) {
  zyntax_notify *n = wt->n;
  uintptr_t me = (uintptr_t)wt;
  for (;;) {
    uintptr_t s = slot_load(n);
    int r = WAIT_RETRY;
    if (wt->in_slot) {
      if (s != me) return notified_unparked(wt, waker);
      /* Parked already: the same task polled again, nothing to do. */
      if (zyntax_waker_will_wake(&wt->wait.waker, waker)) return WAIT_PENDING;
      /* Another task: take the record back before changing its waker. */
      if (slot_cas(n, me, SLOT_EMPTY)) wt->in_slot = 0;
    } else if (s == SLOT_EMPTY) {
      zyntax_waker_store(&wt->wait.waker, waker);
      if (slot_cas(n, SLOT_EMPTY, me)) {
        wt->in_slot = 1;
        return WAIT_PENDING;
      }
    } else if (s == SLOT_PERMIT) {
      if (slot_cas(n, SLOT_PERMIT, SLOT_EMPTY)) return WAIT_READY;
    } else {
      r = notified_locked(wt, waker);
    }
    if (r != WAIT_RETRY) return r;
  }
}

zyntax_poll zyntax_notified_poll(zyntax_notified *wt, const zyntax_waker *waker,
                                 int *result) {
  if (__builtin_expect(wt == NULL || waker == NULL || result == NULL, 0))
    return notified_bad(result);
  /* A grant (from the slot or the queue) is taken without the lock. */
  if (zx_waiter_take_grant(&wt->wait)) {
    wt->in_slot = 0;
  } else {
    /* The common wait: nobody parked, the record's kept waker already the
     * task's - park (notified_wait's EMPTY case without its loop). */
    if (!wt->in_slot && wt->wait.waker.data == waker->data &&
        wt->wait.waker.vtable == waker->vtable && waker->vtable != NULL &&
        slot_cas(wt->n, SLOT_EMPTY, (uintptr_t)wt)) {
      wt->in_slot = 1;
      return ZYNTAX_PENDING;
    }
    if (notified_wait(wt, waker) == WAIT_PENDING) return ZYNTAX_PENDING;
  }
  *result = 0;
  return ZYNTAX_READY;
}

void zyntax_notified_drop(zyntax_notified *wt) {
  if (wt == NULL) return;
  zyntax_notify *n = wt->n;
  /* Take the record out of the slot, or learn where it went. */
  if (wt->in_slot && !slot_cas(n, (uintptr_t)wt, SLOT_EMPTY)) {
    zx_lock(&n->lock);
    int queued = wt->wait.queued;
    zx_unlock(&n->lock);
    if (!queued) wait_granted(wt); /* claimed: the notifier lets go first */
  }
  zx_wakes wakes = ZX_WAKES_INIT;
  zx_lock(&n->lock);
  if (slot_load(n) == SLOT_QUEUE) {
    /* Unqueues it, drops its waker, passes a grant on to the queue. */
    zx_waitq_cancel(&n->q, &wt->wait, &wakes);
    zx_unlock(&n->lock);
    zx_wakes_run(&wakes);
  } else {
    /* Slot mode: nobody else reaches the record any more. */
    zx_unlock(&n->lock);
    zyntax_waker_drop(&wt->wait.waker);
    if (zx_waiter_take_grant(&wt->wait)) notify_release(n, 0, __func__);
  }
  free(wt);
  notify_unref(n);
}
