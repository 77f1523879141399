//! A retry budget shared by all calls of a client, so that during a long
//! outage retries stop multiplying the load, without ever cutting short a
//! call it let retry.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::policy::Policy;

/// Token-bucket retry throttling after gRPC's (gRFC A6, "Retry
/// Throttling"): every retryable failed attempt spends one token, every
/// success earns `token_ratio` back.
///
/// The budget decides once per call, at the call's first retryable
/// failure, whether the call retries at all: it does while more than half
/// the tokens are left after that failure's token. A call let retry keeps
/// its policy's whole schedule (its later failures still spend tokens, so
/// that other calls see them); one refused makes one attempt. So the
/// budget limits how many calls retry during sustained failure, and never
/// rewrites one call's schedule.
///
/// The client's default is sized from its policy
/// ([`RetryBudget::for_policy`]): twice its attempts in tokens (16 for seed
/// 001's 8), so that a fresh client's call always gets every attempt, and
/// retrying stops once failures across calls add up to one wholly failed
/// call. Tokens are kept in thousandths, lock-free.
///
/// ```
/// let budget = apiretry::RetryBudget::default(); // 16 tokens, 0.1 per success
/// let admitted: Vec<bool> = (0..9).map(|_| budget.on_failure()).collect();
/// assert_eq!(admitted, [true, true, true, true, true, true, true, false, false]);
/// budget.on_success();
/// assert_eq!(budget.tokens(), 7.1);
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    max: u32,
    ratio: u32,
    tokens: AtomicU32,
}

impl Default for RetryBudget {
    /// The budget for the default policy (seed 001's 8 attempts).
    fn default() -> Self {
        Self::for_policy(&Policy::default())
    }
}

impl RetryBudget {
    /// A full budget of `max_tokens` (clamped to 1..=1000), earning
    /// `token_ratio` (clamped to 0..=1) per success.
    pub fn new(max_tokens: f64, token_ratio: f64) -> Self {
        let max = (max_tokens.clamp(1.0, 1000.0) * 1000.0) as u32;
        RetryBudget {
            max,
            ratio: (token_ratio.clamp(0.0, 1.0) * 1000.0) as u32,
            tokens: AtomicU32::new(max),
        }
    }

    /// The budget a client under `policy` gets by default: two calls'
    /// attempts in tokens (at least 10, gRPC's default), 0.1 per success.
    ///
    /// ```
    /// use apiretry::{Policy, RetryBudget};
    /// assert_eq!(RetryBudget::for_policy(&Policy::default()).tokens(), 16.0);
    /// assert_eq!(RetryBudget::for_policy(&Policy::default().with_max_attempts(3)).tokens(), 10.0);
    /// ```
    pub fn for_policy(policy: &Policy) -> Self {
        Self::new((2.0 * f64::from(policy.max_attempts())).max(10.0), 0.1)
    }

    /// Records a retryable failure (spending a token); returns whether a
    /// call failing now for the first time may retry.
    pub fn on_failure(&self) -> bool {
        let after = self.update(|t| t.saturating_sub(1000));
        after > self.max / 2
    }

    /// Records a success.
    pub fn on_success(&self) {
        if self.tokens.load(Ordering::Relaxed) < self.max {
            self.update(|t| (t + self.ratio).min(self.max));
        }
    }

    /// Tokens left.
    pub fn tokens(&self) -> f64 {
        f64::from(self.tokens.load(Ordering::Relaxed)) / 1000.0
    }

    fn update(&self, f: impl Fn(u32) -> u32) -> u32 {
        let mut now = self.tokens.load(Ordering::Relaxed);
        loop {
            match self.tokens.compare_exchange_weak(
                now,
                f(now),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return f(now),
                Err(actual) => now = actual,
            }
        }
    }
}
