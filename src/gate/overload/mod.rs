//! The overload gate of one origin: when the origin answers but refuses
//! (load shedding), calls wait here while one trial request at a time goes
//! on the policy's backoff, instead of every call offering the refusing
//! service its retries. The decisions are [`OverloadState`]'s; this adds
//! the threads' waits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{notify, wait_for_turn, ClientState, StateObserver};
use crate::backoff::Backoff;
use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::gate::connectivity::Admission;
use crate::kind::{Kind, Retry};

mod state;

pub use state::{Overload, OverloadState, TRIP_REFUSALS, TRIP_SPAN};

/// What a released call waits for, in its errors.
const TURN: &str = "this call's turn after the service accepted calls again";

/// How often a held call looks at its cancel token and the trial's time.
const POLL: Duration = Duration::from_millis(10);

pub(crate) struct OverloadGate {
    state: Mutex<OverloadState>,
    /// Whether refusals are being counted or the gate is closed, kept
    /// beside the state so that an accepted answer costs no lock while the
    /// origin accepts, as it nearly always does.
    engaged: AtomicBool,
    changed: Condvar,
    observer: Option<Arc<StateObserver>>,
    /// Off: never closes (`ClientBuilder::without_overload_control`).
    on: bool,
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
    /// It goes as the trial request: its answer (or its loss) must be told.
    pub trial: bool,
    /// How long it was held, if it was.
    pub held: Option<Duration>,
}

impl OverloadGate {
    /// An open gate whose trials follow `trials`; `on` false never closes.
    pub fn new(trials: Backoff, observer: Option<Arc<StateObserver>>, on: bool) -> Self {
        OverloadGate {
            state: Mutex::new(OverloadState::new(trials, fastrand::u64(..))),
            engaged: AtomicBool::new(false),
            changed: Condvar::new(),
            observer,
            on,
        }
    }

    fn lock(&self) -> MutexGuard<'_, OverloadState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether calls are being held.
    pub fn is_overloaded(&self) -> bool {
        self.engaged.load(Ordering::Acquire) && self.lock().is_closed()
    }

    /// Waits while the origin is held for overload, until this call's trial
    /// or its turn in the paced release: until `until` (`deadline_exceeded`),
    /// `patience` (the call goes anyway, not as a trial), or cancellation.
    /// With `wait` false, a held call fails at once with `held_back`;
    /// `retry` for an attempt after the call's first.
    pub fn pass(
        &self,
        (until, patience): (Option<Instant>, Option<Instant>),
        (wait, retry): (bool, bool),
        cancel: &CancelToken,
    ) -> Result<Passage, ApiError> {
        // Every call is counted (the demand that paces a release), so the
        // lock is taken even while the origin accepts.
        let arrived = Instant::now();
        let mut s = self.lock();
        let mut waited = false;
        loop {
            let now = if waited { Instant::now() } else { arrived };
            let held = waited.then(|| now - arrived);
            match s.admit(now, retry) {
                Admission::Trial => return Ok(Passage { trial: true, held }),
                Admission::At(turn) => {
                    drop(s);
                    wait_for_turn(turn, until, cancel, TURN)?;
                    return Ok(Passage {
                        trial: false,
                        held: Some(arrived.elapsed()),
                    });
                }
                Admission::Hold => {}
                _ => return Ok(Passage { trial: false, held }),
            }
            if !wait {
                return Err(held_back());
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
                // Out of patience: the call goes anyway, not as a trial.
                return Ok(Passage {
                    trial: false,
                    held: Some(now - arrived),
                });
            }
            let wake = [until, patience, s.trial_due()]
                .into_iter()
                .flatten()
                .min()
                .map_or(POLL, |w| w.saturating_duration_since(now).min(POLL));
            s = self
                .changed
                .wait_timeout(s, wake.max(Duration::from_millis(1)))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            waited = true;
        }
    }

    /// An answer came: `refused` per [`OverloadState::is_refusal`], `trial`
    /// for the trial's. Returns what it changed, and whether calls are held
    /// after it.
    pub fn on_answer(&self, refused: bool, trial: bool) -> (Overload, bool) {
        if !self.on || (!refused && !trial && !self.engaged.load(Ordering::Acquire)) {
            return (Overload::Unchanged, false); // the common case: no lock
        }
        let mut s = self.lock();
        let change = s.on_answer(Instant::now(), refused, trial);
        let closed = s.is_closed();
        self.engaged.store(!s.is_quiet(), Ordering::Release);
        drop(s);
        if change == Overload::Unchanged {
            return (change, closed);
        }
        self.changed.notify_all();
        notify(
            &self.observer,
            match change {
                Overload::Began => ClientState::Overloaded,
                _ => ClientState::Recovered,
            },
        );
        (change, closed)
    }

    /// The trial got no answer; `sent` when it went out.
    pub fn on_trial_lost(&self, sent: bool) {
        self.lock().on_trial_lost(Instant::now(), sent);
        self.changed.notify_all();
    }
}

/// The error of a call that asked not to wait while its origin is held.
fn held_back() -> ApiError {
    ApiError::new(Kind::HeldBack)
        .with_retry(Retry::No)
        .with_message(
            "held back: the service is refusing calls (overload) and the request asked \
             not to wait; it was not sent",
        )
}
