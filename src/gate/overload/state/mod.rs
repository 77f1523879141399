//! The decisions of one origin's overload gate on given times, without
//! threads: when an origin that answers but refuses is judged overloaded,
//! when a trial request may go, and when held calls leave once it accepts
//! again. The client's gate and the fleet model both drive it.

use std::time::{Duration, Instant};

use crate::backoff::Backoff;
use crate::gate::connectivity::{Admission, ConnectivityState};
use crate::kind::Kind;

/// Refusals in a row, with no acceptance between them, that can judge an
/// origin overloaded.
pub const TRIP_REFUSALS: u32 = 3;

/// ... if they span at least this long: a burst of refusals to requests
/// sent together (16 threads meeting a token bucket of 5) is a rate limit
/// the learned rate handles, not a service that refuses everything.
pub const TRIP_SPAN: Duration = Duration::from_millis(500);

/// What an answer changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overload {
    /// Nothing the application need hear.
    Unchanged,
    /// The origin is judged overloaded: calls are held from now on.
    Began,
    /// It accepts again: held calls leave, paced.
    Ended,
}

/// One origin's overload gate. It closes when the origin refuses
/// [`TRIP_REFUSALS`] requests in a row over at least [`TRIP_SPAN`]
/// (refusals as [`OverloadState::is_refusal`] says). While closed, calls are held and one
/// of them at a time goes as a trial request, on the policy's backoff (the
/// connectivity probes' schedule: 0.5 s, 1, 2, 4, then 6 s, each plus up to
/// half again) from where the refusals left it: the first trial waits 2 s,
/// as one call refused three times would. The first acceptance opens it,
/// and the held calls leave
/// paced as after a network outage: [`crate::RELEASE_FACTOR`] times the
/// demand measured before it closed.
///
/// This is client-side adaptive throttling (Google SRE, "Handling
/// Overload") for the case the learned rate cannot handle: a service that
/// accepts some of a client's requests is paced by the rate learned from
/// its refusals; one that accepts none would keep being offered the learned
/// rate's floor by every client. Here each client offers it one trial at a
/// time, on the seed's backoff, and nothing else.
///
/// ```
/// use std::time::{Duration, Instant};
/// use apiretry::{Admission, Backoff, Jitter, Overload, OverloadState};
///
/// let trials = Backoff::default().with_cap(Duration::from_secs(6)).with_jitter(Jitter::None);
/// let mut gate = OverloadState::new(trials, 1);
/// let t0 = Instant::now();
/// let ms = |n| t0 + Duration::from_millis(n);
/// assert_eq!(gate.on_answer(ms(0), true, false), Overload::Unchanged);
/// assert_eq!(gate.on_answer(ms(300), true, false), Overload::Unchanged);
/// assert_eq!(gate.on_answer(ms(600), true, false), Overload::Began);
/// assert_eq!(gate.admit(ms(700), false), Admission::Hold);
/// assert_eq!(gate.admit(ms(2600), false), Admission::Trial); // 2 s on
/// assert_eq!(gate.admit(ms(2600), false), Admission::Hold); // one trial at a time
/// assert_eq!(gate.on_answer(ms(2650), true, true), Overload::Unchanged);
/// assert_eq!(gate.admit(ms(6600), true), Admission::Hold);
/// assert_eq!(gate.admit(ms(6650), true), Admission::Trial); // then 4 s on
/// assert_eq!(gate.on_answer(ms(6700), false, true), Overload::Ended);
/// assert_eq!(gate.admit(ms(6700), true), Admission::At(ms(6700))); // released, paced
/// ```
#[derive(Clone, Debug)]
pub struct OverloadState {
    /// The hold, its schedule (of trials here), the demand measured before
    /// it and the paced release: the connectivity gate's.
    hold: ConnectivityState,
    /// Refusals since the last acceptance, and when the first came.
    streak: u32,
    streak_from: Option<Instant>,
    /// While closed: when the next trial may go, and whether one is out.
    trial_at: Option<Instant>,
    trial_out: bool,
}

impl OverloadState {
    /// Whether an answer of this kind is a refusal: the service says it cannot
    /// take the request now (`rate_limited`: 429, `SlowDown`, throttling codes;
    /// `unavailable`: 502, 503, 504). Both are retried `yes`, so they are the
    /// answers that multiply a fleet's load. A `server_error` (500) is not:
    /// it is retried once at most, and more often an endpoint's bug than a
    /// full service, which must not hold back a device's other calls.
    pub fn is_refusal(kind: Kind) -> bool {
        matches!(kind, Kind::RateLimited | Kind::Unavailable)
    }

    /// An open gate whose trials follow `trials`; `seed` drives their jitter.
    pub fn new(trials: Backoff, seed: u64) -> Self {
        OverloadState {
            hold: ConnectivityState::new(trials, seed),
            streak: 0,
            streak_from: None,
            trial_at: None,
            trial_out: false,
        }
    }

    /// Whether calls are being held.
    pub fn is_closed(&self) -> bool {
        self.hold.is_closed()
    }

    /// Whether it is open and counting no refusals: an acceptance then
    /// changes nothing.
    pub fn is_quiet(&self) -> bool {
        self.streak == 0 && !self.is_closed()
    }

    /// When the next trial may go, while closed and none is out.
    pub fn trial_due(&self) -> Option<Instant> {
        self.trial_at.filter(|_| !self.trial_out)
    }

    /// A call asks to go at `now`, for its first attempt or (`retry`) a
    /// later one: only first attempts are the demand that paces a release,
    /// since a service's refusals multiply the attempts, not the calls.
    /// [`Admission::Trial`] makes it the trial request, whose answer must
    /// be told with `trial` set (or, if it gets none,
    /// [`OverloadState::on_trial_lost`]).
    pub fn admit(&mut self, now: Instant, retry: bool) -> Admission {
        if !self.is_closed() {
            return self.hold.admit_counted(now, !retry);
        }
        match self.trial_due() {
            Some(at) if at <= now => {
                self.trial_out = true;
                Admission::Trial
            }
            _ => Admission::Hold,
        }
    }

    /// An answer came at `now`: `refused` as [`OverloadState::is_refusal`] says, `trial`
    /// when it answered the trial request.
    pub fn on_answer(&mut self, now: Instant, refused: bool, trial: bool) -> Overload {
        if !refused {
            self.streak = 0;
            self.streak_from = None;
            if !self.is_closed() {
                return Overload::Unchanged;
            }
            // Any acceptance, the trial's or a call's sent before the gate
            // closed, shows the origin taking work again.
            self.hold.on_reachable(now);
            self.trial_at = None;
            self.trial_out = false;
            return Overload::Ended;
        }
        if self.is_closed() {
            if trial {
                self.next_trial(now);
            }
            return Overload::Unchanged;
        }
        self.streak += 1;
        let from = *self.streak_from.get_or_insert(now);
        if self.streak < TRIP_REFUSALS || now.saturating_duration_since(from) < TRIP_SPAN {
            return Overload::Unchanged;
        }
        // The refusals were the schedule's first steps, as for one call
        // refused that often: the first trial waits the step after them.
        let mut first = self.hold.on_unreachable(now).unwrap_or_default();
        for _ in 1..TRIP_REFUSALS {
            first = self.hold.next_probe();
        }
        self.trial_at = Some(now + first);
        self.trial_out = false;
        Overload::Began
    }

    /// The trial got no answer. `sent` when it went out (a timeout, a
    /// dropped connection: the next trial follows the schedule), not when
    /// it ended before (cancelled, past its deadline: another call may go
    /// at once).
    pub fn on_trial_lost(&mut self, now: Instant, sent: bool) {
        if !self.is_closed() {
            return;
        }
        match sent {
            true => self.next_trial(now),
            false => {
                self.trial_out = false;
                self.trial_at = Some(now);
            }
        }
    }

    fn next_trial(&mut self, now: Instant) {
        self.trial_out = false;
        self.trial_at = Some(now + self.hold.next_probe());
    }

    /// How many times the gate has closed.
    pub fn overloads(&self) -> u64 {
        self.hold.outages()
    }
}

#[cfg(test)]
mod tests;
