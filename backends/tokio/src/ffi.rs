//! The C types of `zyntax/future.h` and `zyntax/backend.h` this crate
//! touches, laid out exactly as C does (`#[repr(C)]`). The C shim
//! (`entry.c`) owns the versioned structs (options, stats, errors); Rust
//! sees only these stable shapes.

use std::os::raw::{c_int, c_void};

pub const PENDING: c_int = 0;
pub const READY: c_int = 1;

// ZYNTAX_E* codes used here (api/zyntax/error.h).
pub const EINVAL: c_int = -1;
pub const ENOMEM: c_int = -2;
pub const ECANCELED: c_int = -5;
pub const ECLOSED: c_int = -6;
pub const EFOREIGN: c_int = -7;
pub const EIO: c_int = -12;
pub const EFINISHED: c_int = -13;
pub const EBADPOLL: c_int = -15;
pub const EBADF: c_int = -16;
pub const EBUSY: c_int = -3;
pub const EBACKEND: c_int = -18;
/// ZYNTAX_TASK_RUNNING: the result of a future or task not finished yet.
pub const RUNNING: c_int = 0x7fff_ffff;

pub const READABLE: u32 = 0x1;
pub const WRITABLE: u32 = 0x2;

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

// The waker contract makes every waker sendable to any thread.
unsafe impl Send for OwnedCWaker {}

impl OwnedCWaker {
    /// Clones `w` (which must be a valid waker for the call's duration).
    pub unsafe fn clone_from(w: *const CWaker) -> OwnedCWaker {
        if w.is_null() || (*w).vtable.is_null() {
            return OwnedCWaker(CWaker { data: std::ptr::null(), vtable: std::ptr::null() });
        }
        OwnedCWaker(((*(*w).vtable).clone)((*w).data))
    }

    pub fn clone_owned(&self) -> OwnedCWaker {
        unsafe { OwnedCWaker::clone_from(&self.0) }
    }

    pub fn will_wake(&self, w: *const CWaker) -> bool {
        unsafe { self.0.data == (*w).data && self.0.vtable == (*w).vtable }
    }

    pub fn wake_by_ref(&self) {
        if !self.0.vtable.is_null() {
            unsafe { ((*self.0.vtable).wake_by_ref)(self.0.data) }
        }
    }
}

impl Drop for OwnedCWaker {
    fn drop(&mut self) {
        if !self.0.vtable.is_null() {
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

#[repr(C)]
pub struct FutureOps {
    pub poll: unsafe extern "C" fn(*mut ZFuture, *const CWaker) -> c_int,
    pub drop: unsafe extern "C" fn(*mut ZFuture),
}

/// `struct zyntax_task` (backend.h): the header of every task handle.
#[repr(C)]
pub struct ZTask {
    pub ops: *const TaskOps,
    pub owner: *const c_void,
}

#[repr(C)]
pub struct TaskOps {
    pub state: unsafe extern "C" fn(*const ZTask) -> *mut c_void,
    pub status: unsafe extern "C" fn(*const ZTask) -> c_int,
    pub cancel: unsafe extern "C" fn(*mut ZTask) -> c_int,
    pub release: unsafe extern "C" fn(*mut ZTask) -> c_int,
    pub join: unsafe extern "C" fn(*mut ZTask, *mut *mut ZFuture) -> c_int,
}

/// A raw pointer that may cross threads (its owner guarantees it).
#[derive(Clone, Copy)]
pub struct SendPtr(pub *mut c_void);
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so closures capture the whole SendPtr).
    pub fn get(self) -> *mut c_void {
        self.0
    }
}
