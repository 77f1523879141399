//! The decisions of one origin's connectivity gate on given times, without
//! threads: when to probe an unreachable origin, and when each call may go
//! once it answers again. The client's gate and fleet simulations both
//! drive it.

use std::time::{Duration, Instant};

use crate::backoff::{Backoff, Schedule};

/// Held calls leave a reopened gate at this multiple of the demand seen
/// before it closed: the backlog drains (at 0.2 of the demand) without the
/// fleet's calls all landing on a just-recovered service at once.
pub const RELEASE_FACTOR: f64 = 1.2;

/// The slowest release pace, in calls a second, for a client whose demand
/// before the outage was lower (or unknown).
pub const MIN_RELEASE_RATE: f64 = 1.0;

/// A call this late for the turn due is still the backlog's.
const RELEASE_SLACK: Duration = Duration::from_millis(50);

/// Demand is measured over the last one to two of these windows.
const DEMAND_WINDOW: Duration = Duration::from_secs(10);

/// What a call finds at the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admission {
    /// The origin is reachable: go now.
    Go,
    /// The origin is unreachable: wait until a probe gets an answer
    /// ([`ConnectivityState::on_reachable`]), then ask again.
    Hold,
    /// Released after an outage: this call's turn is at the given time.
    At(Instant),
    /// The origin is held for overload and this call goes as its trial
    /// request ([`crate::OverloadState`]); the connectivity gate never says it.
    Trial,
}

/// One origin's connectivity gate: closed by a failure that shows the
/// origin unreachable, probed on the policy's backoff (seed 001: "When
/// polling for connection status, you should use the same exponential
/// backoff strategy"), and opened by any answer. Calls held while it was
/// closed then leave paced at [`RELEASE_FACTOR`] times the demand measured
/// before the outage (at least [`MIN_RELEASE_RATE`] a second), calls
/// arriving meanwhile queueing behind them, until the backlog is gone.
///
/// ```
/// use std::time::{Duration, Instant};
/// use apiretry::{Admission, Backoff, ConnectivityState, Jitter};
///
/// let probes = Backoff::default().with_cap(Duration::from_secs(6)).with_jitter(Jitter::None);
/// let mut gate = ConnectivityState::new(probes, 1);
/// let t0 = Instant::now();
/// // A first call fails unreachable: the gate closes, the first probe is due in 0.5 s.
/// assert_eq!(gate.on_unreachable(t0), Some(Duration::from_millis(500)));
/// assert_eq!(gate.on_unreachable(t0), None); // already closed
/// assert_eq!(gate.admit(t0), Admission::Hold);
/// let pauses: Vec<u64> = (0..5).map(|_| gate.next_probe().as_millis() as u64).collect();
/// assert_eq!(pauses, [1000, 2000, 4000, 6000, 6000]);
/// let back = t0 + Duration::from_secs(30);
/// gate.on_reachable(back);
/// // Held calls leave paced: one a second here (no demand was measured).
/// assert_eq!(gate.admit(back), Admission::At(back));
/// assert_eq!(gate.admit(back), Admission::At(back + Duration::from_secs(1)));
/// // Once the backlog is gone, calls go at once.
/// assert_eq!(gate.admit(back + Duration::from_secs(5)), Admission::Go);
/// ```
#[derive(Clone, Debug)]
pub struct ConnectivityState {
    probe_backoff: Backoff,
    rng: fastrand::Rng,
    /// The probe pauses of the current outage; `Some` while closed.
    probes: Option<Schedule>,
    demand: Demand,
    /// The calls' release pace after an outage: the next turn and the
    /// spacing; `None` once the backlog is gone.
    release: Option<(Instant, Duration)>,
    /// How many times the gate has closed.
    outages: u64,
}

impl ConnectivityState {
    /// An open gate whose probes follow `probe_backoff`; `seed` drives the
    /// probes' jitter.
    pub fn new(probe_backoff: Backoff, seed: u64) -> Self {
        ConnectivityState {
            probe_backoff,
            rng: fastrand::Rng::with_seed(seed),
            probes: None,
            demand: Demand::default(),
            release: None,
            outages: 0,
        }
    }

    /// Whether calls are being held.
    pub fn is_closed(&self) -> bool {
        self.probes.is_some()
    }

    /// How many times the gate has closed: a prober started for one outage
    /// stops once the gate opened, even if it closed again since (the new
    /// outage has a prober of its own).
    pub fn outages(&self) -> u64 {
        self.outages
    }

    /// A call asks to go at `now`. A call told [`Admission::At`] has its
    /// turn taken: it goes then without asking again.
    pub fn admit(&mut self, now: Instant) -> Admission {
        self.admit_counted(now, true)
    }

    /// As [`ConnectivityState::admit`]; a call not `counted` is no part of
    /// the demand that paces a release (a retry).
    pub(crate) fn admit_counted(&mut self, now: Instant, counted: bool) -> Admission {
        if self.is_closed() {
            return Admission::Hold;
        }
        if counted {
            self.demand.count(now);
        }
        match self.release {
            // A turn not yet passed (a held call woken a little late
            // still takes the one due now): the next is one spacing on.
            Some((next, spacing)) if next + spacing.min(RELEASE_SLACK) > now => {
                let turn = next.max(now);
                self.release = Some((turn + spacing, spacing));
                Admission::At(turn)
            }
            _ => {
                self.release = None; // the backlog is gone
                Admission::Go
            }
        }
    }

    /// An attempt at `now` showed the origin unreachable. Returns the pause
    /// before the first probe when this closed the gate (the caller
    /// starts probing), `None` when it was closed already.
    pub fn on_unreachable(&mut self, now: Instant) -> Option<Duration> {
        if self.is_closed() {
            return None;
        }
        self.demand.freeze(now);
        self.release = None;
        self.outages += 1;
        let mut probes = self.probe_backoff.schedule_seeded(self.rng.u64(..));
        let first = probes.next().unwrap_or_default();
        self.probes = Some(probes);
        Some(first)
    }

    /// The application says the link changed: while closed, the probe
    /// schedule starts over (the caller probes at once). Whether closed.
    pub fn restart_probes(&mut self) -> bool {
        if !self.is_closed() {
            return false;
        }
        self.probes = Some(self.probe_backoff.schedule_seeded(self.rng.u64(..)));
        true
    }

    /// A probe got no answer: the pause before the next one (zero when the
    /// gate is open, and nothing is left to probe).
    pub fn next_probe(&mut self) -> Duration {
        self.probes
            .as_mut()
            .and_then(Iterator::next)
            .unwrap_or_default()
    }

    /// A probe (or any attempt) got an answer at `now`: the gate opens, and
    /// the calls it held take turns from `now` on.
    pub fn on_reachable(&mut self, now: Instant) {
        if self.probes.take().is_none() {
            return;
        }
        let spacing = Duration::try_from_secs_f64(1.0 / self.release_rate())
            .unwrap_or(Duration::from_secs(1));
        self.release = Some((now, spacing));
    }

    /// The pace held calls leave at after the next reopening (or this one),
    /// in calls a second.
    pub fn release_rate(&self) -> f64 {
        (RELEASE_FACTOR * self.demand.frozen).max(MIN_RELEASE_RATE)
    }
}

/// Calls a second through the open gate, over the last one to two windows.
#[derive(Clone, Debug, Default)]
struct Demand {
    /// The current window's start and count, and the previous window's.
    window: Option<(Instant, u32)>,
    previous: u32,
    /// The rate when the gate last closed.
    frozen: f64,
}

impl Demand {
    fn count(&mut self, now: Instant) {
        let (start, n) = self.window.get_or_insert((now, 0));
        if now.saturating_duration_since(*start) >= DEMAND_WINDOW {
            // A window longer idle than two is forgotten.
            let idle = now.saturating_duration_since(*start) >= 2 * DEMAND_WINDOW;
            self.previous = if idle { 0 } else { *n };
            *start = now;
            *n = 0;
        }
        *n += 1;
    }

    fn freeze(&mut self, now: Instant) {
        self.frozen = match self.window {
            None => 0.0,
            Some((start, n)) => {
                let span = now.saturating_duration_since(start);
                let (calls, span) = match span >= 2 * DEMAND_WINDOW {
                    true => (0, span),
                    false => (
                        n + self.previous,
                        span + DEMAND_WINDOW * u32::from(self.previous > 0),
                    ),
                };
                f64::from(calls) / span.as_secs_f64().max(1.0)
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn demand_sets_the_release_pace() {
        // (calls a second before the outage, for how long, release rate)
        let rows = [
            (3.0, 30.0, 3.6),
            (10.0, 5.0, 12.0),
            (0.5, 30.0, 1.0),
            (100.0, 0.2, 24.0), // 20 calls over less than a second: 20/s
        ];
        for (rate, over, want) in rows {
            let mut gate = ConnectivityState::new(Backoff::default(), 1);
            let t0 = Instant::now();
            let n = (rate * over) as u32;
            for i in 0..n {
                gate.admit(t0 + secs(f64::from(i) / rate));
            }
            gate.on_unreachable(t0 + secs(over));
            let got = gate.release_rate();
            assert!(
                (got - want).abs() < 0.2 * want,
                "{rate}/s over {over} s: {got}"
            );
        }
    }

    #[test]
    fn held_calls_leave_paced_then_the_gate_is_open() {
        let mut gate = ConnectivityState::new(Backoff::default(), 1);
        let t0 = Instant::now();
        for i in 0..40 {
            gate.admit(t0 + secs(f64::from(i) * 0.25)); // 4 calls a second
        }
        let down = t0 + secs(10.0);
        gate.on_unreachable(down);
        for i in 0..10 {
            assert_eq!(gate.admit(down + secs(f64::from(i))), Admission::Hold);
        }
        let back = down + secs(30.0);
        gate.on_reachable(back);
        let turns: Vec<Duration> = (0..6)
            .map(|_| match gate.admit(back) {
                Admission::At(t) => t - back,
                other => panic!("{other:?}"),
            })
            .collect();
        let spacing = secs(1.0 / 4.8);
        assert_eq!(turns, (0..6).map(|i| spacing * i).collect::<Vec<_>>());
        // A call arriving meanwhile queues behind them.
        assert_eq!(
            gate.admit(back + secs(0.1)),
            Admission::At(back + spacing * 6)
        );
        // Past the last turn, the gate is open again.
        assert_eq!(gate.admit(back + secs(5.0)), Admission::Go);
        assert_eq!(gate.admit(back + secs(5.0)), Admission::Go);
    }
}
