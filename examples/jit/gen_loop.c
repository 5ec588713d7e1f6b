/* Workload 2: a loop with an await inside, so the machine re-enters the
 * same states on every iteration:
 *
 *   async fn sum_loop(n, delay) -> i64 {
 *       let mut acc = 0;
 *       for i in 0..n { sleep(delay).await; acc += i }   // delay 0: yield
 *       acc
 *   }
 *
 * States: 0 loop head, 1 awaiting the sleep, 2 loop body after the await.
 * delay 0 is the zero-cost await the benchmark uses: wake_by_ref through
 * the waker's vtable and return PENDING once, so a poll costs the state
 * machine and the scheduler, not a timer or an allocation. */
#include "jit.h"

enum { LOOP_HEAD, LOOP_AWAIT, LOOP_BODY, LOOP_DONE };

typedef struct loop_fields {
  gcc_jit_field *state_id, *n, *i, *acc, *delay_ns, *sleep;
} loop_fields;

/* Same fields, same order as zjit_loop_state in jit_layout.h. */
static gcc_jit_struct *loop_struct(zjit *j, loop_fields *f) {
  f->state_id = zjit_field(j, j->t_u32, "state_id");
  f->n = zjit_field(j, j->t_i64, "n");
  f->i = zjit_field(j, j->t_i64, "i");
  f->acc = zjit_field(j, j->t_i64, "acc");
  f->delay_ns = zjit_field(j, j->t_u64, "delay_ns");
  f->sleep = zjit_field(j, j->t_futurep, "sleep");
  gcc_jit_field *all[] = {f->state_id, f->n, f->i, f->acc, f->delay_ns, f->sleep};
  return zjit_struct(j, "zjit_loop_state", 6, all);
}

/* waker->vtable->wake_by_ref(waker->data): future.h's helper, spelled out. */
static void wake_by_ref(zjit_sm *sm, gcc_jit_block *b) {
  zjit *j = sm->j;
  gcc_jit_rvalue *vt = zjit_rv(zjit_deref(sm->waker, j->f_waker_vtable));
  gcc_jit_rvalue *data = zjit_rv(zjit_deref(sm->waker, j->f_waker_data));
  gcc_jit_rvalue *fn = zjit_rv(zjit_deref(vt, j->f_wvt_wake_by_ref));
  zjit_eval(b, gcc_jit_context_new_call_through_ptr(j->ctx, NULL, fn, 1, &data));
}

static void loop_head(zjit_sm *sm, const loop_fields *f) {
  zjit *j = sm->j;
  gcc_jit_block *head = sm->cases[LOOP_HEAD], *more = zjit_block(sm, "more");
  gcc_jit_block *done = zjit_block(sm, "loop_done"), *yield = zjit_block(sm, "yield");
  gcc_jit_block *sleep = zjit_block(sm, "sleep");
  zjit_if(head, zjit_cmp(j, GCC_JIT_COMPARISON_GE, zjit_rv(zjit_sm_field(sm, f->i)),
                         zjit_rv(zjit_sm_field(sm, f->n))),
          done, more);
  zjit_sm_ready(sm, done, LOOP_DONE);
  gcc_jit_rvalue *delay = zjit_rv(zjit_sm_field(sm, f->delay_ns));
  zjit_if(more, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, delay, zjit_int(j, j->t_u64, 0)), yield, sleep);
  wake_by_ref(sm, yield);
  zjit_set(yield, zjit_sm_field(sm, f->state_id), zjit_int(j, j->t_u32, LOOP_BODY));
  zjit_sm_pending(sm, yield);
  gcc_jit_rvalue *args[] = {zjit_current(j), delay};
  zjit_make(j, sleep, j->sleep_future, 2, args, zjit_sm_field(sm, f->sleep));
  zjit_sm_next(sm, sleep, LOOP_AWAIT);
}

static void loop_body(zjit_sm *sm, const loop_fields *f) {
  zjit *j = sm->j;
  gcc_jit_block *b = sm->cases[LOOP_BODY];
  gcc_jit_lvalue *acc = zjit_sm_field(sm, f->acc), *i = zjit_sm_field(sm, f->i);
  zjit_set(b, acc, zjit_add(j, j->t_i64, zjit_rv(acc), zjit_rv(i)));
  zjit_set(b, i, zjit_add(j, j->t_i64, zjit_rv(i), zjit_int(j, j->t_i64, 1)));
  zjit_sm_next(sm, b, LOOP_HEAD);
}

/* Drop glue: the sleep is the only thing a cancelled loop can own. */
static void loop_drop(zjit *j, gcc_jit_struct *st, const loop_fields *f) {
  gcc_jit_lvalue *s;
  gcc_jit_block *b;
  zjit_drop_fn(j, "zjit_loop_drop", st, &s, &b);
  zjit_drop_future(j, b, zjit_deref(zjit_rv(s), f->sleep));
  gcc_jit_block_end_with_void_return(b, NULL);
}

void zjit_gen_loop(zjit *j) {
  loop_fields f;
  gcc_jit_struct *st = loop_struct(j, &f);
  zjit_sm sm;
  zjit_sm_begin(&sm, j, "zjit_loop_poll", st, f.state_id, LOOP_DONE);
  loop_head(&sm, &f);
  zjit_sm_next(&sm, zjit_sm_await(&sm, sm.cases[LOOP_AWAIT], f.sleep, NULL), LOOP_BODY);
  loop_body(&sm, &f);
  zjit_sm_end(&sm);
  loop_drop(j, st, &f);
  zjit_gen_sizeof(j, "zjit_loop_sizeof", st);
}
