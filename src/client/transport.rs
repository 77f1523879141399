//! One attempt over HTTP with ureq, and the mapping of ureq's failures to
//! the taxonomy's network kinds, by error variant, never by message text.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ureq::http;

use super::request::{Body, Request};
use super::response::Response;
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

/// Sends `req` to `url` once and reads the response, capped.
pub(crate) fn send(
    agent: &ureq::Agent,
    req: &Request,
    url: &str,
    token: Option<&str>,
    timeout: Duration,
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
    let upload_failed = Arc::new(AtomicBool::new(false));
    let sent = match &req.body {
        Body::Empty => run(agent, b.body(()), timeout),
        Body::Bytes(bytes) => run(agent, b.body(&bytes[..]), timeout),
        Body::Reader(open) => {
            let inner = open().map_err(|e| local_io("cannot open the upload", &e))?;
            let reader = Tracked {
                inner,
                failed: upload_failed.clone(),
            };
            run(
                agent,
                b.body(ureq::SendBody::from_owned_reader(reader)),
                timeout,
            )
        }
    };
    let response = sent.map_err(|e| {
        if upload_failed.load(Ordering::SeqCst) {
            ApiError::new(Kind::Io).with_message(format!("reading the upload failed: {e}"))
        } else {
            network(e)
        }
    })?;
    read(response, caps)
}

fn run<S: ureq::AsSendBody>(
    agent: &ureq::Agent,
    req: Result<http::Request<S>, http::Error>,
    timeout: Duration,
) -> Result<http::Response<ureq::Body>, ureq::Error> {
    let req = req?;
    let req = agent
        .configure_request(req)
        .timeout_global(Some(timeout))
        .build();
    agent.run(req)
}

fn read(response: http::Response<ureq::Body>, caps: Caps) -> Result<Response, ApiError> {
    let (parts, mut body) = response.into_parts();
    let status = parts.status.as_u16();
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
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

fn local_io(what: &str, e: &io::Error) -> ApiError {
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
