/* Workload 3: an async fn that spawns children and joins them - nested
 * futures where the nested future is a join handle (join-as-a-future) and
 * the children are themselves generated poll functions:
 *
 *   async fn child(k) -> i64 { sleep((8 - k) * 100us).await; k * k + 1 }
 *   async fn parent(n) -> i64 {
 *       let tasks = (0..n).map(|k| spawn(child(k)));
 *       let mut acc = 0;
 *       for t in tasks { acc += t.await? }   // join, then read the child's state
 *       acc
 *   }
 *
 * Children finish in reverse order, so joins find both finished and
 * running tasks. The child's vtable is a generated constant (a global
 * initialised with the addresses of generated functions). */
#include "jit.h"

enum { CHILD_START, CHILD_AWAIT, CHILD_RESULT, CHILD_DONE };
enum { JOIN_SPAWN, JOIN_START, JOIN_AWAIT, JOIN_DONE };

typedef struct child_fields {
  gcc_jit_field *state_id, *k, *result, *sleep;
} child_fields;

typedef struct join_fields {
  gcc_jit_field *state_id, *error, *n, *i, *acc, *join, *tasks;
} join_fields;

static gcc_jit_struct *child_struct(zjit *j, child_fields *f) {
  f->state_id = zjit_field(j, j->t_u32, "state_id");
  f->k = zjit_field(j, j->t_i64, "k");
  f->result = zjit_field(j, j->t_i64, "result");
  f->sleep = zjit_field(j, j->t_futurep, "sleep");
  gcc_jit_field *all[] = {f->state_id, f->k, f->result, f->sleep};
  return zjit_struct(j, "zjit_child_state", 4, all);
}

static gcc_jit_struct *join_struct(zjit *j, join_fields *f) {
  f->state_id = zjit_field(j, j->t_u32, "state_id");
  f->error = zjit_field(j, j->t_int, "error");
  f->n = zjit_field(j, j->t_i64, "n");
  f->i = zjit_field(j, j->t_i64, "i");
  f->acc = zjit_field(j, j->t_i64, "acc");
  f->join = zjit_field(j, j->t_futurep, "join");
  f->tasks = zjit_field(j, zjit_array(j, j->t_task, ZJIT_MAX_CHILDREN), "tasks");
  gcc_jit_field *all[] = {f->state_id, f->error, f->n, f->i, f->acc, f->join, f->tasks};
  return zjit_struct(j, "zjit_join_state", 7, all);
}

static gcc_jit_rvalue *mul(zjit *j, gcc_jit_rvalue *a, gcc_jit_rvalue *b) {
  return gcc_jit_context_new_binary_op(j->ctx, NULL, GCC_JIT_BINARY_OP_MULT, j->t_i64, a, b);
}

static gcc_jit_rvalue *sub(zjit *j, gcc_jit_rvalue *a, gcc_jit_rvalue *b) {
  return gcc_jit_context_new_binary_op(j->ctx, NULL, GCC_JIT_BINARY_OP_MINUS, j->t_i64, a, b);
}

/* The child's poll function and drop; the drop frees the state, which the
 * parent allocated and handed to the task. */
static gcc_jit_lvalue *gen_child(zjit *j, gcc_jit_struct *st, const child_fields *f) {
  zjit_sm sm;
  zjit_sm_begin(&sm, j, "zjit_child_poll", st, f->state_id, CHILD_DONE);
  gcc_jit_block *b = sm.cases[CHILD_START];
  gcc_jit_rvalue *k = zjit_rv(zjit_sm_field(&sm, f->k));
  gcc_jit_rvalue *delay = mul(j, sub(j, zjit_int(j, j->t_i64, 8), k), zjit_int(j, j->t_i64, 100000));
  gcc_jit_rvalue *args[] = {zjit_current(j), zjit_cast(j, delay, j->t_u64)};
  zjit_make(j, b, j->sleep_future, 2, args, zjit_sm_field(&sm, f->sleep));
  zjit_sm_next(&sm, b, CHILD_AWAIT);
  zjit_sm_next(&sm, zjit_sm_await(&sm, sm.cases[CHILD_AWAIT], f->sleep, NULL), CHILD_RESULT);
  b = sm.cases[CHILD_RESULT];
  zjit_set(b, zjit_sm_field(&sm, f->result), zjit_add(j, j->t_i64, mul(j, k, k), zjit_int(j, j->t_i64, 1)));
  zjit_sm_ready(&sm, b, CHILD_DONE);
  zjit_sm_end(&sm);

  gcc_jit_lvalue *s;
  gcc_jit_function *drop = zjit_drop_fn(j, "zjit_child_drop", st, &s, &b);
  zjit_drop_future(j, b, zjit_deref(zjit_rv(s), f->sleep));
  gcc_jit_rvalue *state = zjit_cast(j, zjit_rv(s), j->t_voidp);
  zjit_eval(b, zjit_call(j, j->free_, 1, &state));
  gcc_jit_block_end_with_void_return(b, NULL);

  /* static const zyntax_future_vtable zjit_child_vtable = {poll, drop}; */
  gcc_jit_lvalue *vt = gcc_jit_context_new_global(
      j->ctx, NULL, GCC_JIT_GLOBAL_INTERNAL, gcc_jit_type_get_const(j->t_fvtable), "zjit_child_vtable");
  gcc_jit_field *fields[] = {j->f_fvt_poll, j->f_fvt_drop};
  /* Each function's address has its own (structurally equal) pointer
   * type; the vtable's field types are the ones jit_context.c declared. */
  gcc_jit_rvalue *values[] = {
      zjit_cast(j, gcc_jit_function_get_address(sm.fn, NULL), j->t_poll_fn),
      zjit_cast(j, gcc_jit_function_get_address(drop, NULL), j->t_drop_fn)};
  gcc_jit_global_set_initializer_rvalue(
      vt, gcc_jit_context_new_struct_constructor(j->ctx, NULL, j->t_fvtable, 2, fields, values));
  return vt;
}

/* State JOIN_SPAWN, once per child: allocate its state, spawn it with the
 * generated vtable; when all are spawned, start joining from the first. */
static void join_spawn(zjit_sm *sm, const join_fields *f, gcc_jit_struct *child,
                       const child_fields *cf, gcc_jit_lvalue *child_vt) {
  zjit *j = sm->j;
  gcc_jit_block *b = sm->cases[JOIN_SPAWN], *one = zjit_block(sm, "spawn_one");
  gcc_jit_block *all = zjit_block(sm, "spawned_all"), *failed = zjit_block(sm, "spawn_failed");
  gcc_jit_block *spawned = zjit_block(sm, "spawned");
  gcc_jit_lvalue *i = zjit_sm_field(sm, f->i), *n = zjit_sm_field(sm, f->n);
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_LT, zjit_rv(i), zjit_rv(n)), one, all);
  zjit_set(all, i, zjit_int(j, j->t_i64, 0));
  zjit_sm_next(sm, all, JOIN_START);

  gcc_jit_type *cp = gcc_jit_type_get_pointer(gcc_jit_struct_as_type(child));
  gcc_jit_lvalue *c = gcc_jit_function_new_local(sm->fn, NULL, cp, "child");
  gcc_jit_rvalue *size = zjit_sizeof(j, child);
  gcc_jit_block *init = zjit_block(sm, "child_init");
  zjit_set(one, c, zjit_cast(j, zjit_call(j, j->malloc_, 1, &size), cp));
  zjit_if(one, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, zjit_rv(c), gcc_jit_context_null(j->ctx, cp)),
          failed, init);
  zjit_set(init, zjit_deref(zjit_rv(c), cf->state_id), zjit_int(j, j->t_u32, CHILD_START));
  zjit_set(init, zjit_deref(zjit_rv(c), cf->k), zjit_rv(i));
  zjit_set(init, zjit_deref(zjit_rv(c), cf->sleep), gcc_jit_context_null(j->ctx, j->t_futurep));
  gcc_jit_lvalue *slot = gcc_jit_context_new_array_access(
      j->ctx, NULL, zjit_rv(zjit_sm_field(sm, f->tasks)), zjit_rv(i));
  gcc_jit_rvalue *args[] = {zjit_current(j), zjit_cast(j, zjit_rv(c), j->t_voidp),
                            gcc_jit_lvalue_get_address(child_vt, NULL)};
  zjit_make(j, init, j->spawn_future, 3, args, slot);
  zjit_if(init, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, zjit_rv(slot), gcc_jit_context_null(j->ctx, j->t_task)),
          failed, spawned);
  /* Out of memory, or the spawn failed and the state stayed ours: free it
   * (free(NULL) when malloc failed), stop spawning, join what runs. */
  gcc_jit_rvalue *cv = zjit_cast(j, zjit_rv(c), j->t_voidp);
  zjit_eval(failed, zjit_call(j, j->free_, 1, &cv));
  zjit_set(failed, zjit_sm_field(sm, f->error), zjit_int(j, j->t_int, ZYNTAX_ENOMEM));
  zjit_set(failed, n, zjit_rv(i));
  zjit_sm_next(sm, failed, JOIN_SPAWN);
  zjit_set(spawned, i, zjit_add(j, j->t_i64, zjit_rv(i), zjit_int(j, j->t_i64, 1)));
  zjit_sm_next(sm, spawned, JOIN_SPAWN);
}

/* JOIN_START: create the join future of tasks[i] (or finish). */
static void join_start(zjit_sm *sm, const join_fields *f) {
  zjit *j = sm->j;
  gcc_jit_block *b = sm->cases[JOIN_START], *next = zjit_block(sm, "join_next");
  gcc_jit_block *done = zjit_block(sm, "joined_all");
  gcc_jit_lvalue *i = zjit_sm_field(sm, f->i);
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_LT, zjit_rv(i), zjit_rv(zjit_sm_field(sm, f->n))),
          next, done);
  zjit_sm_ready(sm, done, JOIN_DONE);
  gcc_jit_rvalue *task = zjit_rv(gcc_jit_context_new_array_access(
      j->ctx, NULL, zjit_rv(zjit_sm_field(sm, f->tasks)), zjit_rv(i)));
  zjit_make(j, next, j->task_join_future, 1, &task, zjit_sm_field(sm, f->join));
  zjit_sm_next(sm, next, JOIN_AWAIT);
}

/* JOIN_AWAIT: `acc += tasks[i].await`: on outcome 0 read the child's
 * result from its state, then drop the handle (that runs its drop glue). */
static void join_await(zjit_sm *sm, const join_fields *f, gcc_jit_struct *child,
                       const child_fields *cf) {
  zjit *j = sm->j;
  gcc_jit_lvalue *outcome = gcc_jit_function_new_local(sm->fn, NULL, j->t_int, "outcome");
  gcc_jit_block *b = zjit_sm_await(sm, sm->cases[JOIN_AWAIT], f->join, outcome);
  gcc_jit_block *ok = zjit_block(sm, "child_ok"), *bad = zjit_block(sm, "child_failed");
  gcc_jit_block *release = zjit_block(sm, "child_release");
  gcc_jit_lvalue *i = zjit_sm_field(sm, f->i);
  gcc_jit_lvalue *slot = gcc_jit_context_new_array_access(
      j->ctx, NULL, zjit_rv(zjit_sm_field(sm, f->tasks)), zjit_rv(i));
  gcc_jit_rvalue *task = zjit_rv(slot);
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, zjit_rv(outcome), zjit_int(j, j->t_int, 0)), ok, bad);
  gcc_jit_type *cp = gcc_jit_type_get_pointer(gcc_jit_struct_as_type(child));
  gcc_jit_rvalue *cs = zjit_cast(j, zjit_call(j, j->task_state, 1, &task), cp);
  gcc_jit_lvalue *acc = zjit_sm_field(sm, f->acc);
  zjit_set(ok, acc, zjit_add(j, j->t_i64, zjit_rv(acc), zjit_rv(zjit_deref(cs, cf->result))));
  gcc_jit_block_end_with_jump(ok, NULL, release);
  zjit_set(bad, zjit_sm_field(sm, f->error), zjit_rv(outcome));
  gcc_jit_block_end_with_jump(bad, NULL, release);
  zjit_eval(release, zjit_call(j, j->task_drop, 1, &task));
  zjit_set(release, slot, gcc_jit_context_null(j->ctx, j->t_task));
  zjit_set(release, i, zjit_add(j, j->t_i64, zjit_rv(i), zjit_int(j, j->t_i64, 1)));
  zjit_sm_next(sm, release, JOIN_START);
}

/* Drop glue: a cancelled parent cancels the children it still holds
 * (structured concurrency) and drops the join future it awaits. */
static void join_drop(zjit *j, gcc_jit_struct *st, const join_fields *f) {
  gcc_jit_lvalue *s;
  gcc_jit_block *b;
  gcc_jit_function *fn = zjit_drop_fn(j, "zjit_join_drop", st, &s, &b);
  gcc_jit_rvalue *join = zjit_rv(zjit_deref(zjit_rv(s), f->join));
  zjit_eval(b, zjit_call(j, j->future_drop, 1, &join));
  gcc_jit_lvalue *k = gcc_jit_function_new_local(fn, NULL, j->t_int, "k");
  gcc_jit_block *head = gcc_jit_function_new_block(fn, "head"), *body = gcc_jit_function_new_block(fn, "body");
  gcc_jit_block *held = gcc_jit_function_new_block(fn, "held"), *step = gcc_jit_function_new_block(fn, "step");
  gcc_jit_block *end = gcc_jit_function_new_block(fn, "end");
  zjit_set(b, k, zjit_int(j, j->t_int, 0));
  gcc_jit_block_end_with_jump(b, NULL, head);
  zjit_if(head, zjit_cmp(j, GCC_JIT_COMPARISON_LT, zjit_rv(k), zjit_int(j, j->t_int, ZJIT_MAX_CHILDREN)),
          body, end);
  gcc_jit_rvalue *task = zjit_rv(gcc_jit_context_new_array_access(
      j->ctx, NULL, zjit_rv(zjit_deref(zjit_rv(s), f->tasks)), zjit_rv(k)));
  zjit_if(body, zjit_cmp(j, GCC_JIT_COMPARISON_NE, task, gcc_jit_context_null(j->ctx, j->t_task)),
          held, step);
  zjit_eval(held, zjit_call(j, j->task_cancel, 1, &task));
  zjit_eval(held, zjit_call(j, j->task_drop, 1, &task));
  gcc_jit_block_end_with_jump(held, NULL, step);
  zjit_set(step, k, zjit_add(j, j->t_int, zjit_rv(k), zjit_int(j, j->t_int, 1)));
  gcc_jit_block_end_with_jump(step, NULL, head);
  gcc_jit_block_end_with_void_return(end, NULL);
}

void zjit_gen_spawn(zjit *j) {
  child_fields cf;
  join_fields f;
  gcc_jit_struct *child = child_struct(j, &cf), *st = join_struct(j, &f);
  gcc_jit_lvalue *child_vt = gen_child(j, child, &cf);
  zjit_sm sm;
  zjit_sm_begin(&sm, j, "zjit_join_poll", st, f.state_id, JOIN_DONE);
  join_spawn(&sm, &f, child, &cf, child_vt);
  join_start(&sm, &f);
  join_await(&sm, &f, child, &cf);
  zjit_sm_end(&sm);
  join_drop(j, st, &f);
  zjit_gen_sizeof(j, "zjit_child_sizeof", child);
  zjit_gen_sizeof(j, "zjit_join_sizeof", st);
}
