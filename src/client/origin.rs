//! Per-origin state: one client talks to the API host and to S3 (presigned
//! URLs) at once, and an outage, a pause or a rate limit at one of them must
//! not hold calls to the other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use ureq::http::Uri;

use crate::backoff::Backoff;
use crate::gate::connectivity::ConnectivityGate;
use crate::gate::overload::OverloadGate;
use crate::gate::StateObserver;
use crate::limit::{AdaptiveRate, RateLimiter, RateObserver};

/// Origins a client keeps state for; past this, connected origins with
/// nothing in flight are forgotten (a redirect chain cannot grow it forever).
const MAX_ORIGINS: usize = 64;

/// `scheme://host:port`, lowercased, the default port made explicit; `None`
/// for a URL without a scheme or host.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    Some(format!("{scheme}://{host}:{port}"))
}

/// What the client knows of one origin.
#[derive(Debug)]
pub(crate) struct Origin {
    /// `scheme://host:port`.
    pub key: String,
    pub gate: ConnectivityGate,
    /// Holds calls while the origin answers but refuses (load shedding).
    pub overload: OverloadGate,
    /// Pacing (configured limits apply to the API's origin only) and the
    /// pauses this origin asked for.
    pub limiter: RateLimiter,
    /// What the health probe requests: the API's health path, else `HEAD /`.
    pub probe: (&'static str, String),
}

/// The origins of one client, the API's made up front.
pub(crate) struct Origins {
    api: Arc<Origin>,
    others: Mutex<HashMap<String, Arc<Origin>>>,
    observer: Option<Arc<StateObserver>>,
    /// Every origin's probe schedule.
    probes: Backoff,
    /// How other origins learn their rates, and who hears of it.
    adaptive: Option<AdaptiveRate>,
    rate_observer: Option<Arc<RateObserver>>,
    /// Whether origins hold calls when they refuse everything.
    overload_control: bool,
}

impl std::fmt::Debug for Origins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Origins")
            .field("api", &self.api)
            .field("others", &*others)
            .finish()
    }
}

impl Origins {
    /// `api` is the base URL's origin, with its limiter and health URL;
    /// every origin is probed on `probes` while unreachable.
    pub fn new(
        api: String,
        limiter: RateLimiter,
        (health_url, probes, overload_control): (String, Backoff, bool),
        observer: Option<Arc<StateObserver>>,
        adaptive: Option<AdaptiveRate>,
        rate_observer: Option<Arc<RateObserver>>,
    ) -> Self {
        Origins {
            api: Arc::new(Origin {
                key: api,
                gate: ConnectivityGate::new(probes.clone(), observer.clone()),
                overload: OverloadGate::new(probes.clone(), observer.clone(), overload_control),
                limiter: limiter.with_observer(rate_observer.clone()),
                probe: ("GET", health_url),
            }),
            others: Mutex::default(),
            observer,
            probes,
            adaptive,
            rate_observer,
            overload_control,
        }
    }

    /// The API's origin.
    pub fn api(&self) -> &Arc<Origin> {
        &self.api
    }

    /// The state of `url`'s origin (the API's for URLs without one).
    pub fn of(&self, url: &str) -> Arc<Origin> {
        let Some(key) = origin_of(url).filter(|k| *k != self.api.key) else {
            return self.api.clone();
        };
        let mut others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(o) = others.get(&key) {
            return o.clone();
        }
        if others.len() >= MAX_ORIGINS {
            others.retain(|_, o| {
                Arc::strong_count(o) > 1 || o.gate.is_disconnected() || o.overload.is_overloaded()
            });
        }
        let origin = Arc::new(Origin {
            probe: ("HEAD", format!("{key}/")),
            key: key.clone(),
            gate: ConnectivityGate::new(self.probes.clone(), self.observer.clone()),
            overload: OverloadGate::new(
                self.probes.clone(),
                self.observer.clone(),
                self.overload_control,
            ),
            limiter: RateLimiter::new(&key, None, &[], self.adaptive)
                .with_observer(self.rate_observer.clone()),
        });
        others.insert(key, origin.clone());
        origin
    }

    /// Whether any origin is held for a lost connection.
    pub fn any_disconnected(&self) -> bool {
        self.any(|o| o.gate.is_disconnected())
    }

    /// Whether any origin is held for overload.
    pub fn any_overloaded(&self) -> bool {
        self.any(|o| o.overload.is_overloaded())
    }

    /// Runs `f` on every origin.
    pub fn each(&self, f: impl Fn(&Origin)) {
        f(&self.api);
        let others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        others.values().for_each(|o| f(o));
    }

    fn any(&self, held: impl Fn(&Origin) -> bool) -> bool {
        held(&self.api)
            || self
                .others
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .any(|o| held(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let rows = [
            (
                "http://127.0.0.1:8080/v2/x?y=1",
                Some("http://127.0.0.1:8080"),
            ),
            (
                "https://Bucket.S3.amazonaws.com/part1",
                Some("https://bucket.s3.amazonaws.com:443"),
            ),
            ("http://api.example.com", Some("http://api.example.com:80")),
            ("http://[::1]:9/", Some("http://[::1]:9")),
            ("/v2/assets", None),
            ("not a url", None),
        ];
        for (url, want) in rows {
            assert_eq!(origin_of(url).as_deref(), want, "{url}");
        }
    }
}
