//! The task record of a C task on Tokio and its lifecycle: creation,
//! polling the C poll function, completion, dropping the state once.
//! The handle's operations are in `handle.rs`, the wakers in `waker.rs`.
//!
//! Ownership: a record is a slot of its runtime's pool (`pool.rs`; a
//! small in-place state lives inside it), so a spawn allocates only
//! Tokio's task cell; its reference count is in its state word (`state.rs`).
//! References are held by the handle (until `zyntax_task_drop`), by the
//! Tokio future (until it is finished or dropped), by the runtime's table
//! of finished tasks whose state a handle still keeps, by cloned C or Rust
//! wakers and by a join future. Unfinished tasks need no table: dropping
//! the Tokio runtime drops their futures, which drops their states.
//!
//! Waking: inside a poll, a wake on the polling thread (a task waking
//! itself) only marks the poll as woken, in the record's line that the
//! poll writes anyway; the poll wakes the waker it was given once the C
//! function returns PENDING (Tokio's wake of a running task only marks it
//! too, so nothing is later than before). The first poll that returns
//! PENDING without having woken itself stores Tokio's waker for the task
//! in a slot of the record and publishes it with the `WAKER` bit (a poll
//! that woke itself is followed by another poll, which keeps the waker
//! for it: a task that yields does not touch it); Tokio gives a task the
//! same waker at every poll, so from then on a wake from elsewhere is one
//! add on the state word and `wake_by_ref` on that waker: no lock, no
//! reference count. A task that completes in its first poll (most
//! spawned tasks) never stores a waker.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::Deref;
use std::os::raw::{c_int, c_void};
use std::pin::Pin;
use std::ptr::{self, addr_of_mut, NonNull};
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::ffi::*;
use crate::handle::TASK_OPS;
use crate::runtime::{Counter, Shared};
use crate::state::*;
use crate::waker::TASK_WAKER;

extern "C" {
    /// backends/executor/lost_wake.h: logs a lost wake of the task `task`
    /// (block_on_future's root if `root`), naming `poll`.
    fn zx_lost_wake_log(poll: PollFn, root: c_int, task: *const c_void);
}

/// Laid out by cache line (64 bytes, the record aligned to one): line 0
/// what every poll, wake and completion reads or writes; line 1 the lock
/// and its wakers; line 2 a small in-place state; line 3 Tokio's waker,
/// the drop function and the layout of in-place state memory of its own.
/// A spawn writes lines 0, 1 and (a state in place) 2, and line 3 only
/// for a drop function or state memory of its own; a poll writes
/// line 0 and (its C function) the state, and reads line 3 only to keep
/// its waker after a PENDING poll that did not wake its own task; a wake
/// from elsewhere reads lines 0 and 3; a completion nobody waits for and
/// the record's free touch line 0 only (the state word's DROP_FN, OWN_MEM,
/// WAKER, WAITERS and MOVED say which other line has work). A task moved
/// to another worker takes two lines with it, and line 3 stays shared.
#[repr(C, align(64))]
pub struct Task {
    // ---- line 0 ----
    header: ZTask, // first: the handle C sees is a pointer to the record
    /// The runtime's shared part, whose pool holds this record: kept
    /// alive while the record is allocated (`Shared::item_made`).
    shared: *const Shared,
    poll: PollFn,
    pub state: State,
    /// The thread inside this task's poll (`threads::me()`), 0 outside
    /// one, with `WOKE_INLINE` set once the task woke itself in this poll.
    /// Only that thread stores here (its own id, then 0 after), so a
    /// thread that reads its own id is inside the poll.
    poller: AtomicUsize,
    /// The C state: the caller's, or in-place (inside `inline` or in
    /// memory of `inplace`'s layout that the record owns). Fixed at spawn.
    pub user_state: *mut c_void,
    /// The polling thread's registry slot (threads.rs; NO_SLOT if none),
    /// written at the start of every poll, for its wakes from inside the
    /// poll and the completion that follows the poll on its thread.
    poller_slot: AtomicU8,
    root: bool, // block_on_future's future: not spawned, not counted live
    /// The outcome; written before COMPLETE is published, read after.
    outcome: AtomicI32,
    // ---- line 1 ----
    /// The wakers off the fast path, under the record's one lock: a poll's
    /// waker other than the fixed one (MOVED), block_on's and the join
    /// future's (WAITERS). A wake of a task on Tokio's fixed waker and a
    /// completion nobody waits for never take it. Dropped with the record
    /// only if WAITERS or MOVED says a waker was ever stored (else it
    /// holds none, and the free reads no line but line 0).
    pub waiters: ManuallyDrop<Mutex<Waiters>>,
    // ---- line 2 ----
    inline: InlineState, // a small in-place state lives here: no allocation
    // ---- line 3 ----
    /// Tokio's waker of the first PENDING poll; valid once WAKER is set.
    fixed: UnsafeCell<MaybeUninit<Waker>>,
    /// The state's own memory's layout; written (and valid) with OWN_MEM.
    inplace: MaybeUninit<Layout>,
    /// The state's drop function; written (and valid) with DROP_FN.
    drop_fn: MaybeUninit<DropFn>,
}

const _: () = assert!(std::mem::align_of::<Task>() == 64); // the lines: tests::record_lines

/// `Task::poller_slot` of a thread without a registry slot.
const NO_SLOT: u8 = u8::MAX;
const _: () = assert!(crate::threads::SLOTS < NO_SLOT as usize);

/// In `Task::poller`: the task woke itself during this poll, on the
/// polling thread (a plain store, where a wake from elsewhere counts in
/// the state word with a locked add). A thread's `me()` is the address of
/// its thread control block, so its low bit is free.
const WOKE_INLINE: usize = 1;

/// In-place states up to this size and alignment live inside the task
/// record, so such a spawn allocates only the record (and Tokio its cell).
const INLINE_STATE: usize = 64;
const INLINE_ALIGN: usize = 16;

/// Aligned to a line of its own (a state needs at most INLINE_ALIGN): the
/// C function's writes to it move no other field's line.
#[repr(C, align(64))]
struct InlineState(UnsafeCell<MaybeUninit<[u8; INLINE_STATE]>>);

#[derive(Default)]
pub struct Waiters {
    moved: Option<Waker>,
    pub block_on: Option<Waker>,
    pub join: Option<OwnedCWaker>,
}

impl Drop for Task {
    fn drop(&mut self) {
        let s = self.state.load();
        if s.has(WAKER) {
            // SAFETY: WAKER says the slot was written, and this is the
            // last reference: nobody reads it any more.
            unsafe { self.fixed.get_mut().assume_init_drop() };
        }
        if s.has(WAITERS | MOVED) {
            // SAFETY: dropped once, here, by the last reference. Without
            // those bits no waker was ever stored in it, so not dropping
            // it leaks nothing (a futex mutex owns no memory).
            unsafe { ManuallyDrop::drop(&mut self.waiters) };
        }
    }
}

// SAFETY: the raw pointers in the record are the C caller's, shared under
// the API's thread-safety rules; everything mutable is atomic, behind a
// mutex, or (the waker slot) written once before it is published.
unsafe impl Send for Task {}
// SAFETY: as for Send.
unsafe impl Sync for Task {}

/// A counted reference to a task record (the count is in its state word).
pub struct TaskRef(NonNull<Task>);

// SAFETY: a Task is Send + Sync and the count is atomic.
unsafe impl Send for TaskRef {}
// SAFETY: as for Send.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// A new record in a slot of its runtime's pool; the reference is
    /// the one a new record starts with. Err(ENOMEM) if the pool is full.
    /// `me` is the calling thread's registry slot (`threads.slot()`).
    /// Written field by field, in place, and inlined into its callers: the
    /// lines a task may never use (Tokio's waker, the in-place state, the
    /// layout of state memory of its own) are not written, nor copied
    /// through the stack.
    #[inline(always)]
    fn new(shared: &Arc<Shared>, m: Make, me: Option<usize>) -> Result<TaskRef, c_int> {
        let slot = shared.pool.alloc(me).ok_or(ENOMEM)?;
        shared.item_made(me);
        let p = slot.as_ptr();
        let mut flags = if m.handle { HANDLE } else { 0 };
        if m.drop_fn.is_some() {
            flags |= DROP_FN;
        }
        if m.inplace.is_some() {
            flags |= OWN_MEM;
        }
        // SAFETY: a free slot of the pool, right size and alignment, ours;
        // every field but the MaybeUninit ones is written once, in place,
        // before the record is shared.
        unsafe {
            addr_of_mut!((*p).header).write(ZTask { ops: &TASK_OPS, owner: shared.public.0 });
            addr_of_mut!((*p).shared).write(&**shared);
            addr_of_mut!((*p).poll).write(m.poll);
            addr_of_mut!((*p).state).write(State::new(1, flags));
            addr_of_mut!((*p).poller).write(AtomicUsize::new(0));
            addr_of_mut!((*p).user_state).write(m.user_state);
            addr_of_mut!((*p).poller_slot).write(AtomicU8::new(NO_SLOT));
            addr_of_mut!((*p).root).write(m.root);
            addr_of_mut!((*p).outcome).write(AtomicI32::new(RUNNING));
            addr_of_mut!((*p).waiters).write(ManuallyDrop::new(Mutex::new(Waiters::default())));
            if let Some(drop_fn) = m.drop_fn {
                addr_of_mut!((*p).drop_fn).write(MaybeUninit::new(drop_fn));
            }
            if let Some(layout) = m.inplace {
                addr_of_mut!((*p).inplace).write(MaybeUninit::new(layout));
            }
        }
        Ok(TaskRef(slot))
    }

    /// Adopts a reference that `p` carried (a handle, a C waker).
    ///
    /// # Safety
    /// `p` points to a live record and the caller gives up one reference.
    pub unsafe fn from_raw(p: *const Task) -> TaskRef {
        // SAFETY: non-null by the caller's contract.
        TaskRef(unsafe { NonNull::new_unchecked(p as *mut Task) })
    }

    /// A new reference to the record behind `p`.
    ///
    /// # Safety
    /// `p` points to a live record for the duration of the call.
    pub unsafe fn clone_raw(p: *const Task) -> TaskRef {
        // SAFETY: the record is live, by the caller's contract.
        unsafe { (*p).state.ref_inc() };
        // SAFETY: we just took the reference this adopts.
        unsafe { TaskRef::from_raw(p) }
    }

    /// Sets the state pointer of a new record (spawn, before the record
    /// is shared: this is its only reference).
    fn set_user_state(&mut self, state: *mut c_void) {
        // SAFETY: the one reference to a record no other thread has seen,
        // so nothing reads the field meanwhile.
        unsafe { (*self.0.as_ptr()).user_state = state };
    }

    /// Gives the reference to a raw pointer (a handle, a C waker).
    pub fn into_raw(self) -> *const Task {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        self.state.ref_inc();
        TaskRef(self.0)
    }
}

impl Deref for TaskRef {
    type Target = Task;

    fn deref(&self) -> &Task {
        // SAFETY: this reference keeps the record alive.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        if self.state.ref_dec() {
            // SAFETY: the last reference: nobody else can reach the record.
            unsafe { free_record(self.0.as_ptr(), None) };
        }
    }
}

impl TaskRef {
    /// Frees the record of a reference whose count an RMW already took
    /// out of the word (`State::finish_detached`).
    ///
    /// # Safety
    /// That RMW found this reference to be the only one.
    #[inline(always)]
    unsafe fn free_taken(self, me: Option<usize>) {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        // SAFETY: the only reference (the caller's contract), and its
        // count is already out of the word.
        unsafe { free_record(p, me) };
    }
}

/// Drops a record and gives its slot back; `me` is the calling thread's
/// registry slot if the caller knows it (None: looked up here).
///
/// # Safety
/// No reference to the record is left, and nobody else can reach it.
#[inline(always)]
unsafe fn free_record(p: *mut Task, me: Option<usize>) {
    // SAFETY: nobody else can reach the record (the caller's contract).
    // Its Shared stays alive until item_freed (the record is counted
    // until then), which is the last use of it.
    unsafe {
        let shared = (*p).shared;
        ptr::drop_in_place(p);
        let me = me.or_else(|| (*shared).stats.threads.slot());
        (*shared).pool.free(p, me);
        Shared::item_freed(shared, me);
    }
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

/// What a new record is made of (`TaskRef::new`).
struct Make {
    poll: PollFn,
    drop_fn: Option<DropFn>,
    user_state: *mut c_void,
    inplace: Option<Layout>,
    root: bool,
    /// A handle holds the record (HANDLE set, its reference added by
    /// spawn): every spawn but a detached one.
    handle: bool,
}

impl Task {
    /// The registry slot of the thread of the last poll (the caller's,
    /// right after its poll).
    pub fn poller_slot(&self) -> Option<usize> {
        Some(self.poller_slot.load(Ordering::Relaxed)).filter(|&i| i != NO_SLOT).map(usize::from)
    }

    /// Whether the calling thread is inside this task's poll and the task
    /// is `shared`'s: then the thread is one of `shared`'s runtime (reads
    /// only line 0, which the poll holds).
    #[inline]
    pub fn polled_here_for(&self, shared: &Shared) -> bool {
        ptr::eq(self.shared, shared) && self.polled_by(crate::threads::me())
    }

    /// Whether the thread `me` (`threads::me()`) is inside this task's
    /// poll: only that thread stores its id in `poller`.
    #[inline]
    fn polled_by(&self, me: usize) -> bool {
        self.poller.load(Ordering::Relaxed) & !WOKE_INLINE == me
    }

    /// The runtime's shared part.
    #[inline(always)]
    pub fn shared(&self) -> &Shared {
        // SAFETY: a Shared outlives every record of its pool (see
        // Shared::item_made); the borrow is bounded by the record's.
        unsafe { &*self.shared }
    }

    /// RUNNING, or the outcome once COMPLETE is set.
    pub fn status(&self) -> c_int {
        if self.state.load().has(COMPLETE) {
            // Relaxed: the Acquire load of COMPLETE ordered it.
            self.outcome.load(Ordering::Relaxed)
        } else {
            RUNNING
        }
    }

    /// Publishes the outcome (COMPLETE); returns the word before.
    fn complete(&self, outcome: c_int) -> Snapshot {
        self.outcome.store(outcome, Ordering::Relaxed);
        self.state.set(COMPLETE)
    }

    /// After a PENDING poll: keeps `w`, the Tokio waker it was given, for
    /// wakes from elsewhere. Returns the state word as of the keeping, and
    /// whether `w` was published by it (first stored, or MOVED): wakes
    /// that came before the publishing reached no waker, or the old one.
    fn keep_waker(&self, w: &Waker) -> (Snapshot, bool) {
        let s = self.state.load();
        if !s.has(WAKER) {
            // SAFETY: only polls write the slot, polls of one task never
            // overlap, and no one reads it before WAKER is published.
            unsafe { (*self.fixed.get()).write(w.clone()) };
            return (self.state.set(WAKER), true);
        }
        if !s.has(MOVED) {
            // SAFETY: WAKER was seen with Acquire: the slot is written and
            // is never written again.
            let fixed = unsafe { (*self.fixed.get()).assume_init_ref() };
            if fixed.will_wake(w) {
                return (s, false);
            }
        }
        let changed = {
            let mut cold = self.waiters.lock().unwrap();
            match &cold.moved {
                Some(old) if old.will_wake(w) => false,
                _ => {
                    cold.moved = Some(w.clone());
                    true
                }
            }
        };
        if s.has(MOVED) {
            (self.state.load(), changed)
        } else {
            (self.state.set(MOVED), true)
        }
    }

    /// Wakes the Tokio task (a C or Rust waker of the task was woken).
    /// Inlined into the wakers: a task waking itself inside its poll (a
    /// yield) takes a few instructions and no call.
    #[inline(always)]
    pub fn wake(&self) {
        let me = crate::threads::me();
        if self.polled_by(me) {
            // Inside its own poll, on this thread: the poll wakes its
            // waker when the C function returns PENDING.
            self.poller.store(me | WOKE_INLINE, Ordering::Relaxed);
            self.count_wake(self.poller_slot()); // the slot the poll found
            return;
        }
        self.wake_from_elsewhere(me);
    }

    /// Counts a wake by the thread of registry slot `slot`.
    #[inline(always)]
    fn count_wake(&self, slot: Option<usize>) {
        match slot {
            Some(_) => self.shared().stats.count_at(slot, Counter::Wakes),
            None => self.count_wake_unregistered(),
        }
    }

    /// count_wake on a thread without a registry slot: remote unless it
    /// is driving this runtime.
    #[cold]
    fn count_wake_unregistered(&self) {
        let stats = &self.shared().stats;
        stats.count_at(None, Counter::Wakes);
        if !crate::runtime::is_current_tls(self.shared()) {
            stats.count_at(None, Counter::WakesRemote);
        }
    }

    /// `wake` from outside the task's poll (thread `me`).
    #[inline(never)]
    fn wake_from_elsewhere(&self, me: usize) {
        // The count orders this wake against a poll publishing its waker
        // (State::count_wake): one of the two sees the other.
        let s = self.state.count_wake();
        if s.has(COMPLETE) {
            return; // finished: nothing to do
        }
        self.count_wake(self.shared().stats.threads.slot_of(me));
        if s.has(MOVED) {
            if let Some(w) = &self.waiters.lock().unwrap().moved {
                w.wake_by_ref();
            }
        } else if s.has(WAKER) {
            // SAFETY: WAKER seen with Acquire: written, never rewritten,
            // freed only with the record, which our caller keeps alive.
            unsafe { (*self.fixed.get()).assume_init_ref() }.wake_by_ref();
        }
        // Neither: never polled yet (Tokio polls a new task anyway), in
        // its first PENDING poll, which sees this count when it publishes,
        // or all its polls so far woke the task themselves (so another
        // poll follows, and it starts after this wake).
    }

    /// One call of the C poll function; Some(outcome) when the task ended.
    /// Leaves the calling thread's registry slot in `poller_slot` (for
    /// finish, on the same thread), whatever it returns.
    #[inline(always)]
    fn poll_once(&self, cx: &mut Context<'_>) -> Option<c_int> {
        let thread = crate::threads::me();
        let stats = &self.shared().stats;
        let slot = stats.threads.slot_near(thread, usize::from(self.poller_slot.load(Ordering::Relaxed)));
        self.poller_slot.store(slot.map_or(NO_SLOT, |i| i as u8), Ordering::Relaxed);
        let s = self.state.load();
        // Destroy cancels every unfinished task: Tokio's workers may still
        // poll some while it shuts down, and they must not run C code.
        if s.has(CANCEL) || (!self.root && self.shared().closed.load(Ordering::Acquire)) {
            return Some(ECANCELED);
        }
        stats.count_at(slot, Counter::Polls);
        let waker = CWaker { data: self as *const Task as *const c_void, vtable: &TASK_WAKER };
        let me = self as *const Task as *const c_void;
        debug_assert_eq!(thread & WOKE_INLINE, 0);
        self.poller.store(thread, Ordering::Relaxed);
        // SAFETY: the poll function and its state are the caller's, valid
        // until the state is dropped, which happens only after this task
        // stops being polled; the waker borrows this record.
        let r = unsafe { crate::timing::poll(self.shared(), self.poll, self.user_state, &waker, me) };
        let woke_inline = self.poller.load(Ordering::Relaxed) & WOKE_INLINE != 0;
        self.poller.store(0, Ordering::Relaxed);
        match r {
            PENDING if woke_inline => {
                // Tokio polls it again: that poll keeps the waker (a wake
                // from elsewhere meanwhile is answered by that poll, which
                // starts after it), or the one after.
                cx.waker().wake_by_ref();
                None
            }
            PENDING => {
                let (now, published) = self.keep_waker(cx.waker());
                // A wake or cancel from elsewhere before the waker was
                // published reached no waker (or an old one): wake now.
                if published && (now.wakes() != s.wakes() || now.has(CANCEL)) {
                    cx.waker().wake_by_ref();
                }
                // Woken (the state word) from elsewhere, or can still be.
                if !now.may_be_woken(s) {
                    self.report_lost_wake(); // nothing can poll it again
                }
                None
            }
            READY => Some(0),
            _ => Some(EBADPOLL),
        }
    }

    /// Names the poll function of a lost wake (with ZYNTAX_LOG=1), as the
    /// C executor does: the same report, written once for all backends.
    #[cold]
    fn report_lost_wake(&self) {
        // SAFETY: the executor's reporter only formats the function's
        // address and the record's (it never calls or reads through them).
        unsafe { zx_lost_wake_log(self.poll, self.root as c_int, self as *const Task as *const c_void) };
    }

    /// Runs the drop function (exactly once, whoever gets here first) and
    /// frees in-place state memory.
    pub fn drop_state(&self) {
        let prev = self.state.set(DROPPED);
        if prev.has(DROPPED) {
            return;
        }
        self.drop_owned_state(prev);
        if prev.has(KEPT) {
            let key = self as *const Task as usize;
            let entry = self.shared().kept.lock().unwrap().remove(&key);
            drop(entry); // outside the lock: it may be the last reference
        }
    }

    /// drop_state's work, for the one caller that set DROPPED; `s` is a
    /// snapshot of the word (its DROP_FN and OWN_MEM, fixed at spawn).
    fn drop_owned_state(&self, s: Snapshot) {
        if s.has(DROP_FN) {
            // SAFETY: DROP_FN says `drop_fn` was written at spawn. DROPPED
            // makes this the one call; the task is no longer polled (it
            // completed, or its future was dropped).
            unsafe { (self.drop_fn.assume_init())(self.user_state) };
        }
        if s.has(OWN_MEM) {
            // SAFETY: OWN_MEM says `inplace` was written at spawn, with the
            // layout new_task allocated the state with; freed once.
            unsafe { dealloc(self.user_state as *mut u8, self.inplace.assume_init()) };
        }
    }

    /// The task ended with `outcome`: drop what must go, publish the
    /// outcome, wake whoever waits; then gives up the Tokio future's
    /// reference `this`.
    /// `me` is the calling thread's registry slot, if it has one.
    #[inline(always)]
    fn finish(this: TaskRef, outcome: c_int, me: Option<usize>) {
        if outcome == 0 {
            this.outcome.store(outcome, Ordering::Relaxed); // before COMPLETE
            if let Ok(prev) = this.state.finish_detached() {
                // Released before it finished (a detached task): HANDLE
                // never comes back, so no one else drops the state.
                if !prev.has(DROPPED) {
                    this.drop_owned_state(prev);
                }
                this.ended(prev, outcome, me);
                if prev.refs() == 1 {
                    // SAFETY: finish_detached found our reference the only
                    // one and took it out of the word.
                    unsafe { this.free_taken(me) };
                }
                return;
            }
        }
        let prev = if outcome != 0 {
            this.drop_state(); // before the outcome: a waiter sees it done
            this.complete(outcome)
        } else {
            // A completed state stays for its handle: put it where destroy
            // finds it, before COMPLETE, so a release that sees COMPLETE
            // also sees KEPT.
            let key = &*this as *const Task as usize;
            this.shared().kept.lock().unwrap().insert(key, this.clone());
            this.state.set(KEPT);
            let prev = this.complete(outcome);
            // The handle was released meanwhile: nobody keeps the state.
            // drop_state() runs once for both.
            if !prev.has(HANDLE) {
                this.drop_state();
            }
            prev
        };
        this.ended(prev, outcome, me);
    }

    /// finish's common tail, with the word from before COMPLETE.
    #[inline(always)]
    fn ended(&self, prev: Snapshot, outcome: c_int, me: Option<usize>) {
        let stats = &self.shared().stats;
        stats.count_at(me, match outcome {
            0 => Counter::Completed,
            ECANCELED => Counter::Cancelled,
            _ => Counter::Failed,
        });
        if prev.has(MOVED) {
            let moved = self.waiters.lock().unwrap().moved.take();
            drop(moved); // outside the lock
        }
        if self.shared().live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared().idle.notify_one();
        }
        if prev.has(WAITERS) {
            self.wake_waiters();
        }
    }

    /// Wakes block_on and the join future (after COMPLETE).
    fn wake_waiters(&self) {
        let waiters = {
            let mut cold = self.waiters.lock().unwrap();
            Waiters { moved: None, block_on: cold.block_on.take(), join: cold.join.take() }
        };
        if let Some(w) = waiters.block_on {
            w.wake();
        }
        if let Some(w) = waiters.join {
            w.wake_by_ref();
        }
    }

    /// A waiter stored its waker in `waiters`: true while the task is
    /// still running (then completion will wake it).
    pub fn wait_registered(&self) -> bool {
        !self.state.set(WAITERS).has(COMPLETE)
    }
}

// ---- spawning ------------------------------------------------------------

/// Runs the caller's initialiser on zeroed in-place state.
fn init_state(state: *mut c_void, args: &SpawnArgs) -> Result<(), c_int> {
    match args.init {
        // SAFETY: `state` is zeroed memory of the size and alignment the
        // caller asked for; init_arg is the caller's.
        Some(init) if unsafe { init(state, args.init_arg) } != 0 => Err(EINVAL),
        _ => Ok(()),
    }
}

/// The task record with its state: the caller's, in-place inside the
/// record when small enough, else in-place in an allocation of its own.
fn new_task(shared: &Arc<Shared>, args: &SpawnArgs, handle: bool, me: Option<usize>)
            -> Result<TaskRef, c_int> {
    let make = |user_state, inplace| Make { poll: args.poll, drop_fn: args.drop, user_state, inplace,
                                            root: false, handle };
    if args.inplace_size == 0 {
        return TaskRef::new(shared, make(args.state, None), me);
    }
    if args.inplace_size <= INLINE_STATE && args.inplace_align <= INLINE_ALIGN {
        let mut task = TaskRef::new(shared, make(ptr::null_mut(), None), me)?;
        let state = task.inline.0.get() as *mut c_void; // the record's place is final now
        // Zeroed whole: a fixed size is a few stores, not a call to memset,
        // and the line is the state's alone.
        // SAFETY: the record's own inline bytes, INLINE_STATE of them (the
        // state takes inplace_size <= INLINE_STATE); no one else has seen
        // the record yet.
        unsafe { ptr::write_bytes(state as *mut u8, 0, INLINE_STATE) };
        task.set_user_state(state);
        init_state(state, args)?; // on error the record just goes back to the pool
        return Ok(task);
    }
    let layout = Layout::from_size_align(args.inplace_size, args.inplace_align).map_err(|_| EINVAL)?;
    // SAFETY: the size is non-zero (checked above).
    let state = unsafe { alloc_zeroed(layout) } as *mut c_void;
    if state.is_null() {
        return Err(ENOMEM);
    }
    if let Err(e) = init_state(state, args) {
        // SAFETY: allocated just above with this layout.
        unsafe { dealloc(state as *mut u8, layout) };
        return Err(e);
    }
    let task = TaskRef::new(shared, make(state, Some(layout)), me);
    if task.is_err() {
        // SAFETY: allocated just above with this layout, never handed out.
        unsafe { dealloc(state as *mut u8, layout) };
    }
    task
}

/// Spawns a task; returns its handle (one reference, the handle's), or,
/// `detached`, a task without one (the pointer is then the caller's only
/// to compare: the task may end and go before the caller looks).
pub fn spawn(shared: &Arc<Shared>, handle: &tokio::runtime::Handle, args: &SpawnArgs, detached: bool)
             -> Result<*mut ZTask, c_int> {
    if shared.closed.load(Ordering::Acquire) {
        return Err(ECLOSED);
    }
    let me = shared.stats.threads.slot();
    let task = new_task(shared, args, !detached, me)?;
    if !detached {
        // The handle's reference (the record was made with the future's).
        task.state.add_ref_unshared();
    }
    let handle_ref = &*task as *const Task as *mut ZTask;
    shared.note_live(shared.live.fetch_add(1, Ordering::AcqRel) + 1);
    shared.stats.count_at(me, Counter::Spawned);
    // On a runtime shutting down meanwhile, Tokio drops the future at once:
    // the task ends cancelled, its state dropped.
    drop(handle.spawn(TaskFuture { task: Some(task) }));
    Ok(handle_ref)
}

/// The Tokio future of a spawned task; its reference goes to finish
/// (None once the task ended).
struct TaskFuture {
    task: Option<TaskRef>,
}

impl Future for TaskFuture {
    type Output = ();

    #[inline(always)] // into Tokio's poll of the cell, as before
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let outcome = match &self.task {
            Some(task) => task.poll_once(cx),
            None => return Poll::Ready(()), // Tokio polls no finished future
        };
        match outcome {
            None => Poll::Pending,
            Some(outcome) => {
                if let Some(task) = self.task.take() {
                    // The slot poll_once just looked up, on this thread.
                    let me = task.poller_slot();
                    Task::finish(task, outcome, me);
                }
                Poll::Ready(())
            }
        }
    }
}

impl Drop for TaskFuture {
    /// Tokio drops an unfinished future when its runtime shuts down.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            let me = task.shared().stats.threads.slot();
            Task::finish(task, ECANCELED, me);
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
            if task.wait_registered() {
                return Poll::Pending;
            }
        }
        Poll::Ready(task.status())
    }
}

/// block_on_future's future: the caller's poll function on a task record
/// of its own (so its wakers are ordinary task wakers).
pub struct RootFuture(TaskRef);

impl RootFuture {
    pub fn new(shared: &Arc<Shared>, state: *mut c_void, poll: PollFn) -> Result<RootFuture, c_int> {
        let m = Make { poll, drop_fn: None, user_state: state, inplace: None, root: true, handle: false };
        Ok(RootFuture(TaskRef::new(shared, m, shared.stats.threads.slot())?))
    }
}

impl Future for RootFuture {
    type Output = c_int;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<c_int> {
        match self.0.poll_once(cx) {
            None => Poll::Pending,
            Some(outcome) => {
                if self.0.complete(outcome).has(MOVED) {
                    let moved = self.0.waiters.lock().unwrap().moved.take();
                    drop(moved);
                }
                Poll::Ready(outcome)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The waker publication race of `poll_once`: a wake or cancel from
    //! another thread while the task's first poll still runs, before any
    //! Tokio waker is stored. The poll waits for that thread, so the race
    //! is taken every time; a lost wake would hang block_on (the watchdog
    //! aborts) or be reported.

    use super::*;
    use crate::runtime::{create, Config};
    use std::sync::atomic::{AtomicBool, AtomicU32};

    static LOST: AtomicBool = AtomicBool::new(false);

    /// The executor's reporter, which the plugin links from C.
    #[no_mangle]
    extern "C" fn zx_lost_wake_log(_poll: PollFn, _root: c_int, _task: *const c_void) {
        LOST.store(true, Ordering::Relaxed);
    }

    struct Probe {
        polls: AtomicU32,
        cancel: bool, // the other thread cancels instead of waking
    }

    struct SendWaker(CWaker);
    // SAFETY: a clone of a task's C waker, which may be woken or dropped
    // from any thread (waker.h).
    unsafe impl Send for SendWaker {}

    /// # Safety
    /// `state` is a live Probe; `w` is the task's waker for the call.
    unsafe extern "C" fn probe_poll(state: *mut c_void, w: *const CWaker) -> c_int {
        // SAFETY: the caller's contract.
        let probe = unsafe { &*(state as *const Probe) };
        if probe.polls.fetch_add(1, Ordering::Relaxed) > 0 {
            return READY;
        }
        let cancel = probe.cancel;
        // SAFETY: `w` is valid for the call; the clone is ours.
        let clone = SendWaker(unsafe { ((*(*w).vtable).clone)((*w).data) });
        let other = std::thread::spawn(move || {
            let clone = clone;
            // SAFETY: the clone's record is the task's, whose handle is
            // the record itself; the clone keeps it alive.
            unsafe {
                if cancel {
                    (TASK_OPS.cancel)(clone.0.data as *mut ZTask);
                    ((*clone.0.vtable).drop)(clone.0.data);
                } else {
                    ((*clone.0.vtable).wake)(clone.0.data);
                }
            }
        });
        other.join().unwrap(); // the wake happens inside this poll
        PENDING
    }

    fn run(single_threaded: bool, cancel: bool) -> (c_int, u32) {
        let cfg = Config { public: ptr::null_mut(), enter: None, leave: None, single_threaded,
                           workers: 2, blocking_threads: 0, timing: None };
        let backend = create(&cfg).unwrap();
        let probe = Probe { polls: AtomicU32::new(0), cancel };
        let args = SpawnArgs { poll: probe_poll, drop: None, state: &probe as *const Probe as *mut c_void,
                               inplace_size: 0, inplace_align: 0, init: None, init_arg: ptr::null_mut() };
        let t = backend.spawn(&args, false).unwrap();
        let rc = backend.block_on(t);
        // SAFETY: the handle spawn returned, released once.
        unsafe { (TASK_OPS.release)(t) };
        backend.destroy();
        (rc, probe.polls.load(Ordering::Relaxed))
    }

    #[test]
    fn a_wake_or_cancel_during_the_first_poll_is_not_lost() {
        let done = Arc::new(AtomicBool::new(false));
        let watch = done.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(30));
            if !watch.load(Ordering::Relaxed) {
                eprintln!("a wake was lost: block_on hangs");
                std::process::abort();
            }
        });
        for single in [true, false] {
            for _ in 0..50 {
                assert_eq!(run(single, false), (0, 2));
                let (rc, polls) = run(single, true);
                assert_eq!(rc, ECANCELED);
                assert_eq!(polls, 1); // the second poll saw CANCEL first
            }
        }
        done.store(true, Ordering::Relaxed);
        assert!(!LOST.load(Ordering::Relaxed));
    }

    /// Byte offset of a field in a record.
    macro_rules! offset {
        ($field:ident) => {{
            let record = std::mem::MaybeUninit::<Task>::uninit();
            let base = record.as_ptr();
            // SAFETY: addr_of! makes the field's address without reading
            // the (uninitialised) record.
            let field = unsafe { std::ptr::addr_of!((*base).$field) };
            field as *const u8 as usize - base as usize
        }};
    }

    #[test]
    fn record_lines() {
        // Line 0: what every poll, wake and completion touch.
        assert!(offset!(state) < 64 && offset!(poller) < 64 && offset!(user_state) + 8 <= 64);
        assert!(offset!(poller_slot) < 64 && offset!(root) < 64 && offset!(outcome) + 4 <= 64);
        // Line 1: the lock and its wakers.
        assert_eq!(offset!(waiters), 64);
        // Line 2: the in-place state, alone.
        assert_eq!(offset!(inline), 128);
        // Line 3: Tokio's waker, the state memory's layout, the drop function.
        assert_eq!(offset!(fixed), 192);
        assert!(offset!(inplace) + 16 <= 256 && offset!(drop_fn) + 8 <= 256);
        assert_eq!(std::mem::size_of::<Task>(), 256);
    }
}
