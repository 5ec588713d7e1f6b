/* fetch_data on a GLib main loop: the runtime as a GSource, the way a GTK
 * or GStreamer program would embed it. The part to copy is the GSource
 * (zyntax_source_new and its three functions); main() is the demo.
 *
 * Usage: host_glib            (ZYNTAX_RUNTIME=uv or ev) */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include <zyntax/runtime.h>

#include "fetch.h"
#include "http_server.h"

/* ---- the GSource ------------------------------------------------------- */

typedef struct zyntax_source {
  GSource base;
  zyntax_runtime *rt; /* not owned: destroy the source before the runtime */
  gpointer tag;       /* our fd in the source */
  int more;           /* tasks were left after the last dispatch */
} zyntax_source;

/* The main loop sleeps until the runtime's next timer at most. The fd
 * would wake it anyway; the timeout only saves a wakeup's latency. */
static gboolean zs_prepare(GSource *src, gint *timeout) {
  zyntax_source *z = (zyntax_source *)src;
  uint64_t deadline, now = zyntax_now();
  *timeout = -1;
  if (zyntax_runtime_next_deadline(z->rt, &deadline) == 0)
    *timeout = deadline <= now ? 0 : (gint)((deadline - now + 999999) / 1000000);
  return *timeout == 0;
}

/* After the poll: GLib tells whether our fd was readable. */
static gboolean zs_check(GSource *src) {
  gint timeout;
  return g_source_query_unix_fd(src, ((zyntax_source *)src)->tag) != 0 ||
         zs_prepare(src, &timeout);
}

/* Runs what is ready; calls the callback (if any) once no task is left. */
static gboolean zs_dispatch(GSource *src, GSourceFunc callback, gpointer data) {
  zyntax_source *z = (zyntax_source *)src;
  if (zyntax_runtime_run_nowait(z->rt, &z->more) != 0) return G_SOURCE_REMOVE;
  if (!z->more && callback != NULL) return callback(data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs zyntax_source_funcs = {zs_prepare, zs_check, zs_dispatch,
                                           NULL, NULL, NULL};

/* A source driving `rt` on the context it is attached to; NULL (with
 * zyntax_last_error() set) when the backend cannot be driven so. */
static GSource *zyntax_source_new(zyntax_runtime *rt) {
  int fd = zyntax_runtime_poll_fd(rt);
  if (fd < 0) return NULL;
  GSource *src = g_source_new(&zyntax_source_funcs, sizeof(zyntax_source));
  ((zyntax_source *)src)->rt = rt;
  ((zyntax_source *)src)->tag = g_source_add_unix_fd(src, fd, G_IO_IN);
  g_source_set_name(src, "zyntax");
  return src;
}

/* ---- the demo ---------------------------------------------------------- */

static gboolean all_done(gpointer loop) {
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

int main(void) {
  zyntax_runtime *rt = zyntax_runtime_create();
  GSource *src = rt != NULL ? zyntax_source_new(rt) : NULL;
  http_server *server = src != NULL ? http_server_start(rt, "hello from zyntax") : NULL;
  fetch_data_state *s = calloc(1, sizeof *s);
  zyntax_task *task = NULL;
  if (server != NULL && s != NULL) {
    s->url = http_server_url(server);
    zyntax_runtime_spawn_future(rt, s, &fetch_data_vtable, &task);
  }
  if (task == NULL) {
    fprintf(stderr, "host_glib: %s (%s)\n", zyntax_last_error()->message,
            zyntax_err_name(zyntax_last_error()->code));
    if (src != NULL) g_source_unref(src);
    if (rt != NULL) zyntax_runtime_destroy(rt);
    if (server != NULL) http_server_free(server);
    free(s);
    return 1;
  }
  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  g_source_set_callback(src, all_done, loop, NULL);
  g_source_attach(src, NULL);
  g_main_loop_run(loop);
  int failed = fetch_data_report(s, zyntax_task_status(task));
  printf("backend: %s %s\n", zyntax_runtime_backend_name(rt), zyntax_runtime_backend_version(rt));
  zyntax_task_drop(task);
  g_source_destroy(src); /* stop watching the fd before the runtime closes it */
  g_source_unref(src);
  g_main_loop_unref(loop);
  int rc = zyntax_runtime_destroy(rt);
  http_server_free(server);
  free(s);
  return failed || rc != 0;
}
