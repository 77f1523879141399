//! The ureq agents a client sends with: one per request class, each with
//! that class's timeouts and stall limits, TLS and proxy settings; upload
//! parts' connections with their congestion control, every connection
//! within the client's cap on the bytes it sends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::proxy::Proxy;
use super::request::{Request, RequestClass};
use super::stall::Link;
use super::timeouts::{StallLimits, Timeouts};
use super::tls::TlsSettings;

/// Body size caps for one attempt.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caps {
    /// Bytes of an error body kept for classification; the rest is dropped.
    pub error_body: u64,
    /// Largest success body; more is `body_too_large`.
    pub body: u64,
}

/// One ureq agent per request class, each with that class's timeouts, and
/// one that never pools connections. Set up once: per-request timeout
/// configuration would copy ureq's whole config on every request.
#[derive(Debug)]
pub(crate) struct Agents {
    timeouts: Timeouts,
    /// `host:port` of the proxy, named in failures to reach it.
    pub(super) proxy: Option<String>,
    default: ureq::Agent,
    auth_refresh: ureq::Agent,
    chunk_upload: ureq::Agent,
    /// For requests that must have a connection of their own (default timeouts).
    unpooled: ureq::Agent,
    /// Sent on every request (e.g. `x-client-version`), unless the request
    /// names the header itself.
    pub(super) identity: Vec<(String, String)>,
    /// Bumped when the link changed: pooled connections of an older
    /// generation are closed instead of reused.
    generation: Arc<AtomicUsize>,
    /// The congestion control upload parts' connections ask for, and
    /// (once asked) whether it is BBR and the kernel gives it.
    upload_congestion: Option<Arc<str>>,
    uploads_paced: OnceLock<bool>,
}

impl Agents {
    pub fn new(
        (timeouts, stalls): (Timeouts, StallLimits),
        tls: &TlsSettings,
        proxy: Option<&Proxy>,
        identity: Vec<(String, String)>,
        upload_link: Link,
    ) -> Self {
        let tls = tls.config();
        let proxy = proxy.map(Proxy::ureq);
        let generation = Arc::new(AtomicUsize::new(0));
        let agent = |class, pooled| {
            let limits = (timeouts.for_class(class), stalls.for_class(class));
            let link = match class {
                RequestClass::ChunkUpload => upload_link.clone(),
                _ => Link {
                    congestion: None,
                    unsent: None,
                    cap: upload_link.cap.clone(),
                },
            };
            agent(limits, pooled, (&tls, &proxy), (&generation, link))
        };
        Agents {
            upload_congestion: upload_link.congestion.clone(),
            uploads_paced: OnceLock::new(),
            timeouts,
            proxy: proxy.as_ref().map(|p| format!("{}:{}", p.host(), p.port())),
            default: agent(RequestClass::Default, true),
            auth_refresh: agent(RequestClass::AuthRefresh, true),
            chunk_upload: agent(RequestClass::ChunkUpload, true),
            unpooled: agent(RequestClass::Default, false),
            identity,
            generation,
        }
    }

    /// Whether upload parts' connections get BBR: asked, and given by the
    /// kernel (tried once, on the first upload).
    pub(super) fn uploads_paced(&self) -> bool {
        *self.uploads_paced.get_or_init(|| {
            self.upload_congestion.as_deref().is_some_and(|name| {
                name.starts_with("bbr") && super::socket::congestion::check(name).is_ok()
            })
        })
    }

    /// No pooled connection made before now is used again: after a link
    /// change they lead nowhere (another interface, a NAT that forgot them).
    pub(super) fn drop_connections(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The agent for `req`, and its phase timeout.
    pub(super) fn for_request(&self, req: &Request) -> (&ureq::Agent, Duration) {
        let agent = match (req.own_connection, req.class) {
            (true, _) => &self.unpooled,
            (false, RequestClass::Default) => &self.default,
            (false, RequestClass::AuthRefresh) => &self.auth_refresh,
            (false, RequestClass::ChunkUpload) => &self.chunk_upload,
        };
        let class = if req.own_connection {
            RequestClass::Default
        } else {
            req.class
        };
        (agent, self.timeouts.for_class(class))
    }
}

/// An agent whose every exchange has `timeout` on each phase: connect, send
/// the request and body, wait for the response, read the body; and `stall`
/// on each read and each write of the socket, so that an exchange that
/// moves no byte for that long ends (ureq's per-read and per-write
/// timeouts). Redirects are returned, not followed (the client follows
/// them: see `redirect`).
///
/// Not as one overall ureq timeout: an overall deadline makes ureq resolve
/// names on a thread of its own per request (~60 us a call on loopback), so
/// it is set per request only when the call's deadline is near enough to
/// bind.
fn agent(
    (timeout, stall): (Duration, Duration),
    pooled: bool,
    (tls, proxy): (&ureq::tls::TlsConfig, &Option<ureq::Proxy>),
    (generation, link): (&Arc<AtomicUsize>, Link),
) -> ureq::Agent {
    let t = Some(timeout);
    let stall = Some(stall).filter(|s| *s < timeout);
    let mut config = ureq::Agent::config_builder()
        .tls_config(tls.clone())
        .proxy(proxy.clone())
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("apiretry/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(t)
        .timeout_send_request(t)
        .timeout_send_body(t)
        .timeout_recv_response(t)
        .timeout_recv_body(t)
        .timeout_per_read(stall)
        .timeout_per_write(stall);
    if !pooled {
        config = config
            .max_idle_connections(0)
            .max_idle_connections_per_host(0);
    }
    let resolver = ureq::unversioned::resolver::DefaultResolver::default();
    ureq::Agent::with_parts(
        config.build(),
        super::stall::connector(generation.clone(), stall, link),
        resolver,
    )
}
