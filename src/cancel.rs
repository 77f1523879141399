//! Cancelling a call from another thread, including while it sleeps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
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
    /// Tokens cancelled with this one (`child`), held weakly: a child
    /// dropped is forgotten at the next `child`.
    children: Mutex<Vec<Weak<Inner>>>,
    /// Called on cancel: waits on other condition variables (a gate's)
    /// end at once, with no polling (`on_cancel`).
    wakers: Mutex<Wakers>,
}

#[derive(Default)]
struct Wakers(Vec<Waker>);

impl std::fmt::Debug for Wakers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} wakers", self.0.len())
    }
}

/// What `cancel` calls to wake a wait it cannot see.
pub(crate) type Waker = Arc<dyn Fn() + Send + Sync>;

/// While alive, the token's cancel calls its waker; dropped, no longer.
pub(crate) struct OnCancel<'a>(&'a CancelToken, Option<Waker>);

impl Drop for OnCancel<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.1.take() {
            lock(&self.0 .0.wakers).0.retain(|x| !Arc::ptr_eq(x, &w));
        }
    }
}

thread_local! {
    /// The token of the call this thread is sending, looked at by the
    /// socket's watched waits (a write blocked on a slow link, the wait for
    /// an answer's head), which ureq runs on this thread but knows nothing
    /// of the call.
    static CURRENT: std::cell::RefCell<Option<CancelToken>> = const { std::cell::RefCell::new(None) };
}

/// While alive, `cancelled_here` answers for a token; the one before is
/// restored when it ends (`None`: nothing was changed, nothing to restore).
pub(crate) struct Scope(Option<Option<CancelToken>>);

impl Drop for Scope {
    fn drop(&mut self) {
        if let Some(before) = self.0.take() {
            let _ = CURRENT.try_with(|c| *c.borrow_mut() = before);
        }
    }
}

/// Whether the call this thread is sending was cancelled (always false
/// outside `CancelToken::enter`).
pub(crate) fn cancelled_here() -> bool {
    CURRENT
        .try_with(|c| c.borrow().as_ref().is_some_and(CancelToken::is_cancelled))
        .unwrap_or(false)
}

/// Sleeps for `duration` unless the call this thread is sending is
/// cancelled first; false when it was.
pub(crate) fn sleep_here(duration: Duration) -> bool {
    match CURRENT.try_with(|c| c.borrow().clone()).ok().flatten() {
        Some(token) => token.sleep(duration),
        None => {
            std::thread::sleep(duration);
            true
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
        {
            // Taking the lock orders this notify after any sleeper's flag check.
            let _guard = self.0.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.0.wake.notify_all();
        }
        let children = std::mem::take(&mut *lock(&self.0.children));
        for child in children.iter().filter_map(Weak::upgrade) {
            CancelToken(child).cancel();
        }
        // Called with no lock of ours held: a waker takes its wait's lock,
        // under which that wait may be registering another.
        let wakers = lock(&self.0.wakers).0.clone();
        for wake in wakers {
            wake();
        }
    }

    /// Calls `wake` when this token is cancelled, until the guard is
    /// dropped. The waiter registers before it looks at
    /// [`CancelToken::is_cancelled`] under its own lock, and `wake` takes
    /// that lock before notifying: no cancel is missed.
    pub(crate) fn on_cancel(&self, wake: Waker) -> OnCancel<'_> {
        if Arc::ptr_eq(&self.0, &CancelToken::never().0) {
            return OnCancel(self, None); // nobody can cancel it
        }
        lock(&self.0.wakers).0.push(wake.clone());
        OnCancel(self, Some(wake))
    }

    /// Makes this the token `cancelled_here` looks at on this thread, until
    /// the scope ends; nothing for a token nobody can cancel.
    pub(crate) fn enter(&self) -> Scope {
        // A call without a token (most of them) touches no thread-local.
        if Arc::ptr_eq(&self.0, &CancelToken::never().0) {
            return Scope(None);
        }
        Scope(CURRENT.try_with(|c| c.replace(Some(self.clone()))).ok())
    }

    /// A token cancelled when this one is, and which can also be cancelled
    /// on its own (an upload's run: a part failing for good stops the
    /// others, and the caller's token stops them all).
    pub(crate) fn child(&self) -> CancelToken {
        let child = CancelToken::new();
        let mut children = lock(&self.0.children);
        children.retain(|c| c.strong_count() > 0);
        children.push(Arc::downgrade(&child.0));
        drop(children);
        // A cancel that took the list before the push is seen here.
        if self.is_cancelled() {
            child.cancel();
        }
        child
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

#[cfg(test)]
mod tests {
    use super::CancelToken;

    /// Rows: which token is cancelled -> (parent, child) cancelled after.
    #[test]
    fn a_child_is_cancelled_with_its_parent_never_the_reverse() {
        let rows = [
            ("parent", (true, true)),
            ("child", (false, true)),
            ("parent before the child is made", (true, true)),
        ];
        for (which, want) in rows {
            let parent = CancelToken::new();
            let child = match which {
                "parent before the child is made" => {
                    parent.cancel();
                    parent.child()
                }
                _ => parent.child(),
            };
            match which {
                "parent" => parent.cancel(),
                "child" => child.cancel(),
                _ => {}
            }
            assert_eq!(
                (parent.is_cancelled(), child.is_cancelled()),
                want,
                "{which}"
            );
        }
        // Children dropped are forgotten, not kept for the parent's life.
        let parent = CancelToken::new();
        for _ in 0..100 {
            drop(parent.child());
        }
        let _last = parent.child();
        assert_eq!(parent.0.children.lock().unwrap().len(), 1);
    }
}
