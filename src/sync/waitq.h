/* The waiting core shared by the channel, the semaphore and the notify: a
 * FIFO of waiter records and a permit count, with permits handed directly
 * to the oldest waiter (no barging, no lost wake-up when a woken waiter is
 * cancelled). Every zx_waitq_* function runs under the owner's mutex;
 * wakers taken out of records are collected in a zx_wakes and woken after
 * the owner unlocks (zx_wakes_run). Not installed. */
#ifndef ZYNTAX_LOADER_WAITQ_H
#define ZYNTAX_LOADER_WAITQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "zyntax/future.h"

/* One waiting operation. Lives inside a handle (sender, acquire, notified):
 * no allocation per wait. */
typedef struct zx_waiter {
  struct zx_waiter *prev, *next;
  /* A clone of the waiting task's waker, taken at its first wait and kept
   * across waits while the same task waits (no reference count traffic
   * per wait); changed or dropped only under the owner's mutex, which is
   * why a grant wakes it by reference under that mutex (wake_head). */
  zyntax_waker waker;
  unsigned char queued;  /* linked into the queue (owner's mutex) */
  /* A permit was handed to it, not yet taken. Set last by the granting
   * thread, under the mutex, after the record left the queue; taken by
   * the waiter with or without the mutex (zx_waiter_take_grant). */
  _Atomic unsigned char granted;
} zx_waiter;

/* Takes a permit handed to `w`: nonzero when there was one. The waiter's
 * own thread, with or without the owner's mutex: nobody else writes
 * `granted` while it is set (the record is not queued then). Acquire:
 * pairs with the grant's release, so what the granter wrote is seen. */
static inline int zx_waiter_take_grant(zx_waiter *w) {
  if (!atomic_load_explicit(&w->granted, memory_order_acquire)) return 0;
  atomic_store_explicit(&w->granted, 0, memory_order_relaxed);
  return 1;
}

typedef struct zx_waitq {
  zx_waiter *head, *tail;
  size_t permits;     /* free permits; nonzero only while nobody waits */
  size_t max_permits; /* permits saturate here (1 for a notify) */
  int closed;
} zx_waitq;

#define ZX_WAKES_BATCH 16

/* Wakers to wake once the owner's mutex is released. */
typedef struct zx_wakes {
  zyntax_waker w[ZX_WAKES_BATCH];
  unsigned n;
} zx_wakes;

#define ZX_WAKES_INIT {{ZYNTAX_WAKER_EMPTY}, 0}

/* An empty batch without ZX_WAKES_INIT's zeroing of all ZX_WAKES_BATCH
 * slots (only w[0..n) is ever read): for hot paths. */
#define ZX_WAKES_EMPTY(name) \
  zx_wakes name;             \
  name.n = 0

void zx_waitq_init(zx_waitq *q, size_t permits, size_t max_permits);

/* Takes a permit for `me` (NULL: try only). Returns 1 (taken), 0 (none
 * free: `me` is queued with a clone of `waker`), -1 (closed). */
int zx_waitq_acquire(zx_waitq *q, zx_waiter *me, const zyntax_waker *waker);

/* Appends `w` (not queued; its waker already stored) to the queue: a
 * waiter that parked elsewhere first (the notify's slot) joins the queue
 * in its place. */
void zx_waitq_push(zx_waitq *q, zx_waiter *w);

/* Gives `n` permits: to waiters first (oldest first; each is woken by
 * reference right here, under the mutex, and keeps its waker), the rest to
 * the count (saturating at max_permits). */
void zx_waitq_release(zx_waitq *q, size_t n, zx_wakes *wakes);

/* Hands one permit to every waiter queued now (woken as by
 * zx_waitq_release), and none to the count. */
void zx_waitq_release_all(zx_waitq *q, zx_wakes *wakes);

/* Withdraws `me`: unqueues it, drops its waker, and passes on a permit it
 * was handed. */
void zx_waitq_cancel(zx_waitq *q, zx_waiter *me, zx_wakes *wakes);

/* Closes the queue: every waiter is woken and later acquires return -1. */
void zx_waitq_close(zx_waitq *q, zx_wakes *wakes);

/* Moves an owned waker into `wakes` (leaving `*w` empty). */
void zx_wakes_add(zx_wakes *wakes, zyntax_waker *w);

/* Wakes and consumes every collected waker. Call after unlocking. Inline
 * for the common empty batch (a grant wakes under the mutex). */
void zx_wakes_run_all(zx_wakes *wakes);
static inline void zx_wakes_run(zx_wakes *wakes) {
  if (wakes->n != 0) zx_wakes_run_all(wakes);
}

/* The mutex of every notify, semaphore and channel: one word (Drepper,
 * "Futexes Are Tricky", mutex 3: 0 free, 1 locked, 2 locked and maybe a
 * sleeper, whom the unlock then wakes). Taken with one compare-and-swap
 * and given back with one exchange; a contended lock sleeps in the kernel
 * (a futex), it never spins. While the process has one thread the word
 * is read and written without a locked instruction - glibc's own mutexes
 * do the same - since nobody can contend: __libc_single_threaded turns
 * false at the first pthread_create, before the new thread runs, and never
 * back. The word always holds the true state, so a lock taken before a
 * thread appeared is released correctly after (then with the exchange).
 * Each notify and wait takes it: a few instructions where pthread_mutex
 * spends about fifty checking its type, owner and elision. Acquire /
 * release on the word order what it guards. */
typedef struct zx_mutex {
  atomic_uint word;
} zx_mutex;

static inline void zx_mutex_init(zx_mutex *m) { atomic_init(&m->word, 0); }

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#include <sys/single_threaded.h>
static inline int zx_one_thread(void) { return __libc_single_threaded != 0; }
#else
static inline int zx_one_thread(void) { return 0; }
#endif

void zx_lock_slow(zx_mutex *m);   /* waitq.c: sleeps until it has the lock */
void zx_unlock_wake(zx_mutex *m); /* waitq.c: wakes one sleeper */

static inline void zx_lock(zx_mutex *m) {
  if (zx_one_thread() && atomic_load_explicit(&m->word, memory_order_relaxed) == 0) {
    atomic_store_explicit(&m->word, 1, memory_order_relaxed);
    return;
  }
  unsigned free_ = 0;
  if (!atomic_compare_exchange_strong_explicit(&m->word, &free_, 1, memory_order_acquire,
                                               memory_order_relaxed))
    zx_lock_slow(m);
}

static inline void zx_unlock(zx_mutex *m) {
  if (zx_one_thread()) { /* nobody sleeps on it: no other thread exists */
    atomic_store_explicit(&m->word, 0, memory_order_relaxed);
    return;
  }
  if (atomic_exchange_explicit(&m->word, 0, memory_order_release) == 2) zx_unlock_wake(m);
}

/* ---- parker.c: blocking a plain thread on the waker protocol ---- */

/* Polls `poll(ctx, waker)` with a waker that unparks the calling thread
 * until it returns ZYNTAX_READY. ZYNTAX_EREENTRANT on a thread that runs
 * poll functions, ZYNTAX_ENOMEM, else 0. */
int zx_park_until_ready(zyntax_poll (*poll)(void *ctx, const zyntax_waker *w),
                        void *ctx, const char *func);

#endif
