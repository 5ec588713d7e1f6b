/* The sleep future's logic, shared by the C backends. A backend embeds
 * zx_sleep first in its own struct next to its timer handle and supplies
 * how to arm a one-shot timer and how to release everything. */
#ifndef ZYNTAX_COMMON_SLEEP_H
#define ZYNTAX_COMMON_SLEEP_H

#include "executor.h"

typedef struct zx_sleep zx_sleep;

typedef struct zx_timer_ops {
  /* (Re)starts the one-shot timer to fire in `ms` milliseconds; when
   * s->armed is still 0 it must create the timer first. Driving thread. */
  void (*arm)(zx_sleep *s, uint64_t ms);
  /* Stops the timer if it was created and frees the whole future (maybe
   * later, from a close callback). After the runtime's destroy (the
   * future outlived it) it must touch no loop: destroy closed or
   * abandoned the timer already. */
  void (*release)(zx_sleep *s);
} zx_timer_ops;

struct zx_sleep {
  zyntax_future base;
  zx_exec *ex;
  const zx_timer_ops *timer;
  uint64_t deadline; /* CLOCK_MONOTONIC ns */
  zyntax_waker waker;
  int armed;   /* the timer was created */
  int pending; /* the timer is running */
};

/* Initialises the common part of a new sleep future; it holds a reference
 * on `ex` until dropped (leaf.h). */
void zx_sleep_init(zx_sleep *s, zx_exec *ex, const zx_timer_ops *timer,
                   uint64_t deadline_ns);

/* The timer fired (driving thread): wake the task, which re-checks the
 * clock, so a timer that fires early only costs one more poll. */
void zx_sleep_fired(zx_sleep *s);

/* The zyntax_future_ops of every C backend's sleep future. */
extern const zyntax_future_ops zx_sleep_ops;

/* CLOCK_MONOTONIC in nanoseconds (the clock of zyntax_now()). */
uint64_t zx_now_ns(void);

#endif /* ZYNTAX_COMMON_SLEEP_H */
