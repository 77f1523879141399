//! A retry budget shared by all calls of a client, so that during a long
//! outage retries stop multiplying the load.

use std::sync::atomic::{AtomicU32, Ordering};

/// Token-bucket retry throttling, as gRPC defines it (gRFC A6, "Retry
/// Throttling"): every failed attempt that could be retried spends one
/// token, every success earns `token_ratio` back, and a retry is allowed
/// only while more than half the tokens are left.
///
/// With the defaults (10 tokens, 0.1 per success) a client stops retrying
/// after 5 failures in a row, so during an outage each call costs one
/// request; 50 successes restore full retrying. Tokens are kept in
/// thousandths, lock-free.
///
/// ```
/// let budget = apiretry::RetryBudget::default();
/// let allowed: Vec<bool> = (0..6).map(|_| budget.on_failure()).collect();
/// assert_eq!(allowed, [true, true, true, true, false, false]);
/// budget.on_success();
/// assert_eq!(budget.tokens(), 4.1);
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    max: u32,
    ratio: u32,
    tokens: AtomicU32,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new(10.0, 0.1)
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

    /// Records a retryable failure; returns whether a retry is allowed.
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
