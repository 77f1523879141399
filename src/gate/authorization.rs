//! The authorization gate: one refresh at a time, other calls wait for it,
//! and "authorization required" when the refresh token is dead.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

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
    generation: u64,
    refreshing: bool,
    required: Option<ApiError>,
}

pub(crate) struct AuthGate {
    state: Mutex<State>,
    changed: Condvar,
    refresh: Option<Arc<Refresh>>,
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
    pub fn new(
        token: Option<Secret>,
        refresh: Option<Arc<Refresh>>,
        observer: Option<Arc<StateObserver>>,
    ) -> Self {
        AuthGate {
            state: Mutex::new(State {
                token,
                ..State::default()
            }),
            changed: Condvar::new(),
            refresh,
            observer,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token to send and its generation, after any refresh in flight;
    /// fails fast while authorization is required.
    pub fn current(
        &self,
        until: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<(Option<Secret>, u64), ApiError> {
        let s = self.settled(until, cancel)?;
        Ok((s.token.clone(), s.generation))
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

    /// Whether a refresh is possible at all.
    pub fn can_refresh(&self) -> bool {
        self.refresh.is_some()
    }

    /// After an `unauthorized` answer to the token of `generation`: refresh,
    /// unless another thread already did (or is doing) it. Only one thread
    /// refreshes; the others wait for its outcome.
    pub fn refresh_after(
        &self,
        generation: u64,
        until: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<(), ApiError> {
        let Some(refresh) = &self.refresh else {
            return Ok(());
        };
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
            Ok(token) => {
                s.token = Some(token);
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
                let required = ApiError::new(Kind::Unauthorized)
                    .with_retry(Retry::No)
                    .with_message(format!(
                        "authorization required: token refresh failed ({err})"
                    ))
                    .with_hint(
                        "Ask the user to authorize the device again, then supply new credentials.",
                    );
                s.required = Some(required.clone());
                drop(s);
                notify(&self.observer, ClientState::AuthorizationRequired);
                Err(required)
            }
            Err(err) => Err(err),
        };
        self.changed.notify_all();
        result
    }

    /// New credentials from the application: clears "authorization required".
    pub fn set_token(&self, token: Secret) {
        let mut s = self.state();
        s.token = Some(token);
        s.generation += 1;
        s.required = None;
        drop(s);
        self.changed.notify_all();
        notify(&self.observer, ClientState::Authorized);
    }
}
