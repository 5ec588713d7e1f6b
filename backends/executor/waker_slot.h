/* A waker slot written by the polling thread and taken by whichever thread
 * completes the work (a join, a pool job). A spin lock guards only the swap
 * of two words; wakers are dropped and woken outside it. */
#ifndef ZYNTAX_COMMON_WAKER_SLOT_H
#define ZYNTAX_COMMON_WAKER_SLOT_H

#include <stdatomic.h>

#include "zyntax/future.h"

typedef struct zx_waker_slot {
  atomic_flag lock;
  zyntax_waker waker;
} zx_waker_slot;

/* Inline: every task record has one. Relaxed: a new slot is published
 * with the object that holds it. */
static inline void zx_waker_slot_init(zx_waker_slot *slot) {
  atomic_flag_clear_explicit(&slot->lock, memory_order_relaxed);
  slot->waker = (zyntax_waker)ZYNTAX_WAKER_EMPTY;
}

/* Keeps a clone of `w` (reusing the stored one when it wakes the same
 * task). */
void zx_waker_slot_store(zx_waker_slot *slot, const zyntax_waker *w);

/* Empties the slot and wakes what was in it. */
void zx_waker_slot_wake(zx_waker_slot *slot);

/* Empties the slot and drops what was in it. */
void zx_waker_slot_clear(zx_waker_slot *slot);

#endif /* ZYNTAX_COMMON_WAKER_SLOT_H */
