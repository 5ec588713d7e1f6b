/* fetch_data driven from a host's own event loop, here plain poll(2): the
 * way an application whose thread belongs to another loop embeds a zyntax
 * runtime. The loop watches the runtime's one fd (next to its own fds, if
 * it had any), sleeps until the runtime's next deadline at most, and lets
 * the runtime run what is ready without ever blocking inside it.
 *
 * Usage: host_poll            (ZYNTAX_RUNTIME picks the backend: uv or ev;
 * Tokio drives itself and says so: ZYNTAX_EUNSUPPORTED, exit 1).
 * Prints the same line as fetch_data, then how often the host woke. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include <zyntax/runtime.h>

#include "fetch.h"
#include "http_server.h"

/* poll(2)'s timeout for the runtime's next deadline: -1 when it has none
 * (the fd alone wakes the host), 0 when work is ready now. */
static int host_timeout_ms(zyntax_runtime *rt) {
  uint64_t deadline, now = zyntax_now();
  if (zyntax_runtime_next_deadline(rt, &deadline) != 0) return -1;
  return deadline <= now ? 0 : (int)((deadline - now + 999999) / 1000000);
}

/* The host loop: sleep in poll(2), run what is ready, until no task of
 * the runtime is left. */
static int host_loop(zyntax_runtime *rt, int fd, unsigned *turns, unsigned *wakeups) {
  int more = 1, rc = 0;
  while (rc == 0 && more) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, host_timeout_ms(rt));
    if (n < 0 && errno != EINTR) return ZYNTAX_EIO;
    ++*turns;
    *wakeups += n > 0;
    rc = zyntax_runtime_run_nowait(rt, &more);
  }
  return rc;
}

int main(void) {
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) {
    fprintf(stderr, "host_poll: %s\n", zyntax_last_error()->message);
    return 1;
  }
  int fd = zyntax_runtime_poll_fd(rt);
  http_server *server = fd >= 0 ? http_server_start(rt, "hello from zyntax") : NULL;
  fetch_data_state *s = calloc(1, sizeof *s);
  zyntax_task *task = NULL;
  if (server != NULL && s != NULL) {
    s->url = http_server_url(server);
    zyntax_runtime_spawn_future(rt, s, &fetch_data_vtable, &task);
  }
  int failed = 1;
  if (task != NULL) {
    unsigned turns = 0, wakeups = 0;
    int rc = host_loop(rt, fd, &turns, &wakeups);
    failed = fetch_data_report(s, rc != 0 ? rc : zyntax_task_status(task));
    printf("host loop: %u polls, the runtime's fd was readable %u times\n", turns, wakeups);
    zyntax_task_drop(task); /* runs fetch_data_drop: frees the body */
  } else {
    fprintf(stderr, "host_poll: %s (%s)\n", zyntax_last_error()->message,
            zyntax_err_name(zyntax_last_error()->code));
  }
  printf("backend: %s %s\n", zyntax_runtime_backend_name(rt), zyntax_runtime_backend_version(rt));
  int rc = zyntax_runtime_destroy(rt); /* closes fd */
  if (server != NULL) http_server_free(server);
  free(s);
  return failed || rc != 0;
}
