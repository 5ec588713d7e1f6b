/* Workload 1: the seed's fetch_data, generated:
 *
 *   async fn fetch_data(url: String) -> String {
 *       let response = http_get(url).await;
 *       let body = read_body(response).await;
 *       body
 *   }
 *
 * Its nested futures are the generated http_get and read_body (gen_http.c),
 * embedded in its state as a union - one await point is live at a time, as
 * Rust lays out its generators - and polled by a direct call with the same
 * borrowed waker. */
#include "gen_io.h"

enum { FETCH_START, FETCH_GET, FETCH_READ, FETCH_DONE };

typedef struct fetch_gen {
  zjit_sm sm;
  gcc_jit_field *state_id, *error, *url, *body, *await, *get, *read;
  zjit_http_get g;
  zjit_read_body rb;
  resp_fields r;
  gcc_jit_struct *resp;
} fetch_gen;

static gcc_jit_struct *fetch_struct(zjit *j, fetch_gen *f) {
  f->state_id = zjit_field(j, j->t_u32, "state_id");
  f->error = zjit_field(j, j->t_int, "error");
  f->url = zjit_field(j, j->t_charp, "url");
  f->body = zjit_field(j, j->t_charp, "body");
  f->get = zjit_field(j, gcc_jit_struct_as_type(f->g.st), "get");
  f->read = zjit_field(j, gcc_jit_struct_as_type(f->rb.st), "read");
  gcc_jit_field *u[] = {f->get, f->read};
  f->await = zjit_field(j, gcc_jit_context_new_union_type(j->ctx, NULL, "zjit_fetch_await", 2, u),
                        "await");
  gcc_jit_field *all[] = {f->state_id, f->error, f->url, f->body, f->await};
  return zjit_struct(j, "zjit_fetch_state", 5, all);
}

/* s->await.get / s->await.read */
static gcc_jit_lvalue *nested(fetch_gen *f, gcc_jit_field *which) {
  return zjit_io_at(zjit_sm_field(&f->sm, f->await), which);
}

/* Polls a nested generated future; PENDING returns, READY continues in the
 * returned block. */
static gcc_jit_block *await_nested(fetch_gen *f, gcc_jit_block *b, gcc_jit_function *poll,
                                   gcc_jit_lvalue *state) {
  zjit *j = f->sm.j;
  gcc_jit_rvalue *args[] = {zjit_cast(j, zjit_io_addr(state), j->t_voidp), f->sm.waker};
  gcc_jit_block *pending = zjit_block(&f->sm, "nested_pending"), *ready = zjit_block(&f->sm, "nested_ready");
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, zjit_call(j, poll, 2, args),
                      zjit_int(j, j->t_int, ZYNTAX_PENDING)),
          pending, ready);
  zjit_sm_pending(&f->sm, pending);
  return ready;
}

static void call_drop(zjit *j, gcc_jit_block *b, gcc_jit_function *drop, gcc_jit_lvalue *state) {
  gcc_jit_rvalue *arg = zjit_cast(j, zjit_io_addr(state), j->t_voidp);
  zjit_eval(b, zjit_call(j, drop, 1, &arg));
}

/* FETCH_START: construct http_get(url) in place. */
static void fetch_start(fetch_gen *f) {
  zjit *j = f->sm.j;
  gcc_jit_block *b = f->sm.cases[FETCH_START];
  gcc_jit_lvalue *g = nested(f, f->get), *out = zjit_io_at(g, f->g.out);
  zjit_set(b, zjit_io_at(g, f->g.state_id), zjit_int(j, j->t_u32, 0));
  zjit_set(b, zjit_io_at(g, f->g.error), zjit_int(j, j->t_int, 0));
  zjit_set(b, zjit_io_at(g, f->g.url), zjit_rv(zjit_sm_field(&f->sm, f->url)));
  zjit_set(b, zjit_io_at(g, f->g.ready), gcc_jit_context_null(j->ctx, j->t_futurep));
  zjit_set(b, zjit_io_at(g, f->g.request_len), zjit_io_i64(j, 0));
  zjit_set(b, zjit_io_at(g, f->g.sent), zjit_io_i64(j, 0));
  zjit_set(b, zjit_io_at(out, f->r.fd), zjit_int(j, j->t_int, -1));
  zjit_set(b, zjit_io_at(out, f->r.len), zjit_io_i64(j, 0));
  zjit_sm_next(&f->sm, b, FETCH_GET);
}

/* FETCH_GET: `let response = http_get(url).await;` then move the response
 * out of http_get (which is dropped) into a new read_body. */
static void fetch_get(fetch_gen *f) {
  zjit *j = f->sm.j;
  gcc_jit_lvalue *g = nested(f, f->get), *rd = nested(f, f->read);
  gcc_jit_block *b = await_nested(f, f->sm.cases[FETCH_GET], f->g.poll, g);
  gcc_jit_block *failed = zjit_block(&f->sm, "get_failed"), *ok = zjit_block(&f->sm, "got_response");
  gcc_jit_rvalue *err = zjit_rv(zjit_io_at(g, f->g.error));
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_NE, err, zjit_int(j, j->t_int, 0)), failed, ok);
  zjit_set(failed, zjit_sm_field(&f->sm, f->error), err);
  call_drop(j, failed, f->g.drop, g);
  zjit_sm_ready(&f->sm, failed, FETCH_DONE);

  gcc_jit_lvalue *moved = gcc_jit_function_new_local(f->sm.fn, NULL,
                                                     gcc_jit_struct_as_type(f->resp), "response");
  gcc_jit_lvalue *out = zjit_io_at(g, f->g.out);
  zjit_set(ok, moved, zjit_rv(out));
  zjit_set(ok, zjit_io_at(out, f->r.fd), zjit_int(j, j->t_int, -1)); /* moved: not closed */
  call_drop(j, ok, f->g.drop, g);
  zjit_set(ok, zjit_io_at(rd, f->rb.state_id), zjit_int(j, j->t_u32, 0));
  zjit_set(ok, zjit_io_at(rd, f->rb.error), zjit_int(j, j->t_int, 0));
  zjit_set(ok, zjit_io_at(rd, f->rb.ready), gcc_jit_context_null(j->ctx, j->t_futurep));
  zjit_set(ok, zjit_io_at(rd, f->rb.body), gcc_jit_context_null(j->ctx, j->t_charp));
  zjit_set(ok, zjit_io_at(rd, f->rb.got), zjit_io_i64(j, 0));
  zjit_set(ok, zjit_io_at(rd, f->rb.in), zjit_rv(moved));
  zjit_sm_next(&f->sm, ok, FETCH_READ);
}

/* FETCH_READ: `let body = read_body(response).await; body` - the body moves
 * out into fetch_data's result before read_body is dropped. */
static void fetch_read(fetch_gen *f) {
  zjit *j = f->sm.j;
  gcc_jit_lvalue *rd = nested(f, f->read), *body = zjit_io_at(rd, f->rb.body);
  gcc_jit_block *b = await_nested(f, f->sm.cases[FETCH_READ], f->rb.poll, rd);
  zjit_set(b, zjit_sm_field(&f->sm, f->error), zjit_rv(zjit_io_at(rd, f->rb.error)));
  zjit_set(b, zjit_sm_field(&f->sm, f->body), zjit_rv(body));
  zjit_set(b, body, gcc_jit_context_null(j->ctx, j->t_charp));
  call_drop(j, b, f->rb.drop, rd);
  zjit_sm_ready(&f->sm, b, FETCH_DONE);
}

/* Drop glue: the nested future live in the current state, then the result. */
static void fetch_drop(zjit *j, fetch_gen *f, gcc_jit_struct *st) {
  gcc_jit_lvalue *s;
  gcc_jit_block *b;
  gcc_jit_function *fn = zjit_drop_fn(j, "zjit_fetch_drop", st, &s, &b);
  gcc_jit_lvalue *id = zjit_deref(zjit_rv(s), f->state_id), *await = zjit_deref(zjit_rv(s), f->await);
  gcc_jit_block *get = gcc_jit_function_new_block(fn, "drop_get");
  gcc_jit_block *read = gcc_jit_function_new_block(fn, "drop_read");
  gcc_jit_block *rest = gcc_jit_function_new_block(fn, "drop_result");
  gcc_jit_case *cases[] = {
      gcc_jit_context_new_case(j->ctx, zjit_int(j, j->t_u32, FETCH_GET), zjit_int(j, j->t_u32, FETCH_GET), get),
      gcc_jit_context_new_case(j->ctx, zjit_int(j, j->t_u32, FETCH_READ), zjit_int(j, j->t_u32, FETCH_READ), read)};
  gcc_jit_block_end_with_switch(b, NULL, zjit_rv(id), rest, 2, cases);
  call_drop(j, get, f->g.drop, zjit_io_at(await, f->get));
  gcc_jit_block_end_with_jump(get, NULL, rest);
  call_drop(j, read, f->rb.drop, zjit_io_at(await, f->read));
  gcc_jit_block_end_with_jump(read, NULL, rest);
  zjit_set(rest, id, zjit_int(j, j->t_u32, FETCH_DONE));
  zjit_free(j, rest, zjit_deref(zjit_rv(s), f->body));
  gcc_jit_block_end_with_void_return(rest, NULL);
}

void zjit_gen_fetch(zjit *j) {
  fetch_gen f;
  f.resp = zjit_io_resp_struct(j, &f.r);
  zjit_gen_http_get(j, f.resp, &f.r, &f.g);
  zjit_gen_read_body(j, f.resp, &f.r, &f.rb);
  gcc_jit_struct *st = fetch_struct(j, &f);
  zjit_sm_begin(&f.sm, j, "zjit_fetch_poll", st, f.state_id, FETCH_DONE);
  fetch_start(&f);
  fetch_get(&f);
  fetch_read(&f);
  zjit_sm_end(&f.sm);
  fetch_drop(j, &f, st);
  zjit_gen_sizeof(j, "zjit_fetch_sizeof", st);
}
