//! A HashMap keyed by small integers (fd numbers, record addresses) with
//! a one-multiply hash. std's default SipHash costs about 120
//! instructions a lookup, and an fd wait made two (its start and its
//! end); these keys come from the process itself, not from an attacker
//! who could aim collisions at them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// Fibonacci hashing; the high half folded into the low one, because the
/// table indexes by the low bits and record addresses end in zero bits.
#[derive(Default)]
pub struct IntHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl IntHasher {
    fn mix(&mut self, n: u64) {
        let h = (self.0 ^ n).wrapping_mul(K);
        self.0 = h ^ (h >> 32);
    }
}

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.mix(b as u64);
        }
    }

    fn write_i32(&mut self, n: i32) {
        self.mix(n as u32 as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }
}
