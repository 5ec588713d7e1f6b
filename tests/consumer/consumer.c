/* An out-of-tree program built against an installed Zyntax: it must find
 * the headers, the library and the backend plugins of that install. */
#include <stdio.h>

#include <zyntax/runtime.h>

typedef struct wait_state {
  zyntax_future *sleep;
  int done;
} wait_state;

static zyntax_poll wait_poll(void *state, const zyntax_waker *waker) {
  wait_state *s = state;
  int rc = 0;
  if (s->sleep == NULL) rc = zyntax_sleep_future(zyntax_runtime_current(), 1000000, &s->sleep);
  if (rc == 0 && zyntax_future_poll(s->sleep, waker, &rc) == ZYNTAX_PENDING)
    return ZYNTAX_PENDING;
  zyntax_future_drop(s->sleep);
  s->sleep = NULL;
  s->done = rc == 0;
  return ZYNTAX_READY;
}

int main(void) {
  if (zyntax_version() != ZYNTAX_VERSION_HEX) {
    fprintf(stderr, "header %s, library %s\n", ZYNTAX_VERSION_STRING, zyntax_version_string());
    return 1;
  }
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) {
    fprintf(stderr, "%s\n", zyntax_last_error()->message);
    return 1;
  }
  wait_state s = {NULL, 0};
  int rc = zyntax_runtime_block_on_future(rt, &s, wait_poll);
  printf("consumer ran on %s: %s\n", zyntax_runtime_backend_name(rt),
         rc == 0 && s.done ? "ok" : "FAILED");
  zyntax_runtime_destroy(rt);
  return rc == 0 && s.done ? 0 : 1;
}
