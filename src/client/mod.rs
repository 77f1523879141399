//! The blocking HTTP client: built once, shared by threads, every request
//! classified and retried by the profile and policy.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use crate::backoff::Backoff;
use crate::budget::RetryBudget;
use crate::cancel::CancelToken;
use crate::classify::RawResponse;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::events::Observer;
use crate::gate::authorization::{AuthGate, Fresh};
use crate::gate::{ClientState, Secret, StateObserver};
use crate::headers;
use crate::kind::{Kind, Retry};
use crate::limit::{AdaptiveRate, RateLimit, RateLimiter, RateObserver};
use crate::oauth::{OAuth, OAuthSource};
use crate::policy::Policy;
use crate::profile::Profile;
use crate::retry::Retrier;

mod auth;
mod origin;
mod pairing;
mod progress;
mod proxy;
mod redirect;
mod request;
mod response;
mod stall;
mod timeouts;
mod tls;
mod transport;

use auth::Source;
use origin::{origin_of, Origin, Origins};
pub use progress::{Progress, PROGRESS_EVERY};
pub use proxy::Proxy;
pub use request::{Request, RequestClass};
pub use response::Response;
pub use timeouts::{StallLimits, Timeouts};
pub use tls::TlsSettings;
use transport::{Agents, Caps, Exchange, Failed};

/// Default cap on error bodies kept for classification.
pub const DEFAULT_MAX_ERROR_BODY: u64 = 1 << 20;
/// Default cap on success bodies.
pub const DEFAULT_MAX_BODY: u64 = 16 << 20;

/// A blocking client for one API. Cheap to clone; `Send + Sync`.
///
/// ```no_run
/// use apiretry::{Client, Profile, Request};
///
/// let client = Client::builder("https://api.example.com/v2")
///     .profile(Profile::builtin("c2c").unwrap().clone())
///     .build();
/// let asset = client.send(&Request::post("/assets").body(b"{}".to_vec()).expect(201))?;
/// # Ok::<(), apiretry::ApiError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: String,
    profile: Arc<Profile>,
    retrier: Retrier,
    agents: Agents,
    caps: Caps,
    auth: AuthGate,
    source: Option<Source>,
    origins: Origins,
}

/// Configures a [`Client`].
pub struct ClientBuilder {
    base: String,
    profile: Profile,
    policy: Policy,
    timeouts: Timeouts,
    stalls: StallLimits,
    caps: Caps,
    /// `None`: the default, sized from the policy at build time.
    budget: Option<Option<Arc<RetryBudget>>>,
    clock: Option<Arc<dyn Clock>>,
    observer: Option<Arc<dyn Observer>>,
    token: Option<Secret>,
    source: Option<Source>,
    oauth: Option<OAuth>,
    state_observer: Option<Arc<StateObserver>>,
    health_path: String,
    health_backoff: Option<Backoff>,
    rate_limit: Option<Option<RateLimit>>,
    tls: TlsSettings,
    proxy: Option<Proxy>,
    route_limits: Vec<(String, String, RateLimit)>,
    adaptive: Option<AdaptiveRate>,
    rate_observer: Option<Arc<RateObserver>>,
    headers: Vec<(String, String)>,
}

impl ClientBuilder {
    /// A header sent on every request of this client, pairing, refresh and
    /// health checks included (seed 001 sends `x-client-version` on every
    /// call). A request's own header of the same name replaces it; a second
    /// value for the same name replaces the first.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The per-token limit to pace under (default: the profile's).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(Some(limit));
        self
    }

    /// No per-token limit, whatever the profile documents.
    pub fn without_rate_limit(mut self) -> Self {
        self.rate_limit = Some(None);
        self
    }

    /// How rates are learned from throttling where no limit is stated, per
    /// origin (on by default, with [`AdaptiveRate::default`]); under a
    /// configured limit, that limit is the ceiling.
    pub fn adaptive_rate(mut self, adaptive: AdaptiveRate) -> Self {
        self.adaptive = Some(adaptive);
        self
    }

    /// Tells `observer` each time an origin's learned rate is cut: the
    /// origin (`scheme://host:port`) and the new rate in requests per
    /// second, on the thread whose answer was throttled.
    pub fn rate_observer(mut self, observer: impl Fn(&str, f64) + Send + Sync + 'static) -> Self {
        self.rate_observer = Some(Arc::new(observer));
        self
    }

    /// Paces by configured limits only, never by what throttling taught.
    pub fn without_adaptive_rate(mut self) -> Self {
        self.adaptive = None;
        self
    }

    /// A lower limit for one route, added to the profile's.
    pub fn route_limit(mut self, method: &str, pattern: &str, limit: RateLimit) -> Self {
        self.route_limits
            .push((method.to_ascii_uppercase(), pattern.to_owned(), limit));
        self
    }
    /// The access token sent as `Authorization: Bearer` (or an API key).
    pub fn token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// How to get a new token when the API answers `unauthorized`. One thread
    /// refreshes while the others wait; if the refresh fails with
    /// `invalid_grant`, `invalid_request` or `unauthorized`, calls fail fast
    /// with "authorization required" until [`Client::set_token`].
    pub fn refresh(
        mut self,
        refresh: impl Fn() -> Result<Secret, ApiError> + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Source::Callback(Arc::new(refresh)));
        self
    }

    /// Authorizes by OAuth: the client takes its tokens from `oauth` (given,
    /// or loaded from its store), refreshes them by itself (when a call is
    /// answered `unauthorized`, and ahead of expiry at
    /// [`crate::REFRESH_AT_LIFE`] of their life), and stores each new set.
    /// Without tokens, or once a refresh is refused, calls that need
    /// authorization fail fast until [`Client::pair`]. Replaces
    /// [`ClientBuilder::token`] and [`ClientBuilder::refresh`].
    pub fn oauth(mut self, oauth: OAuth) -> Self {
        self.oauth = Some(oauth);
        self
    }

    /// Told of connectivity and authorization changes (to tell the user).
    pub fn state_observer(
        mut self,
        observer: impl Fn(ClientState) + Send + Sync + 'static,
    ) -> Self {
        self.state_observer = Some(Arc::new(observer));
        self
    }

    /// The path polled while disconnected (default `/`); any HTTP answer
    /// means the service is reachable again.
    pub fn health_path(mut self, path: &str) -> Self {
        self.health_path = path.to_owned();
        self
    }

    /// The health check's polling schedule (default
    /// [`Policy::probe_backoff`]: the policy's backoff, as seed 001
    /// recommends, capped at [`crate::HEALTH_CHECK_CAP`]). Calls waiting at
    /// the gate never make it poll faster: a fleet that lost the API
    /// together probes it no harder than one client would.
    pub fn health_backoff(mut self, backoff: Backoff) -> Self {
        self.health_backoff = Some(backoff);
        self
    }
    /// Which certificates to trust, and a client certificate (default:
    /// Mozilla's roots, bundled).
    pub fn tls(mut self, tls: TlsSettings) -> Self {
        self.tls = tls;
        self
    }

    /// Sends every request through this HTTP proxy (default: none; the
    /// environment's `HTTPS_PROXY`/`NO_PROXY` only through
    /// [`Proxy::from_env`]).
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// The API's error dialect (default: `generic`).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// The retry policy (default: `Policy::default()`).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Per-class timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Per-class limits on how long an attempt may move no byte (default
    /// [`StallLimits::default`]): past it, the attempt ends as `timeout`
    /// (retried), its message saying the transfer stalled and how far it came.
    pub fn stall_limits(mut self, stalls: StallLimits) -> Self {
        self.stalls = stalls;
        self
    }

    /// Bytes of an error body kept for classification (default 1 MiB).
    pub fn max_error_body(mut self, bytes: u64) -> Self {
        self.caps.error_body = bytes;
        self
    }

    /// Largest success body (default 16 MiB); more is `body_too_large`.
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.caps.body = bytes;
        self
    }

    /// Shares this retry budget (default: a budget of the client's own,
    /// [`RetryBudget::for_policy`] of its policy).
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(Some(budget));
        self
    }

    /// Retries without a budget (not recommended for fleets).
    pub fn without_budget(mut self) -> Self {
        self.budget = Some(None);
        self
    }

    /// Backoff sleeps go through this clock (a `VirtualClock` in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Receives an event per attempt.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Client {
        let rate_limit = self.rate_limit.unwrap_or(self.profile.rate_limit());
        let mut route_limits = self.route_limits;
        route_limits.extend(self.profile.route_limits().iter().cloned());
        let health_backoff = self
            .health_backoff
            .unwrap_or_else(|| self.policy.probe_backoff());
        let budget = self
            .budget
            .unwrap_or_else(|| Some(Arc::new(RetryBudget::for_policy(&self.policy))));
        let mut retrier = Retrier::new(self.policy);
        if let Some(b) = budget {
            retrier = retrier.with_budget(b);
        }
        if let Some(c) = self.clock {
            retrier = retrier.with_clock(c);
        }
        if let Some(o) = self.observer {
            retrier = retrier.with_observer(o);
        }
        let (source, start) = match self.oauth {
            Some(oauth) => {
                let (source, start) = OAuthSource::start(oauth);
                (Some(Source::OAuth(Arc::new(source))), start.map(Some))
            }
            None => (
                self.source,
                Ok(self.token.map(|token| Fresh { token, due: None })),
            ),
        };
        let (token, required) = match start {
            Ok(token) => (token, None),
            Err(e) => (None, Some(e)),
        };
        let base = self.base.trim_end_matches('/').to_owned();
        let health_url = resolve(&base, &self.health_path);
        let api = origin_of(&base).unwrap_or_else(|| base.clone());
        let origins = Origins::new(
            api.clone(),
            RateLimiter::new(&api, rate_limit, &route_limits, self.adaptive),
            (health_url, health_backoff),
            self.state_observer.clone(),
            self.adaptive,
            self.rate_observer,
        );
        Client {
            inner: Arc::new(Inner {
                base,
                profile: Arc::new(self.profile),
                retrier,
                agents: Agents::new(
                    (self.timeouts, self.stalls),
                    &self.tls,
                    self.proxy.as_ref(),
                    self.headers,
                ),
                caps: self.caps,
                auth: AuthGate::new(token, required, self.state_observer),
                source,
                origins,
            }),
        }
    }
}

impl Client {
    /// Starts configuring a client for the API at `base_url`.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base: base_url.into(),
            profile: Profile::builtin("generic").expect("built in").clone(),
            policy: Policy::default(),
            timeouts: Timeouts::default(),
            stalls: StallLimits::default(),
            caps: Caps {
                error_body: DEFAULT_MAX_ERROR_BODY,
                body: DEFAULT_MAX_BODY,
            },
            budget: None,
            clock: None,
            observer: None,
            token: None,
            source: None,
            oauth: None,
            state_observer: None,
            health_path: "/".to_owned(),
            health_backoff: None,
            rate_limit: None,
            route_limits: Vec::new(),
            adaptive: Some(AdaptiveRate::default()),
            rate_observer: None,
            headers: Vec::new(),
            tls: TlsSettings::default(),
            proxy: None,
        }
    }

    /// Supplies new credentials (after the user authorized again).
    pub fn set_token(&self, token: Secret) {
        self.inner.auth.set_token(Fresh { token, due: None });
    }

    /// The clock the client's waits go through.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        self.inner.retrier.clock()
    }

    /// The client's retry policy.
    pub(crate) fn policy(&self) -> &Policy {
        self.inner.retrier.policy()
    }

    /// Whether calls to any origin are being held for a lost connection.
    pub fn is_disconnected(&self) -> bool {
        self.inner.origins.any_disconnected()
    }

    /// The rate learned for `url`'s origin (a path: the API's) from its
    /// throttling answers, in requests per second; `None` until one came.
    pub fn learned_rate(&self, url: &str) -> Option<f64> {
        self.origin(url).limiter.learned_rate()
    }

    /// The state of `url`'s origin. A path joined to the base is the API's:
    /// no URL to parse per attempt.
    fn origin(&self, url: &str) -> Arc<Origin> {
        match is_absolute(url) {
            true => self.inner.origins.of(url),
            false => self.inner.origins.api().clone(),
        }
    }

    /// The client's profile.
    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

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
        };
        retrier.run_cancellable(cancel, |_| self.gated_attempt(req, &mut call, cancel))
    }

    /// One attempt through the gates of its origin; an `unauthorized`
    /// answer gets one token refresh and an immediate second try.
    fn gated_attempt(
        &self,
        req: &Request,
        call: &mut Call,
        cancel: &CancelToken,
    ) -> Result<Response, ApiError> {
        let inner = &*self.inner;
        let url = resolve(&inner.base, &req.url);
        let origin = self.origin(&req.url);
        let until = call.until;
        let arrived = Instant::now();
        let patience = call.network_wait.map(|w| arrived + w);
        origin.gate.wait(until, patience, cancel)?;
        if let Some(w) = &mut call.network_wait {
            *w = w.saturating_sub(arrived.elapsed());
        }
        let (token, generation) = match req.authorized {
            true => self.token_for(until, cancel)?,
            false => (None, 0),
        };
        match self.exchange(req, &url, &origin, token.as_ref(), call, cancel) {
            Err(e) if e.kind == Kind::Unauthorized && req.authorized => {
                let Some(source) = inner.source.as_ref().filter(|_| !call.refreshed) else {
                    return Err(e.with_retry(Retry::No)); // yes* needs a refresh
                };
                call.refreshed = true;
                inner.auth.refresh_after(generation, until, cancel, || {
                    source.refresh(self, until, cancel)
                })?;
                let (token, _) = self.token_for(until, cancel)?;
                self.exchange(req, &url, &origin, token.as_ref(), call, cancel)
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
        url: &str,
        origin: &Arc<Origin>,
        token: Option<&Secret>,
        call: &Call,
        cancel: &CancelToken,
    ) -> Result<Response, ApiError> {
        let until = call.until;
        let sent = origin.limiter.acquire(&req.method, url, until, cancel)?;
        let Failed { error, unreachable } = match self.attempt(req, url, origin, token, until) {
            Ok(resp) => {
                let used_up = headers::rate_limit_exhausted(&resp.headers);
                origin.limiter.on_answer(sent, used_up);
                // A call that ran out of patience at the gate got through.
                origin.gate.mark_connected();
                return Ok(resp);
            }
            Err(failed) => failed,
        };
        // Only an answer tells the rate anything; a dropped connection does not.
        if error.status.is_some() {
            origin
                .limiter
                .on_answer(sent, error.kind == Kind::RateLimited);
            origin.gate.mark_connected();
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
            origin.limiter.on_retry_after(wait, call.max_pushback);
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
            if let Some(next) = redirect::next(resp.status, &resp.headers, &hop.method, &hop.url) {
                hop = redirect::Hop {
                    body: hop.body && next.body,
                    ..next
                };
                continue;
            }
            if let (Some(left), Some(ms)) = (
                headers::rate_limit_remaining(&resp.headers),
                headers::rate_limit_reset_ms(&resp.headers, SystemTime::now()),
            ) {
                origin.limiter.on_quota(left, Duration::from_millis(ms));
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

    /// Probes `origin` on its gate's schedule (the first after `first`), on
    /// a thread of its own, through the client's clock, until any HTTP
    /// answer comes back; ends early if the client is dropped or a call's
    /// answer opened the gate (even if it closed again since: that outage
    /// has a prober of its own).
    fn start_health_check(&self, origin: Arc<Origin>, first: Duration, outage: u64) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let clock = self.inner.retrier.clock().clone();
        let spawned = std::thread::Builder::new()
            .name("apiretry-health".into())
            .spawn({
                let origin = origin.clone();
                move || {
                    let mut pause = first;
                    loop {
                        clock.sleep(pause, CancelToken::never());
                        let Some(inner) = weak.upgrade() else { return };
                        if !origin.gate.still_down(outage) {
                            return;
                        }
                        if !probe(&inner, &origin) {
                            return origin.gate.mark_connected();
                        }
                        pause = origin.gate.next_probe();
                    }
                }
            });
        if spawned.is_err() {
            // No thread for the check: do not hold calls that nothing would release.
            origin.gate.mark_connected();
        }
    }
}

/// One health probe of `origin`; true while it is still unreachable.
fn probe(inner: &Inner, origin: &Origin) -> bool {
    let (method, url) = (origin.probe.0, origin.probe.1.as_str());
    let request = Request::new(method, url).without_authorization();
    let x = Exchange {
        method,
        url,
        body: false,
        credentials: false,
        token: None,
        left: None,
    };
    match transport::send(&inner.agents, &request, &x, inner.caps) {
        Err(f) if f.unreachable => {
            log::debug!(target: "apiretry::probe", "{method} {}: {}", origin.key, f.error);
            true
        }
        _ => {
            log::info!(target: "apiretry::probe", "{method} {}: reachable again", origin.key);
            false
        }
    }
}

/// What one call carries from attempt to attempt.
struct Call {
    until: Option<Instant>,
    /// Time it may still wait at closed gates (`None`: for ever).
    network_wait: Option<Duration>,
    /// The longest `Retry-After` obeyed, for the origin's pause too.
    max_pushback: Duration,
    refreshed: bool,
}

fn is_absolute(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// `url` if absolute, else the path joined to `base`.
fn resolve(base: &str, url: &str) -> String {
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
