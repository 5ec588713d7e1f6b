/* The two async fns fetch_data awaits, generated:
 *
 *   async fn http_get(url) -> Response {   // connect, write the request,
 *       ...                                // read up to the blank line
 *   }
 *   async fn read_body(r: Response) -> String { read_exact(len).await }
 *
 * Each is its own poll function and drop glue over its own state struct,
 * with one state per await point; the awaited futures are the runtime's
 * fd-readiness leaves (zyntax_fd_wait_future). */
#include "gen_io.h"

enum { GET_CONNECT, GET_CONNECTING, GET_CONNECTED, GET_SEND, GET_SEND_WAIT, GET_HEAD,
       GET_HEAD_WAIT, GET_DONE };
enum { BODY_START, BODY_READ, BODY_READ_WAIT, BODY_DONE };

#define HEAD_CAP 2048 /* zjit_response.head */
#define REQUEST_CAP 256

static gcc_jit_struct *get_struct(zjit *j, gcc_jit_struct *resp, zjit_http_get *g) {
  g->state_id = zjit_field(j, j->t_u32, "state_id");
  g->error = zjit_field(j, j->t_int, "error");
  g->url = zjit_field(j, j->t_charp, "url");
  g->ready = zjit_field(j, j->t_futurep, "ready");
  g->request_len = zjit_field(j, j->t_i64, "request_len");
  g->sent = zjit_field(j, j->t_i64, "sent");
  g->request = zjit_field(j, zjit_array(j, j->t_char, REQUEST_CAP), "request");
  g->out = zjit_field(j, gcc_jit_struct_as_type(resp), "out");
  gcc_jit_field *all[] = {g->state_id, g->error, g->url, g->ready, g->request_len, g->sent,
                          g->request, g->out};
  return zjit_struct(j, "zjit_http_get_state", 8, all);
}

/* GET_CONNECT: start the connect, await writability (GET_CONNECTING), then
 * check its outcome (GET_CONNECTED). */
static void get_connect(io_fn *io, const zjit_http_get *g, const resp_fields *r) {
  zjit_sm *sm = &io->sm;
  zjit *j = sm->j;
  gcc_jit_lvalue *rc = gcc_jit_function_new_local(sm->fn, NULL, j->t_int, "rc");
  gcc_jit_block *b = sm->cases[GET_CONNECT], *ok = zjit_block(sm, "connecting");
  gcc_jit_block *bad = zjit_block(sm, "connect_failed");
  gcc_jit_rvalue *args[] = {zjit_rv(zjit_sm_field(sm, g->url)),
                            zjit_io_elem(j, zjit_sm_field(sm, g->request), zjit_int(j, j->t_int, 0)),
                            zjit_io_i64(j, REQUEST_CAP), zjit_io_addr(zjit_sm_field(sm, g->request_len))};
  zjit_set(b, rc, zjit_call(j, j->shim_connect, 4, args));
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_LT, zjit_rv(rc), zjit_int(j, j->t_int, 0)), bad, ok);
  zjit_io_fail(io, bad, zjit_io_minus(j, j->t_int, zjit_int(j, j->t_int, 0), zjit_rv(rc)));
  zjit_set(ok, zjit_io_at(zjit_sm_field(sm, g->out), r->fd), zjit_rv(rc));
  gcc_jit_rvalue *wait[] = {zjit_current(j), zjit_rv(rc), zjit_int(j, j->t_uint, ZYNTAX_WRITABLE)};
  zjit_make(j, ok, j->fd_wait_future, 3, wait, zjit_sm_field(sm, g->ready));
  zjit_sm_next(sm, ok, GET_CONNECTING);
  zjit_io_await(io, GET_CONNECTING, GET_CONNECTED);

  b = sm->cases[GET_CONNECTED];
  ok = zjit_block(sm, "connected");
  bad = zjit_block(sm, "refused");
  gcc_jit_rvalue *fd = zjit_rv(zjit_io_at(zjit_sm_field(sm, g->out), r->fd));
  zjit_set(b, rc, zjit_call(j, j->shim_connect_result, 1, &fd));
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, zjit_rv(rc), zjit_int(j, j->t_int, 0)), ok, bad);
  zjit_io_fail(io, bad, zjit_io_minus(j, j->t_int, zjit_int(j, j->t_int, 0), zjit_rv(rc)));
  zjit_sm_next(sm, ok, GET_SEND);
}

/* GET_SEND: write_all(request).await */
static void get_send(io_fn *io, const zjit_http_get *g, const resp_fields *r) {
  zjit_sm *sm = &io->sm;
  zjit *j = sm->j;
  gcc_jit_lvalue *n = gcc_jit_function_new_local(sm->fn, NULL, j->t_i64, "sent_now");
  gcc_jit_lvalue *sent = zjit_sm_field(sm, g->sent), *len = zjit_sm_field(sm, g->request_len);
  gcc_jit_rvalue *fd = zjit_rv(zjit_io_at(zjit_sm_field(sm, g->out), r->fd));
  gcc_jit_rvalue *args[] = {fd, zjit_io_elem(j, zjit_sm_field(sm, g->request), zjit_rv(sent)),
                            zjit_io_minus(j, j->t_i64, zjit_rv(len), zjit_rv(sent))};
  gcc_jit_block *b = sm->cases[GET_SEND];
  zjit_set(b, n, zjit_call(j, j->shim_send, 3, args));
  b = zjit_io_step(io, b, zjit_rv(n), fd, ZYNTAX_WRITABLE, GET_SEND_WAIT);
  gcc_jit_block *all = zjit_block(sm, "request_sent"), *more = zjit_block(sm, "send_more");
  zjit_set(b, sent, zjit_add(j, j->t_i64, zjit_rv(sent), zjit_rv(n)));
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, zjit_rv(sent), zjit_rv(len)), all, more);
  zjit_sm_next(sm, all, GET_HEAD);
  zjit_sm_next(sm, more, GET_SEND);
  zjit_io_await(io, GET_SEND_WAIT, GET_SEND);
}

/* GET_HEAD: read_head().await - until the shim finds the blank line. */
static void get_head(io_fn *io, const zjit_http_get *g, const resp_fields *r) {
  zjit_sm *sm = &io->sm;
  zjit *j = sm->j;
  gcc_jit_lvalue *n = gcc_jit_function_new_local(sm->fn, NULL, j->t_i64, "got_now");
  gcc_jit_lvalue *out = zjit_sm_field(sm, g->out), *len = zjit_io_at(out, r->len);
  gcc_jit_lvalue *head = zjit_io_at(out, r->head);
  gcc_jit_rvalue *fd = zjit_rv(zjit_io_at(out, r->fd));
  gcc_jit_rvalue *args[] = {fd, zjit_io_elem(j, head, zjit_rv(len)),
                            zjit_io_minus(j, j->t_i64, zjit_io_i64(j, HEAD_CAP - 1), zjit_rv(len))};
  gcc_jit_block *b = sm->cases[GET_HEAD];
  zjit_set(b, n, zjit_call(j, j->shim_recv, 3, args));
  b = zjit_io_step(io, b, zjit_rv(n), fd, ZYNTAX_READABLE, GET_HEAD_WAIT);
  zjit_set(b, len, zjit_add(j, j->t_i64, zjit_rv(len), zjit_rv(n)));
  gcc_jit_rvalue *parse[] = {zjit_io_elem(j, head, zjit_int(j, j->t_int, 0)), zjit_rv(len),
                             zjit_io_addr(zjit_io_at(out, r->body_at)),
                             zjit_io_addr(zjit_io_at(out, r->body_length))};
  gcc_jit_block *done = zjit_block(sm, "head_complete"), *more = zjit_block(sm, "head_more");
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_NE, zjit_call(j, j->shim_head, 4, parse),
                      zjit_int(j, j->t_int, 0)),
          done, more);
  zjit_sm_ready(sm, done, GET_DONE);
  zjit_sm_next(sm, more, GET_HEAD);
  zjit_io_await(io, GET_HEAD_WAIT, GET_HEAD);
}

void zjit_gen_http_get(zjit *j, gcc_jit_struct *resp, const resp_fields *r, zjit_http_get *g) {
  g->st = get_struct(j, resp, g);
  io_fn io;
  zjit_io_begin(&io, j, "zjit_http_get_poll", g->st, g->state_id, g->error, g->ready, GET_DONE);
  get_connect(&io, g, r);
  get_send(&io, g, r);
  get_head(&io, g, r);
  zjit_sm_end(&io.sm);
  g->poll = io.sm.fn;

  gcc_jit_lvalue *s;
  gcc_jit_block *b;
  g->drop = zjit_drop_fn(j, "zjit_http_get_drop", g->st, &s, &b);
  gcc_jit_lvalue *out = zjit_deref(zjit_rv(s), g->out);
  zjit_io_release(j, g->drop, &b, zjit_deref(zjit_rv(s), g->ready), zjit_io_at(out, r->fd));
  gcc_jit_block_end_with_void_return(b, NULL);
}

/* ---- read_body --------------------------------------------------------- */

static gcc_jit_struct *body_struct(zjit *j, gcc_jit_struct *resp, zjit_read_body *rb) {
  rb->state_id = zjit_field(j, j->t_u32, "state_id");
  rb->error = zjit_field(j, j->t_int, "error");
  rb->ready = zjit_field(j, j->t_futurep, "ready");
  rb->body = zjit_field(j, j->t_charp, "body");
  rb->got = zjit_field(j, j->t_i64, "got");
  rb->in = zjit_field(j, gcc_jit_struct_as_type(resp), "in");
  gcc_jit_field *all[] = {rb->state_id, rb->error, rb->ready, rb->body, rb->got, rb->in};
  return zjit_struct(j, "zjit_read_body_state", 6, all);
}

/* BODY_START: allocate the body, keep the bytes that came with the head. */
static void body_start(io_fn *io, const zjit_read_body *rb, const resp_fields *r) {
  zjit_sm *sm = &io->sm;
  zjit *j = sm->j;
  gcc_jit_lvalue *in = zjit_sm_field(sm, rb->in), *body = zjit_sm_field(sm, rb->body);
  gcc_jit_lvalue *have = gcc_jit_function_new_local(sm->fn, NULL, j->t_i64, "have");
  gcc_jit_rvalue *length = zjit_rv(zjit_io_at(in, r->body_length));
  gcc_jit_rvalue *size = zjit_cast(j, zjit_add(j, j->t_i64, length, zjit_io_i64(j, 1)), j->t_size);
  gcc_jit_block *b = sm->cases[BODY_START], *oom = zjit_block(sm, "oom");
  gcc_jit_block *ok = zjit_block(sm, "allocated"), *clamp = zjit_block(sm, "clamp");
  gcc_jit_block *copy = zjit_block(sm, "copy");
  zjit_set(b, body, zjit_cast(j, zjit_call(j, j->malloc_, 1, &size), j->t_charp));
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, zjit_rv(body), gcc_jit_context_null(j->ctx, j->t_charp)),
          oom, ok);
  zjit_io_fail(io, oom, zjit_int(j, j->t_int, ZYNTAX_ENOMEM));
  zjit_set(ok, have, zjit_io_minus(j, j->t_i64, zjit_rv(zjit_io_at(in, r->len)),
                                   zjit_rv(zjit_io_at(in, r->body_at))));
  zjit_if(ok, zjit_cmp(j, GCC_JIT_COMPARISON_GT, zjit_rv(have), length), clamp, copy);
  zjit_set(clamp, have, length);
  gcc_jit_block_end_with_jump(clamp, NULL, copy);
  gcc_jit_rvalue *args[] = {zjit_cast(j, zjit_rv(body), j->t_voidp),
                            zjit_cast(j, zjit_io_elem(j, zjit_io_at(in, r->head),
                                                      zjit_rv(zjit_io_at(in, r->body_at))),
                                      j->t_voidp),
                            zjit_cast(j, zjit_rv(have), j->t_size)};
  zjit_eval(copy, zjit_call(j, j->memcpy_, 3, args));
  zjit_set(copy, zjit_sm_field(sm, rb->got), zjit_rv(have));
  zjit_sm_next(sm, copy, BODY_READ);
}

/* BODY_READ: read_exact(body_length).await, then NUL-terminate. */
static void body_read(io_fn *io, const zjit_read_body *rb, const resp_fields *r) {
  zjit_sm *sm = &io->sm;
  zjit *j = sm->j;
  gcc_jit_lvalue *in = zjit_sm_field(sm, rb->in), *got = zjit_sm_field(sm, rb->got);
  gcc_jit_rvalue *length = zjit_rv(zjit_io_at(in, r->body_length));
  gcc_jit_rvalue *body = zjit_rv(zjit_sm_field(sm, rb->body));
  gcc_jit_lvalue *n = gcc_jit_function_new_local(sm->fn, NULL, j->t_i64, "got_now");
  gcc_jit_block *b = sm->cases[BODY_READ], *done = zjit_block(sm, "body_complete");
  gcc_jit_block *more = zjit_block(sm, "body_more");
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, zjit_rv(got), length), done, more);
  zjit_set(done, gcc_jit_context_new_array_access(j->ctx, NULL, body, zjit_rv(got)),
           zjit_int(j, j->t_char, 0));
  zjit_sm_ready(sm, done, BODY_DONE);
  gcc_jit_rvalue *fd = zjit_rv(zjit_io_at(in, r->fd));
  gcc_jit_rvalue *args[] = {fd, zjit_io_addr(gcc_jit_context_new_array_access(j->ctx, NULL, body, zjit_rv(got))),
                            zjit_io_minus(j, j->t_i64, length, zjit_rv(got))};
  zjit_set(more, n, zjit_call(j, j->shim_recv, 3, args));
  more = zjit_io_step(io, more, zjit_rv(n), fd, ZYNTAX_READABLE, BODY_READ_WAIT);
  zjit_set(more, got, zjit_add(j, j->t_i64, zjit_rv(got), zjit_rv(n)));
  zjit_sm_next(sm, more, BODY_READ);
  zjit_io_await(io, BODY_READ_WAIT, BODY_READ);
}

void zjit_gen_read_body(zjit *j, gcc_jit_struct *resp, const resp_fields *r, zjit_read_body *rb) {
  rb->st = body_struct(j, resp, rb);
  io_fn io;
  zjit_io_begin(&io, j, "zjit_read_body_poll", rb->st, rb->state_id, rb->error, rb->ready, BODY_DONE);
  body_start(&io, rb, r);
  body_read(&io, rb, r);
  zjit_sm_end(&io.sm);
  rb->poll = io.sm.fn;

  gcc_jit_lvalue *s;
  gcc_jit_block *b;
  rb->drop = zjit_drop_fn(j, "zjit_read_body_drop", rb->st, &s, &b);
  gcc_jit_lvalue *in = zjit_deref(zjit_rv(s), rb->in);
  zjit_io_release(j, rb->drop, &b, zjit_deref(zjit_rv(s), rb->ready), zjit_io_at(in, r->fd));
  zjit_free(j, b, zjit_deref(zjit_rv(s), rb->body));
  gcc_jit_block_end_with_void_return(b, NULL);
}
