//! Exponential backoff with jitter, as a schedule of `Duration`s.
//!
//! Seed 001: `delay = min(2^attempt / 2, 32)` seconds, attempt 0-indexed:
//! 0.5, 1, 2, 4, 8, 16, 32, 32, ... That is `base * factor^attempt` capped at
//! `cap`, with base 0.5 s, factor 2 and cap 32 s, all configurable. Jitter
//! draws are in whole milliseconds.

use std::time::Duration;

/// How randomness is added to each delay.
///
/// `Full`, `Equal` and `Decorrelated` follow the AWS Architecture Blog's
/// "Exponential Backoff And Jitter" definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[repr(u32)]
pub enum Jitter {
    /// Seed 001: the delay plus a uniform value in `[0, delay/2]`.
    Seed,
    /// The exact delay.
    None,
    /// Uniform in `[0, delay]`.
    Full,
    /// `delay/2` plus uniform in `[0, delay/2]`.
    Equal,
    /// `min(cap, uniform in [base, previous * 3])`, starting from `base`.
    Decorrelated,
}

impl Jitter {
    /// Every mode, for simulations and tests.
    pub const ALL: [Jitter; 5] = [
        Jitter::Seed,
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ];

    /// A short lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Jitter::Seed => "seed",
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
        }
    }
}

/// A backoff policy: base, growth factor, cap and jitter.
///
/// ```
/// use std::time::Duration;
/// use apiretry::{Backoff, Jitter};
///
/// let delays: Vec<f64> = Backoff::default()
///     .with_jitter(Jitter::None)
///     .schedule()
///     .take(8)
///     .map(|d| d.as_secs_f64())
///     .collect();
/// assert_eq!(delays, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 32.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    base: Duration,
    factor: f64,
    cap: Duration,
    jitter: Jitter,
}

impl Default for Backoff {
    /// Seed 001's formula with its recommended jitter.
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(500),
            factor: 2.0,
            cap: Duration::from_secs(32),
            jitter: Jitter::Seed,
        }
    }
}

impl Backoff {
    /// The first delay (attempt 0).
    pub fn with_base(mut self, base: Duration) -> Self {
        self.base = base;
        self
    }

    /// Growth per attempt; values below 1 are taken as 1.
    pub fn with_factor(mut self, factor: f64) -> Self {
        self.factor = if factor.is_finite() {
            factor.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// The largest delay before jitter.
    pub fn with_cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// The jitter mode.
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The jitter mode in use.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The delay before retry `attempt` (0-indexed), before jitter:
    /// `min(base * factor^attempt, cap)`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let grown = self.base.as_secs_f64() * self.factor.powi(attempt.min(1024) as i32);
        if grown.is_finite() && grown < self.cap.as_secs_f64() {
            Duration::from_secs_f64(grown)
        } else {
            self.cap
        }
    }

    /// The longest delay the schedule can draw before retry `attempt`
    /// (0-indexed), jitter included.
    pub(crate) fn max_delay(&self, attempt: u32) -> Duration {
        let delay = self.delay(attempt);
        match self.jitter {
            Jitter::Seed => delay + delay / 2,
            Jitter::None | Jitter::Full | Jitter::Equal => delay,
            Jitter::Decorrelated => self.cap.max(self.base),
        }
    }

    /// An endless schedule of jittered delays, randomly seeded.
    pub fn schedule(&self) -> Schedule {
        self.schedule_seeded(fastrand::u64(..))
    }

    /// An endless schedule whose jitter comes from `seed`: the same seed gives
    /// the same delays, so tests and simulations are reproducible.
    pub fn schedule_seeded(&self, seed: u64) -> Schedule {
        Schedule {
            backoff: self.clone(),
            attempt: 0,
            previous: self.base,
            rng: fastrand::Rng::with_seed(seed),
        }
    }
}

/// The delays of one call's retries, in order (see [`Backoff::schedule`]).
#[derive(Clone, Debug)]
pub struct Schedule {
    backoff: Backoff,
    attempt: u32,
    previous: Duration,
    rng: fastrand::Rng,
}

impl Schedule {
    /// How many delays have been drawn.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A uniform whole number of milliseconds in `[lo, hi]`.
    fn uniform(&mut self, lo: Duration, hi: Duration) -> Duration {
        let (lo, hi) = (millis(lo), millis(hi).max(millis(lo)));
        Duration::from_millis(self.rng.u64(lo..=hi))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Iterator for Schedule {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let b = &self.backoff;
        let (delay, base, cap) = (b.delay(self.attempt), b.base, b.cap);
        self.attempt = self.attempt.saturating_add(1);
        let d = match b.jitter {
            Jitter::None => delay,
            Jitter::Seed => delay + self.uniform(Duration::ZERO, delay / 2),
            Jitter::Full => self.uniform(Duration::ZERO, delay),
            Jitter::Equal => delay / 2 + self.uniform(Duration::ZERO, delay / 2),
            Jitter::Decorrelated => {
                let hi = self.previous.saturating_mul(3);
                self.uniform(base, hi).min(cap)
            }
        };
        self.previous = d;
        Some(d)
    }
}
