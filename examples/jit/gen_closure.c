/* Workload 4: an async closure. Its captured environment lives in the
 * state struct beside the locals:
 *
 *   let name = String::from("captured");
 *   let c = async move |x| { sleep(delay).await; name.len() + x };
 *
 * `name` is owned by the closure's state (moved in); the drop glue frees it
 * exactly once whether the future completed or was cancelled mid-await,
 * and bumps *drops so the host can count. The state itself belongs to
 * whoever allocated it (the host here), so the drop does not free it. */
#include "jit.h"

enum { CLOSURE_START, CLOSURE_AWAIT, CLOSURE_BODY, CLOSURE_DONE };

typedef struct closure_fields {
  gcc_jit_field *state_id, *x, *name, *drops, *delay_ns, *sleep, *result;
} closure_fields;

static gcc_jit_struct *closure_struct(zjit *j, closure_fields *f) {
  f->state_id = zjit_field(j, j->t_u32, "state_id");
  f->x = zjit_field(j, j->t_i64, "x");
  f->name = zjit_field(j, j->t_charp, "name");
  f->drops = zjit_field(j, j->t_i64p, "drops");
  f->delay_ns = zjit_field(j, j->t_u64, "delay_ns");
  f->sleep = zjit_field(j, j->t_futurep, "sleep");
  f->result = zjit_field(j, j->t_i64, "result");
  gcc_jit_field *all[] = {f->state_id, f->x, f->name, f->drops, f->delay_ns, f->sleep, f->result};
  return zjit_struct(j, "zjit_closure_state", 7, all);
}

static void closure_poll(zjit *j, gcc_jit_struct *st, const closure_fields *f) {
  zjit_sm sm;
  zjit_sm_begin(&sm, j, "zjit_closure_poll", st, f->state_id, CLOSURE_DONE);
  gcc_jit_block *b = sm.cases[CLOSURE_START];
  gcc_jit_rvalue *args[] = {zjit_current(j), zjit_rv(zjit_sm_field(&sm, f->delay_ns))};
  zjit_make(j, b, j->sleep_future, 2, args, zjit_sm_field(&sm, f->sleep));
  zjit_sm_next(&sm, b, CLOSURE_AWAIT);
  zjit_sm_next(&sm, zjit_sm_await(&sm, sm.cases[CLOSURE_AWAIT], f->sleep, NULL), CLOSURE_BODY);
  b = sm.cases[CLOSURE_BODY];
  gcc_jit_rvalue *name = zjit_rv(zjit_sm_field(&sm, f->name));
  gcc_jit_rvalue *len = zjit_cast(j, zjit_call(j, j->strlen_, 1, &name), j->t_i64);
  zjit_set(b, zjit_sm_field(&sm, f->result),
           zjit_add(j, j->t_i64, len, zjit_rv(zjit_sm_field(&sm, f->x))));
  zjit_sm_ready(&sm, b, CLOSURE_DONE);
  zjit_sm_end(&sm);
}

/* Drop glue: the live local (the sleep, when cancelled mid-await), then the
 * captures. */
static void closure_drop(zjit *j, gcc_jit_struct *st, const closure_fields *f) {
  gcc_jit_lvalue *s;
  gcc_jit_block *b;
  zjit_drop_fn(j, "zjit_closure_drop", st, &s, &b);
  zjit_drop_future(j, b, zjit_deref(zjit_rv(s), f->sleep));
  zjit_free(j, b, zjit_deref(zjit_rv(s), f->name));
  gcc_jit_lvalue *drops = gcc_jit_rvalue_dereference(zjit_rv(zjit_deref(zjit_rv(s), f->drops)), NULL);
  zjit_set(b, drops, zjit_add(j, j->t_i64, zjit_rv(drops), zjit_int(j, j->t_i64, 1)));
  gcc_jit_block_end_with_void_return(b, NULL);
}

void zjit_gen_closure(zjit *j) {
  closure_fields f;
  gcc_jit_struct *st = closure_struct(j, &f);
  closure_poll(j, st, &f);
  closure_drop(j, st, &f);
  zjit_gen_sizeof(j, "zjit_closure_sizeof", st);
}
