//! The authorization gate: one refresh at a time, other calls wait for it,
//! and "authorization required" when the refresh token is dead.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use super::{notify, wait_while, ClientState, StateObserver};
use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

/// A credential: `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a token or key.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for putting on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::redact::MASK)
    }
}

/// Obtains a new access token (e.g. an OAuth refresh-token grant). Its error
/// is classified like any other; `invalid_grant`, `invalid_request` and
/// `unauthorized` mean the refresh token is dead.
pub type Refresh = dyn Fn() -> Result<Secret, ApiError> + Send + Sync;

/// A new access token, and when to refresh it ahead of its expiry.
pub(crate) struct Fresh {
    pub token: Secret,
    pub due: Option<SystemTime>,
}

/// After a proactive refresh failed for a passing reason, the next try
/// comes this much later (the old token is used meanwhile).
const RETRY_DUE: Duration = Duration::from_secs(60);

/// The message of calls that need authorization once the refresh token is
/// dead (or none was ever had).
pub(crate) fn pairing_needed(why: &str) -> ApiError {
    ApiError::new(Kind::Unauthorized)
        .with_retry(Retry::No)
        .with_message(format!(
            "authorization required (pairing needed): {why}"
        ))
        .with_hint(
            "Ask the user to pair (authorize) the device again; calls that need authorization fail until then.",
        )
}

thread_local! {
    /// The gate whose refresh this thread is running (its address), if any.
    static REFRESHING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks this thread as running `gate`'s refresh until dropped.
struct InRefresh(usize);

impl InRefresh {
    fn enter(gate: &AuthGate) -> InRefresh {
        InRefresh(REFRESHING.replace(gate as *const AuthGate as usize))
    }
}

impl Drop for InRefresh {
    fn drop(&mut self) {
        REFRESHING.set(self.0);
    }
}

#[derive(Default)]
struct State {
    token: Option<Secret>,
    /// When to refresh the token before it expires.
    due: Option<SystemTime>,
    generation: u64,
    refreshing: bool,
    required: Option<ApiError>,
}

pub(crate) struct AuthGate {
    state: Mutex<State>,
    changed: Condvar,
    observer: Option<Arc<StateObserver>>,
}

impl fmt::Debug for AuthGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state();
        f.debug_struct("AuthGate")
            .field("has_token", &s.token.is_some())
            .field("refreshing", &s.refreshing)
            .field("required", &s.required.is_some())
            .finish()
    }
}

impl AuthGate {
    /// A gate holding `token` (refreshed ahead at `due`), or failing calls
    /// with `required` until a token is supplied.
    pub fn new(
        token: Option<Fresh>,
        required: Option<ApiError>,
        observer: Option<Arc<StateObserver>>,
    ) -> Self {
        let (token, due) = token.map_or((None, None), |f| (Some(f.token), f.due));
        AuthGate {
            state: Mutex::new(State {
                token,
                due,
                required,
                ..State::default()
            }),
            changed: Condvar::new(),
            observer,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token to send, its generation, and whether it is due for a
    /// refresh, after any refresh in flight; fails fast while authorization
    /// is required.
    pub fn current(
        &self,
        until: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<(Option<Secret>, u64, bool), ApiError> {
        let s = self.settled(until, cancel)?;
        let due = s.due.is_some_and(|d| SystemTime::now() >= d);
        Ok((s.token.clone(), s.generation, due))
    }

    /// Whether calls fail for want of authorization.
    pub fn required(&self) -> bool {
        self.state().required.is_some()
    }

    /// The state once no refresh is in flight; fails while authorization is required.
    fn settled(
        &self,
        until: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<MutexGuard<'_, State>, ApiError> {
        if REFRESHING.get() == self as *const AuthGate as usize {
            // An authorized call from inside this gate's own refresh would
            // wait for the refresh it is part of, for ever.
            return Err(ApiError::new(Kind::Application)
                .with_retry(Retry::No)
                .with_message(
                    "an authorized request was sent from inside the same client's token refresh",
                )
                .with_hint(
                    "Send the refresh request without authorization (Request::without_authorization, \
                     apiretry_request_set_unauthorized), or through another client.",
                ));
        }
        let s = wait_while(
            self.state(),
            &self.changed,
            (until, None),
            cancel,
            "token refresh",
            |s| s.refreshing,
        )?;
        match &s.required {
            Some(err) => Err(err.clone()),
            None => Ok(s),
        }
    }

    /// After an `unauthorized` answer to the token of `generation`, or when
    /// it is due: `refresh`, unless another thread already did (or is doing)
    /// it. Only one thread refreshes; the others wait for its outcome.
    pub fn refresh_after(
        &self,
        generation: u64,
        until: Option<Instant>,
        cancel: &CancelToken,
        refresh: impl FnOnce() -> Result<Fresh, ApiError>,
    ) -> Result<(), ApiError> {
        let mut s = self.settled(until, cancel)?;
        if s.generation != generation {
            return Ok(()); // someone else refreshed meanwhile
        }
        s.refreshing = true;
        drop(s);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _inside = InRefresh::enter(self);
            refresh()
        }))
        .unwrap_or_else(|_| {
            Err(ApiError::new(Kind::Application).with_message("token refresh panicked"))
        });
        let mut s = self.state();
        s.refreshing = false;
        let result = match outcome {
            Ok(fresh) => {
                s.token = Some(fresh.token);
                s.due = fresh.due;
                s.generation += 1;
                drop(s);
                notify(&self.observer, ClientState::Authorized);
                Ok(())
            }
            Err(err)
                if matches!(
                    err.kind,
                    Kind::InvalidGrant | Kind::InvalidRequest | Kind::Unauthorized
                ) =>
            {
                let required = pairing_needed(&format!("the token refresh was refused ({err})"));
                s.required = Some(required.clone());
                drop(s);
                notify(&self.observer, ClientState::AuthorizationRequired);
                Err(required)
            }
            Err(err) => {
                s.due = s.due.map(|_| SystemTime::now() + RETRY_DUE);
                Err(err)
            }
        };
        self.changed.notify_all();
        result
    }

    /// New credentials from the application: clears "authorization required".
    pub fn set_token(&self, fresh: Fresh) {
        let mut s = self.state();
        s.token = Some(fresh.token);
        s.due = fresh.due;
        s.generation += 1;
        s.required = None;
        drop(s);
        self.changed.notify_all();
        notify(&self.observer, ClientState::Authorized);
    }
}
