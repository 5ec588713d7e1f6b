/* What src/sync and src/future share with the rest of libzyntax, and all
 * they take from it: recording a failure as the thread's last error
 * (implemented in core/error.c), whether a runtime takes new work
 * (core/fork.c), the header of a runtime-provided stream,
 * and the channel constructor the oneshot builds on. Together with the
 * public headers, waitq.h and src/abi/sized.h this is the whole include
 * path of those two folders (src/CMakeLists.txt), so they cannot reach
 * the runtime's or the loader's internals. Not installed. */
#ifndef ZYNTAX_SYNC_SHARED_H
#define ZYNTAX_SYNC_SHARED_H

#include "zyntax/backend.h" /* struct zyntax_future: the runtime-future header */

/* ---- core/error.c: the thread-local last error ---- */

/* Records `code` with a printf-style message as the thread's last error,
 * copies it to `out` when not NULL, logs it when ZYNTAX_LOG=1, and returns
 * `code`. */
int zx_fail(zyntax_error *out, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records `code` with its zyntax_strerror() text and the function name. */
int zx_fail_code(const char *func, int code);

/* ---- core/future.c: the clock of a runtime's sleeps ---- */

/* Now on the clock `rt`'s sleeps are measured against: its backend's own
 * clock when it has one (ABI 2.1; a simulation), else CLOCK_MONOTONIC.
 * Any thread. */
uint64_t zx_runtime_now(const zyntax_runtime *rt);

/* ---- core/fork.c: may new work go on a runtime? ---- */

/* ZYNTAX_EFORKED (recorded) if `rt` was created before a fork() of this
 * process, ZYNTAX_ECLOSED (recorded) if it is being destroyed, else 0:
 * what every constructor of new work on `rt` checks first (`rt` not NULL).
 * Any thread. */
int zx_check_open(const zyntax_runtime *rt, const char *func);

/* ---- future/stream.c, sync/channel.c: runtime-provided streams ---- */

/* Every runtime stream starts with this; vt->poll_next and vt->drop take
 * the stream itself as their state. */
struct zyntax_stream {
  const zyntax_stream_vtable *vt;
  int result; /* ZYNTAX_NOT_FINISHED until DONE, then why it ended */
};

/* ---- sync/channel.c: what the oneshot builds on ---- */

/* zyntax_channel_create with a fixed capacity (0: opts->capacity); errors
 * recorded for `func`. */
int zx_channel_create(const zyntax_channel_options *opts, size_t capacity,
                      zyntax_sender **tx, zyntax_receiver **rx, const char *func);

#endif /* ZYNTAX_SYNC_SHARED_H */
