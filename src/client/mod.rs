//! The blocking HTTP client: built once, shared by threads, every request
//! classified and retried by the profile and policy.

use std::sync::Arc;

use crate::clock::Clock;
use crate::gate::authorization::{AuthGate, Fresh};
use crate::gate::Secret;
use crate::policy::Policy;
use crate::profile::Profile;
use crate::retry::Retrier;

mod agents;
mod auth;
mod builder;
mod health;
mod network;
mod origin;
mod pairing;
mod progress;
mod proxy;
mod redirect;
mod request;
mod response;
mod send;
mod socket;
mod stall;
mod timeouts;
mod tls;
mod transport;

use agents::{Agents, Caps};
use auth::Source;
pub use builder::ClientBuilder;
use origin::{Origin, Origins};
pub use progress::{Progress, PROGRESS_EVERY};
pub use proxy::Proxy;
pub use request::{Request, RequestClass};
pub use response::Response;
use send::is_absolute;
pub use socket::congestion::{check as check_congestion_control, DEFAULT_UPLOAD_CONGESTION};
pub use timeouts::{StallLimits, Timeouts};
pub use tls::TlsSettings;

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

impl Client {
    /// Supplies new credentials (after the user authorized again).
    pub fn set_token(&self, token: Secret) {
        self.inner.auth.set_token(Fresh { token, due: None });
    }

    /// The clock the client's waits go through.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        self.inner.retrier.clock()
    }

    /// Whether upload parts' connections run a congestion control that
    /// paces by the bandwidth it measures (BBR), as asked and given.
    pub(crate) fn uploads_paced(&self) -> bool {
        self.inner.agents.uploads_paced()
    }

    /// The client's retry policy.
    pub(crate) fn policy(&self) -> &Policy {
        self.inner.retrier.policy()
    }

    /// Whether calls to any origin are being held for a lost connection.
    pub fn is_disconnected(&self) -> bool {
        self.inner.origins.any_disconnected()
    }

    /// Whether calls to any origin are being held because it answers but
    /// refuses (load shedding): see [`crate::OverloadState`].
    pub fn is_overloaded(&self) -> bool {
        self.inner.origins.any_overloaded()
    }

    /// The application's hint that the device's link changed (the
    /// interface came up, Wi-Fi or LTE attached, an address changed: what
    /// netlink or NetworkManager tell it). Pooled connections are not used
    /// again, and every origin held for a lost connection is probed at
    /// once, its probe schedule starting over; held calls leave as soon as
    /// the probe gets an answer. Without hints the probes keep the policy's
    /// backoff. An origin held for overload keeps its trial schedule: a new
    /// link does not make a refusing service accept. Cheap; thread-safe.
    ///
    /// ```
    /// let client = apiretry::Client::builder("http://127.0.0.1:9").build();
    /// client.network_changed(); // nothing held: only the pool is dropped
    /// assert!(!client.is_disconnected());
    /// ```
    pub fn network_changed(&self) {
        log::info!(target: "apiretry::probe", "the link changed: probing held origins now");
        self.inner.agents.drop_connections();
        self.inner.origins.each(|o| o.gate.network_changed());
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
}
