//! Client-side rate limiting: wait instead of sending a request that the
//! server would answer with 429.

use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::route;

pub(crate) mod cubic;

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

/// How a client learns the rate of an origin that does not state its limit
/// (see [`cubic`]): on by default, between a floor and a ceiling.
///
/// ```
/// use apiretry::AdaptiveRate;
///
/// let learn = AdaptiveRate::default().with_floor(1.0).with_ceiling(100.0);
/// assert_eq!((learn.floor(), learn.ceiling()), (1.0, Some(100.0)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptiveRate {
    floor: f64,
    ceiling: Option<f64>,
}

impl Default for AdaptiveRate {
    /// A floor of 0.5 requests per second (the AWS SDKs'), no ceiling but
    /// the configured limit.
    fn default() -> Self {
        AdaptiveRate {
            floor: cubic::MIN_RATE,
            ceiling: None,
        }
    }
}

impl AdaptiveRate {
    /// The learned rate never falls below `per_second` (> 0).
    pub fn with_floor(mut self, per_second: f64) -> Self {
        if per_second > 0.0 && per_second.is_finite() {
            self.floor = per_second;
        }
        self
    }

    /// The learned rate never rises above `per_second` (a configured limit
    /// is a ceiling too).
    pub fn with_ceiling(mut self, per_second: f64) -> Self {
        if per_second > 0.0 && per_second.is_finite() {
            self.ceiling = Some(per_second);
        }
        self
    }

    /// The floor, in requests per second.
    pub fn floor(&self) -> f64 {
        self.floor
    }

    /// The ceiling, in requests per second, if set.
    pub fn ceiling(&self) -> Option<f64> {
        self.ceiling
    }
}

/// The rate learning of [`Client`](crate::Client), for a program's own
/// HTTP stack (or a simulation on virtual time): feed it each answer, pace
/// requests at [`RateLearner::rate`] once it has one.
///
/// ```
/// use std::time::Duration;
/// use apiretry::{AdaptiveRate, RateLearner};
///
/// let mut learn = RateLearner::new(AdaptiveRate::default());
/// let ms = Duration::from_millis;
/// for i in 0..10 {
///     learn.on_answer(ms(i * 100), ms(i * 100 + 20), false);
/// }
/// assert_eq!(learn.rate(), None); // not throttled: not paced
/// let cut = learn.on_answer(ms(1000), ms(1020), true).unwrap();
/// assert!(cut < 10.0, "{cut}");
/// ```
#[derive(Clone, Debug)]
pub struct RateLearner {
    cubic: cubic::Cubic,
}

impl RateLearner {
    /// Learns within `adaptive`'s floor and ceiling.
    pub fn new(adaptive: AdaptiveRate) -> Self {
        RateLearner {
            cubic: cubic::Cubic::new(adaptive.floor, adaptive.ceiling),
        }
    }

    /// An answer came back: its request was let out at `sent` and answered
    /// at `at` (both since any fixed start); `throttled` when it said slow
    /// down. Returns the new rate when this answer cut it.
    pub fn on_answer(&mut self, sent: Duration, at: Duration, throttled: bool) -> Option<f64> {
        self.cubic.on_answer(cubic::Answer {
            sent: sent.as_secs_f64(),
            at: at.as_secs_f64(),
            throttled,
        })
    }

    /// A throttle answered at `at` said to wait `wait` (`Retry-After`). A
    /// wait of 2 to 10 s may be the server's pace (a token bucket's time to
    /// its next token). If over the next three waits the server accepts
    /// no more than 1.5 requests per wait, it is: the rate keeps to one
    /// request per wait for the next 100 requests (10 minutes at most),
    /// below the floor if need be. A server that accepts more only
    /// happens to say that wait (some say `Retry-After: 2` whatever their
    /// rate). While a pace holds, a longer wait slows it at once and
    /// returns the new rate.
    ///
    /// ```
    /// use std::time::Duration;
    /// use apiretry::{AdaptiveRate, RateLearner};
    ///
    /// let mut learn = RateLearner::new(AdaptiveRate::default());
    /// let s = Duration::from_secs;
    /// learn.on_answer(s(0), s(0), true);
    /// learn.on_retry_after(s(0), s(3)); // one token per 3 s?
    /// for t in [3, 6, 9] {
    ///     learn.on_answer(s(t), s(t), false); // one acceptance per wait: yes
    /// }
    /// assert_eq!(learn.rate(), Some(1.0 / 3.0));
    /// ```
    pub fn on_retry_after(&mut self, at: Duration, wait: Duration) -> Option<f64> {
        self.cubic
            .on_stated_wait(at.as_secs_f64(), wait.as_secs_f64())
    }

    /// The learned rate in requests per second; `None` until a throttle.
    pub fn rate(&self) -> Option<f64> {
        self.cubic.rate()
    }
}

/// Told each time an origin's learned rate is cut: the origin
/// (`scheme://host:port`) and the new rate in requests per second.
pub type RateObserver = dyn Fn(&str, f64) + Send + Sync;

/// The learned rate and its own pacing.
#[derive(Debug)]
struct Learned {
    cubic: cubic::Cubic,
    next: Option<Instant>,
}

/// The quota the server stated (`RateLimit-Remaining` over `-Reset`),
/// spread evenly until its window resets.
#[derive(Debug, Default)]
struct Quota {
    interval: Duration,
    until: Option<Instant>,
    next: Option<Instant>,
}

/// An origin's limits: the token's, lower ones per route, the rate learned
/// from throttling, the quota the server states, and pauses it asked for.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    global: Option<Mutex<Pacer>>,
    routes: Vec<RouteLimit>,
    paused_until: Mutex<Option<Instant>>,
    learned: Option<Mutex<Learned>>,
    quota: Mutex<Quota>,
    /// Times of the learned rate are seconds since this instant.
    epoch: Instant,
    /// `scheme://host:port`, for the log and the observer.
    origin: String,
    observer: Told,
}

/// The rate observer, if any (shown in Debug as whether there is one).
#[derive(Default)]
struct Told(Option<std::sync::Arc<RateObserver>>);

impl std::fmt::Debug for Told {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.is_some())
    }
}

/// The longest the server can hold every call to an origin.
const LONGEST_PAUSE: Duration = Duration::from_secs(24 * 3600);

/// A slot this close is due: sleeping for less is not worth it.
const SLACK: Duration = Duration::from_millis(1);

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
    /// Limits for `origin`; `adaptive` learns a rate under the `global`
    /// limit (its ceiling too), `None` paces by configured limits only.
    pub fn new(
        origin: &str,
        global: Option<RateLimit>,
        routes: &[(String, String, RateLimit)],
        adaptive: Option<AdaptiveRate>,
    ) -> Self {
        let learned = adaptive.map(|a| {
            let configured = global.map(|g| f64::from(g.requests) / g.per.as_secs_f64());
            let ceiling = match (a.ceiling, configured) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            Mutex::new(Learned {
                cubic: cubic::Cubic::new(a.floor, ceiling),
                next: None,
            })
        });
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
            learned,
            quota: Mutex::default(),
            epoch: Instant::now(),
            origin: origin.to_owned(),
            observer: Told::default(),
        }
    }

    /// Tells `observer` of each cut of the learned rate.
    pub fn with_observer(mut self, observer: Option<std::sync::Arc<RateObserver>>) -> Self {
        self.observer = Told(observer);
        self
    }

    /// Waits for this request's slot (under the token's and its route's
    /// limits, the learned rate and the stated quota, after any pause).
    /// Fails rather than wait past `until`. Returns when it was let out.
    ///
    /// Nobody reserves a slot ahead: a waiter sleeps until the first free
    /// slot and then tries again, so that a rate that rose while calls
    /// waited (or a pause that ended) applies to them at once, and waiters
    /// a pause held go out one interval apart, not together.
    pub fn acquire(
        &self,
        method: &str,
        url: &str,
        until: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<Instant, ApiError> {
        loop {
            let now = Instant::now();
            let at = match self.take(method, url, now) {
                Ok(slot) => return Ok(slot),
                Err(at) => at,
            };
            if until.is_some_and(|u| at > u) {
                return Err(ApiError::new(Kind::DeadlineExceeded)
                    .with_message("the rate limit allows no request before the deadline"));
            }
            if !cancel.sleep(at.saturating_duration_since(now)) {
                return Err(ApiError::new(Kind::Cancelled)
                    .with_message("cancelled while waiting for the rate limit"));
            }
        }
    }

    /// Takes the slot due at `now` (every pacer moved one interval past it),
    /// or says when the next one is.
    fn take(&self, method: &str, url: &str, now: Instant) -> Result<Instant, Instant> {
        let path = route::path_of(url);
        let route = self
            .routes
            .iter()
            .find(|r| r.method.eq_ignore_ascii_case(method) && route::matches(&r.pattern, path));
        let paused = lock(&self.paused_until).unwrap_or(now);
        // Every pacer is locked (always in this order) so that the slot is
        // taken in each at once.
        let mut global = self.global.as_ref().map(lock);
        let mut local = route.map(|r| lock(&r.pacer));
        let mut learned = self.learned.as_ref().map(lock);
        let mut quota = lock(&self.quota);
        let learned_interval = learned
            .as_ref()
            .and_then(|l| l.cubic.rate())
            .map(|r| Duration::try_from_secs_f64(1.0 / r).unwrap_or(LONGEST_PAUSE));
        let quota_on = quota.until.is_some_and(|u| u > now);
        let slot = [global.as_deref(), local.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|p| p.next)
            .chain(
                learned
                    .as_ref()
                    .filter(|_| learned_interval.is_some())
                    .and_then(|l| l.next),
            )
            .chain(quota.next.filter(|_| quota_on))
            .fold(now.max(paused), Instant::max);
        if slot > now + SLACK {
            return Err(slot);
        }
        // Spaced from the slot, not from now: a waiter that woke late does
        // not push the next one later still.
        let start = |next: Option<Instant>| next.map_or(now, |n| n.max(now - SLACK));
        for p in [global.as_deref_mut(), local.as_deref_mut()]
            .into_iter()
            .flatten()
        {
            p.next = Some(start(p.next) + p.interval);
        }
        if let (Some(l), Some(i)) = (learned.as_deref_mut(), learned_interval) {
            l.next = Some(start(l.next) + i);
        }
        if quota_on {
            quota.next = Some(start(quota.next) + quota.interval);
        }
        Ok(now)
    }

    /// The server said every call waits (a used-up quota): they are then
    /// released paced, at the learned rate.
    pub fn pause_for(&self, wait: Duration) {
        self.pause_from(Instant::now(), wait);
    }

    /// Pauses every call for `wait` from `at`, a day at most: a server's
    /// `Retry-After: 99999999999999999999999` must not overflow the clock.
    fn pause_from(&self, at: Instant, wait: Duration) {
        self.pause_until(at + wait.min(LONGEST_PAUSE));
    }

    fn pause_until(&self, until: Instant) {
        let mut p = lock(&self.paused_until);
        *p = Some(p.map_or(until, |q| q.max(until)));
    }

    /// An answer came back to a request let out at `sent`: `throttled` when
    /// it said slow down (429, `SlowDown`, a used-up quota). Adjusts the
    /// learned rate.
    pub fn on_answer(&self, sent: Instant, throttled: bool) {
        self.on_answer_at(sent, Instant::now(), throttled);
    }

    fn on_answer_at(&self, sent: Instant, at: Instant, throttled: bool) {
        let Some(learned) = &self.learned else { return };
        let answer = cubic::Answer {
            sent: self.secs(sent),
            at: self.secs(at),
            throttled,
        };
        let cut = lock(learned).cubic.on_answer(answer);
        self.tell(cut);
    }

    /// A throttle said to wait `wait` (`Retry-After`). Without a learned
    /// rate, every call waits. With one, a wait under 2 s holds only the
    /// call it answered (it may be a sub-second wait rounded up, and the
    /// cut rate slows the others); a longer one holds every call, and one
    /// of up to 10 s may be the server's pace: once its answers bear that
    /// out, the learned rate keeps to one request per wait. No call is
    /// held longer than `longest` (the policy's cap on `Retry-After`).
    pub fn on_retry_after(&self, wait: Duration, longest: Duration) {
        self.on_retry_after_at(Instant::now(), wait, longest);
    }

    fn on_retry_after_at(&self, at: Instant, wait: Duration, longest: Duration) {
        let pause = wait.min(longest);
        let Some(learned) = &self.learned else {
            return self.pause_from(at, pause);
        };
        if wait.as_secs_f64() < cubic::STATED_MIN {
            return;
        }
        let cut = lock(learned)
            .cubic
            .on_stated_wait(self.secs(at), wait.as_secs_f64());
        self.pause_from(at, pause);
        self.tell(cut);
    }

    /// Seconds since the epoch of the learned rate's times.
    fn secs(&self, i: Instant) -> f64 {
        i.saturating_duration_since(self.epoch).as_secs_f64()
    }

    /// Logs a cut of the learned rate and tells the observer.
    fn tell(&self, cut: Option<f64>) {
        if let Some(rate) = cut {
            log::info!(target: "apiretry::rate", "{}: throttled, pacing at {rate:.2} req/s", self.origin);
            if let Some(o) = &self.observer.0 {
                o(&self.origin, rate);
            }
        }
    }

    /// The server stated its quota: `remaining` requests until `reset`.
    /// None left pauses every call until the reset; otherwise the rest is
    /// spread evenly over the window.
    pub fn on_quota(&self, remaining: u64, reset: Duration) {
        if remaining == 0 {
            return self.pause_for(reset);
        }
        let now = Instant::now();
        let mut q = lock(&self.quota);
        q.interval = reset / u32::try_from(remaining).unwrap_or(u32::MAX);
        q.until = Some(now + reset);
    }

    /// The learned rate in requests per second, once a throttle taught one.
    pub fn learned_rate(&self) -> Option<f64> {
        self.learned.as_ref().and_then(|l| lock(l).cubic.rate())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_tightest_limit() {
        let limiter = RateLimiter::new(
            "http://x:80",
            Some(RateLimit::per_second(1000)),
            &[(
                "POST".into(),
                "/assets/:id/children".into(),
                RateLimit::per_second(100),
            )],
            None,
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

    /// A limiter that learned 14 requests/s: 20 answers in a second, then
    /// a throttle (0.7 of the measured 20). Times are given, not slept.
    fn taught(ceiling: Option<RateLimit>) -> (RateLimiter, Instant) {
        let limiter = RateLimiter::new("http://x:80", ceiling, &[], Some(AdaptiveRate::default()));
        let t0 = limiter.epoch;
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        for i in 1..=20 {
            limiter.on_answer_at(at(i * 50), at(i * 50), false);
        }
        limiter.on_answer_at(at(1020), at(1020), true);
        (limiter, at(1020))
    }

    #[test]
    fn a_paused_origin_releases_its_waiters_paced_at_the_learned_rate() {
        let (limiter, now) = taught(None);
        let rate = limiter.learned_rate().unwrap();
        assert!((rate - 14.0).abs() < 0.01, "{rate}");
        let interval = Duration::from_secs_f64(1.0 / rate);
        let end = now + Duration::from_secs(2);
        limiter.pause_until(end);
        // Five waiters, each trying again when told: one slot per interval.
        let mut slots = Vec::new();
        for _ in 0..5 {
            let mut t = now;
            let slot = loop {
                match limiter.take("GET", "/a", t) {
                    Ok(slot) => break slot,
                    Err(next) => t = next,
                }
            };
            slots.push(slot);
        }
        assert_eq!(slots[0], end);
        for pair in slots.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(
                gap.abs_diff(interval) < SLACK * 2,
                "{gap:?} vs {interval:?}"
            );
        }
    }

    /// Rows: (configured limit, what the learned rate may never exceed),
    /// through 30 s of successes after the throttle.
    #[test]
    fn a_configured_limit_is_the_ceiling_of_the_learned_rate() {
        let rows: [(Option<RateLimit>, f64); 2] =
            [(None, f64::INFINITY), (Some(RateLimit::per_second(5)), 5.0)];
        for (limit, ceiling) in rows {
            let (limiter, now) = taught(limit);
            let mut highest: f64 = 0.0;
            for s in 1..=300 {
                let at = now + Duration::from_millis(s * 100);
                limiter.on_answer_at(at, at, false);
                highest = highest.max(limiter.learned_rate().unwrap());
            }
            assert!(highest <= ceiling, "{limit:?}: {highest}");
            assert!(highest > 4.9, "{limit:?}: grew back to {highest}");
        }
    }

    /// Rows: (learning, Retry-After) -> (every call waits until then, the
    /// learned rate). A learning origin lets a short wait hold only the
    /// call it answered; a longer one holds every call (and may become
    /// their pace once the server's answers bear it out: `cubic`'s tests).
    #[test]
    fn a_retry_after_holds_the_origin_when_long_or_not_learning() {
        let s = Duration::from_secs;
        let rows = [
            (false, s(1), true, None),
            (true, s(1), false, None),
            (true, s(3), true, None),
            (true, s(60), true, None),
        ];
        for (learning, wait, holds, rate) in rows {
            let adaptive = learning.then(AdaptiveRate::default);
            let limiter = RateLimiter::new("http://x:80", None, &[], adaptive);
            let now = limiter.epoch;
            limiter.on_retry_after_at(now, wait, Duration::MAX);
            let free = match limiter.take("GET", "/a", now) {
                Ok(_) => now,
                Err(at) => at,
            };
            assert_eq!(free == now + wait, holds, "{learning} {wait:?}");
            assert_eq!(limiter.learned_rate(), rate, "{learning} {wait:?}");
        }
    }

    #[test]
    fn a_stated_quota_is_spread_over_its_window() {
        let limiter = RateLimiter::new("http://x:80", None, &[], None);
        limiter.on_quota(10, Duration::from_secs(5));
        let now = Instant::now();
        assert_eq!(limiter.take("GET", "/a", now), Ok(now));
        assert_eq!(
            limiter.take("GET", "/a", now),
            Err(now + Duration::from_millis(500))
        );
        limiter.on_quota(0, Duration::from_secs(60));
        assert!(
            limiter.take("GET", "/a", Instant::now()).unwrap_err() > now + Duration::from_secs(59)
        );
    }
}
