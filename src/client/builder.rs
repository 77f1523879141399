//! Configuring a client: what it sends with, how it retries and paces,
//! who hears of it, and how it authorizes.

use std::sync::Arc;

use super::agents::{Agents, Caps};
use super::auth::Source;
use super::origin::{origin_of, Origins};
use super::send::resolve;
use super::socket::congestion::{DEFAULT_UPLOAD_CONGESTION, UPLOAD_UNSENT};
use super::stall::Link;
use super::{
    Client, Inner, Proxy, StallLimits, Timeouts, TlsSettings, DEFAULT_MAX_BODY,
    DEFAULT_MAX_ERROR_BODY,
};
use crate::backoff::Backoff;
use crate::budget::RetryBudget;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::events::Observer;
use crate::gate::authorization::{AuthGate, Fresh};
use crate::gate::{ClientState, Secret, StateObserver};
use crate::limit::bandwidth::Bandwidth;
use crate::limit::{AdaptiveRate, RateLimit, RateLimiter, RateObserver};
use crate::oauth::{OAuth, OAuthSource};
use crate::policy::Policy;
use crate::profile::Profile;
use crate::retry::Retrier;

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
    overload_control: bool,
    headers: Vec<(String, String)>,
    upload_congestion: Option<String>,
    max_upload_rate: Option<u64>,
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

    /// Never holds calls for overload: every call keeps its own retries
    /// when an origin answers but refuses everything (see
    /// [`crate::OverloadState`]; on by default).
    pub fn without_overload_control(self) -> Self {
        self.set_overload_control(false)
    }

    pub(crate) fn set_overload_control(mut self, on: bool) -> Self {
        self.overload_control = on;
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

    /// The TCP congestion control that upload parts' connections (the
    /// chunk-upload class) ask for: `bbr` unless told, where the kernel
    /// gives it, else the system's; `None`: the system's.
    ///
    /// On a lossy link (cellular, crowded Wi-Fi) a loss-based algorithm
    /// such as cubic, most devices' default, holds each flow to a few
    /// Mbit/s; BBR fills the link (0.2 of an LTE-like link against 0.8 in
    /// BENCHMARKS.md). A device's uplink is usually its own, so BBR's
    /// weaker fairness toward other flows costs little there.
    /// [`check_congestion_control`](crate::check_congestion_control) says
    /// whether the kernel gives a name, and why not.
    pub fn upload_congestion_control(mut self, name: Option<&str>) -> Self {
        self.upload_congestion = name.map(str::to_owned);
        self
    }

    /// Caps the bytes this client sends per second, all its connections
    /// together (upload parts, and every other request's bytes), so that
    /// the rest of the uplink stays free (a camera streaming a preview);
    /// 0: no cap (the default). Writes wait their turn before they reach
    /// the socket; a cancelled call stops waiting at once.
    pub fn max_upload_rate(mut self, bytes_per_sec: u64) -> Self {
        self.max_upload_rate = (bytes_per_sec > 0).then_some(bytes_per_sec);
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
            (health_url, health_backoff, self.overload_control),
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
                    Link {
                        congestion: self.upload_congestion.map(Arc::from),
                        unsent: Some(UPLOAD_UNSENT),
                        cap: self.max_upload_rate.map(|r| Arc::new(Bandwidth::new(r))),
                    },
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
            overload_control: true,
            headers: Vec::new(),
            upload_congestion: Some(DEFAULT_UPLOAD_CONGESTION.to_owned()),
            max_upload_rate: None,
            tls: TlsSettings::default(),
            proxy: None,
        }
    }
}
