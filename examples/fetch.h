/* fetch_data(url) -> String, lowered by hand the way the compiler lowers
 * an async fn (see fetch_data.c): its state struct, poll and drop, shared
 * by the examples that drive it (fetch_data, host_poll, host_glib). */
#ifndef ZYNTAX_EXAMPLES_FETCH_H
#define ZYNTAX_EXAMPLES_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <zyntax/runtime.h>

#include "fd_await.h"

typedef struct response {
  int fd;             /* owned: the connection, still open for the body */
  char head[2048];    /* bytes read so far: headers and the body's start */
  size_t len;         /* bytes in head[] */
  size_t body_at;     /* where the body starts in head[] */
  size_t body_length; /* Content-Length */
} response;

typedef struct http_get_state {
  uint32_t state_id;
  int error; /* when READY: 0, an errno value (> 0) or a ZYNTAX_E* code (< 0) */
  /* capture */
  const char *url;
  /* live locals */
  fd_await ready;
  char request[256];
  size_t request_len, sent;
  response out;
} http_get_state;

typedef struct read_body_state {
  uint32_t state_id;
  int error;
  response in; /* moved in: owns the connection */
  fd_await ready;
  char *body; /* the output, owned until moved out */
  size_t got;
} read_body_state;

typedef struct fetch_data_state {
  uint32_t state_id;
  /* capture */
  const char *url;
  /* the nested future of the current await point */
  union {
    http_get_state get;
    read_body_state read;
  } await;
  /* the output */
  char *body;
  int error;
} fetch_data_state;

/* The future of fetch_data(url): spawn it with zyntax_runtime_spawn_future
 * on a zeroed state whose `url` is set. Its drop frees the body. */
extern const zyntax_future_vtable fetch_data_vtable;

/* Prints the demo's line for a finished fetch ("fetch_data(URL) = ...", or
 * the error on stderr) given the drive's return code. Returns 0 or 1. */
int fetch_data_report(const fetch_data_state *s, int drive_rc);

#endif
