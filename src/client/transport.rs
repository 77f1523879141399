//! One attempt over HTTP with ureq, and the mapping of ureq's failures to
//! the taxonomy's network kinds, by error variant, never by message text.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ureq::http;

use super::progress::Meter;
use super::proxy::Proxy;
use super::request::{is_secret_header, Body, Request, RequestClass};
use super::response::Response;
use super::timeouts::{StallLimits, Timeouts};
use super::tls::TlsSettings;
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
    timeouts: Timeouts,
    /// `host:port` of the proxy, named in failures to reach it.
    proxy: Option<String>,
    default: ureq::Agent,
    auth_refresh: ureq::Agent,
    chunk_upload: ureq::Agent,
    /// For requests that must have a connection of their own (default timeouts).
    unpooled: ureq::Agent,
    /// Sent on every request (e.g. `x-client-version`), unless the request
    /// names the header itself.
    identity: Vec<(String, String)>,
}

impl Agents {
    pub fn new(
        (timeouts, stalls): (Timeouts, StallLimits),
        tls: &TlsSettings,
        proxy: Option<&Proxy>,
        identity: Vec<(String, String)>,
    ) -> Self {
        let tls = tls.config();
        let proxy = proxy.map(Proxy::ureq);
        let agent = |class, pooled| {
            let limits = (timeouts.for_class(class), stalls.for_class(class));
            agent(limits, pooled, &tls, &proxy)
        };
        Agents {
            timeouts,
            proxy: proxy.as_ref().map(|p| format!("{}:{}", p.host(), p.port())),
            default: agent(RequestClass::Default, true),
            auth_refresh: agent(RequestClass::AuthRefresh, true),
            chunk_upload: agent(RequestClass::ChunkUpload, true),
            unpooled: agent(RequestClass::Default, false),
            identity,
        }
    }

    /// The agent for `req`, and its phase timeout.
    fn for_request(&self, req: &Request) -> (&ureq::Agent, Duration) {
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
    tls: &ureq::tls::TlsConfig,
    proxy: &Option<ureq::Proxy>,
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
    ureq::Agent::with_parts(config.build(), super::stall::connector(), resolver)
}

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

/// [`network`], and for a stall (known by its variant) how far the
/// exchange had come.
fn network_after(err: ureq::Error, sent: u64, received: u64) -> ApiError {
    let stalled = matches!(
        err,
        ureq::Error::Timeout(ureq::Timeout::PerRead | ureq::Timeout::PerWrite)
    );
    let mut error = network(err);
    if stalled {
        error.message = format!(
            "{} ({sent} bytes of the request's body sent, {received} of the answer's body received)",
            error.message
        )
        .into();
    }
    error
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

/// Failures that show the origin cannot be reached at all: no name, no
/// connection, or a connection refused, reset or closed before any answer.
/// A read timeout on one slow endpoint is not one of them.
fn shows_unreachable(err: &ureq::Error) -> bool {
    use io::ErrorKind as K;
    use ureq::Error as E;
    match err {
        E::HostNotFound | E::ConnectionFailed => true,
        E::Timeout(t) => matches!(t, ureq::Timeout::Connect | ureq::Timeout::Resolve),
        E::Io(e) => matches!(
            e.kind(),
            K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::NotConnected
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::NetworkDown
                | K::AddrNotAvailable
        ),
        _ => false,
    }
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

fn local_io(what: &str, e: &dyn std::fmt::Display) -> ApiError {
    ApiError::new(Kind::Io).with_message(format!("{what}: {e}"))
}

/// The taxonomy kind of a ureq failure.
pub(crate) fn network(err: ureq::Error) -> ApiError {
    use ureq::Error as E;
    let kind = match &err {
        E::Timeout(ureq::Timeout::Global) => {
            return ApiError::new(Kind::DeadlineExceeded)
                .with_message("the call's deadline passed during the attempt");
        }
        E::Timeout(ureq::Timeout::Connect) => {
            return ApiError::new(Kind::Timeout)
                .with_message(format!("{}: {err}", Kind::Timeout.default_message()))
                .with_hint(
                    "Connecting, or the TLS handshake, took too long: the network or the \
                            server is slow or down, or a firewall drops the packets.",
                );
        }
        E::Timeout(ureq::Timeout::PerRead | ureq::Timeout::PerWrite) => {
            return ApiError::new(Kind::Timeout)
                .with_message(format!(
                    "the transfer stalled: no byte {} for the stall limit",
                    match &err {
                        E::Timeout(ureq::Timeout::PerWrite) => "could be sent",
                        _ => "came",
                    }
                ))
                .with_hint(
                    "The link went silent mid-transfer (Wi-Fi lost, a dead route) or the peer \
                     stopped reading or sending: retried on a new connection.",
                );
        }
        E::Timeout(_) | E::BodyStalled => Kind::Timeout,
        E::HostNotFound => Kind::Dns,
        E::Io(e) => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(tls) => return tls_failure(tls),
            None => io_kind(e),
        },
        E::ConnectionFailed => Kind::Connection,
        E::ConnectProxyFailed(why) => return proxy_refused(why),
        E::Protocol(_) | E::LargeResponseHeader(..) | E::TooManyRedirects | E::RedirectFailed => {
            return ApiError::new(Kind::Protocol)
                .with_message(format!("{}: {err}", Kind::Protocol.default_message()))
                .with_hint(
                    "The peer did not answer in HTTP: if it speaks TLS on this port, use \
                            https://; else a middlebox mangled the answer.",
                );
        }
        E::Rustls(e) => return tls_failure(e),
        E::Tls(_) | E::Pem(_) | E::TlsRequired => Kind::Tls,
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

/// The proxy answered CONNECT with something else than 200. ureq gives the
/// status only inside its text ("proxy server responded 407/407"): read it
/// there; without one, it is a proxy that did not answer.
fn proxy_refused(why: &str) -> ApiError {
    let status = why
        .split_once("responded ")
        .and_then(|(_, rest)| rest.get(..3)?.parse::<u16>().ok());
    let (retry, hint) = match status {
        Some(407) => (
            Retry::No,
            "The proxy requires credentials: give them in the proxy URL (http://user:password@host:port).",
        ),
        Some(403) | Some(405) => (
            Retry::No,
            "The proxy does not allow tunnels to this host or port: ask its operator.",
        ),
        _ => (
            Kind::Connection.default_retry(),
            "The proxy could not reach the server, or did not answer: check the proxy and the network behind it.",
        ),
    };
    ApiError::new(Kind::Connection)
        .with_retry(retry)
        .with_hint(hint)
        .with_message(format!(
            "{}: the proxy refused the tunnel: {}",
            Kind::Connection.default_message(),
            crate::redact::secrets(why)
        ))
}

/// A failed TLS handshake, by rustls's error variant: what a person can do
/// about it, and whether a re-send could ever help.
fn tls_failure(e: &rustls::Error) -> ApiError {
    use rustls::CertificateError as C;
    use rustls::Error as R;
    let (retry, hint) = match e {
        R::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => (
            Retry::No,
            "The server's certificate is not signed by a trusted CA: trust the fleet's CA \
             (TlsSettings::add_ca_pem, --cacert), or look for a proxy that intercepts TLS.",
        ),
        R::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => (
            Retry::No,
            "The server's certificate has expired, or the device clock is ahead: check the \
             clock, then tell the server's operator.",
        ),
        R::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => (
            Retry::No,
            "The server's certificate is not valid yet: the device clock is behind. Set it \
             (NTP) and try again.",
        ),
        R::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => (
            Retry::No,
            "The server's certificate does not name this host: check the host in the URL.",
        ),
        R::InvalidCertificate(_) | R::NoCertificatesPresented | R::UnsupportedNameType => (
            Retry::No,
            "The server's certificate cannot be verified: check the URL and the trusted CAs.",
        ),
        R::AlertReceived(
            rustls::AlertDescription::CertificateRequired
            | rustls::AlertDescription::BadCertificate
            | rustls::AlertDescription::UnknownCA
            | rustls::AlertDescription::CertificateUnknown,
        ) => (
            Retry::No,
            "The server refused the client certificate, or wants one: set it \
             (TlsSettings::client_certificate) from the fleet's CA.",
        ),
        R::InvalidMessage(_) => (
            Retry::No,
            "The server did not answer in TLS: it may speak plain HTTP on this port (use \
             http://), or the port is wrong.",
        ),
        _ => (
            Kind::Tls.default_retry(),
            "The TLS handshake failed: check the URL, the trusted CAs and any proxy.",
        ),
    };
    ApiError::new(Kind::Tls)
        .with_retry(retry)
        .with_hint(hint)
        .with_message(format!("{}: {e}", Kind::Tls.default_message()))
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
