//! Poll timing for ZYNTAX_STATS and ZYNTAX_SLOW_POLL_US, which libzyntax
//! reads at create (the host struct, through entry.c). While both are
//! unset `Shared::timing` is None and a poll costs one predictable branch
//! more; while either is set, also two reads of CLOCK_MONOTONIC (vDSO),
//! a counter of the polling thread's stats shard, and for a slow poll a
//! call into libzyntax's report (which rate-limits and writes the line).

use std::os::raw::{c_int, c_void};

use crate::ffi::*;
use crate::runtime::{Counter, Shared};

/// The host's slow_poll: (public runtime, poll function, task, ns).
pub type SlowPollFn = unsafe extern "C" fn(*mut c_void, PollFn, *const c_void, u64);

#[derive(Clone, Copy)]
pub struct Timing {
    pub slow_ns: u64, // 0: no limit
    pub report: Option<SlowPollFn>,
}

/// CLOCK_MONOTONIC in ns, as the C executor reads it (no Instant/Duration
/// arithmetic on the timed path).
fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to fill; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

/// Bucket k holds [2^k, 2^(k+1)) ns; 0 ns goes to 0, the rest past the
/// last bucket to the last.
fn bucket_of(ns: u64) -> usize {
    let k = 63 - (ns | 1).leading_zeros() as usize;
    k.min(POLL_BUCKETS - 1)
}

/// Calls `poll(state, waker)` for `task`: the one call site of a C poll
/// function, timed only when `shared.timing` is set.
///
/// # Safety
/// As for calling `poll` itself (the poll protocol, future.h).
#[inline(always)]
pub unsafe fn poll(shared: &Shared, poll: PollFn, state: *mut c_void, waker: &CWaker,
                   task: *const c_void) -> c_int {
    match &*shared.timing {
        // SAFETY: forwarded contract.
        None => unsafe { poll(state, waker) },
        // SAFETY: forwarded contract.
        Some(t) => unsafe { timed(shared, t, poll, state, waker, task) },
    }
}

/// # Safety
/// As for `poll`.
#[inline(never)]
unsafe fn timed(shared: &Shared, t: &Timing, poll: PollFn, state: *mut c_void, waker: &CWaker,
                task: *const c_void) -> c_int {
    let start = now_ns();
    // SAFETY: forwarded contract.
    let r = unsafe { poll(state, waker) };
    let ns = now_ns().wrapping_sub(start);
    shared.stats.count_poll(bucket_of(ns));
    if t.slow_ns != 0 && ns > t.slow_ns {
        shared.stats.count(Counter::SlowPolls);
        if let Some(report) = t.report {
            // SAFETY: libzyntax's report, callable from any thread of the
            // runtime; `public` is the live runtime whose task this is.
            unsafe { report(shared.public.0, poll, task, ns) };
        }
    }
    r
}
