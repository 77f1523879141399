//! The client's side of authorization: where new access tokens come from,
//! pairing a device, and refreshing on demand.

use std::sync::Arc;
use std::time::Instant;

use super::pairing::Run;
use super::Client;
use super::{Request, RequestClass};
use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::gate::authorization::{Fresh, Refresh};
use crate::kind::{Kind, Retry};
use crate::oauth::{authenticate, Form, OAuth, OAuthSource, Pairing, Tokens};

/// Where a client's new access tokens come from.
#[derive(Clone)]
pub(crate) enum Source {
    /// The application's own refresh.
    Callback(Arc<Refresh>),
    /// The refresh-token grant of an OAuth client.
    OAuth(Arc<OAuthSource>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Callback(_) => f.write_str("Callback"),
            Source::OAuth(s) => s.fmt(f),
        }
    }
}

impl Source {
    pub fn refresh(
        &self,
        client: &Client,
        until: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<Fresh, ApiError> {
        match self {
            Source::Callback(refresh) => refresh().map(|token| Fresh { token, due: None }),
            Source::OAuth(source) => {
                let (form, spent) = source.refresh_form()?;
                let oauth = source.oauth();
                let mut req = form_request(oauth, &oauth.token_url, form).until(until);
                // A refused refresh token is final: one request (seed 001).
                for kind in [Kind::InvalidGrant, Kind::InvalidRequest, Kind::Unauthorized] {
                    req = req.retry(kind, Retry::No);
                }
                let answer = client.send_cancellable(&req, cancel)?;
                source.refreshed(answer.body(), &spent)
            }
        }
    }
}

/// A form POST to `url` with `oauth`'s client identity, JSON expected back,
/// on the authorization-refresh timeout (seed 001: 2 minutes).
pub(super) fn form_request(oauth: &OAuth, url: &str, form: Form) -> Request {
    let (form, basic) = authenticate(form, (oauth.auth, &oauth.client_id, oauth.secret.as_ref()));
    let mut req = Request::post(url)
        .without_authorization()
        .class(RequestClass::AuthRefresh)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(form.into_bytes())
        .expect(200);
    if let Some(basic) = basic {
        req = req.header("Authorization", basic.expose());
    }
    req
}

impl Client {
    fn oauth(&self) -> Result<&Arc<OAuthSource>, ApiError> {
        match &self.inner.source {
            Some(Source::OAuth(s)) => Ok(s),
            _ => Err(ApiError::new(Kind::Application)
                .with_retry(Retry::No)
                .with_message("this client has no OAuth client (ClientBuilder::oauth)")),
        }
    }

    /// Pairs the device by the device authorization grant (RFC 8628) of the
    /// client's [`crate::OAuth`]: shows codes and polls as [`Pairing`]
    /// says, then makes the tokens the client's and stores them. Ends with
    /// `access_denied`, `expired_token`, `cancelled` (by `cancel`, from any
    /// thread), `deadline_exceeded` or the classification of what failed.
    /// A store that cannot be written is an `io` error; the client keeps
    /// the tokens in memory and is paired all the same.
    pub fn pair(&self, pairing: &Pairing, cancel: &CancelToken) -> Result<Tokens, ApiError> {
        let source = self.oauth()?;
        let run = Run {
            client: self,
            oauth: source.oauth(),
            pairing,
            cancel,
        };
        let tokens = run.tokens()?;
        let (fresh, saved) = source.keep(tokens.clone());
        self.inner.auth.set_token(fresh);
        saved.map(|()| tokens)
    }

    /// Refreshes the access token now (one refresh at a time: a call
    /// already refreshing is waited for instead). A refusal puts the client
    /// in "pairing needed"; a store that cannot be written is an `io` error
    /// (the new tokens are used all the same).
    pub fn refresh_tokens(&self, cancel: &CancelToken) -> Result<(), ApiError> {
        let Some(source) = &self.inner.source else {
            return Err(ApiError::new(Kind::Application)
                .with_retry(Retry::No)
                .with_message("this client has no way to refresh its token"));
        };
        let until = self.policy().deadline().map(|d| Instant::now() + d);
        let (_, generation, _) = self.inner.auth.current(until, cancel)?;
        self.inner
            .auth
            .refresh_after(generation, until, cancel, || {
                source.refresh(self, until, cancel)
            })?;
        match source {
            Source::OAuth(s) => s.unsaved().map_or(Ok(()), Err),
            Source::Callback(_) => Ok(()),
        }
    }

    /// Whether calls that need authorization fail until the device is
    /// paired (no tokens yet, or the refresh token was refused).
    pub fn needs_pairing(&self) -> bool {
        self.inner.auth.required()
    }

    /// The token for an authorized attempt, refreshed first when it is due.
    pub(super) fn token_for(
        &self,
        until: Option<Instant>,
        cancel: &CancelToken,
    ) -> Result<(Option<crate::Secret>, u64), ApiError> {
        let auth = &self.inner.auth;
        let (token, generation, due) = auth.current(until, cancel)?;
        let Some(source) = self.inner.source.as_ref().filter(|_| due) else {
            return Ok((token, generation));
        };
        let refreshed = auth.refresh_after(generation, until, cancel, || {
            source.refresh(self, until, cancel)
        });
        match refreshed {
            Err(e)
                if auth.required()
                    || matches!(e.kind, Kind::Cancelled | Kind::DeadlineExceeded) =>
            {
                return Err(e)
            }
            // The old token is still good for a while: use it, refresh later.
            Err(e) => log::warn!(target: "apiretry::oauth", "refresh ahead of expiry failed: {e}"),
            Ok(()) => {}
        }
        let (token, generation, _) = auth.current(until, cancel)?;
        Ok((token, generation))
    }
}
