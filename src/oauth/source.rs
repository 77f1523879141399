//! The client's token set: loaded from the store, renewed by the
//! refresh-token grant, and stored again before a rotated refresh token is
//! used.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use super::{Form, OAuth, Tokens};
use crate::error::ApiError;
use crate::gate::authorization::{pairing_needed, Fresh};
use crate::gate::Secret;
use crate::kind::{Kind, Retry};

#[derive(Debug)]
pub(crate) struct OAuthSource {
    oauth: OAuth,
    tokens: Mutex<Option<Tokens>>,
    /// Why the newest set is not in the store (it is tried again before
    /// its refresh token is used).
    unsaved: Mutex<Option<ApiError>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl From<&Tokens> for Fresh {
    fn from(t: &Tokens) -> Self {
        Fresh {
            token: t.access_token.clone(),
            due: t.refresh_due(),
        }
    }
}

impl OAuthSource {
    /// The source, and what the client starts with: the given or stored
    /// tokens, or why pairing is needed.
    pub fn start(oauth: OAuth) -> (OAuthSource, Result<Fresh, ApiError>) {
        let loaded = match (&oauth.tokens, &oauth.store) {
            (Some(t), _) => Ok(Some(t.clone())),
            (None, Some(store)) => store.load(),
            (None, None) => Ok(None),
        };
        let start = match &loaded {
            Ok(Some(t)) => Ok(Fresh::from(t)),
            Ok(None) => Err(pairing_needed("no tokens yet: pair the device")),
            Err(e) => {
                log::warn!(target: "apiretry::oauth", "{e}");
                Err(pairing_needed(&format!(
                    "the stored tokens cannot be used ({e})"
                )))
            }
        };
        let source = OAuthSource {
            oauth,
            tokens: Mutex::new(loaded.ok().flatten()),
            unsaved: Mutex::new(None),
        };
        (source, start)
    }

    pub fn oauth(&self) -> &OAuth {
        &self.oauth
    }

    /// Makes `tokens` the client's: stored first, kept in memory whether or
    /// not the store took them (its error is returned).
    pub fn keep(&self, tokens: Tokens) -> (Fresh, Result<(), ApiError>) {
        let fresh = Fresh::from(&tokens);
        let saved = self.save(&tokens);
        *lock(&self.tokens) = Some(tokens);
        (fresh, saved)
    }

    fn save(&self, tokens: &Tokens) -> Result<(), ApiError> {
        let Some(store) = &self.oauth.store else {
            return Ok(());
        };
        let saved = store.save(tokens);
        if let Err(e) = &saved {
            log::error!(target: "apiretry::oauth", "tokens kept in memory only: {e}");
        }
        *lock(&self.unsaved) = saved.as_ref().err().cloned();
        saved
    }

    /// Why the newest tokens are not stored, if they are not.
    pub fn unsaved(&self) -> Option<ApiError> {
        lock(&self.unsaved).clone()
    }

    /// The refresh-token grant's form (RFC 6749 6), and the refresh token
    /// it spends; the newest set is stored first if an earlier save failed.
    pub fn refresh_form(&self) -> Result<(Form, Secret), ApiError> {
        let current = lock(&self.tokens).clone();
        let Some((tokens, refresh_token)) = current.and_then(|t| {
            let r = t.refresh_token.clone()?;
            Some((t, r))
        }) else {
            return Err(ApiError::new(Kind::InvalidGrant)
                .with_retry(Retry::No)
                .with_message("no refresh token to renew the access token with"));
        };
        if self.unsaved().is_some() {
            let _ = self.save(&tokens);
        }
        let form = Form::default()
            .field("grant_type", "refresh_token")
            .field("refresh_token", refresh_token.expose());
        Ok((form, refresh_token))
    }

    /// Makes the refresh's answer the client's tokens, stored before they
    /// are returned (a rotated refresh token is in the store before its use).
    pub fn refreshed(&self, body: &[u8], spent: &Secret) -> Result<Fresh, ApiError> {
        let mut tokens = Tokens::from_answer(body, SystemTime::now(), Some(spent))?;
        if tokens.scope.is_none() {
            tokens.scope = lock(&self.tokens).as_ref().and_then(|t| t.scope.clone());
        }
        Ok(self.keep(tokens).0)
    }
}
