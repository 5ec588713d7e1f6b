#include "waker_slot.h"

/* Acquire / release: the slot's two words written under the lock are seen
 * by the next holder. */
static void lock(zx_waker_slot *slot) {
  while (atomic_flag_test_and_set_explicit(&slot->lock, memory_order_acquire)) {
  }
}

static void unlock(zx_waker_slot *slot) {
  atomic_flag_clear_explicit(&slot->lock, memory_order_release);
}

void zx_waker_slot_store(zx_waker_slot *slot, const zyntax_waker *w) {
  zyntax_waker old = ZYNTAX_WAKER_EMPTY;
  lock(slot);
  if (slot->waker.vtable == NULL || !zyntax_waker_will_wake(&slot->waker, w)) {
    old = slot->waker;
    slot->waker = zyntax_waker_clone(w);
  }
  unlock(slot);
  zyntax_waker_drop(&old); /* outside the lock: it may free a task */
}

static zyntax_waker take(zx_waker_slot *slot) {
  lock(slot);
  zyntax_waker w = slot->waker;
  slot->waker = (zyntax_waker)ZYNTAX_WAKER_EMPTY;
  unlock(slot);
  return w;
}

void zx_waker_slot_wake(zx_waker_slot *slot) {
  zyntax_waker w = take(slot);
  zyntax_waker_wake(&w);
}

void zx_waker_slot_clear(zx_waker_slot *slot) {
  zyntax_waker w = take(slot);
  zyntax_waker_drop(&w);
}
