//! The runtime's leaf futures on Tokio: sleep on `tokio::time`, fd
//! readiness on `AsyncFd`, blocking work on `spawn_blocking`. Each is a
//! `zyntax_future` header followed by its Rust state, polled only from
//! this runtime's threads (another runtime's poll gets ZYNTAX_EFOREIGN).
//!
//! Allocation: a leaf is a slot of its runtime's leaf pool (pool.rs), so
//! sleeps and fd waits allocate nothing once the pool holds as many
//! leaves as were ever alive at once; the `Sleep` lives inside the leaf
//! (reset, never boxed), and an fd wait shares its fd's registration, or
//! uses its watch's (fd.rs).

use std::future::Future;
use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_void};
use std::pin::Pin;
use std::ptr::{self, addr_of_mut};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};

use crate::fd::Wait;
use crate::ffi::*;
use crate::runtime::{Counter, Shared};
use crate::waker::{runtime_thread, with_rust_waker};

pub enum Kind {
    /// Its Tokio `Sleep` is the leaf's `timer`, written at the first
    /// poll that needs it (`made`).
    Sleep { deadline_ns: u64, armed: bool, made: bool },
    Fd(Wait),
    Blocking { job: Option<(BlockingFn, SendPtr)>, running: Option<JoinHandle<()>> },
}

/// An fd wait's leaf reads and writes only its first cache line (the
/// header, the runtime, its `Kind`): tests::an_fd_wait_is_one_line.
#[repr(C)]
pub struct Leaf {
    base: ZFuture, // first: C sees a zyntax_future
    /// The runtime's shared part, whose pool holds this leaf: kept alive
    /// while the leaf is allocated (`Shared::item_made`).
    shared: *const Shared,
    kind: Kind,
    /// A sleep's Tokio timer, made at its first poll and reset after;
    /// written only when `Kind::Sleep`'s `made` says so. Pinned: it lives
    /// inside the leaf, which never moves. Beside the kind, not inside it:
    /// a `Sleep` is most of a leaf's 800 bytes, and a `Kind` holding one
    /// was built on the stack and copied whole into the slot for every
    /// leaf. Not an `Option`: its tag lies lines away from the header, and
    /// every leaf's making and dropping would touch that line for it.
    timer: MaybeUninit<Sleep>,
}

impl Leaf {
    /// The runtime's shared part.
    fn shared(&self) -> &Shared {
        // SAFETY: a Shared outlives every leaf of its pool (see
        // Shared::item_made); the borrow is bounded by the leaf's.
        unsafe { &*self.shared }
    }
}

impl Drop for Leaf {
    fn drop(&mut self) {
        let token = self as *const Leaf as usize;
        match &mut self.kind {
            // SAFETY: `made` says the timer was written; dropped once, here.
            Kind::Sleep { made: true, .. } => unsafe { self.timer.assume_init_drop() },
            Kind::Blocking { running: Some(job), .. } => job.abort(), // skipped if not started
            Kind::Fd(wait) => {
                let shared = self.shared;
                // SAFETY: the pool's Shared outlives the leaf (Leaf::shared).
                wait.finish(token, unsafe { &(*shared).fds });
            }
            _ => {}
        }
    }
}

/// A new leaf in a slot of the runtime's leaf pool. Written field by
/// field and inlined into its callers, so the `Kind` is built in the slot:
/// a whole `Leaf` moved through the stack cost a memcpy per sleep or fd
/// wait (the timer beside the kind: see Leaf::timer).
#[inline(always)]
pub fn new(shared: &Arc<Shared>, kind: Kind) -> Result<*mut ZFuture, c_int> {
    let me = shared.stats.threads.slot();
    let slot = shared.leaves.alloc(me).ok_or(ENOMEM)?;
    shared.item_made(me);
    let p = slot.as_ptr();
    // SAFETY: a free slot of the pool, right size and alignment, ours;
    // every field is written once, in place, before the leaf is shared.
    unsafe {
        addr_of_mut!((*p).base).write(ZFuture { ops: &LEAF_OPS, result: RUNNING });
        addr_of_mut!((*p).shared).write(&**shared);
        addr_of_mut!((*p).kind).write(kind); // the timer stays unwritten
    }
    Ok(p as *mut ZFuture)
}

pub fn blocking(f: BlockingFn, arg: *mut c_void) -> Kind {
    Kind::Blocking { job: Some((f, SendPtr(arg))), running: None }
}

/// CLOCK_MONOTONIC in ns, the clock of zyntax_now().
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes only into `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A sleep's poll; `timer` is its leaf's, written if `made`.
fn poll_sleep(shared: &Shared, deadline_ns: u64, timer: &mut MaybeUninit<Sleep>, armed: &mut bool, made: &mut bool,
              cx: &mut Context<'_>) -> Poll<c_int> {
    loop {
        // Checked on our own clock: Tokio's millisecond wheel never makes
        // a sleep end early by this measure.
        let now = now_ns();
        if now >= deadline_ns {
            return Poll::Ready(0);
        }
        if !*armed {
            *armed = true;
            shared.stats.count(Counter::Timers);
        }
        // Tokio's Instant is CLOCK_MONOTONIC too; it rounds up to its tick.
        let at = || Instant::now() + Duration::from_nanos(deadline_ns - now);
        if !*made {
            timer.write(tokio::time::sleep_until(at()));
            *made = true;
        }
        // SAFETY: written (`made`); the leaf is pool memory that never
        // moves while it lives, and the Sleep is dropped in place with
        // it, so it stays pinned (see Leaf::timer).
        let mut sleep = unsafe { Pin::new_unchecked(timer.assume_init_mut()) };
        if sleep.is_elapsed() {
            // Fired by Tokio's measure, not ours yet: reset, not replace.
            sleep.as_mut().reset(at());
        }
        if sleep.poll(cx).is_pending() {
            return Poll::Pending;
        }
    }
}

fn poll_fd(shared: &Shared, token: usize, wait: &mut Wait, cx: &mut Context<'_>) -> Poll<c_int> {
    if wait.is_new() {
        // No poll(2) first: registrations are kept, so waiting on a ready fd
        // costs no epoll_ctl, and the wait confirms readiness itself.
        shared.stats.count(Counter::IoWaits);
    }
    let r = wait.poll(&shared.fds, token, cx);
    if r.is_ready() {
        // Done: out of the fd's waiter list now, not when the future is
        // dropped, so later events of the fd do not wake the task for it.
        wait.finish(token, &shared.fds);
    }
    r
}

fn poll_blocking(shared: &Shared, job: &mut Option<(BlockingFn, SendPtr)>, running: &mut Option<JoinHandle<()>>,
                 cx: &mut Context<'_>) -> Poll<c_int> {
    if let Some((f, arg)) = job.take() {
        shared.stats.count(Counter::BlockingJobs);
        // SAFETY: the caller of zyntax_blocking_future promised f(arg) may run on
        // another thread, once.
        *running = Some(tokio::task::spawn_blocking(move || unsafe { f(arg.get()) }));
    }
    match running.as_mut() {
        None => Poll::Ready(EBACKEND),
        Some(h) => match Pin::new(h).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => Poll::Ready(0),
            // Tokio cancels a job not yet started when the runtime shuts down.
            Poll::Ready(Err(e)) => Poll::Ready(if e.is_cancelled() { ECLOSED } else { EBACKEND }),
        },
    }
}

fn poll_leaf(leaf: &mut Leaf, cx: &mut Context<'_>) -> Poll<c_int> {
    let token = leaf as *const Leaf as usize;
    let shared_ptr = leaf.shared;
    // SAFETY: a Shared outlives every leaf of its pool (see
    // Shared::item_made), and this leaf lives for the call; the borrow
    // stays in this function.
    let shared = unsafe { &*shared_ptr };
    match &mut leaf.kind {
        Kind::Sleep { deadline_ns, armed, made } => poll_sleep(shared, *deadline_ns, &mut leaf.timer, armed, made, cx),
        Kind::Fd(wait) => poll_fd(shared, token, wait, cx),
        Kind::Blocking { job, running } => poll_blocking(shared, job, running, cx),
    }
}

/// # Safety
/// `f` is a live leaf polled by one thread at a time; `w` is a valid
/// waker for the call.
unsafe extern "C" fn leaf_poll(f: *mut ZFuture, w: *const CWaker) -> c_int {
    // SAFETY: the caller's contract: live, not polled concurrently.
    let leaf = unsafe { &mut *(f as *mut Leaf) };
    if leaf.base.result != RUNNING {
        return READY;
    }
    // A leaf that outlived its runtime (or is polled while it is being
    // destroyed) completes with ECLOSED, as on the C backends.
    if leaf.shared().closed.load(std::sync::atomic::Ordering::Acquire) {
        leaf.base.result = ECLOSED;
        return READY;
    }
    // SAFETY: `w` is NULL (a poll from outside any task may pass none;
    // it is refused here) or valid for the call.
    if unsafe { runtime_thread(w, leaf.shared()) }.is_none() {
        leaf.base.result = EFOREIGN;
        return READY;
    }
    // SAFETY: `w` is valid for the call.
    let done = unsafe { with_rust_waker(w, |waker| poll_leaf(leaf, &mut Context::from_waker(waker))) };
    match done {
        Poll::Pending => PENDING,
        Poll::Ready(result) => {
            leaf.base.result = result;
            READY
        }
    }
}

/// # Safety
/// `f` is a live leaf, dropped once.
unsafe extern "C" fn leaf_drop(f: *mut ZFuture) {
    let p = f as *mut Leaf;
    // SAFETY: a live leaf, dropped once (the caller's contract). Its
    // Shared stays alive until item_freed (the leaf is counted until
    // then), which is the last use of it.
    unsafe {
        let shared = (*p).shared;
        ptr::drop_in_place(p);
        let me = (*shared).stats.threads.slot();
        (*shared).leaves.free(p, me);
        Shared::item_freed(shared, me);
    }
}

/// Listed in entry.c's backend table (future_ops), so it has a C name.
#[export_name = "zxt_leaf_ops"]
static LEAF_OPS: FutureOps =
    FutureOps { size: std::mem::size_of::<FutureOps>(), poll: leaf_poll, drop: leaf_drop };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_fd_wait_is_one_line() {
        assert_eq!(std::mem::align_of::<Leaf>() % 64, 0);
        assert!(std::mem::size_of::<ZFuture>() + std::mem::size_of::<*const Shared>() + std::mem::size_of::<Kind>() <= 64);
    }
}
