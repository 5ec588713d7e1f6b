/* One await point on fd readiness, as a compiler lowers `ready(fd).await`:
 * the nested leaf future lives in the caller's state between polls. */
#ifndef ZYNTAX_EXAMPLES_FD_AWAIT_H
#define ZYNTAX_EXAMPLES_FD_AWAIT_H

#include <zyntax/runtime.h>

typedef struct fd_await {
  zyntax_future *future; /* NULL between await points */
  int fd;                /* what `future` waits for */
  unsigned events;
  int result;            /* when READY: ready events (> 0) or a ZYNTAX_E* code */
  /* Optional: the watch of the one fd this await point is used with
   * (zyntax_fd_watch_open); its waits need no syscall each, and are the
   * watch's own wait polled in place (zyntax_fd_watch_poll: no future).
   * The owner destroys it before closing the fd. NULL: plain fd waits. */
  zyntax_fd_watch *watch;
} fd_await;

/* Polls readiness of `fd` for `events` on the current runtime. READY means
 * a->result is set; the nested future is already dropped then.
 * The callers retry their syscall before awaiting, so after a wake the
 * syscall may succeed and leave the await unfinished: a later await for
 * another fd or direction must not poll that future (it would wait for the
 * wrong thing), so it is dropped and a new one made. One for the same fd
 * and direction is still the right future and is polled on. */
zyntax_poll fd_await_poll(fd_await *a, int fd, unsigned events, const zyntax_waker *waker);

/* Drop glue for a state cancelled in the middle of this await point. */
void fd_await_drop(fd_await *a);

#endif
