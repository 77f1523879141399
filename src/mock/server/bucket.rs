//! The mock's server-side rate limit: a token bucket, as a real API's.

use std::time::{Duration, Instant};

use super::MockServer;
use crate::mock::reply::Reply;

/// The `RateLimit-*` headers an answer states the limit in.
pub(super) type Stated = [(&'static str, String); 3];

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
    /// Full, answering 429 with the time to its next token when empty.
    pub(super) fn new(per_second: f64, burst: u32) -> Self {
        Bucket {
            rate: per_second.max(1e-3),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            at: Instant::now(),
            headers: false,
            slowdown: false,
            wait: None,
        }
    }

    /// Takes a token at `now`, or the refusal to answer with; and the
    /// `RateLimit-*` headers when it states them.
    pub(super) fn take_or_refuse(&mut self, now: Instant) -> (Option<Reply>, Option<Stated>) {
        let taken = self.take(now);
        let stated = self.headers.then(|| self.headers());
        let refusal = taken.err().map(|wait| {
            let secs = self
                .wait
                .unwrap_or(wait.as_secs_f64().ceil().max(1.0) as u64);
            match self.slowdown {
                true => Reply::aws(503, "SlowDown", "Please reduce your request rate."),
                false => Reply::simple(429, "slow_down").header("Retry-After", &secs.to_string()),
            }
        });
        (refusal, stated)
    }

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

/// The server-side rate limits' settings.
impl MockServer {
    /// A server-side limit: `per_second` requests with bursts of `burst`;
    /// over it, 429 `slow_down` with `Retry-After`.
    pub fn rate_limit(&self, per_second: f64, burst: u32) {
        self.shared.state().limit = Some(Bucket::new(per_second, burst));
    }

    /// A limit of one route's own, as Frame.io's per endpoint (`pattern`
    /// as in [`MockServer::script`]): `per_second` requests to it with
    /// bursts of `burst`, over it 429 `slow_down` with `Retry-After`;
    /// checked before the server's limit, and the other routes are not
    /// counted in it.
    pub fn rate_limit_route(&self, method: &str, pattern: &str, per_second: f64, burst: u32) {
        let bucket = Bucket::new(per_second, burst);
        let mut st = self.shared.state();
        st.route_limits
            .retain(|(m, p, _)| !(m == method && p == pattern));
        st.route_limits
            .push((method.to_owned(), pattern.to_owned(), bucket));
    }

    /// Whether the rate limit answers as S3 does: 503 `SlowDown` in S3's XML,
    /// with no `Retry-After` (off by default: 429 `slow_down`).
    pub fn rate_limit_slowdown(&self, on: bool) {
        if let Some(b) = &mut self.shared.state().limit {
            b.slowdown = on;
        }
    }

    /// The `Retry-After` the rate limit answers with: always `secs`, as
    /// some APIs say whatever their rate (Shopify's REST API: 2 s over a
    /// 2 req/s bucket), or, with `None` (the default), the whole seconds
    /// until the next token.
    pub fn rate_limit_retry_after(&self, secs: Option<u64>) {
        if let Some(b) = &mut self.shared.state().limit {
            b.wait = secs;
        }
    }

    /// Whether answers under the rate limit state it: `RateLimit-Limit`,
    /// `RateLimit-Remaining` and `RateLimit-Reset` on every answer, 429s
    /// included (off by default).
    pub fn rate_limit_headers(&self, on: bool) {
        if let Some(b) = &mut self.shared.state().limit {
            b.headers = on;
        }
    }
}
