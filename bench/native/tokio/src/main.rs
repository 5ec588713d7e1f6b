//! zyntax-bench's native Tokio baseline. `zyntax-bench-tokio WORKLOAD REPS
//! QUICK`: one warm-up repetition, then REPS measured ones, one `sample`
//! line each (protocol: bench/bench_common.h). The runtime is configured as
//! the zyntax Tokio backend configures its own: ZYNTAX_WORKER_THREADS
//! workers (unset or 0: one per CPU), 1 = the current-thread scheduler.

mod net;
mod sizes;
mod tasks;

use std::io::Write;
use std::process::exit;
use std::time::Instant;

use sizes::Sizes;

/// One measured repetition.
#[derive(Default)]
pub struct Sample {
    pub ops: u64,
    pub wall_ns: u64,
    pub cpu_ns: u64,
    pub p50_ns: u64,
    pub p99_ns: u64,
}

/// Process CPU time (all threads), ns.
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Times `work` (which returns the operation count, or an error).
pub fn measure(work: impl FnOnce() -> Result<u64, String>) -> Result<Sample, String> {
    let cpu = cpu_ns();
    let start = Instant::now();
    let ops = work()?;
    Ok(Sample { ops, wall_ns: start.elapsed().as_nanos() as u64, cpu_ns: cpu_ns() - cpu, ..Sample::default() })
}

pub fn check(what: &str, got: u64, want: u64) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{}: {} instead of {}", what, got, want))
    }
}

type Workload = fn(&tokio::runtime::Runtime, &Sizes) -> Result<Sample, String>;

const WORKLOADS: &[(&str, Workload)] = &[
    ("dispatch", tasks::dispatch),
    ("yield_many", tasks::yield_many),
    ("spawn_many", tasks::spawn_many),
    ("chained_spawn", tasks::chained_spawn),
    ("ping_pong", tasks::ping_pong),
    ("cross_thread_wake", tasks::cross_thread_wake),
    ("timers", tasks::timers),
    ("tcp_echo", net::tcp_echo),
    ("fd_fanout", net::fd_fanout),
];

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let workers = std::env::var("ZYNTAX_WORKER_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    if workers > 1 {
        builder.worker_threads(workers);
    }
    builder.enable_all().build()
}

fn raise_fd_limit() {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: zyntax-bench-tokio WORKLOAD REPS QUICK");
        exit(2)
    };
    if args.len() != 4 {
        usage();
    }
    let work = WORKLOADS.iter().find(|(name, _)| *name == args[1]).map(|w| w.1).unwrap_or_else(|| usage());
    let reps: u32 = args[2].parse().ok().filter(|r| (1..=1000).contains(r)).unwrap_or_else(|| usage());
    let sizes = match args[3].as_str() {
        "0" => &sizes::FULL,
        "1" => &sizes::QUICK,
        _ => usage(),
    };
    raise_fd_limit();
    let rt = runtime().unwrap_or_else(|e| {
        eprintln!("zyntax-bench-tokio: runtime: {}", e);
        exit(1)
    });
    let out = std::io::stdout();
    for rep in 0..=reps {
        let s = work(&rt, sizes).unwrap_or_else(|e| {
            eprintln!("zyntax-bench-tokio: {}: {}", args[1], e);
            exit(1)
        });
        if rep > 0 {
            let mut out = out.lock();
            let _ = writeln!(out, "sample workload={} rep={} ops={} wall_ns={} cpu_ns={} p50_ns={} p99_ns={}",
                             args[1], rep, s.ops, s.wall_ns, s.cpu_ns, s.p50_ns, s.p99_ns);
            let _ = out.flush();
        }
    }
}
