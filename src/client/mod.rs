//! The blocking HTTP client: built once, shared by threads, every request
//! classified and retried by the profile and policy.

use std::sync::Arc;

use crate::budget::RetryBudget;
use crate::cancel::CancelToken;
use crate::classify::RawResponse;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::events::Observer;
use crate::policy::Policy;
use crate::profile::Profile;
use crate::retry::Retrier;

mod request;
mod response;
mod timeouts;
mod transport;

pub use request::{Request, RequestClass};
pub use response::Response;
pub use timeouts::Timeouts;
use transport::Caps;

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
    agent: ureq::Agent,
    timeouts: Timeouts,
    caps: Caps,
}

/// Configures a [`Client`].
pub struct ClientBuilder {
    base: String,
    profile: Profile,
    policy: Policy,
    timeouts: Timeouts,
    caps: Caps,
    budget: Option<Arc<RetryBudget>>,
    clock: Option<Arc<dyn Clock>>,
    observer: Option<Arc<dyn Observer>>,
}

impl ClientBuilder {
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

    /// Shares this retry budget (default: a budget of the client's own).
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Retries without a budget (not recommended for fleets).
    pub fn without_budget(mut self) -> Self {
        self.budget = None;
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
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("apiretry/", env!("CARGO_PKG_VERSION")))
            .build();
        let mut retrier = Retrier::new(self.policy);
        if let Some(b) = self.budget {
            retrier = retrier.with_budget(b);
        }
        if let Some(c) = self.clock {
            retrier = retrier.with_clock(c);
        }
        if let Some(o) = self.observer {
            retrier = retrier.with_observer(o);
        }
        Client {
            inner: Arc::new(Inner {
                base: self.base.trim_end_matches('/').to_owned(),
                profile: Arc::new(self.profile),
                retrier,
                agent: ureq::Agent::new_with_config(config),
                timeouts: self.timeouts,
                caps: self.caps,
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
            caps: Caps {
                error_body: DEFAULT_MAX_ERROR_BODY,
                body: DEFAULT_MAX_BODY,
            },
            budget: Some(Arc::new(RetryBudget::default())),
            clock: None,
            observer: None,
        }
    }

    /// The client's profile.
    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    /// Sends `req`, retrying as the policy allows; returns the response when
    /// it is a success (and the expected status), else the classified failure.
    pub fn send(&self, req: &Request) -> Result<Response, ApiError> {
        self.inner.retrier.run(|_| self.attempt(req))
    }

    /// As [`Client::send`]; `cancel` (from any thread) stops the call before
    /// its next attempt and interrupts its backoff.
    pub fn send_cancellable(
        &self,
        req: &Request,
        cancel: &CancelToken,
    ) -> Result<Response, ApiError> {
        self.inner
            .retrier
            .run_cancellable(cancel, |_| self.attempt(req))
    }

    /// One attempt, classified.
    fn attempt(&self, req: &Request) -> Result<Response, ApiError> {
        let inner = &*self.inner;
        let url = self.resolve(&req.url);
        let timeout = inner.timeouts.for_class(req.class);
        let resp = transport::send(&inner.agent, req, &url, None, timeout, inner.caps)?;
        let profile = req.profile.as_deref().unwrap_or(&inner.profile);
        let mut raw = RawResponse::new(resp.status)
            .headers(&resp.headers)
            .body(&resp.body);
        if let Some(e) = req.expect {
            raw = raw.expect(e);
        }
        match profile.classify(&raw) {
            None => Ok(resp),
            Some(err) => Err(err),
        }
    }

    fn resolve(&self, url: &str) -> String {
        if url.starts_with("http://") || url.starts_with("https://") {
            url.to_owned()
        } else {
            format!("{}/{}", self.inner.base, url.trim_start_matches('/'))
        }
    }
}
