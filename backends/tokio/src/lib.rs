//! Zyntax Runtime's Tokio backend, as a static library. `entry.c` (the C
//! shim) builds the `zyntax_backend` table from the `zxt_*` functions
//! below and is the only code that exports a symbol from the plugin; the
//! versioned C structs (options, errors, the caller-sized stats) stay on
//! the C side, and what crosses by value is in `abi.rs`, checked by
//! entry.c at build time.
//!
//! Every function here is called by the loader through the table, after
//! the loader checked its arguments (non-NULL handles, runtime ownership,
//! re-entrancy, one driving thread at a time).
//!
//! Unsafety: every `unsafe` block says why it holds (`// SAFETY:`), every
//! unsafe or `extern "C"` function what its caller must guarantee
//! (`# Safety`), and no function hands out a reference of a lifetime the
//! compiler cannot bound.

#![deny(unsafe_op_in_unsafe_fn)]
// Enforced by `cargo clippy` (rustc alone ignores tool lints): an unsafe
// block without its `// SAFETY:` comment, or an unsafe fn without its
// `# Safety` section, fails the lint run.
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

#[allow(dead_code)] // CODES, EVENTS, stats_layout: for build.rs
mod abi;
mod fd;
mod ffi;
mod handle;
mod intmap;
mod leaf;
mod pool;
mod runtime;
mod state;
mod task;
mod threads;
mod timing;
mod waker;

use std::mem::ManuallyDrop;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::Arc;

use ffi::*;
use runtime::{Backend, Config};
use task::SpawnArgs;

/// Runs `f` on the backend runtime `b`; the borrow cannot escape `f`.
///
/// # Safety
/// `b` came from zxt_runtime_new and is not destroyed during the call.
unsafe fn with_backend<R>(b: *const c_void, f: impl FnOnce(&Backend) -> R) -> R {
    // SAFETY: a live Box<Backend> (the caller's contract).
    f(unsafe { &*(b as *const Backend) })
}

/// Writes `text` into the C buffer `buf` of `len` bytes, NUL-terminated.
///
/// # Safety
/// `buf` is NULL or writable for `len` bytes.
unsafe fn copy_message(text: &str, buf: *mut c_char, len: usize) {
    if buf.is_null() || len == 0 {
        return;
    }
    let n = text.len().min(len - 1);
    // SAFETY: n + 1 <= len bytes of `buf` (the caller's contract); `text`
    // is a distinct Rust string.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr() as *const c_char, buf, n);
        *buf.add(n) = 0;
    }
}

/// Creates the backend runtime. Polls are timed when `time_polls` is
/// nonzero (timing.rs); `slow_poll_ns` and `slow_poll` are then the host's.
///
/// # Safety
/// `out` is writable; `message` is NULL or writable for `message_len`
/// bytes; `enter`/`leave`/`slow_poll` are the loader's (callable from any
/// thread).
#[no_mangle]
pub unsafe extern "C" fn zxt_runtime_new(public: *mut c_void, enter: Option<EnterThreadFn>,
                                         leave: Option<LeaveThreadFn>, single_threaded: c_int,
                                         workers: u32, blocking_threads: u32, time_polls: c_int,
                                         slow_poll_ns: u64, slow_poll: Option<timing::SlowPollFn>,
                                         out: *mut *mut c_void, message: *mut c_char,
                                         message_len: usize) -> c_int {
    let timing = (time_polls != 0).then_some(timing::Timing { slow_ns: slow_poll_ns, report: slow_poll });
    let cfg = Config { public, enter, leave, single_threaded: single_threaded != 0, workers, blocking_threads,
                       timing };
    match runtime::create(&cfg) {
        Ok(b) => {
            // SAFETY: `out` is writable (the caller's contract).
            unsafe { *out = Box::into_raw(b) as *mut c_void };
            0
        }
        Err(text) => {
            // SAFETY: forwarded contract on `message`.
            unsafe { copy_message(&text, message, message_len) };
            EBACKEND
        }
    }
}

/// Destroys the backend runtime.
///
/// # Safety
/// `b` came from zxt_runtime_new, nobody drives it, and it is not used
/// again.
#[no_mangle]
pub unsafe extern "C" fn zxt_runtime_destroy(b: *mut c_void) {
    // SAFETY: the Box zxt_runtime_new made, given back once.
    unsafe { Box::from_raw(b as *mut Backend) }.destroy();
}

/// Spawns a task: with a handle into `*out`, or detached when `out` is
/// NULL (backend.h, spawn_detached).
///
/// # Safety
/// `b` is live; `out` is NULL or writable; the poll/drop/init functions
/// and state follow zyntax_spawn_args' contract (backend.h).
#[no_mangle]
pub unsafe extern "C" fn zxt_spawn(b: *mut c_void, poll: PollFn, drop: Option<DropFn>, state: *mut c_void,
                                   inplace_size: usize, inplace_align: usize, init: Option<InitFn>,
                                   init_arg: *mut c_void, out: *mut *mut ZTask) -> c_int {
    let args = SpawnArgs { poll, drop, state, inplace_size, inplace_align, init, init_arg };
    let detached = out.is_null();
    // SAFETY: `b` is live (the caller's contract).
    match unsafe { with_backend(b, |b| b.spawn(&args, detached)) } {
        Ok(t) => {
            if !detached {
                // SAFETY: `out` is writable (not NULL).
                unsafe { *out = t };
            }
            0
        }
        Err(e) => e,
    }
}

/// Drives the runtime until task `t` finished.
///
/// # Safety
/// `b` is live; `t` is a live handle of this runtime.
#[no_mangle]
pub unsafe extern "C" fn zxt_block_on(b: *mut c_void, t: *mut ZTask) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_backend(b, |b| b.block_on(t)) }
}

/// Polls `poll(state)` to completion on the calling thread.
///
/// # Safety
/// `b` is live; `poll` and `state` follow the poll protocol (future.h).
#[no_mangle]
pub unsafe extern "C" fn zxt_block_on_future(b: *mut c_void, state: *mut c_void, poll: PollFn) -> c_int {
    // SAFETY: `b` is live.
    unsafe { with_backend(b, |b| b.block_on_future(state, poll)) }
}

/// Drives the runtime until no spawned task is left.
///
/// # Safety
/// `b` is live.
#[no_mangle]
pub unsafe extern "C" fn zxt_run(b: *mut c_void) -> c_int {
    // SAFETY: `b` is live.
    unsafe { with_backend(b, Backend::run) }
}

/// Fills `*out`, a whole `zyntax_stats` (entry.c copies what fits the
/// caller's).
///
/// # Safety
/// `b` is live; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn zxt_stats(b: *const c_void, out: *mut abi::Stats) {
    // SAFETY: `b` is live and `out` writable (the caller's contract).
    unsafe { *out = with_backend(b, Backend::stats) };
}

/// Stores a new leaf future in `*out`. Inlined, so that the `Kind` is
/// built in place (leaf::new).
///
/// # Safety
/// `b` is live; `out` is writable.
#[inline(always)]
unsafe fn new_leaf(b: *mut c_void, kind: leaf::Kind, out: *mut *mut ZFuture) -> c_int {
    // SAFETY: `b` is live (the caller's contract).
    match unsafe { with_backend(b, |b| leaf::new(&b.shared, kind)) } {
        Ok(f) => {
            // SAFETY: `out` is writable (the caller's contract).
            unsafe { *out = f };
            0
        }
        Err(e) => e,
    }
}

/// A sleep until `deadline_ns` on CLOCK_MONOTONIC.
///
/// # Safety
/// `b` is live; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn zxt_sleep_until(b: *mut c_void, deadline_ns: u64, out: *mut *mut ZFuture) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { new_leaf(b, leaf::Kind::Sleep { deadline_ns, armed: false, made: false }, out) }
}

/// A readiness wait on `fd` (which the caller owns).
///
/// # Safety
/// `b` is live; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn zxt_fd_wait(b: *mut c_void, fd: c_int, events: u32, out: *mut *mut ZFuture) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { new_leaf(b, leaf::Kind::Fd(fd::Wait::new(fd::Source::Fd(fd), events)), out) }
}

/// Runs `f(arg)` on a blocking thread.
///
/// # Safety
/// `b` is live; `out` is writable; `f(arg)` may run on another thread.
#[no_mangle]
pub unsafe extern "C" fn zxt_blocking(b: *mut c_void, f: BlockingFn, arg: *mut c_void,
                                      out: *mut *mut ZFuture) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { new_leaf(b, leaf::blocking(f, arg), out) }
}

/// Opens an fd watch on `fd`, the loader's duplicate: its registration is
/// kept until zxt_fd_watch_close (fd.rs, Watch).
///
/// # Safety
/// `b` is live; `fd` stays open until zxt_fd_watch_close returned; `out`
/// is writable.
#[no_mangle]
pub unsafe extern "C" fn zxt_fd_watch_open(b: *mut c_void, fd: c_int, out: *mut *mut c_void) -> c_int {
    // SAFETY: `b` is live (the caller's contract).
    match unsafe { with_backend(b, |b| fd::Watch::open(&b.shared, &b.handle, fd)) } {
        Ok(w) => {
            // SAFETY: `out` is writable (the caller's contract). The
            // loader holds this reference until zxt_fd_watch_free.
            unsafe { *out = Arc::into_raw(w) as *mut c_void };
            0
        }
        Err(e) => e,
    }
}

/// A readiness wait on the watch `w`: a leaf future as zxt_fd_wait's,
/// which may outlive the watch.
///
/// # Safety
/// `w` came from zxt_fd_watch_open and is not closed during the call;
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn zxt_fd_watch_wait(w: *mut c_void, events: u32, out: *mut *mut ZFuture) -> c_int {
    // SAFETY: the loader's reference (zxt_fd_watch_open's), live for the
    // call (the caller's contract); borrowed, so never dropped here.
    let w = ManuallyDrop::new(unsafe { Arc::from_raw(w as *const fd::Watch) });
    match leaf::new(&w.shared, leaf::Kind::Fd(fd::Wait::new(w.source(), events))) {
        Ok(f) => {
            // SAFETY: `out` is writable (the caller's contract).
            unsafe { *out = f };
            0
        }
        Err(e) => e,
    }
}

/// Polls the watch's wait in place (zyntax_fd_watch_poll): the ready
/// events (> 0) or an error, ending it; 0 while pending. `events` 0 ends
/// the wait in flight without waking its task.
///
/// # Safety
/// `w` came from zxt_fd_watch_open and is not freed; calls on one watch
/// do not overlap each other or zxt_fd_watch_free (they may overlap
/// zxt_fd_watch_close); `waker` is valid for the call unless `events` is 0.
#[no_mangle]
pub unsafe extern "C" fn zxt_fd_watch_poll(w: *mut c_void, events: u32, waker: *const CWaker) -> c_int {
    // SAFETY: a live watch (the loader holds a reference), polled by one
    // caller at a time (the caller's contract).
    let w = unsafe { &*(w as *const fd::Watch) };
    if events == 0 {
        // SAFETY: as above.
        unsafe { w.end_in_place() };
        return 0;
    }
    // SAFETY: as above; `waker` is valid for the call.
    unsafe { w.poll_in_place(events, waker) }
}

/// Closes the watch `w`: deregisters its fd before returning and ends its
/// pending waits with `reason`. `w` stays allocated until
/// zxt_fd_watch_free.
///
/// # Safety
/// `w` came from zxt_fd_watch_open, is closed once, and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn zxt_fd_watch_close(w: *mut c_void, reason: c_int) {
    // SAFETY: a live watch (the caller's contract); close needs only
    // a shared borrow, so a poll in place may run meanwhile.
    unsafe { &*(w as *const fd::Watch) }.close(reason);
}

/// Frees the closed watch `w`.
///
/// # Safety
/// `w` came from zxt_fd_watch_open, was closed, is freed once and not
/// used after, and no zxt_fd_watch_poll on it runs.
#[no_mangle]
pub unsafe extern "C" fn zxt_fd_watch_free(w: *mut c_void) {
    // SAFETY: the loader's reference (zxt_fd_watch_open's), given back
    // once; no poll in place runs (the caller's contract), so its wait
    // ends here, while wait futures may keep the watch a while longer.
    let w = unsafe { Arc::from_raw(w as *const fd::Watch) };
    // SAFETY: as above: no poll in place runs, now or later.
    unsafe { w.end_in_place() };
    drop(w);
}
