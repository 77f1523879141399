//! The mock's server-side rate limit: a token bucket, as a real API's.

use std::time::{Duration, Instant};

/// A token bucket, as a real API's rate limiter.
pub(super) struct Bucket {
    pub(super) rate: f64,
    pub(super) burst: f64,
    pub(super) tokens: f64,
    pub(super) at: Instant,
    /// Whether answers state the limit in `RateLimit-*` headers.
    pub(super) headers: bool,
    /// Whether over the limit is S3's 503 `SlowDown` (no `Retry-After`)
    /// rather than 429 with `Retry-After`.
    pub(super) slowdown: bool,
    /// A `Retry-After` said whatever the bucket holds, rather than the
    /// time to its next token.
    pub(super) wait: Option<u64>,
}

impl Bucket {
    /// `RateLimit-Limit`, `-Remaining` and `-Reset` (seconds until the
    /// bucket is full again), as the IETF draft and many APIs send them.
    pub(super) fn headers(&self) -> [(&'static str, String); 3] {
        let reset = ((self.burst - self.tokens) / self.rate).ceil().max(0.0) as u64;
        [
            ("RateLimit-Limit", format!("{}", self.burst as u64)),
            (
                "RateLimit-Remaining",
                format!("{}", self.tokens.floor() as u64),
            ),
            ("RateLimit-Reset", reset.to_string()),
        ]
    }

    /// Takes a token, or says how long until one is there.
    pub(super) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}
