//! The connectivity gate of one origin: after a failure that shows the
//! origin unreachable, calls to it wait here instead of hammering the
//! network, until a probe gets an answer again.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{notify, wait_while, ClientState, StateObserver};
use crate::cancel::CancelToken;
use crate::error::ApiError;

#[derive(Debug, Default)]
struct State {
    disconnected: bool,
    /// Calls waiting at the gate: while there are any, probes come faster.
    waiters: usize,
}

pub(crate) struct ConnectivityGate {
    state: Mutex<State>,
    changed: Condvar,
    observer: Option<Arc<StateObserver>>,
}

impl std::fmt::Debug for ConnectivityGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectivityGate")
            .field("state", &*self.lock())
            .finish()
    }
}

impl ConnectivityGate {
    pub fn new(observer: Option<Arc<StateObserver>>) -> Self {
        ConnectivityGate {
            state: Mutex::default(),
            changed: Condvar::new(),
            observer,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether calls are being held.
    pub fn is_disconnected(&self) -> bool {
        self.lock().disconnected
    }

    /// Waits while disconnected: until `until` (a `deadline_exceeded`
    /// error), `patience` (the call goes on, the gate still closed), or
    /// cancellation.
    pub fn wait(
        &self,
        until: Option<Instant>,
        patience: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<(), ApiError> {
        let mut s = self.lock();
        if !s.disconnected {
            return Ok(());
        }
        s.waiters += 1;
        // The prober may be in a long idle pause: a waiting call shortens it.
        self.changed.notify_all();
        let waited = wait_while(
            s,
            &self.changed,
            (until, patience),
            cancel,
            "the connection to come back",
            |s| s.disconnected,
        );
        // On an error the guard is gone: lock again to count this call out.
        match waited {
            Ok(mut s) => {
                s.waiters -= 1;
                Ok(())
            }
            Err(e) => {
                self.lock().waiters -= 1;
                Err(e)
            }
        }
    }

    /// Marks the origin unreachable; true for the call that made the change
    /// (it starts the probe).
    pub fn mark_disconnected(&self) -> bool {
        let mut s = self.lock();
        if s.disconnected {
            return false;
        }
        s.disconnected = true;
        drop(s);
        notify(&self.observer, ClientState::Disconnected);
        true
    }

    /// A probe answered: release the waiting calls.
    pub fn mark_connected(&self) {
        self.lock().disconnected = false;
        self.changed.notify_all();
        notify(&self.observer, ClientState::Connected);
    }

    /// The prober's pause before its next probe: `idle` while no call waits,
    /// at most `busy` from the start of the pause while calls wait (a call
    /// arriving mid-pause shortens it). Returns early once connected.
    pub fn pause_between_probes(&self, idle: Duration, busy: Duration) {
        let start = Instant::now();
        let mut s = self.lock();
        loop {
            if !s.disconnected {
                return;
            }
            let end = start + if s.waiters > 0 { idle.min(busy) } else { idle };
            let now = Instant::now();
            if now >= end {
                return;
            }
            s = self
                .changed
                .wait_timeout(s, end - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
