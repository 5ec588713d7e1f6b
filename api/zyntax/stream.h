/** @file
 * Zyntax Runtime - streams: the poll protocol for a sequence of items.
 *
 * A stream is to `for await` what a future is to `await`: a state struct
 * plus `poll_next(state, waker, out_item)`, which returns
 *   ZYNTAX_STREAM_PENDING  nothing yet; a clone of `waker` will be woken,
 *   ZYNTAX_STREAM_ITEM     one item was written to `*out_item`,
 *   ZYNTAX_STREAM_DONE     the stream ended; it is never polled again.
 * The item's type is part of the stream's type: the caller passes storage
 * of that type (the compiler knows it statically).
 *
 * A compiler lowers
 * @code
 *   for await x in s { body(x).await }
 * @endcode
 * to one await point whose state holds `s` and a slot for `x`:
 * @code
 *   case LOOP: switch (s_vt->poll_next(st->s, waker, &st->x)) {
 *     case ZYNTAX_STREAM_PENDING: return ZYNTAX_PENDING;
 *     case ZYNTAX_STREAM_DONE:    s_vt->drop(st->s); goto AFTER_LOOP;
 *     case ZYNTAX_STREAM_ITEM:    st->state_id = BODY; ... run body(x) ...
 *   }   // the body's last await point jumps back to LOOP
 * @endcode
 * and an `async gen` (a generator that `yield`s) to a stream whose state is
 * the generator's state machine: `yield v` stores `v` to `*out_item`,
 * records the resume point and returns ZYNTAX_STREAM_ITEM; an inner await
 * that is pending returns ZYNTAX_STREAM_PENDING; falling off the end (or
 * `return`) returns ZYNTAX_STREAM_DONE. Breaking out of the loop early drops
 * the stream (drop runs exactly once, like a future's).
 *
 * The runtime provides streams as opaque zyntax_stream objects: the
 * receiving end of a channel (zyntax_receiver_stream), an interval timer
 * and a readable fd. They are polled with zyntax_stream_poll_next().
 */
#ifndef ZYNTAX_STREAM_H
#define ZYNTAX_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "zyntax/future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zyntax_runtime zyntax_runtime;

/** What poll_next returns. PENDING and ITEM have the values of
 * ZYNTAX_PENDING and ZYNTAX_READY. */
typedef enum zyntax_stream_poll {
  ZYNTAX_STREAM_PENDING = 0, /**< no item yet; the waker will be woken */
  ZYNTAX_STREAM_ITEM = 1,    /**< an item was written to out_item */
  ZYNTAX_STREAM_DONE = 2     /**< the stream is finished */
} zyntax_stream_poll;

/** A stream's poll function. `waker` is borrowed for the call; `out_item`
 * points to storage for one item of the stream's item type. */
typedef zyntax_stream_poll (*zyntax_poll_next_fn)(void *state,
                                                  const zyntax_waker *waker,
                                                  void *out_item);

/** A stream type: how to poll it and how to release it. `drop` (may be NULL)
 * is called exactly once per state: after DONE, on early exit, on cancel. */
typedef struct zyntax_stream_vtable {
  zyntax_poll_next_fn poll_next;
  zyntax_drop_fn drop;
} zyntax_stream_vtable;

/** A runtime-provided stream. Opaque; owned by its creator until
 * zyntax_stream_drop(). One task polls it at a time. */
typedef struct zyntax_stream zyntax_stream;

/** Polls a runtime-provided stream; the item type is documented by the
 * function that made it. ITEM with `*result` 0 and the item in
 * `*out_item`; DONE with why the stream ended in `*result` (as
 * zyntax_stream_result), also on every poll after DONE; PENDING leaves
 * `*result` untouched. A NULL `s` or `out_item`: DONE with ZYNTAX_EINVAL in
 * `*result`; a NULL `result`: DONE with nothing polled; ZYNTAX_EINVAL is
 * recorded for zyntax_last_error() in each case (the stream itself is not
 * ended). Threads as zyntax_future_poll: from the one task that polls it. */
ZYNTAX_EXTERN zyntax_stream_poll zyntax_stream_poll_next(
    zyntax_stream *s, const zyntax_waker *waker, void *out_item, int *result);

/** Why a stream ended: 0 for a normal end (channel closed and drained, end
 * of file), a negative ZYNTAX_E* code otherwise (fd stream: ZYNTAX_EIO,
 * ZYNTAX_EBADF; any stream: ZYNTAX_ENOMEM when a timer could not be made).
 * ZYNTAX_NOT_FINISHED before DONE; ZYNTAX_EINVAL for NULL. Call from the
 * polling thread, or after the polling task finished. */
ZYNTAX_EXTERN int zyntax_stream_result(const zyntax_stream *s);

/** Drops a runtime-provided stream and everything it owns (a channel
 * receiver's queued items go through the channel's item drop). NULL is a
 * no-op. Same thread rules as zyntax_future_drop(). */
ZYNTAX_EXTERN void zyntax_stream_drop(zyntax_stream *s);

/** The vtable that polls and drops runtime streams through the functions
 * above (state = the zyntax_stream *), so generic code that takes a
 * (state, zyntax_stream_vtable) pair accepts them too. Static storage,
 * never NULL, never fails; any thread. */
ZYNTAX_EXTERN const zyntax_stream_vtable *zyntax_stream_vtable_of_runtime(void);

/** An interval timer: an item (uint64_t, the tick's deadline in
 * zyntax_now() nanoseconds) every `period_ns`, the first at now + period.
 * Deadlines are start + k * period, so ticks never drift; a consumer that
 * falls behind gets the missed ticks at once, in order. Never DONE unless
 * a timer cannot be made. Create from any thread; poll only from tasks of
 * `rt`. Returns 0 with the stream in `*out`, owned by the caller
 * (zyntax_stream_drop), or a negative code with `*out` set to NULL:
 * ZYNTAX_EINVAL (NULL rt or `out`, period 0), ZYNTAX_ENOMEM. */
ZYNTAX_EXTERN int zyntax_interval_stream(zyntax_runtime *rt, uint64_t period_ns,
                                         zyntax_stream **out);

/** One chunk read by an fd stream. `data` points into the stream's own
 * buffer: it is borrowed, valid until the next poll_next or the drop of the
 * stream; copy what you keep. */
typedef struct zyntax_chunk {
  const void *data; /**< the bytes read */
  size_t len;       /**< how many (1..chunk_size) */
} zyntax_chunk;

/** A stream of the bytes readable from `fd`, item type zyntax_chunk, up to
 * `chunk_size` bytes per item (0 = 64 KiB), read into one buffer the stream
 * owns (no allocation per item). DONE at end of file (result 0) or on a
 * read error (result ZYNTAX_EIO, or ZYNTAX_EBADF). The fd is not owned and
 * should be O_NONBLOCK (a blocking fd may block the poll on a spurious
 * wake-up). Create from any thread; poll only from tasks of `rt`. Returns
 * 0 with the stream in `*out`, owned by the caller (zyntax_stream_drop),
 * or a negative code with `*out` set to NULL: ZYNTAX_EINVAL (NULL rt or
 * `out`, fd < 0), ZYNTAX_ENOMEM. */
ZYNTAX_EXTERN int zyntax_fd_stream(zyntax_runtime *rt, int fd,
                                   size_t chunk_size, zyntax_stream **out);

#ifdef __cplusplus
}
#endif

#endif /* ZYNTAX_STREAM_H */
