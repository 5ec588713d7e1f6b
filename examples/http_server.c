/* The demo's server: `async fn serve(listener) { let c = accept().await;
 * read_request(c).await; write_response(c).await; }`, lowered by hand. */
#define _GNU_SOURCE
#include "http_server.h"
#include "fd_await.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct http_server {
  /* captures */
  int listener;
  char response[512];
  size_t response_len;
  char url[64];
  /* live locals */
  uint32_t state_id;
  int conn;
  fd_await ready; /* the current await point */
  char request[1024];
  size_t request_len, sent;
  zyntax_task *task;
};

enum { SERVE_ACCEPT, SERVE_READ, SERVE_WRITE, SERVE_DONE };

/* A non-blocking syscall returned `n`: go on if it did work, await
 * readiness on EAGAIN, end the task on any other error or EOF. */
static zyntax_poll step(http_server *s, ssize_t n, int fd, unsigned events,
                        const zyntax_waker *waker) {
  if (n > 0) return ZYNTAX_READY;
  if (n == 0 || errno != EAGAIN) {
    s->state_id = SERVE_DONE;
    return ZYNTAX_READY;
  }
  if (fd_await_poll(&s->ready, fd, events, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  if (s->ready.result < 0) s->state_id = SERVE_DONE;
  return ZYNTAX_READY;
}

static zyntax_poll serve_poll(void *state, const zyntax_waker *waker) {
  http_server *s = state;
  for (;;) {
    ssize_t n;
    switch (s->state_id) {
    case SERVE_ACCEPT: /* let c = accept().await */
      s->conn = accept4(s->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (s->conn >= 0) s->state_id = SERVE_READ;
      if (step(s, s->conn >= 0 ? 1 : -1, s->listener, ZYNTAX_READABLE, waker) ==
          ZYNTAX_PENDING)
        return ZYNTAX_PENDING;
      break;
    case SERVE_READ: /* read_request(c).await: up to the blank line */
      n = read(s->conn, s->request + s->request_len, sizeof s->request - 1 - s->request_len);
      if (n > 0) {
        s->request_len += (size_t)n;
        s->request[s->request_len] = '\0';
        if (strstr(s->request, "\r\n\r\n") != NULL) s->state_id = SERVE_WRITE;
      }
      if (step(s, n, s->conn, ZYNTAX_READABLE, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      break;
    case SERVE_WRITE: /* write_response(c).await */
      n = write(s->conn, s->response + s->sent, s->response_len - s->sent);
      if (n > 0) s->sent += (size_t)n;
      if (s->sent == s->response_len) s->state_id = SERVE_DONE;
      if (step(s, n, s->conn, ZYNTAX_WRITABLE, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      break;
    default:
      return ZYNTAX_READY;
    }
  }
}

/* Drop glue: whatever the task still owns when it ends or is cancelled. */
static void serve_drop(void *state) {
  http_server *s = state;
  fd_await_drop(&s->ready);
  if (s->conn >= 0) close(s->conn);
  s->conn = -1;
}

static const zyntax_future_vtable serve_vtable = {serve_poll, serve_drop};

http_server *http_server_start(zyntax_runtime *rt, const char *body) {
  http_server *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->conn = -1;
  s->response_len = (size_t)snprintf(s->response, sizeof s->response,
                                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                     strlen(body), body);
  struct sockaddr_in addr = {.sin_family = AF_INET};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  s->listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->listener < 0 || bind(s->listener, (struct sockaddr *)&addr, len) != 0 ||
      listen(s->listener, 8) != 0 || getsockname(s->listener, (struct sockaddr *)&addr, &len) != 0) {
    http_server_free(s);
    return NULL;
  }
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u/", ntohs(addr.sin_port));
  zyntax_runtime_spawn_future(rt, s, &serve_vtable, &s->task);
  if (s->task == NULL) {
    http_server_free(s);
    return NULL;
  }
  return s;
}

const char *http_server_url(const http_server *s) { return s->url; }

void http_server_free(http_server *s) {
  if (s->task != NULL) zyntax_task_drop(s->task);
  if (s->listener >= 0) close(s->listener);
  free(s);
}
