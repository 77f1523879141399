//! Client-side rate limiting: wait instead of sending a request that the
//! server would answer with 429.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::route::{self, Route};
use learned::Learning;

pub(crate) mod bandwidth;
pub(crate) mod cubic;
mod learned;
mod learner;
mod rate;

pub use learner::{AdaptiveRate, RateLearner};
pub use rate::RateLimit;

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

/// Told each time an origin's learned rate is cut: the origin
/// (`scheme://host:port`) and the new rate in requests per second.
pub type RateObserver = dyn Fn(&str, f64) + Send + Sync;

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
    learned: Option<Learning>,
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
            let ceiling = match (a.ceiling(), configured) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            Learning::new(a.floor(), ceiling)
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
        route: &Route<'_>,
        until: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<Instant, ApiError> {
        loop {
            let now = Instant::now();
            let at = match self.take(route, now) {
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
    fn take(&self, on: &Route<'_>, now: Instant) -> Result<Instant, Instant> {
        let path = route::path_of(on.url());
        let route = self.routes.iter().find(|r| {
            r.method.eq_ignore_ascii_case(on.method()) && route::matches(&r.pattern, path)
        });
        let paused = lock(&self.paused_until).unwrap_or(now);
        // Every pacer is locked (always in this order) so that the slot is
        // taken in each at once.
        let mut global = self.global.as_ref().map(lock);
        let mut local = route.map(|r| lock(&r.pacer));
        let mut routes = self.learned.as_ref().map(Learning::lock);
        // Only a route that has answered has a rate to keep to.
        let learned = routes
            .as_deref_mut()
            .filter(|m| !m.is_empty())
            .and_then(|m| m.get_mut(&on.id()));
        let mut quota = lock(&self.quota);
        let paused = learned
            .as_ref()
            .and_then(|l| l.paused_until)
            .map_or(paused, |p| p.max(paused));
        let learned_interval = learned
            .as_ref()
            .and_then(|l| l.cubic.rate())
            .map(|r| Duration::try_from_secs_f64(1.0 / r).unwrap_or(LONGEST_PAUSE));
        let quota_on = quota.until.is_some_and(|u| u > now);
        let learned_next = learned
            .as_ref()
            .and_then(|l| Some(l.last? + learned_interval?));
        let slot = [global.as_deref(), local.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|p| p.next)
            .chain(learned_next)
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
        if let Some(l) = learned.filter(|_| learned_interval.is_some()) {
            l.last = Some(start(learned_next));
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

    /// An answer on `route` came back to a request let out at `sent`:
    /// `throttled` when it said slow down (429, `SlowDown`, a used-up
    /// quota). Adjusts the route's learned rate.
    pub fn on_answer(&self, route: &Route<'_>, sent: Instant, throttled: bool) {
        self.on_answer_at(route, sent, Instant::now(), throttled);
    }

    fn on_answer_at(&self, route: &Route<'_>, sent: Instant, at: Instant, throttled: bool) {
        let Some(learning) = &self.learned else {
            return;
        };
        let answer = cubic::Answer {
            sent: self.secs(sent),
            at: self.secs(at),
            throttled,
        };
        let mut routes = learning.lock();
        let cut = learning
            .route(&mut routes, route.id())
            .cubic
            .on_answer(answer);
        drop(routes);
        self.tell(route, cut);
    }

    /// A throttle said to wait `wait` (`Retry-After`). Without a learned
    /// rate, every call waits. With one, a wait under 2 s holds only the
    /// call it answered (it may be a sub-second wait rounded up, and the
    /// cut rate slows the others); a longer one holds every call, and one
    /// of up to 10 s may be the server's pace: once its answers bear that
    /// out, the learned rate keeps to one request per wait. No call is
    /// held longer than `longest` (the policy's cap on `Retry-After`).
    pub fn on_retry_after(&self, route: &Route<'_>, wait: Duration, longest: Duration) {
        self.on_retry_after_at(route, Instant::now(), wait, longest);
    }

    /// As [`RateLimiter::on_retry_after`]; with a learned rate, the wait
    /// holds the calls of the route it answered, not the origin's others.
    fn on_retry_after_at(&self, route: &Route<'_>, at: Instant, wait: Duration, longest: Duration) {
        let pause = wait.min(longest);
        let Some(learning) = &self.learned else {
            return self.pause_from(at, pause);
        };
        if wait.as_secs_f64() < cubic::STATED_MIN {
            return;
        }
        let mut routes = learning.lock();
        let learned = learning.route(&mut routes, route.id());
        let cut = learned
            .cubic
            .on_stated_wait(self.secs(at), wait.as_secs_f64());
        let until = at + pause.min(LONGEST_PAUSE);
        learned.paused_until = Some(learned.paused_until.map_or(until, |p| p.max(until)));
        drop(routes);
        self.tell(route, cut);
    }

    /// Seconds since the epoch of the learned rate's times.
    fn secs(&self, i: Instant) -> f64 {
        i.saturating_duration_since(self.epoch).as_secs_f64()
    }

    /// Logs a cut of `route`'s learned rate and tells the observer.
    fn tell(&self, route: &Route<'_>, cut: Option<f64>) {
        if let Some(rate) = cut {
            log::info!(
                target: "apiretry::rate",
                "{} {}: throttled, pacing at {rate:.2} req/s",
                self.origin,
                route.key()
            );
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

    /// Takes back the cuts of the current run of throttles of `route`, or
    /// of every route (`None`): an overload gate closed, and they told of
    /// an outage, not of a rate.
    pub fn rewind(&self, route: Option<&Route<'_>>) {
        let Some(learning) = &self.learned else {
            return;
        };
        let mut routes = learning.lock();
        match route {
            Some(r) => {
                if let Some(l) = routes.get_mut(&r.id()) {
                    l.cubic.rewind();
                }
            }
            None => routes.values_mut().for_each(|l| l.cubic.rewind()),
        }
    }

    /// The learned rate in requests per second, once a throttle taught
    /// one: the slowest of the origin's routes'.
    pub fn learned_rate(&self) -> Option<f64> {
        self.learned.as_ref().and_then(Learning::slowest)
    }
}

#[cfg(test)]
mod tests;
