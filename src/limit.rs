//! Client-side rate limiting: wait instead of sending a request that the
//! server would answer with 429.

use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::route;

/// `requests` per `per`.
///
/// ```
/// use std::time::Duration;
/// use apiretry::RateLimit;
///
/// assert_eq!("50/s".parse::<RateLimit>().unwrap(), RateLimit::per_second(50));
/// assert_eq!("20/min".parse::<RateLimit>().unwrap(), RateLimit::new(20, Duration::from_secs(60)));
/// assert!("fast".parse::<RateLimit>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    requests: u32,
    per: Duration,
}

impl RateLimit {
    /// `requests` (at least 1) per `per`.
    pub fn new(requests: u32, per: Duration) -> Self {
        RateLimit {
            requests: requests.max(1),
            per,
        }
    }

    /// `requests` per second.
    pub fn per_second(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(1))
    }

    /// `requests` per minute.
    pub fn per_minute(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(60))
    }

    /// The spacing between requests.
    pub fn interval(&self) -> Duration {
        self.per / self.requests
    }
}

impl FromStr for RateLimit {
    type Err = String;

    /// `N/s`, `N/min` (or `N/m`), `N/h`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a rate limit (use e.g. 50/s, 20/min, 1000/h)");
        let (n, unit) = s.split_once('/').ok_or_else(bad)?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            _ => return Err(bad()),
        };
        if n == 0 {
            return Err(bad());
        }
        Ok(RateLimit::new(n, Duration::from_secs(per)))
    }
}

/// Next free slot, one request per interval (GCRA without burst): requests
/// go out evenly spaced, never in a burst a strict server would refuse.
#[derive(Debug)]
struct Pacer {
    interval: Duration,
    next: Option<Instant>,
}

#[derive(Debug)]
struct RouteLimit {
    method: String,
    pattern: String,
    pacer: Mutex<Pacer>,
}

/// A client's limits: one for the token, lower ones per route, and pauses
/// the server asked for.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    global: Option<Mutex<Pacer>>,
    routes: Vec<RouteLimit>,
    paused_until: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn pacer(limit: RateLimit) -> Mutex<Pacer> {
    Mutex::new(Pacer {
        interval: limit.interval(),
        next: None,
    })
}

impl RateLimiter {
    pub fn new(global: Option<RateLimit>, routes: &[(String, String, RateLimit)]) -> Self {
        RateLimiter {
            global: global.map(pacer),
            routes: routes
                .iter()
                .map(|(m, p, l)| RouteLimit {
                    method: m.clone(),
                    pattern: p.clone(),
                    pacer: pacer(*l),
                })
                .collect(),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits for this request's slot (under the token's and its route's
    /// limits, after any pause). Fails rather than wait past `until`.
    pub fn acquire(
        &self,
        method: &str,
        url: &str,
        until: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<(), ApiError> {
        let path = route::path_of(url);
        let route = self
            .routes
            .iter()
            .find(|r| r.method.eq_ignore_ascii_case(method) && route::matches(&r.pattern, path));
        let now = Instant::now();
        let paused = lock(&self.paused_until).unwrap_or(now);
        // Both pacers are locked (always global first) so that the slot is
        // reserved in each at once.
        let mut global = self.global.as_ref().map(lock);
        let mut local = route.map(|r| lock(&r.pacer));
        let slot = [global.as_deref(), local.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|p| p.next)
            .fold(now.max(paused), Instant::max);
        if until.is_some_and(|u| slot > u) {
            return Err(ApiError::new(Kind::DeadlineExceeded)
                .with_message("the rate limit allows no request before the deadline"));
        }
        for p in [global.as_deref_mut(), local.as_deref_mut()]
            .into_iter()
            .flatten()
        {
            p.next = Some(slot + p.interval);
        }
        drop((global, local));
        let wait = slot.saturating_duration_since(now);
        if !wait.is_zero() && !cancel.sleep(wait) {
            return Err(ApiError::new(Kind::Cancelled)
                .with_message("cancelled while waiting for the rate limit"));
        }
        Ok(())
    }

    /// The server said to wait (a used-up quota, or 429 with Retry-After):
    /// every call waits, not only the one that was told.
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut p = lock(&self.paused_until);
        *p = Some(p.map_or(until, |q| q.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_tightest_limit() {
        let limiter = RateLimiter::new(
            Some(RateLimit::per_second(1000)),
            &[(
                "POST".into(),
                "/assets/:id/children".into(),
                RateLimit::per_second(100),
            )],
        );
        let cancel = CancelToken::new();
        let t = Instant::now();
        for _ in 0..5 {
            limiter
                .acquire("POST", "/assets/1/children", None, &cancel)
                .unwrap();
        }
        // 5 requests at 100/s: slots at 0, 10, 20, 30, 40 ms.
        assert!(
            t.elapsed() >= Duration::from_millis(40),
            "{:?}",
            t.elapsed()
        );
        let err = limiter
            .acquire("POST", "/assets/2/children", Some(Instant::now()), &cancel)
            .unwrap_err();
        assert_eq!(err.kind, Kind::DeadlineExceeded);
    }
}
