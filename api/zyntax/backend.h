/** @file
 * Zyntax Runtime - the backend plugin interface, for backend authors only.
 * Programs using the runtime include <zyntax/runtime.h> and never this.
 *
 * A backend is a shared object `libzyntax-backend-NAME.so` exporting exactly
 * one symbol, `zyntax_backend_entry`, that returns a pointer to a static
 * `zyntax_backend`: a versioned table of function pointers, like SQLite's
 * extension routines. Rules:
 *   - The first five fields never move: abi_major, abi_minor, size, name,
 *     version. The loader reads them before anything else.
 *   - The loader accepts a backend whose abi_major equals its own and whose
 *     `size` covers every entry of ABI 1.0; entries are only ever appended
 *     (bumping abi_minor), and the loader never calls an entry past the
 *     backend's `size`.
 *   - Every entry of ABI 1.0 is required (non-NULL). Entries of later minor
 *     versions are optional: a NULL entry, or one past `size`, makes the
 *     public call it serves return ZYNTAX_EUNSUPPORTED.
 *   - Nothing may unwind (C++ exception, Rust panic) out of an entry.
 *   - The loader keeps a backend resident once loaded (never dlclose).
 */
#ifndef ZYNTAX_BACKEND_H
#define ZYNTAX_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "zyntax/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZYNTAX_BACKEND_ABI_MAJOR 1
#define ZYNTAX_BACKEND_ABI_MINOR 1

/** The name of the one symbol a plugin exports. */
#define ZYNTAX_BACKEND_ENTRY_SYMBOL "zyntax_backend_entry"

/** A backend's own runtime object. Opaque to the loader. */
typedef struct zyntax_backend_runtime zyntax_backend_runtime;

/** How the loader reaches a runtime future. A backend (or the loader's own
 * combinators) embeds `struct zyntax_future` as the first member of its
 * future object. */
typedef struct zyntax_future_ops {
  zyntax_poll (*poll)(zyntax_future *f, const zyntax_waker *waker);
  void (*drop)(zyntax_future *f); /**< cancel and free */
} zyntax_future_ops;

struct zyntax_future {
  const zyntax_future_ops *ops;
  /** ZYNTAX_NOT_FINISHED until READY, then the result. Written only by
   * ops->poll on the polling thread: the loader reads it without a lock and
   * stops calling ops->poll once it is set. */
  int result;
};

/** How the loader reaches a task. A backend embeds `struct zyntax_task` as
 * the first member of its task record. All entries are thread-safe. */
typedef struct zyntax_task_ops {
  void *(*state)(const zyntax_task *task);
  int (*status)(const zyntax_task *task);
  int (*cancel)(zyntax_task *task);
  int (*release)(zyntax_task *task);
  int (*join)(zyntax_task *task, zyntax_future **out);
} zyntax_task_ops;

struct zyntax_task {
  const zyntax_task_ops *ops;
  /** The public runtime that spawned it (host->runtime): compared by the
   * loader to refuse foreign tasks, never dereferenced. */
  const zyntax_runtime *owner;
};

/** What the loader gives a backend runtime at creation. */
typedef struct zyntax_backend_host {
  size_t size;
  /** The public handle wrapping this backend runtime. */
  zyntax_runtime *runtime;
  /** A backend-owned thread that polls tasks calls enter_thread() once when
   * it starts and leave_thread() before it exits, so that
   * zyntax_runtime_current() is right there and block_on is refused. The
   * loader does this itself for the thread inside block_on / run. */
  void (*enter_thread)(zyntax_runtime *rt);
  void (*leave_thread)(void);
} zyntax_backend_host;

/** A spawn request, normalised by the loader. Exactly one of:
 *   external state: state != NULL (or NULL with inplace_size == 0);
 *   in-place state: inplace_size > 0, the backend reserves the bytes inside
 *                   the task allocation and calls init(state, init_arg). */
typedef struct zyntax_spawn_args {
  size_t size;
  zyntax_poll_fn poll; /**< never NULL */
  zyntax_drop_fn drop; /**< may be NULL */
  void *state;
  size_t inplace_size;
  size_t inplace_align;
  zyntax_state_init_fn init;
  void *init_arg;
} zyntax_spawn_args;

typedef struct zyntax_backend {
  uint32_t abi_major;
  uint32_t abi_minor;
  size_t size; /**< sizeof(zyntax_backend) as the backend was compiled */
  const char *name;
  const char *version;

  /* ---- ABI 1.0 (all required) ---- */

  /** `opts` is normalised (size checked, defaults resolved from the
   * environment). `host` outlives the runtime. On failure returns a
   * ZYNTAX_E* code and may fill err->message. */
  int (*runtime_create)(const zyntax_backend_host *host,
                        const zyntax_runtime_options *opts,
                        zyntax_backend_runtime **out, zyntax_error *err);
  /** Called only when no thread drives the runtime. Semantics as
   * zyntax_runtime_destroy(). */
  void (*runtime_destroy)(zyntax_backend_runtime *rt);
  int (*spawn)(zyntax_backend_runtime *rt, const zyntax_spawn_args *args,
               zyntax_task **out);
  /** The loader has checked arguments, ownership and re-entrancy, and marked
   * the calling thread as driving the runtime. */
  int (*block_on)(zyntax_backend_runtime *rt, zyntax_task *task);
  int (*block_on_future)(zyntax_backend_runtime *rt, void *state,
                         zyntax_poll_fn poll);
  int (*run)(zyntax_backend_runtime *rt);
  /** Fills the fields of *out that fit in out->size (>= the 1.0 size). */
  void (*stats)(const zyntax_backend_runtime *rt, zyntax_stats *out);
  int (*sleep_until)(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                     zyntax_future **out);
  int (*fd_wait)(zyntax_backend_runtime *rt, int fd, unsigned events,
                 zyntax_future **out);
  int (*blocking)(zyntax_backend_runtime *rt, zyntax_blocking_fn fn,
                  void *arg, zyntax_future **out);

  /* ---- ABI 1.1 (optional): driving from a host's event loop ---- */

  /** zyntax_runtime_poll_fd(): stores the runtime's readiness fd (owned by
   * the backend runtime, closed by runtime_destroy) in *fd. The loader
   * holds the runtime as for run(). */
  int (*poll_fd)(zyntax_backend_runtime *rt, int *fd);
  /** zyntax_runtime_next_deadline(): 0 and the deadline, or 1 and
   * ZYNTAX_DEADLINE_NONE. The loader holds the runtime as for run(). */
  int (*next_deadline)(zyntax_backend_runtime *rt, uint64_t *deadline_ns);
  /** zyntax_runtime_run_nowait(): the loader has checked arguments and
   * re-entrancy and marked the calling thread as driving, as for run(). */
  int (*run_nowait)(zyntax_backend_runtime *rt, int *more);
} zyntax_backend;

/** The size a backend of ABI 1.0 must at least declare. */
#define ZYNTAX_BACKEND_SIZE_1_0                                              \
  (offsetof(zyntax_backend, blocking) + sizeof(void (*)(void)))

/** The size a backend must declare for the host-loop entries of ABI 1.1
 * to be looked at (the loader also needs them non-NULL). */
#define ZYNTAX_BACKEND_SIZE_1_1                                              \
  (offsetof(zyntax_backend, run_nowait) + sizeof(void (*)(void)))

/** The entry point every plugin exports (and the only symbol it exports). */
typedef const zyntax_backend *(*zyntax_backend_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* ZYNTAX_BACKEND_H */
