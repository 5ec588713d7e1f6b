//! One Zyntax runtime on one Tokio runtime: creation from the options,
//! block_on / block_on_future / run, stats, and destroy.
//!
//! Threads: with the multi-thread scheduler, task polls run on Tokio's
//! worker threads and block_on only waits; with the current-thread
//! scheduler (`worker_threads == 1` or ZYNTAX_RUNTIME_SINGLE_THREADED)
//! every poll runs on the thread inside block_on / block_on_future / run.
//! block_on_future always polls its own future on the calling thread.

use std::cell::Cell;
use std::os::raw::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::Notify;

use crate::fd;
use crate::intmap::IntMap;
use crate::leaf::Leaf;
use crate::pool::Pool;
use crate::ffi::*;
use crate::task::{self, RootFuture, SpawnArgs, Task, TaskRef, WaitDone};
use crate::threads::{Threads, SLOTS};
use crate::timing::Timing;

/// One counter of `zyntax_stats`.
#[derive(Clone, Copy)]
pub enum Counter {
    Spawned,
    Completed,
    Cancelled,
    Failed,
    Polls,
    Wakes,
    Timers,
    IoWaits,
    BlockingJobs,
    WakesRemote, // of Wakes, those from a thread not of this runtime
    SlowPolls,
    // Not in zyntax_stats: pool items (records, leaves) made and freed by
    // the shard's thread, for the count that keeps `Shared` alive.
    ItemsMade,
    ItemsFreed,
}

const COUNTERS: usize = 13;
/// A shard per registered thread (threads.rs), and one shared by the rest.
const SHARDS: usize = SLOTS + 1;
const SHARED_SHARD: usize = SLOTS;

/// A thread's counters, then its poll-duration histogram (written only
/// while polls are timed: timing.rs).
#[repr(align(64))] // cache lines of its own
#[derive(Default)]
struct Shard([AtomicU64; COUNTERS], [AtomicU64; POLL_BUCKETS]);

/// The counters, sharded by thread: every poll and wake counts, and with
/// one shared counter the workers would pass its cache line back and
/// forth at every poll. A read sums the shards, so a read while tasks run
/// sees each counter at some recent value, as the API says.
///
/// A registered thread of the runtime (`threads`) owns the shard of its
/// slot: nobody else writes it, so it counts with a load and a store, no
/// locked read-modify-write. Other threads (a spawn from outside, a
/// remote wake) share the last shard and add atomically.
pub struct Stats {
    pub threads: Threads,
    shards: [Shard; SHARDS],
}

/// Adds one to `c`, a counter only the calling thread writes if `owned`.
#[inline]
fn bump(c: &AtomicU64, owned: bool) {
    if owned {
        c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    } else {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

impl Stats {
    fn new() -> Stats {
        Stats { threads: Threads::new(), shards: Default::default() }
    }

    /// Counts `c` for the calling thread.
    #[inline]
    pub fn count(&self, c: Counter) {
        self.count_at(self.threads.slot(), c);
    }

    /// Counts `c` for the thread of `slot` (the caller's, from
    /// `threads.slot()`: a caller counting twice looks it up once).
    #[inline]
    pub fn count_at(&self, slot: Option<usize>, c: Counter) {
        let shard = &self.shards[slot.unwrap_or(SHARED_SHARD)];
        bump(&shard.0[c as usize], slot.is_some());
    }

    /// Counts one timed poll in histogram bucket `bucket`.
    pub fn count_poll(&self, bucket: usize) {
        let slot = self.threads.slot();
        bump(&self.shards[slot.unwrap_or(SHARED_SHARD)].1[bucket], slot.is_some());
    }

    /// Items made minus freed by registered threads (wrapping).
    fn items_registered(&self) -> usize {
        let n = |c: Counter| self.shards[..SLOTS].iter().fold(0usize, |n, s| {
            n.wrapping_add(s.0[c as usize].load(Ordering::Relaxed) as usize)
        });
        n(Counter::ItemsMade).wrapping_sub(n(Counter::ItemsFreed))
    }

    pub fn get(&self, c: Counter) -> u64 {
        self.shards.iter().fold(0u64, |n, s| n.wrapping_add(s.0[c as usize].load(Ordering::Relaxed)))
    }

    fn histogram(&self) -> [u64; POLL_BUCKETS] {
        let mut h = [0u64; POLL_BUCKETS];
        for s in &self.shards {
            for (sum, n) in h.iter_mut().zip(s.1.iter()) {
                *sum = sum.wrapping_add(n.load(Ordering::Relaxed));
            }
        }
        h
    }
}

/// A value on a cache line of its own (read on every poll, or written by
/// every spawn), so writes to its neighbours do not evict it.
#[repr(align(64))]
pub struct Padded<T>(pub T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// What tasks, wakers and futures share; outlives the Tokio runtime for
/// as long as any of them does.
pub struct Shared {
    pub public: SendPtr, // the zyntax_runtime * tasks are owned by
    pub closed: Padded<AtomicBool>,
    pub live: Padded<AtomicUsize>, // unfinished spawned tasks
    pub peak_live: AtomicUsize,    // the most `live` has been
    /// Some while polls are timed (ZYNTAX_STATS, ZYNTAX_SLOW_POLL_US).
    /// Read by every poll and never written: a line no write evicts.
    pub timing: Padded<Option<Timing>>,
    pub idle: Notify,      // live reached 0
    /// Completed tasks whose state is kept for a handle not yet released:
    /// destroy drops those states (Tokio drops the unfinished ones).
    pub kept: Mutex<IntMap<usize, TaskRef>>,
    /// One reactor registration per watched fd (fd.rs).
    pub fds: fd::Registry,
    /// The memory of this runtime's task records and leaf futures (pool.rs).
    /// Each on lines of its own: their free-list heads are written by
    /// every spawn and free, from every worker.
    pub pool: Padded<Pool<Task>>,
    pub leaves: Padded<Pool<Leaf>>,
    /// Pool items made minus freed by threads outside the registry
    /// (wrapping), plus DYING once destroy added the registered threads'
    /// count: see `item_made`.
    outside: Padded<AtomicUsize>,
    pub stats: Stats,
}

/// Added to `Shared::outside` by destroy: from then on the word is DYING
/// plus the number of pool items not yet freed.
const DYING: usize = 1 << 62;

/// The backend runtime (`zyntax_backend_runtime *` in C).
pub struct Backend {
    pub shared: Arc<Shared>,
    pub handle: Handle,
    runtime: Mutex<Option<Runtime>>,
    /// The one reference to `Shared` that all pool items share
    /// (`Arc::into_raw`): given up by destroy when no item is left, else
    /// by the item freed last (`Shared::item_freed`).
    items_ref: ItemsRef,
}

struct ItemsRef(*const Shared);
// SAFETY: a counted reference to a Shared, which is Send + Sync.
unsafe impl Send for ItemsRef {}
// SAFETY: as for Send.
unsafe impl Sync for ItemsRef {}

thread_local! {
    /// The runtime whose thread this is (a worker) or that this thread is
    /// driving (block_on / run): leaf futures refuse other runtimes' polls.
    static CURRENT: Cell<*const Shared> = const { Cell::new(ptr::null()) };
}

/// The thread-local's answer: threads beyond the registry's slots.
#[cold]
pub fn is_current_tls(shared: &Shared) -> bool {
    CURRENT.with(|c| ptr::eq(c.get(), shared))
}

struct CurrentGuard(*const Shared);

impl CurrentGuard {
    fn enter(shared: &Shared) -> CurrentGuard {
        CurrentGuard(CURRENT.with(|c| c.replace(shared)))
    }
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

pub struct Config {
    pub public: *mut c_void,
    pub enter: Option<EnterThreadFn>,
    pub leave: Option<LeaveThreadFn>,
    pub single_threaded: bool,
    pub workers: u32, // 0: Tokio's default (one per CPU)
    pub blocking_threads: u32, // 0: Tokio's default
    pub timing: Option<Timing>,
}

fn builder(cfg: &Config, shared: &Arc<Shared>) -> Builder {
    let mut b = if cfg.single_threaded {
        Builder::new_current_thread()
    } else {
        let mut b = Builder::new_multi_thread();
        if cfg.workers > 0 {
            b.worker_threads(cfg.workers as usize);
        }
        b
    };
    if cfg.blocking_threads > 0 {
        b.max_blocking_threads(cfg.blocking_threads as usize);
    }
    // Every thread Tokio starts (workers and blocking threads) belongs to
    // this runtime: zyntax_runtime_current() names it, block_on is refused.
    let (public, enter, leave) = (SendPtr(cfg.public), cfg.enter, cfg.leave);
    let me = SendPtr(Arc::as_ptr(shared) as *mut c_void);
    // Weak: the closures live in Tokio's handle, which a stored Tokio
    // waker keeps, and Shared must not keep itself alive through them.
    let (on_start, on_stop) = (Arc::downgrade(shared), Arc::downgrade(shared));
    b.enable_all()
        .thread_name("zyntax-tokio")
        .on_thread_start(move || {
            let (public, me) = (public, me);
            CURRENT.with(|c| c.set(me.0 as *const Shared));
            if let Some(shared) = on_start.upgrade() {
                shared.stats.threads.register();
            }
            if let Some(enter) = enter {
                // SAFETY: the loader's enter_thread, for a thread of this
                // runtime (host contract in backend.h).
                unsafe { enter(public.0) };
            }
        })
        .on_thread_stop(move || {
            CURRENT.with(|c| c.set(ptr::null()));
            if let Some(shared) = on_stop.upgrade() {
                shared.stats.threads.unregister();
            }
            if let Some(leave) = leave {
                // SAFETY: the loader's leave_thread, on a thread that entered.
                unsafe { leave() };
            }
        });
    b
}

/// What keeps `Shared` (and so the pools' memory) alive for the records
/// and leaves in its pools, which may outlive destroy (a handle, a waker
/// clone, a future not dropped yet), without a locked add on a shared
/// counter per item. A registered thread counts the items it makes and
/// frees in its own stats shard, with plain stores; other threads count
/// them in `outside` with atomic adds. Destroy runs after every
/// registered thread stopped (Tokio's threads are joined; nobody drives),
/// so their counts are final: it adds them and DYING to `outside` in one
/// RMW. From then on `outside` is DYING plus the items left, and the RMW
/// that takes it to DYING (destroy's, or the last free's) gives up the
/// items' reference. All RMWs on `outside` are totally ordered, so exactly
/// one of them sees that.
impl Shared {
    /// A pool item was made (before it is shared) by the thread of
    /// registry slot `me` (`threads.slot()`).
    pub fn item_made(&self, me: Option<usize>) {
        match me {
            Some(i) => self.stats.count_at(Some(i), Counter::ItemsMade),
            None => {
                self.outside.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A pool item was freed, its slot already back in the pool, by the
    /// thread of registry slot `me`.
    ///
    /// # Safety
    /// `this` is the `Shared` of the freed item; the items' reference
    /// keeps it alive until this call, which may give that reference up
    /// (the caller uses nothing of it after).
    pub unsafe fn item_freed(this: *const Shared, me: Option<usize>) {
        // SAFETY: alive: the freed item was still counted (the contract).
        let shared = unsafe { &*this };
        match me {
            Some(i) => shared.stats.count_at(Some(i), Counter::ItemsFreed),
            // AcqRel: every use of the items happens before the last
            // free's drop (each free releases, the last one acquires).
            None => {
                if shared.outside.fetch_sub(1, Ordering::AcqRel) == DYING + 1 {
                    // SAFETY: the items' reference, from Arc::into_raw
                    // (Backend::items_ref); the last item is gone.
                    drop(unsafe { Arc::from_raw(this) });
                }
            }
        }
    }

    /// A spawn made `live` reach `n`: the high-water mark follows (a load
    /// per spawn; a write only at a new peak).
    pub fn note_live(&self, n: usize) {
        if n > self.peak_live.load(Ordering::Relaxed) {
            self.peak_live.fetch_max(n, Ordering::Relaxed);
        }
    }
}

pub fn create(cfg: &Config) -> Result<Box<Backend>, String> {
    let shared = Arc::new(Shared {
        public: SendPtr(cfg.public),
        closed: Padded(AtomicBool::new(false)),
        live: Padded(AtomicUsize::new(0)),
        peak_live: AtomicUsize::new(0),
        timing: Padded(cfg.timing),
        idle: Notify::new(),
        kept: Mutex::new(IntMap::default()),
        fds: Mutex::new(IntMap::default()),
        pool: Padded(Pool::new()),
        leaves: Padded(Pool::new()),
        outside: Padded(AtomicUsize::new(0)),
        stats: Stats::new(),
    });
    let runtime = builder(cfg, &shared).build().map_err(|e| format!("tokio: {}", e))?;
    let items_ref = ItemsRef(Arc::into_raw(shared.clone()));
    Ok(Box::new(Backend { handle: runtime.handle().clone(), shared, runtime: Mutex::new(Some(runtime)), items_ref }))
}

impl Backend {
    /// Runs `fut` to completion on the calling thread's Tokio block_on.
    fn drive<F: std::future::Future>(&self, fut: F) -> Result<F::Output, c_int> {
        let _current = CurrentGuard::enter(&self.shared);
        let _driving = self.shared.stats.threads.drive();
        let runtime = self.runtime.lock().unwrap();
        match runtime.as_ref() {
            Some(rt) => Ok(rt.block_on(fut)),
            None => Err(ECLOSED),
        }
    }

    pub fn spawn(&self, args: &SpawnArgs, detached: bool) -> Result<*mut ZTask, c_int> {
        task::spawn(&self.shared, &self.handle, args, detached)
    }

    /// `t` is a live handle of this runtime (the loader checked it; the
    /// caller holds it for the call).
    pub fn block_on(&self, t: *mut ZTask) -> c_int {
        // SAFETY: a live record for the call, borrowed only inside it.
        let task = unsafe { &*(t as *const Task) };
        self.drive(WaitDone(task)).unwrap_or_else(|e| e)
    }

    pub fn block_on_future(&self, state: *mut c_void, poll: PollFn) -> c_int {
        match RootFuture::new(&self.shared, state, poll) {
            Ok(root) => self.drive(root).unwrap_or_else(|e| e),
            Err(e) => e,
        }
    }

    pub fn run(&self) -> c_int {
        let shared = &self.shared;
        let until_idle = async {
            // notify_one keeps a permit: a task ending between the check
            // and the wait is not missed.
            while shared.live.load(Ordering::Acquire) != 0 {
                shared.idle.notified().await;
            }
        };
        self.drive(until_idle).err().unwrap_or(0)
    }

    /// The counters, laid out as C's zyntax_stats (`size` is the caller's).
    pub fn stats(&self) -> crate::abi::Stats {
        let s = &self.shared.stats;
        crate::abi::Stats {
            size: std::mem::size_of::<crate::abi::Stats>(),
            tasks_spawned: s.get(Counter::Spawned),
            tasks_completed: s.get(Counter::Completed),
            tasks_cancelled: s.get(Counter::Cancelled),
            tasks_failed: s.get(Counter::Failed),
            polls: s.get(Counter::Polls),
            wakes: s.get(Counter::Wakes),
            timers: s.get(Counter::Timers),
            io_waits: s.get(Counter::IoWaits),
            blocking_jobs: s.get(Counter::BlockingJobs),
            wakes_remote: s.get(Counter::WakesRemote),
            peak_live_tasks: self.shared.peak_live.load(Ordering::Relaxed) as u64,
            slow_polls: s.get(Counter::SlowPolls),
            sim_seed: 0, // not a simulation
            sim_trace: 0,
            poll_ns_log2: s.histogram(),
        }
    }

    /// Cancels every unfinished task (Tokio drops their futures, which
    /// drops each state once), waits for running blocking jobs, then drops
    /// the states that finished tasks kept for their handles. Takes the
    /// Box the C handle owned, freed here (not moved out of it).
    #[allow(clippy::boxed_local)]
    pub fn destroy(self: Box<Self>) {
        self.shared.closed.store(true, Ordering::Release);
        let runtime = self.runtime.lock().unwrap().take();
        if Handle::try_current().is_ok() {
            // Tokio refuses to drop a runtime inside another one's context
            // (a poll function of another Tokio runtime destroying this).
            let _ = std::thread::spawn(move || drop(runtime)).join();
        } else {
            drop(runtime);
        }
        fd::clear(&self.shared.fds);
        let left: Vec<TaskRef> = self.shared.kept.lock().unwrap().drain().map(|(_, t)| t).collect();
        for task in left {
            task.drop_state();
        }
        // Tokio's threads are joined and nobody drives: the registered
        // threads' item counts are final (see item_made).
        let registered = self.shared.stats.items_registered();
        let prev = self.shared.outside.fetch_add(DYING.wrapping_add(registered), Ordering::AcqRel);
        if prev.wrapping_add(registered) == 0 {
            // SAFETY: the items' reference (Arc::into_raw in create);
            // no item is left to give it up.
            drop(unsafe { Arc::from_raw(self.items_ref.0) });
        }
    }
}
