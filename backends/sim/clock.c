/* The process's virtual clock. While a sim runtime lives it stands still
 * except when a loop jumps it to the next deadline (sim_clock_advance_to)
 * and by 100 ns per zyntax_now() read - so what a program sees of time is a
 * function of the seed alone. While no sim runtime lives it runs at real
 * speed from where the last one left it, so zyntax_now() stays monotonic
 * across runtimes (libzyntax reads this clock for the rest of the process
 * once a sim runtime was created: backend.h, the clock entry).
 *
 * One clock for the process, not one per runtime: zyntax_now() takes no
 * runtime, and a deadline computed on one thread is compared on another. */
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

/* The lock over the fields below: 0 when free, else the pid of the
 * process whose thread holds it. Not a pthread mutex: fork() may copy it
 * held by a thread of the parent (a runtime's destroy in
 * sim_clock_detach) that the child does not have, and the child's first
 * sim runtime would wait for it forever; an atfork handler cannot close
 * that window, as a fork that started before the plugin was loaded runs
 * none of its handlers. A child sees its parent's pid here and takes the
 * lock over. Held for a few loads and stores, so a waiter yields. */
static atomic_int lock_owner;

static void clock_lock(void) {
  int me = (int)getpid();
  for (;;) {
    int owner = atomic_load_explicit(&lock_owner, memory_order_relaxed);
    if (owner != me && atomic_compare_exchange_weak_explicit(
                           &lock_owner, &owner, me, memory_order_acquire,
                           memory_order_relaxed))
      return;
    sched_yield(); /* another thread of this process holds it */
  }
}

static void clock_unlock(void) {
  atomic_store_explicit(&lock_owner, 0, memory_order_release);
}
static _Atomic uint64_t vnow;  /* the virtual time while `live` > 0 */
static atomic_uint live;        /* sim runtimes alive */
static uint64_t left_v, left_r; /* virtual and real time when the last one ended */
static atomic_int started;      /* a sim runtime existed: left_* are set */

/* While no sim runtime lives: real time, shifted to continue from where
 * the virtual clock stopped (never behind it: a read racing the last
 * destroy may have moved vnow on). */
static uint64_t running(void) {
  uint64_t real = zx_now_ns();
  if (!atomic_load_explicit(&started, memory_order_acquire)) return real;
  clock_lock();
  uint64_t t = left_v + (real - left_r);
  clock_unlock();
  uint64_t v = atomic_load_explicit(&vnow, memory_order_relaxed);
  return t > v ? t : v;
}

/* What a zyntax_now() read costs in virtual time: a loop spinning until
 * the clock passes a value ends after (value - now) / READ_NS reads. */
#define READ_NS 100u

uint64_t sim_clock_read(void) {
  if (atomic_load_explicit(&live, memory_order_acquire) == 0) return running();
  return atomic_fetch_add_explicit(&vnow, READ_NS, memory_order_relaxed) + READ_NS;
}

uint64_t sim_clock_peek(void) {
  if (atomic_load_explicit(&live, memory_order_acquire) == 0) return running();
  return atomic_load_explicit(&vnow, memory_order_relaxed);
}

void sim_clock_advance_to(uint64_t t) {
  uint64_t v = atomic_load_explicit(&vnow, memory_order_relaxed);
  while (v < t &&
         !atomic_compare_exchange_weak_explicit(&vnow, &v, t, memory_order_relaxed,
                                                memory_order_relaxed)) {
  }
}

/* The executor's timers tick in whole milliseconds: a virtual clock that
 * starts on one makes every deadline's rounding, so every later time, the
 * same in every run whatever real time it started at. */
#define TICK_NS 1000000u

void sim_clock_attach(void) {
  clock_lock();
  if (atomic_load_explicit(&live, memory_order_relaxed) == 0) {
    uint64_t real = zx_now_ns(), t = real;
    if (atomic_load_explicit(&started, memory_order_relaxed))
      t = left_v + (real - left_r);
    sim_clock_advance_to((t / TICK_NS + 1) * TICK_NS);
  }
  atomic_fetch_add_explicit(&live, 1, memory_order_release);
  clock_unlock();
}

void sim_clock_detach(void) {
  clock_lock();
  if (atomic_fetch_sub_explicit(&live, 1, memory_order_acq_rel) == 1) {
    left_v = atomic_load_explicit(&vnow, memory_order_relaxed);
    left_r = zx_now_ns();
    atomic_store_explicit(&started, 1, memory_order_release);
  }
  clock_unlock();
}
