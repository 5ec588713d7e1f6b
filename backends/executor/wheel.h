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
 * Threads: the driving thread only (and the destroying thread, once nobody
 * drives). */
#ifndef ZYNTAX_EXECUTOR_WHEEL_H
#define ZYNTAX_EXECUTOR_WHEEL_H

#include <stdint.h>

#define ZX_WHEEL_LEVELS 6
#define ZX_WHEEL_SLOTS 64
#define ZX_WHEEL_NONE UINT64_MAX

typedef struct zx_wheel_node zx_wheel_node;

struct zx_wheel_node {
  zx_wheel_node *prev, *next;
  uint64_t when; /* the tick (CLOCK_MONOTONIC ms) it is due at */
  uint8_t level, slot;
  uint8_t linked;
};

typedef struct zx_wheel {
  uint64_t elapsed; /* every tick up to this one was processed */
  uint64_t occupied[ZX_WHEEL_LEVELS];
  zx_wheel_node *slots[ZX_WHEEL_LEVELS][ZX_WHEEL_SLOTS];
  uint64_t count; /* nodes linked */
  uint64_t armed; /* the tick the backend timer is armed for, or NONE */
} zx_wheel;

void zx_wheel_init(zx_wheel *w, uint64_t now_tick);

/* Files `n` for tick `when` (> w->elapsed). */
void zx_wheel_insert(zx_wheel *w, zx_wheel_node *n, uint64_t when);

/* Unlinks a linked node. */
void zx_wheel_remove(zx_wheel *w, zx_wheel_node *n);

/* The earliest tick any node may be due at, or ZX_WHEEL_NONE. */
uint64_t zx_wheel_next(const zx_wheel *w);

/* The earliest node's own tick, or ZX_WHEEL_NONE: exact when the first
 * occupied slot holds at most `scan` nodes (they are looked at), else
 * zx_wheel_next() - never later than the earliest node. zx_wheel_next()
 * alone may be a coarse slot's start, well before any node in it. */
uint64_t zx_wheel_next_exact(const zx_wheel *w, unsigned scan);

/* Turns the wheel to `now_tick`: every node due by then is unlinked and
 * passed to `fire` (which may insert or remove other nodes). */
void zx_wheel_advance(zx_wheel *w, uint64_t now_tick,
                      void (*fire)(zx_wheel_node *n, void *arg), void *arg);

/* Unlinks every node (shutdown). */
void zx_wheel_clear(zx_wheel *w);

#endif /* ZYNTAX_EXECUTOR_WHEEL_H */
