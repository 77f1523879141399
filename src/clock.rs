//! Time as the retry loop sees it: real, or virtual for tests and simulations.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::cancel::CancelToken;

/// Where the retry loop reads the time and sleeps.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Instant;

    /// Waits `duration` unless `cancel` fires first; true when the whole
    /// wait elapsed, false when cancelled.
    fn sleep(&self, duration: Duration, cancel: &CancelToken) -> bool;
}

/// The real clock; sleeps wake early on cancellation.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration, cancel: &CancelToken) -> bool {
        cancel.sleep(duration)
    }
}

/// Virtual time: a sleep returns at once, advances the clock and is
/// recorded, so backoff tests run in microseconds and can assert the exact
/// schedule.
///
/// ```
/// use std::time::Duration;
/// use apiretry::{CancelToken, Clock, VirtualClock};
///
/// let clock = VirtualClock::new();
/// let t0 = clock.now();
/// clock.sleep(Duration::from_secs(32), &CancelToken::new());
/// assert_eq!(clock.now() - t0, Duration::from_secs(32));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(32)]);
/// ```
#[derive(Debug)]
pub struct VirtualClock {
    start: Instant,
    state: Mutex<Virtual>,
}

#[derive(Debug, Default)]
struct Virtual {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock {
            start: Instant::now(),
            state: Mutex::default(),
        }
    }
}

impl VirtualClock {
    /// A virtual clock starting now.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward, as an operation taking `duration` would.
    pub fn advance(&self, duration: Duration) {
        self.state().elapsed += duration;
    }

    /// Virtual time since creation.
    pub fn elapsed(&self) -> Duration {
        self.state().elapsed
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state().sleeps.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Virtual> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }

    fn sleep(&self, duration: Duration, cancel: &CancelToken) -> bool {
        if cancel.is_cancelled() {
            return false;
        }
        let mut s = self.state();
        s.elapsed += duration;
        s.sleeps.push(duration);
        true
    }
}
