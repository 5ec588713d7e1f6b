//! The memory of task records and leaf futures: a pool of each per
//! runtime, so that a spawn allocates only Tokio's task cell (as a native
//! `tokio::spawn` does) and a sleep or fd wait nothing in a steady state.
//!
//! A record cannot live inside Tokio's cell: Tokio drops a task's future
//! when it completes and when its runtime shuts down, while a zyntax
//! handle (and any waker clone) keeps the record, at the same address,
//! until it is released, even after `zyntax_runtime_destroy`. So records
//! live in chunks owned by the pool, and a freed record's slot goes back
//! on the pool's free list for the next spawn. The pool is part of
//! `Shared`, which stays alive while any record or leaf is allocated
//! (`Shared::item_made`: one reference for all of them, counted per
//! thread): the chunks are freed only once the last item is, however long
//! a handle outlives its runtime. Leaf futures outlive their runtime the
//! same way.
//!
//! Chunk k holds `FIRST << k` slots, allocated the first time the free
//! list is empty; a slot is named by its index across the chunks. The
//! free list is a lock-free stack (Treiber) of indices with a 32-bit tag
//! against ABA in the same word; a slot's `next` is an atomic of its own
//! beside the item, so a pop that read a slot another thread took
//! meanwhile reads only that atomic, and its compare-exchange fails. The
//! memory of a chunk stays mapped while the pool lives, so that read is
//! always of valid memory.

use std::alloc::{alloc, dealloc, Layout};
use std::mem::MaybeUninit;
use std::ptr::{self, addr_of_mut, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering::{Acquire, Relaxed, Release}};
use std::sync::Mutex;

/// Slots in the first chunk; each next chunk has twice as many.
const FIRST: usize = 64;
/// At most this many chunks: FIRST * (2^CHUNKS - 1) slots, about 10^9,
/// whose index + 1 fits the free list's 32 bits.
const CHUNKS: usize = 24;

/// One item's memory. The item comes first: an item's address is its
/// slot's (the handle C sees is a pointer to the record).
#[repr(C)]
struct Slot<T> {
    item: MaybeUninit<T>,
    /// While free: the next free slot's index + 1 (0: none).
    next: AtomicU32,
    /// This slot's index, fixed when its chunk is made.
    index: u32,
}

pub struct Pool<T> {
    /// The free list's top: tag in the high half, top's index + 1 in the
    /// low half (0: empty). The tag changes at every push and pop.
    head: AtomicU64,
    chunks: [AtomicPtr<Slot<T>>; CHUNKS],
    /// The number of chunks made; held while making one.
    made: Mutex<usize>,
}

const ID: u64 = 0xffff_ffff;
const TAG_ONE: u64 = 1 << 32;

/// (chunk, offset) of slot `index`.
fn locate(index: usize) -> (usize, usize) {
    let q = index / FIRST + 1;
    let k = (usize::BITS - 1 - q.leading_zeros()) as usize;
    (k, index - FIRST * ((1 << k) - 1))
}

fn chunk_layout<T>(k: usize) -> Layout {
    Layout::array::<Slot<T>>(FIRST << k).expect("chunk size")
}

impl<T> Pool<T> {
    pub fn new() -> Pool<T> {
        Pool {
            head: AtomicU64::new(0),
            chunks: [(); CHUNKS].map(|_| AtomicPtr::new(ptr::null_mut())),
            made: Mutex::new(0),
        }
    }

    /// The slot of `id` (index + 1), which is on the free list or was.
    fn slot(&self, id: u32) -> *mut Slot<T> {
        let (k, off) = locate(id as usize - 1);
        let chunk = self.chunks[k].load(Acquire);
        // SAFETY: an id on the free list is of a made chunk (published
        // before its slots were pushed), and `off` is inside it.
        unsafe { chunk.add(off) }
    }

    /// Memory for one item (uninitialised), or None when out of memory.
    pub fn alloc(&self) -> Option<NonNull<T>> {
        loop {
            let head = self.head.load(Acquire);
            let top = (head & ID) as u32;
            if top == 0 {
                match self.grow() {
                    Grow::Made(slot) => return Some(slot),
                    Grow::Retry => continue,
                    Grow::Full => return None,
                }
            }
            let slot = self.slot(top);
            // SAFETY: a slot of a made chunk; `next` is atomic, and stale
            // if another thread popped it meanwhile (then the exchange
            // below fails, the tag having changed).
            let next = unsafe { (*slot).next.load(Relaxed) };
            let new = (head & !ID).wrapping_add(TAG_ONE) | next as u64;
            if self.head.compare_exchange_weak(head, new, Acquire, Relaxed).is_ok() {
                // SAFETY: not null (inside a chunk); the item is first.
                return Some(unsafe { NonNull::new_unchecked(slot as *mut T) });
            }
        }
    }

    /// Gives back an item's memory (its contents already dropped).
    ///
    /// # Safety
    /// `item` came from this pool's alloc and is no longer used.
    pub unsafe fn free(&self, item: *mut T) {
        let slot = item as *mut Slot<T>;
        // SAFETY: a slot of this pool (the caller's contract).
        let id = unsafe { (*slot).index } + 1;
        // SAFETY: as above; the slot is ours until pushed.
        unsafe { self.push(id, slot) };
    }

    /// Pushes the chain of free slots from `first` (an id) to `last`,
    /// already linked in between.
    ///
    /// # Safety
    /// The chain's slots are this pool's and no one else's.
    unsafe fn push(&self, first: u32, last: *mut Slot<T>) {
        let mut head = self.head.load(Relaxed);
        loop {
            // SAFETY: `last` is ours (the caller's contract).
            unsafe { (*last).next.store((head & ID) as u32, Relaxed) };
            let new = (head & !ID).wrapping_add(TAG_ONE) | first as u64;
            // Release: a pop that takes the chain sees its links.
            match self.head.compare_exchange_weak(head, new, Release, Relaxed) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Makes the next chunk: its first slot for the caller, the rest onto
    /// the free list. Retry if another thread freed or made slots meanwhile.
    fn grow(&self) -> Grow<T> {
        let mut made = self.made.lock().unwrap();
        if self.head.load(Acquire) & ID != 0 {
            return Grow::Retry;
        }
        let k = *made;
        if k == CHUNKS {
            return Grow::Full;
        }
        let len = FIRST << k;
        let base = FIRST * ((1 << k) - 1);
        // SAFETY: a non-zero size (FIRST > 0, a Slot is not empty).
        let chunk = unsafe { alloc(chunk_layout::<T>(k)) } as *mut Slot<T>;
        if chunk.is_null() {
            return Grow::Full;
        }
        for off in 0..len {
            // SAFETY: `off` is inside the new chunk; the fields are written
            // in place, never read before.
            unsafe {
                let slot = chunk.add(off);
                addr_of_mut!((*slot).index).write((base + off) as u32);
                let next = if off + 1 < len { (base + off + 2) as u32 } else { 0 };
                addr_of_mut!((*slot).next).write(AtomicU32::new(next));
            }
        }
        self.chunks[k].store(chunk, Release);
        *made = k + 1;
        if len > 1 {
            // SAFETY: slots 1..len of the new chunk, linked above, no one's.
            unsafe { self.push((base + 2) as u32, chunk.add(len - 1)) };
        }
        // SAFETY: not null (checked); the item is first.
        Grow::Made(unsafe { NonNull::new_unchecked(chunk as *mut T) })
    }
}

enum Grow<T> {
    Made(NonNull<T>),
    Retry,
    Full,
}

impl<T> Drop for Pool<T> {
    /// Every item is free by now: the items kept the pool's `Shared` alive.
    fn drop(&mut self) {
        let made = *self.made.get_mut().unwrap();
        for k in 0..made {
            let chunk = *self.chunks[k].get_mut();
            // SAFETY: made by grow with this layout, freed once; the slots
            // hold no live item.
            unsafe { dealloc(chunk as *mut u8, chunk_layout::<T>(k)) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_crosses_chunks() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(FIRST - 1), (0, FIRST - 1));
        assert_eq!(locate(FIRST), (1, 0));
        assert_eq!(locate(3 * FIRST - 1), (1, 2 * FIRST - 1));
        assert_eq!(locate(3 * FIRST), (2, 0));
    }
}
