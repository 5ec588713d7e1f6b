/* HTTP text handling, shared by the hand-lowered fetch_data, the JIT
 * example's syscall shim and http_serve: URL in, request text out, message
 * heads parsed. Plain libc; nothing here touches the runtime. */
#ifndef ZYNTAX_EXAMPLES_HTTP_PARSE_H
#define ZYNTAX_EXAMPLES_HTTP_PARSE_H

#include <stddef.h>

/* Starts a non-blocking connect to `url` (http://IPv4:port/path only, no
 * DNS) and writes the GET request for it into request[cap]. Returns 0 with
 * *fd set (the connect may still be in progress) and *request_len set, or an
 * errno value (*fd is -1 then). */
int http_connect(const char *url, char *request, size_t cap, size_t *request_len, int *fd);

/* 0 when the connect on `fd` succeeded, else its errno value. */
int http_connect_result(int fd);

/* Parses a response head of `len` bytes in head[] (which must have room for
 * one more byte): 1 with *body_at and *body_length (Content-Length, 0 when
 * absent) once "\r\n\r\n" arrived, 0 while incomplete. */
int http_parse_head(char *head, size_t len, size_t *body_at, size_t *body_length);

/* 1 when the header `name` (case-insensitive, e.g. "Connection") of the
 * NUL-terminated head[0..head_len) has a value containing `token`
 * (case-insensitive, e.g. "close"), else 0. */
int http_header_has(const char *head, size_t head_len, const char *name, const char *token);

/* The fixed response of http_serve (and what its test client expects, byte
 * for byte). */
#define HTTP_SERVE_BODY "Hello from zyntax\n"
#define HTTP_SERVE_RESPONSE                                                   \
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n" \
  "\r\n" HTTP_SERVE_BODY

#endif
