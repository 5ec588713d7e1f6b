/** @file
 * Zyntax Runtime - the backend plugin interface, for backend authors only.
 * Programs using the runtime include <zyntax/runtime.h> and never this.
 * docs/backend-guide.md walks through writing a backend with it.
 *
 * A backend is a shared object `libzyntax-backend-NAME.so` exporting exactly
 * one symbol, `zyntax_backend_entry`, that returns a pointer to a static
 * `zyntax_backend`: a versioned table of function pointers. Like SQLite's
 * VFS (sqlite3_vfs, sqlite3_io_methods), every table here carries its own
 * size, and every entry below is documented as a pair:
 *
 *   The loader guarantees: what libzyntax has checked or arranged before
 *     it calls the entry (arguments, threads, locks), so the backend need
 *     not check it again.
 *   The backend must: what the entry does, returns, and never does.
 *
 * Words used throughout:
 *   driving thread  the one thread inside block_on, block_on_future, run or
 *                   run_nowait of a runtime (the loader lets one in at a
 *                   time), or inside runtime_destroy.
 *   poll thread     a thread that polls the runtime's tasks: the driving
 *                   thread, or a worker thread of the backend's own.
 *   outcome         how a task ended: 0 (its poll returned READY),
 *                   ZYNTAX_ECANCELED, or ZYNTAX_EBADPOLL (its poll returned
 *                   a value that is neither PENDING nor READY).
 *
 * Rules for every entry and op:
 *   - Errors are returned as negative ZYNTAX_E* codes (error.h), never
 *     printed and never abort()ed; the loader records them for
 *     zyntax_last_error(). Out-parameters are written only on success.
 *   - Nothing may unwind (C++ exception, Rust panic) out of an entry.
 *   - Every user callback (poll, drop, init, blocking fn) is called without
 *     any backend lock held: it may call any zyntax_* function, and the
 *     public API defines what such a call does (EREENTRANT, ECLOSED...).
 *   - The backend calls host->enter_thread() on every thread of its own
 *     that polls tasks or runs drops, before the first one.
 *   - The loader keeps a backend resident once loaded (never dlclose), and
 *     serialises runtime_create calls with fork().
 *
 * Versions (docs/abi.md has the full rules):
 *   - The first five fields of zyntax_backend never move: abi_major,
 *     abi_minor, size, name, version. The loader reads them first.
 *   - The loader accepts a table whose abi_major equals its own and whose
 *     `size` covers every entry of ABI MAJOR.0. Entries are only ever
 *     appended (bumping abi_minor), to zyntax_backend and to the op tables
 *     alike; the loader never reads a field past a table's `size`.
 *   - Every entry of MAJOR.0 is required unless it says "optional". An
 *     optional entry may be NULL; an entry of a later minor lies past the
 *     size of an older backend's table. Either way the public call it serves
 *     returns ZYNTAX_EUNSUPPORTED (ZYNTAX_BACKEND_HAS tells which), unless
 *     the entry names what the loader does instead (clock, fd watches).
 *   - Build the table with ZYNTAX_BACKEND_DEFINE (below): it fills the
 *     versions and sizes and defines the entry point.
 */
#ifndef ZYNTAX_BACKEND_H
#define ZYNTAX_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "zyntax/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ABI 2.0: every op table starts with its size (ABI 1.x had none).
 * ABI 2.1 appends the optional `clock` entry, ABI 2.2 the optional fd
 * watch entries (fd_watch_open, fd_watch_wait, fd_watch_close), ABI 2.3
 * the optional in-place watch wait (fd_watch_poll, fd_watch_free), ABI 2.4
 * the optional detached spawn (spawn_detached). */
#define ZYNTAX_BACKEND_ABI_MAJOR 2
#define ZYNTAX_BACKEND_ABI_MINOR 4

/** The name of the one symbol a plugin exports. */
#define ZYNTAX_BACKEND_ENTRY_SYMBOL "zyntax_backend_entry"

/** Nonzero when the table `*tbl` (any table of this header: it starts with
 * a size, or has one as its third field for zyntax_backend) declares the
 * entry `field` - its `size` covers it - and the entry is not NULL. How the
 * loader tells an optional entry, or one of a later minor, is absent. */
#define ZYNTAX_BACKEND_HAS(tbl, field)                                    \
  ((tbl)->size >= offsetof(__typeof__(*(tbl)), field) + sizeof((tbl)->field) && \
   (tbl)->field != NULL)

/** A backend's own runtime object. Opaque to the loader. */
typedef struct zyntax_backend_runtime zyntax_backend_runtime;

/** A backend's own fd watch (ABI 2.2). Opaque to the loader. */
typedef struct zyntax_backend_fd_watch zyntax_backend_fd_watch;

/* ------------------------------------------------------------------------ */
/* Futures                                                                   */

/** The ops of a runtime future (sleep, fd wait, blocking, join). Every
 * table a backend's futures point to is listed in zyntax_backend.future_ops
 * and checked when the plugin is loaded. */
typedef struct zyntax_future_ops {
  /** sizeof(zyntax_future_ops) as the backend was compiled
   * (ZYNTAX_FUTURE_OPS_INIT sets it). At least ZYNTAX_FUTURE_OPS_SIZE_2_0. */
  size_t size;
  /** zyntax_future_poll().
   * The loader guarantees: `f` is not NULL and its result is still
   * ZYNTAX_NOT_FINISHED (the loader answers READY itself afterwards, and
   * never calls poll again); `waker` is the calling task's, borrowed for
   * this call (it may be NULL or the no-op waker when the caller polls
   * outside any task). The caller polls from one task at a time.
   * The backend must: return ZYNTAX_READY after writing f->result (>= 0 on
   * success - fd_wait: the ready events -, a negative ZYNTAX_E* code on
   * failure), or ZYNTAX_PENDING after storing a clone of `waker`
   * (zyntax_waker_store) that it wakes once the result is there. A leaf
   * (sleep, fd wait, blocking) polled anywhere but in a task or
   * block_on_future of its own runtime completes with ZYNTAX_EFOREIGN at
   * that poll, without touching the loop ("leaf futures refuse foreign
   * polls"); after runtime_destroy began, with ZYNTAX_ECLOSED. A join
   * may be polled from any runtime's task and from any thread. */
  zyntax_poll (*poll)(zyntax_future *f, const zyntax_waker *waker);
  /** zyntax_future_drop(): cancel and free.
   * The loader guarantees: `f` is not NULL; it is called exactly once,
   * from the thread that polls `f`, or while the runtime is not driven -
   * possibly after runtime_destroy returned.
   * The backend must: cancel what `f` waits for (stop the timer, stop
   * watching the fd, skip a blocking job not yet started - one already
   * running finishes on its own and the drop does not wait), drop the
   * stored waker, and free `f`. After runtime_destroy it touches no loop:
   * destroy detached every leaf still armed, and the memory of `f` must
   * stay valid until this drop (futures outlive their runtime). */
  void (*drop)(zyntax_future *f);
} zyntax_future_ops;

/** The size every future op table of ABI 2.0 declares at least. */
#define ZYNTAX_FUTURE_OPS_SIZE_2_0                                             \
  (offsetof(zyntax_future_ops, drop) + sizeof(void (*)(void)))
/** A static initialiser: ZYNTAX_FUTURE_OPS_INIT(my_poll, my_drop). */
#define ZYNTAX_FUTURE_OPS_INIT(poll_, drop_) {sizeof(zyntax_future_ops), (poll_), (drop_)}

/** The header of every runtime future: a backend (or libzyntax, for its
 * own combinators) embeds it as the FIRST member of its future object. */
struct zyntax_future {
  const zyntax_future_ops *ops;
  /** ZYNTAX_NOT_FINISHED until READY, then the result. Written only by
   * ops->poll, on the thread polling it (or by the backend's loop on that
   * same thread): the loader reads it without a lock. */
  int result;
};

/* ------------------------------------------------------------------------ */
/* Tasks                                                                     */

/** The ops of a task handle. All of the backend's tasks point to the one
 * table named in zyntax_backend.task_ops, checked at load. Every op is
 * thread-safe: the loader calls them from any thread, concurrently with
 * polls, wakes and with each other, and after runtime_destroy.
 *
 * "The handle" is the reference spawn gave out; it is dropped once
 * (zyntax_task_drop, through the `release` op). A
 * task "finished" when it has an outcome. "A completed state is kept while
 * its handle is held": a task that finished with READY keeps its state
 * (undropped) until the handle is dropped, so the spawner can read its
 * result; runtime_destroy drops it as well (then state() returns NULL). */
typedef struct zyntax_task_ops {
  /** sizeof(zyntax_task_ops) as the backend was compiled
   * (ZYNTAX_TASK_OPS_INIT sets it). At least ZYNTAX_TASK_OPS_SIZE_2_0. */
  size_t size;
  /** zyntax_task_state().
   * The loader guarantees: `task` is not NULL and its handle not dropped.
   * The backend must: return the state pointer (the caller's state, or the
   * in-place bytes), or NULL once the state was dropped. */
  void *(*state)(const zyntax_task *task);
  /** zyntax_task_status().
   * The loader guarantees: as state(); the runtime was not inherited
   * through fork() (the loader answers ZYNTAX_EFORKED itself).
   * The backend must: return ZYNTAX_NOT_FINISHED until the task finished,
   * then its outcome, read after a barrier that orders it after the write
   * of the outcome (acquire). */
  int (*status)(const zyntax_task *task);
  /** zyntax_task_cancel().
   * The loader guarantees: as status().
   * The backend must: return ZYNTAX_EFINISHED if the task already has an
   * outcome, else 0 after requesting cancellation: the task is not polled
   * again (a poll running now on another thread finishes first, and if it
   * returns READY the task completes normally), its state is dropped
   * exactly once on a poll thread, and its outcome becomes
   * ZYNTAX_ECANCELED. Another cancel before the task ended returns 0
   * again; once it ended, ZYNTAX_EFINISHED. */
  int (*cancel)(zyntax_task *task);
  /** zyntax_task_drop(): gives the handle back.
   * The loader guarantees: as status(); called at most once per handle by
   * a correct program (a second call is the caller's bug: return
   * ZYNTAX_EINVAL if the backend can still tell - the loader records it -,
   * never crash while the memory exists).
   * The backend must: return 0. A finished task's kept state is dropped
   * now, on the calling thread; an unfinished task keeps running detached
   * and its state is dropped when it ends. The task memory stays until
   * the last reference (handle, join future, waker clones) is gone. */
  int (*release)(zyntax_task *task);
  /** zyntax_task_join_future(): a future READY with the task's outcome.
   * The loader guarantees: as status().
   * The backend must: return ZYNTAX_EBUSY while another join future of the
   * same task exists ("a second join returns EBUSY"; one may be made again
   * once that one was dropped), ZYNTAX_ENOMEM, or 0 with *out set to a
   * future that holds its own reference to the task (the handle may be
   * dropped before it), whose result is the outcome, and which may be
   * polled from a task of any runtime and any thread. */
  int (*join)(zyntax_task *task, zyntax_future **out);
} zyntax_task_ops;

/** The size every task op table of ABI 2.0 declares at least. */
#define ZYNTAX_TASK_OPS_SIZE_2_0                                               \
  (offsetof(zyntax_task_ops, join) + sizeof(void (*)(void)))
/** A static initialiser, ops in the order of the struct. */
#define ZYNTAX_TASK_OPS_INIT(state_, status_, cancel_, release_, join_) \
  {sizeof(zyntax_task_ops), (state_), (status_), (cancel_), (release_), (join_)}

/** The header of every task: the backend embeds it as the FIRST member of
 * its task record. */
struct zyntax_task {
  const zyntax_task_ops *ops;
  /** host->runtime of the runtime that spawned it: compared by the loader
   * to refuse foreign tasks, never dereferenced. */
  const zyntax_runtime *owner;
};

/* ------------------------------------------------------------------------ */
/* What the loader passes in                                                 */

/** What the loader gives a backend runtime at creation. Outlives the
 * backend runtime. Read only the fields within `size`. */
typedef struct zyntax_backend_host {
  size_t size;
  /** The public handle wrapping this backend runtime: the `owner` of its
   * tasks. */
  zyntax_runtime *runtime;
  /** A backend-owned thread that polls tasks or runs drops calls
   * enter_thread(runtime) once when it starts and leave_thread() before it
   * exits, so that zyntax_runtime_current() is right there and block_on is
   * refused with EREENTRANT. The loader does this itself for the driving
   * thread. Any thread; never fail. */
  void (*enter_thread)(zyntax_runtime *rt);
  void (*leave_thread)(void);
  /* ---- appended after leave_thread: a backend reads these only when
   * `size` covers them (ZYNTAX_BACKEND_HOST_SIZE_TIMING) ---- */
  /** Nonzero when ZYNTAX_STATS or ZYNTAX_SLOW_POLL_US was set at creation:
   * the backend times each call of a task's poll function (two clock reads)
   * into zyntax_stats.poll_ns_log2. Zero: it reads no clock. Fixed for the
   * runtime's life. */
  int time_polls;
  /** With time_polls: a poll longer than this many ns (0: no limit) counts
   * in zyntax_stats.slow_polls and is passed to slow_poll(). */
  uint64_t slow_poll_ns;
  /** Reports one slow poll: `poll` ran `ns` nanoseconds for `task` (an
   * address that only names it). libzyntax rate-limits and writes the
   * line. Callable from any thread of the runtime; takes no runtime lock. */
  void (*slow_poll)(zyntax_runtime *rt, zyntax_poll_fn poll,
                    const void *task, uint64_t ns);
} zyntax_backend_host;

/** The host size that covers the poll-timing fields. */
#define ZYNTAX_BACKEND_HOST_SIZE_TIMING                                      \
  (offsetof(zyntax_backend_host, slow_poll) + sizeof(void (*)(void)))

/** A spawn request, normalised by the loader. Exactly one of:
 *   external state: inplace_size == 0; `state` (maybe NULL) is the
 *                   caller's and stays valid while the task may run;
 *   in-place state: inplace_size > 0, inplace_align a power of two <= 4096:
 *                   the backend reserves the bytes inside the task
 *                   allocation and calls init(state, init_arg) (init may
 *                   be NULL: then the bytes are zeroed). */
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

/* ------------------------------------------------------------------------ */
/* The backend table                                                         */

typedef struct zyntax_backend {
  uint32_t abi_major; /**< ZYNTAX_BACKEND_ABI_MAJOR as compiled */
  uint32_t abi_minor; /**< ZYNTAX_BACKEND_ABI_MINOR as compiled */
  size_t size; /**< sizeof(zyntax_backend) as the backend was compiled */
  const char *name; /**< "NAME" of libzyntax-backend-NAME.so; static */
  const char *version; /**< e.g. "libuv 1.44.2"; static, may be "" */

  /* ---- ABI 2.0: the op tables (required), checked at load ---- */

  /** The table every task of this backend points to. */
  const zyntax_task_ops *task_ops;
  /** Every table the backend's futures point to, NULL-terminated. */
  const zyntax_future_ops *const *future_ops;

  /* ---- ABI 2.0: runtimes (required) ---- */

  /** zyntax_runtime_create() / _create_with().
   * The loader guarantees: `opts` is normalised (its size is the loader's
   * own, unknown flags refused, worker_threads filled from the
   * environment: 0 still means "backend default"); `host` outlives the
   * runtime; `err` is not NULL, its message empty. Calls are serialised
   * with each other and with fork().
   * The backend must: return 0 with *out set, or a ZYNTAX_E* code
   * (ENOMEM, EBACKEND...) after releasing everything it made, optionally
   * with a sentence in err->message. Never touch the process's default
   * loop or global state other runtimes rely on. */
  int (*runtime_create)(const zyntax_backend_host *host,
                        const zyntax_runtime_options *opts,
                        zyntax_backend_runtime **out, zyntax_error *err);
  /** zyntax_runtime_destroy().
   * The loader guarantees: no thread drives `rt`, none will (the loader
   * holds the driving mark), and from now on every public call that would
   * add or drive work on it returns ZYNTAX_ECLOSED (also from drops and
   * blocking jobs this destroy runs). Called on a thread that is not a
   * poll thread of `rt`.
   * The backend must, in this order ("destroy's order of work"):
   *   1. refuse new work from its own paths (remote wakes become no-ops);
   *   2. cancel every unfinished task and drop each state exactly once,
   *      and drop the kept states of finished tasks whose handle is held;
   *      outcomes become ZYNTAX_ECANCELED;
   *   3. detach every armed leaf future (stop timers and fd watches while
   *      the loop exists): its next poll completes with ZYNTAX_ECLOSED and
   *      its drop touches no loop;
   *   4. wait for blocking jobs already running, join its threads (each
   *      calls host->leave_thread());
   *   5. close the loop and free what nobody else refers to. Task handles,
   *      join futures, leaf futures and waker clones that outlive the
   *      runtime keep their memory until their last drop: waking
   *      such a waker is a no-op.
   * Returns nothing: it cannot fail. */
  void (*runtime_destroy)(zyntax_backend_runtime *rt);

  /* ---- ABI 2.0: tasks and driving (required) ---- */

  /** zyntax_runtime_spawn / _spawn_future / _spawn_inplace.
   * The loader guarantees: `args` is normalised (poll not NULL, in-place
   * size and alignment valid); destroy had not begun when the loader
   * checked; any thread, including poll threads of this or another
   * runtime.
   * The backend must: return 0 with *out a task whose header has
   * ops == task_ops and owner == host->runtime, holding the handle's
   * reference; ZYNTAX_ECLOSED when destroy began meanwhile on another
   * thread (the task must then not be lost: refuse it); ZYNTAX_ENOMEM; or
   * ZYNTAX_EINVAL when init returned nonzero (then drop does not run).
   * "The first poll is queued, never run inline": spawn never calls poll,
   * even on the driving thread; the task runs at the back of the queue.
   * Counts tasks_spawned. */
  int (*spawn)(zyntax_backend_runtime *rt, const zyntax_spawn_args *args,
               zyntax_task **out);
  /** zyntax_runtime_block_on().
   * The loader guarantees: `task` is a live handle of this runtime; the
   * calling thread is the driving thread (marked as such: current()
   * returns the runtime) and not a poll thread of any runtime; destroy has
   * not begun.
   * The backend must: run the runtime's tasks (all of them, not only
   * `task`) until `task` finished, blocking in its loop when nothing is
   * ready (never spin), then return its outcome. Other tasks stay queued
   * for the next drive. */
  int (*block_on)(zyntax_backend_runtime *rt, zyntax_task *task);
  /** zyntax_runtime_block_on_future().
   * The loader guarantees: as block_on; `poll` is not NULL; `state` lives
   * on the caller's stack and outlives the call.
   * The backend must: poll (state, poll) on the calling thread, with a
   * waker that makes the loop poll it again, other tasks running meanwhile,
   * until it returns READY (0) or another value (ZYNTAX_EBADPOLL). No task
   * record need exist; the polls count in `polls`. */
  int (*block_on_future)(zyntax_backend_runtime *rt, void *state,
                         zyntax_poll_fn poll);
  /** zyntax_runtime_run().
   * The loader guarantees: as block_on.
   * The backend must: drive until no unfinished task is left (detached
   * ones included), then return 0. */
  int (*run)(zyntax_backend_runtime *rt);
  /** zyntax_runtime_stats().
   * The loader guarantees: `out` is the loader's own full struct with
   * out->size set and every counter 0; any thread, at any time.
   * The backend must: fill the counters that fit in out->size (at least
   * the 1.0 layout), read with relaxed atomics (no lock). "What each
   * counter counts", on every backend alike:
   *   tasks_spawned    successful spawns;
   *   tasks_completed  tasks whose poll returned READY;
   *   tasks_cancelled  tasks dropped unfinished (cancel or destroy);
   *   tasks_failed     tasks ended by ZYNTAX_EBADPOLL;
   *   polls            calls of task poll functions, block_on_future's too;
   *   wakes            wake/wake_by_ref calls on unfinished tasks;
   *   timers           sleep futures armed (registered with the timer),
   *                    once each;
   *   io_waits         fd waits started (registered with the loop);
   *   blocking_jobs    blocking jobs started on a pool thread. */
  void (*stats)(const zyntax_backend_runtime *rt, zyntax_stats *out);

  /* ---- ABI 2.0: leaf futures (required) ---- */

  /** zyntax_sleep_future / zyntax_sleep_until_future.
   * The loader guarantees: `rt` is open; any thread.
   * The backend must: return 0 with *out a future READY (result 0) once
   * zyntax_now() >= deadline_ns - never earlier, whatever its timer's
   * granularity or cached clock; a deadline already passed is READY at the
   * first poll. ENOMEM, ECLOSED otherwise. */
  int (*sleep_until)(zyntax_backend_runtime *rt, uint64_t deadline_ns,
                     zyntax_future **out);
  /** zyntax_fd_wait_future.
   * The loader guarantees: fd >= 0; events a non-empty subset of
   * ZYNTAX_READABLE | ZYNTAX_WRITABLE; `rt` open; any thread.
   * The backend must: return 0 with *out a future whose result is the
   * ready events (> 0), or ZYNTAX_EBADF at its first poll for an fd epoll
   * cannot watch (regular file, directory, /dev/null) or a closed one.
   * The fd is not owned. Several waits may share an fd; a new wait on an fd
   * number that now names another file completes the stale waits with
   * ZYNTAX_EBADF. */
  int (*fd_wait)(zyntax_backend_runtime *rt, int fd, unsigned events,
                 zyntax_future **out);
  /** zyntax_blocking_future.
   * The loader guarantees: fn is not NULL; `rt` open; any thread.
   * The backend must: return 0 with *out a future READY (result 0) after
   * fn(arg) returned on a thread that never polls tasks. A drop before fn
   * started skips it; after, fn runs to completion and the drop does not
   * wait. destroy waits for jobs already running. (Whether that thread
   * calls host->enter_thread differs today: Tokio's blocking threads do,
   * the C executor's pool does not; `fn` must not drive the runtime
   * either way, runtime.h.) */
  int (*blocking)(zyntax_backend_runtime *rt, zyntax_blocking_fn fn,
                  void *arg, zyntax_future **out);

  /* ---- ABI 2.0: driving from a host's event loop (optional) ----
   * NULL: zyntax_runtime_poll_fd, _next_deadline and _run_nowait return
   * ZYNTAX_EUNSUPPORTED. All three or none. */

  /** zyntax_runtime_poll_fd().
   * The loader guarantees: the calling thread holds the driving mark, as
   * for run().
   * The backend must: store in *fd the runtime's readiness fd - the same
   * on every call, owned by the runtime, closed by runtime_destroy -
   * readable whenever run_nowait has work: a task queued, a timer due,
   * I/O ready, a wake or spawn from any thread. */
  int (*poll_fd)(zyntax_backend_runtime *rt, int *fd);
  /** zyntax_runtime_next_deadline().
   * The loader guarantees: as poll_fd; `deadline_ns` is not NULL.
   * The backend must: return 0 with the earliest pending timer (never
   * later than it; zyntax_now() when work is ready now), or 1 and
   * ZYNTAX_DEADLINE_NONE when none is pending. */
  int (*next_deadline)(zyntax_backend_runtime *rt, uint64_t *deadline_ns);
  /** zyntax_runtime_run_nowait().
   * The loader guarantees: as block_on; `more` is not NULL.
   * The backend must: run what is ready now without blocking, bounded
   * (tasks that keep waking each other are cut off, the fd stays
   * readable), set *more to 1 while unfinished tasks remain, return 0. */
  int (*run_nowait)(zyntax_backend_runtime *rt, int *more);

  /* ---- ABI 2.1: a clock of the backend's own (optional) ----
   * NULL, or past the table's size: the backend's timers run on
   * CLOCK_MONOTONIC, as zyntax_now() does. */

  /** The backend's clock in nanoseconds, process-wide (the sim backend's
   * virtual clock: docs/simulation.md).
   * The loader guarantees: once a runtime of this backend was created,
   * zyntax_now() returns clock() for the rest of the process, and
   * zyntax_sleep_future() and zyntax_interval_stream() on this backend's
   * runtimes measure from it.
   * The backend must: keep it monotonic, callable from any thread at any
   * time (before its first runtime and after its last one too), and
   * compare its sleeps' deadlines against it. */
  uint64_t (*clock)(void);

  /* ---- ABI 2.2: fd watches (optional, all three or none) ----
   * NULL, or past the table's size: the loader serves zyntax_fd_watch_*
   * itself over fd_wait (one fd_wait per watch wait, on the watch's
   * duplicate descriptor), with the same observable behaviour. The loader
   * keeps the public handle: it duplicates the caller's fd (the backend
   * sees only the duplicate, which the loader owns), tracks one watch per
   * fd number and runtime (a second one displaces the first), refuses
   * calls from the wrong thread (EBUSY) and closes every watch still open
   * before runtime_destroy. */

  /** zyntax_fd_watch_open().
   * The loader guarantees: `fd` (>= 0) is a descriptor of the loader's
   * own that stays open, naming the same file, until fd_watch_close
   * returned: the backend may keep its registration across waits and
   * need not check the file's identity; `rt` is open; the calling thread
   * is a poll thread of `rt`, its driving thread, or any thread while
   * nobody drives `rt`.
   * The backend must: return 0 with *out set, ZYNTAX_EBADF for a file it
   * cannot watch (epoll refuses it: regular file, directory, /dev/null),
   * or ZYNTAX_ENOMEM. */
  int (*fd_watch_open)(zyntax_backend_runtime *rt, int fd,
                       zyntax_backend_fd_watch **out);
  /** zyntax_fd_watch_wait_future().
   * The loader guarantees: `w` was opened and not closed (a closed one's
   * handle is gone); events a non-empty subset of ZYNTAX_READABLE |
   * ZYNTAX_WRITABLE; the runtime is open; any thread.
   * The backend must: return 0 with *out a future as fd_wait's - result
   * the ready events (> 0) - that completes with the `reason` given to
   * fd_watch_close if the watch is closed before it is ready (also when
   * first polled after that close), or ENOMEM. The future may outlive the
   * watch and the runtime (as every leaf future). */
  int (*fd_watch_wait)(zyntax_backend_fd_watch *w, unsigned events,
                       zyntax_future **out);
  /** zyntax_fd_watch_destroy(), a displacement, or runtime destroy.
   * The loader guarantees: called once per watch, before the loader
   * closes the descriptor and before runtime_destroy (destroy's loader
   * part closes the watches still open first); threads as fd_watch_open.
   * `reason` is ZYNTAX_ECLOSED (closed, or the runtime is being
   * destroyed) or ZYNTAX_EBADF (displaced).
   * The backend must: remove the registration (so the file is watched no
   * more once the loader closes the descriptor), complete the pending
   * waits with `reason` and wake their tasks, and free the watch once no
   * wait refers to it (with the ABI 2.3 entries: not before fd_watch_free). */
  void (*fd_watch_close)(zyntax_backend_fd_watch *w, int reason);

  /* ---- ABI 2.3: a watch's wait in place (optional, both or none, and
   * only with the 2.2 entries) ----
   * NULL, or past the table's size: the loader serves
   * zyntax_fd_watch_poll() with an fd_watch_wait future of its own for
   * each wait, with the same observable behaviour. With them,
   * fd_watch_close ends a watch but leaves `w` allocated until
   * fd_watch_free: a runtime's destroy closes its watches while a worker
   * thread may still be inside fd_watch_poll on one of them. */

  /** zyntax_fd_watch_poll().
   * The loader guarantees: `w` was opened and not freed; `events` is 0 or
   * a non-empty subset of ZYNTAX_READABLE | ZYNTAX_WRITABLE, `waker`
   * valid for the call (NULL when `events` is 0); calls on one watch
   * never overlap each other or fd_watch_free (they may overlap
   * fd_watch_close); the runtime was open when the call began.
   * The backend must: with `events` 0, end the wait in flight without
   * waking its task and return 0 (zyntax_fd_watch_destroy, before
   * fd_watch_close). Otherwise poll the watch's one wait in place - start
   * it if none is in flight or its events differ (ending the old one),
   * count it once in io_waits when it starts - and return the ready
   * events (> 0, ending the wait), 0 while pending (the latest `waker`
   * woken when the fd may be ready), the close's `reason` once
   * fd_watch_close ran (waking the pending wait's task at that close),
   * or ZYNTAX_EFOREIGN when the calling thread is not a poll thread of
   * the runtime. Readiness as fd_watch_wait's; no allocation per wait. */
  int (*fd_watch_poll)(zyntax_backend_fd_watch *w, unsigned events,
                       const zyntax_waker *waker);
  /** zyntax_fd_watch_destroy(), after fd_watch_close.
   * The loader guarantees: called once per watch, after fd_watch_close,
   * never during fd_watch_poll; any thread, also after runtime_destroy.
   * The backend must: free `w` (its wait in place ended by the close). */
  void (*fd_watch_free)(zyntax_backend_fd_watch *w);

  /* ---- ABI 2.4: a spawn without a handle (optional) ----
   * NULL, or past the table's size: the loader serves
   * zyntax_runtime_spawn_detached() with `spawn` and releases the handle
   * at once (task_ops->release), with the same observable behaviour. */

  /** zyntax_runtime_spawn_detached().
   * The loader guarantees: what it guarantees for `spawn`.
   * The backend must: what `spawn` must, except that no handle is made:
   * the task starts as a spawned task whose handle was already released
   * (no reference for a handle, no state kept for one), so its state is
   * dropped when it completes, is cancelled by destroy, or fails. */
  int (*spawn_detached)(zyntax_backend_runtime *rt, const zyntax_spawn_args *args);
} zyntax_backend;

/** The size a backend of ABI 2.0 declares at least: the whole 2.0 table
 * (its optional entries may be NULL, not absent). */
#define ZYNTAX_BACKEND_SIZE_2_0                                              \
  (offsetof(zyntax_backend, run_nowait) + sizeof(void (*)(void)))

/** The size a backend must declare for its clock (ABI 2.1) to be used. */
#define ZYNTAX_BACKEND_SIZE_2_1                                              \
  (offsetof(zyntax_backend, clock) + sizeof(void (*)(void)))

/** The size a backend must declare for its fd watches (ABI 2.2) to be
 * used. */
#define ZYNTAX_BACKEND_SIZE_2_2                                              \
  (offsetof(zyntax_backend, fd_watch_close) + sizeof(void (*)(void)))

/** The size a backend must declare for its in-place watch wait (ABI 2.3)
 * to be used. */
#define ZYNTAX_BACKEND_SIZE_2_3                                              \
  (offsetof(zyntax_backend, fd_watch_free) + sizeof(void (*)(void)))

/** The size a backend must declare for its detached spawn (ABI 2.4) to be
 * used. */
#define ZYNTAX_BACKEND_SIZE_2_4                                              \
  (offsetof(zyntax_backend, spawn_detached) + sizeof(void (*)(void)))

/** The entry point every plugin exports (and the only symbol it exports). */
typedef const zyntax_backend *(*zyntax_backend_entry_fn)(void);

/* ------------------------------------------------------------------------ */
/* Defining the entry point                                                  */

/* The function ZYNTAX_BACKEND_DEFINE defines, and its visibility. A plugin
 * keeps the defaults; a build that links the backend into libzyntax
 * instead defines both (the in-tree CMake does: zyntax_static_backend_NAME,
 * hidden). */
#ifndef ZYNTAX_BACKEND_ENTRY_NAME
#define ZYNTAX_BACKEND_ENTRY_NAME zyntax_backend_entry
#endif
#ifndef ZYNTAX_BACKEND_ENTRY_VISIBILITY
#define ZYNTAX_BACKEND_ENTRY_VISIBILITY default
#endif

#ifdef __cplusplus
#define ZYNTAX_BACKEND_LINKAGE_ extern "C"
#else
#define ZYNTAX_BACKEND_LINKAGE_
#endif

/** Defines the backend's table - versions and size filled in - and the
 * exported entry point returning it. Use once, at file scope, in the file
 * that defines the entry point:
 *
 *     ZYNTAX_BACKEND_DEFINE("poll", "poll(2) 1.0",
 *         .task_ops = &my_task_ops,
 *         .future_ops = my_future_ops,
 *         .runtime_create = my_create, ...);
 *
 * The arguments after name and version are designated initialisers of the
 * entries; an optional entry left out is NULL. */
#define ZYNTAX_BACKEND_DEFINE(name_, version_, ...)                          \
  static const zyntax_backend zyntax_backend_table_ = {                      \
      .abi_major = ZYNTAX_BACKEND_ABI_MAJOR,                                 \
      .abi_minor = ZYNTAX_BACKEND_ABI_MINOR,                                 \
      .size = sizeof(zyntax_backend),                                        \
      .name = (name_),                                                       \
      .version = (version_),                                                 \
      __VA_ARGS__};                                                          \
  ZYNTAX_BACKEND_LINKAGE_ __attribute__((visibility(                         \
      ZYNTAX_STRINGIFY(ZYNTAX_BACKEND_ENTRY_VISIBILITY)))) const             \
      zyntax_backend *ZYNTAX_BACKEND_ENTRY_NAME(void);                       \
  ZYNTAX_BACKEND_LINKAGE_ const zyntax_backend *ZYNTAX_BACKEND_ENTRY_NAME(   \
      void) {                                                                \
    return &zyntax_backend_table_;                                           \
  }

#ifdef __cplusplus
}
#endif

#endif /* ZYNTAX_BACKEND_H */
