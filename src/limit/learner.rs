//! Learning the rate an origin allows from its throttling answers, within a
//! floor and a ceiling (CUBIC, as the AWS SDKs' adaptive mode).

use std::time::Duration;

use super::cubic;

/// How a client learns the rate of an origin that does not state its limit
/// (CUBIC): on by default, between a floor and a ceiling.
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

    /// Takes back the cuts of the current run of throttles (answers since
    /// the last one not throttled), for an origin judged overloaded
    /// ([`crate::OverloadState`]): refusals from a service that refuses
    /// everything tell of the outage, not of the rate it takes. Feed it no
    /// answers while the overload lasts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use apiretry::{AdaptiveRate, RateLearner};
    ///
    /// let mut learn = RateLearner::new(AdaptiveRate::default());
    /// let ms = Duration::from_millis;
    /// learn.on_answer(ms(0), ms(10), false);
    /// learn.on_answer(ms(100), ms(110), true);
    /// assert!(learn.rate().is_some());
    /// learn.rewind();
    /// assert_eq!(learn.rate(), None); // as before the refusals
    /// ```
    pub fn rewind(&mut self) {
        self.cubic.rewind();
    }

    /// The learned rate in requests per second; `None` until a throttle.
    pub fn rate(&self) -> Option<f64> {
        self.cubic.rate()
    }
}
