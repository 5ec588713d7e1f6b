//! Scheduler workloads in plain Tokio: dispatch, yield_many, spawn_many,
//! chained_spawn, ping_pong, cross_thread_wake, timers.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::Notify;

use crate::sizes::Sizes;
use crate::{check, measure, Sample};

/// Counts tasks down; the last one wakes the root.
struct Latch {
    remaining: AtomicU64,
    done: Notify,
}

impl Latch {
    fn new(n: u64) -> Arc<Latch> {
        Arc::new(Latch { remaining: AtomicU64::new(n), done: Notify::new() })
    }

    fn count_down(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_one();
        }
    }

    async fn wait(&self) {
        while self.remaining.load(Ordering::Acquire) != 0 {
            self.done.notified().await;
        }
    }
}

/// Runs `root` as a spawned task (like zyntax's root task) to completion.
fn run_root<F: Future<Output = ()> + Send + 'static>(rt: &Runtime, root: F) -> Result<(), String> {
    rt.block_on(async move { tokio::spawn(root).await }).map_err(|e| e.to_string())
}

/// A future that wakes itself until it has been polled `target` times.
struct Spin {
    polls: u64,
    target: u64,
}

impl Future for Spin {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        self.polls += 1;
        if self.polls < self.target {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.polls)
    }
}

pub fn dispatch(rt: &Runtime, s: &Sizes) -> Result<Sample, String> {
    let target = s.dispatch_polls;
    measure(|| {
        let polls = rt.block_on(async move { tokio::spawn(Spin { polls: 0, target }).await }).map_err(|e| e.to_string())?;
        check("polls", polls, target)?;
        Ok(target)
    })
}

pub fn yield_many(rt: &Runtime, s: &Sizes) -> Result<Sample, String> {
    let (tasks, count) = (s.yield_tasks, s.yield_count);
    measure(|| {
        let latch = Latch::new(tasks as u64);
        let l = latch.clone();
        run_root(rt, async move {
            for _ in 0..tasks {
                let l = l.clone();
                tokio::spawn(async move {
                    for _ in 0..count {
                        tokio::task::yield_now().await;
                    }
                    l.count_down();
                });
            }
            l.wait().await;
        })?;
        check("tasks left", latch.remaining.load(Ordering::Acquire), 0)?;
        Ok(tasks as u64 * count as u64)
    })
}

pub fn spawn_many(rt: &Runtime, s: &Sizes) -> Result<Sample, String> {
    let n = s.spawn_tasks as u64;
    measure(|| {
        let latch = Latch::new(n);
        let l = latch.clone();
        run_root(rt, async move {
            for _ in 0..n {
                let l = l.clone();
                tokio::spawn(async move { l.count_down() });
            }
            l.wait().await;
        })?;
        Ok(n)
    })
}

fn chain_link(latch: Arc<Latch>, left: u32) {
    tokio::spawn(async move {
        if left == 0 {
            latch.count_down();
        } else {
            chain_link(latch, left - 1);
        }
    });
}

pub fn chained_spawn(rt: &Runtime, s: &Sizes) -> Result<Sample, String> {
    let n = s.chain_tasks;
    measure(|| {
        let latch = Latch::new(1);
        let l = latch.clone();
        run_root(rt, async move {
            chain_link(l.clone(), n - 1);
            l.wait().await;
        })?;
        Ok(n as u64)
    })
}

pub fn ping_pong(rt: &Runtime, s: &Sizes) -> Result<Sample, String> {
    let (pairs, rounds) = (s.pingpong_pairs, s.pingpong_rounds);
    measure(|| {
        let latch = Latch::new(2 * pairs as u64);
        let l = latch.clone();
        run_root(rt, async move {
            for _ in 0..pairs {
                let to_a = Arc::new(Notify::new());
                let to_b = Arc::new(Notify::new());
                let (a_in, a_out, la) = (to_a.clone(), to_b.clone(), l.clone());
                tokio::spawn(async move {
                    for _ in 0..rounds {
                        a_out.notify_one();
                        a_in.notified().await;
                    }
                    la.count_down();
                });
                let lb = l.clone();
                tokio::spawn(async move {
                    for _ in 0..rounds {
                        to_b.notified().await;
                        to_a.notify_one();
                    }
                    lb.count_down();
                });
            }
            l.wait().await;
        })?;
        Ok(pairs as u64 * rounds as u64)
    })
}

/// The task side of cross_thread_wake: parks until the thread's sequence
/// number moves, acknowledges each new number, done at the last.
struct Parked {
    shared: Arc<Mutex<(u64, Option<Waker>)>>,
    ack: mpsc::SyncSender<()>,
    seen: u64,
    rounds: u64,
}

impl Future for Parked {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        loop {
            let seq = {
                let mut guard = self.shared.lock().unwrap();
                if guard.0 == self.seen {
                    match &guard.1 {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => guard.1 = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
                guard.0
            };
            self.seen = seq;
            let _ = self.ack.send(());
            if seq == self.rounds {
                self.shared.lock().unwrap().1 = None;
                return Poll::Ready(seq);
            }
        }
    }
}

pub fn cross_thread_wake(rt: &Runtime, s: &Sizes) -> Result<Sample, String> {
    let rounds = s.xthread_rounds as u64;
    measure(|| {
        let shared = Arc::new(Mutex::new((0u64, None::<Waker>)));
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        let task = rt.spawn(Parked { shared: shared.clone(), ack: ack_tx, seen: 0, rounds });
        let thread = std::thread::spawn(move || {
            for i in 1..=rounds {
                {
                    let mut guard = shared.lock().unwrap();
                    guard.0 = i;
                    if let Some(w) = &guard.1 {
                        w.wake_by_ref();
                    }
                }
                if ack_rx.recv().is_err() {
                    return;
                }
            }
        });
        let seen = rt.block_on(task).map_err(|e| e.to_string())?;
        thread.join().map_err(|_| "waker thread panicked".to_string())?;
        check("wakes seen", seen, rounds)?;
        Ok(rounds)
    })
}

pub fn timers(rt: &Runtime, s: &Sizes) -> Result<Sample, String> {
    let (n, spread) = (s.timers, s.timer_spread_ms as u64);
    measure(|| {
        let latch = Latch::new(n as u64);
        let l = latch.clone();
        run_root(rt, async move {
            for i in 0..n as u64 {
                let l = l.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(i % spread + 1)).await;
                    l.count_down();
                });
            }
            l.wait().await;
        })?;
        Ok(n as u64)
    })
}
