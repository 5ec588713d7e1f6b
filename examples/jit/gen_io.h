/* Shared by gen_http.c and gen_fetch.c; see gen_io.c. */
#ifndef ZYNTAX_EXAMPLES_JIT_GEN_IO_H
#define ZYNTAX_EXAMPLES_JIT_GEN_IO_H

#include "jit.h"

/* zjit_response, zjit_http_get_state, zjit_read_body_state,
 * zjit_fetch_state of jit_layout.h, field for field. */
typedef struct resp_fields {
  gcc_jit_field *fd, *len, *body_at, *body_length, *head;
} resp_fields;

/* What every state struct here starts with, and how it fails. */
typedef struct io_fn {
  zjit_sm sm;
  gcc_jit_field *state_id, *error, *ready;
  int done;
} io_fn;

gcc_jit_struct *zjit_io_resp_struct(zjit *j, resp_fields *f);
gcc_jit_lvalue *zjit_io_at(gcc_jit_lvalue *lv, gcc_jit_field *f); /* lv.f */
gcc_jit_rvalue *zjit_io_addr(gcc_jit_lvalue *lv);                  /* &lv */
gcc_jit_rvalue *zjit_io_elem(zjit *j, gcc_jit_lvalue *array, gcc_jit_rvalue *index);
gcc_jit_rvalue *zjit_io_i64(zjit *j, long v);
gcc_jit_rvalue *zjit_io_minus(zjit *j, gcc_jit_type *t, gcc_jit_rvalue *a, gcc_jit_rvalue *b);
/* Starts the poll function `name` of an I/O async fn (see zjit_sm_begin). */
void zjit_io_begin(io_fn *io, zjit *j, const char *name, gcc_jit_struct *st,
                   gcc_jit_field *state_id, gcc_jit_field *error, gcc_jit_field *ready, int done);
/* error = err; READY in io->done. */
void zjit_io_fail(io_fn *io, gcc_jit_block *b, gcc_jit_rvalue *err);
/* A syscall returned n: > 0 continues in the returned block, 0 fails with
 * ECONNRESET, -EAGAIN arms fd_wait(fd, events) and moves to wait_state,
 * another -errno fails. */
gcc_jit_block *zjit_io_step(io_fn *io, gcc_jit_block *b, gcc_jit_rvalue *n, gcc_jit_rvalue *fd,
                            unsigned events, int wait_state);
/* Fills case `state`: await io->ready, then `next` (or fail on < 0). */
void zjit_io_await(io_fn *io, int state, int next);
/* Drop glue: drop *ready, close fd if >= 0; *b is the block to continue in. */
void zjit_io_release(zjit *j, gcc_jit_function *fn, gcc_jit_block **b, gcc_jit_lvalue *ready,
                     gcc_jit_lvalue *fd);

/* gen_http.c: the generated async fns fetch_data awaits. */
typedef struct zjit_http_get {
  gcc_jit_struct *st;
  gcc_jit_field *state_id, *error, *url, *ready, *request_len, *sent, *request, *out;
  gcc_jit_function *poll, *drop;
} zjit_http_get;

typedef struct zjit_read_body {
  gcc_jit_struct *st;
  gcc_jit_field *state_id, *error, *ready, *body, *got, *in;
  gcc_jit_function *poll, *drop;
} zjit_read_body;

void zjit_gen_http_get(zjit *j, gcc_jit_struct *resp, const resp_fields *r, zjit_http_get *g);
void zjit_gen_read_body(zjit *j, gcc_jit_struct *resp, const resp_fields *r, zjit_read_body *b);

#endif
