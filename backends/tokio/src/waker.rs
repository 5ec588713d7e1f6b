//! The bridge between C and Rust wakers.
//!
//! A task's C waker is `{record, TASK_WAKER}`: a poll borrows it with no
//! allocation and no reference; `wake_by_ref` goes straight to the Tokio
//! waker stored in the record (`Task::wake`). A clone takes one reference
//! on the record (the count in its state word).
//!
//! Leaf futures (sleep, fd) are Rust futures and want a `std` waker: for
//! our own C waker that is the same record behind a Rust vtable, borrowed
//! for the poll (no reference, no allocation); for any other C waker (a
//! caller's custom or no-op waker) a boxed clone.

use std::mem::ManuallyDrop;
use std::os::raw::c_void;
use std::ptr;
use std::task::{RawWaker, RawWakerVTable, Waker};

use crate::ffi::*;
use crate::runtime::{is_current_tls, Shared};
use crate::task::{Task, TaskRef};

/// # Safety
/// `data` is a record some waker holds (borrowed or owned) for the call.
unsafe extern "C" fn cwaker_clone(data: *const c_void) -> CWaker {
    // SAFETY: the caller's contract; the new reference goes to the clone.
    let task = unsafe { TaskRef::clone_raw(data as *const Task) };
    CWaker { data: task.into_raw() as *const c_void, vtable: &TASK_WAKER }
}

/// # Safety
/// `data` is an owned C waker's record (a clone), given up here.
unsafe extern "C" fn cwaker_wake(data: *const c_void) {
    // SAFETY: the clone's reference, adopted and dropped after the wake.
    let task = unsafe { TaskRef::from_raw(data as *const Task) };
    task.wake();
}

/// # Safety
/// `data` is a record some waker holds for the call.
unsafe extern "C" fn cwaker_wake_by_ref(data: *const c_void) {
    // SAFETY: live for the call (the caller's contract).
    unsafe { (*(data as *const Task)).wake() };
}

/// # Safety
/// `data` is an owned C waker's record (a clone), given up here.
unsafe extern "C" fn cwaker_drop(data: *const c_void) {
    // SAFETY: the clone's reference.
    drop(unsafe { TaskRef::from_raw(data as *const Task) });
}

/// The C waker vtable of Tokio-backed tasks.
pub static TASK_WAKER: CWakerVtable = CWakerVtable {
    clone: cwaker_clone,
    wake: cwaker_wake,
    wake_by_ref: cwaker_wake_by_ref,
    drop: cwaker_drop,
};

// The same four as a Rust waker over the same record: std calls these
// with the data of a RawWaker of this vtable.

/// # Safety
/// `data` is a record a Rust waker holds (or borrows) for the call.
unsafe fn raw_clone(data: *const ()) -> RawWaker {
    // SAFETY: a Rust waker of this vtable holds (or borrows) the record.
    RawWaker::new(unsafe { cwaker_clone(data as *const c_void) }.data as *const (), &TASK_RAW)
}

/// # Safety
/// `data` is an owned Rust waker's record; its reference is given up.
unsafe fn raw_wake(data: *const ()) {
    // SAFETY: an owned Rust waker gives up its reference.
    unsafe { cwaker_wake(data as *const c_void) }
}

/// # Safety
/// `data` is a record a Rust waker holds (or borrows) for the call.
unsafe fn raw_wake_by_ref(data: *const ()) {
    // SAFETY: the waker keeps the record alive for the call.
    unsafe { cwaker_wake_by_ref(data as *const c_void) }
}

/// # Safety
/// `data` is an owned Rust waker's record; its reference is given up.
unsafe fn raw_drop(data: *const ()) {
    // SAFETY: an owned Rust waker gives up its reference.
    unsafe { cwaker_drop(data as *const c_void) }
}

static TASK_RAW: RawWakerVTable = RawWakerVTable::new(raw_clone, raw_wake, raw_wake_by_ref, raw_drop);

// A boxed clone of a caller's C waker behind a Rust vtable.

/// # Safety
/// `data` is the live Box<OwnedCWaker> foreign_raw made.
unsafe fn foreign_clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is the box foreign_raw made, alive while its waker is.
    let inner = unsafe { &*(data as *const OwnedCWaker) };
    foreign_raw(inner.clone_owned())
}

/// # Safety
/// `data` is the Box<OwnedCWaker> of an owned waker, given up here.
unsafe fn foreign_wake(data: *const ()) {
    // SAFETY: the owned waker's box, given up here.
    let inner = unsafe { Box::from_raw(data as *mut OwnedCWaker) };
    inner.wake_by_ref();
}

/// # Safety
/// `data` is the live Box<OwnedCWaker> foreign_raw made.
unsafe fn foreign_wake_by_ref(data: *const ()) {
    // SAFETY: alive while its waker is.
    unsafe { (*(data as *const OwnedCWaker)).wake_by_ref() };
}

/// # Safety
/// `data` is the Box<OwnedCWaker> of an owned waker, given up here.
unsafe fn foreign_drop(data: *const ()) {
    // SAFETY: the owned waker's box, given up here.
    drop(unsafe { Box::from_raw(data as *mut OwnedCWaker) });
}

static FOREIGN_RAW: RawWakerVTable =
    RawWakerVTable::new(foreign_clone, foreign_wake, foreign_wake_by_ref, foreign_drop);

fn foreign_raw(w: OwnedCWaker) -> RawWaker {
    RawWaker::new(Box::into_raw(Box::new(w)) as *const (), &FOREIGN_RAW)
}

/// Where a leaf or a watch's wait of `shared`, polled with `w`, is polled:
/// on a thread of `shared`'s runtime, Some(that thread's registry slot,
/// None beyond the slots); None on any other thread. Mostly `w` is the
/// waker of a task of `shared` this thread is polling right now, whose
/// record's first line (held by that poll) says so and names the slot;
/// else the thread registry answers (a search of its slots).
///
/// # Safety
/// `w` is NULL (a poll from outside any task may pass none) or a valid C
/// waker for the duration of the call.
#[inline]
pub unsafe fn runtime_thread(w: *const CWaker, shared: &Shared) -> Option<Option<usize>> {
    // SAFETY: `w` is valid if not NULL (the caller's contract).
    if let Some(w) = unsafe { w.as_ref() }.filter(|w| ptr::eq(w.vtable, &TASK_WAKER)) {
        // SAFETY: a TASK_WAKER's data is a record `w` keeps alive for the call.
        let task = unsafe { &*(w.data as *const Task) };
        if task.polled_here_for(shared) {
            return Some(task.poller_slot());
        }
    }
    let slot = shared.stats.threads.slot();
    (slot.is_some() || is_current_tls(shared)).then_some(slot)
}

/// Calls `f` with a Rust waker for the C waker `w` a leaf future is polled
/// with. Our own task waker becomes the same record behind TASK_RAW,
/// borrowed for the call (ManuallyDrop: the borrow takes no reference, so
/// it must not drop one); whoever keeps it clones it, taking one.
///
/// # Safety
/// `w` is a valid C waker for the duration of the call.
pub unsafe fn with_rust_waker<R>(w: *const CWaker, f: impl FnOnce(&Waker) -> R) -> R {
    // SAFETY: `w` is valid (the caller's contract).
    let (data, vtable) = unsafe { ((*w).data, (*w).vtable) };
    if ptr::eq(vtable, &TASK_WAKER) {
        // SAFETY: the record is kept alive by `w` for the call, and the
        // borrowed Waker is never dropped (ManuallyDrop).
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(data as *const (), &TASK_RAW)) });
        f(&waker)
    } else {
        // SAFETY: `w` is valid; the clone is owned by the boxed waker.
        let waker = unsafe { Waker::from_raw(foreign_raw(OwnedCWaker::clone_from(w))) };
        f(&waker)
    }
}
