//! A C task on Tokio: the task record behind a `zyntax_task` handle, the
//! Rust future that polls the C poll function, and the wakers between them.
//!
//! Ownership: a task record is an `Arc<Task>`. References are held by the
//! handle (until `zyntax_task_release`), by the Tokio future (until it is
//! finished or dropped), by the runtime's table of finished tasks whose
//! state a handle still keeps, by C wakers (clone/drop adjust the count)
//! and by a join future. Unfinished tasks need no table: dropping the
//! Tokio runtime drops their futures, which drops their states.
//!
//! Waking: the C waker passed to a poll function is `{task, TASK_WAKER}`,
//! borrowed, no allocation. The task keeps the Tokio waker of its latest
//! poll in a cell; a C wake wakes that. A Rust waker made for a leaf future
//! from our own C waker is the same record again (no allocation either).

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::UnsafeCell;
use std::future::Future;
use std::os::raw::{c_int, c_void};
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use crate::ffi::*;
use crate::runtime::{count, Shared};

#[repr(C)]
pub struct Task {
    header: ZTask, // first: the handle C sees is a pointer to the record
    pub shared: Arc<Shared>,
    poll: PollFn,
    drop_fn: Option<DropFn>,
    state: AtomicPtr<c_void>, // NULL once dropped
    inplace: Option<Layout>,  // the state lives in memory the task owns
    status: AtomicI32,        // RUNNING, or the outcome
    cancel: AtomicBool,
    handle: AtomicBool, // the handle is not released yet
    state_dropped: AtomicBool,
    join_exists: AtomicBool,
    kept: AtomicBool, // in Shared::kept: completed, state kept for the handle
    root: bool, // block_on_future's future: not spawned, not counted live
    /// The Tokio waker of a spawned task's first poll. Tokio gives a task
    /// the same waker at every poll, so wakes read it without a lock; it is
    /// freed with the record, so a racing wake never sees it go.
    fixed_waker: AtomicPtr<Waker>,
    moved: AtomicBool, // a poll came with another waker: `waker` has it
    waker: Mutex<Option<Waker>>,
    waiters: Mutex<Waiters>,
    inline: InlineState, // a small in-place state lives here: no allocation
}

/// In-place states up to this size and alignment live inside the task
/// record, so such a spawn allocates only the record (and Tokio its cell).
const INLINE_STATE: usize = 64;
const INLINE_ALIGN: usize = 16;

#[repr(C, align(16))]
struct InlineState(UnsafeCell<[u8; INLINE_STATE]>);

impl Drop for Task {
    fn drop(&mut self) {
        let fixed = *self.fixed_waker.get_mut();
        if !fixed.is_null() {
            drop(unsafe { Box::from_raw(fixed) });
        }
    }
}

// Raw pointers in the record are the C caller's, shared under the API's
// thread-safety rules; everything mutable is atomic or behind a mutex.
unsafe impl Send for Task {}
unsafe impl Sync for Task {}

#[derive(Default)]
struct Waiters {
    block_on: Option<Waker>,
    join: Option<OwnedCWaker>,
}

/// What `zyntax_runtime_spawn*` passed (see `zyntax_spawn_args`).
pub struct SpawnArgs {
    pub poll: PollFn,
    pub drop: Option<DropFn>,
    pub state: *mut c_void,
    pub inplace_size: usize,
    pub inplace_align: usize,
    pub init: Option<InitFn>,
    pub init_arg: *mut c_void,
}

impl Task {
    fn new(shared: &Arc<Shared>, poll: PollFn, drop_fn: Option<DropFn>, state: *mut c_void,
           inplace: Option<Layout>, root: bool) -> Arc<Task> {
        Arc::new(Task {
            header: ZTask { ops: &TASK_OPS, owner: shared.public.0 },
            shared: shared.clone(),
            poll,
            drop_fn,
            state: AtomicPtr::new(state),
            inplace,
            status: AtomicI32::new(RUNNING),
            cancel: AtomicBool::new(false),
            handle: AtomicBool::new(!root),
            state_dropped: AtomicBool::new(false),
            join_exists: AtomicBool::new(false),
            kept: AtomicBool::new(false),
            root,
            fixed_waker: AtomicPtr::new(ptr::null_mut()),
            moved: AtomicBool::new(false),
            waker: Mutex::new(None),
            waiters: Mutex::new(Waiters::default()),
            inline: InlineState(UnsafeCell::new([0; INLINE_STATE])),
        })
    }

    pub fn status(&self) -> c_int {
        self.status.load(Ordering::SeqCst)
    }

    /// Keeps the Tokio waker of this poll (no clone when it is the same).
    /// SeqCst: cancel stores its flag and then wakes, a poll stores its
    /// waker and then reads the flag - one of the two sees the other.
    fn set_waker(&self, w: &Waker) {
        if !self.root {
            let fixed = self.fixed_waker.load(Ordering::SeqCst);
            if fixed.is_null() {
                // Polls of one task never overlap: nobody else installs it.
                let first = Box::into_raw(Box::new(w.clone()));
                self.fixed_waker.store(first, Ordering::SeqCst);
                return;
            }
            if unsafe { (*fixed).will_wake(w) } {
                return;
            }
        }
        {
            let mut cell = self.waker.lock().unwrap();
            match &*cell {
                Some(old) if old.will_wake(w) => {}
                _ => *cell = Some(w.clone()),
            }
        }
        if !self.root {
            self.moved.store(true, Ordering::SeqCst);
        }
    }

    fn wake(&self) {
        if self.status() != RUNNING {
            return; // finished: nothing to do
        }
        count(&self.shared.stats.wakes);
        if !self.moved.load(Ordering::SeqCst) {
            let fixed = self.fixed_waker.load(Ordering::SeqCst);
            if !fixed.is_null() {
                unsafe { (*fixed).wake_by_ref() };
                return;
            }
        }
        if let Some(w) = &*self.waker.lock().unwrap() {
            w.wake_by_ref();
        }
    }

    /// One call of the C poll function; Some(outcome) when the task ended.
    fn poll_once(&self, cx: &mut Context<'_>) -> Option<c_int> {
        // The waker is stored before the cancel flag is read, and cancel
        // sets the flag before it wakes: a cancel is never missed.
        self.set_waker(cx.waker());
        // Destroy cancels every unfinished task: Tokio's workers may still
        // poll some while it shuts down, and they must not run C code.
        if self.cancel.load(Ordering::SeqCst) || (!self.root && self.shared.closed.load(Ordering::Acquire)) {
            return Some(ECANCELED);
        }
        count(&self.shared.stats.polls);
        let waker = CWaker { data: self as *const Task as *const c_void, vtable: &TASK_WAKER };
        match unsafe { (self.poll)(self.state.load(Ordering::Relaxed), &waker) } {
            PENDING => None,
            READY => Some(0),
            _ => Some(EBADPOLL),
        }
    }

    /// Runs the drop function (exactly once, whoever gets here first) and
    /// frees in-place state memory.
    pub fn drop_state(&self) {
        if self.state_dropped.swap(true, Ordering::AcqRel) {
            return;
        }
        let state = self.state.swap(ptr::null_mut(), Ordering::AcqRel);
        if let Some(drop_fn) = self.drop_fn {
            unsafe { drop_fn(state) };
        }
        if let Some(layout) = self.inplace {
            unsafe { dealloc(state as *mut u8, layout) };
        }
        if self.kept.load(Ordering::Acquire) {
            let key = self as *const Task as usize;
            let entry = self.shared.kept.lock().unwrap().remove(&key);
            drop(entry); // outside the lock: it may be the last reference
        }
    }

    /// A completed task whose handle is held keeps its state: put it where
    /// destroy finds it. Before the outcome is published, so a release that
    /// sees the task finished also finds it here.
    fn keep_for_handle(self: &Arc<Self>) {
        let key = Arc::as_ptr(self) as usize;
        self.shared.kept.lock().unwrap().insert(key, self.clone());
        self.kept.store(true, Ordering::Release);
    }

    /// The task ended with `outcome`: drop what must go, publish the
    /// outcome, wake whoever waits.
    fn finish(self: &Arc<Self>, outcome: c_int) {
        if outcome != 0 {
            self.drop_state(); // before the outcome: a waiter sees it done
        } else if self.handle.load(Ordering::SeqCst) {
            self.keep_for_handle();
        }
        self.status.store(outcome, Ordering::SeqCst);
        // A completed state stays for its handle; release may race us here,
        // and drop_state() runs once for both.
        if outcome == 0 && !self.handle.load(Ordering::SeqCst) {
            self.drop_state();
        }
        let stats = &self.shared.stats;
        count(match outcome {
            0 => &stats.completed,
            ECANCELED => &stats.cancelled,
            _ => &stats.failed,
        });
        *self.waker.lock().unwrap() = None;
        if !self.root && self.shared.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.idle.notify_one();
        }
        let waiters = std::mem::take(&mut *self.waiters.lock().unwrap());
        if let Some(w) = waiters.block_on {
            w.wake();
        }
        if let Some(w) = waiters.join {
            w.wake_by_ref();
        }
    }
}

// ---- spawning ------------------------------------------------------------

/// Runs the caller's initialiser on zeroed in-place state.
fn init_state(state: *mut c_void, args: &SpawnArgs) -> Result<(), c_int> {
    match args.init {
        Some(init) if unsafe { init(state, args.init_arg) } != 0 => Err(EINVAL),
        _ => Ok(()),
    }
}

/// The task record with its state: the caller's, in-place inside the
/// record when small enough, else in-place in an allocation of its own.
fn new_task(shared: &Arc<Shared>, args: &SpawnArgs) -> Result<Arc<Task>, c_int> {
    if args.inplace_size == 0 {
        return Ok(Task::new(shared, args.poll, args.drop, args.state, None, false));
    }
    if args.inplace_size <= INLINE_STATE && args.inplace_align <= INLINE_ALIGN {
        let task = Task::new(shared, args.poll, args.drop, ptr::null_mut(), None, false);
        let state = task.inline.0.get() as *mut c_void;
        init_state(state, args)?; // on error the record just goes away
        task.state.store(state, Ordering::Release);
        return Ok(task);
    }
    let layout = Layout::from_size_align(args.inplace_size, args.inplace_align).map_err(|_| EINVAL)?;
    let state = unsafe { alloc_zeroed(layout) } as *mut c_void;
    if state.is_null() {
        return Err(ENOMEM);
    }
    if let Err(e) = init_state(state, args) {
        unsafe { dealloc(state as *mut u8, layout) };
        return Err(e);
    }
    Ok(Task::new(shared, args.poll, args.drop, state, Some(layout), false))
}

/// Spawns a task; returns its handle (one reference, the handle's).
pub fn spawn(shared: &Arc<Shared>, handle: &tokio::runtime::Handle, args: &SpawnArgs)
             -> Result<*mut ZTask, c_int> {
    if shared.closed.load(Ordering::Acquire) {
        return Err(ECLOSED);
    }
    let task = new_task(shared, args)?;
    shared.live.fetch_add(1, Ordering::AcqRel);
    count(&shared.stats.spawned);
    let handle_ref = Arc::into_raw(task.clone()) as *mut ZTask;
    // On a runtime shutting down meanwhile, Tokio drops the future at once:
    // the task ends cancelled, its state dropped.
    drop(handle.spawn(TaskFuture { task, done: false }));
    Ok(handle_ref)
}

/// The Tokio future of a spawned task.
struct TaskFuture {
    task: Arc<Task>,
    done: bool,
}

impl Future for TaskFuture {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.task.poll_once(cx) {
            None => Poll::Pending,
            Some(outcome) => {
                self.done = true;
                self.task.finish(outcome);
                Poll::Ready(())
            }
        }
    }
}

impl Drop for TaskFuture {
    /// Tokio drops an unfinished future when its runtime shuts down.
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            self.task.finish(ECANCELED);
        }
    }
}

// ---- driving -------------------------------------------------------------

/// block_on's future: READY with the task's outcome once it ended.
pub struct WaitDone<'a>(pub &'a Task);

impl Future for WaitDone<'_> {
    type Output = c_int;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<c_int> {
        let task = self.0;
        if task.status() == RUNNING {
            task.waiters.lock().unwrap().block_on = Some(cx.waker().clone());
            if task.status() == RUNNING {
                return Poll::Pending;
            }
        }
        Poll::Ready(task.status())
    }
}

/// block_on_future's future: the caller's poll function on a task record
/// of its own (so its wakers are ordinary task wakers).
pub struct RootFuture(Arc<Task>);

impl RootFuture {
    pub fn new(shared: &Arc<Shared>, state: *mut c_void, poll: PollFn) -> RootFuture {
        RootFuture(Task::new(shared, poll, None, state, None, true))
    }
}

impl Future for RootFuture {
    type Output = c_int;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<c_int> {
        match self.0.poll_once(cx) {
            None => Poll::Pending,
            Some(outcome) => {
                self.0.status.store(outcome, Ordering::SeqCst);
                *self.0.waker.lock().unwrap() = None;
                Poll::Ready(outcome)
            }
        }
    }
}

// ---- the handle's operations ---------------------------------------------

unsafe fn task_ref<'a>(t: *const ZTask) -> &'a Task {
    &*(t as *const Task)
}

unsafe extern "C" fn task_state(t: *const ZTask) -> *mut c_void {
    task_ref(t).state.load(Ordering::Acquire)
}

unsafe extern "C" fn task_status(t: *const ZTask) -> c_int {
    task_ref(t).status()
}

unsafe extern "C" fn task_cancel(t: *mut ZTask) -> c_int {
    let task = task_ref(t);
    if task.status() != RUNNING {
        return EFINISHED;
    }
    task.cancel.store(true, Ordering::SeqCst);
    task.wake();
    0
}

unsafe extern "C" fn task_release(t: *mut ZTask) -> c_int {
    let task = task_ref(t);
    if !task.handle.swap(false, Ordering::SeqCst) {
        return EINVAL; // released twice
    }
    if task.status() != RUNNING {
        task.drop_state();
    }
    drop(Arc::from_raw(t as *const Task));
    0
}

unsafe extern "C" fn task_join(t: *mut ZTask, out: *mut *mut ZFuture) -> c_int {
    let task = task_ref(t);
    if task.join_exists.swap(true, Ordering::AcqRel) {
        return EBUSY;
    }
    Arc::increment_strong_count(t as *const Task);
    let join = Box::new(JoinFuture {
        base: ZFuture { ops: &JOIN_OPS, result: RUNNING },
        task: Arc::from_raw(t as *const Task),
    });
    *out = Box::into_raw(join) as *mut ZFuture;
    0
}

static TASK_OPS: TaskOps = TaskOps {
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
    base: ZFuture,
    task: Arc<Task>,
}

unsafe extern "C" fn join_poll(f: *mut ZFuture, w: *const CWaker) -> c_int {
    let join = &mut *(f as *mut JoinFuture);
    if join.task.status() == RUNNING {
        {
            let mut waiters = join.task.waiters.lock().unwrap();
            let same = waiters.join.as_ref().map_or(false, |old| old.will_wake(w));
            if !same {
                waiters.join = Some(OwnedCWaker::clone_from(w));
            }
        }
        if join.task.status() == RUNNING {
            return PENDING;
        }
    }
    join.base.result = join.task.status();
    READY
}

unsafe extern "C" fn join_drop(f: *mut ZFuture) {
    let join = Box::from_raw(f as *mut JoinFuture);
    let old = join.task.waiters.lock().unwrap().join.take();
    drop(old);
    join.task.join_exists.store(false, Ordering::Release);
}

static JOIN_OPS: FutureOps = FutureOps { poll: join_poll, drop: join_drop };

// ---- wakers --------------------------------------------------------------

unsafe fn task_of<'a>(data: *const c_void) -> &'a Task {
    &*(data as *const Task)
}

unsafe extern "C" fn cwaker_clone(data: *const c_void) -> CWaker {
    Arc::increment_strong_count(data as *const Task);
    CWaker { data, vtable: &TASK_WAKER }
}

unsafe extern "C" fn cwaker_wake(data: *const c_void) {
    task_of(data).wake();
    Arc::decrement_strong_count(data as *const Task);
}

unsafe extern "C" fn cwaker_wake_by_ref(data: *const c_void) {
    task_of(data).wake();
}

unsafe extern "C" fn cwaker_drop(data: *const c_void) {
    Arc::decrement_strong_count(data as *const Task);
}

/// The C waker vtable of Tokio-backed tasks.
static TASK_WAKER: CWakerVtable = CWakerVtable {
    clone: cwaker_clone,
    wake: cwaker_wake,
    wake_by_ref: cwaker_wake_by_ref,
    drop: cwaker_drop,
};

unsafe fn raw_clone(data: *const ()) -> RawWaker {
    Arc::increment_strong_count(data as *const Task);
    RawWaker::new(data, &TASK_RAW)
}

unsafe fn raw_wake(data: *const ()) {
    cwaker_wake(data as *const c_void)
}

unsafe fn raw_wake_by_ref(data: *const ()) {
    cwaker_wake_by_ref(data as *const c_void)
}

unsafe fn raw_drop(data: *const ()) {
    cwaker_drop(data as *const c_void)
}

static TASK_RAW: RawWakerVTable = RawWakerVTable::new(raw_clone, raw_wake, raw_wake_by_ref, raw_drop);

unsafe fn foreign_clone(data: *const ()) -> RawWaker {
    let inner = &*(data as *const OwnedCWaker);
    foreign_raw(inner.clone_owned())
}

unsafe fn foreign_wake(data: *const ()) {
    let inner = Box::from_raw(data as *mut OwnedCWaker);
    inner.wake_by_ref();
}

unsafe fn foreign_wake_by_ref(data: *const ()) {
    (*(data as *const OwnedCWaker)).wake_by_ref();
}

unsafe fn foreign_drop(data: *const ()) {
    drop(Box::from_raw(data as *mut OwnedCWaker));
}

static FOREIGN_RAW: RawWakerVTable =
    RawWakerVTable::new(foreign_clone, foreign_wake, foreign_wake_by_ref, foreign_drop);

fn foreign_raw(w: OwnedCWaker) -> RawWaker {
    RawWaker::new(Box::into_raw(Box::new(w)) as *const (), &FOREIGN_RAW)
}

/// A Rust waker for a C waker a leaf future was polled with: our own task
/// waker maps to the same record without allocating; any other (a custom
/// or no-op waker of the caller) is cloned into a box.
pub unsafe fn rust_waker(w: *const CWaker) -> Waker {
    if ptr::eq((*w).vtable, &TASK_WAKER) {
        Waker::from_raw(raw_clone((*w).data as *const ()))
    } else {
        Waker::from_raw(foreign_raw(OwnedCWaker::clone_from(w)))
    }
}
