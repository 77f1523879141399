//! Cancelling a call from another thread, including while it sleeps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A cloneable handle that cancels every call it was given to.
///
/// ```
/// use std::time::{Duration, Instant};
/// let token = apiretry::CancelToken::new();
/// let other = token.clone();
/// std::thread::spawn(move || other.cancel());
/// let t = Instant::now();
/// assert!(!token.sleep(Duration::from_secs(60))); // woken by the cancel, not the timeout
/// assert!(t.elapsed() < Duration::from_secs(60));
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl CancelToken {
    /// A token that has not been cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token nobody can cancel, shared: for calls made without one
    /// (a fresh token per call would cost an allocation each time).
    pub(crate) fn never() -> &'static CancelToken {
        static NEVER: std::sync::OnceLock<CancelToken> = std::sync::OnceLock::new();
        NEVER.get_or_init(CancelToken::new)
    }

    /// Cancels: calls stop before their next attempt, and sleeps end now.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        // Taking the lock orders this notify after any sleeper's flag check.
        let _guard = self.0.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.0.wake.notify_all();
    }

    /// Whether `cancel` has been called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
    }

    /// Sleeps for `duration` unless cancelled first; true when it slept the
    /// whole time, false when cancelled (before or during the sleep).
    pub fn sleep(&self, duration: Duration) -> bool {
        let until = Instant::now().checked_add(duration);
        let mut guard = self.0.lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.is_cancelled() {
                return false;
            }
            let left = match until {
                Some(u) => u.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return true;
            }
            guard = self
                .0
                .wake
                .wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
