/* The per-runtime arena: task records (with their in-place states), join
 * futures and sleep nodes come from slabs the runtime owns, so a steady
 * state spawns and sleeps without malloc and without touching fresh pages.
 *
 * Shape: six size classes (64 .. 2048 bytes) carved from 32 KiB slabs
 * (aligned_alloc, so fault injection sees them; at 64 KiB glibc would mmap
 * and munmap every slab, a TLB shootdown each). The driving thread keeps a
 * free list per class and takes and gives blocks back without a lock; it
 * refills an empty list with a batch from the depot (the slabs, under the
 * lock). Other threads (a spawn from outside the runtime, a record freed
 * by a waker dropped elsewhere) go through the lock one block at a time.
 * Anything larger than 2048 bytes (or aligned beyond its class) is a plain
 * aligned_alloc, accounted the same way.
 *
 * Memory bound: when the runtime goes idle (its loop is about to block with
 * no timer due within 10 ms), each class's local free list is trimmed to ZX_ARENA_KEEP_LOCAL bytes
 * (1 MiB); a slab whose blocks are then all free is kept for reuse by any
 * class while fewer than ZX_ARENA_KEEP_SLABS (2 MiB) are kept, else freed.
 * Sequential reuse: once every block of a class is free again and the
 * driving thread holds at least ZX_ARENA_RESET_LOCAL bytes of them on its
 * list (a burst of tasks or sleeps has ended), the class starts over: its
 * list is dropped and each of its slabs hands blocks out from its start
 * again. A free list left by a burst is in the order the blocks were
 * freed, scattered over the whole burst's memory; after the reset the next
 * burst walks its memory in address order (each allocation the next block
 * of a slab), so creating and first polling a million tasks streams
 * through memory instead of missing the cache on every block. Slabs a
 * reset left unused are given back by the next trim.
 *
 * Everything goes back when the runtime is destroyed and the last block is
 * freed (blocks may outlive destroy: a leaked waker keeps its task record,
 * a dropped-later sleep its node).
 *
 * Threads: zx_arena_alloc/free/trim with `local` nonzero only on the thread
 * driving the runtime (or destroying it); otherwise any thread. */
#ifndef ZYNTAX_EXECUTOR_ARENA_H
#define ZYNTAX_EXECUTOR_ARENA_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define ZX_ARENA_CLASSES 6
#define ZX_ARENA_MIN_BLOCK 64u
#define ZX_ARENA_MAX_BLOCK (ZX_ARENA_MIN_BLOCK << (ZX_ARENA_CLASSES - 1))
#define ZX_ARENA_SLAB ((size_t)32 * 1024)
#define ZX_ARENA_KEEP_SLABS 64 /* x 32 KiB */
#define ZX_ARENA_KEEP_LOCAL ((size_t)1 << 20)
#define ZX_ARENA_BATCH 32 /* blocks a local refill takes at once */
#define ZX_ARENA_RESET_LOCAL ((size_t)1 << 20)
#define ZX_ARENA_BIG 0xff /* the class of a block from aligned_alloc */

typedef struct zx_slab zx_slab;

typedef struct zx_free_list {
  void *head; /* linked through the blocks' first word */
  size_t n;
  /* Blocks the driving thread took and has not given back: a hint (blocks
   * crossing threads skew it) of when the class may be all free, which
   * the reset then checks under the lock. */
  long live;
} zx_free_list;

typedef struct zx_arena {
  zx_free_list local[ZX_ARENA_CLASSES]; /* the driving thread's */
  pthread_mutex_t lock;              /* guards everything below */
  zx_slab *partial[ZX_ARENA_CLASSES]; /* slabs with a free block */
  zx_slab *full[ZX_ARENA_CLASSES];    /* slabs without one */
  zx_slab *empty;                    /* wholly free slabs kept for reuse */
  size_t nempty;
  size_t out;   /* blocks out of the depot: in use or on a local list */
  size_t out_cls[ZX_ARENA_CLASSES]; /* the same per class */
  int reset;    /* a class was reset: partial lists may hold unused slabs */
  int closing;  /* the owner let go: the last free frees the arena */
} zx_arena;

/* 0 or ZYNTAX_ENOMEM. */
int zx_arena_init(zx_arena *a);

/* The class for `size` bytes aligned to `align` (a power of two), or
 * ZX_ARENA_BIG. Inline (a bit scan): every spawn asks. */
static inline uint8_t zx_arena_class(size_t size, size_t align) {
  if (align > size) size = align; /* a block is aligned to its size */
  if (size <= ZX_ARENA_MIN_BLOCK) return 0;
  if (size > ZX_ARENA_MAX_BLOCK) return ZX_ARENA_BIG;
  /* ceil(log2(size)) - log2(ZX_ARENA_MIN_BLOCK) */
  return (uint8_t)(64 - __builtin_clzll((unsigned long long)(size - 1)) -
                   __builtin_ctz(ZX_ARENA_MIN_BLOCK));
}

/* The driving thread's free lists (`local` nonzero below), inline for the
 * executor's fast paths: push, and pop from a list that is not empty. */
static inline void zx_arena_local_push(zx_free_list *l, void *p) {
  *(void **)p = l->head;
  l->head = p;
  l->n++;
}

static inline void *zx_arena_local_pop(zx_free_list *l) {
  void *p = l->head;
  l->head = *(void **)p;
  l->n--;
  /* The next block is reused soon and, with many blocks on the list, is
   * rarely in the cache: start loading it now. */
  if (l->head) __builtin_prefetch(l->head, 1);
  return p;
}

/* The driving thread's allocation from a list that is not empty, and its
 * free: the list operations plus the hint of blocks out (see `live`).
 * After a free, with ZX_ARENA_RESET_LOCAL bytes or more on the list, when
 * the hint says the class may be all free (or every ZX_ARENA_BATCH frees,
 * to correct it), zx_arena_reset_check() looks under the lock. */
void zx_arena_reset_check(zx_arena *a, uint8_t cls);

static inline void *zx_arena_local_take(zx_free_list *l) {
  l->live++;
  return zx_arena_local_pop(l);
}

static inline void zx_arena_local_give(zx_arena *a, uint8_t cls, void *p) {
  zx_free_list *l = &a->local[cls];
  zx_arena_local_push(l, p);
  l->live--;
  if (__builtin_expect(l->n >= (ZX_ARENA_RESET_LOCAL / ZX_ARENA_MIN_BLOCK) >> cls, 0) &&
      (l->live <= 0 || l->n % ZX_ARENA_BATCH == 0))
    zx_arena_reset_check(a, cls);
}

/* A block of class `cls` (for ZX_ARENA_BIG: `size` bytes aligned to
 * `align`), or NULL when memory is exhausted. */
void *zx_arena_alloc(zx_arena *a, uint8_t cls, size_t size, size_t align, int local);

/* Gives a block back. Returns nonzero when the arena was closing and this
 * was its last block: the caller then calls zx_arena_destroy(). */
int zx_arena_free(zx_arena *a, void *p, uint8_t cls, int local);

/* The runtime is idle (driving thread): local lists above the bound go
 * back to the depot. */
void zx_arena_trim(zx_arena *a);

/* The owner lets go (after its last local use): the local lists go back and
 * from now on every free takes the lock. Nonzero when no block is out: the
 * caller calls zx_arena_destroy() now. */
int zx_arena_close(zx_arena *a);

/* Frees every slab (no block is out any more). */
void zx_arena_destroy(zx_arena *a);

#endif /* ZYNTAX_EXECUTOR_ARENA_H */
