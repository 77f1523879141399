//! The rate a client learns when the server does not say its limit: the
//! CUBIC-controlled rate of the AWS SDKs' adaptive retry mode (beta 0.7,
//! measured rate smoothed), with four changes that measured better
//! (BENCHMARKS.md, `cargo bench --bench peers -- _limit`):
//! - one cut per round: answers to requests let out before the last cut
//!   do not cut again (16 threads' 429s to one burst cut the SDKs' rate
//!   0.7^16-fold, to its floor);
//! - before the first half second is measured, the rate so far stands in
//!   for the measured rate (the SDKs take 0 and fall to the floor);
//! - the measured rate is a moving average over answers with a time
//!   constant of 0.4 s, not the SDKs' half-second buckets smoothed by 0.8:
//!   the buckets lag a falling limit by a second, so a cut there is cut
//!   from a rate already gone (50 -> 10 -> 50 req/s: goodput 0.80-0.88,
//!   then 0.91-0.94);
//! - scale 24 instead of 0.4: after a limit rose (10 -> 50 req/s), the
//!   rate is back in about 1.7 s instead of 6.5 (2.7 s at scale 6, which
//!   left goodput over 50 -> 10 -> 50 between 0.79 and 0.93); goodput
//!   under a fixed 50 req/s limit stays 0.99, 3-5% refused.
//!
//! Off until the first throttling answer; then each throttle cuts the rate
//! to 0.7 of what was being sent, and successes grow it back along a cubic
//! curve that returns to the rate of the last cut after
//! `((last_max * (1 - beta)) / scale)^(1/3)` seconds and probes above it
//! after that, never above twice the measured sending rate or the ceiling.
//!
//! A throttle whose `Retry-After` is 2 to 10 s may state the server's pace
//! (see [`Cubic::on_stated_wait`]). Once the server's acceptances bear it
//! out, the rate stays at or under one request per stated wait (below the
//! floor if need be) for the next [`STATED_HOLD`] requests, instead of
//! probing above a slow per-key limit every few seconds.
//!
//! A pure state machine over explicit times (seconds since any fixed
//! instant), so that its schedule can be checked exactly.

/// The multiplicative decrease on a throttle.
pub(crate) const BETA: f64 = 0.7;
/// How fast the cubic curve grows (the SDKs: 0.4; see the module's notes).
pub(crate) const SCALE: f64 = 24.0;
/// Time constant of the measured sending rate's moving average, in
/// seconds. 0.25 s followed a falling limit as well but refused 5.3% under
/// a fixed unknown limit (goal < 5%); 0.4 s refused 4.0-4.3%.
pub(crate) const TAU: f64 = 0.4;
/// How long the rate so far stands in for the measured rate.
pub(crate) const FIRST_SPAN: f64 = 0.5;
/// The lowest rate learned, unless a floor is set: the SDKs' 0.5 requests
/// a second. Lower floors trap a client whose rate collapsed: the rate
/// grows only as answers come, and they come at the rate.
pub(crate) const MIN_RATE: f64 = 0.5;
/// The shortest `Retry-After` that states a pace: a sub-second wait is
/// sent rounded up to 1 s, so `1` says nothing of the server's rate.
pub(crate) const STATED_MIN: f64 = 2.0;
/// The longest `Retry-After` taken for a pace: a longer wait is more often
/// a penalty or the reset of a window that then lets a burst through (an
/// API's minute, a day's quota) than the time to one token, and pacing at
/// one request per minute would cost such an API nearly all its goodput.
pub(crate) const STATED_MAX: f64 = 10.0;
/// A stated wait is taken for the pace once the server's answers bear it
/// out: over the next [`BORNE_WAITS`] waits it accepted at most
/// [`BORNE_SHARE`] requests per wait. A wait far below the rate the server
/// accepts is a fixed value (Shopify's constant `Retry-After: 2.0` over a
/// 2 req/s bucket) or a penalty, not the time to one token.
pub(crate) const BORNE_WAITS: f64 = 3.0;
pub(crate) const BORNE_SHARE: f64 = 1.5;
/// How many requests a stated pace holds for before the rate probes above
/// it again: each probe costs a refused request or two, so probing once
/// per 100 keeps the refused share of a slow keyed API near 1%.
pub(crate) const STATED_HOLD: f64 = 100.0;
/// ... but for 10 minutes at most: a wait of hours is a quota that resets
/// (a day's), not a pace to keep for a hundred of them.
pub(crate) const STATED_HOLD_MAX: f64 = 600.0;

/// A pace the server stated, and until when it holds.
#[derive(Debug, Clone, Copy)]
struct Stated {
    pace: f64,
    until: f64,
}

/// A wait stated and not yet borne out: the longest one, since when the
/// server's acceptances are counted, and how many.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    wait: f64,
    from: f64,
    accepted: f64,
}

/// The learned rate of one origin.
#[derive(Debug, Clone)]
pub(crate) struct Cubic {
    /// Whether a throttle was seen (before that, nothing is paced).
    enabled: bool,
    /// The rate requests are paced at, when enabled.
    rate: f64,
    floor: f64,
    ceiling: Option<f64>,
    /// The measured sending rate, when it was last updated, and how many
    /// answers came in the first [`FIRST_SPAN`].
    measured: f64,
    last: f64,
    count: f64,
    /// When the first answer came.
    first: Option<f64>,
    /// The rate at the last throttle, and when it came.
    last_max: f64,
    last_throttle: f64,
    window: f64,
    stated: Option<Stated>,
    candidate: Option<Candidate>,
    /// The state before the current run of throttles, for [`Cubic::rewind`].
    before_throttles: Option<Box<Cubic>>,
}

/// One answer: when its request was let out, when the answer came, and
/// whether it said slow down.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Answer {
    pub sent: f64,
    pub at: f64,
    pub throttled: bool,
}

impl Cubic {
    /// Off until the first throttle; `floor` (> 0) and `ceiling` bound the
    /// rate once learned.
    pub fn new(floor: f64, ceiling: Option<f64>) -> Self {
        Cubic {
            enabled: false,
            rate: 0.0,
            floor,
            ceiling,
            measured: 0.0,
            last: 0.0,
            count: 0.0,
            first: None,
            last_max: 0.0,
            last_throttle: 0.0,
            window: 0.0,
            stated: None,
            candidate: None,
            before_throttles: None,
        }
    }

    /// Back to the state before the current run of throttles.
    pub fn rewind(&mut self) {
        if let Some(before) = self.before_throttles.take() {
            *self = *before;
        }
    }

    /// The learned rate in requests per second; `None` until a throttle.
    pub fn rate(&self) -> Option<f64> {
        self.enabled.then_some(self.rate)
    }

    /// An answer came back. A throttle cuts the rate once per round: an
    /// answer to a request let out before the last cut tells of the rate
    /// already cut from, so it does not cut again (else 16 threads' answers
    /// to one burst would cut it 16 times). Returns the new rate when cut.
    pub fn on_answer(&mut self, answer: Answer) -> Option<f64> {
        let Answer {
            sent,
            at: now,
            throttled,
        } = answer;
        match throttled {
            true if self.before_throttles.is_none() => {
                self.before_throttles = Some(Box::new(self.clone()));
            }
            false => self.before_throttles = None,
            true => {}
        }
        self.measure(now);
        let borne = self.bear_out(sent, now, throttled);
        if throttled && self.enabled && sent < self.last_throttle {
            return borne.then_some(self.rate);
        }
        let computed = if throttled {
            let sent = if self.enabled {
                self.measured.min(self.rate)
            } else {
                self.measured
            };
            self.last_max = sent;
            self.window = self.window_for(sent);
            self.last_throttle = now;
            self.enabled = true;
            sent * BETA
        } else {
            if !self.enabled {
                return None;
            }
            let t = now - self.last_throttle - self.window;
            SCALE * t.powi(3) + self.last_max
        };
        self.rate = self.bounded(computed.min(2.0 * self.measured), now);
        (throttled || borne).then_some(self.rate)
    }

    /// Counts an acceptance (of a request let out after the wait was
    /// stated) toward a stated wait not yet borne out; once [`BORNE_WAITS`]
    /// waits have passed, takes it for the pace if the server accepted no
    /// more than [`BORNE_SHARE`] requests per wait, and drops it if more.
    /// Whether the pace was taken.
    fn bear_out(&mut self, sent: f64, now: f64, throttled: bool) -> bool {
        let Some(c) = &mut self.candidate else {
            return false;
        };
        c.accepted += f64::from(u8::from(!throttled && sent >= c.from));
        let span = now - c.from;
        if span < BORNE_WAITS * c.wait {
            return false;
        }
        let c = *c;
        self.candidate = None;
        if c.accepted > BORNE_SHARE * span / c.wait {
            return false;
        }
        self.hold(now, 1.0 / c.wait);
        let rate = if self.enabled {
            self.rate
        } else {
            1.0 / c.wait
        };
        self.rate = self.bounded(rate, now);
        self.enabled = true;
        true
    }

    /// Holds the rate at or under `pace` from `now`.
    fn hold(&mut self, now: f64, pace: f64) {
        self.stated = Some(Stated {
            pace,
            until: now + (STATED_HOLD / pace).min(STATED_HOLD_MAX),
        });
    }

    /// A throttle said to wait `wait` seconds. A wait of [`STATED_MIN`] to
    /// [`STATED_MAX`] may be the server's pace for this origin (a token
    /// bucket's time to its next token). Once the server's answers bear it
    /// out (see [`BORNE_WAITS`]), the rate falls to one request per wait,
    /// the floor notwithstanding, and does not rise above it for the next
    /// [`STATED_HOLD`] requests (or [`STATED_HOLD_MAX`]). While a pace
    /// holds, a longer wait slows it at once. Returns the new rate when it
    /// fell.
    pub fn on_stated_wait(&mut self, at: f64, wait: f64) -> Option<f64> {
        if !(STATED_MIN..=STATED_MAX).contains(&wait) {
            return None;
        }
        if let Some(held) = self.stated_at(at) {
            let before = self.rate;
            self.hold(at, held.min(1.0 / wait));
            self.rate = self.bounded(self.rate, at);
            return (self.rate < before).then_some(self.rate);
        }
        let c = self.candidate.get_or_insert(Candidate {
            wait,
            from: at,
            accepted: 0.0,
        });
        c.wait = c.wait.max(wait);
        None
    }

    /// The pace stated and still holding at `now`.
    fn stated_at(&self, now: f64) -> Option<f64> {
        self.stated.filter(|s| s.until > now).map(|s| s.pace)
    }

    /// `rate` within the floor and ceiling, and under a stated pace.
    fn bounded(&self, rate: f64, now: f64) -> f64 {
        let mut rate = rate.max(self.floor);
        if let Some(c) = self.ceiling {
            rate = rate.min(c);
        }
        match self.stated_at(now) {
            Some(pace) => rate.min(pace),
            None => rate,
        }
    }

    /// Seconds from a cut back to the rate cut from.
    fn window_for(&self, max: f64) -> f64 {
        (max * (1.0 - BETA) / SCALE).cbrt()
    }

    /// The sending rate: over the first [`FIRST_SPAN`], the rate so far
    /// (a throttle in the first burst must not be taken for a rate of 0:
    /// the SDKs then fall to their floor and crawl back up for seconds);
    /// after it, a moving average of the rate between answers, weighted by
    /// `1 - e^(-dt/TAU)`. Answers at the same instant (threads answered
    /// together) add `1/TAU` each, the limit of that weight over `dt`; a
    /// steady rate is measured exactly.
    fn measure(&mut self, now: f64) {
        let first = *self.first.get_or_insert(now);
        if now - first < FIRST_SPAN {
            self.count += 1.0;
            self.measured = self.count / (now - first).max(0.05);
        } else {
            let dt = (now - self.last).max(0.0);
            let gain = if dt > 1e-9 {
                -(-dt / TAU).exp_m1() / dt
            } else {
                1.0 / TAU
            };
            self.measured = self.measured * (-dt / TAU).exp() + gain;
        }
        self.last = self.last.max(now);
    }
}

#[cfg(test)]
mod tests;
