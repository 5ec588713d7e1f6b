//! One task-state word: the flags of a zyntax task record and its
//! reference count in a single `AtomicUsize`, modelled on Tokio's own
//! `runtime/task/state.rs`.
//!
//! The flag names and meanings are those of the C executor's task word
//! (`backends/executor/task_state.h`, the `ZX_*` bits); docs/task-state.md lists
//! both side by side. Tokio schedules the task itself, so the executor's
//! NOTIFIED / RUNNING bits live in Tokio's word, not here;
//! this word adds what bridging needs (`WAKER`, `MOVED`, `KEPT`,
//! `WAITERS`, and `DROP_FN` / `OWN_MEM`, which say at spawn which of the
//! record's cold fields are written) and a wake count for the lost-wake
//! check.
//!
//! Every transition is one read-modify-write on the word, so two
//! transitions never interleave: a poll that publishes its waker learns in
//! the same step whether a cancel came first, and a cancel learns whether
//! a waker is there to wake. That total order of RMWs on one location is
//! why nothing here needs SeqCst.

use std::sync::atomic::{AtomicUsize, Ordering::{AcqRel, Acquire, Relaxed, Release}};

/// Finished; `Task::outcome` is set (never unset).
pub const COMPLETE: usize = 1 << 2; // ZX_COMPLETE
/// Cancellation requested (never unset).
pub const CANCEL: usize = 1 << 3; // ZX_CANCEL
/// The spawner's handle is not released yet.
pub const HANDLE: usize = 1 << 4; // ZX_HANDLE
/// The state was dropped (at most once).
pub const DROPPED: usize = 1 << 6; // ZX_DROPPED
/// A join future exists.
pub const JOINED: usize = 1 << 5; // ZX_JOINED
/// The fixed Tokio waker slot is written (never unset).
pub const WAKER: usize = 1 << 8;
/// A poll came with a waker other than the fixed one: wake the moved one.
pub const MOVED: usize = 1 << 9;
/// Completed with its handle held: in `Shared::kept` (ZX "held").
pub const KEPT: usize = 1 << 10;
/// block_on or a join future stored a waker in `Task::waiters` (the
/// executor's `joiner` slot): completion takes the lock to wake it.
pub const WAITERS: usize = 1 << 11;
/// Set at spawn: the task has a drop function (`Task::drop_fn`).
pub const DROP_FN: usize = 1 << 12;
/// Set at spawn: the state is in memory of its own (`Task::inplace`, which
/// only then is written).
pub const OWN_MEM: usize = 1 << 13;

/// One reference; the count is bits 16-47 of the word.
pub const REF_ONE: usize = 1 << 16;
const REFS: usize = ((1 << 32) - 1) * REF_ONE;
/// One wake; bits 48-63 count wakes modulo 2^16 (the carry out of the
/// word is lost, never into the count below), so a poll can tell whether
/// its task was woken while it ran: the count moved (lost-wake check).
pub const WAKE_ONE: usize = 1 << 48;

/// A snapshot of the word.
#[derive(Clone, Copy)]
pub struct Snapshot(pub usize);

impl Snapshot {
    pub fn has(self, bits: usize) -> bool {
        self.0 & bits != 0
    }

    pub fn refs(self) -> usize {
        (self.0 & REFS) / REF_ONE
    }

    /// The wake count (modulo 2^16).
    pub fn wakes(self) -> usize {
        self.0 / WAKE_ONE
    }

    /// After a PENDING poll that began at `before`: true when something
    /// can still wake the task, as the C executor's zx_state_may_be_woken:
    /// it was woken meanwhile, or a reference exists beyond the Tokio
    /// future's, the handle's and the join future's (a waker clone). Both
    /// are in this one word, so a waker that woke and then dropped its
    /// clone is seen to have woken.
    pub fn may_be_woken(self, before: Snapshot) -> bool {
        if self.wakes() != before.wakes() || self.has(COMPLETE | CANCEL) {
            return true;
        }
        let base = 1 + self.has(HANDLE) as usize + self.has(JOINED) as usize;
        self.refs() > base
    }
}

pub struct State(AtomicUsize);

impl State {
    /// `refs` references and `flags`.
    pub fn new(refs: usize, flags: usize) -> State {
        State(AtomicUsize::new((refs * REF_ONE) | flags))
    }

    /// Acquire: a COMPLETE seen here makes the outcome visible; a WAKER
    /// seen here makes the slot's contents visible.
    pub fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    /// Sets `bits`; returns the word before. AcqRel: publishes what this
    /// thread wrote before (a waker, the outcome) and sees what the other
    /// side published.
    pub fn set(&self, bits: usize) -> Snapshot {
        Snapshot(self.0.fetch_or(bits, AcqRel))
    }

    /// Clears `bits`; returns the word before.
    pub fn clear(&self, bits: usize) -> Snapshot {
        Snapshot(self.0.fetch_and(!bits, AcqRel))
    }

    /// Counts a wake; returns the word before. Acquire: a `WAKER` seen
    /// in the result makes the slot's contents visible. The RMW is what
    /// orders the wake against a poll publishing its waker: either the
    /// wake sees `WAKER`, or the poll's publishing RMW sees the count move.
    pub fn count_wake(&self) -> Snapshot {
        Snapshot(self.0.fetch_add(WAKE_ONE, Acquire))
    }

    /// One more reference on a record no other thread can see yet (a
    /// spawn's handle): a plain load and store, no locked add.
    pub fn add_ref_unshared(&self) {
        self.0.store(self.0.load(Relaxed) + REF_ONE, Relaxed);
    }

    /// Applies `f` to the word in one read-modify-write (a compare-exchange
    /// loop); `f` returns None to leave it. Returns the word before.
    fn update(&self, mut f: impl FnMut(Snapshot) -> Option<usize>) -> Result<Snapshot, Snapshot> {
        self.0.fetch_update(AcqRel, Acquire, |w| f(Snapshot(w))).map(Snapshot).map_err(Snapshot)
    }

    /// The handle's release in one RMW: clears `HANDLE` and, if the task
    /// has not completed, gives back the handle's reference with it (the
    /// Tokio future still holds one until completion, so this is never the
    /// last). If it has completed, the reference stays with the caller,
    /// who drops the state and then the reference. Err: no `HANDLE`
    /// (released twice).
    pub fn release_handle(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            if !s.has(HANDLE) {
                return None;
            }
            let refs = if s.has(COMPLETE) { 0 } else { REF_ONE };
            Some((s.0 & !HANDLE) - refs)
        })
    }

    /// A detached task (no `HANDLE`) completed: sets `COMPLETE | DROPPED`
    /// in one RMW and, if the Tokio future's reference is the last one,
    /// takes it out in the same RMW (then the caller owns the record
    /// alone and frees it without another RMW). Err: `HANDLE` is set.
    ///
    /// No RMW at all when a load already finds the caller's reference the
    /// only one and no `HANDLE`: every other way to the record (a handle,
    /// a waker clone, a join future, the kept table) holds a reference, so
    /// no one can reach it or change the word any more, and the caller
    /// frees the record without reading the bits the RMW would set.
    /// Acquire: every other holder's uses happen before (their drops
    /// released).
    pub fn finish_detached(&self) -> Result<Snapshot, Snapshot> {
        let s = self.load();
        if !s.has(HANDLE) && s.refs() == 1 {
            return Ok(s);
        }
        self.update(|s| {
            if s.has(HANDLE) {
                return None;
            }
            let refs = if s.refs() == 1 { REF_ONE } else { 0 };
            Some((s.0 | COMPLETE | DROPPED) - refs)
        })
    }

    /// A new reference from an existing one: Relaxed, as for `Arc`.
    pub fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Relaxed);
        // A count this high means references leak: stop before it wraps
        // into the wake count.
        if Snapshot(prev).refs() > (REFS / REF_ONE) / 2 {
            std::process::abort();
        }
    }

    /// Drops a reference; true when it was the last one (the caller
    /// frees). Release, then an Acquire fence on the last, as `Arc`: every
    /// use by other holders happens before the free.
    pub fn ref_dec(&self) -> bool {
        let prev = self.0.fetch_sub(REF_ONE, Release);
        if prev & REFS != REF_ONE {
            return false;
        }
        std::sync::atomic::fence(Acquire);
        true
    }
}
