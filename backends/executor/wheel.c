/* The hierarchical timing wheel (see wheel.h). */
#include <stddef.h>

#include "wheel.h"

#define LEVEL_BITS 6
#define SLOT_MASK (ZX_WHEEL_SLOTS - 1)
/* The farthest a node is filed ahead of `elapsed` (half the top level's
 * range, about a year, so it never lands in elapsed's own top slot);
 * beyond, it is re-filed when that slot comes up. */
#define MAX_AHEAD ((uint64_t)32 << (LEVEL_BITS * (ZX_WHEEL_LEVELS - 1)))

void zx_wheel_init(zx_wheel *w, uint64_t now_tick) {
  *w = (zx_wheel){.elapsed = now_tick, .armed = ZX_WHEEL_NONE};
}

/* The level whose slots tell `elapsed` and `when` apart. */
static unsigned level_for(uint64_t elapsed, uint64_t when) {
  uint64_t masked = (elapsed ^ when) | SLOT_MASK;
  unsigned significant = 63u - (unsigned)__builtin_clzll(masked);
  unsigned level = significant / LEVEL_BITS;
  return level < ZX_WHEEL_LEVELS ? level : ZX_WHEEL_LEVELS - 1;
}

void zx_wheel_insert(zx_wheel *w, zx_wheel_node *n, uint64_t when) {
  n->when = when;
  uint64_t filed = when - w->elapsed > MAX_AHEAD ? w->elapsed + MAX_AHEAD : when;
  unsigned level = level_for(w->elapsed, filed);
  unsigned slot = (unsigned)(filed >> (level * LEVEL_BITS)) & SLOT_MASK;
  zx_wheel_node **head = &w->slots[level][slot][w->lane++ % ZX_WHEEL_LANES];
  n->next = *head;
  if (*head) (*head)->pprev = &n->next;
  n->pprev = head;
  *head = n;
  w->occupied[level] |= (uint64_t)1 << slot;
  w->count++;
}

/* `link` is one of the wheel's lane heads: the index of its slot
 * (level * ZX_WHEEL_SLOTS + slot), else -1. Compared as integers: `link`
 * may point into a node instead. */
static long slot_index(const zx_wheel *w, zx_wheel_node *const *link) {
  uintptr_t first = (uintptr_t)&w->slots[0][0][0], at = (uintptr_t)link;
  if (at < first || at >= first + sizeof w->slots) return -1;
  return (long)((at - first) / sizeof w->slots[0][0]);
}

static int slot_empty(zx_wheel_node *const *lanes) {
  for (unsigned k = 0; k < ZX_WHEEL_LANES; k++)
    if (lanes[k] != NULL) return 0;
  return 1;
}

/* Unlinks `n` if it is among the nodes of the slot being fired (the
 * heads' links are stale: the lanes are walked). Nonzero when it was. The
 * next node's link is made right: should the turn run out of budget, the
 * rest of the slot stays linked and may be removed the usual way. */
static int unlink_firing(zx_wheel *w, zx_wheel_node *n) {
  for (unsigned k = 0; k < ZX_WHEEL_LANES; k++)
    for (zx_wheel_node **link = &w->due[k]; *link != NULL; link = &(*link)->next)
      if (*link == n) {
        *link = n->next;
        if (n->next) n->next->pprev = link;
        return 1;
      }
  return 0;
}

void zx_wheel_remove(zx_wheel *w, zx_wheel_node *n) {
  if (!w->firing || !unlink_firing(w, n)) {
    *n->pprev = n->next;
    if (n->next) {
      n->next->pprev = n->pprev;
    } else { /* the lane's last node: its slot may be empty now */
      long i = slot_index(w, n->pprev);
      if (i >= 0 && slot_empty(w->slots[i / ZX_WHEEL_SLOTS][i % ZX_WHEEL_SLOTS]))
        w->occupied[i / ZX_WHEEL_SLOTS] &= ~((uint64_t)1 << (i % ZX_WHEEL_SLOTS));
    }
  }
  n->next = NULL;
  n->pprev = NULL;
  w->count--;
}

/* The next occupied slot of `level` at or after elapsed's, as the tick its
 * span starts at; ZX_WHEEL_NONE when the level is empty. */
static uint64_t level_next(const zx_wheel *w, unsigned level, unsigned *slot_out) {
  uint64_t occupied = w->occupied[level];
  if (occupied == 0) return ZX_WHEEL_NONE;
  unsigned shift = level * LEVEL_BITS;
  uint64_t slot_range = (uint64_t)1 << shift;
  uint64_t level_range = slot_range << LEVEL_BITS;
  unsigned now_slot = (unsigned)(w->elapsed >> shift) & SLOT_MASK;
  uint64_t rotated = now_slot ? (occupied >> now_slot) | (occupied << (64 - now_slot))
                              : occupied;
  unsigned slot = (now_slot + (unsigned)__builtin_ctzll(rotated)) & SLOT_MASK;
  uint64_t deadline = (w->elapsed & ~(level_range - 1)) + slot * slot_range;
  if (deadline + slot_range <= w->elapsed) deadline += level_range; /* wrapped */
  *slot_out = slot;
  return deadline;
}

/* The first level with a node gives the next expiry: a node is filed at
 * the lowest level that still tells it apart from `elapsed`, so every node
 * of a higher level is due later than every node of a lower one. */
static uint64_t next_expiry(const zx_wheel *w, unsigned *level, unsigned *slot) {
  for (unsigned l = 0; l < ZX_WHEEL_LEVELS; l++) {
    uint64_t d = level_next(w, l, slot);
    if (d != ZX_WHEEL_NONE) {
      *level = l;
      return d;
    }
  }
  return ZX_WHEEL_NONE;
}

uint64_t zx_wheel_next(const zx_wheel *w) {
  unsigned level = 0, slot = 0;
  if (w->count == 0) return ZX_WHEEL_NONE;
  if (!slot_empty(w->due)) return w->elapsed; /* reached: the rest is due */
  return next_expiry(w, &level, &slot);
}

/* Fires or files one level down the nodes of `due`, one node of each
 * lane in turn, until `*budget` nodes were fired. Only a node being
 * handled is written: the next one of its lane is prefetched and stays
 * untouched until its turn, so the locked instructions of a wake never
 * wait for it (the heads' links are stale meanwhile: see unlink_firing;
 * they are made right before returning). Returns nonzero when nodes are
 * left. */
static int expire_due(zx_wheel *w, uint64_t now_tick, unsigned *budget,
                      void (*fire)(zx_wheel_node *n, void *arg), void *arg) {
  zx_wheel_node **lanes = w->due;
  int left = 0;
  w->firing = 1;
  for (int more = 1; more && !left;) {
    more = 0;
    for (unsigned k = 0; k < ZX_WHEEL_LANES; k++) {
      zx_wheel_node *n = lanes[k];
      if (n == NULL) continue;
      more = 1;
      lanes[k] = n->next;
      if (n->next) __builtin_prefetch(n->next, 1);
      n->next = NULL;
      n->pprev = NULL;
      w->count--;
      if (n->when > now_tick) {
        zx_wheel_insert(w, n, n->when); /* down a level */
      } else {
        fire(n, arg);
        if (--*budget == 0) {
          left = !slot_empty(lanes);
          break;
        }
      }
    }
  }
  w->firing = 0;
  for (unsigned k = 0; left && k < ZX_WHEEL_LANES; k++)
    if (lanes[k]) lanes[k]->pprev = &lanes[k];
  return left;
}

/* A slot's lanes move to `due`; its heads' links are fixed by expire_due
 * when it leaves any. */
static void take_slot(zx_wheel *w, unsigned level, unsigned slot) {
  for (unsigned k = 0; k < ZX_WHEEL_LANES; k++) {
    w->due[k] = w->slots[level][slot][k];
    w->slots[level][slot][k] = NULL;
  }
  w->occupied[level] &= ~((uint64_t)1 << slot);
}

void zx_wheel_advance(zx_wheel *w, uint64_t now_tick,
                      void (*fire)(zx_wheel_node *n, void *arg), void *arg) {
  unsigned level = 0, slot = 0, budget = ZX_WHEEL_FIRE_BUDGET;
  uint64_t deadline;
  /* The rest of a slot a turn left: due before anything still filed, and
   * `elapsed` stayed at that slot's start, which its nodes are filed
   * down from. */
  if (!slot_empty(w->due) && (expire_due(w, now_tick, &budget, fire, arg) || budget == 0))
    return;
  while (w->count && (deadline = next_expiry(w, &level, &slot)) <= now_tick) {
    take_slot(w, level, slot);
    if (deadline > w->elapsed) w->elapsed = deadline;
    if (expire_due(w, now_tick, &budget, fire, arg) || budget == 0) return;
  }
  if (now_tick > w->elapsed) w->elapsed = now_tick;
}

static void clear_lanes(zx_wheel_node **lanes) {
  for (unsigned k = 0; k < ZX_WHEEL_LANES; k++) {
    for (zx_wheel_node *n = lanes[k], *next; n != NULL; n = next) {
      next = n->next;
      n->next = NULL;
      n->pprev = NULL;
    }
    lanes[k] = NULL;
  }
}

void zx_wheel_clear(zx_wheel *w) {
  for (unsigned l = 0; l < ZX_WHEEL_LEVELS; l++)
    for (unsigned s = 0; s < ZX_WHEEL_SLOTS; s++) clear_lanes(w->slots[l][s]);
  clear_lanes(w->due);
  for (unsigned l = 0; l < ZX_WHEEL_LEVELS; l++) w->occupied[l] = 0;
  w->count = 0;
}

uint64_t zx_wheel_next_exact(const zx_wheel *w, unsigned scan) {
  unsigned level = 0, slot = 0;
  if (w->count == 0) return ZX_WHEEL_NONE;
  if (!slot_empty(w->due)) return w->elapsed;
  uint64_t start = next_expiry(w, &level, &slot);
  uint64_t best = ZX_WHEEL_NONE;
  int all = 1; /* every node of the slot was looked at */
  for (unsigned k = 0, i = 0; k < ZX_WHEEL_LANES; k++) {
    const zx_wheel_node *n = w->slots[level][slot][k];
    for (; n != NULL && i < scan; n = n->next, i++)
      if (n->when < best) best = n->when;
    all &= n == NULL;
  }
  /* Every node of a later slot or level is due after every node of this
   * one, so the slot's earliest is the wheel's. */
  return !all || best < start ? start : best;
}
