/* The executor's timers: a hierarchical timing wheel (after Tokio's
 * runtime/time/wheel) of 6 levels x 64 slots with 1 ms ticks - level L's
 * slot spans 64^L ms, so the wheel covers 64^6 ms (2.2 years; later
 * deadlines are filed at the top and re-filed as it turns). A sleep is a
 * node linked into one slot; filing, unlinking and finding the next
 * deadline are O(1) (a bit scan per level), and a node moves down at most
 * once per level before it fires.
 *
 * One backend timer per runtime is armed for the wheel's next deadline
 * (zx_loop_ops.timer_arm); after every loop turn the executor turns the
 * wheel to the current millisecond and wakes what is due. A node fires in
 * the first turn whose clock reads at least its tick, and a tick is its
 * deadline rounded up, so nothing fires early.
 *
 * A node is three words (next, the link pointing at it, its tick): a sleep
 * with its node fits one cache line, the smallest arena block. Unlinking
 * needs no level or slot: the link pointing at the node is enough, and a
 * slot's head is told from a node's `next` by its address.
 *
 * A slot is ZX_WHEEL_LANES lists (filed in turn), expired together one
 * node of each in turn: a slot of a thousand nodes scattered in memory is
 * a chain of cache misses, and walking eight chains at once keeps eight
 * misses in flight instead of one (the next node of a lane is prefetched
 * while the other lanes' nodes are fired).
 *
 * Threads: the driving thread only (and the destroying thread, once nobody
 * drives). */
#ifndef ZYNTAX_EXECUTOR_WHEEL_H
#define ZYNTAX_EXECUTOR_WHEEL_H

#include <stdint.h>

#define ZX_WHEEL_LEVELS 6
#define ZX_WHEEL_SLOTS 64
#define ZX_WHEEL_LANES 8
#define ZX_WHEEL_FIRE_BUDGET 128
#define ZX_WHEEL_NONE UINT64_MAX

typedef struct zx_wheel_node zx_wheel_node;

struct zx_wheel_node {
  zx_wheel_node *next;
  /* The link pointing at it: its slot's head or the previous node's
   * `next`; NULL while not linked. */
  zx_wheel_node **pprev;
  uint64_t when; /* the tick (CLOCK_MONOTONIC ms) it is due at */
};

/* Nonzero while `n` is filed in a wheel. */
static inline int zx_wheel_linked(const zx_wheel_node *n) { return n->pprev != NULL; }

typedef struct zx_wheel {
  /* Every tick before this one was processed, but for what `due` holds;
   * never past a tick the wheel was turned to (a clock reading). */
  uint64_t elapsed;
  uint64_t occupied[ZX_WHEEL_LEVELS];
  zx_wheel_node *slots[ZX_WHEEL_LEVELS][ZX_WHEEL_SLOTS][ZX_WHEEL_LANES];
  uint64_t count; /* nodes linked */
  uint64_t armed; /* the tick the backend timer is armed for, or NONE */
  unsigned lane;  /* the lane the next node is filed in */
  /* The slot being expired, taken out of the wheel: its lanes. A turn that
   * ran out of budget leaves the rest here, and the next turn finishes it
   * before it looks at any slot: every node still filed is due later
   * (filed back into its slot, the rest would wait behind the lower
   * levels' nodes, the ones due after it included). */
  zx_wheel_node *due[ZX_WHEEL_LANES];
  /* Nonzero while zx_wheel_advance fires from `due`: the heads' links
   * are not kept up to date then (see zx_wheel_remove). */
  int firing;
} zx_wheel;

void zx_wheel_init(zx_wheel *w, uint64_t now_tick);

/* Files `n` for tick `when` (> w->elapsed). */
void zx_wheel_insert(zx_wheel *w, zx_wheel_node *n, uint64_t when);

/* Unlinks a linked node. A node of the slot being fired (when `fire`
 * unlinks one) is looked for in its lanes: O(nodes left in the slot). */
void zx_wheel_remove(zx_wheel *w, zx_wheel_node *n);

/* The earliest tick any node may be due at, or ZX_WHEEL_NONE. */
uint64_t zx_wheel_next(const zx_wheel *w);

/* The earliest node's own tick, or ZX_WHEEL_NONE: exact when the first
 * occupied slot holds at most `scan` nodes (they are looked at), else
 * zx_wheel_next() - never later than the earliest node. zx_wheel_next()
 * alone may be a coarse slot's start, well before any node in it. */
uint64_t zx_wheel_next_exact(const zx_wheel *w, unsigned scan);

/* Turns the wheel towards `now_tick`: nodes due by then are unlinked and
 * passed to `fire` (which may insert or remove other nodes, those due in
 * the same turn included), slot by slot in tick order and in no
 * particular order within a slot, at most ZX_WHEEL_FIRE_BUDGET of them.
 * The rest stay (`due`) and zx_wheel_next() then returns a tick already
 * reached: the caller polls the tasks woken so far - while what the wakes
 * touched is still in the caches and the TLB - and turns the wheel again,
 * which fires the rest first (a thousand sleeps due in one tick,
 * scattered over memory, would otherwise each be missed twice: at the
 * wake, and at the poll a thousand wakes later).
 * `elapsed` never passes `now_tick`: it is moved to a slot's start only
 * when that start is <= now_tick, and to now_tick at most. */
void zx_wheel_advance(zx_wheel *w, uint64_t now_tick,
                      void (*fire)(zx_wheel_node *n, void *arg), void *arg);

/* Unlinks every node (shutdown). */
void zx_wheel_clear(zx_wheel *w);

#endif /* ZYNTAX_EXECUTOR_WHEEL_H */
