//! fd readiness on Tokio's reactor. epoll registers a descriptor once, so
//! the runtime keeps one `AsyncFd` per fd, shared by every future waiting
//! on it (`Shared::fds`), registered for both directions. Each wait uses
//! Tokio's multi-waiter `readable()` / `writable()` futures, and confirms
//! readiness with poll(2) because Tokio's readiness is edge-triggered and
//! may be stale.
//!
//! A socket's registration outlives its waits: registering and
//! deregistering for every wait cost epoll_ctl calls and a hand-off to the
//! reactor's thread. The descriptor is not ours, so each new wait checks
//! with fstat that the number still names the same socket (device and
//! inode; a socket has one open file description, so the same inode means
//! the same registration); if the number was closed and reused, the stale
//! registration is dropped and the new file registered. Other kinds of fd
//! (pipes, ttys: several descriptions may share an inode) are deregistered
//! when their last wait ends, as before.
//!
//! Misuse - an fd closed while waits are pending and its number reused -
//! is met when a new wait registers the number: the stale waits complete
//! with ZYNTAX_EBADF (through the entry's `stale` Notify), and the stale
//! registration forgets its number so that dropping it later cannot
//! deregister the new file that now has it.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::os::raw::c_int;
use std::os::unix::io::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::Notify;

use crate::ffi::*;

/// A descriptor the caller owns: never closed here. -1 once stale: the
/// AsyncFd's drop then deregisters nothing (epoll_ctl(-1) fails).
pub struct Borrowed(AtomicI32);

impl AsRawFd for Borrowed {
    fn as_raw_fd(&self) -> RawFd {
        self.0.load(Ordering::Acquire)
    }
}

type Registration = Arc<AsyncFd<Borrowed>>;

/// One registered fd: what it was when registered, and whether it stays
/// registered between waits (sockets).
pub struct Entry {
    reg: Registration,
    id: (u64, u64), // st_dev, st_ino
    kept: bool,
    stale: Arc<Notify>, // notified when the number names another file
}

pub type Registry = Mutex<HashMap<RawFd, Entry>>;

/// (st_dev, st_ino, is a socket) of an open fd; ZYNTAX_EBADF if closed.
fn identity(fd: RawFd) -> Result<((u64, u64), bool), c_int> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
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

/// The registration of `fd`, shared or new, and its stale signal. Needs
/// the runtime's context.
fn register(registry: &Registry, fd: RawFd) -> Result<(Registration, Arc<Notify>), c_int> {
    let (id, socket) = identity(fd)?;
    let mut fds = registry.lock().unwrap();
    if let Some(entry) = fds.get(&fd) {
        if entry.id == id {
            return Ok((entry.reg.clone(), entry.stale.clone()));
        }
        // The number was closed and now names another file: the old
        // registration is stale. Its waits end with EBADF.
        let old = fds.remove(&fd).unwrap();
        old.reg.get_ref().0.store(-1, Ordering::Release);
        old.stale.notify_waiters();
    }
    let interest = Interest::READABLE.add(Interest::WRITABLE);
    // epoll refuses e.g. regular files: such an fd cannot be watched.
    let reg = Arc::new(AsyncFd::with_interest(Borrowed(AtomicI32::new(fd)), interest).map_err(|_| EBADF)?);
    let stale = Arc::new(Notify::new());
    fds.insert(fd, Entry { reg: reg.clone(), id, kept: socket, stale: stale.clone() });
    Ok((reg, stale))
}

/// Drops every registration (the runtime is being destroyed).
pub fn clear(registry: &Registry) {
    let all: Vec<Entry> = registry.lock().unwrap().drain().map(|(_, e)| e).collect();
    drop(all); // outside the lock
}

type Waiting = Pin<Box<dyn Future<Output = c_int> + Send>>;

/// Waits for one direction of a shared registration.
fn wait_one(reg: Registration, fd: RawFd, dir: u32, events: u32) -> Waiting {
    Box::pin(async move {
        loop {
            let guard = if dir == READABLE { reg.readable().await } else { reg.writable().await };
            let mut guard = match guard {
                Ok(g) => g,
                Err(_) => return EIO,
            };
            match level(fd, events) {
                Err(e) => return e,
                Ok(0) => guard.clear_ready(), // stale: wait for the next edge
                Ok(ready) => return ready as c_int,
            }
        }
    })
}

/// One fd_wait future's state after its first poll.
pub struct Wait {
    reg: Registration,
    waits: Vec<Waiting>, // one per requested direction
}

impl Wait {
    /// Starts waiting; Err with the future's result if it cannot.
    pub fn start(registry: &Registry, fd: RawFd, events: u32) -> Result<Wait, c_int> {
        let (reg, stale) = register(registry, fd)?;
        let mut waits: Vec<Waiting> = [READABLE, WRITABLE]
            .iter()
            .filter(|&&dir| events & dir != 0)
            .map(|&dir| wait_one(reg.clone(), fd, dir, events))
            .collect();
        waits.push(Box::pin(async move {
            stale.notified().await;
            EBADF
        }));
        Ok(Wait { reg, waits })
    }

    pub fn poll(&mut self, cx: &mut Context<'_>) -> Poll<c_int> {
        for w in self.waits.iter_mut() {
            if let Poll::Ready(r) = w.as_mut().poll(cx) {
                return Poll::Ready(r);
            }
        }
        Poll::Pending
    }

    /// Drops the wait; the last one on an fd that is not kept
    /// deregisters it.
    pub fn finish(self, registry: &Registry) {
        let Wait { reg, waits } = self;
        drop(waits);
        let fd = reg.get_ref().as_raw_fd(); // -1 once stale: not in the table
        let mut fds = registry.lock().unwrap();
        let last = match fds.get(&fd) {
            // This wait and the table hold the only references.
            Some(e) => !e.kept && Arc::ptr_eq(&e.reg, &reg) && Arc::strong_count(&reg) == 2,
            None => false,
        };
        if last {
            fds.remove(&fd);
        }
        drop(reg); // deregisters if last, under the lock: no one re-registers meanwhile
    }
}
