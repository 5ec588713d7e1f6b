/* zyntax-bench-zyntax: the workload child for the zyntax side. The backend
 * is whatever ZYNTAX_RUNTIME names; the runtime is created once, before the
 * warm-up, and destroyed at exit. Protocol: bench_common.h. */
#include <stdio.h>

#include "zy.h"

static zyntax_runtime *the_runtime;

zyntax_runtime *zy_runtime(void) { return the_runtime; }

static const zb_workload workloads[] = {
    {"dispatch", zy_dispatch},
    {"direct", zy_direct},
    {"yield_many", zy_yield_many},
    {"spawn_many", zy_spawn_many},
    {"chained_spawn", zy_chained_spawn},
    {"ping_pong", zy_ping_pong},
    {"cross_thread_wake", zy_cross_thread_wake},
    {"timers", zy_timers},
    {"tcp_echo", zy_tcp_echo},
    {"fd_fanout", zy_fd_fanout},
};

int main(int argc, char **argv) {
  the_runtime = zyntax_runtime_create();
  if (the_runtime == NULL) {
    fprintf(stderr, "%s: %s\n", argv[0], zyntax_last_error()->message);
    return 1;
  }
  fprintf(stderr, "backend: %s %s\n", zyntax_runtime_backend_name(the_runtime),
          zyntax_runtime_backend_version(the_runtime));
  int rc = zb_child_main(argc, argv, workloads, sizeof workloads / sizeof workloads[0]);
  int destroyed = zyntax_runtime_destroy(the_runtime);
  return rc != 0 ? rc : destroyed != 0;
}
