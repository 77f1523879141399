//! Gates that hold calls while they cannot succeed (seed 001, "Waiting for
//! connection and authorization"): while the network is down, and while a
//! token is being refreshed or authorization is required.

use std::sync::{Arc, Condvar, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::kind::Kind;

pub(crate) mod authorization;
pub(crate) mod connectivity;
pub(crate) mod overload;

pub use authorization::Secret;

/// What the client tells the application about its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[repr(u32)]
pub enum ClientState {
    /// The service answers again after a disconnection.
    Connected,
    /// A network failure: calls wait at the gate while a health check polls.
    Disconnected,
    /// A token was refreshed, or new credentials were supplied.
    Authorized,
    /// Token refresh failed for good: ask the user to authorize again.
    AuthorizationRequired,
    /// The service answers but refuses (load shedding): calls to it wait
    /// while one trial request at a time follows the backoff.
    Overloaded,
    /// The service accepts calls again after an overload; held calls leave, paced.
    Recovered,
}

/// Receives client state changes (for telling the user).
pub type StateObserver = dyn Fn(ClientState) + Send + Sync;

pub(crate) fn notify(observer: &Option<Arc<StateObserver>>, state: ClientState) {
    if let Some(o) = observer {
        o(state);
    }
}

/// How often a gate waiter looks at its cancel token.
const CANCEL_POLL: Duration = Duration::from_millis(10);

/// Waits on `changed` while `blocked` holds, until `until` (an error) or
/// `patience` (not an error: the caller goes on, still blocked), or
/// cancellation.
pub(crate) fn wait_while<'a, T>(
    mut guard: MutexGuard<'a, T>,
    changed: &Condvar,
    (until, patience): (Option<Instant>, Option<Instant>),
    cancel: &CancelToken,
    what: &str,
    mut blocked: impl FnMut(&T) -> bool,
) -> Result<MutexGuard<'a, T>, ApiError> {
    while blocked(&guard) {
        if cancel.is_cancelled() {
            return Err(ApiError::new(Kind::Cancelled)
                .with_message(format!("cancelled while waiting for {what}")));
        }
        let now = Instant::now();
        if until.is_some_and(|u| now >= u) {
            return Err(ApiError::new(Kind::DeadlineExceeded)
                .with_message(format!("deadline exceeded while waiting for {what}")));
        }
        if patience.is_some_and(|p| now >= p) {
            break;
        }
        let wake = until.into_iter().chain(patience).min();
        let slice = wake.map_or(CANCEL_POLL, |w| (w - now).min(CANCEL_POLL));
        guard = changed
            .wait_timeout(guard, slice)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    Ok(guard)
}

/// Sleeps until `turn` (a held call's place in a paced release) unless
/// cancelled or past `until`; `what` names the wait in the errors.
pub(crate) fn wait_for_turn(
    turn: Instant,
    until: Option<Instant>,
    cancel: &CancelToken,
    what: &str,
) -> Result<(), ApiError> {
    if until.is_some_and(|u| turn > u) {
        return Err(ApiError::new(Kind::DeadlineExceeded)
            .with_message(format!("deadline exceeded while waiting for {what}")));
    }
    match cancel.sleep(turn.saturating_duration_since(Instant::now())) {
        true => Ok(()),
        false => Err(ApiError::new(Kind::Cancelled)
            .with_message(format!("cancelled while waiting for {what}"))),
    }
}
