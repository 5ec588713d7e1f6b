//! fd readiness on Tokio's reactor. epoll registers a descriptor once, so
//! the runtime keeps one `AsyncFd` per fd (`Shared::fds`), registered for
//! both directions, shared by every future waiting on it.
//!
//! Waiting allocates nothing: a wait polls `AsyncFd::poll_read_ready` /
//! `poll_write_ready` (no boxed `readable()` future) with the entry's own
//! waker, and keeps its task's waker in the entry's waiter list, whose
//! buffer is reused from wait to wait. Tokio keeps one waker per direction
//! for `poll_*_ready`, so the entry's waker stands for all its waiters: a
//! reactor event wakes them all and empties the list. A wait checks
//! readiness before it lists itself, so a wait woken by an event finds
//! its readiness and ends without taking the list's lock (it knows it is
//! no longer listed from the list's wake count). Tokio's readiness is edge-triggered and
//! may be stale: readiness a wait finds already set when it starts is
//! confirmed with poll(2) (and cleared if stale, to wait for the next
//! edge); readiness set by an edge after the wait saw the fd not ready is
//! real and taken as is.
//!
//! A socket's registration outlives its waits: registering and
//! deregistering for every wait cost epoll_ctl calls and a hand-off to the
//! reactor's thread. The descriptor is not ours, so each new wait checks
//! with fstat that the number still names the same socket (device and
//! inode; a socket has one open file description, so the same inode means
//! the same registration). If the number was closed and reused, the stale
//! entry is deregistered before the new file is registered (so Tokio's
//! EPOLL_CTL_DEL of the old one cannot remove the new one), and the waits
//! still on it end with ZYNTAX_EBADF. Other kinds of fd (pipes, ttys:
//! several descriptions may share an inode) are deregistered when their
//! last wait ends.
//!
//! An fd watch (`Watch`, backend.h's fd_watch_*) holds an `Entry` of its
//! own on the loader's duplicate descriptor, registered once when it is
//! opened: the loader owns that descriptor and keeps it open until the
//! watch is closed, so a watch wait needs neither fstat nor the registry's
//! lock and lookup. Its waits are the same `Wait`s, with the same poll(2)
//! confirmation of readiness found at the start.

use std::cell::UnsafeCell;
use std::io;
use std::os::raw::c_int;
use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering::{Acquire, Relaxed, Release}};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll, Wake, Waker};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::ffi::*;
use crate::intmap::IntMap;
use crate::runtime::{Counter, Shared};
use crate::waker::{runtime_thread, with_rust_waker};

/// A descriptor the caller owns: never closed here.
pub struct Borrowed(RawFd);

impl AsRawFd for Borrowed {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// The tasks waiting on one fd: (the wait's token, its task's waker).
/// The reactor wakes this list (its `Waker`), which wakes every waiter
/// and empties the list. Kept apart from the `AsyncFd`, because Tokio
/// keeps this waker inside the registration: a waker owning the
/// registration would never drop.
#[derive(Default)]
struct WaitList {
    waiters: Mutex<Waiters>,
    /// How many wakes emptied the list: a wait listed while this was n is
    /// listed while it still is n. Written under the lock; read without
    /// it by a wait, to skip the lock once it has been woken.
    wakes: AtomicUsize,
}

/// The first waiter inline, the others in `more`: a watch mostly has one
/// wait at a time, which then needs no heap buffer, and the reactor's wake
/// reads no second cache line.
#[derive(Default)]
struct Waiters {
    first: Option<(usize, Waker)>,
    more: Vec<(usize, Waker)>,
}

impl Waiters {
    fn find(&mut self, token: usize) -> Option<&mut Waker> {
        self.first.iter_mut().chain(self.more.iter_mut()).find(|(t, _)| *t == token).map(|(_, w)| w)
    }

    fn push(&mut self, token: usize, waker: Waker) {
        match self.first {
            None => self.first = Some((token, waker)),
            Some(_) => self.more.push((token, waker)),
        }
    }

    /// Takes waiter `token` out; the last of `more` fills the inline slot.
    fn remove(&mut self, token: usize) -> Option<Waker> {
        if matches!(&self.first, Some((t, _)) if *t == token) {
            let (_, w) = std::mem::replace(&mut self.first, self.more.pop())?;
            return Some(w);
        }
        let at = self.more.iter().position(|(t, _)| *t == token)?;
        Some(self.more.swap_remove(at).1)
    }
}

impl Wake for WaitList {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    /// Wakes every waiter and empties the list: a woken wait that finds
    /// its readiness ends without the lock; one that does not lists
    /// itself again. The first waiter is woken outside the lock.
    fn wake_by_ref(self: &Arc<Self>) {
        let first = {
            let mut list = self.waiters.lock().unwrap();
            let first = match list.first.take() {
                Some((_, w)) => w,
                None => return, // `more` fills only after `first`
            };
            let next = self.wakes.load(Relaxed).wrapping_add(1);
            self.wakes.store(if next == NOT_LISTED { 0 } else { next }, Release);
            for (_, w) in list.more.drain(..) {
                w.wake();
            }
            first
        };
        first.wake();
    }
}

/// A wait's `listed_at` while it is not listed: a value the wake count
/// skips, so a plain word (not an Option, whose tag made the leaf longer
/// than a cache line on some compilers) says it.
const NOT_LISTED: usize = usize::MAX;

impl WaitList {
    /// Whether a wait listed at `at` is still listed. A yes may be stale
    /// (a wake is emptying the list): the lock decides. A no is final.
    fn listed(&self, at: usize) -> bool {
        at == self.wakes.load(Acquire)
    }

    /// Lists waiter `token`, or refreshes its waker if it is still listed
    /// since `at`; returns the wake count it is listed at.
    fn add(&self, token: usize, waker: &Waker, at: usize) -> usize {
        let mut list = self.waiters.lock().unwrap();
        let now = self.wakes.load(Relaxed);
        if at == now {
            if let Some(w) = list.find(token) {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
                return now;
            }
        }
        list.push(token, waker.clone());
        now
    }

    /// Takes waiter `token`, listed at `at`, out, unless a wake did.
    fn remove(&self, token: usize, at: usize) -> Option<Waker> {
        if !self.listed(at) {
            return None;
        }
        let mut list = self.waiters.lock().unwrap();
        if self.wakes.load(Relaxed) != at {
            return None; // emptied between the check and the lock
        }
        list.remove(token)
    }
}

/// One registered fd: what it was when registered, and whether it stays
/// registered between waits (sockets, watches). `fd` is Err once the
/// registration is gone: the result its waits end with.
#[repr(C)] // the lock word and the list first: what every poll reads
pub struct Entry {
    fd: RwLock<Result<AsyncFd<Borrowed>, c_int>>,
    list: Arc<WaitList>,
    /// `list` as the waker Tokio keeps for both directions: made once,
    /// so a poll neither clones the Arc nor makes Tokio replace its copy.
    list_waker: Waker,
    id: (u64, u64), // st_dev, st_ino
    kept: bool,
}

pub type Registry = Mutex<IntMap<RawFd, Arc<Entry>>>;

impl Entry {
    /// Registers `fd` for both directions. Needs a Tokio runtime context.
    fn new(fd: RawFd, id: (u64, u64), kept: bool) -> Result<Entry, c_int> {
        let interest = Interest::READABLE.add(Interest::WRITABLE);
        // epoll refuses e.g. regular files: such an fd cannot be watched.
        let afd = AsyncFd::with_interest(Borrowed(fd), interest).map_err(|_| EBADF)?;
        let list = Arc::<WaitList>::default();
        let list_waker = Waker::from(list.clone());
        Ok(Entry { fd: RwLock::new(Ok(afd)), list, list_waker, id, kept })
    }

    /// Deregisters now (EPOLL_CTL_DEL before this returns; a poll in
    /// progress finishes first, under the read lock) and wakes the waits
    /// so they end with `reason`.
    fn end(&self, reason: c_int) {
        let old = std::mem::replace(&mut *self.fd.write().unwrap(), Err(reason));
        drop(old);
        self.list.wake_by_ref();
    }
}

/// (st_dev, st_ino, is a socket) of an open fd; ZYNTAX_EBADF if closed.
fn identity(fd: RawFd) -> Result<((u64, u64), bool), c_int> {
    // SAFETY: stat is plain old data; all zeroes is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes only into `st`; a bad fd is an error return.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(EBADF);
    }
    Ok(((st.st_dev as u64, st.st_ino as u64), st.st_mode & libc::S_IFMT == libc::S_IFSOCK))
}

/// Readiness of `fd` right now (level-triggered), as ZYNTAX_READABLE /
/// ZYNTAX_WRITABLE bits, or ZYNTAX_EBADF / ZYNTAX_EIO.
pub fn level(fd: c_int, events: u32) -> Result<u32, c_int> {
    let mut want = 0;
    if events & READABLE != 0 {
        want |= libc::POLLIN;
    }
    if events & WRITABLE != 0 {
        want |= libc::POLLOUT;
    }
    let mut p = libc::pollfd { fd, events: want, revents: 0 };
    // SAFETY: one valid pollfd, no timeout.
    while unsafe { libc::poll(&mut p, 1, 0) } < 0 {
        if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(EIO);
        }
    }
    if p.revents & libc::POLLNVAL != 0 {
        return Err(EBADF);
    }
    let failed = p.revents & (libc::POLLERR | libc::POLLHUP) != 0;
    let mut ready = 0;
    if events & READABLE != 0 && (failed || p.revents & libc::POLLIN != 0) {
        ready |= READABLE;
    }
    if events & WRITABLE != 0 && (failed || p.revents & libc::POLLOUT != 0) {
        ready |= WRITABLE;
    }
    Ok(ready)
}

/// The registration of `fd`, shared or new. Needs the runtime's context.
fn register(registry: &Registry, fd: RawFd) -> Result<Arc<Entry>, c_int> {
    let (id, socket) = identity(fd)?;
    let mut fds = registry.lock().unwrap();
    if let Some(entry) = fds.get(&fd) {
        if entry.id == id {
            return Ok(entry.clone());
        }
        // The number was closed and now names another file.
        // Deregistered before the new file is registered, so Tokio's
        // EPOLL_CTL_DEL of the old one cannot remove the new one.
        let stale = fds.remove(&fd);
        if let Some(e) = stale {
            e.end(EBADF);
        }
    }
    let entry = Arc::new(Entry::new(fd, id, socket)?);
    fds.insert(fd, entry.clone());
    Ok(entry)
}

/// Drops every registration (the runtime is being destroyed).
pub fn clear(registry: &Registry) {
    let all: Vec<Arc<Entry>> = registry.lock().unwrap().drain().map(|(_, e)| e).collect();
    for e in &all {
        // Waits outliving the runtime end with EBADF, not on a dead reactor.
        *e.fd.write().unwrap() = Err(EBADF);
    }
    drop(all); // outside the lock
}

/// An fd watch: its own registration of the loader's duplicate, from
/// fd_watch_open to fd_watch_close, the runtime its waits' leaves come
/// from, and its wait in place (fd_watch_poll). The loader closes every
/// watch before runtime_destroy, and gives its reference back
/// (fd_watch_free) at the handle's destroy, maybe later: a worker may be
/// inside `poll_in_place` while another thread closes the watch. Wait
/// futures on the watch hold references too, so it may outlive the free.
///
/// The wait in place and the registration share one allocation, the wait
/// first: a poll in place reads the lock word and the waiter list right
/// after the wait's own fields, with no pointer to follow between them
/// (with 1,000 watches per round of fd_fanout each such pointer was a
/// cache miss per event).
#[repr(C)]
pub struct Watch {
    /// The wait in place: `events` 0 while none is in flight. Only its
    /// poller and the loader's free touch it, never at once (the loader's
    /// contract); `close` and the wait futures never do.
    in_place: UnsafeCell<Progress>,
    entry: Entry,
    pub shared: Arc<Shared>,
}

// SAFETY: `in_place` is the only field without its own synchronisation,
// and one thread at a time touches it (the loader's contract: calls of
// fd_watch_poll on a watch do not overlap each other or fd_watch_free).
unsafe impl Sync for Watch {}
// SAFETY: as above; every other field is Send.
unsafe impl Send for Watch {}

impl Watch {
    /// Registers `fd` (the loader's, open until `close` returned) from any
    /// thread: `handle` gives the Tokio context registering needs.
    pub fn open(shared: &Arc<Shared>, handle: &tokio::runtime::Handle, fd: RawFd) -> Result<Arc<Watch>, c_int> {
        let _context = handle.enter();
        // No identity: the loader's descriptor names one file throughout.
        let entry = Entry::new(fd, (0, 0), true)?;
        Ok(Arc::new(Watch { in_place: UnsafeCell::new(Progress::new(0)), entry, shared: shared.clone() }))
    }

    /// What a wait of this watch waits on.
    pub fn source(self: &Arc<Self>) -> Source {
        Source::Watch(self.clone())
    }

    /// Polls the wait in place: the ready events (> 0) or an error, ending
    /// it, or 0 while pending (its task's waker listed). A poll for other
    /// events ends the wait in flight and starts one.
    ///
    /// # Safety
    /// Not called while another call of it or `end_in_place` runs on this
    /// watch, or while it is dropped; `waker` is valid for the call.
    pub unsafe fn poll_in_place(&self, events: u32, waker: *const CWaker) -> c_int {
        // SAFETY: one caller at a time (the contract above); `close`
        // never touches the wait in place.
        let wait = unsafe { &mut *self.in_place.get() };
        let token = wait as *const Progress as usize;
        // SAFETY: `waker` is valid for the call (the contract above).
        let slot = match unsafe { runtime_thread(waker, &self.shared) } {
            Some(slot) => slot,
            None => {
                end(wait, &self.entry, token);
                return EFOREIGN;
            }
        };
        if u32::from(wait.events) != events {
            end(wait, &self.entry, token);
            *wait = Progress::new(events);
            self.shared.stats.count_at(slot, Counter::IoWaits);
        }
        // SAFETY: `waker` is valid for the call (the contract above).
        let ready = unsafe { with_rust_waker(waker, |w| wait.poll(&self.entry, token, &mut Context::from_waker(w))) };
        match ready {
            Poll::Pending => 0,
            Poll::Ready(result) => {
                // Out of the list now, so later events do not wake the task.
                end(wait, &self.entry, token);
                result
            }
        }
    }

    /// Ends the wait in place, if one is in flight, waking nobody.
    ///
    /// # Safety
    /// As `poll_in_place`.
    pub unsafe fn end_in_place(&self) {
        // SAFETY: as in poll_in_place.
        let wait = unsafe { &mut *self.in_place.get() };
        end(wait, &self.entry, wait as *const Progress as usize);
    }

    /// Deregisters before returning (the loader closes the descriptor
    /// next); pending and later waits end with `reason`, and the wait in
    /// place's task is woken. The watch stays allocated until it is
    /// dropped (fd_watch_free); the entry is freed with its last wait.
    pub fn close(&self, reason: c_int) {
        self.entry.end(reason);
    }
}

/// Ends a watch's wait in place (`token` is its address), if in flight.
fn end(wait: &mut Progress, entry: &Entry, token: usize) {
    if wait.events != 0 {
        wait.leave(entry, token);
        wait.events = 0;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let token = self.in_place.get() as usize;
        end(self.in_place.get_mut(), &self.entry, token);
    }
}

/// What an fd wait waits on: a descriptor of the caller's (zyntax_fd_wait,
/// through the registry) or a watch's registration.
pub enum Source {
    /// The caller's descriptor, before the wait's first poll registers it.
    Fd(RawFd),
    /// The caller's descriptor `fd` and its registration.
    Registered(Arc<Entry>, RawFd),
    /// A watch, whose registration is kept and never in the registry.
    Watch(Arc<Watch>),
    /// The wait ended: out of the waiter list, the registration let go.
    Done,
}

/// Where one wait stands: a wait future's, beside its source (`Wait`),
/// or the whole of a watch's wait in place (`Watch::poll_in_place`),
/// whose registration is its watch's.
pub struct Progress {
    // Bytes, not words: the leaf's header, its runtime and a wait fit one
    // cache line (leaf.rs, Leaf).
    /// READABLE/WRITABLE bits; 0 for a watch's wait in place not in flight.
    events: u8,
    /// The directions this wait has seen not ready (READABLE/WRITABLE
    /// bits): Tokio's readiness for them since then comes from an edge
    /// after the wait began, so it is real and needs no poll(2).
    seen_idle: u8,
    /// The list's wake count when this wait listed itself (WaitList::add),
    /// NOT_LISTED before.
    listed_at: usize,
    polled: bool,
}

impl Progress {
    fn new(events: u32) -> Progress {
        Progress { events: (events & (READABLE | WRITABLE)) as u8, seen_idle: 0, listed_at: NOT_LISTED, polled: false }
    }

    /// Polls readiness on `entry`; `token` names this wait in its list.
    fn poll(&mut self, entry: &Entry, token: usize, cx: &mut Context<'_>) -> Poll<c_int> {
        self.polled = true;
        let afd = entry.fd.read().unwrap();
        let afd = match &*afd {
            Ok(afd) => afd,
            // Closed and reused meanwhile, the runtime destroyed, or the
            // watch closed (its reason).
            Err(reason) => return Poll::Ready(*reason),
        };
        let mut list_cx = Context::from_waker(&entry.list_waker);
        let events = u32::from(self.events);
        let mut idle = u32::from(self.seen_idle);
        // Woken (a wake emptied the list): readiness first, which a wake
        // mostly brings; a wait that finds it ends without the list's lock.
        // A first poll lists itself first: its fd is mostly not ready, and
        // a check before listing would cost Tokio's registration twice.
        let mut ready = None;
        if self.listed_at != NOT_LISTED && !entry.list.listed(self.listed_at) {
            ready = poll_dirs(afd, events, &mut idle, &mut list_cx);
        }
        if ready.is_none() {
            self.listed_at = entry.list.add(token, cx.waker(), self.listed_at);
            // Checked again once listed: an event between the check above
            // and the listing woke a list this wait was not in yet.
            ready = poll_dirs(afd, events, &mut idle, &mut list_cx);
        }
        self.seen_idle = idle as u8;
        match ready {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }

    /// Out of `entry`'s list, unless a wake took it out.
    fn leave(&mut self, entry: &Entry, token: usize) {
        let waker = entry.list.remove(token, std::mem::replace(&mut self.listed_at, NOT_LISTED));
        drop(waker); // outside the list's lock
    }
}

/// One fd wait future's wait, from its leaf's making to its end.
pub struct Wait {
    src: Source,
    progress: Progress,
}

/// Polls one direction: Some(result) once ready (confirmed), None pending.
fn poll_dir(afd: &AsyncFd<Borrowed>, dir: u32, events: u32, seen_idle: &mut u32,
            cx: &mut Context<'_>) -> Option<c_int> {
    loop {
        let ready = if dir == READABLE { afd.poll_read_ready(cx) } else { afd.poll_write_ready(cx) };
        let mut guard = match ready {
            Poll::Pending => {
                *seen_idle |= dir;
                return None;
            }
            Poll::Ready(Err(_)) => return Some(EIO),
            Poll::Ready(Ok(g)) => g,
        };
        if *seen_idle & dir != 0 {
            return Some(dir as c_int); // a new edge: no need to ask poll(2)
        }
        // Readiness from before this wait: the caller may have used it up.
        match level(afd.get_ref().0, events) {
            Err(e) => return Some(e),
            Ok(0) => {
                guard.clear_ready(); // stale: wait for the next edge
                *seen_idle |= dir;
            }
            Ok(ready) => return Some(ready as c_int),
        }
    }
}

/// Polls the directions in `events`: Some(result) once one is ready.
fn poll_dirs(afd: &AsyncFd<Borrowed>, events: u32, seen_idle: &mut u32, cx: &mut Context<'_>) -> Option<c_int> {
    for dir in [READABLE, WRITABLE] {
        if events & dir != 0 {
            if let Some(r) = poll_dir(afd, dir, events, seen_idle, cx) {
                return Some(r);
            }
        }
    }
    None
}

impl Wait {
    /// `events`: READABLE and/or WRITABLE (the loader checked them).
    pub fn new(src: Source, events: u32) -> Wait {
        Wait { src, progress: Progress::new(events) }
    }

    /// Whether the first poll is still to come.
    pub fn is_new(&self) -> bool {
        !self.progress.polled
    }

    /// `token` names this wait in the entry's list (the leaf's address).
    /// The first poll of a caller's descriptor registers it.
    pub fn poll(&mut self, registry: &Registry, token: usize, cx: &mut Context<'_>) -> Poll<c_int> {
        if let Source::Fd(fd) = self.src {
            match register(registry, fd) {
                Ok(entry) => self.src = Source::Registered(entry, fd),
                Err(e) => {
                    self.progress.polled = true;
                    self.src = Source::Done;
                    return Poll::Ready(e);
                }
            }
        }
        match &self.src {
            Source::Registered(entry, _) => self.progress.poll(entry, token, cx),
            Source::Watch(watch) => self.progress.poll(&watch.entry, token, cx),
            Source::Fd(_) | Source::Done => Poll::Ready(EBADF), // not polled once ended
        }
    }

    /// Ends the wait (it completed, or its future is dropped): out of the
    /// list unless a wake took it out; the last wait on an fd that is not
    /// kept deregisters it. Later calls do nothing.
    pub fn finish(&mut self, token: usize, registry: &Registry) {
        let (entry, fd) = match std::mem::replace(&mut self.src, Source::Done) {
            Source::Registered(entry, fd) => (entry, fd),
            // A watch's entry is never in the table: its close deregisters.
            Source::Watch(watch) => return self.progress.leave(&watch.entry, token),
            Source::Fd(_) | Source::Done => return,
        };
        self.progress.leave(&entry, token);
        if entry.kept {
            // A socket stays registered: no table lookup. The table holds
            // it, or it left as stale and no longer holds the AsyncFd, so
            // dropping this reference never deregisters.
            return;
        }
        let mut fds = registry.lock().unwrap();
        let last = match fds.get(&fd) {
            // This wait and the table hold the only references.
            Some(e) => Arc::ptr_eq(e, &entry) && Arc::strong_count(&entry) == 2,
            None => false,
        };
        let removed = if last { fds.remove(&fd) } else { None };
        // Deregisters if last, under the lock: no one re-registers meanwhile.
        drop(entry);
        drop(removed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    /// A waker counting its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Relaxed);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    fn woken(counts: &[(Arc<Count>, Waker)]) -> Vec<usize> {
        counts.iter().map(|(c, _)| c.0.load(Relaxed)).collect()
    }

    #[test]
    fn a_wake_wakes_every_waiter_once_and_empties_the_list() {
        let list = Arc::new(WaitList::default());
        let counts: Vec<_> = (0..4).map(|_| counter()).collect();
        let mut at = Vec::new();
        for (token, (_, w)) in counts.iter().enumerate() {
            let first = list.add(token, w, NOT_LISTED);
            at.push(list.add(token, w, first)); // refreshed, not listed twice
            assert!(list.listed(first));
        }
        list.wake_by_ref();
        assert_eq!(woken(&counts), [1, 1, 1, 1]);
        // Out of the list: no lock to leave it, and no second wake.
        assert!(at.iter().all(|a| !list.listed(*a)));
        assert!(list.remove(1, at[1]).is_none());
        list.wake_by_ref();
        assert_eq!(woken(&counts), [1, 1, 1, 1]);
        let waiters = list.waiters.lock().unwrap();
        assert!(waiters.first.is_none() && waiters.more.is_empty());
    }

    #[test]
    fn a_removed_waiter_is_not_woken() {
        let list = Arc::new(WaitList::default());
        let counts: Vec<_> = (0..4).map(|_| counter()).collect();
        let at: Vec<_> = counts.iter().enumerate().map(|(t, (_, w))| list.add(t, w, NOT_LISTED)).collect();
        // The inline waiter leaves first: one of `more` takes its place.
        assert!(list.remove(0, at[0]).is_some());
        assert!(list.remove(0, at[0]).is_none());
        assert!(list.remove(2, at[2]).is_some());
        list.wake_by_ref();
        assert_eq!(woken(&counts), [0, 1, 0, 1]);
        // Listed again after the wake, at the new count.
        let again = list.add(3, &counts[3].1, at[3]);
        assert_ne!(again, at[3]);
        assert!(list.remove(3, again).is_some());
    }

    #[test]
    fn a_refreshed_waiter_wakes_its_new_waker() {
        let list = Arc::new(WaitList::default());
        let (old, w_old) = counter();
        let (new, w_new) = counter();
        let at = list.add(7, &w_old, NOT_LISTED);
        list.add(7, &w_new, at);
        list.wake_by_ref();
        assert_eq!((old.0.load(Relaxed), new.0.load(Relaxed)), (0, 1));
    }

    #[test]
    fn the_wake_count_skips_not_listed() {
        let list = Arc::new(WaitList::default());
        list.wakes.store(NOT_LISTED - 1, Relaxed);
        let (count, w) = counter();
        let at = list.add(1, &w, NOT_LISTED);
        assert_eq!(at, NOT_LISTED - 1);
        list.wake_by_ref();
        assert_eq!((list.wakes.load(Relaxed), count.0.load(Relaxed)), (0, 1));
        assert!(!list.listed(at) && !list.listed(NOT_LISTED));
    }
}
