//! The overload gate of one origin: when the origin answers but refuses
//! (load shedding), calls wait here while one trial request at a time goes
//! on the policy's backoff, instead of every call offering the refusing
//! service its retries. The decisions are [`OverloadState`]'s; this adds
//! the threads' waits.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{notify, wait_for_turn, ClientState, StateObserver};
use crate::backoff::Backoff;
use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::gate::connectivity::Admission;
use crate::kind::{Kind, Retry};

mod routes;
mod state;

pub(crate) use routes::{Changed, Whose};
pub use state::{Overload, OverloadState, TRIP_REFUSALS, TRIP_SPAN};

use crate::route::Route;
use routes::Gates;

/// What a released call waits for, in its errors.
const TURN: &str = "this call's turn after the service accepted calls again";

pub(crate) struct OverloadGate {
    /// The state and the condition held calls wait on, shared with the
    /// wakers their cancel tokens call.
    shared: Arc<Shared>,
    /// Whether refusals are being counted or the gate is closed, kept
    /// beside the state so that an accepted answer costs no lock while the
    /// origin accepts, as it nearly always does.
    engaged: AtomicBool,
    observer: Option<Arc<StateObserver>>,
    /// Off: never closes (`ClientBuilder::without_overload_control`).
    on: bool,
    /// Held calls' wake-ups, for the test that counts them.
    wakeups: AtomicUsize,
}

/// Held calls wake when it changes (a trial's answer, an opening), when
/// their trial is due, at their deadline, or on cancel: never to poll.
struct Shared {
    state: Mutex<Gates>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Gates> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes every held call; under the lock, so that a call between its
    /// look at its token and its wait cannot miss it.
    fn wake(&self) {
        let _state = self.lock();
        self.changed.notify_all();
    }
}

impl std::fmt::Debug for OverloadGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverloadGate")
            .field("state", &*self.lock())
            .finish()
    }
}

/// How a call passed the gate.
#[derive(Debug, Default)]
pub(crate) struct Passage {
    /// It goes as the trial request of its origin's gate or its route's:
    /// its answer (or its loss) must be told.
    pub trial: Option<Whose>,
    /// How long it was held, if it was.
    pub held: Option<Duration>,
}

impl OverloadGate {
    /// An open gate whose trials follow `trials`; `on` false never closes.
    pub fn new(trials: Backoff, observer: Option<Arc<StateObserver>>, on: bool) -> Self {
        OverloadGate {
            shared: Arc::new(Shared {
                state: Mutex::new(Gates::new(trials, fastrand::u64(..))),
                changed: Condvar::new(),
            }),
            engaged: AtomicBool::new(false),
            observer,
            on,
            wakeups: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Gates> {
        self.shared.lock()
    }

    /// How many times held calls have woken.
    #[cfg(test)]
    pub(crate) fn wakeups(&self) -> usize {
        self.wakeups.load(Ordering::Relaxed)
    }

    /// Whether every call to the origin is being held (one route's gate
    /// closed holds only that route's calls).
    pub fn is_overloaded(&self) -> bool {
        self.engaged.load(Ordering::Acquire) && self.lock().is_closed()
    }

    /// Waits while the origin, or the call's route, is held for overload,
    /// until this call's trial or its turn in the paced release: until `until` (`deadline_exceeded`)
    /// or cancellation. A call whose `patience` (its wait for the network)
    /// is spent fails with `held_back`, never sent past the closed gate; so
    /// does one with `wait` false. `retry` for an attempt after the call's
    /// first.
    pub fn pass(
        &self,
        route: &Route<'_>,
        (until, patience): (Option<Instant>, Option<Instant>),
        (wait, retry): (bool, bool),
        cancel: &CancelToken,
    ) -> Result<Passage, ApiError> {
        // Every call is counted (the demand that paces a release), so the
        // lock is taken even while the origin accepts.
        let arrived = Instant::now();
        let mut s = self.lock();
        let mut waited = false;
        let mut _on_cancel = None;
        loop {
            let now = if waited { Instant::now() } else { arrived };
            let held = waited.then(|| now - arrived);
            let (admission, whose) = s.admit(now, retry, route);
            match admission {
                Admission::Trial => return Ok(Passage { trial: whose, held }),
                Admission::At(turn) => {
                    drop(s);
                    wait_for_turn(turn, until, cancel, TURN)?;
                    return Ok(Passage {
                        trial: None,
                        held: Some(arrived.elapsed()),
                    });
                }
                Admission::Hold => {}
                _ => return Ok(Passage { trial: None, held }),
            }
            if !wait {
                return Err(held_back(HELD_BACK_ASKED));
            }
            if cancel.is_cancelled() {
                return Err(ApiError::new(Kind::Cancelled)
                    .with_message("cancelled while the service refused calls (overload)"));
            }
            if until.is_some_and(|u| now >= u) {
                return Err(ApiError::new(Kind::DeadlineExceeded)
                    .with_message("deadline exceeded while the service refused calls (overload)"));
            }
            if patience.is_some_and(|p| now >= p) {
                return Err(held_back(HELD_BACK_PATIENCE));
            }
            if _on_cancel.is_none() {
                let shared = self.shared.clone();
                _on_cancel = Some(cancel.on_cancel(Arc::new(move || shared.wake())));
            }
            let wake = [until, patience, s.trial_due(route)]
                .into_iter()
                .flatten()
                .min();
            let changed = &self.shared.changed;
            s = match wake {
                Some(w) => {
                    let left = w
                        .saturating_duration_since(now)
                        .max(Duration::from_millis(1));
                    changed
                        .wait_timeout(s, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => changed.wait(s).unwrap_or_else(PoisonError::into_inner),
            };
            self.wakeups.fetch_add(1, Ordering::Relaxed);
            waited = true;
        }
    }

    /// An answer on `route` came: `refused` per
    /// [`OverloadState::is_refusal`], `trial` for a trial's. Returns what
    /// it changed of the origin's gate and the route's, and whether the
    /// call's origin or route is held after it (its answers then teach no
    /// rate).
    pub fn on_answer(
        &self,
        route: &Route<'_>,
        refused: bool,
        trial: Option<Whose>,
    ) -> (Changed, bool) {
        const NONE: Changed = Changed {
            origin: Overload::Unchanged,
            route: Overload::Unchanged,
        };
        if !self.on || (!refused && trial.is_none() && !self.engaged.load(Ordering::Acquire)) {
            return (NONE, false); // the common case: no lock
        }
        let mut s = self.lock();
        let changed = s.on_answer(Instant::now(), route, refused, trial);
        let held = s.holds(route);
        self.engaged.store(!s.is_quiet(), Ordering::Release);
        drop(s);
        let unchanged =
            changed.origin == Overload::Unchanged && changed.route == Overload::Unchanged;
        if unchanged && trial.is_none() {
            return (NONE, held);
        }
        // A trial's answer sets the next trial's time, and an opening
        // releases: held calls look again now.
        self.shared.changed.notify_all();
        if changed.route != Overload::Unchanged {
            log::info!(
                target: "apiretry::overload",
                "{}: {}",
                route.key(),
                match changed.route {
                    Overload::Began => "refusing alone: its calls are held, one trial at a time",
                    _ => "accepting again: its held calls leave, paced",
                }
            );
        }
        if changed.origin != Overload::Unchanged {
            notify(
                &self.observer,
                match changed.origin {
                    Overload::Began => ClientState::Overloaded,
                    _ => ClientState::Recovered,
                },
            );
        }
        (changed, held)
    }

    /// The trial on `route` got no answer; `sent` when it went out.
    pub fn on_trial_lost(&self, route: &Route<'_>, sent: bool, whose: Whose) {
        self.lock()
            .on_trial_lost(Instant::now(), route, sent, whose);
        self.shared.changed.notify_all();
    }
}

const HELD_BACK_ASKED: &str = "held back: the service is refusing calls (overload) and the \
     request asked not to wait; it was not sent";

const HELD_BACK_PATIENCE: &str = "held back: the service is refusing calls (overload) and this \
     call's wait (the policy's network_wait) is spent; it was not sent";

/// The error of a call held at the closed gate that does not wait longer.
fn held_back(why: &'static str) -> ApiError {
    ApiError::new(Kind::HeldBack)
        .with_retry(Retry::No)
        .with_message(why)
}

#[cfg(test)]
mod tests;
