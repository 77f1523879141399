//! The connectivity gate: after a network failure, calls wait here instead
//! of hammering the network, until a health check answers again.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::{notify, wait_while, ClientState, StateObserver};
use crate::cancel::CancelToken;
use crate::error::ApiError;

pub(crate) struct ConnectivityGate {
    disconnected: Mutex<bool>,
    changed: Condvar,
    observer: Option<Arc<StateObserver>>,
}

impl std::fmt::Debug for ConnectivityGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectivityGate")
            .field("disconnected", &*self.lock())
            .finish()
    }
}

impl ConnectivityGate {
    pub fn new(observer: Option<Arc<StateObserver>>) -> Self {
        ConnectivityGate {
            disconnected: Mutex::new(false),
            changed: Condvar::new(),
            observer,
        }
    }

    fn lock(&self) -> MutexGuard<'_, bool> {
        self.disconnected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether calls are being held.
    pub fn is_disconnected(&self) -> bool {
        *self.lock()
    }

    /// Waits while disconnected (until `until`, or cancellation).
    pub fn wait(&self, until: Option<Instant>, cancel: &CancelToken) -> Result<(), ApiError> {
        wait_while(
            self.lock(),
            &self.changed,
            until,
            cancel,
            "the connection to come back",
            |d| *d,
        )
        .map(drop)
    }

    /// Marks the client disconnected; true for the call that made the change
    /// (it starts the health check).
    pub fn mark_disconnected(&self) -> bool {
        let mut d = self.lock();
        if *d {
            return false;
        }
        *d = true;
        drop(d);
        notify(&self.observer, ClientState::Disconnected);
        true
    }

    /// The health check answered: release the waiting calls.
    pub fn mark_connected(&self) {
        *self.lock() = false;
        self.changed.notify_all();
        notify(&self.observer, ClientState::Connected);
    }
}
