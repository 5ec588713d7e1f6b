//! Tokio's bounded mpsc, the same work as bench/channels: a producer task
//! and a consumer task on one runtime, and a plain-thread producer
//! (blocking_send) feeding a consumer task. Prints one line per case:
//! `native-mpsc <case> <messages> <ns/msg>`.
//! Usage: native-mpsc [messages] [capacity]
use std::time::Instant;
use tokio::sync::mpsc;

fn tasks(rt: &tokio::runtime::Runtime, n: u64, cap: usize) -> f64 {
    rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel::<u64>(cap);
        let start = Instant::now();
        let producer = tokio::spawn(async move {
            for i in 0..n {
                tx.send(i).await.expect("receiver alive");
            }
        });
        let consumer = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Some(v) = rx.recv().await {
                sum += v;
            }
            sum
        });
        producer.await.expect("producer");
        let sum = consumer.await.expect("consumer");
        let ns = start.elapsed().as_nanos() as f64 / n as f64;
        assert_eq!(sum, n * (n - 1) / 2);
        ns
    })
}

fn thread_producer(rt: &tokio::runtime::Runtime, n: u64, cap: usize) -> f64 {
    let (tx, mut rx) = mpsc::channel::<u64>(cap);
    let start = Instant::now();
    let th = std::thread::spawn(move || {
        for i in 0..n {
            tx.blocking_send(i).expect("receiver alive");
        }
    });
    let sum = rt.block_on(async move {
        let consumer = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Some(v) = rx.recv().await {
                sum += v;
            }
            sum
        });
        consumer.await.expect("consumer")
    });
    th.join().expect("producer thread");
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(sum, n * (n - 1) / 2);
    ns
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let cap: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(128);
    let single = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("runtime");
    for (name, rt) in [("current-thread", &single), ("multi-thread", &multi)] {
        println!("native-mpsc tasks/{} {} {:.1}", name, n, tasks(rt, n, cap));
        println!("native-mpsc thread->task/{} {} {:.1}", name, n, thread_producer(rt, n, cap));
    }
}
