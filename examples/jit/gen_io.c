/* The I/O pieces the generated HTTP client's async fns share: the response
 * layout, failing into the done state, a non-blocking syscall's result
 * turned into "progress / await readiness / fail", the readiness await
 * state, and the drop glue for a connection. */
#include "gen_io.h"

#include <errno.h>

gcc_jit_struct *zjit_io_resp_struct(zjit *j, resp_fields *f) {
  f->fd = zjit_field(j, j->t_int, "fd");
  f->len = zjit_field(j, j->t_i64, "len");
  f->body_at = zjit_field(j, j->t_i64, "body_at");
  f->body_length = zjit_field(j, j->t_i64, "body_length");
  f->head = zjit_field(j, zjit_array(j, j->t_char, 2048), "head");
  gcc_jit_field *all[] = {f->fd, f->len, f->body_at, f->body_length, f->head};
  return zjit_struct(j, "zjit_response", 5, all);
}

gcc_jit_lvalue *zjit_io_at(gcc_jit_lvalue *lv, gcc_jit_field *f) {
  return gcc_jit_lvalue_access_field(lv, NULL, f);
}

gcc_jit_rvalue *zjit_io_addr(gcc_jit_lvalue *lv) { return gcc_jit_lvalue_get_address(lv, NULL); }

/* &array[index] */
gcc_jit_rvalue *zjit_io_elem(zjit *j, gcc_jit_lvalue *array, gcc_jit_rvalue *index) {
  return zjit_io_addr(gcc_jit_context_new_array_access(j->ctx, NULL, zjit_rv(array), index));
}

gcc_jit_rvalue *zjit_io_i64(zjit *j, long v) { return zjit_int(j, j->t_i64, v); }

gcc_jit_rvalue *zjit_io_minus(zjit *j, gcc_jit_type *t, gcc_jit_rvalue *a, gcc_jit_rvalue *b) {
  return gcc_jit_context_new_binary_op(j->ctx, NULL, GCC_JIT_BINARY_OP_MINUS, t, a, b);
}

static gcc_jit_rvalue *neg(zjit *j, gcc_jit_type *t, gcc_jit_rvalue *v) {
  return gcc_jit_context_new_unary_op(j->ctx, NULL, GCC_JIT_UNARY_OP_MINUS, t, v);
}

/* error = err (an errno value or ZYNTAX_E*); READY in the done state. */
void zjit_io_begin(io_fn *io, zjit *j, const char *name, gcc_jit_struct *st,
                   gcc_jit_field *state_id, gcc_jit_field *error, gcc_jit_field *ready, int done) {
  *io = (io_fn){.state_id = state_id, .error = error, .ready = ready, .done = done};
  zjit_sm_begin(&io->sm, j, name, st, state_id, done);
}

void zjit_io_fail(io_fn *io, gcc_jit_block *b, gcc_jit_rvalue *err) {
  zjit_set(b, zjit_sm_field(&io->sm, io->error), zjit_cast(io->sm.j, err, io->sm.j->t_int));
  zjit_sm_ready(&io->sm, b, io->done);
}

/* After a non-blocking syscall returned `n`: > 0 continues in the returned
 * block; 0 (EOF) fails with ECONNRESET; -EAGAIN creates the readiness
 * future and moves to `wait_state`; any other -errno fails. */
gcc_jit_block *zjit_io_step(io_fn *io, gcc_jit_block *b, gcc_jit_rvalue *n, gcc_jit_rvalue *fd,
                              unsigned events, int wait_state) {
  zjit *j = io->sm.j;
  gcc_jit_block *progress = zjit_block(&io->sm, "progress"), *not = zjit_block(&io->sm, "no_progress");
  gcc_jit_block *eof = zjit_block(&io->sm, "eof"), *err = zjit_block(&io->sm, "error");
  gcc_jit_block *again = zjit_block(&io->sm, "eagain"), *other = zjit_block(&io->sm, "other");
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_GT, n, zjit_io_i64(j, 0)), progress, not);
  zjit_if(not, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, n, zjit_io_i64(j, 0)), eof, err);
  zjit_io_fail(io, eof, zjit_int(j, j->t_int, ECONNRESET));
  zjit_if(err, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, n, zjit_io_i64(j, -EAGAIN)), again, other);
  zjit_io_fail(io, other, neg(j, j->t_i64, n));
  gcc_jit_rvalue *args[] = {zjit_current(j), fd, zjit_int(j, j->t_uint, (long)events)};
  zjit_make(j, again, j->fd_wait_future, 3, args, zjit_sm_field(&io->sm, io->ready));
  zjit_sm_next(&io->sm, again, wait_state);
  return progress;
}

/* The readiness await state: READY with events continues at `next`, a
 * negative result (including a failed fd_wait) fails the fn. */
void zjit_io_await(io_fn *io, int state, int next) {
  zjit *j = io->sm.j;
  gcc_jit_lvalue *res = gcc_jit_function_new_local(io->sm.fn, NULL, j->t_int, "ready_result");
  gcc_jit_block *b = zjit_sm_await(&io->sm, io->sm.cases[state], io->ready, res);
  gcc_jit_block *ok = zjit_block(&io->sm, "ready"), *bad = zjit_block(&io->sm, "not_ready");
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_LT, zjit_rv(res), zjit_int(j, j->t_int, 0)), bad, ok);
  zjit_io_fail(io, bad, zjit_rv(res));
  zjit_sm_next(&io->sm, ok, next);
}

/* Drop glue shared by http_get and read_body: the readiness future and the
 * connection they may own. */
void zjit_io_release(zjit *j, gcc_jit_function *fn, gcc_jit_block **b, gcc_jit_lvalue *ready,
                       gcc_jit_lvalue *fd) {
  zjit_drop_future(j, *b, ready);
  gcc_jit_block *open = gcc_jit_function_new_block(fn, "open"), *end = gcc_jit_function_new_block(fn, "closed");
  zjit_if(*b, zjit_cmp(j, GCC_JIT_COMPARISON_GE, zjit_rv(fd), zjit_int(j, j->t_int, 0)), open, end);
  gcc_jit_rvalue *arg = zjit_rv(fd);
  zjit_eval(open, zjit_call(j, j->close_, 1, &arg));
  zjit_set(open, fd, zjit_int(j, j->t_int, -1));
  gcc_jit_block_end_with_jump(open, NULL, end);
  *b = end;
}

