#include "fd_await.h"

zyntax_poll fd_await_poll(fd_await *a, int fd, unsigned events, const zyntax_waker *waker) {
  if (a->watch != NULL) /* the watch's own wait, in place: nothing to make or drop */
    return zyntax_fd_watch_poll(a->watch, events, waker, &a->result);
  if (a->future != NULL && (a->fd != fd || a->events != events)) fd_await_drop(a);
  if (a->future == NULL) {
    a->fd = fd;
    a->events = events;
    a->result = a->watch != NULL
                    ? zyntax_fd_watch_wait_future(a->watch, events, &a->future)
                    : zyntax_fd_wait_future(zyntax_runtime_current(), fd, events, &a->future);
    if (a->result != 0) return ZYNTAX_READY;
  }
  if (zyntax_future_poll(a->future, waker, &a->result) == ZYNTAX_PENDING)
    return ZYNTAX_PENDING;
  fd_await_drop(a);
  return ZYNTAX_READY;
}

void fd_await_drop(fd_await *a) {
  zyntax_future_drop(a->future);
  a->future = NULL;
}
