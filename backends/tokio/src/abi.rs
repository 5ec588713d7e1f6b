// The values and the one struct that cross the C boundary by value: the
// Rust side of them, written once. `build.rs` includes this file too and
// writes them into a C header (`zxt_abi.h`), and `entry.c` checks each
// one against the public headers with `_Static_assert`, so a change on
// either side fails the build instead of mislabelling a code or counter.
// Plain items only (no crate paths, no inner attributes or docs):
// build.rs compiles it standalone with include!.

use std::os::raw::c_int;

macro_rules! codes {
    ($($name:ident = $value:expr;)*) => {
        $(pub const $name: c_int = $value;)*
        /// (name without the ZYNTAX_ prefix, value), for build.rs.
        pub const CODES: &[(&str, c_int)] = &[$((stringify!($name), $name)),*];
    };
}

codes! {
    // api/zyntax/error.h (ZYNTAX_E*)
    EINVAL = -1;
    ENOMEM = -2;
    EBUSY = -3;
    ECANCELED = -5;
    ECLOSED = -6;
    EFOREIGN = -7;
    EIO = -12;
    EFINISHED = -13;
    EBADPOLL = -15;
    EBADF = -16;
    EBACKEND = -18;
    // api/zyntax/future.h (zyntax_poll)
    PENDING = 0;
    READY = 1;
    // api/zyntax/runtime.h: the result of an unfinished task or future.
    NOT_FINISHED = 0x7fff_ffff;
    // api/zyntax/runtime.h: zyntax_stats.poll_ns_log2's length.
    STATS_POLL_BUCKETS = 32;
}

/// ZYNTAX_READABLE / ZYNTAX_WRITABLE (api/zyntax/runtime.h).
pub const READABLE: u32 = 0x1;
pub const WRITABLE: u32 = 0x2;
pub const EVENTS: &[(&str, u32)] = &[("READABLE", READABLE), ("WRITABLE", WRITABLE)];

/// zyntax_stats.poll_ns_log2's length, as an array length.
pub const POLL_BUCKETS: usize = STATS_POLL_BUCKETS as usize;

macro_rules! stats {
    ($($field:ident),*; $hist:ident) => {
        /// `zyntax_stats` (api/zyntax/runtime.h), field for field: the
        /// counters, then the poll-duration histogram.
        #[repr(C)]
        #[derive(Default)]
        pub struct Stats {
            pub size: usize,
            $(pub $field: u64,)*
            pub $hist: [u64; POLL_BUCKETS],
        }

        /// (field, offset) of every field, for build.rs.
        pub fn stats_layout() -> Vec<(&'static str, usize)> {
            let s = std::mem::MaybeUninit::<Stats>::uninit();
            let p = s.as_ptr();
            let at = |field: *const u8| field as usize - p as usize;
            // SAFETY: addr_of! computes each field's address inside the
            // (uninitialised) struct without reading or referencing it.
            unsafe {
                let mut v = vec![("size", at(std::ptr::addr_of!((*p).size) as *const u8))];
                $(v.push((stringify!($field), at(std::ptr::addr_of!((*p).$field) as *const u8)));)*
                v.push((stringify!($hist), at(std::ptr::addr_of!((*p).$hist) as *const u8)));
                v
            }
        }
    };
}

stats!(tasks_spawned, tasks_completed, tasks_cancelled, tasks_failed, polls, wakes, timers,
       io_waits, blocking_jobs, wakes_remote, peak_live_tasks, slow_polls, sim_seed, sim_trace;
       poll_ns_log2);
