/* The JIT example's code generator: what a compiler targeting Zyntax emits,
 * built at run time with libgccjit. jit_context.c sets up the types and the
 * imported functions every generator shares, plus the state-machine
 * skeleton (a switch on state_id in a loop); gen_*.c each emit one async fn.
 * The generated code calls only the public C API (imported from libzyntax),
 * the waker vtable's function pointers, libc (malloc, free, memcpy, strlen,
 * close) and the syscall shim in jit_shim.c. */
#ifndef ZYNTAX_EXAMPLES_JIT_H
#define ZYNTAX_EXAMPLES_JIT_H

#include <libgccjit.h>

#include "jit_layout.h"

/* Types and imports of one compilation. */
typedef struct zjit {
  gcc_jit_context *ctx;
  gcc_jit_type *t_void, *t_int, *t_uint, *t_u32, *t_i64, *t_u64, *t_size, *t_char;
  gcc_jit_type *t_voidp, *t_charp, *t_i64p, *t_futurep, *t_task, *t_rt;
  gcc_jit_type *t_waker, *t_wakerp, *t_fvtable, *t_poll_fn, *t_drop_fn;
  gcc_jit_field *f_waker_data, *f_waker_vtable, *f_wvt_wake_by_ref;
  gcc_jit_field *f_fvt_poll, *f_fvt_drop;
  /* libzyntax */
  gcc_jit_function *future_poll, *future_drop, *sleep_future, *fd_wait_future, *current,
      *spawn_future, *task_join_future, *task_state, *task_drop, *task_cancel;
  /* libc and the shim */
  gcc_jit_function *malloc_, *free_, *memcpy_, *strlen_, *close_;
  gcc_jit_function *shim_connect, *shim_connect_result, *shim_send, *shim_recv, *shim_head;
} zjit;

/* A poll function under construction: `s` is the typed state pointer,
 * `dispatch` switches on s->state_id to case[i]; a case block ends by
 * zjit_sm_next (loop to dispatch), zjit_sm_ready or zjit_sm_pending.
 * `polled` is the local int every await passes to zyntax_future_poll. */
typedef struct zjit_sm {
  zjit *j;
  gcc_jit_function *fn;
  gcc_jit_lvalue *s, *polled;
  gcc_jit_rvalue *waker;
  gcc_jit_field *state_id;
  gcc_jit_block *dispatch, **cases;
  int ncases;
} zjit_sm;

/* jit_context.c ----------------------------------------------------------- */

/* Creates the context (optimization level `optimize`) and declares the
 * shared types and imports. -1 on failure, with the reason on stderr. */
int zjit_init(zjit *j, int optimize);
void zjit_fini(zjit *j);

/* Compiles every generated function; NULL with the error printed. */
gcc_jit_result *zjit_compile(zjit *j);

/* Fields and structs. */
gcc_jit_field *zjit_field(zjit *j, gcc_jit_type *type, const char *name);
gcc_jit_struct *zjit_struct(zjit *j, const char *name, int n, gcc_jit_field **fields);
gcc_jit_type *zjit_array(zjit *j, gcc_jit_type *of, int n);

/* Rvalues and lvalues. */
gcc_jit_rvalue *zjit_int(zjit *j, gcc_jit_type *type, long v);
gcc_jit_rvalue *zjit_rv(gcc_jit_lvalue *lv);
gcc_jit_lvalue *zjit_deref(gcc_jit_rvalue *ptr, gcc_jit_field *f);
gcc_jit_rvalue *zjit_cmp(zjit *j, enum gcc_jit_comparison op, gcc_jit_rvalue *a,
                         gcc_jit_rvalue *b);
gcc_jit_rvalue *zjit_call(zjit *j, gcc_jit_function *fn, int n, gcc_jit_rvalue **args);
gcc_jit_rvalue *zjit_add(zjit *j, gcc_jit_type *t, gcc_jit_rvalue *a, gcc_jit_rvalue *b);
gcc_jit_rvalue *zjit_cast(zjit *j, gcc_jit_rvalue *v, gcc_jit_type *t);

/* Statements. zjit_drop_future: zyntax_future_drop(*slot), slot = NULL;
 * zjit_free: free(*ptr), ptr = NULL - the two moves of every drop glue. */
void zjit_drop_future(zjit *j, gcc_jit_block *b, gcc_jit_lvalue *slot);
void zjit_free(zjit *j, gcc_jit_block *b, gcc_jit_lvalue *ptr);
void zjit_set(gcc_jit_block *b, gcc_jit_lvalue *lv, gcc_jit_rvalue *v);
void zjit_eval(gcc_jit_block *b, gcc_jit_rvalue *v);
void zjit_if(gcc_jit_block *b, gcc_jit_rvalue *cond, gcc_jit_block *yes, gcc_jit_block *no);
/* `ctor(args[0..n-1], &slot)`: a constructor's call with its out-parameter
 * (a future or a task handle). Its int is not checked: on failure the slot
 * is NULL, and the caller tests it, or awaits it (zjit_sm_await). */
void zjit_make(zjit *j, gcc_jit_block *b, gcc_jit_function *ctor, int n, gcc_jit_rvalue **args,
               gcc_jit_lvalue *slot);
gcc_jit_block *zjit_block(zjit_sm *sm, const char *name);

/* A function `void name(void *state)` (drop glue); *s is the typed state. */
gcc_jit_function *zjit_drop_fn(zjit *j, const char *name, gcc_jit_struct *st,
                               gcc_jit_lvalue **s, gcc_jit_block **entry);
/* sizeof(st) as an rvalue, and `size_t name(void)` returning it, so the host
 * can check its view of a layout against the generated one. */
gcc_jit_rvalue *zjit_sizeof(zjit *j, gcc_jit_struct *st);
void zjit_gen_sizeof(zjit *j, const char *name, gcc_jit_struct *st);

/* The state-machine skeleton. */
void zjit_sm_begin(zjit_sm *sm, zjit *j, const char *name, gcc_jit_struct *st,
                   gcc_jit_field *state_id, int ncases);
void zjit_sm_end(zjit_sm *sm);
gcc_jit_lvalue *zjit_sm_field(zjit_sm *sm, gcc_jit_field *f);
void zjit_sm_next(zjit_sm *sm, gcc_jit_block *b, int state);
void zjit_sm_ready(zjit_sm *sm, gcc_jit_block *b, int state);
void zjit_sm_pending(zjit_sm *sm, gcc_jit_block *b);
/* `result = slot.await`: polls the runtime future in s->slot with the
 * borrowed waker; PENDING returns, READY stores the future's result (the
 * poll's `*result`) in `result` (if not NULL), drops the future, clears the
 * slot and continues in the returned block. A slot whose creation failed
 * (NULL) is READY with ZYNTAX_EINVAL, so the caller's error check covers
 * creation too. */
gcc_jit_block *zjit_sm_await(zjit_sm *sm, gcc_jit_block *b, gcc_jit_field *slot,
                             gcc_jit_lvalue *result);
/* zyntax_runtime_current() as an rvalue. */
gcc_jit_rvalue *zjit_current(zjit *j);

/* gen_*.c: each declares its types and emits its functions into `j`. */
void zjit_gen_fetch(zjit *j);
void zjit_gen_loop(zjit *j);
void zjit_gen_spawn(zjit *j);
void zjit_gen_closure(zjit *j);

#endif
