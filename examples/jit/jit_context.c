/* The pieces every generated async fn shares: one libgccjit context, the C
 * types of the public API (waker, vtables, opaque handles), the imported
 * functions, and the state-machine skeleton a poll function is built on. */
#include "jit.h"
#include "jit_shim.h"

#include <stdio.h>
#include <stdlib.h>

static gcc_jit_type *basic(zjit *j, enum gcc_jit_types t) {
  return gcc_jit_context_get_type(j->ctx, t);
}

static gcc_jit_type *ptr(gcc_jit_type *t) { return gcc_jit_type_get_pointer(t); }

static gcc_jit_type *opaque(zjit *j, const char *name) {
  return ptr(gcc_jit_struct_as_type(gcc_jit_context_new_opaque_struct(j->ctx, NULL, name)));
}

/* An imported function: resolved against the process at compile time, like
 * a JIT resolving symbols of the runtime it links against. */
static gcc_jit_function *import(zjit *j, gcc_jit_type *ret, const char *name, int n,
                                gcc_jit_type **types) {
  gcc_jit_param *params[8];
  for (int i = 0; i < n; i++) {
    char pname[16];
    snprintf(pname, sizeof pname, "a%d", i);
    params[i] = gcc_jit_context_new_param(j->ctx, NULL, types[i], pname);
  }
  return gcc_jit_context_new_function(j->ctx, NULL, GCC_JIT_FUNCTION_IMPORTED, ret, name, n,
                                      params, 0);
}

static gcc_jit_type *fnptr(zjit *j, gcc_jit_type *ret, int n, gcc_jit_type **types) {
  return gcc_jit_context_new_function_ptr_type(j->ctx, NULL, ret, n, types, 0);
}

static void declare_types(zjit *j) {
  j->t_void = basic(j, GCC_JIT_TYPE_VOID);
  j->t_int = basic(j, GCC_JIT_TYPE_INT);
  j->t_uint = basic(j, GCC_JIT_TYPE_UNSIGNED_INT);
  j->t_u32 = basic(j, GCC_JIT_TYPE_UINT32_T);
  j->t_i64 = basic(j, GCC_JIT_TYPE_INT64_T);
  j->t_u64 = basic(j, GCC_JIT_TYPE_UINT64_T);
  j->t_size = basic(j, GCC_JIT_TYPE_SIZE_T);
  j->t_char = basic(j, GCC_JIT_TYPE_CHAR);
  j->t_voidp = basic(j, GCC_JIT_TYPE_VOID_PTR);
  j->t_charp = ptr(j->t_char);
  j->t_i64p = ptr(j->t_i64);
  j->t_futurep = opaque(j, "zyntax_future");
  j->t_task = opaque(j, "zyntax_task");
  j->t_rt = opaque(j, "zyntax_runtime");
}

/* zyntax_waker and its vtable (future.h): the vtable's function pointers
 * are what generated code calls to wake, since the zyntax_waker_* helpers
 * are static inline and have no symbol to import. */
static void declare_waker(zjit *j) {
  gcc_jit_struct *waker = gcc_jit_context_new_opaque_struct(j->ctx, NULL, "zyntax_waker");
  j->t_waker = gcc_jit_struct_as_type(waker);
  gcc_jit_type *cvoidp = ptr(gcc_jit_type_get_const(j->t_void));
  gcc_jit_type *vt_fn = fnptr(j, j->t_void, 1, &cvoidp);
  j->f_wvt_wake_by_ref = zjit_field(j, vt_fn, "wake_by_ref");
  gcc_jit_field *vt_fields[] = {zjit_field(j, fnptr(j, j->t_waker, 1, &cvoidp), "clone"),
                                zjit_field(j, vt_fn, "wake"), j->f_wvt_wake_by_ref,
                                zjit_field(j, vt_fn, "drop")};
  gcc_jit_struct *vt = zjit_struct(j, "zyntax_waker_vtable", 4, vt_fields);
  j->f_waker_data = zjit_field(j, cvoidp, "data");
  j->f_waker_vtable = zjit_field(j, ptr(gcc_jit_type_get_const(gcc_jit_struct_as_type(vt))),
                                 "vtable");
  gcc_jit_field *fields[] = {j->f_waker_data, j->f_waker_vtable};
  gcc_jit_struct_set_fields(waker, NULL, 2, fields);
  j->t_wakerp = ptr(gcc_jit_type_get_const(j->t_waker));
  gcc_jit_type *poll_args[] = {j->t_voidp, j->t_wakerp};
  j->t_poll_fn = fnptr(j, j->t_int, 2, poll_args);
  j->t_drop_fn = fnptr(j, j->t_void, 1, &j->t_voidp);
  j->f_fvt_poll = zjit_field(j, j->t_poll_fn, "poll");
  j->f_fvt_drop = zjit_field(j, j->t_drop_fn, "drop");
  gcc_jit_field *fvt[] = {j->f_fvt_poll, j->f_fvt_drop};
  j->t_fvtable = gcc_jit_struct_as_type(zjit_struct(j, "zyntax_future_vtable", 2, fvt));
}

/* The signatures of runtime.h, parameter for parameter: a constructor
 * returns int and ends in its out-parameter, a poll ends in `int *result`. */
static void declare_api(zjit *j) {
  gcc_jit_type *intp = ptr(j->t_int), *futurepp = ptr(j->t_futurep);
  gcc_jit_type *poll[] = {j->t_futurep, j->t_wakerp, intp};
  j->future_poll = import(j, j->t_int, "zyntax_future_poll", 3, poll);
  j->future_drop = import(j, j->t_void, "zyntax_future_drop", 1, &j->t_futurep);
  gcc_jit_type *sleep[] = {j->t_rt, j->t_u64, futurepp};
  j->sleep_future = import(j, j->t_int, "zyntax_sleep_future", 3, sleep);
  gcc_jit_type *fd_wait[] = {j->t_rt, j->t_int, j->t_uint, futurepp};
  j->fd_wait_future = import(j, j->t_int, "zyntax_fd_wait_future", 4, fd_wait);
  j->current = import(j, j->t_rt, "zyntax_runtime_current", 0, NULL);
  gcc_jit_type *spawn[] = {j->t_rt, j->t_voidp, ptr(gcc_jit_type_get_const(j->t_fvtable)),
                           ptr(j->t_task)};
  j->spawn_future = import(j, j->t_int, "zyntax_runtime_spawn_future", 4, spawn);
  gcc_jit_type *join[] = {j->t_task, futurepp};
  j->task_join_future = import(j, j->t_int, "zyntax_task_join_future", 2, join);
  j->task_state = import(j, j->t_voidp, "zyntax_task_state", 1, &j->t_task);
  j->task_drop = import(j, j->t_void, "zyntax_task_drop", 1, &j->t_task);
  j->task_cancel = import(j, j->t_int, "zyntax_task_cancel", 1, &j->t_task);
}

static void declare_libc(zjit *j) {
  j->malloc_ = import(j, j->t_voidp, "malloc", 1, &j->t_size);
  j->free_ = import(j, j->t_void, "free", 1, &j->t_voidp);
  gcc_jit_type *cpy[] = {j->t_voidp, j->t_voidp, j->t_size};
  j->memcpy_ = import(j, j->t_voidp, "memcpy", 3, cpy);
  j->strlen_ = import(j, j->t_size, "strlen", 1, &j->t_charp);
  j->close_ = import(j, j->t_int, "close", 1, &j->t_int);
  gcc_jit_type *conn[] = {j->t_charp, j->t_charp, j->t_i64, j->t_i64p};
  j->shim_connect = import(j, j->t_int, "zjit_shim_connect", 4, conn);
  j->shim_connect_result = import(j, j->t_int, "zjit_shim_connect_result", 1, &j->t_int);
  gcc_jit_type *io[] = {j->t_int, j->t_charp, j->t_i64};
  j->shim_send = import(j, j->t_i64, "zjit_shim_send", 3, io);
  j->shim_recv = import(j, j->t_i64, "zjit_shim_recv", 3, io);
  gcc_jit_type *head[] = {j->t_charp, j->t_i64, j->t_i64p, j->t_i64p};
  j->shim_head = import(j, j->t_int, "zjit_shim_head", 4, head);
}

int zjit_init(zjit *j, int optimize) {
  *j = (zjit){.ctx = gcc_jit_context_acquire()};
  if (j->ctx == NULL) {
    fprintf(stderr, "zyntax-jit: gcc_jit_context_acquire failed\n");
    return -1;
  }
  gcc_jit_context_set_int_option(j->ctx, GCC_JIT_INT_OPTION_OPTIMIZATION_LEVEL, optimize);
  /* -fPIC-free imports resolve against this process; keep frame pointers so
   * gdb/valgrind stacks through generated frames stay readable. */
  gcc_jit_context_add_command_line_option(j->ctx, "-fno-omit-frame-pointer");
  declare_types(j);
  declare_waker(j);
  declare_api(j);
  declare_libc(j);
  return 0;
}

void zjit_fini(zjit *j) {
  if (j->ctx != NULL) gcc_jit_context_release(j->ctx);
  j->ctx = NULL;
}

gcc_jit_result *zjit_compile(zjit *j) {
  gcc_jit_result *r = gcc_jit_context_compile(j->ctx);
  if (r == NULL) fprintf(stderr, "zyntax-jit: compile: %s\n", gcc_jit_context_get_first_error(j->ctx));
  return r;
}

/* ---- small builders -------------------------------------------------- */

gcc_jit_field *zjit_field(zjit *j, gcc_jit_type *type, const char *name) {
  return gcc_jit_context_new_field(j->ctx, NULL, type, name);
}

gcc_jit_struct *zjit_struct(zjit *j, const char *name, int n, gcc_jit_field **fields) {
  return gcc_jit_context_new_struct_type(j->ctx, NULL, name, n, fields);
}

gcc_jit_type *zjit_array(zjit *j, gcc_jit_type *of, int n) {
  return gcc_jit_context_new_array_type(j->ctx, NULL, of, n);
}

gcc_jit_rvalue *zjit_int(zjit *j, gcc_jit_type *type, long v) {
  return gcc_jit_context_new_rvalue_from_long(j->ctx, type, v);
}

gcc_jit_rvalue *zjit_rv(gcc_jit_lvalue *lv) { return gcc_jit_lvalue_as_rvalue(lv); }

gcc_jit_lvalue *zjit_deref(gcc_jit_rvalue *p, gcc_jit_field *f) {
  return gcc_jit_rvalue_dereference_field(p, NULL, f);
}

gcc_jit_rvalue *zjit_cmp(zjit *j, enum gcc_jit_comparison op, gcc_jit_rvalue *a,
                         gcc_jit_rvalue *b) {
  return gcc_jit_context_new_comparison(j->ctx, NULL, op, a, b);
}

gcc_jit_rvalue *zjit_call(zjit *j, gcc_jit_function *fn, int n, gcc_jit_rvalue **args) {
  return gcc_jit_context_new_call(j->ctx, NULL, fn, n, args);
}

gcc_jit_rvalue *zjit_add(zjit *j, gcc_jit_type *t, gcc_jit_rvalue *a, gcc_jit_rvalue *b) {
  return gcc_jit_context_new_binary_op(j->ctx, NULL, GCC_JIT_BINARY_OP_PLUS, t, a, b);
}

gcc_jit_rvalue *zjit_cast(zjit *j, gcc_jit_rvalue *v, gcc_jit_type *t) {
  return gcc_jit_context_new_cast(j->ctx, NULL, v, t);
}

void zjit_set(gcc_jit_block *b, gcc_jit_lvalue *lv, gcc_jit_rvalue *v) {
  gcc_jit_block_add_assignment(b, NULL, lv, v);
}

void zjit_eval(gcc_jit_block *b, gcc_jit_rvalue *v) { gcc_jit_block_add_eval(b, NULL, v); }

void zjit_if(gcc_jit_block *b, gcc_jit_rvalue *cond, gcc_jit_block *yes, gcc_jit_block *no) {
  gcc_jit_block_end_with_conditional(b, NULL, cond, yes, no);
}

void zjit_make(zjit *j, gcc_jit_block *b, gcc_jit_function *ctor, int n, gcc_jit_rvalue **args,
               gcc_jit_lvalue *slot) {
  gcc_jit_rvalue *all[8];
  for (int i = 0; i < n; i++) all[i] = args[i];
  all[n] = gcc_jit_lvalue_get_address(slot, NULL);
  zjit_eval(b, zjit_call(j, ctor, n + 1, all));
}

void zjit_drop_future(zjit *j, gcc_jit_block *b, gcc_jit_lvalue *slot) {
  gcc_jit_rvalue *arg = zjit_rv(slot);
  zjit_eval(b, zjit_call(j, j->future_drop, 1, &arg));
  zjit_set(b, slot, gcc_jit_context_null(j->ctx, j->t_futurep));
}

void zjit_free(zjit *j, gcc_jit_block *b, gcc_jit_lvalue *ptr) {
  gcc_jit_rvalue *arg = zjit_cast(j, zjit_rv(ptr), j->t_voidp);
  zjit_eval(b, zjit_call(j, j->free_, 1, &arg));
  zjit_set(b, ptr, gcc_jit_context_null(j->ctx, gcc_jit_rvalue_get_type(zjit_rv(ptr))));
}

gcc_jit_rvalue *zjit_current(zjit *j) { return zjit_call(j, j->current, 0, NULL); }

/* ---- functions --------------------------------------------------------- */

/* `ret name(void *state, ...)` with `T *s = state;` as its first statement. */
static gcc_jit_function *typed_fn(zjit *j, gcc_jit_type *ret, const char *name,
                                  gcc_jit_struct *st, int nextra, gcc_jit_param **extra,
                                  gcc_jit_lvalue **s, gcc_jit_block **entry) {
  gcc_jit_param *params[2] = {gcc_jit_context_new_param(j->ctx, NULL, j->t_voidp, "state")};
  for (int i = 0; i < nextra; i++) params[1 + i] = extra[i];
  gcc_jit_function *fn = gcc_jit_context_new_function(
      j->ctx, NULL, GCC_JIT_FUNCTION_EXPORTED, ret, name, 1 + nextra, params, 0);
  gcc_jit_type *sp = ptr(gcc_jit_struct_as_type(st));
  *s = gcc_jit_function_new_local(fn, NULL, sp, "s");
  *entry = gcc_jit_function_new_block(fn, "entry");
  zjit_set(*entry, *s, zjit_cast(j, gcc_jit_param_as_rvalue(params[0]), sp));
  return fn;
}

gcc_jit_function *zjit_drop_fn(zjit *j, const char *name, gcc_jit_struct *st,
                               gcc_jit_lvalue **s, gcc_jit_block **entry) {
  return typed_fn(j, j->t_void, name, st, 0, NULL, s, entry);
}

/* sizeof(T) the way C's offsetof trick computes it, &((T *)0)[1]: GCC 12's
 * libgccjit has no sizeof expression (gcc_jit_context_new_sizeof is 14+). */
gcc_jit_rvalue *zjit_sizeof(zjit *j, gcc_jit_struct *st) {
  gcc_jit_rvalue *null = gcc_jit_context_null(j->ctx, ptr(gcc_jit_struct_as_type(st)));
  gcc_jit_lvalue *one = gcc_jit_context_new_array_access(j->ctx, NULL, null, zjit_int(j, j->t_int, 1));
  /* libgccjit casts no pointer to an integer; a bitcast reinterprets it. */
  return gcc_jit_context_new_bitcast(j->ctx, NULL, gcc_jit_lvalue_get_address(one, NULL), j->t_size);
}

void zjit_gen_sizeof(zjit *j, const char *name, gcc_jit_struct *st) {
  gcc_jit_function *fn = gcc_jit_context_new_function(j->ctx, NULL, GCC_JIT_FUNCTION_EXPORTED,
                                                      j->t_size, name, 0, NULL, 0);
  gcc_jit_block *b = gcc_jit_function_new_block(fn, "entry");
  gcc_jit_block_end_with_return(b, NULL, zjit_sizeof(j, st));
}

/* ---- the state machine -------------------------------------------------- */

gcc_jit_block *zjit_block(zjit_sm *sm, const char *name) {
  return gcc_jit_function_new_block(sm->fn, name);
}

gcc_jit_lvalue *zjit_sm_field(zjit_sm *sm, gcc_jit_field *f) {
  return zjit_deref(zjit_rv(sm->s), f);
}

/* zyntax_poll name(void *state, const zyntax_waker *waker):
 *   T *s = state;  for (;;) switch (s->state_id) { case 0..n-1; default: READY }
 * The cases are blocks the generator fills; `dispatch` is the loop head. */
void zjit_sm_begin(zjit_sm *sm, zjit *j, const char *name, gcc_jit_struct *st,
                   gcc_jit_field *state_id, int ncases) {
  gcc_jit_param *waker = gcc_jit_context_new_param(j->ctx, NULL, j->t_wakerp, "waker");
  gcc_jit_block *entry;
  *sm = (zjit_sm){.j = j, .state_id = state_id, .ncases = ncases};
  sm->fn = typed_fn(j, j->t_int, name, st, 1, &waker, &sm->s, &entry);
  sm->waker = gcc_jit_param_as_rvalue(waker);
  sm->polled = gcc_jit_function_new_local(sm->fn, NULL, j->t_int, "polled");
  sm->dispatch = zjit_block(sm, "dispatch");
  gcc_jit_block_end_with_jump(entry, NULL, sm->dispatch);
  sm->cases = calloc((size_t)ncases, sizeof *sm->cases);
  for (int i = 0; i < ncases; i++) {
    char name_i[24];
    snprintf(name_i, sizeof name_i, "state_%d", i);
    sm->cases[i] = zjit_block(sm, name_i);
  }
}

void zjit_sm_end(zjit_sm *sm) {
  zjit *j = sm->j;
  gcc_jit_case **cases = calloc((size_t)sm->ncases, sizeof *cases);
  for (int i = 0; i < sm->ncases; i++) {
    gcc_jit_rvalue *v = zjit_int(j, j->t_u32, i);
    cases[i] = gcc_jit_context_new_case(j->ctx, v, v, sm->cases[i]);
  }
  gcc_jit_block *done = zjit_block(sm, "done");
  gcc_jit_block_end_with_return(done, NULL, zjit_int(j, j->t_int, ZYNTAX_READY));
  gcc_jit_block_end_with_switch(sm->dispatch, NULL, zjit_rv(zjit_sm_field(sm, sm->state_id)),
                                done, sm->ncases, cases);
  free(cases);
  free(sm->cases);
  sm->cases = NULL;
}

void zjit_sm_next(zjit_sm *sm, gcc_jit_block *b, int state) {
  zjit_set(b, zjit_sm_field(sm, sm->state_id), zjit_int(sm->j, sm->j->t_u32, state));
  gcc_jit_block_end_with_jump(b, NULL, sm->dispatch);
}

void zjit_sm_ready(zjit_sm *sm, gcc_jit_block *b, int state) {
  zjit_set(b, zjit_sm_field(sm, sm->state_id), zjit_int(sm->j, sm->j->t_u32, state));
  gcc_jit_block_end_with_return(b, NULL, zjit_int(sm->j, sm->j->t_int, ZYNTAX_READY));
}

void zjit_sm_pending(zjit_sm *sm, gcc_jit_block *b) {
  gcc_jit_block_end_with_return(b, NULL, zjit_int(sm->j, sm->j->t_int, ZYNTAX_PENDING));
}

gcc_jit_block *zjit_sm_await(zjit_sm *sm, gcc_jit_block *b, gcc_jit_field *slot,
                             gcc_jit_lvalue *result) {
  zjit *j = sm->j;
  gcc_jit_lvalue *f = zjit_sm_field(sm, slot);
  gcc_jit_rvalue *args[] = {zjit_rv(f), sm->waker, gcc_jit_lvalue_get_address(sm->polled, NULL)};
  gcc_jit_block *pending = zjit_block(sm, "await_pending");
  gcc_jit_block *ready = zjit_block(sm, "await_ready");
  zjit_if(b, zjit_cmp(j, GCC_JIT_COMPARISON_EQ, zjit_call(j, j->future_poll, 3, args),
                      zjit_int(j, j->t_int, ZYNTAX_PENDING)),
          pending, ready);
  zjit_sm_pending(sm, pending);
  if (result != NULL) zjit_set(ready, result, zjit_rv(sm->polled));
  zjit_drop_future(j, ready, f);
  return ready;
}
