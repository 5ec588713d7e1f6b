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
//! Chunk k holds `FIRST << k` items, allocated the first time the free
//! list is empty; an item is named by its index across the chunks. The
//! free list is a lock-free stack (Treiber) of indices with a 32-bit tag
//! against ABA in the same word. Its links are not in the items: each
//! chunk ends with an array of them, one atomic per item, so a pop that
//! read the link of an item another thread took meanwhile reads only that
//! atomic (and its compare-exchange fails), and freeing or taking an item
//! touches no line of the item but the ones its user touches anyway (an
//! 800-byte leaf's last line, a record's fifth). The memory of a chunk
//! stays mapped while the pool lives, so that read is always of valid
//! memory. An item's index is found from its address (the chunk it lies
//! in: the newest, which holds half the items, is tried first).
//!
//! Each registered thread of the runtime (threads.rs) also has a short
//! free list of its own, used with plain loads and stores: it frees onto
//! it and allocates from it first, so a worker that spawns and completes
//! its own tasks (a chain of spawns, a task completing where it was
//! spawned) takes no compare-exchange. A list that reaches LOCAL_MAX items
//! goes to the shared stack whole, in one push. A list belongs to its
//! registry slot, and passes to the slot's next thread with it (the
//! registry's hand-over orders the two).

use std::alloc::{alloc, dealloc, Layout};
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::{Acquire, Relaxed, Release}};
use std::sync::Mutex;

use crate::threads::SLOTS;

/// Slots in the first chunk; each next chunk has twice as many.
const FIRST: usize = 64;
/// At most this many chunks: FIRST * (2^CHUNKS - 1) slots, about 10^9,
/// whose index + 1 fits the free list's 32 bits.
const CHUNKS: usize = 24;
/// Slots at most on a thread's own free list.
const LOCAL_MAX: u32 = 64;

pub struct Pool<T> {
    /// The free list's top: tag in the high half, top's index + 1 in the
    /// low half (0: empty). The tag changes at every push and pop.
    head: AtomicU64,
    chunks: [AtomicPtr<MaybeUninit<T>>; CHUNKS],
    /// The number of chunks made: written only under `making`, read by
    /// `id_of` (newest chunk first) without it.
    count: AtomicUsize,
    /// Held while making a chunk.
    making: Mutex<()>,
    /// The free list of each registry slot's thread.
    locals: [Local; SLOTS],
}

/// A thread's own free list (ids as on the shared stack, linked through
/// the chunks' links). Atomics only so the pool is Sync: one thread at a
/// time uses a list, with Relaxed loads and stores (plain moves).
#[repr(align(64))] // a line of its own: each is written by its thread
#[derive(Default)]
struct Local {
    head: AtomicU32,
    tail: AtomicU32,
    len: AtomicU32,
}

const ID: u64 = 0xffff_ffff;
const TAG_ONE: u64 = 1 << 32;

/// The index of chunk k's first item.
fn chunk_start(k: usize) -> usize {
    FIRST * ((1 << k) - 1)
}

/// (chunk, offset) of item `index`.
fn locate(index: usize) -> (usize, usize) {
    let q = index / FIRST + 1;
    let k = (usize::BITS - 1 - q.leading_zeros()) as usize;
    (k, index - chunk_start(k))
}

/// A huge page's size on x86-64 and arm64 (with 4 KiB base pages).
const HUGE_PAGE: usize = 2 << 20;

/// Chunk k's layout: its items, then one link per item; and where the
/// links begin (`links_at`). A chunk of two huge pages or more is aligned
/// to one (`grow` asks the kernel to back it with them).
fn chunk_layout<T>(k: usize) -> (Layout, usize) {
    let items = Layout::array::<T>(FIRST << k).expect("chunk size");
    let links = Layout::array::<AtomicU32>(FIRST << k).expect("chunk size");
    let (layout, at) = items.extend(links).expect("chunk size");
    debug_assert_eq!(at, links_at::<T>(k));
    if layout.size() >= 2 * HUGE_PAGE {
        return (layout.align_to(HUGE_PAGE).expect("chunk size"), at);
    }
    (layout, at)
}

/// Asks for huge pages behind a big chunk. A pool that grew that big
/// held tens of thousands of tasks or leaves at once, and hands their
/// slots back in the order they were freed (for timers the order they
/// fired: addresses far apart), so a burst's uses of its slots land on
/// pages all over the chunk; on 2 MiB pages that costs less
/// (docs/benchmarks.md). Advice only: where transparent huge pages are
/// off, nothing changes.
fn advise_huge_pages(chunk: *mut u8, layout: Layout) {
    if layout.align() < HUGE_PAGE {
        return;
    }
    let len = layout.size() & !(HUGE_PAGE - 1);
    // SAFETY: [chunk, chunk + len) is inside the chunk just allocated;
    // madvise only changes how the kernel backs those pages.
    unsafe { libc::madvise(chunk as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
}

/// Where chunk k's links begin: after its items, at a multiple of 4.
#[inline]
fn links_at<T>(k: usize) -> usize {
    ((FIRST << k) * std::mem::size_of::<T>() + 3) & !3
}

impl<T> Pool<T> {
    pub fn new() -> Pool<T> {
        Pool {
            head: AtomicU64::new(0),
            chunks: [(); CHUNKS].map(|_| AtomicPtr::new(ptr::null_mut())),
            count: AtomicUsize::new(0),
            making: Mutex::new(()),
            locals: Default::default(),
        }
    }

    /// The item and the link of `id` (index + 1), which is on the free
    /// list or was.
    fn slot(&self, id: u32) -> (*mut T, &AtomicU32) {
        let (k, off) = locate(id as usize - 1);
        let chunk = self.chunks[k].load(Acquire);
        let links = links_at::<T>(k);
        // SAFETY: an id on the free list is of a made chunk (published
        // before its items were pushed), and `off` is inside it; the
        // links were initialised when the chunk was made and stay valid
        // (atomics, read and written only as such) while the pool lives.
        unsafe { (chunk.add(off) as *mut T, &*((chunk as *mut u8).add(links) as *const AtomicU32).add(off)) }
    }

    /// The id (index + 1) of `item`, an item of this pool: the chunk
    /// it lies in, newest first.
    fn id_of(&self, item: *mut T) -> u32 {
        let (at, size) = (item as usize, std::mem::size_of::<T>().max(1));
        for k in (0..self.count.load(Acquire)).rev() {
            let chunk = self.chunks[k].load(Acquire) as usize;
            if at >= chunk && at < chunk + (FIRST << k) * size {
                return (chunk_start(k) + (at - chunk) / size) as u32 + 1;
            }
        }
        unreachable!("an item not of this pool")
    }

    /// Memory for one item (uninitialised), or None when out of memory.
    /// `me` is the calling thread's registry slot, if it has one.
    pub fn alloc(&self, me: Option<usize>) -> Option<NonNull<T>> {
        if let Some(i) = me {
            let local = &self.locals[i];
            let top = local.head.load(Relaxed);
            if top != 0 {
                // An item on this thread's own list: no one else's.
                let (item, link) = self.slot(top);
                local.head.store(link.load(Relaxed), Relaxed);
                local.len.store(local.len.load(Relaxed) - 1, Relaxed);
                // SAFETY: not null (inside a chunk).
                return Some(unsafe { NonNull::new_unchecked(item) });
            }
        }
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
            // The link is stale if another thread popped the item
            // meanwhile: then the exchange below fails (the tag changed).
            let (item, link) = self.slot(top);
            let next = link.load(Relaxed);
            let new = (head & !ID).wrapping_add(TAG_ONE) | next as u64;
            if self.head.compare_exchange_weak(head, new, Acquire, Relaxed).is_ok() {
                // SAFETY: not null (inside a chunk).
                return Some(unsafe { NonNull::new_unchecked(item) });
            }
        }
    }

    /// Gives back an item's memory (its contents already dropped). `me`
    /// is the calling thread's registry slot, if it has one.
    ///
    /// # Safety
    /// `item` came from this pool's alloc and is no longer used.
    pub unsafe fn free(&self, item: *mut T, me: Option<usize>) {
        let id = self.id_of(item);
        let local = match me {
            Some(i) => &self.locals[i],
            // SAFETY: the item is ours until pushed (the caller's contract).
            None => return unsafe { self.push(id, id) },
        };
        let mut len = local.len.load(Relaxed);
        if len == LOCAL_MAX {
            // Full: the whole list goes to the shared stack.
            // SAFETY: the list's items are linked from head to tail and
            // no one else's (this thread's own list).
            unsafe { self.push(local.head.load(Relaxed), local.tail.load(Relaxed)) };
            len = 0;
        }
        let next = if len == 0 { 0 } else { local.head.load(Relaxed) };
        self.slot(id).1.store(next, Relaxed);
        if len == 0 {
            local.tail.store(id, Relaxed);
        }
        local.head.store(id, Relaxed);
        local.len.store(len + 1, Relaxed);
    }

    /// Pushes the chain of free items from `first` to `last` (ids),
    /// already linked in between.
    ///
    /// # Safety
    /// The chain's items are this pool's and no one else's.
    unsafe fn push(&self, first: u32, last: u32) {
        let link = self.slot(last).1;
        let mut head = self.head.load(Relaxed);
        loop {
            link.store((head & ID) as u32, Relaxed);
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
        let _making = self.making.lock().unwrap();
        if self.head.load(Acquire) & ID != 0 {
            return Grow::Retry;
        }
        let k = self.count.load(Relaxed); // only written under the lock
        if k == CHUNKS {
            return Grow::Full;
        }
        let len = FIRST << k;
        let base = chunk_start(k);
        let (layout, links) = chunk_layout::<T>(k);
        // SAFETY: a non-zero size (FIRST > 0 links).
        let chunk = unsafe { alloc(layout) } as *mut MaybeUninit<T>;
        if chunk.is_null() {
            return Grow::Full;
        }
        advise_huge_pages(chunk as *mut u8, layout);
        let link0 = chunk as *mut u8 as usize + links;
        for off in 0..len {
            let next = if off + 1 < len { (base + off + 2) as u32 } else { 0 };
            // SAFETY: link `off` of the new chunk, written in place before
            // the chunk is published, never read before.
            unsafe { (link0 as *mut AtomicU32).add(off).write(AtomicU32::new(next)) };
        }
        self.chunks[k].store(chunk, Release);
        self.count.store(k + 1, Release);
        if len > 1 {
            // SAFETY: items 1..len of the new chunk, linked above, no one's.
            unsafe { self.push((base + 2) as u32, (base + len) as u32) };
        }
        // SAFETY: not null (checked).
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
        for k in 0..*self.count.get_mut() {
            let chunk = *self.chunks[k].get_mut();
            // SAFETY: made by grow with this layout, freed once; it holds
            // no live item.
            unsafe { dealloc(chunk as *mut u8, chunk_layout::<T>(k).0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distinct(items: &[NonNull<u64>]) -> bool {
        let mut v: Vec<usize> = items.iter().map(|p| p.as_ptr() as usize).collect();
        v.sort_unstable();
        v.dedup();
        v.len() == items.len()
    }

    #[test]
    fn local_lists_spill_to_the_shared_stack() {
        let pool: Pool<u64> = Pool::new();
        let a: Vec<_> = (0..200).map(|_| pool.alloc(Some(1)).unwrap()).collect();
        assert!(distinct(&a));
        for p in &a {
            // SAFETY: allocated above, freed once, never used after.
            unsafe { pool.free(p.as_ptr(), Some(1)) };
        }
        assert!(pool.locals[1].len.load(Relaxed) <= LOCAL_MAX);
        // What the full lists gave to the shared stack serves other
        // threads: 200 more items need no new chunk.
        let made = pool.count.load(Relaxed);
        let b: Vec<_> = (0..200).map(|i| pool.alloc(if i % 2 == 0 { Some(1) } else { None }).unwrap()).collect();
        assert!(distinct(&b));
        assert_eq!(pool.count.load(Relaxed), made);
    }

    #[test]
    fn an_items_id_names_it_in_every_chunk() {
        let pool: Pool<[u8; 24]> = Pool::new();
        let items: Vec<_> = (0..1000).map(|_| pool.alloc(None).unwrap()).collect();
        assert!(pool.count.load(Relaxed) >= 4);
        let mut ids: Vec<u32> = items.iter().map(|p| pool.id_of(p.as_ptr())).collect();
        for (p, id) in items.iter().zip(&ids) {
            assert_eq!(pool.slot(*id).0, p.as_ptr());
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), items.len());
        for p in &items {
            // SAFETY: allocated above, freed once, never used after.
            unsafe { pool.free(p.as_ptr(), None) };
        }
    }

    #[test]
    fn locate_crosses_chunks() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(FIRST - 1), (0, FIRST - 1));
        assert_eq!(locate(FIRST), (1, 0));
        assert_eq!(locate(3 * FIRST - 1), (1, 2 * FIRST - 1));
        assert_eq!(locate(3 * FIRST), (2, 0));
    }
}
