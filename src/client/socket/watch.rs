//! A stall measured by what the peer acknowledged (Linux): while a write,
//! or the wait for the answer's head, is blocked, the transport looks at
//! the connection's counters (`TCP_INFO`) every [`Watch::tick`], and the
//! attempt ends once nothing moved for the stall limit while bytes were
//! outstanding.
//!
//! Moving counts the bytes acknowledged and the segments delivered, these
//! with selective acknowledgements: while a lost segment is sent again,
//! the rest of the window still reaches the peer. The kernel's
//! `TCP_USER_TIMEOUT` measures something else, the age of the oldest
//! segment sent again, and it ended a steady 2 Mbit/s upload now and then
//! (5 MiB, a 2 s limit, after two or three retransmission timeouts at about
//! 6 s), where the acknowledgements had never paused for more than 0.92 s.
//! With nothing outstanding, the peer has everything and is thinking: that
//! is the phase timeout's business, not a stall.

use std::time::{Duration, Instant};

use crate::sys::tcp_info::TcpProgress;

#[derive(Debug)]
pub(crate) struct Watch {
    stall: Duration,
    last: Option<TcpProgress>,
    /// When the last look was, and since when nothing moved.
    looked: Option<Instant>,
    since: Option<Instant>,
}

impl Watch {
    pub fn new(stall: Duration) -> Self {
        Watch {
            stall,
            last: None,
            looked: None,
            since: None,
        }
    }

    /// How long a blocked write or read waits between looks: a quarter of
    /// the limit, within 10 to 250 ms, so a stall shows within a quarter
    /// limit of its end and a blocked call wakes at most 4 times a second.
    pub fn tick(&self) -> Duration {
        (self.stall / 4).clamp(Duration::from_millis(10), Duration::from_millis(250))
    }

    /// The counters as last seen, with bytes outstanding: what a look that
    /// cannot read them takes in, so that a wait still ends.
    pub fn unread(&self) -> TcpProgress {
        TcpProgress {
            outstanding: true,
            ..self.last.unwrap_or_default()
        }
    }

    /// Takes in the counters `seen` at `now`; true once nothing moved for
    /// the stall limit while bytes were outstanding. A look more than two
    /// ticks after the last (a new request on a pooled connection, a body
    /// slow to read) starts afresh: nobody watched in between.
    pub fn stalled(&mut self, now: Instant, seen: TcpProgress) -> bool {
        let watched = self
            .looked
            .is_some_and(|at| now.saturating_duration_since(at) <= 2 * self.tick());
        let moved = !watched
            || self
                .last
                .is_none_or(|l| l.acked != seen.acked || l.delivered != seen.delivered);
        self.last = Some(seen);
        self.looked = Some(now);
        let since = match self.since {
            Some(since) if !moved && seen.outstanding => since,
            _ => *self.since.insert(now),
        };
        now.duration_since(since) >= self.stall
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows: looks at (ms, acked, delivered, outstanding) -> stalled at each,
    /// with a 1 s limit.
    #[test]
    fn a_stall_is_a_limit_without_acknowledged_progress() {
        type Look = (u64, u64, u32, bool, bool);
        let rows: [(&str, &[Look]); 6] = [
            (
                "acknowledgements keep coming",
                &[
                    (0, 0, 0, true, false),
                    (500, 10, 1, true, false),
                    (1000, 20, 2, true, false),
                    (1500, 30, 3, true, false),
                ],
            ),
            (
                "nothing moves",
                &[
                    (0, 10, 1, true, false),
                    (500, 10, 1, true, false),
                    (999, 10, 1, true, false),
                    (1000, 10, 1, true, true),
                ],
            ),
            (
                "selective acknowledgements while a segment is sent again",
                &[
                    (0, 10, 1, true, false),
                    (500, 10, 5, true, false),
                    (1000, 10, 9, true, false),
                    (1400, 10, 9, true, false),
                ],
            ),
            (
                "everything acknowledged: the peer is thinking",
                &[
                    (0, 10, 1, false, false),
                    (500, 10, 1, false, false),
                    (1000, 10, 1, false, false),
                    (1500, 10, 1, true, false),
                ],
            ),
            (
                "a pause in the looks starts afresh",
                &[
                    (0, 10, 1, true, false),
                    (5000, 10, 1, true, false),
                    (5500, 10, 1, true, false),
                    (6000, 10, 1, true, true),
                ],
            ),
            (
                "progress, then nothing moves",
                &[
                    (0, 10, 1, true, false),
                    (400, 20, 2, true, false),
                    (800, 20, 2, true, false),
                    (1200, 20, 2, true, false),
                    (1400, 20, 2, true, true),
                ],
            ),
        ];
        let start = Instant::now();
        for (what, looks) in rows {
            let mut watch = Watch::new(Duration::from_secs(1));
            for &(ms, acked, delivered, outstanding, want) in looks {
                let seen = TcpProgress {
                    acked,
                    delivered,
                    outstanding,
                };
                let now = start + Duration::from_millis(ms);
                assert_eq!(watch.stalled(now, seen), want, "{what} at {ms} ms");
            }
        }
    }

    /// Counters that cannot be read count as nothing moving.
    #[test]
    fn unreadable_counters_end_the_wait_at_the_limit() {
        let start = Instant::now();
        let mut watch = Watch::new(Duration::from_secs(1));
        let first = TcpProgress {
            acked: 10,
            delivered: 1,
            outstanding: false,
        };
        assert!(!watch.stalled(start, first));
        for ms in [250, 500, 750] {
            let now = start + Duration::from_millis(ms);
            assert!(!watch.stalled(now, watch.unread()), "{ms} ms");
        }
        assert!(watch.stalled(start + Duration::from_secs(1), watch.unread()));
    }

    /// Rows: (limit) -> the time between looks.
    #[test]
    fn looks_are_a_quarter_limit_apart_within_bounds() {
        let ms = Duration::from_millis;
        for (limit, tick) in [(20, 10), (400, 100), (2_000, 250), (30_000, 250)] {
            assert_eq!(Watch::new(ms(limit)).tick(), ms(tick), "{limit} ms");
        }
    }
}
