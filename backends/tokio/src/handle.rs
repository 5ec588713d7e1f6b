//! The task handle's operations (`zyntax_task_ops`: state, status,
//! cancel, release, join) and the join future.

use std::os::raw::{c_int, c_void};
use std::ptr;

use crate::ffi::*;
use crate::state::*;
use crate::task::{Task, TaskRef};

/// Runs `f` on the record behind a handle; the borrow cannot escape `f`.
///
/// # Safety
/// `t` is a handle the loader vouched for: a live record, whose handle
/// reference the caller holds for the duration of the call.
unsafe fn with_task<R>(t: *const ZTask, f: impl FnOnce(&Task) -> R) -> R {
    // SAFETY: the record is live for the call (the caller's contract); the
    // task header is its first field (repr(C)).
    f(unsafe { &*(t as *const Task) })
}

/// # Safety
/// `t` is a live handle (see `with_task`).
unsafe extern "C" fn task_state(t: *const ZTask) -> *mut c_void {
    // SAFETY: forwarded contract.
    unsafe {
        with_task(t, |task| if task.state.load().has(DROPPED) { ptr::null_mut() } else { task.user_state })
    }
}

/// # Safety
/// `t` is a live handle (see `with_task`).
unsafe extern "C" fn task_status(t: *const ZTask) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with_task(t, Task::status) }
}

/// # Safety
/// `t` is a live handle (see `with_task`).
unsafe extern "C" fn task_cancel(t: *mut ZTask) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_task(t, |task| {
            // CANCEL first, then the wake: a poll that published its waker
            // before our RMW is woken, one after it sees CANCEL.
            if task.state.set(CANCEL).has(COMPLETE) {
                return EFINISHED;
            }
            task.wake();
            0
        })
    }
}

/// # Safety
/// `t` is a live handle, released at most once (the loader guarantees
/// that a released handle is not used again).
unsafe extern "C" fn task_release(t: *mut ZTask) -> c_int {
    // One RMW: clears HANDLE, and gives back the handle's reference with
    // it unless the task completed (then the state is ours to drop first).
    // SAFETY: forwarded contract.
    let prev = match unsafe { with_task(t, |task| task.state.release_handle()) } {
        Ok(prev) => prev,
        Err(_) => return EINVAL, // released twice
    };
    if prev.has(COMPLETE) {
        // SAFETY: the handle's reference, which release_handle kept.
        let task = unsafe { TaskRef::from_raw(t as *const Task) };
        task.drop_state();
    }
    0
}

/// # Safety
/// `t` is a live handle; `out` is writable.
unsafe extern "C" fn task_join(t: *mut ZTask, out: *mut *mut ZFuture) -> c_int {
    // SAFETY: forwarded contract.
    if unsafe { with_task(t, |task| task.state.set(JOINED)) }.has(JOINED) {
        return EBUSY;
    }
    // SAFETY: the record is live (the handle holds it).
    let task = unsafe { TaskRef::clone_raw(t as *const Task) };
    let join = Box::new(JoinFuture { base: ZFuture { ops: &JOIN_OPS, result: RUNNING }, task });
    // SAFETY: `out` is writable (the caller's contract).
    unsafe { *out = Box::into_raw(join) as *mut ZFuture };
    0
}

/// Named in entry.c's backend table (task_ops), so it has a C name.
#[export_name = "zxt_task_ops"]
pub static TASK_OPS: TaskOps = TaskOps {
    size: std::mem::size_of::<TaskOps>(),
    state: task_state,
    status: task_status,
    cancel: task_cancel,
    release: task_release,
    join: task_join,
};

// ---- join-as-a-future ----------------------------------------------------

/// May be polled from a task of any runtime: it keeps a clone of the C
/// waker it was polled with, whatever its kind.
#[repr(C)]
struct JoinFuture {
    base: ZFuture, // first: C sees a zyntax_future
    task: TaskRef,
}

/// # Safety
/// `f` is a live join future (made by task_join), polled by one thread at
/// a time; `w` is a valid waker for the call.
unsafe extern "C" fn join_poll(f: *mut ZFuture, w: *const CWaker) -> c_int {
    // SAFETY: the caller's contract: live, and not polled concurrently.
    let join = unsafe { &mut *(f as *mut JoinFuture) };
    if join.task.status() == RUNNING {
        {
            let mut waiters = join.task.waiters.lock().unwrap();
            // SAFETY: `w` is valid for the call.
            let same = waiters.join.as_ref().map_or(false, |old| unsafe { old.will_wake(w) });
            if !same {
                // SAFETY: as above.
                waiters.join = Some(unsafe { OwnedCWaker::clone_from(w) });
            }
        }
        if join.task.wait_registered() {
            return PENDING;
        }
    }
    join.base.result = join.task.status();
    READY
}

/// # Safety
/// `f` is a live join future, dropped once.
unsafe extern "C" fn join_drop(f: *mut ZFuture) {
    // SAFETY: made by Box::into_raw in task_join; dropped once.
    let join = unsafe { Box::from_raw(f as *mut JoinFuture) };
    let old = join.task.waiters.lock().unwrap().join.take();
    drop(old); // outside the lock
    join.task.state.clear(JOINED);
}

/// Listed in entry.c's backend table (future_ops), so it has a C name.
#[export_name = "zxt_join_ops"]
static JOIN_OPS: FutureOps =
    FutureOps { size: std::mem::size_of::<FutureOps>(), poll: join_poll, drop: join_drop };
