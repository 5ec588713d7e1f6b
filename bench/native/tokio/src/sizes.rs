//! The workload sizes: a mirror of `full_sizes` / `quick_sizes` in
//! bench/bench_common.c (the C table is the reference).

pub struct Sizes {
    pub dispatch_polls: u64,
    pub yield_tasks: u32,
    pub yield_count: u32,
    pub spawn_tasks: u32,
    pub chain_tasks: u32,
    pub pingpong_pairs: u32,
    pub pingpong_rounds: u32,
    pub xthread_rounds: u32,
    pub timers: u32,
    pub timer_spread_ms: u32,
    pub echo_conns: u32,
    pub echo_requests: u32,
    pub echo_bytes: u32,
    pub fanout_sockets: u32,
    pub fanout_rounds: u32,
}

pub const FULL: Sizes = Sizes {
    dispatch_polls: 2_000_000,
    yield_tasks: 200,
    yield_count: 1000,
    spawn_tasks: 10_000,
    chain_tasks: 100_000,
    pingpong_pairs: 100,
    pingpong_rounds: 1000,
    xthread_rounds: 100_000,
    timers: 1_000_000,
    timer_spread_ms: 1000,
    echo_conns: 32,
    echo_requests: 2000,
    echo_bytes: 64,
    fanout_sockets: 1000,
    fanout_rounds: 100,
};

pub const QUICK: Sizes = Sizes {
    dispatch_polls: 100_000,
    yield_tasks: 20,
    yield_count: 100,
    spawn_tasks: 1000,
    chain_tasks: 100,
    pingpong_pairs: 10,
    pingpong_rounds: 100,
    xthread_rounds: 2000,
    timers: 20_000,
    timer_spread_ms: 20,
    echo_conns: 4,
    echo_requests: 100,
    echo_bytes: 64,
    fanout_sockets: 64,
    fanout_rounds: 10,
};
