/* A poll function that aborts (a failed assert, say): under sim the seed
 * is printed on stderr before the process dies, so the crash can be
 * replayed. */
#include <stdlib.h>
#include <zyntax/runtime.h>

static zyntax_poll crashing_poll(void *state, const zyntax_waker *waker) {
  (void)state, (void)waker;
  abort();
}

int main(void) {
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) return 2;
  zyntax_task *t = zyntax_runtime_spawn(rt, NULL, crashing_poll);
  if (t == NULL) return 2;
  zyntax_runtime_block_on(rt, t);
  return 0; /* not reached */
}
