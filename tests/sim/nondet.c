/* Deliberately non-deterministic: how many times a task yields depends on
 * the real clock's nanoseconds, something the simulation cannot replay.
 * Its seeds' runs disagree, which zyntax-sim-check must report as
 * DIVERGED. (The kind of bug it catches: a program reading real time,
 * rand() seeded from time, or racing threads of its own.) */
#include <stdio.h>
#include <time.h>
#include <zyntax/runtime.h>

typedef struct yielder {
  int left;
  zyntax_future *f;
} yielder;

static zyntax_poll yielder_poll(void *state, const zyntax_waker *waker) {
  yielder *y = state;
  while (y->left > 0) {
    if (y->f == NULL && zyntax_yield_future(zyntax_runtime_current(), &y->f) != 0)
      return ZYNTAX_READY;
    int rc;
    if (zyntax_future_poll(y->f, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
    zyntax_future_drop(y->f);
    y->f = NULL;
    y->left--;
  }
  return ZYNTAX_READY;
}

int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts); /* the injected non-determinism */
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) return 2;
  yielder a = {(int)(ts.tv_nsec / 1000 % 16) + 1, NULL}, b = {3, NULL};
  zyntax_task_drop(zyntax_runtime_spawn(rt, &a, yielder_poll));
  zyntax_task_drop(zyntax_runtime_spawn(rt, &b, yielder_poll));
  int rc = zyntax_runtime_run(rt);
  zyntax_runtime_destroy(rt);
  return rc == 0 ? 0 : 1;
}
