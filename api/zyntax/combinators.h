/** @file
 * Zyntax Runtime - combinators: timeout, select and join_all as futures,
 * so compiled code gets `select!` and `timeout` without waker logic of its
 * own. Each is a zyntax_future (zyntax_future_poll / _result / _drop) that
 * owns its children, which are zyntax_future objects too: runtime futures,
 * other combinators, or user futures wrapped with zyntax_user_future().
 *
 * A combinator polls its pending children with the task's own waker, in
 * order; any child's wake re-polls the combinator. Children are polled on
 * the polling thread only, so each child keeps its own thread rules (a
 * runtime future is polled from its runtime's tasks).
 */
#ifndef ZYNTAX_COMBINATORS_H
#define ZYNTAX_COMBINATORS_H

#include <stddef.h>
#include <stdint.h>

#include "zyntax/future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zyntax_runtime zyntax_runtime;
typedef struct zyntax_future zyntax_future;

/** Wraps a user future (`state`, `vtable`) as a zyntax_future: polling it
 * polls `vtable->poll(state, waker)`; its result is 0 once READY (the value
 * lives in `state`); dropping it calls `vtable->drop(state)` (if any)
 * exactly once. Ownership of `state` passes to the new future, which is
 * the caller's (zyntax_future_drop). Returns 0 with the future in `*out`,
 * or a negative code with `*out` set to NULL and `state` still the
 * caller's: ZYNTAX_EINVAL (NULL vtable, poll or `out`), ZYNTAX_ENOMEM.
 * Create from any thread; may be polled from any runtime's task (one task
 * at a time). */
ZYNTAX_EXTERN int zyntax_user_future(void *state,
                                     const zyntax_future_vtable *vtable,
                                     zyntax_future **out);

/** The state pointer of a future made by zyntax_user_future(), for reading
 * its result; borrowed (the future owns it). NULL for any other future,
 * and for NULL (with ZYNTAX_EINVAL recorded). Call from the polling
 * thread, or once the future is READY. */
ZYNTAX_EXTERN void *zyntax_future_state(const zyntax_future *f);

/** Child `i` of a combinator, to read its result; NULL when `i` is out of
 * range, `f` is not a combinator, or the child was dropped (a select's
 * loser, a timed-out inner future). Borrowed: the combinator owns it.
 * ZYNTAX_EINVAL recorded for a NULL `f`. Call from the polling thread, or
 * once the combinator is READY. */
ZYNTAX_EXTERN zyntax_future *zyntax_future_child(const zyntax_future *f,
                                                 size_t i);

/** `inner` with a deadline `ns` nanoseconds from now. Takes ownership of
 * `inner` (also on failure, when it is dropped). Result: inner's result
 * when it finished first, or ZYNTAX_ETIMEDOUT, in which case `inner` is
 * dropped at once (cancelled). Child 0 is `inner`. Poll from tasks of `rt`
 * (the timer is `rt`'s). Create from any thread. Returns 0 with the
 * future in `*out`, owned by the caller (zyntax_future_drop), or a
 * negative code with `*out` set to NULL: ZYNTAX_EINVAL (NULL rt, inner or
 * `out`), ZYNTAX_ENOMEM, ZYNTAX_ECLOSED, ZYNTAX_EFORKED. */
ZYNTAX_EXTERN int zyntax_timeout_future(zyntax_runtime *rt, zyntax_future *inner,
                                        uint64_t ns, zyntax_future **out);

/** READY when the first of `n` children is READY (ties: the lowest index);
 * the result is that child's index. Every other child is dropped exactly
 * once at that moment (the losers' cancellation); the winner stays
 * reachable through zyntax_future_child() until the select is dropped.
 * Takes ownership of the children (also on failure, when they are
 * dropped); the array itself is copied. Create from any thread; poll from
 * one task, where each child's own thread rule allows. Returns 0 with the
 * future in `*out`, owned by the caller (zyntax_future_drop), or a
 * negative code with `*out` set to NULL: ZYNTAX_EINVAL (NULL array,
 * n == 0, a NULL child, NULL `out`), ZYNTAX_ENOMEM. */
ZYNTAX_EXTERN int zyntax_select_future(zyntax_future *const *children, size_t n,
                                       zyntax_future **out);

/** READY when all `n` children are READY; result 0. Each child is polled
 * until it is READY and never again; all are dropped with the join.
 * Ownership, threads, return value and errors as zyntax_select_future(). */
ZYNTAX_EXTERN int zyntax_join_all_future(zyntax_future *const *children,
                                         size_t n, zyntax_future **out);

#ifdef __cplusplus
}
#endif

#endif /* ZYNTAX_COMBINATORS_H */
