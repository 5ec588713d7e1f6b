/** @file
 * Zyntax Runtime - the public API. Include this header and nothing else.
 *
 * A runtime runs poll functions (compiled `async fn`s) on the backend chosen
 * when it is created: libuv, libev or Tokio. Data flows
 *   your code -> zyntax_* -> runtime handle -> backend -> loop -> waker -> poll.
 *
 * Threads (see also docs/ and each function below):
 *   uv, ev:  poll functions and drop functions run on the thread inside
 *            zyntax_runtime_block_on / zyntax_runtime_run (or inside
 *            zyntax_runtime_destroy, for drops). Wakes, spawns and cancels
 *            from other threads are safe and go through the loop's async
 *            handle.
 *   tokio:   poll functions run on Tokio's worker threads (any of them;
 *            a task may move between workers between polls) unless the
 *            runtime is single-threaded (worker_threads == 1 or
 *            ZYNTAX_RUNTIME_SINGLE_THREADED), where every poll runs on the
 *            thread inside block_on / run.
 * One thread at a time may drive a runtime (block_on / run); a second
 * thread gets ZYNTAX_EBUSY.
 *
 * fork(): a runtime is not inherited. In a child process, every call on a
 * runtime created before the fork - driving, spawning, destroying, and the
 * future constructors (sleep, fd_wait, blocking, yield) - fails with
 * ZYNTAX_EFORKED (its memory is left to the child's exit), and so do
 * zyntax_task_status / cancel / join_future on its tasks (zyntax_task_drop
 * does nothing for them); create a new
 * runtime in the child. fork() while another thread is inside
 * zyntax_runtime_create (loading a backend plugin, or the backend starting
 * up) waits until that create is done, so the child never inherits a
 * half-loaded plugin.
 */
#ifndef ZYNTAX_RUNTIME_H
#define ZYNTAX_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "zyntax/error.h"
#include "zyntax/future.h"
#include "zyntax/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Handles                                                                   */

/** A runtime: one backend instance with its loop/scheduler. Opaque. */
typedef struct zyntax_runtime zyntax_runtime;

/** A spawned task: a future plus its scheduling state. Opaque. The handle
 * made by a spawn function is owned by the caller, who must give it back
 * exactly once with zyntax_task_drop(). It stays valid until then, even
 * after its runtime was destroyed (then the task is finished and its state
 * dropped: status and drop still work). */
typedef struct zyntax_task zyntax_task;

/** A runtime-provided future (sleep, fd readiness, yield, blocking work,
 * join). Opaque; owned by its creator until zyntax_future_drop(). Polled
 * only from tasks (or block_on_future) of the runtime that created it.
 * It may outlive its runtime, on every backend: after
 * zyntax_runtime_destroy it can still be polled and must still be
 * dropped; the drop touches no loop (destroy detached it) and frees it.
 * A sleep, fd-wait or blocking future not READY when its runtime was
 * destroyed completes with ZYNTAX_ECLOSED on its next poll. A yield
 * holds nothing of the runtime (a poll after destroy, from outside any of
 * its tasks, completes with ZYNTAX_EFOREIGN, as any foreign poll); a join
 * completes with the task's outcome (ZYNTAX_ECANCELED for a task destroy
 * cancelled). */
typedef struct zyntax_future zyntax_future;

/* ------------------------------------------------------------------------ */
/* Runtime                                                                   */

/** Flags for zyntax_runtime_options.flags. */
#define ZYNTAX_RUNTIME_SINGLE_THREADED 0x1u /* every poll on the driving thread */

/** Options for zyntax_runtime_create_with(). Set `size` to
 * sizeof(zyntax_runtime_options) (ZYNTAX_RUNTIME_OPTIONS_INIT does) so later
 * versions can append fields without breaking you. Zero means "default"
 * everywhere. */
typedef struct zyntax_runtime_options {
  size_t size;
  /** Backend: a name ("uv", "ev", "tokio") or an absolute path to a plugin
   * file. NULL: $ZYNTAX_RUNTIME, else the build's default backend. */
  const char *backend;
  /** Scheduler threads (tokio): 0 = $ZYNTAX_WORKER_THREADS, else the number
   * of CPUs; 1 = current-thread scheduler. uv and ev always use the
   * driving thread and ignore it. */
  uint32_t worker_threads;
  /** Upper bound on threads running zyntax_blocking_future() jobs; 0 =
   * default.
   * ev: the runtime's own pool (default 4). tokio: Tokio's
   * max_blocking_threads (default: Tokio's, 512). uv: ignored - libuv has
   * one thread pool per process, shared by every loop and sized once by
   * the environment variable UV_THREADPOOL_SIZE (default 4) before its
   * first use; a uv runtime cannot bound it. */
  uint32_t blocking_threads;
  /** ZYNTAX_RUNTIME_* flags. */
  uint32_t flags;
} zyntax_runtime_options;

#define ZYNTAX_RUNTIME_OPTIONS_INIT {sizeof(zyntax_runtime_options), NULL, 0, 0, 0}

/** Creates a runtime on the backend named by $ZYNTAX_RUNTIME (a name or an
 * absolute plugin path), or on the build's default backend when it is unset.
 * Returns NULL on failure; zyntax_last_error() then says why: ZYNTAX_ENOBACKEND
 * (unknown name / missing file; the message lists what was tried and what is
 * available), ZYNTAX_EBADPLUGIN (not a shared object, no entry symbol,
 * missing entries), ZYNTAX_EABI (incompatible ABI version or size),
 * ZYNTAX_EPERM (relative path, or refused in secure-execution mode),
 * ZYNTAX_ENOMEM, ZYNTAX_EBACKEND. Never falls back to another backend.
 * Thread-safe. */
ZYNTAX_EXTERN zyntax_runtime *zyntax_runtime_create(void);

/** Like zyntax_runtime_create() with explicit options (NULL = defaults).
 * Returns 0 with the new runtime in `*out`, owned by the caller (end it
 * with zyntax_runtime_destroy), or a negative code with `*out` set to NULL
 * and the message recorded for zyntax_last_error(): the errors of
 * zyntax_runtime_create(), and ZYNTAX_EINVAL for a NULL `out` or an
 * opts->size below the 1.0 layout (any larger size works: docs/abi.md).
 * Thread-safe. */
ZYNTAX_EXTERN int zyntax_runtime_create_with(const zyntax_runtime_options *opts,
                                             zyntax_runtime **out);

/** Destroys `rt`: every unfinished task is cancelled and its state dropped
 * (exactly once), states of finished tasks whose handle is still held are
 * dropped too, worker threads are joined (blocking jobs already running are
 * waited for), and the runtime's memory is freed. Task handles stay valid
 * until dropped; wakers that outlive the runtime stay safe to wake and drop
 * (no-ops): the small records they refer to are freed with the last one.
 * Runtime futures may outlive it too (see zyntax_future). While destroy
 * runs, code it runs (drop functions, blocking jobs) gets ZYNTAX_ECLOSED
 * from every call that would add or drive work on `rt`: spawn, sleep,
 * fd_wait, blocking, yield, block_on, block_on_future, run - on every
 * backend, whichever thread it runs on.
 * Returns 0, ZYNTAX_EINVAL (NULL), ZYNTAX_EBUSY (a thread is inside
 * block_on/run of `rt`, or called from a poll function of `rt`; nothing is
 * destroyed). Call from any thread that is not driving `rt`. */
ZYNTAX_EXTERN int zyntax_runtime_destroy(zyntax_runtime *rt);

/** The backend's name ("uv", "ev", "tokio", or a plugin's own name), static
 * storage valid for the life of the process. "" for NULL, with
 * ZYNTAX_EINVAL recorded for zyntax_last_error(). Thread-safe. */
ZYNTAX_EXTERN const char *zyntax_runtime_backend_name(const zyntax_runtime *rt);

/** The backend's version string, e.g. "libuv 1.44.2": static storage, like
 * the name. "" for NULL, with ZYNTAX_EINVAL recorded. Thread-safe. */
ZYNTAX_EXTERN const char *zyntax_runtime_backend_version(const zyntax_runtime *rt);

/** The runtime whose poll function is running on the calling thread (or that
 * the calling thread is driving, or whose worker it is); NULL otherwise.
 * Borrowed: valid while that runtime lives. Never fails; any thread. */
ZYNTAX_EXTERN zyntax_runtime *zyntax_runtime_current(void);

/* ------------------------------------------------------------------------ */
/* Spawning                                                                  */

/** Spawns a task polling `poll(state, waker)` until READY. `state` stays
 * owned by the caller (there is no drop); it must stay valid until the task
 * finished or was cancelled. The first poll is queued, never run inline.
 * Returns the task handle, or NULL: ZYNTAX_EINVAL (NULL rt or poll),
 * ZYNTAX_ECLOSED (runtime being destroyed), ZYNTAX_ENOMEM.
 * Thread-safe: may be called from any thread, including poll functions of
 * this or another runtime. */
ZYNTAX_EXTERN zyntax_task *zyntax_runtime_spawn(zyntax_runtime *rt, void *state,
                                                zyntax_poll_fn poll);

/** Spawns a task that owns `state`: `vtable->drop(state)` runs exactly once
 * (after completion when the handle is dropped, on cancel, or on destroy).
 * Returns 0 with the task handle in `*out`, owned by the caller
 * (zyntax_task_drop), or a negative code with `*out` set to NULL and
 * `state` still the caller's: the errors of zyntax_runtime_spawn, and
 * ZYNTAX_EINVAL for a NULL vtable, vtable->poll or `out`.
 * Thread-safe, as zyntax_runtime_spawn. */
ZYNTAX_EXTERN int zyntax_runtime_spawn_future(zyntax_runtime *rt, void *state,
                                              const zyntax_future_vtable *vtable,
                                              zyntax_task **out);

/** Initialises a task state in place; returns 0, or nonzero to abort the
 * spawn (then no drop runs). */
typedef int (*zyntax_state_init_fn)(void *state, void *arg);

/** Spawns a task whose state lives inside the task's own allocation: one
 * allocation per spawn. `state_size` bytes aligned to `state_align` (a power
 * of two, at most 4096) are reserved and `init(state, arg)` fills them before
 * the task is scheduled; afterwards zyntax_task_state() returns that memory.
 * `vtable->drop` (may be NULL) must not free the state itself.
 * Returns 0 with the task handle in `*out`, owned by the caller
 * (zyntax_task_drop), or a negative code with `*out` set to NULL:
 * ZYNTAX_EINVAL (bad size/alignment/vtable, NULL `out`, or init returned
 * nonzero), plus the errors of zyntax_runtime_spawn. Thread-safe. */
ZYNTAX_EXTERN int zyntax_runtime_spawn_inplace(
    zyntax_runtime *rt, const zyntax_future_vtable *vtable, size_t state_size,
    size_t state_align, zyntax_state_init_fn init, void *arg,
    zyntax_task **out);

/** Spawns a task like zyntax_runtime_spawn_inplace() and lets it go: no
 * handle is made, as if zyntax_task_drop() ran right after the spawn, but
 * without its cost (a spawn that needs no result or join: one reference
 * and one atomic update less per task). The task runs until it finishes,
 * fails or is cancelled by destroy; `vtable->drop` runs exactly once in
 * each case, right when it ends. zyntax_runtime_run() waits for it like
 * for any other task; stats count it like any other.
 * Returns 0, or a negative code with nothing spawned: ZYNTAX_EINVAL (NULL
 * rt, bad size/alignment/vtable, or init returned nonzero: then no drop
 * runs), ZYNTAX_ECLOSED (runtime being destroyed: when init had run, drop
 * runs before the call returns), ZYNTAX_ENOMEM.
 * Thread-safe, as zyntax_runtime_spawn. */
ZYNTAX_EXTERN int zyntax_runtime_spawn_detached(
    zyntax_runtime *rt, const zyntax_future_vtable *vtable, size_t state_size,
    size_t state_align, zyntax_state_init_fn init, void *arg);

/* ------------------------------------------------------------------------ */
/* Driving                                                                   */

/** Drives `rt` on the calling thread until `task` finished. Returns the
 * task's outcome: 0 (completed; read the result via zyntax_task_state),
 * ZYNTAX_ECANCELED, ZYNTAX_EBADPOLL; or an error with nothing driven:
 * ZYNTAX_EINVAL (NULL), ZYNTAX_EFOREIGN (task of another runtime),
 * ZYNTAX_EREENTRANT (called from a poll function or a runtime worker),
 * ZYNTAX_EBUSY (another thread is driving `rt`), ZYNTAX_ECLOSED (`rt` is
 * being destroyed: called from a drop function or blocking job that
 * destroy runs; checked before EREENTRANT), ZYNTAX_EFORKED.
 * The task handle stays valid; drop it when done. */
ZYNTAX_EXTERN int zyntax_runtime_block_on(zyntax_runtime *rt, zyntax_task *task);

/** Drives `rt` until the future (`state`, `poll`) is READY, polling it on the
 * calling thread. No task is allocated: `state` may live on the caller's
 * stack ("sync calling async"). Other tasks of `rt` make progress meanwhile.
 * Returns 0 when READY, ZYNTAX_EBADPOLL, or the errors of block_on. */
ZYNTAX_EXTERN int zyntax_runtime_block_on_future(zyntax_runtime *rt, void *state,
                                                 zyntax_poll_fn poll);

/** Drives `rt` until no unfinished task is left (dropped tasks included).
 * Returns 0, or the errors of block_on. Threads as block_on: any thread
 * that is not running poll functions, one at a time per runtime. */
ZYNTAX_EXTERN int zyntax_runtime_run(zyntax_runtime *rt);

/* ------------------------------------------------------------------------ */
/* Driving from a host's event loop                                          */
/*
 * A program whose thread belongs to another loop (GLib, Qt, a game engine,
 * Python's or Node's) drives the runtime from there instead of inside
 * zyntax_runtime_run:
 *
 *     int fd = zyntax_runtime_poll_fd(rt);       // watch it for reading
 *     ... host loop: when fd is readable, or the deadline passed:
 *     zyntax_runtime_run_nowait(rt, &more);      // runs what is ready
 *     zyntax_runtime_next_deadline(rt, &ns);     // optional: host timeout
 *
 * The fd becomes readable whenever the runtime has work: I/O, a timer due,
 * a wake or spawn from any thread, tasks still queued. A host may wait on
 * it with any timeout, even none: the fd alone is enough. libuv's own
 * embedding interface (uv_backend_fd + uv_backend_timeout) misses a timer
 * started after the host computed its timeout (libuv issues #1565, #965),
 * because libuv timers are not fds. Here the fd is an epoll set holding a
 * timerfd that every run_nowait re-arms for the earliest timer, an eventfd
 * that every wake, spawn or drop from another thread writes, and the
 * loop's I/O (uv: its epoll fd; both: the epoll set holding every fd a
 * task waits on). A timer can only be armed by a task the
 * driving thread polls after a wake - which itself made the fd readable.
 * So a deadline armed from another thread, earlier than the host's
 * timeout, wakes the host twice: once for the wake, once when due.
 *
 * Backends: uv and ev. sim returns ZYNTAX_EUNSUPPORTED for all three: a
 * host waits in real time, while a simulation's clock moves only when it
 * runs the loop itself. Tokio returns ZYNTAX_EUNSUPPORTED for all three:
 * its multi-thread scheduler drives itself on its worker threads, so there
 * is no "ready work" a host thread could run, and Tokio exposes no fd for
 * its driver; a current-thread Tokio runtime could fit but is not offered
 * yet. A backend table of ABI 1.0 (without these entries) gives the
 * same.
 */

/** The value of *deadline_ns when zyntax_runtime_next_deadline has none. */
#define ZYNTAX_DEADLINE_NONE UINT64_MAX

/** The runtime's readiness fd: readable whenever zyntax_runtime_run_nowait
 * has something to do (see above). Returns the fd (>= 0), the same one on
 * every call, or a negative code: ZYNTAX_EINVAL (NULL),
 * ZYNTAX_EUNSUPPORTED (backend without host-loop support),
 * ZYNTAX_EREENTRANT, ZYNTAX_EBUSY (another thread drives `rt`),
 * ZYNTAX_EFORKED, ZYNTAX_ENOMEM / ZYNTAX_EIO (the fds cannot be made).
 * Ownership: the runtime owns the fd. Watch it for reading only; never
 * read, write or close it. zyntax_runtime_destroy closes it, so stop
 * watching it first (a GSource removes it with itself; an epoll set drops
 * it by itself); afterwards the number may be reused by any new fd.
 * Threads: as zyntax_runtime_run - any thread not running poll functions,
 * while no other thread drives `rt`. The fd may be polled from any thread. */
ZYNTAX_EXTERN int zyntax_runtime_poll_fd(zyntax_runtime *rt);

/** The earliest pending timer of `rt` on the zyntax_now() clock, in
 * *deadline_ns. Returns 0 with the deadline (zyntax_now() itself when work
 * is ready now: the host should not wait), 1 when no timer is pending
 * (*deadline_ns = ZYNTAX_DEADLINE_NONE: wait for the fd alone), or a
 * negative code: ZYNTAX_EINVAL (NULL argument), ZYNTAX_EUNSUPPORTED,
 * ZYNTAX_EREENTRANT, ZYNTAX_EBUSY, ZYNTAX_EFORKED. The deadline is the
 * earliest sleep's, rounded up to the millisecond; when more than 64 sleeps
 * share the timing wheel's first slot it may be earlier (the slot's start:
 * the host then wakes once early, never late). Advisory: the fd becomes
 * readable at that time anyway. Threads as zyntax_runtime_poll_fd. */
ZYNTAX_EXTERN int zyntax_runtime_next_deadline(zyntax_runtime *rt,
                                               uint64_t *deadline_ns);

/** Runs what is ready now - tasks woken or spawned, I/O and timers that
 * are due - without ever blocking, and returns. *more is set to 1 while
 * unfinished tasks remain (zyntax_runtime_run would not have returned), 0
 * when none do. Tasks that keep waking each other are cut off after a few
 * loop turns; the fd then stays readable, so the host calls again. Returns
 * 0 or an error with nothing run: ZYNTAX_EINVAL (NULL argument),
 * ZYNTAX_EUNSUPPORTED, ZYNTAX_EREENTRANT (called from a poll function or
 * a runtime worker), ZYNTAX_EBUSY (another thread drives `rt`),
 * ZYNTAX_ECLOSED, ZYNTAX_EFORKED. Threads as zyntax_runtime_run: one
 * driver at a time; poll functions run on the calling thread. */
ZYNTAX_EXTERN int zyntax_runtime_run_nowait(zyntax_runtime *rt, int *more);

/* ------------------------------------------------------------------------ */
/* Tasks                                                                     */

/** The neutral "no outcome yet" value: zyntax_task_status() while the task
 * has not finished, zyntax_future_result() while a future is not READY,
 * zyntax_stream_result() before DONE. Distinct from every result (outcomes
 * are <= 0, fd events are small masks). */
#define ZYNTAX_NOT_FINISHED 0x7fffffff

/** The task's state pointer, for reading its result after it completed.
 * Borrowed: valid until the handle is dropped. NULL for NULL (with
 * ZYNTAX_EINVAL recorded), or once the state was dropped (cancelled task).
 * Thread-safe to call; only read the state when the task has finished, or
 * from the task's own polls. */
ZYNTAX_EXTERN void *zyntax_task_state(const zyntax_task *task);

/** ZYNTAX_NOT_FINISHED, or the outcome: 0 completed, ZYNTAX_ECANCELED,
 * ZYNTAX_EBADPOLL. ZYNTAX_EINVAL for NULL; ZYNTAX_EFORKED in a forked
 * child for a task of a runtime it inherited (its fate is the parent's).
 * Thread-safe. */
ZYNTAX_EXTERN int zyntax_task_status(const zyntax_task *task);

/** Requests cancellation: the task is not polled again and its state is
 * dropped exactly once, on the thread that drives the runtime (at its next
 * turn, or in destroy). A task being polled right now on another thread
 * finishes that poll first (if it returns READY it completes normally).
 * Returns 0 (requested), ZYNTAX_EFINISHED (already finished),
 * ZYNTAX_EINVAL (NULL), ZYNTAX_EFORKED (task of a runtime inherited
 * through fork(): nothing is done). Thread-safe. */
ZYNTAX_EXTERN int zyntax_task_cancel(zyntax_task *task);

/** Gives the handle back. The task keeps running if unfinished (detach) and
 * its state is dropped when it ends; a finished task's state is dropped now,
 * on the calling thread. The handle is invalid afterwards. NULL is a no-op.
 * Never fails on a handle the caller owns. For a task of a runtime
 * inherited through fork() nothing is done (the handle is left to the
 * child's exit) and ZYNTAX_EFORKED is recorded for zyntax_last_error(); a
 * second drop of a handle is misuse, recorded as ZYNTAX_EINVAL where the
 * backend can still tell. Thread-safe. */
ZYNTAX_EXTERN void zyntax_task_drop(zyntax_task *task);

/** A future that becomes READY when `task` finished; its result is the
 * task's outcome (as zyntax_task_status). It holds its own reference: the
 * handle may be dropped meanwhile. One join future per task may exist at
 * a time. Returns 0 with the future in `*out`, owned by the caller
 * (zyntax_future_drop), or a negative code with `*out` set to NULL:
 * ZYNTAX_EINVAL (NULL task or `out`), ZYNTAX_EBUSY (a join future for this
 * task already exists), ZYNTAX_ENOMEM, ZYNTAX_EFORKED (task of a runtime
 * inherited through fork()). Thread-safe; the future may be polled from
 * any runtime's task. */
ZYNTAX_EXTERN int zyntax_task_join_future(zyntax_task *task, zyntax_future **out);

/* ------------------------------------------------------------------------ */
/* Runtime-provided (leaf) futures                                           */

/** Readiness events for zyntax_fd_wait_future() and
 * zyntax_fd_watch_wait_future(). */
#define ZYNTAX_READABLE 0x1u
#define ZYNTAX_WRITABLE 0x2u

/** Current time of the clock sleeps use: CLOCK_MONOTONIC, in nanoseconds.
 * sim: once a sim runtime was created in the process, the simulation's
 * virtual clock instead (docs/simulation.md): it moves only when the
 * simulation jumps it to the next deadline, and by 100 ns per call (so a
 * loop waiting for it to pass a value ends). Sleeps and intervals on
 * other backends' runtimes keep CLOCK_MONOTONIC; a deadline for
 * zyntax_sleep_until_future() on them cannot be read from zyntax_now() then.
 * Never fails; any thread. */
ZYNTAX_EXTERN uint64_t zyntax_now(void);

/** A future READY once `ns` nanoseconds have passed since this call. The
 * backend rounds up to its timer granularity; it never completes early.
 * Sleeps that fall due together (in one timer tick, or while the runtime
 * is behind) complete in no particular order: Tokio's multi-thread
 * scheduler, for one, runs the task its timer woke last first.
 * Returns 0 with the future in `*out`, owned by the caller
 * (zyntax_future_drop), or a negative code with `*out` set to NULL:
 * ZYNTAX_EINVAL (NULL rt or `out`), ZYNTAX_ENOMEM, ZYNTAX_ECLOSED (`rt` is
 * being destroyed), ZYNTAX_EFORKED (`rt` was inherited through fork()).
 * Create it from any thread; poll and drop it as zyntax_future_poll /
 * zyntax_future_drop say. The same holds for every runtime future below. */
ZYNTAX_EXTERN int zyntax_sleep_future(zyntax_runtime *rt, uint64_t ns,
                                      zyntax_future **out);

/** A future READY once zyntax_now() >= deadline_ns. Ownership, threads and
 * errors as zyntax_sleep_future. */
ZYNTAX_EXTERN int zyntax_sleep_until_future(zyntax_runtime *rt,
                                            uint64_t deadline_ns,
                                            zyntax_future **out);

/** A future READY when `fd` is ready for any of `events` (ZYNTAX_READABLE |
 * ZYNTAX_WRITABLE). Its result is the ready events (> 0), or a negative
 * error (ZYNTAX_EBADF, ZYNTAX_EIO). Every backend completes it with
 * ZYNTAX_EBADF at its first poll for an fd epoll cannot watch - a regular
 * file, a directory, /dev/null - or a closed one.
 * The fd is not owned: keep it open until the future is dropped. Several
 * futures may wait on the same fd. Closing the fd while a wait on it is
 * pending is misuse; if its number is then reused (a new socket) and a new
 * wait starts on it, the stale waits complete with ZYNTAX_EBADF and the new
 * wait works normally (a stale wait nobody displaces stays pending).
 * Returns 0 with the future in `*out` (ownership as zyntax_sleep_future),
 * or a negative code with `*out` set to NULL: ZYNTAX_EINVAL (NULL rt or
 * `out`, fd < 0, no events), ZYNTAX_ENOMEM, ZYNTAX_ECLOSED, ZYNTAX_EFORKED.
 * Threads as zyntax_sleep_future. */
ZYNTAX_EXTERN int zyntax_fd_wait_future(zyntax_runtime *rt, int fd,
                                        unsigned events, zyntax_future **out);

/** An fd watch: a registration of one fd with a runtime that stays across
 * waits, like libuv's uv_poll_t, libev's ev_io or Tokio's AsyncFd. Opaque.
 * Where zyntax_fd_wait_future() must confirm at every wait that the number
 * still names the same file (one epoll_ctl per wait on uv and ev), a watch
 * holds its own reference to the file (a duplicate descriptor), so a wait
 * costs no system call while the registration stays armed.
 *
 * Life: zyntax_fd_watch_open(), any number of
 * zyntax_fd_watch_wait_future() or zyntax_fd_watch_poll(), then
 * zyntax_fd_watch_destroy() - BEFORE the
 * caller closes the fd (the contract of uv_poll_stop and ev_io_stop).
 * Threads (uv, ev: the runtime's registrations belong to its driving
 * thread): open and destroy are called from a task of the runtime (its poll
 * or drop function, on whichever thread the backend runs it), from the
 * thread driving it, or from any thread while no thread drives it (before
 * block_on, after it returned); anywhere else they fail with ZYNTAX_EBUSY
 * and change nothing. Waits are created from any thread, and polled and
 * dropped as every runtime future; a wait is not created concurrently with
 * its watch's destroy (or a displacing open) on another thread.
 *
 * Misuse is reported, never fatal:
 *   - the fd closed while its watch is open: the watch keeps its own
 *     reference, so the open file (a socket's connection) stays open and
 *     watched until the watch is destroyed;
 *   - a second watch opened on a number that already has an open watch in
 *     the same runtime (the number was closed and reused, or watched
 *     twice) displaces the first one: its pending waits complete with
 *     ZYNTAX_EBADF, its new waits fail with ZYNTAX_EBADF, its reference to
 *     the file is dropped, and its destroy returns ZYNTAX_EBADF; the new
 *     watch works normally.
 * (A "_destroy", not a "_close": it ends the object now, frees the
 * handle, and may be refused - docs/design.md, API rules.) */
typedef struct zyntax_fd_watch zyntax_fd_watch;

/** Opens a watch on `fd` (a socket, pipe, eventfd, tty: a file epoll can
 * watch). The caller keeps owning `fd` and keeps it open until
 * zyntax_fd_watch_destroy(); the watch duplicates it (one more descriptor
 * per watch, closed by zyntax_fd_watch_destroy). Returns 0 with the watch in
 * `*out`, owned by the caller, or a negative code with `*out` set to NULL:
 * ZYNTAX_EINVAL (NULL rt or `out`, fd < 0), ZYNTAX_EBADF (fd closed, or a
 * file epoll cannot watch - a regular file, a directory, /dev/null; or no
 * descriptor left for the duplicate), ZYNTAX_ENOMEM, ZYNTAX_ECLOSED (`rt`
 * is being destroyed), ZYNTAX_EFORKED, ZYNTAX_EBUSY (wrong thread, see
 * zyntax_fd_watch). */
ZYNTAX_EXTERN int zyntax_fd_watch_open(zyntax_runtime *rt, int fd,
                                       zyntax_fd_watch **out);

/** A future READY when the watched fd is ready for any of `events`
 * (ZYNTAX_READABLE | ZYNTAX_WRITABLE), like zyntax_fd_wait_future(): its
 * result is the ready events (> 0), or ZYNTAX_ECLOSED when the watch or
 * its runtime was destroyed while it waited (or before its first
 * poll), or ZYNTAX_EBADF when another watch displaced this one. Any number
 * of waits may exist on a watch, one after another or at once; each is
 * owned by its caller (zyntax_future_drop), may outlive the watch and the
 * runtime, and is polled as every runtime future (ZYNTAX_EFOREIGN outside
 * the runtime's tasks). Returns 0 with the future in `*out`, or a negative
 * code with `*out` set to NULL: ZYNTAX_EINVAL (NULL watch or `out`, no
 * events or unknown ones), ZYNTAX_EBADF (the watch was displaced),
 * ZYNTAX_ENOMEM, ZYNTAX_ECLOSED (the runtime is being destroyed),
 * ZYNTAX_EFORKED. Any thread. */
ZYNTAX_EXTERN int zyntax_fd_watch_wait_future(zyntax_fd_watch *watch,
                                              unsigned events,
                                              zyntax_future **out);

/** Polls the watch's own readiness wait, in place: what a compiled poll
 * function calls where it would create, poll and drop a
 * zyntax_fd_watch_wait_future() for every wait (as Tokio's
 * AsyncFd::poll_read_ready is to its readable() future). It allocates
 * nothing per wait.
 *
 * The watch holds one such wait. A poll starts it when none is in flight
 * (or when `events` differ from the one in flight, which it ends first),
 * and polls it with `waker`; READY ends it, and the next poll starts a new
 * one. Returns ZYNTAX_PENDING after arranging for `waker` to be woken when
 * the fd may be ready - only the waker of the latest poll is woken, so a
 * watch polled in place serves one task at a time (waits from other
 * tasks take wait futures) - or ZYNTAX_READY with `*result` set to what a
 * wait future's result would be: the ready events (> 0), ZYNTAX_ECLOSED
 * (the runtime was destroyed), ZYNTAX_EBADF (another watch displaced this
 * one), ZYNTAX_EFOREIGN (called outside the runtime's tasks), or
 * ZYNTAX_EINVAL (NULL watch or waker, no events or unknown ones). With
 * `result` NULL it returns READY and records ZYNTAX_EINVAL. Readiness is a
 * level, as a wait future's: what the caller left unread is ready again
 * at the next poll. Each wait counts once in zyntax_stats' io_waits.
 *
 * zyntax_fd_watch_destroy() ends a wait in flight without waking its
 * task; a displacement or the runtime's destroy wakes it, and its next
 * poll returns the error. Threads: from the runtime's tasks, as a future
 * is polled; calls on one watch do not overlap each other or its destroy
 * (one task polls it at a time). */
ZYNTAX_EXTERN zyntax_poll zyntax_fd_watch_poll(zyntax_fd_watch *watch,
                                               unsigned events,
                                               const zyntax_waker *waker,
                                               int *result);

/** Ends a watch now and frees the handle: the registration and the watch's
 * reference to the file are gone when it returns, so the caller may close
 * the fd then. Its pending waits complete with ZYNTAX_ECLOSED (their tasks
 * are woken); waits not yet polled complete so at their first poll.
 * Returns 0; ZYNTAX_EBADF when the watch had been displaced (the handle is
 * freed all the same); ZYNTAX_EINVAL for NULL; ZYNTAX_EBUSY from a wrong
 * thread (see zyntax_fd_watch: nothing is ended, the handle stays valid);
 * ZYNTAX_EFORKED in a child process (nothing is ended). A watch still open
 * when its runtime is destroyed is ended by the runtime's destroy (its
 * waits complete with ZYNTAX_ECLOSED, its descriptor is closed); its
 * handle stays valid until this call, which then only frees it, from any
 * thread. */
ZYNTAX_EXTERN int zyntax_fd_watch_destroy(zyntax_fd_watch *watch);

/** A future PENDING on its first poll (waking its task at the back of the
 * run queue) and READY on the second: lets other tasks run. One allocation
 * per yield; compiled code can use zyntax_yield_poll() (future.h) instead,
 * which behaves the same and allocates nothing. Polled from a task of
 * another runtime it completes with ZYNTAX_EFOREIGN. Ownership and threads
 * as zyntax_sleep_future. Returns 0 with the future in `*out`, or a
 * negative code with `*out` set to NULL: ZYNTAX_EINVAL (NULL rt or `out`),
 * ZYNTAX_ENOMEM, ZYNTAX_ECLOSED (`rt` is being destroyed), ZYNTAX_EFORKED. */
ZYNTAX_EXTERN int zyntax_yield_future(zyntax_runtime *rt, zyntax_future **out);

/** Runs `fn(arg)` on the runtime's blocking-work pool (never on a thread that
 * polls tasks); READY after it returned. sim: a job runs only while the
 * runtime is driven, one at a time, at a point the seed picks, on a
 * thread of its own while the driving thread waits for it - so a job
 * waiting for a task of the same runtime, or for its destroy, never
 * returns; a job still queued at destroy is skipped, as a dropped one.
 * `fn` must not call zyntax_* driving functions. Dropping the future
 * before `fn` started skips it; after it started, `fn` runs to completion
 * and the drop does not wait. The runtime's destroy waits for running jobs. Ownership, threads and errors as
 * zyntax_sleep_future (ZYNTAX_EINVAL also for a NULL fn). */
typedef void (*zyntax_blocking_fn)(void *arg);
ZYNTAX_EXTERN int zyntax_blocking_future(zyntax_runtime *rt,
                                         zyntax_blocking_fn fn, void *arg,
                                         zyntax_future **out);

/** Polls a runtime future with the calling task's borrowed waker.
 * ZYNTAX_READY once done (and on every later poll), with the future's
 * result (as zyntax_future_result) in `*result`; PENDING leaves `*result`
 * untouched. A NULL `f`: READY with ZYNTAX_EINVAL in `*result`; a NULL
 * `result`: READY with nothing polled; ZYNTAX_EINVAL is recorded for
 * zyntax_last_error() in both cases. A sleep, fd-wait or
 * blocking future polled anywhere but in a task (or block_on_future) of its
 * own runtime completes with ZYNTAX_EFOREIGN: from a task of another
 * runtime, and also from outside any task (a plain thread, with a NULL or
 * no-op waker); such a poll consumes the future. Polled after its runtime
 * was destroyed it completes with ZYNTAX_ECLOSED (see zyntax_future).
 * Only one task may poll a given future: call it from that task's poll
 * function (on whatever thread the backend polls it), or from
 * block_on_future's poll. */
ZYNTAX_EXTERN zyntax_poll zyntax_future_poll(zyntax_future *f,
                                             const zyntax_waker *waker,
                                             int *result);

/** The result of a READY future: 0 or a positive value (fd_wait: ready
 * events; join: the task outcome) on success, a negative ZYNTAX_E* code on
 * failure. ZYNTAX_NOT_FINISHED while pending; ZYNTAX_EINVAL for NULL.
 * Call from the thread that polls the future (the result is written there
 * without a lock), or after the polling task finished. */
ZYNTAX_EXTERN int zyntax_future_result(const zyntax_future *f);

/** Drops a runtime future: cancels whatever it waits for (stops the timer,
 * stops watching the fd, skips a queued blocking job) and frees it. NULL is
 * a no-op. Call from the thread that polls it (inside a poll or drop
 * function of its task), or while its runtime is not being driven. */
ZYNTAX_EXTERN void zyntax_future_drop(zyntax_future *f);

/* ------------------------------------------------------------------------ */
/* Stats                                                                     */

/** The buckets of zyntax_stats.poll_ns_log2. */
#define ZYNTAX_STATS_POLL_BUCKETS 32

/** Counters with the same meaning on every backend. Set `size` to
 * sizeof(zyntax_stats); fields past it are never written (a program built
 * against a later, longer layout keeps its extra fields). */
typedef struct zyntax_stats {
  size_t size;
  uint64_t tasks_spawned; /**< successful spawns */
  uint64_t tasks_completed; /**< tasks whose poll returned READY */
  uint64_t tasks_cancelled; /**< tasks dropped unfinished (cancel, destroy) */
  uint64_t tasks_failed; /**< tasks ended by ZYNTAX_EBADPOLL */
  uint64_t polls; /**< calls of task poll functions (block_on_future too) */
  uint64_t wakes; /**< wake/wake_by_ref calls on unfinished tasks */
  uint64_t timers; /**< sleep futures armed */
  uint64_t io_waits; /**< fd_wait futures armed */
  uint64_t blocking_jobs; /**< blocking jobs started */
  /* ---- appended after the 1.0 layout (a 1.0 caller's struct ends above:
   * docs/abi.md) ---- */
  /** Of `wakes`, those made on a thread that is not the runtime's own:
   * not its driving thread, nor (Tokio) one of its worker or blocking
   * threads. A blocking job's thread on uv and ev is not the runtime's
   * (libuv's pool, the executor's pool), so a wake from inside a blocking
   * job is remote there and local on Tokio. */
  uint64_t wakes_remote;
  /** The most unfinished spawned tasks at one time (block_on_future's
   * own future not counted). */
  uint64_t peak_live_tasks;
  /** Polls longer than ZYNTAX_SLOW_POLL_US (0 while that is unset). */
  uint64_t slow_polls;
  /** The simulation backend's seed and trace hash (docs/simulation.md): a
   * hash of every poll (task, outcome, virtual time) so far; two runs of
   * one program with one seed have the same. Both 0 on other backends. */
  uint64_t sim_seed;
  uint64_t sim_trace;
  /** Poll durations, only while ZYNTAX_STATS or ZYNTAX_SLOW_POLL_US is
   * set at runtime creation (all 0 otherwise: no clock is read): bucket k
   * counts polls that took [2^k, 2^(k+1)) ns; bucket 0 also takes 0 ns
   * and the last bucket everything from 2^31 ns (2.1 s) up. */
  uint64_t poll_ns_log2[ZYNTAX_STATS_POLL_BUCKETS];
} zyntax_stats;

/** Copies the counters into `*out` (which must have `size` set). Counters are
 * updated with relaxed atomics: a read while tasks run sees each counter
 * at some recent value. Returns 0, ZYNTAX_EINVAL (NULL, or `size` below the
 * 1.0 layout: docs/abi.md). Thread-safe. */
ZYNTAX_EXTERN int zyntax_runtime_stats(const zyntax_runtime *rt,
                                       zyntax_stats *out);

/* ------------------------------------------------------------------------ */
/* Backend introspection (what zyntax-info prints)                           */

/** What the loader knows about one backend. Set `size` to
 * sizeof(zyntax_backend_info) before passing it in. */
typedef struct zyntax_backend_info {
  size_t size;
  int status; /**< 0 usable, else the ZYNTAX_E* code refusing it */
  unsigned abi_major; /**< as the backend declares (0 if unreadable) */
  unsigned abi_minor;
  char name[64]; /**< "" if unknown */
  char version[128]; /**< e.g. "libuv 1.44.2" */
  char path[4096]; /**< the plugin file; "" for a linked-in backend */
  char reason[256]; /**< zyntax_backend_probe: why this one is chosen */
  char message[ZYNTAX_ERROR_MESSAGE_MAX]; /**< the refusal, when status != 0 */
} zyntax_backend_info;

/** Resolves `request` exactly as zyntax_runtime_create_with() would (NULL:
 * $ZYNTAX_RUNTIME, else the default) and loads and validates the backend
 * without creating a runtime. Fills `*info` either way. Returns 0, or the
 * error create would fail with. ZYNTAX_EINVAL for NULL or a size below the
 * 1.0 layout.
 * Thread-safe. */
ZYNTAX_EXTERN int zyntax_backend_probe(const char *request,
                                       zyntax_backend_info *info);

/** Visits every backend linked into libzyntax and every plugin file on the
 * search path (each loaded and validated; status says whether it is
 * usable). `visit` returns nonzero to stop. Returns 0 or ZYNTAX_EINVAL
 * (NULL visit). Thread-safe. */
typedef int (*zyntax_backend_visit_fn)(const zyntax_backend_info *info,
                                       void *arg);
ZYNTAX_EXTERN int zyntax_backend_foreach(zyntax_backend_visit_fn visit,
                                         void *arg);

#ifdef __cplusplus
}
#endif

/* Streams, channels and sync primitives, combinators: part of the API that
 * including this header gives. */
#include "zyntax/combinators.h"
#include "zyntax/stream.h"
#include "zyntax/sync.h"

#endif /* ZYNTAX_RUNTIME_H */
