//! The connectivity gate of one origin: after a failure that shows the
//! origin unreachable, calls to it wait here instead of hammering the
//! network, until a probe gets an answer again; then they leave paced.
//! The decisions are [`ConnectivityState`]'s; this adds the threads' waits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{notify, wait_for_turn, wait_while, ClientState, StateObserver};
use crate::backoff::Backoff;
use crate::cancel::CancelToken;
use crate::error::ApiError;

mod state;

/// What a released call waits for, in its errors.
const TURN: &str = "this call's turn after the connection came back";

pub use state::{Admission, ConnectivityState, MIN_RELEASE_RATE, RELEASE_FACTOR};

pub(crate) struct ConnectivityGate {
    state: Mutex<ConnectivityState>,
    /// Whether the state is closed, kept beside it (changed under its lock)
    /// so that every answered call's "the origin answered" costs no lock
    /// while the gate is open, as it nearly always is.
    closed: AtomicBool,
    changed: Condvar,
    observer: Option<Arc<StateObserver>>,
    /// Ends the prober's sleep when the application says the link changed.
    wake: Mutex<CancelToken>,
}

impl std::fmt::Debug for ConnectivityGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectivityGate")
            .field("state", &*self.lock())
            .finish()
    }
}

impl ConnectivityGate {
    /// An open gate whose probes follow `probes`.
    pub fn new(probes: Backoff, observer: Option<Arc<StateObserver>>) -> Self {
        ConnectivityGate {
            state: Mutex::new(ConnectivityState::new(probes, fastrand::u64(..))),
            closed: AtomicBool::new(false),
            changed: Condvar::new(),
            observer,
            wake: Mutex::new(CancelToken::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ConnectivityState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether calls are being held.
    pub fn is_disconnected(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Waits while disconnected, then for this call's turn while held calls
    /// leave: until `until` (a `deadline_exceeded` error), `patience` (the
    /// call goes on, the gate still closed), or cancellation.
    pub fn wait(
        &self,
        until: Option<Instant>,
        patience: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<(), ApiError> {
        let mut s = self.lock();
        loop {
            match s.admit(Instant::now()) {
                Admission::Hold => {
                    s = wait_while(
                        s,
                        &self.changed,
                        (until, patience),
                        cancel,
                        "the connection to come back",
                        ConnectivityState::is_closed,
                    )?;
                    if s.is_closed() {
                        return Ok(()); // out of patience: the call tries anyway
                    }
                }
                Admission::At(turn) => {
                    drop(s);
                    return wait_for_turn(turn, until, cancel, TURN);
                }
                _ => return Ok(()),
            }
        }
    }

    /// Marks the origin unreachable. Returns, for the call that closed the
    /// gate (it starts the prober), the pause before the first probe and
    /// the outage's number.
    pub fn mark_disconnected(&self) -> Option<(Duration, u64)> {
        let mut s = self.lock();
        let first = s.on_unreachable(Instant::now())?;
        let outage = s.outages();
        self.closed.store(true, Ordering::Release);
        drop(s);
        notify(&self.observer, ClientState::Disconnected);
        Some((first, outage))
    }

    /// Whether the gate is still closed for outage number `outage`: its
    /// prober's cue to go on.
    pub fn still_down(&self, outage: u64) -> bool {
        let s = self.lock();
        s.is_closed() && s.outages() == outage
    }

    /// What the prober sleeps on: cancelled by [`Self::network_changed`].
    pub fn wake_token(&self) -> CancelToken {
        self.wake
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The link changed: while closed, the probe schedule starts over and
    /// the prober, woken, probes at once.
    pub fn network_changed(&self) {
        if !self.is_disconnected() || !self.lock().restart_probes() {
            return;
        }
        let mut wake = self.wake.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *wake).cancel();
    }

    /// The pause before the next probe, after one got no answer.
    pub fn next_probe(&self) -> Duration {
        self.lock().next_probe()
    }

    /// The origin answered: release the waiting calls, paced.
    pub fn mark_connected(&self) {
        if !self.is_disconnected() {
            return;
        }
        let mut s = self.lock();
        if !s.is_closed() {
            return; // another answer opened it meanwhile
        }
        s.on_reachable(Instant::now());
        self.closed.store(false, Ordering::Release);
        drop(s);
        self.changed.notify_all();
        notify(&self.observer, ClientState::Connected);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call answered while the gate was closed reopens it, and another
    /// closes it again: the first outage's prober must stop, or two probers
    /// would share one schedule and probe twice as often.
    #[test]
    fn a_prober_ends_with_its_outage() {
        let gate = ConnectivityGate::new(Backoff::default(), None);
        let (_, first) = gate.mark_disconnected().unwrap();
        assert!(gate.mark_disconnected().is_none(), "one prober per outage");
        assert!(gate.still_down(first));
        gate.mark_connected();
        assert!(!gate.still_down(first));
        let (_, second) = gate.mark_disconnected().unwrap();
        assert!(!gate.still_down(first), "the first prober stops");
        assert!(gate.still_down(second));
    }
}
