/* A one-request HTTP/1.1 server on 127.0.0.1, written as a task on the same
 * runtime (accept, read the request, write the response - each a wait on
 * fd readiness), so the demo's whole exchange is real I/O through zyntax. */
#ifndef ZYNTAX_EXAMPLES_HTTP_SERVER_H
#define ZYNTAX_EXAMPLES_HTTP_SERVER_H

#include <zyntax/runtime.h>

typedef struct http_server http_server;

/* Listens on an ephemeral loopback port and spawns the server task on `rt`.
 * Returns NULL on failure (errno or zyntax_last_error() says why). */
http_server *http_server_start(zyntax_runtime *rt, const char *body);

/* "http://127.0.0.1:PORT/" */
const char *http_server_url(const http_server *s);

/* After the runtime ran the server task to its end (or was destroyed). */
void http_server_free(http_server *s);

#endif
