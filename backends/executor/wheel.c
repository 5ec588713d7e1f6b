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
  zx_wheel_node **head = &w->slots[level][slot];
  n->level = (uint8_t)level;
  n->slot = (uint8_t)slot;
  n->prev = NULL;
  n->next = *head;
  if (*head) (*head)->prev = n;
  *head = n;
  n->linked = 1;
  w->occupied[level] |= (uint64_t)1 << slot;
  w->count++;
}

void zx_wheel_remove(zx_wheel *w, zx_wheel_node *n) {
  zx_wheel_node **head = &w->slots[n->level][n->slot];
  if (n->prev)
    n->prev->next = n->next;
  else
    *head = n->next;
  if (n->next) n->next->prev = n->prev;
  if (*head == NULL) w->occupied[n->level] &= ~((uint64_t)1 << n->slot);
  n->prev = n->next = NULL;
  n->linked = 0;
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
  return w->count ? next_expiry(w, &level, &slot) : ZX_WHEEL_NONE;
}

void zx_wheel_advance(zx_wheel *w, uint64_t now_tick,
                      void (*fire)(zx_wheel_node *n, void *arg), void *arg) {
  unsigned level = 0, slot = 0;
  uint64_t deadline;
  while (w->count && (deadline = next_expiry(w, &level, &slot)) <= now_tick) {
    zx_wheel_node *list = w->slots[level][slot];
    w->slots[level][slot] = NULL;
    w->occupied[level] &= ~((uint64_t)1 << slot);
    if (deadline > w->elapsed) w->elapsed = deadline;
    while (list != NULL) {
      zx_wheel_node *n = list;
      list = n->next;
      if (list) list->prev = NULL;
      n->prev = n->next = NULL;
      n->linked = 0;
      w->count--;
      if (n->when <= now_tick)
        fire(n, arg);
      else
        zx_wheel_insert(w, n, n->when); /* down a level */
    }
  }
  if (now_tick > w->elapsed) w->elapsed = now_tick;
}

void zx_wheel_clear(zx_wheel *w) {
  for (unsigned l = 0; l < ZX_WHEEL_LEVELS; l++)
    for (unsigned s = 0; s < ZX_WHEEL_SLOTS; s++) {
      for (zx_wheel_node *n = w->slots[l][s]; n != NULL; n = n->next) n->linked = 0;
      w->slots[l][s] = NULL;
    }
  for (unsigned l = 0; l < ZX_WHEEL_LEVELS; l++) w->occupied[l] = 0;
  w->count = 0;
}

uint64_t zx_wheel_next_exact(const zx_wheel *w, unsigned scan) {
  unsigned level = 0, slot = 0;
  if (w->count == 0) return ZX_WHEEL_NONE;
  uint64_t start = next_expiry(w, &level, &slot);
  uint64_t best = ZX_WHEEL_NONE;
  const zx_wheel_node *n = w->slots[level][slot];
  for (unsigned i = 0; n != NULL && i < scan; n = n->next, i++)
    if (n->when < best) best = n->when;
  /* Every node of a later slot or level is due after every node of this
   * one, so the slot's earliest is the wheel's. */
  return n != NULL || best < start ? start : best;
}
