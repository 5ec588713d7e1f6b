//! One task-state word: the flags of a zyntax task record and its
//! reference count in a single `AtomicUsize`, modelled on Tokio's own
//! `runtime/task/state.rs`.
//!
//! The flag names and meanings are those of the C executor's task word
//! (`backends/executor/task_state.h`, the `ZX_*` bits); docs/task-state.md lists
//! both side by side. Tokio schedules the task itself, so the executor's
//! NOTIFIED / RUNNING bits live in Tokio's word, not here;
//! this word adds what bridging needs (`WAKER`, `MOVED`, `KEPT`).
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

const FLAGS: usize = (1 << 16) - 1;
/// One reference; the count is the word's bits above the flags.
pub const REF_ONE: usize = 1 << 16;

/// A snapshot of the word.
#[derive(Clone, Copy)]
pub struct Snapshot(pub usize);

impl Snapshot {
    pub fn has(self, bits: usize) -> bool {
        self.0 & bits != 0
    }
}

pub struct State(AtomicUsize);

impl State {
    /// `refs` references and `flags`.
    pub fn new(refs: usize, flags: usize) -> State {
        State(AtomicUsize::new(refs * REF_ONE | flags))
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

    /// A new reference from an existing one: Relaxed, as for `Arc`.
    pub fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Relaxed);
        // A count this high means references leak: stop before it wraps.
        if prev > usize::MAX / 2 {
            std::process::abort();
        }
    }

    /// Drops a reference; true when it was the last one (the caller
    /// frees). Release, then an Acquire fence on the last, as `Arc`: every
    /// use by other holders happens before the free.
    pub fn ref_dec(&self) -> bool {
        let prev = self.0.fetch_sub(REF_ONE, Release);
        if prev & !FLAGS != REF_ONE {
            return false;
        }
        std::sync::atomic::fence(Acquire);
        true
    }
}
