//! The memory of task records and leaf futures: a pool of each per
//! runtime, so that a spawn allocates only Tokio's task cell (as a native
//! `tokio::spawn` does) and a sleep or fd wait nothing in a steady state.
//!
//! A record cannot live inside Tokio's cell: Tokio drops a task's future
//! when it completes and when its runtime shuts down, while a zyntax
//! handle (and any waker clone) keeps the record, at the same address,
//! until it is released, even after `zyntax_runtime_destroy`. So records
//! live in chunks owned by the pool, and a freed record's slot goes back
//! to the pool for the next spawn. The pool is part of
//! `Shared`, which stays alive while any record or leaf is allocated
//! (`Shared::item_made`: one reference for all of them, counted per
//! thread): the chunks are freed only once the last item is, however long
//! a handle outlives its runtime. Leaf futures outlive their runtime the
//! same way.
//!
//! Chunk k holds `FIRST << k` items, allocated the first time no free item
//! is found; an item is named by its index across the chunks. Which items
//! are free is a bitmap, one bit per item, at each chunk's end: a free
//! sets its item's bit, and a thread that needs items takes a whole word
//! of them (up to 64) with one swap, searching from the lowest word that
//! may hold a free item (a hint every free lowers and every search that
//! met only taken words raises). That hands items out lowest address
//! first, whatever order they were freed in - as malloc does with a
//! drained heap, and as a LIFO free list did not: a million timers' leaves
//! came back in firing order, and the next million sleeps touched pages
//! all over the pool. It also reuses the pages a burst already touched
//! before any the pool has never used. The memory of a chunk stays mapped
//! while the pool lives. An item's index is found from its address (the
//! chunk it lies in: the newest, which holds half the items, is tried
//! first).
//!
//! Each registered thread of the runtime (threads.rs) also has a short
//! stack of free items of its own (their addresses), used with plain loads
//! and stores: it frees onto it and allocates from it first, so a worker
//! that spawns and completes its own tasks (a chain of spawns, a task
//! completing where it was spawned) takes no atomic read-modify-write, and
//! an allocation or a free there is a few instructions: no index to work
//! out, and no memory touched but the stack's and the item's. A stack that
//! reaches LOCAL_MAX items goes back to the bitmap whole, one fetch_or per
//! run of its items in one word (only then are their indices worked out);
//! a word taken from the bitmap fills the empty stack. A stack belongs to
//! its registry slot, and passes to the slot's next thread with it (the
//! registry's hand-over orders the two).

use std::alloc::{alloc, dealloc, Layout};
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::{Acquire, Relaxed, Release}};
use std::sync::Mutex;

use crate::threads::SLOTS;

/// Slots in the first chunk; each next chunk has twice as many. A
/// multiple of 64: no bitmap word straddles two chunks.
const FIRST: usize = 64;
/// At most this many chunks: FIRST * (2^CHUNKS - 1) slots, about 10^9.
const CHUNKS: usize = 24;
/// Slots at most on a thread's own stack (a bitmap word's worth; a power
/// of two, so a position is masked into range instead of checked).
const LOCAL_MAX: usize = 64;
/// Items per bitmap word.
const WORD: usize = 64;

pub struct Pool<T> {
    chunks: [AtomicPtr<MaybeUninit<T>>; CHUNKS],
    /// The number of chunks made: written only under `making`, read
    /// without it (Acquire: the chunk and its bitmap are initialised).
    count: AtomicUsize,
    /// Held while making a chunk.
    making: Mutex<()>,
    /// The free stack of each registry slot's thread.
    locals: [Local; SLOTS],
    /// No bitmap word below this one holds a free item, but for frees
    /// racing a search (a hint: a search that finds nothing from here
    /// goes on round to here before the pool grows).
    low: Low,
}

/// `Pool::low`, on a line of its own: searches and frees write it.
#[repr(align(64))]
struct Low(AtomicUsize);

/// A thread's own free items: their addresses, `items[len - 1]` the one
/// handed out next. Atomics only so the pool is Sync: one thread at a time
/// uses a stack, with Relaxed loads and stores (plain moves).
#[repr(align(64))] // lines of its own: each is written by its thread
struct Local {
    len: AtomicUsize,
    items: [AtomicUsize; LOCAL_MAX],
}

impl Local {
    fn new() -> Local {
        Local { len: AtomicUsize::new(0), items: [(); LOCAL_MAX].map(|_| AtomicUsize::new(0)) }
    }

    /// Stack position `n` (< LOCAL_MAX by the callers; the mask keeps a
    /// bounds check out of the fast paths).
    fn at(&self, n: usize) -> &AtomicUsize {
        &self.items[n % LOCAL_MAX]
    }
}

/// A made chunk's items: where they begin, their bytes and the first
/// one's index (an item's index from its address in a few instructions,
/// for a spill's run of lookups in one chunk).
#[derive(Clone, Copy)]
struct Span {
    base: usize,
    bytes: usize,
    first: usize,
}

impl Span {
    /// Holds no address.
    const EMPTY: Span = Span { base: 0, bytes: 0, first: 0 };

    fn holds(&self, at: usize) -> bool {
        at.wrapping_sub(self.base) < self.bytes
    }

    /// The index of the item of type `T` at `at`, an address it holds.
    fn index<T>(&self, at: usize) -> usize {
        self.first + (at - self.base) / std::mem::size_of::<T>().max(1)
    }
}

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

/// Chunk k's layout: its items, then one bitmap bit per item; and where
/// the bitmap begins. A chunk of two huge pages or more is aligned to one
/// (`grow` asks the kernel to back it with them).
fn chunk_layout<T>(k: usize) -> (Layout, usize) {
    let items = Layout::array::<T>(FIRST << k).expect("chunk size");
    let bits = Layout::array::<AtomicU64>((FIRST << k) / WORD).expect("chunk size");
    let (layout, bits_at) = items.extend(bits).expect("chunk size");
    debug_assert_eq!(bits_at, bits_offset::<T>(k));
    if layout.size() >= 2 * HUGE_PAGE {
        return (layout.align_to(HUGE_PAGE).expect("chunk size"), bits_at);
    }
    (layout, bits_at)
}

/// Where chunk k's bitmap begins (chunk_layout's offset, in the few
/// instructions a lookup can afford).
#[inline]
fn bits_offset<T>(k: usize) -> usize {
    ((FIRST << k) * std::mem::size_of::<T>() + 7) & !7
}

/// Asks for huge pages behind a big chunk. A pool that grew that big
/// held tens of thousands of tasks or leaves at once, whose uses land on
/// pages all over the chunk once the burst's order is gone; on 2 MiB pages
/// that costs less (docs/benchmarks.md). Advice only: where transparent
/// huge pages are off, nothing changes.
fn advise_huge_pages(chunk: *mut u8, layout: Layout) {
    if layout.align() < HUGE_PAGE {
        return;
    }
    let len = layout.size() & !(HUGE_PAGE - 1);
    // SAFETY: [chunk, chunk + len) is inside the chunk just allocated;
    // madvise only changes how the kernel backs those pages.
    unsafe { libc::madvise(chunk as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
}

/// The chunk's part at byte offset `at`, as an array of `A`.
///
/// # Safety
/// `chunk` is a made chunk of layout chunk_layout(k), `at` one of its
/// offsets, initialised as `A`s before the chunk was published.
unsafe fn part<A>(chunk: *mut u8, at: usize) -> *const A {
    // SAFETY: inside the chunk (the caller's contract).
    unsafe { chunk.add(at) as *const A }
}

impl<T> Pool<T> {
    pub fn new() -> Pool<T> {
        Pool {
            chunks: [(); CHUNKS].map(|_| AtomicPtr::new(ptr::null_mut())),
            count: AtomicUsize::new(0),
            making: Mutex::new(()),
            locals: [(); SLOTS].map(|_| Local::new()),
            low: Low(AtomicUsize::new(0)),
        }
    }

    /// Item `index`, in a made chunk.
    fn item_at(&self, index: usize) -> *mut T {
        let (k, off) = locate(index);
        let chunk = self.chunks[k].load(Acquire) as *mut T;
        // SAFETY: `index` is of a made chunk (published before any of its
        // items was handed out), `off` inside it.
        unsafe { chunk.add(off) }
    }

    /// Bitmap word `w` (items 64w .. 64w + 63), in a made chunk.
    fn word(&self, w: usize) -> &AtomicU64 {
        let (k, off) = locate(w * WORD);
        let chunk = self.chunks[k].load(Acquire) as *mut u8;
        let bits = bits_offset::<T>(k);
        // SAFETY: as in `item_at`: the bitmap was initialised before the
        // chunk was published and stays valid while the pool lives.
        unsafe { &*part::<AtomicU64>(chunk, bits).add(off / WORD) }
    }

    /// The index of `item`, an item of this pool.
    fn index_of(&self, item: *mut T) -> usize {
        let span = self.span_of(item as usize);
        span.index::<T>(item as usize)
    }

    /// The chunk that holds the item at address `at`, newest first (it
    /// holds half the items).
    fn span_of(&self, at: usize) -> Span {
        let size = std::mem::size_of::<T>().max(1);
        let made = self.count.load(Acquire);
        (0..made)
            .rev()
            .map(|k| Span {
                base: self.chunks[k].load(Acquire) as usize,
                bytes: (FIRST << k) * size,
                first: chunk_start(k),
            })
            .find(|span| span.holds(at))
            .expect("an item not of this pool")
    }

    fn item(&self, index: usize) -> NonNull<T> {
        // SAFETY: not null (inside a chunk).
        unsafe { NonNull::new_unchecked(self.item_at(index)) }
    }

    /// Memory for one item (uninitialised), or None when out of memory.
    /// `me` is the calling thread's registry slot, if it has one.
    #[inline(always)]
    pub fn alloc(&self, me: Option<usize>) -> Option<NonNull<T>> {
        if let Some(i) = me {
            let local = &self.locals[i];
            let len = local.len.load(Relaxed);
            if len != 0 {
                // An item on this thread's own stack: no one else's.
                local.len.store(len - 1, Relaxed);
                let item = local.at(len - 1).load(Relaxed) as *mut T;
                // SAFETY: not null (the address of an item in a chunk).
                return Some(unsafe { NonNull::new_unchecked(item) });
            }
        }
        self.alloc_shared(me)
    }

    /// alloc without an item on the thread's own stack: from the bitmap,
    /// or a new chunk. Out of line, so the inlined fast path stays a few
    /// instructions: a registered thread gets here once per 64
    /// allocations, a thread without a stack every time.
    #[inline(never)]
    fn alloc_shared(&self, me: Option<usize>) -> Option<NonNull<T>> {
        loop {
            let made = self.count.load(Acquire);
            if let Some(index) = self.take(me, made) {
                return Some(self.item(index));
            }
            match self.grow(made) {
                Grow::Made(index) => return Some(self.item(index)),
                Grow::Retry => continue,
                Grow::Full => return None,
            }
        }
    }

    /// Takes a free item off the bitmap of the first `made` chunks,
    /// lowest word first; with a registry slot, takes its whole word and
    /// keeps the rest on the thread's (empty) stack.
    fn take(&self, me: Option<usize>, made: usize) -> Option<usize> {
        let words = chunk_start(made) / WORD;
        if words == 0 {
            return None;
        }
        let low = self.low.0.load(Relaxed);
        let start = low % words;
        for n in 0..words {
            let w = (start + n) % words;
            let word = self.word(w);
            if word.load(Relaxed) == 0 {
                continue;
            }
            // Acquire: the frees that set these bits are done with them.
            let got = match me {
                Some(_) => word.swap(0, Acquire),
                None => take_lowest(word),
            };
            if got == 0 {
                continue;
            }
            if w != start {
                // The words from `start` to here were all taken. Lost to
                // a free that lowered the hint meanwhile: it stays lower.
                let _ = self.low.0.compare_exchange(low, w, Relaxed, Relaxed);
            }
            let first = got.trailing_zeros() as usize;
            if let Some(i) = me {
                self.keep(i, w, got & (got - 1));
            }
            return Some(w * WORD + first);
        }
        None
    }

    /// Puts the items of `bits` in word `w` on thread `i`'s empty stack,
    /// the lowest on top.
    fn keep(&self, i: usize, w: usize, mut bits: u64) {
        let local = &self.locals[i];
        let first = self.item_at(w * WORD) as usize; // the word's items lie in one chunk
        let size = std::mem::size_of::<T>();
        let mut len = 0;
        while bits != 0 {
            let top = 63 - bits.leading_zeros() as usize; // highest first
            bits &= !(1u64 << top);
            local.at(len).store(first + top * size, Relaxed);
            len += 1;
        }
        local.len.store(len, Relaxed);
    }

    /// Gives back an item's memory (its contents already dropped). `me`
    /// is the calling thread's registry slot, if it has one.
    ///
    /// # Safety
    /// `item` came from this pool's alloc and is no longer used.
    #[inline(always)]
    pub unsafe fn free(&self, item: *mut T, me: Option<usize>) {
        let local = match me {
            Some(i) => &self.locals[i],
            None => return self.release_item(item),
        };
        let mut len = local.len.load(Relaxed);
        if len == LOCAL_MAX {
            self.spill(local);
            len = 0;
        }
        local.at(len).store(item as usize, Relaxed);
        local.len.store(len + 1, Relaxed);
    }

    /// Empties a thread's full stack back onto the bitmap: one fetch_or per
    /// run of items in one word (items freed together often share one, and
    /// a chunk: the chunk of the item before is tried first).
    fn spill(&self, local: &Local) {
        let mut span = Span::EMPTY;
        let (mut w, mut mask) = (0, 0u64);
        for n in 0..LOCAL_MAX {
            let at = local.at(n).load(Relaxed);
            if !span.holds(at) {
                span = self.span_of(at);
            }
            let index = span.index::<T>(at);
            if mask != 0 && index / WORD != w {
                self.release(w, mask);
                mask = 0;
            }
            w = index / WORD;
            mask |= 1u64 << (index % WORD);
        }
        self.release(w, mask);
    }

    /// Frees an item straight onto the bitmap (a thread without a stack).
    #[inline(never)]
    fn release_item(&self, item: *mut T) {
        let index = self.index_of(item);
        self.release(index / WORD, 1u64 << (index % WORD));
    }

    /// Sets the bits of `mask` in word `w` (items no one uses).
    fn release(&self, w: usize, mask: u64) {
        // Release: the next taker sees the items' last uses done.
        self.word(w).fetch_or(mask, Release);
        if w < self.low.0.load(Relaxed) {
            self.low.0.fetch_min(w, Relaxed);
        }
    }

    /// Makes the next chunk: its first item for the caller, the rest free
    /// in the bitmap. Retry if another thread made one since the caller
    /// found the first `made` chunks full.
    fn grow(&self, made: usize) -> Grow {
        let _making = self.making.lock().unwrap();
        let k = self.count.load(Relaxed); // only written under the lock
        if k != made {
            return Grow::Retry;
        }
        if k == CHUNKS {
            return Grow::Full;
        }
        let len = FIRST << k;
        let (layout, bits) = chunk_layout::<T>(k);
        // SAFETY: a non-zero size (FIRST > 0 bitmap bits).
        let chunk = unsafe { alloc(layout) };
        if chunk.is_null() {
            return Grow::Full;
        }
        advise_huge_pages(chunk, layout);
        for w in 0..len / WORD {
            let free = if w == 0 { !1u64 } else { !0u64 }; // item 0: the caller's
            // SAFETY: bitmap word `w` of the new chunk, written in place
            // before the chunk is published, never read before.
            unsafe { (part::<AtomicU64>(chunk, bits) as *mut AtomicU64).add(w).write(AtomicU64::new(free)) };
        }
        self.chunks[k].store(chunk as *mut MaybeUninit<T>, Release);
        self.count.store(k + 1, Release);
        Grow::Made(chunk_start(k))
    }
}

/// Clears the lowest set bit of `word`: that bit (as a one-bit word), or
/// 0 if none was set.
fn take_lowest(word: &AtomicU64) -> u64 {
    let mut bits = word.load(Relaxed);
    while bits != 0 {
        let lowest = bits & bits.wrapping_neg();
        // Acquire: as `take`'s swap.
        match word.compare_exchange_weak(bits, bits & !lowest, Acquire, Relaxed) {
            Ok(_) => return lowest,
            Err(now) => bits = now,
        }
    }
    0
}

enum Grow {
    Made(usize),
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
    fn local_stacks_spill_to_the_bitmap() {
        let pool: Pool<u64> = Pool::new();
        let a: Vec<_> = (0..200).map(|_| pool.alloc(Some(1)).unwrap()).collect();
        assert!(distinct(&a));
        for p in &a {
            // SAFETY: allocated above, freed once, never used after.
            unsafe { pool.free(p.as_ptr(), Some(1)) };
        }
        assert!(pool.locals[1].len.load(Relaxed) <= LOCAL_MAX);
        // What the full stacks gave back serves other threads: 200 more
        // items need no new chunk.
        let made = pool.count.load(Relaxed);
        let b: Vec<_> = (0..200).map(|i| pool.alloc(if i % 2 == 0 { Some(1) } else { None }).unwrap()).collect();
        assert!(distinct(&b));
        assert_eq!(pool.count.load(Relaxed), made);
    }

    #[test]
    fn items_come_back_in_address_order_whatever_order_they_were_freed_in() {
        let pool: Pool<u64> = Pool::new();
        let n = 1000;
        let a: Vec<_> = (0..n).map(|_| pool.alloc(Some(3)).unwrap()).collect();
        // Freed in a scattered order (7 is prime to 1000), partly through
        // a thread's stack, the rest without one.
        for j in 0..n {
            let p = a[(j * 7) % n];
            // SAFETY: allocated above, freed once, never used after.
            unsafe { pool.free(p.as_ptr(), if j < n / 2 { Some(3) } else { None }) };
        }
        let spilled = pool.locals[3].len.load(Relaxed);
        let made = pool.count.load(Relaxed);
        let b: Vec<usize> = (0..n - spilled).map(|_| pool.index_of(pool.alloc(Some(4)).unwrap().as_ptr())).collect();
        assert_eq!(pool.count.load(Relaxed), made);
        assert!(b.windows(2).all(|w| w[0] < w[1]), "not in address order: {:?}", &b[..20]);
    }

    #[test]
    fn a_drained_pool_is_reused_from_its_lowest_item() {
        let pool: Pool<u64> = Pool::new();
        let a: Vec<_> = (0..1000).map(|_| pool.alloc(None).unwrap()).collect();
        for p in a.iter().rev() {
            // SAFETY: allocated above, freed once, never used after.
            unsafe { pool.free(p.as_ptr(), None) };
        }
        // Not where the last search stopped: the pages used first.
        let p = pool.alloc(None).unwrap();
        assert_eq!(pool.index_of(p.as_ptr()), 0);
        // SAFETY: as above.
        unsafe { pool.free(p.as_ptr(), None) };
    }

    #[test]
    fn threads_never_share_an_item() {
        let pool: Pool<u64> = Pool::new();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let pool = &pool;
                s.spawn(move || {
                    let me = if t == 3 { None } else { Some(t as usize) };
                    let mut held: Vec<(NonNull<u64>, u64)> = Vec::new();
                    for n in 0..20_000u64 {
                        let p = pool.alloc(me).unwrap();
                        let mark = t << 32 | n;
                        // SAFETY: the item is ours until freed below.
                        unsafe { p.as_ptr().write(mark) };
                        held.push((p, mark));
                        if held.len() > 100 || n % 3 == 0 {
                            let (p, mark) = held.swap_remove((n as usize * 31) % held.len());
                            // SAFETY: ours: another thread's write would show.
                            assert_eq!(unsafe { p.as_ptr().read() }, mark);
                            // SAFETY: allocated above, freed once.
                            unsafe { pool.free(p.as_ptr(), me) };
                        }
                    }
                    for (p, mark) in held {
                        // SAFETY: as above.
                        assert_eq!(unsafe { p.as_ptr().read() }, mark);
                        // SAFETY: as above.
                        unsafe { pool.free(p.as_ptr(), me) };
                    }
                });
            }
        });
    }

    #[test]
    fn an_items_index_names_it_in_every_chunk() {
        let pool: Pool<[u8; 24]> = Pool::new();
        let items: Vec<_> = (0..1000).map(|_| pool.alloc(None).unwrap()).collect();
        assert!(pool.count.load(Relaxed) >= 4);
        let mut indices: Vec<usize> = items.iter().map(|p| pool.index_of(p.as_ptr())).collect();
        for (p, index) in items.iter().zip(&indices) {
            assert_eq!(pool.item_at(*index), p.as_ptr());
        }
        indices.sort_unstable();
        indices.dedup();
        assert_eq!(indices.len(), items.len());
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
