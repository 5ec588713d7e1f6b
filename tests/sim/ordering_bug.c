/* A real ordering bug, for the simulation to find: a request handler that
 * assumes the configuration is loaded by the time it runs. The loader
 * reads it in a blocking job (microseconds); the handler first sleeps
 * 1 ms "to let start-up finish". On a real loop the job nearly always
 * wins, so the bug hides; nothing orders the two. Under ZYNTAX_RUNTIME=sim
 * the seed decides whether the job or the clock comes first, so some
 * seeds show it - every time they run. Exit: 0 fine, 1 the bug hit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zyntax/runtime.h>

static int config_loaded; /* written by the job, read by the handler */

static void load_config(void *arg) {
  (void)arg;
  config_loaded = 1;
}

typedef struct waiter {
  zyntax_future *f;
} waiter;

/* Awaits `w->f` (made by the caller's first poll). */
static zyntax_poll await(waiter *w, const zyntax_waker *waker) {
  int rc;
  if (zyntax_future_poll(w->f, waker, &rc) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  zyntax_future_drop(w->f);
  w->f = NULL;
  return ZYNTAX_READY;
}

static zyntax_poll loader_poll(void *state, const zyntax_waker *waker) {
  waiter *w = state;
  if (w->f == NULL &&
      zyntax_blocking_future(zyntax_runtime_current(), load_config, NULL, &w->f) != 0)
    return ZYNTAX_READY;
  return await(w, waker);
}

static int bug;

static zyntax_poll handler_poll(void *state, const zyntax_waker *waker) {
  waiter *w = state;
  if (w->f == NULL && /* 1 ms */
      zyntax_sleep_future(zyntax_runtime_current(), 1000000, &w->f) != 0)
    return ZYNTAX_READY;
  if (await(w, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  if (!config_loaded) bug = 1; /* serving with no configuration */
  return ZYNTAX_READY;
}

int main(void) {
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) {
    fprintf(stderr, "ordering_bug: %s\n", zyntax_last_error()->message);
    return 2;
  }
  waiter loader = {NULL}, handler = {NULL};
  zyntax_task_drop(zyntax_runtime_spawn(rt, &loader, loader_poll));
  zyntax_task_drop(zyntax_runtime_spawn(rt, &handler, handler_poll));
  if (zyntax_runtime_run(rt) != 0 || zyntax_runtime_destroy(rt) != 0) return 2;
  if (bug) {
    printf("BUG: the handler ran before the configuration was loaded\n");
    return 1;
  }
  printf("ok: configuration loaded before the first request\n");
  return 0;
}
