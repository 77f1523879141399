//! One origin's overload gates: its own, and one for each route that
//! refused. A rate-limited route (Frame.io's limits are per endpoint, from
//! 10 a minute to 100 a second) refusing alone closes only its own gate,
//! and the origin's other routes go on. Refusals in a row from several
//! routes, with no acceptance between (a service shedding everything),
//! close the origin's gate, which holds every route; so do a route's when
//! it is the only one the client has called lately (there is nothing else
//! to tell them apart by). The decisions, on given times, without threads.

use std::time::{Duration, Instant};

use super::state::{Overload, OverloadState};
use crate::backoff::Backoff;
use crate::gate::connectivity::Admission;
use crate::route::{ById, Route};

/// Whose trial request a call carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Whose {
    /// The origin's: its gate is closed.
    Origin,
    /// Its route's: that route's gate is closed.
    Route,
}

/// Routes remembered at most; quiet ones are forgotten first.
const ROUTES: usize = 64;

/// A route called within this long is in use: while another is, one
/// route's refusals are its own.
const RECENT: Duration = Duration::from_secs(10);

/// What an answer changed: the origin's gate, and the route's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Changed {
    pub origin: Overload,
    pub route: Overload,
}

#[derive(Debug)]
pub(crate) struct Gates {
    origin: OverloadState,
    routes: ById<OverloadState>,
    /// The routes of the current run of refusals (two are enough to know
    /// it is more than one).
    run: Vec<u64>,
    /// When each route was last called.
    called: ById<Instant>,
    trials: Backoff,
    seed: u64,
}

impl Gates {
    pub fn new(trials: Backoff, seed: u64) -> Self {
        Gates {
            origin: OverloadState::new(trials.clone(), seed),
            routes: ById::default(),
            run: Vec::new(),
            called: ById::default(),
            trials,
            seed,
        }
    }

    /// Whether the origin's gate holds every call.
    pub fn is_closed(&self) -> bool {
        self.origin.is_closed()
    }

    /// Whether no gate is closed or counting refusals: an acceptance then
    /// changes nothing.
    pub fn is_quiet(&self) -> bool {
        self.origin.is_quiet()
            && self.run.is_empty()
            && self.routes.values().all(OverloadState::is_quiet)
    }

    /// Whether calls on `route` are held: the origin's gate or the
    /// route's is closed.
    pub fn holds(&self, route: &Route<'_>) -> bool {
        self.origin.is_closed()
            || !self.routes.is_empty()
                && self
                    .routes
                    .get(&route.id())
                    .is_some_and(OverloadState::is_closed)
    }

    /// A call on `route` asks to go at `now` (`retry`: not its first
    /// attempt), through the origin's gate and its route's.
    pub fn admit(
        &mut self,
        now: Instant,
        retry: bool,
        route: &Route<'_>,
    ) -> (Admission, Option<Whose>) {
        self.called(now, route.id());
        if self.origin.is_closed() {
            return trial_of(self.origin.admit(now, retry), Whose::Origin);
        }
        // While no route has refused, no call builds its route's key.
        let own = match self.routes.is_empty() {
            true => None,
            false => self.routes.get_mut(&route.id()),
        };
        let Some(own) = own else {
            return (self.origin.admit(now, retry), None);
        };
        if own.is_closed() {
            return trial_of(own.admit(now, retry), Whose::Route);
        }
        let mine = own.admit(now, retry);
        (later(mine, self.origin.admit(now, retry)), None)
    }

    /// When the trial the call on `route` waits for is due.
    pub fn trial_due(&self, route: &Route<'_>) -> Option<Instant> {
        if self.origin.is_closed() || self.routes.is_empty() {
            return self.origin.trial_due();
        }
        self.routes
            .get(&route.id())
            .and_then(OverloadState::trial_due)
    }

    /// An answer on `route` came at `now`: `refused` as
    /// [`OverloadState::is_refusal`] says; `trial`, whose trial it answered.
    pub fn on_answer(
        &mut self,
        now: Instant,
        route: &Route<'_>,
        refused: bool,
        trial: Option<Whose>,
    ) -> Changed {
        let key = route.id();
        let to_origin = trial == Some(Whose::Origin);
        let origin = if !refused {
            self.run.clear();
            self.origin.on_answer(now, false, to_origin)
        } else {
            if self.run.len() < 2 && !self.run.contains(&key) {
                self.run.push(key);
            }
            let alone = !self
                .called
                .iter()
                .any(|(k, at)| *k != key && now.saturating_duration_since(*at) < RECENT);
            match self.origin.is_closed() || self.run.len() > 1 || alone {
                true => self.origin.on_answer(now, true, to_origin),
                false => Overload::Unchanged,
            }
        };
        if self.origin.is_closed() {
            // The origin's gate holds every route now. A route closed
            // before stays closed when it opens; the others start afresh.
            self.routes.retain(|_, r| r.is_closed());
            return Changed {
                origin,
                route: Overload::Unchanged,
            };
        }
        let known = self.routes.contains_key(&key);
        let route_change = match (refused, known) {
            (_, true) => match self.routes.get_mut(&key) {
                Some(r) => r.on_answer(now, refused, trial == Some(Whose::Route)),
                None => Overload::Unchanged,
            },
            (false, false) => Overload::Unchanged,
            (true, false) if !self.has_room() => Overload::Unchanged,
            (true, false) => {
                let seed = self.seed ^ self.routes.len() as u64;
                let mut r = OverloadState::new(self.trials.clone(), seed);
                let change = r.on_answer(now, true, false);
                self.routes.insert(key, r);
                change
            }
        };
        Changed {
            origin,
            route: route_change,
        }
    }

    /// The trial got no answer; `sent` when it went out.
    pub fn on_trial_lost(&mut self, now: Instant, route: &Route<'_>, sent: bool, whose: Whose) {
        match whose {
            Whose::Origin => self.origin.on_trial_lost(now, sent),
            Whose::Route => {
                if let Some(r) = self.routes.get_mut(&route.id()) {
                    r.on_trial_lost(now, sent);
                }
            }
        }
    }

    /// `key` was called at `now`; past [`ROUTES`] routes, the one called
    /// longest ago is forgotten.
    fn called(&mut self, now: Instant, key: u64) {
        if let Some(at) = self.called.get_mut(&key) {
            *at = now;
            return;
        }
        if self.called.len() >= ROUTES {
            let oldest = self
                .called
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, _)| *k);
            oldest.map(|k| self.called.remove(&k));
        }
        self.called.insert(key, now);
    }

    /// Whether another route fits: past [`ROUTES`], the quiet ones go
    /// first; if none is quiet, the new route's refusals count only toward
    /// the origin's gate.
    fn has_room(&mut self) -> bool {
        if self.routes.len() >= ROUTES {
            self.routes.retain(|_, r| !r.is_quiet());
        }
        self.routes.len() < ROUTES
    }
}

/// A trial admission marked with whose trial it is.
fn trial_of(a: Admission, whose: Whose) -> (Admission, Option<Whose>) {
    match a {
        Admission::Trial => (a, Some(whose)),
        _ => (a, None),
    }
}

/// The later of two open gates' answers: a turn in either's paced release.
fn later(a: Admission, b: Admission) -> Admission {
    match (a, b) {
        (Admission::At(x), Admission::At(y)) => Admission::At(x.max(y)),
        (Admission::At(x), _) | (_, Admission::At(x)) => Admission::At(x),
        _ => Admission::Go,
    }
}

#[cfg(test)]
mod tests;
