//! The runtime's leaf futures on Tokio: sleep on `tokio::time`, fd
//! readiness on `AsyncFd`, blocking work on `spawn_blocking`. Each is a
//! `zyntax_future` header followed by its Rust state, polled only from
//! this runtime's threads (another runtime's poll gets ZYNTAX_EFOREIGN).

use std::future::Future;
use std::os::raw::{c_int, c_void};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Sleep;

use crate::fd::Wait;
use crate::ffi::*;
use crate::runtime::{count, is_current, Shared};
use crate::task::rust_waker;

pub enum Kind {
    Sleep { deadline_ns: u64, timer: Option<Pin<Box<Sleep>>>, armed: bool },
    Fd { fd: c_int, events: u32, wait: Option<Wait> },
    Blocking { job: Option<(BlockingFn, SendPtr)>, running: Option<JoinHandle<()>> },
}

#[repr(C)]
struct Leaf {
    base: ZFuture, // first: C sees a zyntax_future
    shared: Arc<Shared>,
    kind: Kind,
}

impl Drop for Leaf {
    fn drop(&mut self) {
        match &mut self.kind {
            Kind::Blocking { running: Some(job), .. } => job.abort(), // skipped if not started
            Kind::Fd { wait, .. } => {
                if let Some(w) = wait.take() {
                    w.finish(&self.shared.fds);
                }
            }
            _ => {}
        }
    }
}

pub fn new(shared: &Arc<Shared>, kind: Kind) -> *mut ZFuture {
    let leaf = Box::new(Leaf { base: ZFuture { ops: &LEAF_OPS, result: RUNNING }, shared: shared.clone(), kind });
    Box::into_raw(leaf) as *mut ZFuture
}

pub fn blocking(f: BlockingFn, arg: *mut c_void) -> Kind {
    Kind::Blocking { job: Some((f, SendPtr(arg))), running: None }
}

/// CLOCK_MONOTONIC in ns, the clock of zyntax_now().
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn poll_sleep(shared: &Shared, deadline_ns: u64, timer: &mut Option<Pin<Box<Sleep>>>, armed: &mut bool,
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
            count(&shared.stats.timers);
        }
        let t = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_nanos(deadline_ns - now))));
        match t.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(()) => *timer = None,
        }
    }
}

fn poll_fd(shared: &Shared, fd: c_int, events: u32, wait: &mut Option<Wait>,
           cx: &mut Context<'_>) -> Poll<c_int> {
    if wait.is_none() {
        // No poll(2) first: registrations are kept, so waiting on a ready fd
        // costs no epoll_ctl, and the wait confirms readiness itself.
        count(&shared.stats.io_waits);
        match Wait::start(&shared.fds, fd, events) {
            Ok(w) => *wait = Some(w),
            Err(e) => return Poll::Ready(e),
        }
    }
    wait.as_mut().unwrap().poll(cx)
}

fn poll_blocking(shared: &Shared, job: &mut Option<(BlockingFn, SendPtr)>, running: &mut Option<JoinHandle<()>>,
                 cx: &mut Context<'_>) -> Poll<c_int> {
    if let Some((f, arg)) = job.take() {
        count(&shared.stats.blocking_jobs);
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

unsafe extern "C" fn leaf_poll(f: *mut ZFuture, w: *const CWaker) -> c_int {
    let leaf = &mut *(f as *mut Leaf);
    if leaf.base.result != RUNNING {
        return READY;
    }
    // A leaf that outlived its runtime (or is polled while it is being
    // destroyed) completes with ECLOSED, as on the C backends.
    if leaf.shared.closed.load(std::sync::atomic::Ordering::Acquire) {
        leaf.base.result = ECLOSED;
        return READY;
    }
    if !is_current(&leaf.shared) {
        leaf.base.result = EFOREIGN;
        return READY;
    }
    let waker = rust_waker(w);
    let mut cx = Context::from_waker(&waker);
    let shared = &leaf.shared;
    let done = match &mut leaf.kind {
        Kind::Sleep { deadline_ns, timer, armed } => poll_sleep(shared, *deadline_ns, timer, armed, &mut cx),
        Kind::Fd { fd, events, wait } => poll_fd(shared, *fd, *events, wait, &mut cx),
        Kind::Blocking { job, running } => poll_blocking(shared, job, running, &mut cx),
    };
    match done {
        Poll::Pending => PENDING,
        Poll::Ready(result) => {
            leaf.base.result = result;
            READY
        }
    }
}

unsafe extern "C" fn leaf_drop(f: *mut ZFuture) {
    drop(Box::from_raw(f as *mut Leaf));
}

static LEAF_OPS: FutureOps = FutureOps { poll: leaf_poll, drop: leaf_drop };
