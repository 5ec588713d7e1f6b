//! The threads of one runtime, recognised without a thread-local: Tokio's
//! workers and blocking threads, and the thread driving it (block_on,
//! block_on_future, run).
//!
//! The plugin is dlopen'ed, so a Rust thread-local is a `__tls_get_addr`
//! call (the general-dynamic model; stable Rust cannot pick another), and
//! a wake, a poll and a spawn each asked one (is this thread the
//! runtime's, for `wakes_remote` and leaf futures; which stats shard).
//! Here a thread registers its thread pointer (`me()`: one instruction)
//! in a slot of its runtime, and asks by comparing it with the slots in
//! use: a few loads and compares, no call into the loader or libc.
//!
//! A slot also names a stats shard that only its thread writes, so
//! counting is a plain load and store instead of a locked add
//! (runtime.rs). Slot 0 is the driving thread's (one at a time, which the
//! loader guarantees); the others are taken by Tokio's threads as they
//! start and given back as they stop. A thread that finds no free slot
//! (more than SLOTS - 1 Tokio threads) is not registered: the thread-local
//! answers for it, and it counts on the shared shard.

use std::sync::atomic::{AtomicUsize, Ordering::{AcqRel, Relaxed, Release}};

/// Registered threads at most: the driving thread and 15 of Tokio's.
pub const SLOTS: usize = 16;
const DRIVER: usize = 0;

/// The calling thread's identity, never 0 for a live thread and unique
/// among live threads: on x86-64 its thread pointer, read in one
/// instruction (the TLS ABI makes the first word of the thread control
/// block point to itself), elsewhere `pthread_self()` (a call into libc).
#[inline(always)]
pub fn me() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let tp: usize;
        // SAFETY: reads the word at %fs:0, which the x86-64 TLS ABI
        // requires every thread to have (the TCB's self pointer); no
        // memory is written, no flags or stack are touched.
        unsafe { std::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tp, options(nostack, readonly, preserves_flags)) };
        tp
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: pthread_self has no preconditions and cannot fail.
    unsafe {
        libc::pthread_self() as usize
    }
}

/// Read by every count, poll and wake, written only as threads come and
/// go: on cache lines of its own (a neighbour written at every spawn, such
/// as a pool's free-list head, would make each of those reads a miss),
/// with `used` and the first slots on the first line.
#[repr(C, align(64))]
pub struct Threads {
    /// Slots ever taken (a high-water mark): the lookup reads no further.
    used: AtomicUsize,
    /// The `me()` of each slot's thread; 0 when free.
    ids: [AtomicUsize; SLOTS],
}

impl Threads {
    pub fn new() -> Threads {
        Threads { used: AtomicUsize::new(DRIVER + 1), ids: [(); SLOTS].map(|_| AtomicUsize::new(0)) }
    }

    /// The calling thread's slot, if it is a registered thread of this
    /// runtime. Relaxed: a thread finds its own store; a slot it reads
    /// stale was never its own (ids are unique among live threads, and a
    /// dead thread's slot was cleared before its id could be reused).
    #[inline]
    pub fn slot(&self) -> Option<usize> {
        self.slot_of(me())
    }

    /// `slot()` for a caller that has its `me()` already.
    #[inline]
    pub fn slot_of(&self, me: usize) -> Option<usize> {
        let n = self.used.load(Relaxed);
        self.ids[..n].iter().position(|id| id.load(Relaxed) == me)
    }

    /// `slot_of(me)`, trying `hint` first (the slot of the thread that
    /// polled a task last: most polls are on the same worker as the one
    /// before). Any index is a valid hint; a wrong one costs one compare.
    #[inline]
    pub fn slot_near(&self, me: usize, hint: usize) -> Option<usize> {
        match self.ids.get(hint) {
            Some(id) if id.load(Relaxed) == me => Some(hint),
            _ => self.slot_of(me),
        }
    }

    /// A thread Tokio started: takes the first free slot, if any.
    /// Acquire: the shard's counts of the slot's previous thread (which
    /// gave it back with Release) are seen before this one adds to them.
    pub fn register(&self) {
        let me = me();
        for (i, id) in self.ids.iter().enumerate().skip(DRIVER + 1) {
            if id.compare_exchange(0, me, AcqRel, Relaxed).is_ok() {
                self.used.fetch_max(i + 1, Relaxed);
                return;
            }
        }
    }

    /// The Tokio thread is stopping: gives its slot back.
    pub fn unregister(&self) {
        if let Some(i) = self.slot().filter(|&i| i != DRIVER) {
            self.ids[i].store(0, Release);
        }
    }

    /// The calling thread drives the runtime until the guard drops.
    pub fn drive(&self) -> DriveGuard<'_> {
        DriveGuard { threads: self, prev: self.ids[DRIVER].swap(me(), AcqRel) }
    }
}

pub struct DriveGuard<'a> {
    threads: &'a Threads,
    prev: usize,
}

impl Drop for DriveGuard<'_> {
    fn drop(&mut self) {
        self.threads.ids[DRIVER].store(self.prev, Release);
    }
}

/// The fallback's ids are pthread_t values.
const _: () = assert!(std::mem::size_of::<libc::pthread_t>() <= std::mem::size_of::<usize>());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_and_drives() {
        let t = Threads::new();
        assert_eq!(t.slot(), None);
        {
            let _d = t.drive();
            assert_eq!(t.slot(), Some(DRIVER));
        }
        assert_eq!(t.slot(), None);
        t.register();
        assert_eq!(t.slot(), Some(1));
        std::thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(t.slot(), None);
                t.register();
                assert_eq!(t.slot(), Some(2));
                t.unregister();
            });
        });
        t.unregister();
        assert_eq!(t.slot(), None);
    }
}
