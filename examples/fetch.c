/* fetch_data's state machine (fetch.h): http_get, read_body and the
 * async fn that awaits them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch.h"
#include "http_parse.h"

/* ---- http_get(url) -> response ---------------------------------------- */

enum { GET_CONNECT, GET_CONNECTING, GET_SEND, GET_HEAD, GET_DONE };

static void http_get_init(http_get_state *g, const char *url) {
  memset(g, 0, sizeof *g);
  g->url = url;
  g->out.fd = -1;
}

static zyntax_poll get_fail(http_get_state *g, int error) {
  g->error = error;
  g->state_id = GET_DONE;
  return ZYNTAX_READY;
}

/* Awaits readiness inside http_get; READY with g->error set on failure. */
static zyntax_poll get_await(http_get_state *g, unsigned events, const zyntax_waker *w) {
  if (fd_await_poll(&g->ready, g->out.fd, events, w) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
  if (g->ready.result < 0) return get_fail(g, g->ready.result);
  return ZYNTAX_READY;
}

static int start_connect(http_get_state *g) {
  return http_connect(g->url, g->request, sizeof g->request, &g->request_len, &g->out.fd);
}

/* Parses the response head once "\r\n\r\n" arrived; 1 = complete. */
static int parse_head(response *r) {
  return http_parse_head(r->head, r->len, &r->body_at, &r->body_length);
}

static zyntax_poll http_get_poll(http_get_state *g, const zyntax_waker *w) {
  for (;;) {
    ssize_t n;
    switch (g->state_id) {
    case GET_CONNECT: {
      int rc = start_connect(g);
      if (rc != 0) return get_fail(g, rc);
      g->state_id = GET_CONNECTING;
      break;
    }
    case GET_CONNECTING: /* connect(...).await */
      if (get_await(g, ZYNTAX_WRITABLE, w) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      if (g->state_id == GET_DONE) break;
      if (http_connect_result(g->out.fd) != 0) return get_fail(g, http_connect_result(g->out.fd));
      g->state_id = GET_SEND;
      break;
    case GET_SEND: /* write_all(request).await */
      n = send(g->out.fd, g->request + g->sent, g->request_len - g->sent, MSG_NOSIGNAL);
      if (n > 0 && (g->sent += (size_t)n) == g->request_len) g->state_id = GET_HEAD;
      if (n < 0 && errno != EAGAIN) return get_fail(g, errno);
      if (n < 0 && get_await(g, ZYNTAX_WRITABLE, w) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      break;
    case GET_HEAD: /* read_head().await */
      n = read(g->out.fd, g->out.head + g->out.len, sizeof g->out.head - 1 - g->out.len);
      if (n > 0 && parse_head((g->out.len += (size_t)n, &g->out))) g->state_id = GET_DONE;
      if (n == 0) return get_fail(g, ECONNRESET); /* EOF or a head too long */
      if (n < 0 && errno != EAGAIN) return get_fail(g, errno);
      if (n < 0 && get_await(g, ZYNTAX_READABLE, w) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      break;
    default:
      return ZYNTAX_READY;
    }
  }
}

/* Drop glue: what http_get owns in any state. */
static void http_get_drop(http_get_state *g) {
  fd_await_drop(&g->ready);
  if (g->out.fd >= 0) close(g->out.fd);
  g->out.fd = -1;
}

/* ---- read_body(response) -> String ------------------------------------ */

enum { BODY_START, BODY_READ, BODY_DONE };

static zyntax_poll body_fail(read_body_state *b, int error) {
  b->error = error;
  b->state_id = BODY_DONE;
  return ZYNTAX_READY;
}

/* The body bytes already read with the head. */
static int body_start(read_body_state *b) {
  b->body = malloc(b->in.body_length + 1);
  if (b->body == NULL) return ZYNTAX_ENOMEM;
  size_t have = b->in.len - b->in.body_at;
  b->got = have < b->in.body_length ? have : b->in.body_length;
  memcpy(b->body, b->in.head + b->in.body_at, b->got);
  b->body[b->got] = '\0';
  return 0;
}

static zyntax_poll read_body_poll(read_body_state *b, const zyntax_waker *w) {
  for (;;) {
    ssize_t n;
    switch (b->state_id) {
    case BODY_START: {
      int rc = body_start(b);
      if (rc != 0) return body_fail(b, rc);
      b->state_id = BODY_READ;
      break;
    }
    case BODY_READ: /* read_exact(body_length).await */
      if (b->got == b->in.body_length) {
        b->body[b->got] = '\0';
        b->state_id = BODY_DONE;
        break;
      }
      n = read(b->in.fd, b->body + b->got, b->in.body_length - b->got);
      if (n > 0) b->got += (size_t)n;
      if (n == 0) return body_fail(b, ECONNRESET); /* closed before the end */
      if (n < 0 && errno != EAGAIN) return body_fail(b, errno);
      if (n < 0) {
        if (fd_await_poll(&b->ready, b->in.fd, ZYNTAX_READABLE, w) == ZYNTAX_PENDING)
          return ZYNTAX_PENDING;
        if (b->ready.result < 0) return body_fail(b, b->ready.result);
      }
      break;
    default:
      return ZYNTAX_READY;
    }
  }
}

static void read_body_drop(read_body_state *b) {
  fd_await_drop(&b->ready);
  if (b->in.fd >= 0) close(b->in.fd);
  b->in.fd = -1;
  free(b->body);
  b->body = NULL;
}

/* ---- fetch_data(url) -> String ---------------------------------------- */

enum { FETCH_START, FETCH_GET, FETCH_READ, FETCH_DONE };

static zyntax_poll fetch_data_poll(void *state, const zyntax_waker *waker) {
  fetch_data_state *s = state;
  for (;;) {
    switch (s->state_id) {
    case FETCH_START:
      http_get_init(&s->await.get, s->url);
      s->state_id = FETCH_GET;
      break;
    case FETCH_GET: { /* let response = http_get(url).await; */
      if (http_get_poll(&s->await.get, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      http_get_state *g = &s->await.get;
      if (g->error != 0) {
        s->error = g->error;
        http_get_drop(g);
        s->state_id = FETCH_DONE;
        break;
      }
      response moved = g->out; /* move the response out, then into read_body */
      g->out.fd = -1;
      http_get_drop(g);
      s->await.read = (read_body_state){.in = moved};
      s->state_id = FETCH_READ;
      break;
    }
    case FETCH_READ: { /* let body = read_body(response).await; */
      read_body_state *b = &s->await.read;
      if (read_body_poll(b, waker) == ZYNTAX_PENDING) return ZYNTAX_PENDING;
      s->error = b->error;
      s->body = b->body; /* move the output out */
      b->body = NULL;
      read_body_drop(b);
      s->state_id = FETCH_DONE;
      break;
    }
    default: /* body */
      return ZYNTAX_READY;
    }
  }
}

/* Drop glue: the nested future alive in the current state, and the output. */
static void fetch_data_drop(void *state) {
  fetch_data_state *s = state;
  if (s->state_id == FETCH_GET) http_get_drop(&s->await.get);
  if (s->state_id == FETCH_READ) read_body_drop(&s->await.read);
  s->state_id = FETCH_DONE;
  free(s->body);
  s->body = NULL;
}

const zyntax_future_vtable fetch_data_vtable = {fetch_data_poll, fetch_data_drop};


int fetch_data_report(const fetch_data_state *s, int drive_rc) {
  if (drive_rc != 0)
    fprintf(stderr, "fetch_data: %s\n", zyntax_strerror(drive_rc));
  else if (s->error != 0)
    fprintf(stderr, "fetch_data: %s: %s\n", s->url,
            s->error > 0 ? strerror(s->error) : zyntax_strerror(s->error));
  else
    printf("fetch_data(%s) = \"%s\"\n", s->url, s->body);
  return drive_rc != 0 || s->error != 0;
}
