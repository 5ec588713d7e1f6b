/* The syscall shim generated code calls for the HTTP client: each function
 * is one libc call (or the text handling around it) with errors returned as
 * -errno instead of through errno, which generated code cannot read (errno
 * is a thread-local macro, not a symbol). No runtime calls in here. */
#ifndef ZYNTAX_EXAMPLES_JIT_SHIM_H
#define ZYNTAX_EXAMPLES_JIT_SHIM_H

#include <stdint.h>

/* The project builds with -fvisibility=hidden; the generated code finds
 * these by name in the running process (the executable exports them). */
#define ZJIT_SHIM __attribute__((visibility("default")))

/* A non-blocking connect to `url` plus its GET request text in request[cap]:
 * the fd (connect may be in progress), or -errno. */
ZJIT_SHIM int zjit_shim_connect(const char *url, char *request, int64_t cap, int64_t *request_len);
/* 0 once the connect on `fd` succeeded, else -errno. */
ZJIT_SHIM int zjit_shim_connect_result(int fd);
/* send()/read(): bytes moved (0 from recv = EOF), or -errno (-EAGAIN). */
ZJIT_SHIM int64_t zjit_shim_send(int fd, const char *buf, int64_t len);
ZJIT_SHIM int64_t zjit_shim_recv(int fd, char *buf, int64_t len);
/* 1 with body_at and body_length set once the head in head[len] is complete
 * (head has room for a terminator), else 0. */
ZJIT_SHIM int zjit_shim_head(char *head, int64_t len, int64_t *body_at, int64_t *body_length);

#endif
