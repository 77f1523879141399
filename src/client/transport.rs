//! One attempt over HTTP with ureq: the request and its body out, the
//! answer in, capped, metered and classified by [`super::network`].

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use portable_atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use ureq::http;

use super::agents::{Agents, Caps};
use super::network::{local_io, network, network_after, shows_unreachable};
use super::progress::Meter;
use super::request::{is_secret_header, Body, Request};
use super::response::Response;
use crate::error::ApiError;
use crate::kind::Kind;

/// Phases of an exchange that each have the class timeout: a deadline
/// further away than this many timeouts cannot end an attempt early.
const PHASES: u32 = 5;

/// One exchange of a request on the wire (the request itself, or a hop of
/// a redirect).
pub(crate) struct Exchange<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// Whether the request's body is sent.
    pub body: bool,
    /// Whether credentials go along: the token and secret headers (only to
    /// the request's own origin).
    pub credentials: bool,
    pub token: Option<&'a str>,
    /// Time left before the call's deadline, if it has one.
    pub left: Option<Duration>,
}

/// A failed exchange, and whether it shows the origin unreachable (which
/// closes its connectivity gate).
#[derive(Debug)]
pub(crate) struct Failed {
    pub error: ApiError,
    pub unreachable: bool,
}

impl From<ApiError> for Failed {
    fn from(error: ApiError) -> Self {
        Failed {
            error,
            unreachable: false,
        }
    }
}

/// Sends one exchange of `req` and reads the response, capped.
pub(crate) fn send(
    agents: &Agents,
    req: &Request,
    x: &Exchange<'_>,
    caps: Caps,
) -> Result<Response, Failed> {
    let (agent, timeout) = agents.for_request(req);
    let overall = match x.left {
        Some(left) if left.is_zero() => {
            return Err(ApiError::new(Kind::DeadlineExceeded)
                .with_message("the deadline passed before the attempt could start")
                .into())
        }
        Some(left) if left < timeout * PHASES => Some(left),
        _ => None,
    };
    let mut b = http::Request::builder().method(x.method).uri(x.url);
    let body = if x.body { &req.body } else { &Body::Empty };
    let body_len = match body {
        Body::Empty => Some(0),
        Body::Bytes(bytes) => Some(bytes.len() as u64),
        Body::Reader(_, len) => *len,
    };
    let meter = req
        .progress
        .as_ref()
        .map(|f| Meter::new(f.clone(), body_len));
    // Bytes go out through the counting reader when progress is told.
    let owned;
    let body = match (body, &meter) {
        (Body::Bytes(bytes), Some(_)) => {
            let bytes = bytes.clone();
            let open = move || Ok(Box::new(io::Cursor::new(bytes.clone())) as Box<dyn Read + Send>);
            owned = Body::Reader(Arc::new(open), body_len);
            &owned
        }
        _ => body,
    };
    if let Body::Reader(_, Some(len)) = body {
        b = b.header("Content-Length", *len);
    }
    let own = |name: &str| {
        req.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    let identity = agents.identity.iter().filter(|(k, _)| !own(k));
    for (k, v) in identity.chain(&req.headers) {
        if x.credentials || !is_secret_header(k) {
            b = b.header(k.as_str(), v.as_str());
        }
    }
    if let Some(t) = x.token.filter(|_| x.credentials) {
        b = b.header("Authorization", format!("Bearer {t}"));
    }
    // Only a streamed upload can fail locally; it reports that here.
    let mut upload_failed: Option<Arc<AtomicBool>> = None;
    let upload_sent = Arc::new(AtomicU64::new(0));
    let sent = match body {
        Body::Empty => run(agent, b.body(()), overall),
        Body::Bytes(bytes) => run(agent, b.body(&bytes[..]), overall),
        Body::Reader(open, len) => {
            let inner = open().map_err(|e| local_io("cannot open the upload", &e))?;
            let failed = upload_failed.insert(Arc::new(AtomicBool::new(false)));
            let reader = Tracked {
                inner,
                failed: failed.clone(),
                left: *len,
                sent: upload_sent.clone(),
                meter: meter.clone(),
            };
            let body = ureq::SendBody::from_owned_reader(reader);
            run(agent, b.body(body), overall)
        }
    };
    let response = sent.map_err(|e| match &upload_failed {
        Some(failed) if failed.load(Ordering::SeqCst) => {
            local_io("reading the upload failed", &e).into()
        }
        _ => {
            let unreachable = shows_unreachable(&e);
            let mut error = network_after(e, upload_sent.load(Ordering::Relaxed), 0);
            if let Some(proxy) = agents.proxy.as_ref().filter(|_| unreachable) {
                error.message = format!("{} (through the proxy {proxy})", error.message).into();
            }
            Failed { unreachable, error }
        }
    })?;
    if let Some(m) = &meter {
        let total = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        m.answer(total);
    }
    match &req.writer {
        Some(open) if (200..300).contains(&response.status().as_u16()) => {
            download(response, open.as_ref(), meter).map_err(Failed::from)
        }
        _ => read(response, caps, meter).map_err(Failed::from),
    }
}

/// Streams a success's body into a fresh sink; the response keeps no body.
fn download(
    response: http::Response<ureq::Body>,
    open: &super::request::WriterFactory,
    meter: Option<Meter>,
) -> Result<Response, ApiError> {
    let (parts, mut body) = response.into_parts();
    let mut sink = open().map_err(|e| local_io("cannot open the download's sink", &e))?;
    let mut reader = Metered::new(body.as_reader(), meter);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| network_after(e.into(), 0, reader.received))?;
        if n == 0 {
            break;
        }
        sink.write_all(&buf[..n])
            .map_err(|e| local_io("writing the download failed", &e))?;
    }
    sink.flush()
        .map_err(|e| local_io("writing the download failed", &e))?;
    Ok(Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: Vec::new(),
    })
}

fn run<S: ureq::AsSendBody>(
    agent: &ureq::Agent,
    req: Result<http::Request<S>, http::Error>,
    overall: Option<Duration>,
) -> Result<http::Response<ureq::Body>, ureq::Error> {
    let req = match overall {
        Some(t) => agent
            .configure_request(req?)
            .timeout_global(Some(t))
            .build(),
        None => req?,
    };
    agent.run(req)
}

fn read(
    response: http::Response<ureq::Body>,
    caps: Caps,
    meter: Option<Meter>,
) -> Result<Response, ApiError> {
    let (parts, mut body) = response.into_parts();
    let status = parts.status.as_u16();
    let headers = parts.headers;
    let body = if status >= 400 {
        // A huge error page must not turn a retryable 503 into body_too_large:
        // keep a prefix for classification and drop the rest.
        let mut buf = Vec::new();
        Metered::new(body.as_reader(), meter)
            .take(caps.error_body)
            .read_to_end(&mut buf)
            .map_err(|e| network(ureq::Error::from(e)))?;
        buf
    } else {
        let mut buf = Vec::new();
        Metered::new(body.with_config().limit(caps.body).reader(), meter)
            .read_to_end(&mut buf)
            .map_err(|e| network_after(e.into(), 0, buf.len() as u64))?;
        buf
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// An upload reader that remembers whether it failed, so that a local read
/// error is reported as `io`, not as a network failure; with a length, it
/// stops there, and ending early is such a failure.
struct Tracked {
    inner: Box<dyn Read + Send>,
    failed: Arc<AtomicBool>,
    left: Option<u64>,
    /// Bytes handed to the connection so far.
    sent: Arc<AtomicU64>,
    meter: Option<Meter>,
}

impl Tracked {
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(left) = self.left else {
            return self.inner.read(buf);
        };
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the upload ended {left} bytes before its stated length"),
            ));
        }
        self.left = Some(left - n as u64);
        Ok(n)
    }
}

impl Read for Tracked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_some(buf)
            .inspect(|n| {
                self.sent.fetch_add(*n as u64, Ordering::Relaxed);
                if let Some(m) = &self.meter {
                    m.sent(*n as u64, *n == 0 || self.left == Some(0));
                }
            })
            .inspect_err(|_| self.failed.store(true, Ordering::SeqCst))
    }
}

/// An answer's body, counted, and into the attempt's progress when that is
/// told.
struct Metered<R> {
    inner: R,
    meter: Option<Meter>,
    received: u64,
}

impl<R> Metered<R> {
    fn new(inner: R, meter: Option<Meter>) -> Self {
        Metered {
            inner,
            meter,
            received: 0,
        }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.received += n as u64;
        if let Some(m) = &self.meter {
            m.received(n as u64, n == 0 && !buf.is_empty());
        }
        Ok(n)
    }
}
