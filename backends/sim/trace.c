/* The trace: every poll, as (task id, poll result, virtual time since the
 * runtime was created), folded into an FNV-1a 64 hash. Two runs of a
 * deterministic program with one seed give the same hash; a different
 * hash is non-determinism the simulation does not control (real time,
 * rand(), threads of the program's own, real I/O timing).
 *
 * Task ids are spawn numbers (1, 2, ...; block_on_future's cell gets one
 * at its first poll): record addresses differ between runs. The map from
 * address to id is an open-addressing table; a record reused by a new
 * spawn gets the new id, so entries are never removed. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static void fnv(uint64_t *h, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    *h ^= (v >> (8 * i)) & 0xffu;
    *h *= FNV_PRIME;
  }
}

int sim_trace_init(sim_trace *t) {
  memset(t, 0, sizeof *t);
  t->hash = FNV_OFFSET;
  t->next_id = 1;
  return pthread_mutex_init(&t->lock, NULL) == 0 ? 0 : ZYNTAX_ENOMEM;
}

void sim_trace_free(sim_trace *t) {
  free(t->keys);
  free(t->ids);
  pthread_mutex_destroy(&t->lock);
}

static size_t slot_of(const sim_trace *t, uintptr_t key) {
  uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ull;
  size_t i = (size_t)(h >> 20) & (t->cap - 1);
  while (t->keys[i] != 0 && t->keys[i] != key) i = (i + 1) & (t->cap - 1);
  return i;
}

/* Keeps the table at most half full. 0 or ZYNTAX_ENOMEM. Lock held. */
static int grow(sim_trace *t) {
  if (t->cap != 0 && 2 * (t->used + 1) <= t->cap) return 0;
  sim_trace old = *t;
  t->cap = old.cap ? 2 * old.cap : 64;
  t->keys = calloc(t->cap, sizeof *t->keys);
  t->ids = calloc(t->cap, sizeof *t->ids);
  if (t->keys == NULL || t->ids == NULL) {
    free(t->keys);
    free(t->ids);
    t->keys = old.keys, t->ids = old.ids, t->cap = old.cap;
    return ZYNTAX_ENOMEM;
  }
  for (size_t i = 0; i < old.cap; i++) {
    if (old.keys[i] == 0) continue;
    size_t j = slot_of(t, old.keys[i]);
    t->keys[j] = old.keys[i];
    t->ids[j] = old.ids[i];
  }
  free(old.keys);
  free(old.ids);
  return 0;
}

/* The id of `key`; a new one when `fresh` or unknown. Lock held. */
static uint64_t id_of(sim_trace *t, uintptr_t key, int fresh) {
  if (grow(t) != 0) return 0; /* out of memory: the trace still hashes */
  size_t i = slot_of(t, key);
  if (t->keys[i] == 0) {
    t->keys[i] = key;
    t->used++;
    fresh = 1;
  }
  if (fresh) t->ids[i] = t->next_id++;
  return t->ids[i];
}

int sim_trace_reserve(sim_trace *t) {
  pthread_mutex_lock(&t->lock);
  int rc = grow(t);
  pthread_mutex_unlock(&t->lock);
  return rc;
}

void sim_trace_spawned(sim_trace *t, const void *task) {
  pthread_mutex_lock(&t->lock);
  (void)id_of(t, (uintptr_t)task, 1);
  pthread_mutex_unlock(&t->lock);
}

void sim_trace_polled(sim_trace *t, const void *task, int r, uint64_t vt) {
  pthread_mutex_lock(&t->lock);
  uint64_t id = id_of(t, (uintptr_t)task, 0);
  pthread_mutex_unlock(&t->lock);
  uint64_t h = t->hash; /* only the driving thread writes it */
  fnv(&h, id);
  fnv(&h, (uint64_t)(uint32_t)r);
  fnv(&h, vt);
  /* Relaxed: zyntax_runtime_stats may read it from any thread (sim_stats);
   * it needs the value, not an order with anything else. */
  __atomic_store_n(&t->hash, h, __ATOMIC_RELAXED);
  t->polls++;
}
