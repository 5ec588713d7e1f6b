/* The per-runtime arena (see arena.h): slabs split into blocks of one
 * class, a depot under a lock, and the driving thread's free lists. */
#include <stdlib.h>

#include "arena.h"
#include "zyntax/runtime.h"

/* The head of every slab (its first block(s)). A block's slab is found by
 * masking its address: slabs are aligned to their size. */
struct zx_slab {
  zx_slab *prev, *next; /* in partial[cls] or in the empty list */
  void *free;           /* freed blocks, linked through their first word */
  size_t bump;          /* blocks never handed out start here */
  unsigned used;        /* blocks out of this slab */
  uint8_t cls;
};

static size_t block_size(uint8_t cls) { return (size_t)ZX_ARENA_MIN_BLOCK << cls; }

static size_t first_block(uint8_t cls) {
  size_t b = block_size(cls);
  return (sizeof(zx_slab) + b - 1) / b * b;
}

static zx_slab *slab_of(void *p) {
  return (zx_slab *)((uintptr_t)p & ~(uintptr_t)(ZX_ARENA_SLAB - 1));
}

int zx_arena_init(zx_arena *a) {
  *a = (zx_arena){.nempty = 0};
  return pthread_mutex_init(&a->lock, NULL) == 0 ? 0 : ZYNTAX_ENOMEM;
}

/* ---- the depot (lock held) ---- */

static void list_add(zx_slab **head, zx_slab *s) {
  s->prev = NULL;
  s->next = *head;
  if (*head) (*head)->prev = s;
  *head = s;
}

static void list_remove(zx_slab **head, zx_slab *s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    *head = s->next;
  if (s->next) s->next->prev = s->prev;
}

/* A slab for class `cls`: a kept empty one, or a new one. */
static zx_slab *slab_new(zx_arena *a, uint8_t cls) {
  zx_slab *s = a->empty;
  if (s != NULL) {
    list_remove(&a->empty, s);
    a->nempty--;
  } else if ((s = aligned_alloc(ZX_ARENA_SLAB, ZX_ARENA_SLAB)) == NULL) {
    return NULL;
  }
  s->free = NULL;
  s->bump = first_block(cls);
  s->used = 0;
  s->cls = cls;
  list_add(&a->partial[cls], s);
  return s;
}

static void *depot_take(zx_arena *a, uint8_t cls) {
  zx_slab *s = a->partial[cls];
  if (s == NULL && (s = slab_new(a, cls)) == NULL) return NULL;
  void *p = s->free;
  if (p != NULL) {
    s->free = *(void **)p;
  } else {
    p = (char *)s + s->bump;
    s->bump += block_size(cls);
  }
  s->used++;
  if (s->free == NULL && s->bump + block_size(cls) > ZX_ARENA_SLAB) {
    list_remove(&a->partial[cls], s);
    list_add(&a->full[cls], s);
  }
  a->out++;
  a->out_cls[cls]++;
  return p;
}

/* A slab with no block out (lock held): kept for any class, or freed. */
static void retire(zx_arena *a, zx_slab *s) {
  list_remove(&a->partial[s->cls], s);
  if (a->nempty < ZX_ARENA_KEEP_SLABS) {
    list_add(&a->empty, s);
    a->nempty++;
  } else {
    free(s);
  }
}

static void depot_put(zx_arena *a, void *p) {
  zx_slab *s = slab_of(p);
  uint8_t cls = s->cls;
  int was_full = s->free == NULL && s->bump + block_size(cls) > ZX_ARENA_SLAB;
  *(void **)p = s->free;
  s->free = p;
  s->used--;
  a->out--;
  a->out_cls[cls]--;
  if (was_full) {
    list_remove(&a->full[cls], s);
    list_add(&a->partial[cls], s);
  }
  if (s->used == 0) retire(a, s);
}

/* Every block of class `cls` is on the local list: drop the list and let
 * every slab of the class hand its blocks out from the start again. */
static void reset_class(zx_arena *a, uint8_t cls) {
  zx_free_list *l = &a->local[cls];
  a->out -= l->n;
  a->out_cls[cls] = 0;
  *l = (zx_free_list){NULL, 0, 0};
  while (a->full[cls] != NULL) {
    zx_slab *s = a->full[cls];
    list_remove(&a->full[cls], s);
    list_add(&a->partial[cls], s);
  }
  for (zx_slab *s = a->partial[cls]; s != NULL; s = s->next) {
    s->free = NULL;
    s->bump = first_block(cls);
    s->used = 0;
  }
  a->reset = 1;
}

/* zx_arena_local_give's check, under the lock: resets the class when
 * every block of it is on the local list, and corrects the hint. */
void zx_arena_reset_check(zx_arena *a, uint8_t cls) {
  zx_free_list *l = &a->local[cls];
  pthread_mutex_lock(&a->lock);
  size_t in_use = a->out_cls[cls] - l->n;
  if (in_use == 0) reset_class(a, cls);
  l->live = (long)in_use;
  pthread_mutex_unlock(&a->lock);
}

/* ---- blocks ---- */

static void *big_alloc(zx_arena *a, size_t size, size_t align) {
  if (align < sizeof(void *)) align = sizeof(void *);
  size = (size + align - 1) / align * align; /* aligned_alloc's rule */
  void *p = aligned_alloc(align, size);
  if (p == NULL) return NULL;
  pthread_mutex_lock(&a->lock);
  a->out++;
  pthread_mutex_unlock(&a->lock);
  return p;
}

void *zx_arena_alloc(zx_arena *a, uint8_t cls, size_t size, size_t align, int local) {
  if (cls == ZX_ARENA_BIG) return big_alloc(a, size, align);
  zx_free_list *l = &a->local[cls];
  if (local && l->n > 0) return zx_arena_local_take(l);
  if (local) l->live++;
  pthread_mutex_lock(&a->lock);
  void *p = depot_take(a, cls);
  /* Refill a batch, so the next allocations take no lock. */
  for (unsigned i = 1; local && p != NULL && i < ZX_ARENA_BATCH; i++) {
    void *more = depot_take(a, cls);
    if (more == NULL) break;
    zx_arena_local_push(l, more);
  }
  pthread_mutex_unlock(&a->lock);
  if (p == NULL && local) l->live--;
  return p;
}

int zx_arena_free(zx_arena *a, void *p, uint8_t cls, int local) {
  if (local && cls != ZX_ARENA_BIG) {
    zx_arena_local_give(a, cls, p);
    return 0;
  }
  pthread_mutex_lock(&a->lock);
  if (cls == ZX_ARENA_BIG) {
    free(p);
    a->out--;
  } else {
    depot_put(a, p);
  }
  int last = a->closing && a->out == 0;
  pthread_mutex_unlock(&a->lock);
  return last;
}

/* Gives local blocks of `cls` back until `keep` are left (lock held). */
static void spill(zx_arena *a, uint8_t cls, size_t keep) {
  zx_free_list *l = &a->local[cls];
  while (l->n > keep) depot_put(a, zx_arena_local_pop(l));
}

/* Slabs a reset left without a block out go (lock held). */
static void retire_unused(zx_arena *a) {
  for (uint8_t c = 0; c < ZX_ARENA_CLASSES; c++)
    for (zx_slab *s = a->partial[c], *next; s != NULL; s = next) {
      next = s->next;
      if (s->used == 0) retire(a, s);
    }
  a->reset = 0;
}

void zx_arena_trim(zx_arena *a) {
  int over = 0;
  for (uint8_t c = 0; c < ZX_ARENA_CLASSES; c++)
    over |= a->local[c].n * block_size(c) > ZX_ARENA_KEEP_LOCAL;
  if (!over && !a->reset) return; /* read unlocked: only the driving thread resets */
  pthread_mutex_lock(&a->lock);
  for (uint8_t c = 0; c < ZX_ARENA_CLASSES; c++)
    spill(a, c, ZX_ARENA_KEEP_LOCAL / block_size(c));
  if (a->reset) retire_unused(a);
  pthread_mutex_unlock(&a->lock);
}

int zx_arena_close(zx_arena *a) {
  pthread_mutex_lock(&a->lock);
  for (uint8_t c = 0; c < ZX_ARENA_CLASSES; c++) spill(a, c, 0);
  if (a->reset) retire_unused(a);
  a->closing = 1;
  int last = a->out == 0;
  pthread_mutex_unlock(&a->lock);
  return last;
}

void zx_arena_destroy(zx_arena *a) {
  /* No block is out: every slab is on the empty list or already freed. */
  while (a->empty != NULL) {
    zx_slab *s = a->empty;
    a->empty = s->next;
    free(s);
  }
  pthread_mutex_destroy(&a->lock);
}
