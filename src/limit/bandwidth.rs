//! A cap on the bytes a client sends per second, all its connections
//! together: a camera streaming a preview keeps that part of its uplink.
//!
//! Each write reserves its bytes on one schedule (GCRA): it goes when the
//! schedule reaches it, and moves the schedule on by its bytes' time at
//! the cap. An idle client may send [`BURST`] worth at once, no more, so
//! the rate over any stretch longer than that is the cap.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What an idle client may send at once: this long at the cap.
pub const BURST: Duration = Duration::from_millis(50);

/// The schedule of one client's writes.
#[derive(Debug)]
pub(crate) struct Bandwidth {
    bytes_per_sec: u64,
    next: Mutex<Option<Instant>>,
}

impl Bandwidth {
    /// A cap of `bytes_per_sec` (at least 1).
    pub fn new(bytes_per_sec: u64) -> Bandwidth {
        Bandwidth {
            bytes_per_sec: bytes_per_sec.max(1),
            next: Mutex::new(None),
        }
    }

    /// Reserves `bytes` at `now`: how long to wait before sending them.
    pub fn reserve(&self, now: Instant, bytes: usize) -> Duration {
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec as f64);
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let start = next.map_or(now, |n| n.max(now));
        *next = Some(start + cost);
        // Ahead of the schedule by at most the burst.
        (start + cost).saturating_duration_since(now + BURST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes of `size` bytes, back to back, each after its wait: the rate
    /// over `n` of them.
    fn paced(cap: u64, size: usize, n: usize) -> f64 {
        let b = Bandwidth::new(cap);
        let t0 = Instant::now();
        let mut now = t0;
        for _ in 0..n {
            now += b.reserve(now, size);
        }
        (size * n) as f64 / (now - t0 + BURST).as_secs_f64()
    }

    /// Rows: (cap, write size, writes) -> the rate within 1% of the cap.
    #[test]
    fn back_to_back_writes_go_at_the_cap() {
        let rows = [
            (2_500_000, 16 << 10, 2_000),
            (2_500_000, 128 << 10, 200),
            (125_000, 1_500, 5_000),
            (100_000_000, 64 << 10, 10_000),
        ];
        for (cap, size, n) in rows {
            let rate = paced(cap, size, n);
            let off = (rate / cap as f64 - 1.0).abs();
            assert!(off < 0.01, "{cap} B/s in writes of {size}: {rate:.0} B/s");
        }
    }

    #[test]
    fn an_idle_client_sends_a_burst_then_the_cap() {
        let b = Bandwidth::new(1_000_000);
        let now = Instant::now();
        // 50 ms at the cap: 50,000 bytes go at once.
        assert_eq!(b.reserve(now, 50_000), Duration::ZERO);
        assert_eq!(b.reserve(now, 10_000), Duration::from_millis(10));
        // Idle for a second: the burst again, not the second's worth.
        let later = now + Duration::from_secs(1);
        assert_eq!(b.reserve(later, 50_000), Duration::ZERO);
        assert_eq!(b.reserve(later, 1_000), Duration::from_millis(1));
    }
}
