//! A call's way out: through its origin's gates and rate limit, one
//! attempt after another as the retry policy says, each classified.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::origin::{origin_of, Origin};
use super::redirect;
use super::transport::{self, Exchange, Failed};
use super::{Client, Request, Response};
use crate::cancel::CancelToken;
use crate::classify::RawResponse;
use crate::error::ApiError;
use crate::gate::overload::{Overload, OverloadState, Whose};
use crate::gate::Secret;
use crate::headers;
use crate::kind::{Kind, Retry};
use crate::retry::Retrier;
use crate::route::Route;

impl Client {
    /// Sends `req`, retrying as the policy allows; returns the response when
    /// it is a success (and the expected status), else the classified failure.
    pub fn send(&self, req: &Request) -> Result<Response, ApiError> {
        self.send_cancellable(req, CancelToken::never())
    }

    /// As [`Client::send`]; `cancel` (from any thread) stops the call before
    /// its next attempt and interrupts its backoff and gate waits.
    pub fn send_cancellable(
        &self,
        req: &Request,
        cancel: &CancelToken,
    ) -> Result<Response, ApiError> {
        let own;
        let retrier = match req.own_policy(self.inner.retrier.policy()) {
            Some(policy) => {
                own = self.inner.retrier.under(policy);
                &own
            }
            None => &self.inner.retrier,
        };
        let policy = retrier.policy();
        let until = policy
            .deadline()
            .map(|d| Instant::now() + d)
            .into_iter()
            .chain(req.until)
            .min();
        let mut call = Call {
            until,
            network_wait: policy.network_wait(),
            max_pushback: policy.max_retry_after(),
            refreshed: false,
            trial: None,
        };
        // A write or wait for an answer blocked in the socket ends at its
        // next look once cancelled, not when the link or server moves.
        let _scope = cancel.enter();
        // A trial not told of (not sent: cancelled, past its deadline, a
        // token refresh that failed; or a panic in a caller's callback)
        // is released by its guard, so that another call may go.
        retrier.run_cancellable(cancel, |attempt| {
            let result = self.gated_attempt(req, &mut call, (retrier, attempt), cancel);
            call.trial = None;
            result
        })
    }

    /// One attempt through the gates of its origin; an `unauthorized`
    /// answer gets one token refresh and an immediate second try.
    fn gated_attempt(
        &self,
        req: &Request,
        call: &mut Call,
        (retrier, attempt): (&Retrier, u32),
        cancel: &CancelToken,
    ) -> Result<Response, ApiError> {
        let inner = &*self.inner;
        let url = resolve(&inner.base, &req.url);
        let origin = self.origin(&req.url);
        let until = call.until;
        let arrived = Instant::now();
        let patience = call.network_wait.map(|w| arrived + w);
        origin.gate.wait(until, patience, cancel)?;
        let route = Route::new(&req.method, &req.url, req.route.as_deref());
        let passage =
            origin
                .overload
                .pass(&route, (until, patience), (req.waits, attempt > 0), cancel)?;
        if let Some(w) = &mut call.network_wait {
            *w = w.saturating_sub(arrived.elapsed());
        }
        if let Some(held) = passage.held {
            retrier.observe_held(attempt, held);
        }
        call.trial = passage.trial.map(|whose| {
            let key = match whose {
                Whose::Route => route.key().to_owned(),
                Whose::Origin => String::new(),
            };
            Trial(Some((origin.clone(), whose, key)))
        });
        let (token, generation) = match req.authorized {
            true => self.token_for(until, cancel)?,
            false => (None, 0),
        };
        match self.exchange(req, (&url, &route), &origin, token.as_ref(), call, cancel) {
            Err(e) if e.kind == Kind::Unauthorized && req.authorized => {
                let Some(source) = inner.source.as_ref().filter(|_| !call.refreshed) else {
                    return Err(e.with_retry(Retry::No)); // yes* needs a refresh
                };
                call.refreshed = true;
                inner.auth.refresh_after(generation, until, cancel, || {
                    source.refresh(self, until, cancel)
                })?;
                let (token, _) = self.token_for(until, cancel)?;
                self.exchange(req, (&url, &route), &origin, token.as_ref(), call, cancel)
                    .map_err(|e| match e.kind {
                        Kind::Unauthorized => e.with_retry(Retry::No),
                        _ => e,
                    })
            }
            other => other,
        }
    }

    /// One exchange when the origin's rate limit allows, classified; a
    /// failure showing the origin unreachable closes its gate, and a 429's
    /// `Retry-After` is told to the rate limiter.
    fn exchange(
        &self,
        req: &Request,
        (url, route): (&str, &Route<'_>),
        origin: &Arc<Origin>,
        token: Option<&Secret>,
        call: &mut Call,
        cancel: &CancelToken,
    ) -> Result<Response, ApiError> {
        let until = call.until;
        let sent = origin.limiter.acquire(route, until, cancel)?;
        // Held until the answer is told: a panic in between releases it.
        let guard = call.trial.take();
        let result = self.attempt(req, url, origin, token, until);
        let trial = guard.and_then(Trial::told);
        let Failed { error, unreachable } = match result {
            Ok(resp) => {
                let used_up = headers::rate_limit_exhausted(&resp.headers);
                answered(origin, route, sent, (used_up, false), trial);
                // A call that ran out of patience at the gate got through.
                origin.gate.mark_connected();
                return Ok(resp);
            }
            Err(failed) => failed,
        };
        // Only an answer tells the rate anything; a dropped connection does not.
        if error.status.is_some() {
            let throttled = error.kind == Kind::RateLimited;
            answered(
                origin,
                route,
                sent,
                (throttled, OverloadState::is_refusal(error.kind)),
                trial,
            );
            origin.gate.mark_connected();
        } else if let Some(whose) = trial {
            origin.overload.on_trial_lost(route, true, whose);
        }
        if unreachable {
            if let Some((first, outage)) = origin.gate.mark_disconnected() {
                self.start_health_check(origin.clone(), first, outage);
            }
        }
        // A short Retry-After holds the call it answered (its retry waits
        // that long) while the others slow down at the learned, cut rate,
        // instead of all stopping and all starting again together; a long
        // one, or one with no learned rate, holds every call (no longer
        // than the policy obeys a Retry-After: a day's wait must not stall
        // every call for a day).
        if let (Kind::RateLimited, Some(ms)) = (error.kind, error.retry_after_ms) {
            let wait = Duration::from_millis(ms);
            origin
                .limiter
                .on_retry_after(route, wait, call.max_pushback);
        }
        Err(error)
    }

    /// One attempt, redirects followed, classified.
    fn attempt(
        &self,
        req: &Request,
        url: &str,
        origin: &Origin,
        token: Option<&Secret>,
        until: Option<Instant>,
    ) -> Result<Response, Failed> {
        let inner = &*self.inner;
        let mut hop = redirect::Hop {
            method: req.method.clone(),
            url: url.to_owned(),
            body: true,
        };
        for _ in 0..=redirect::MAX_REDIRECTS {
            // Credentials never leave the request's own origin.
            let credentials = hop.url == url || origin_of(&hop.url).as_deref() == Some(&origin.key);
            let x = Exchange {
                method: &hop.method,
                url: &hop.url,
                body: hop.body,
                credentials,
                token: token.map(Secret::expose),
                left: until.map(|u| u.saturating_duration_since(Instant::now())),
            };
            let resp = transport::send(&inner.agents, req, &x, inner.caps)?;
            let next = redirect::next(resp.status, &resp.headers, &hop.method, &hop.url);
            if !req.follow_redirects && (300..400).contains(&resp.status) {
                return Err(ApiError::new(Kind::Protocol)
                    .with_retry(Retry::No)
                    .with_status(resp.status)
                    .with_message(format!(
                        "answered with a redirect ({}{}), which this request does not follow",
                        resp.status,
                        next.map(|n| format!(" to {}", crate::redact::secrets(&n.url)))
                            .unwrap_or_default()
                    ))
                    .into());
            }
            if let Some(next) = next {
                hop = redirect::Hop {
                    body: hop.body && next.body,
                    ..next
                };
                continue;
            }
            // The reset is looked up only when a quota is stated.
            if let Some(left) = headers::rate_limit_remaining(&resp.headers) {
                if let Some(ms) = headers::rate_limit_reset_ms(&resp.headers, SystemTime::now()) {
                    origin.limiter.on_quota(left, Duration::from_millis(ms));
                }
            }
            let profile = req.profile.as_deref().unwrap_or(&inner.profile);
            let mut raw = RawResponse::new(resp.status)
                .headers(&resp.headers)
                .body(&resp.body)
                .method(&hop.method);
            if let Some(e) = req.expect {
                raw = raw.expect(e);
            }
            return match profile.classify(&raw) {
                None => Ok(resp),
                Some(err) => Err(err.into()),
            };
        }
        Err(ApiError::new(Kind::Protocol)
            .with_retry(Retry::No)
            .with_message(format!(
                "too many redirects: more than {} (a redirect loop?), last to {}",
                redirect::MAX_REDIRECTS,
                crate::redact::secrets(&hop.url)
            ))
            .into())
    }
}

/// Tells `origin` of an answer to a request let out at `sent`: its
/// overload gate, and its learned rate unless that gate holds calls (while
/// the service refuses everything, its answers tell of the outage, not of
/// its rate; the refusals that closed the gate are taken back too).
fn answered(
    origin: &Origin,
    route: &Route<'_>,
    sent: Instant,
    (throttled, refused): (bool, bool),
    trial: Option<Whose>,
) {
    match origin.overload.on_answer(route, refused, trial) {
        // Kept, the cuts slowed the fleet model's return from a shedding
        // outage past its goals (BENCHMARKS.md, issue 35).
        (c, _) if c.origin == Overload::Began => origin.limiter.rewind(None),
        (c, _) if c.route == Overload::Began => origin.limiter.rewind(Some(route)),
        (_, true) => {} // held
        _ => origin.limiter.on_answer(route, sent, throttled),
    }
}

/// The trial request an attempt carries for its origin's overload gate
/// (or its route's); dropped untold (unsent, or unwinding from a panic),
/// it frees the gate for the next trial.
struct Trial(Option<(Arc<Origin>, Whose, String)>);

impl Trial {
    /// The attempt's outcome will be told: nothing to release. Whose trial
    /// it is.
    fn told(mut self) -> Option<Whose> {
        self.0.take().map(|(_, whose, _)| whose)
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        if let Some((origin, whose, key)) = self.0.take() {
            let route = Route::new("", "", Some(&key));
            origin.overload.on_trial_lost(&route, false, whose);
        }
    }
}

/// What one call carries from attempt to attempt.
struct Call {
    until: Option<Instant>,
    /// Set while this attempt is its origin's trial request: a trial that
    /// ends unanswered (cancelled, past its deadline, unsent) frees the
    /// next one.
    trial: Option<Trial>,
    /// Time it may still wait at closed gates (`None`: for ever).
    network_wait: Option<Duration>,
    /// The longest `Retry-After` obeyed, for the origin's pause too.
    max_pushback: Duration,
    refreshed: bool,
}

pub(super) fn is_absolute(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// `url` if absolute, else the path joined to `base`.
pub(super) fn resolve(base: &str, url: &str) -> String {
    if is_absolute(url) {
        url.to_owned()
    } else {
        let path = url.trim_start_matches('/');
        let mut full = String::with_capacity(base.len() + 1 + path.len());
        full.push_str(base);
        full.push('/');
        full.push_str(path);
        full
    }
}
