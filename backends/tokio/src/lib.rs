//! Zyntax Runtime's Tokio backend, as a static library. `entry.c` (the C
//! shim) builds the `zyntax_backend` table from the `zxt_*` functions
//! below and is the only code that exports a symbol from the plugin; the
//! versioned C structs (options, stats, errors) stay on the C side.
//!
//! Every function here is called by the loader through the table, after
//! the loader checked its arguments (non-NULL handles, runtime ownership,
//! re-entrancy, one driving thread at a time).

#[allow(dead_code)] // CODES, EVENTS, stats_layout: for build.rs
mod abi;
mod fd;
mod ffi;
mod handle;
mod leaf;
mod runtime;
mod state;
mod task;
mod waker;

use std::os::raw::{c_char, c_int, c_void};

use ffi::*;
use runtime::{Backend, Config};
use task::SpawnArgs;

unsafe fn backend<'a>(b: *mut c_void) -> &'a Backend {
    &*(b as *const Backend)
}

/// Writes `text` into the C buffer `buf` of `len` bytes, NUL-terminated.
unsafe fn copy_message(text: &str, buf: *mut c_char, len: usize) {
    if buf.is_null() || len == 0 {
        return;
    }
    let n = text.len().min(len - 1);
    std::ptr::copy_nonoverlapping(text.as_ptr() as *const c_char, buf, n);
    *buf.add(n) = 0;
}

#[no_mangle]
pub unsafe extern "C" fn zxt_runtime_new(public: *mut c_void, enter: Option<EnterThreadFn>,
                                         leave: Option<LeaveThreadFn>, single_threaded: c_int,
                                         workers: u32, blocking_threads: u32, out: *mut *mut c_void,
                                         message: *mut c_char, message_len: usize) -> c_int {
    let cfg = Config { public, enter, leave, single_threaded: single_threaded != 0, workers, blocking_threads };
    match runtime::create(&cfg) {
        Ok(b) => {
            *out = Box::into_raw(b) as *mut c_void;
            0
        }
        Err(text) => {
            copy_message(&text, message, message_len);
            EBACKEND
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn zxt_runtime_destroy(b: *mut c_void) {
    Box::from_raw(b as *mut Backend).destroy();
}

#[no_mangle]
pub unsafe extern "C" fn zxt_spawn(b: *mut c_void, poll: PollFn, drop: Option<DropFn>, state: *mut c_void,
                                   inplace_size: usize, inplace_align: usize, init: Option<InitFn>,
                                   init_arg: *mut c_void, out: *mut *mut ZTask) -> c_int {
    let args = SpawnArgs { poll, drop, state, inplace_size, inplace_align, init, init_arg };
    match backend(b).spawn(&args) {
        Ok(t) => {
            *out = t;
            0
        }
        Err(e) => e,
    }
}

#[no_mangle]
pub unsafe extern "C" fn zxt_block_on(b: *mut c_void, t: *mut ZTask) -> c_int {
    backend(b).block_on(t)
}

#[no_mangle]
pub unsafe extern "C" fn zxt_block_on_future(b: *mut c_void, state: *mut c_void, poll: PollFn) -> c_int {
    backend(b).block_on_future(state, poll)
}

#[no_mangle]
pub unsafe extern "C" fn zxt_run(b: *mut c_void) -> c_int {
    backend(b).run()
}

/// Fills `*out`, a whole `zyntax_stats` (entry.c copies what fits the
/// caller's).
#[no_mangle]
pub unsafe extern "C" fn zxt_stats(b: *const c_void, out: *mut abi::Stats) {
    *out = backend(b as *mut c_void).stats();
}

#[no_mangle]
pub unsafe extern "C" fn zxt_sleep_until(b: *mut c_void, deadline_ns: u64, out: *mut *mut ZFuture) -> c_int {
    let kind = leaf::Kind::Sleep { deadline_ns, timer: None, armed: false };
    *out = leaf::new(&backend(b).shared, kind);
    0
}

#[no_mangle]
pub unsafe extern "C" fn zxt_fd_wait(b: *mut c_void, fd: c_int, events: u32, out: *mut *mut ZFuture) -> c_int {
    *out = leaf::new(&backend(b).shared, leaf::Kind::Fd { fd, events, wait: None });
    0
}

#[no_mangle]
pub unsafe extern "C" fn zxt_blocking(b: *mut c_void, f: BlockingFn, arg: *mut c_void,
                                      out: *mut *mut ZFuture) -> c_int {
    *out = leaf::new(&backend(b).shared, leaf::blocking(f, arg));
    0
}
