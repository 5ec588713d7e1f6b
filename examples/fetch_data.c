/* The seed's example, lowered by hand the way the compiler lowers it:
 *
 *   async fn fetch_data(url: String) -> String {
 *       let response = http_get(url).await;
 *       let body = read_body(response).await;
 *       body
 *   }
 *
 * Every async fn becomes a state struct (state_id, captures, live locals)
 * and a poll function that switches on state_id. A nested future's state is
 * embedded in its caller's state, as Rust lays out its generators; leaf
 * futures (fd readiness) come from the runtime. The HTTP server it talks to
 * is another task on the same runtime, on 127.0.0.1.
 *
 * Usage: fetch_data            (ZYNTAX_RUNTIME picks the backend)
 * Prints the body and the backend; exits 1 with the runtime's error if the
 * backend cannot be loaded. */
#include <stdio.h>
#include <stdlib.h>

#include <zyntax/runtime.h>

#include "fetch.h"
#include "http_server.h"

/* ---- the program ------------------------------------------------------- */

static int fetch_and_print(zyntax_runtime *rt, const char *url) {
  fetch_data_state *s = calloc(1, sizeof *s);
  if (s == NULL) return 1;
  s->url = url;
  zyntax_task *task;
  zyntax_runtime_spawn_future(rt, s, &fetch_data_vtable, &task);
  if (task == NULL) {
    fprintf(stderr, "fetch_data: spawn: %s\n", zyntax_last_error()->message);
    free(s);
    return 1;
  }
  int rc = zyntax_runtime_block_on(rt, task);
  int failed = fetch_data_report(s, rc);
  zyntax_task_drop(task); /* runs fetch_data_drop: frees the body */
  free(s);
  return failed;
}

int main(void) {
  zyntax_runtime *rt = zyntax_runtime_create();
  if (rt == NULL) {
    fprintf(stderr, "fetch_data: %s\n", zyntax_last_error()->message);
    return 1;
  }
  http_server *server = http_server_start(rt, "hello from zyntax");
  if (server == NULL) {
    fprintf(stderr, "fetch_data: cannot start the server\n");
    zyntax_runtime_destroy(rt);
    return 1;
  }
  int failed = fetch_and_print(rt, http_server_url(server));
  zyntax_runtime_run(rt); /* lets the server task finish */
  printf("backend: %s %s\n", zyntax_runtime_backend_name(rt), zyntax_runtime_backend_version(rt));
  int rc = zyntax_runtime_destroy(rt);
  http_server_free(server);
  return failed || rc != 0;
}
