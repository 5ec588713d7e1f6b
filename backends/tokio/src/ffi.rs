//! The C types of `zyntax/future.h` and `zyntax/backend.h` this crate
//! touches, laid out exactly as C does (`#[repr(C)]`). The C shim
//! (`entry.c`) owns the versioned structs (options, stats, errors); Rust
//! sees only these stable shapes.

use std::os::raw::{c_int, c_void};

// The codes, poll results and event bits, from the one place that is
// checked against the C headers at build time.
pub use crate::abi::*;

/// ZYNTAX_NOT_FINISHED: the result of a future or task not finished yet.
pub const RUNNING: c_int = NOT_FINISHED;

#[repr(C)]
pub struct CWaker {
    pub data: *const c_void,
    pub vtable: *const CWakerVtable,
}

#[repr(C)]
pub struct CWakerVtable {
    pub clone: unsafe extern "C" fn(*const c_void) -> CWaker,
    pub wake: unsafe extern "C" fn(*const c_void),
    pub wake_by_ref: unsafe extern "C" fn(*const c_void),
    pub drop: unsafe extern "C" fn(*const c_void),
}

/// A C waker owned by Rust (a clone): dropped through its vtable.
pub struct OwnedCWaker(CWaker);

// SAFETY: the waker contract (future.h) makes every waker usable from any
// thread.
unsafe impl Send for OwnedCWaker {}

impl OwnedCWaker {
    /// Clones `w`.
    ///
    /// # Safety
    /// `w` is NULL or a valid waker for the call's duration.
    pub unsafe fn clone_from(w: *const CWaker) -> OwnedCWaker {
        // SAFETY: NULL or valid (the caller's contract).
        if w.is_null() || unsafe { (*w).vtable.is_null() } {
            return OwnedCWaker(CWaker { data: std::ptr::null(), vtable: std::ptr::null() });
        }
        // SAFETY: a valid waker's clone entry, on its own data.
        OwnedCWaker(unsafe { ((*(*w).vtable).clone)((*w).data) })
    }

    pub fn clone_owned(&self) -> OwnedCWaker {
        // SAFETY: an owned waker is valid while it lives.
        unsafe { OwnedCWaker::clone_from(&self.0) }
    }

    /// True if `w` wakes the same thing.
    ///
    /// # Safety
    /// `w` is a valid waker for the call's duration.
    pub unsafe fn will_wake(&self, w: *const CWaker) -> bool {
        // SAFETY: valid (the caller's contract).
        unsafe { self.0.data == (*w).data && self.0.vtable == (*w).vtable }
    }

    pub fn wake_by_ref(&self) {
        if !self.0.vtable.is_null() {
            // SAFETY: an owned waker's vtable entry on its own data.
            unsafe { ((*self.0.vtable).wake_by_ref)(self.0.data) }
        }
    }
}

impl Drop for OwnedCWaker {
    fn drop(&mut self) {
        if !self.0.vtable.is_null() {
            // SAFETY: gives up the clone this owns, once.
            unsafe { ((*self.0.vtable).drop)(self.0.data) }
        }
    }
}

pub type PollFn = unsafe extern "C" fn(*mut c_void, *const CWaker) -> c_int;
pub type DropFn = unsafe extern "C" fn(*mut c_void);
pub type InitFn = unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int;
pub type BlockingFn = unsafe extern "C" fn(*mut c_void);
pub type EnterThreadFn = unsafe extern "C" fn(*mut c_void);
pub type LeaveThreadFn = unsafe extern "C" fn();

/// `struct zyntax_future` (backend.h): the header of every runtime future.
#[repr(C)]
pub struct ZFuture {
    pub ops: *const FutureOps,
    pub result: c_int,
}

/// `zyntax_future_ops` (backend.h, ABI 2.0): its size, then the ops.
#[repr(C)]
pub struct FutureOps {
    pub size: usize,
    pub poll: unsafe extern "C" fn(*mut ZFuture, *const CWaker) -> c_int,
    pub drop: unsafe extern "C" fn(*mut ZFuture),
}

/// `struct zyntax_task` (backend.h): the header of every task handle.
#[repr(C)]
pub struct ZTask {
    pub ops: *const TaskOps,
    pub owner: *const c_void,
}

/// `zyntax_task_ops` (backend.h, ABI 2.0): its size, then the ops.
#[repr(C)]
pub struct TaskOps {
    pub size: usize,
    pub state: unsafe extern "C" fn(*const ZTask) -> *mut c_void,
    pub status: unsafe extern "C" fn(*const ZTask) -> c_int,
    pub cancel: unsafe extern "C" fn(*mut ZTask) -> c_int,
    pub release: unsafe extern "C" fn(*mut ZTask) -> c_int,
    pub join: unsafe extern "C" fn(*mut ZTask, *mut *mut ZFuture) -> c_int,
}

/// A raw pointer that may cross threads (its owner guarantees it).
#[derive(Clone, Copy)]
pub struct SendPtr(pub *mut c_void);
// SAFETY: only the pointer value crosses threads; whoever dereferences it
// relies on the C caller's contract for that pointer.
unsafe impl Send for SendPtr {}
// SAFETY: as for Send.
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so closures capture the whole SendPtr).
    pub fn get(self) -> *mut c_void {
        self.0
    }
}
