/* zyntax-bench, the zyntax side: every workload written once as poll
 * functions on the public API, run on whichever backend ZYNTAX_RUNTIME names.
 *
 * Completion is counted with a latch: the root task arms it with the number
 * of tasks it waits for and a clone of its waker; each task counts down as
 * the very last thing it does with shared memory. The task that brings the
 * count to zero consumes the waker (zyntax_waker_wake), so the root never
 * drops a waker another thread may still be using, and the repetition's
 * memory may be freed as soon as the root completed. */
#ifndef ZYNTAX_BENCH_ZY_H
#define ZYNTAX_BENCH_ZY_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include <zyntax/runtime.h>

#include "bench_common.h"

/* A cache line of its own (the alignment of its first member): tasks on
 * other threads count down while the latch's owner reads the fields beside
 * it. Shared with fd_fanout's socket table, each count-down took the line
 * from the driver, whose send loop reloaded the table after every send. */
typedef struct zy_latch {
  alignas(64) atomic_uint_fast64_t remaining;
  atomic_int failed; /* a task could not do its part (zy_latch_fail) */
  /* Every count-down runs on one thread (uv, ev, sim: runtime.h says
   * every poll runs on the driving thread): a load and a store, no locked
   * instruction - as the native uv and ev programs count with a plain
   * int. Else (Tokio, whose polls may run on any worker) an atomic
   * read-modify-write, as native Tokio's latch. */
  int one_thread;
  zyntax_waker waker; /* owned by the latch until the count reaches zero */
} zy_latch;

/** Counts down `n`; the one reaching zero wakes (and consumes) the waker. */
void zy_latch_count_down(zy_latch *latch, uint64_t n);

/** Records that a task failed (e.g. out of memory) and counts it down. */
void zy_latch_fail(zy_latch *latch);

typedef struct zy_root zy_root;

/** Spawns a repetition's tasks; returns how many of the `count` the latch
 * waits for could not be started (0 on success). */
typedef uint64_t (*zy_start_fn)(zy_root *root);

struct zy_root {
  zy_latch latch;
  zyntax_runtime *rt;
  uint64_t count; /* tasks the latch waits for */
  zy_start_fn start;
  void *ctx; /* the workload's own data */
  int started;
  int failed;
};

/** Runs one repetition: spawns a root task that arms the latch with `count`,
 * calls `start`, and completes when the count reached zero; block_on's it.
 * The clocks in `out` cover all of it. 0, or -1 with a message. */
int zy_run_root(zyntax_runtime *rt, uint64_t count, zy_start_fn start, void *ctx,
                zb_sample *out);

/** Spawns a detached task whose state (`size` bytes) is copied from `init`
 * into the task's own allocation; 0 or -1. */
int zy_spawn_detached(zyntax_runtime *rt, const zyntax_future_vtable *vt,
                      const void *init, size_t size);

/** The process's runtime (created once, before any repetition). */
zyntax_runtime *zy_runtime(void);

int zy_dispatch(const zb_sizes *sizes, zb_sample *out);
int zy_direct(const zb_sizes *sizes, zb_sample *out);
int zy_yield_many(const zb_sizes *sizes, zb_sample *out);
int zy_spawn_many(const zb_sizes *sizes, zb_sample *out);
int zy_chained_spawn(const zb_sizes *sizes, zb_sample *out);
int zy_ping_pong(const zb_sizes *sizes, zb_sample *out);
int zy_cross_thread_wake(const zb_sizes *sizes, zb_sample *out);
int zy_timers(const zb_sizes *sizes, zb_sample *out);
int zy_tcp_echo(const zb_sizes *sizes, zb_sample *out);
int zy_fd_fanout(const zb_sizes *sizes, zb_sample *out);

#endif
