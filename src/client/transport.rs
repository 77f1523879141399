//! One attempt over HTTP with ureq, and the mapping of ureq's failures to
//! the taxonomy's network kinds, by error variant, never by message text.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ureq::http;

use super::request::{Body, Request, RequestClass};
use super::response::Response;
use super::timeouts::Timeouts;
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

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
    default: ureq::Agent,
    auth_refresh: ureq::Agent,
    chunk_upload: ureq::Agent,
    /// For requests that must have a connection of their own (default timeouts).
    unpooled: ureq::Agent,
}

impl Agents {
    pub fn new(timeouts: Timeouts) -> Self {
        Agents {
            default: agent(timeouts.default, true),
            auth_refresh: agent(timeouts.auth_refresh, true),
            chunk_upload: agent(timeouts.chunk_upload, true),
            unpooled: agent(timeouts.default, false),
        }
    }

    pub fn for_request(&self, req: &Request) -> &ureq::Agent {
        match (req.own_connection, req.class) {
            (true, _) => &self.unpooled,
            (false, RequestClass::Default) => &self.default,
            (false, RequestClass::AuthRefresh) => &self.auth_refresh,
            (false, RequestClass::ChunkUpload) => &self.chunk_upload,
        }
    }
}

/// An agent whose every exchange has `timeout` on each phase: connect, send
/// the request and body, wait for the response, read the body.
///
/// Not as one overall ureq timeout: an overall deadline makes ureq resolve
/// names on a thread of its own per request (~60 us a call on loopback). The
/// name lookup therefore has the system resolver's own timeouts, and the
/// call's deadline bounds the retry loop as a whole.
fn agent(timeout: Duration, pooled: bool) -> ureq::Agent {
    let t = Some(timeout);
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(concat!("apiretry/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(t)
        .timeout_send_request(t)
        .timeout_send_body(t)
        .timeout_recv_response(t)
        .timeout_recv_body(t);
    if !pooled {
        config = config
            .max_idle_connections(0)
            .max_idle_connections_per_host(0);
    }
    ureq::Agent::new_with_config(config.build())
}

/// Sends `req` to `url` once and reads the response, capped.
pub(crate) fn send(
    agent: &ureq::Agent,
    req: &Request,
    url: &str,
    token: Option<&str>,
    caps: Caps,
) -> Result<Response, ApiError> {
    let mut b = http::Request::builder()
        .method(req.method.as_str())
        .uri(url);
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    if let Some(t) = token {
        b = b.header("Authorization", format!("Bearer {t}"));
    }
    // Only a streamed upload can fail locally; it reports that here.
    let mut upload_failed: Option<Arc<AtomicBool>> = None;
    let sent = match &req.body {
        Body::Empty => run(agent, b.body(())),
        Body::Bytes(bytes) => run(agent, b.body(&bytes[..])),
        Body::Reader(open) => {
            let inner = open().map_err(|e| local_io("cannot open the upload", &e))?;
            let failed = upload_failed.insert(Arc::new(AtomicBool::new(false)));
            let reader = Tracked {
                inner,
                failed: failed.clone(),
            };
            run(agent, b.body(ureq::SendBody::from_owned_reader(reader)))
        }
    };
    let response = sent.map_err(|e| match &upload_failed {
        Some(failed) if failed.load(Ordering::SeqCst) => local_io("reading the upload failed", &e),
        _ => network(e),
    })?;
    read(response, caps)
}

fn run<S: ureq::AsSendBody>(
    agent: &ureq::Agent,
    req: Result<http::Request<S>, http::Error>,
) -> Result<http::Response<ureq::Body>, ureq::Error> {
    agent.run(req?)
}

fn read(response: http::Response<ureq::Body>, caps: Caps) -> Result<Response, ApiError> {
    let (parts, mut body) = response.into_parts();
    let status = parts.status.as_u16();
    let headers = parts.headers;
    let body = if status >= 400 {
        // A huge error page must not turn a retryable 503 into body_too_large:
        // keep a prefix for classification and drop the rest.
        let mut buf = Vec::new();
        body.as_reader()
            .take(caps.error_body)
            .read_to_end(&mut buf)
            .map_err(|e| network(ureq::Error::from(e)))?;
        buf
    } else {
        body.with_config()
            .limit(caps.body)
            .read_to_vec()
            .map_err(network)?
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// An upload reader that remembers whether it failed, so that a local read
/// error is reported as `io`, not as a network failure.
struct Tracked {
    inner: Box<dyn Read + Send>,
    failed: Arc<AtomicBool>,
}

impl Read for Tracked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .inspect_err(|_| self.failed.store(true, Ordering::SeqCst))
    }
}

fn local_io(what: &str, e: &dyn std::fmt::Display) -> ApiError {
    ApiError::new(Kind::Io).with_message(format!("{what}: {e}"))
}

/// The taxonomy kind of a ureq failure.
pub(crate) fn network(err: ureq::Error) -> ApiError {
    use ureq::Error as E;
    let kind = match &err {
        E::Timeout(_) | E::BodyStalled => Kind::Timeout,
        E::HostNotFound => Kind::Dns,
        E::Io(e) => io_kind(e),
        E::ConnectionFailed | E::ConnectProxyFailed(_) => Kind::Connection,
        E::Protocol(_)
        | E::LargeResponseHeader(..)
        | E::TooManyRedirects
        | E::RedirectFailed
        | E::Decompress(..) => Kind::Protocol,
        E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired => Kind::Tls,
        E::BodyExceedsLimit(_) => Kind::BodyTooLarge,
        E::BadUri(_)
        | E::Http(_)
        | E::RequireHttpsOnly(_)
        | E::InvalidProxyUrl
        | E::StatusCode(_) => {
            return ApiError::new(Kind::Application)
                .with_retry(Retry::No)
                .with_message(format!("invalid request: {err}"));
        }
        _ => Kind::Connection,
    };
    ApiError::new(kind).with_message(format!("{}: {err}", kind.default_message()))
}

fn io_kind(e: &io::Error) -> Kind {
    use io::ErrorKind as K;
    match e.kind() {
        K::TimedOut | K::WouldBlock => Kind::Timeout,
        K::InvalidData => Kind::Protocol,
        // Refused, reset, aborted, unreachable, closed early, broken pipe and
        // any other socket failure mid-exchange: the peer cannot be reached.
        _ => Kind::Connection,
    }
}
