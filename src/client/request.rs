//! A request as the client sends it: method, URL, headers, re-sendable body,
//! expected status, and the class that picks its timeout.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::progress::{Progress, ProgressFn};
use crate::kind::{Kind, Retry};
use crate::policy::Policy;
use crate::profile::Profile;

/// Which timeout applies (seed 001, "Request timeouts").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestClass {
    /// Ordinary API calls: 15 s by default.
    Default,
    /// Authorization refresh: 2 min by default.
    AuthRefresh,
    /// File chunk upload: 5 min by default.
    ChunkUpload,
}

/// Opens the upload stream afresh for each attempt.
pub type ReaderFactory = dyn Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync;

/// Opens the download sink afresh (from its start) for each attempt whose
/// answer is a success.
pub type WriterFactory = dyn Fn() -> io::Result<Box<dyn Write + Send>> + Send + Sync;

/// A body that can be sent again on each attempt.
#[derive(Clone, Default)]
pub(crate) enum Body {
    #[default]
    Empty,
    Bytes(Arc<[u8]>),
    /// A stream, and its length when known (sent as `Content-Length`;
    /// without it the body goes chunked, which S3 refuses for a PUT).
    Reader(Arc<ReaderFactory>, Option<u64>),
}

/// A request.
///
/// ```
/// use apiretry::{Request, RequestClass};
///
/// let r = Request::post("/assets/42/children")
///     .header("Content-Type", "application/json")
///     .body(br#"{"name": "clip.mov"}"#.to_vec())
///     .expect(201);
/// let upload = Request::put("https://bucket.s3.amazonaws.com/chunk1?X-Amz-Signature=...")
///     .class(RequestClass::ChunkUpload)
///     .body_reader(|| Ok(Box::new(std::io::Cursor::new(vec![0u8; 1024]))));
/// ```
#[derive(Clone)]
pub struct Request {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
    pub(crate) expect: Option<u16>,
    pub(crate) class: RequestClass,
    pub(crate) profile: Option<Arc<Profile>>,
    pub(crate) authorized: bool,
    pub(crate) own_connection: bool,
    pub(crate) follow_redirects: bool,
    /// Whether the call waits while its origin is held for overload.
    pub(crate) waits: bool,
    pub(crate) policy: Option<Arc<Policy>>,
    pub(crate) retries: Vec<(Kind, Retry)>,
    pub(crate) writer: Option<Arc<WriterFactory>>,
    pub(crate) progress: Option<Arc<ProgressFn>>,
    /// A deadline of the caller's (pairing, a refresh inside a call) on top
    /// of the policy's.
    pub(crate) until: Option<Instant>,
    /// The route the overload gate counts its refusals by, when named.
    pub(crate) route: Option<Arc<str>>,
}

impl Request {
    /// A request with any method. `url` is absolute, or a path joined to the
    /// client's base URL.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Request {
            method: method.to_ascii_uppercase(),
            url: url.into(),
            headers: Vec::new(),
            body: Body::Empty,
            expect: None,
            class: RequestClass::Default,
            profile: None,
            authorized: true,
            own_connection: false,
            follow_redirects: true,
            waits: true,
            policy: None,
            retries: Vec::new(),
            writer: None,
            progress: None,
            until: None,
            route: None,
        }
    }

    /// A GET request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A POST request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// A PUT request.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new("PUT", url)
    }

    /// A PATCH request.
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new("PATCH", url)
    }

    /// A DELETE request.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new("DELETE", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The body, sent again as is on each attempt.
    pub fn body(mut self, bytes: impl Into<Arc<[u8]>>) -> Self {
        self.body = Body::Bytes(bytes.into());
        self
    }

    /// A streamed body (an upload) of unknown length, sent chunked: `open`
    /// is called for each attempt, and a failure to open or read it is an
    /// `io` error.
    pub fn body_reader(
        mut self,
        open: impl Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static,
    ) -> Self {
        self.body = Body::Reader(Arc::new(open), None);
        self
    }

    /// A streamed body of exactly `len` bytes, sent with `Content-Length`
    /// (as S3's PUT requires): `open` is called for each attempt. A stream
    /// that ends early is an `io` error; bytes past `len` are not sent.
    pub fn body_reader_sized(
        mut self,
        len: u64,
        open: impl Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static,
    ) -> Self {
        self.body = Body::Reader(Arc::new(open), Some(len));
        self
    }

    /// `len` bytes of the file at `path` from byte `offset` (a chunk of a
    /// clip), read from the disk again for each attempt, never held in
    /// memory whole.
    ///
    /// ```
    /// use apiretry::Request;
    ///
    /// let chunk = Request::put("https://bucket.s3.amazonaws.com/part2?X-Amz-Signature=...")
    ///     .body_file("/media/A001.mov", 25 << 20, 25 << 20);
    /// ```
    pub fn body_file(self, path: impl Into<PathBuf>, offset: u64, len: u64) -> Self {
        let path = path.into();
        self.body_reader_sized(len, move || {
            let mut file = std::fs::File::open(&path)?;
            file.seek(SeekFrom::Start(offset))?;
            Ok(Box::new(file))
        })
    }

    /// Streams a success's body to the sink `open` gives, instead of
    /// holding it (a download): `open` is called again, to start over, for
    /// each attempt that is answered with a 2xx, so a download cut off
    /// midway is written again from its start. Such a body is not capped
    /// (the sink decides) and not looked into by classification (an S3
    /// error document in a 200 is not seen). A sink that fails to open or
    /// write is an `io` error; [`Response::body`](crate::Response::body)
    /// is then empty.
    pub fn response_writer(
        mut self,
        open: impl Fn() -> io::Result<Box<dyn Write + Send>> + Send + Sync + 'static,
    ) -> Self {
        self.writer = Some(Arc::new(open));
        self
    }

    /// Tells `report` how far each attempt's transfer has come (bytes sent
    /// and received, with the totals when known), on the calling thread, at
    /// most every [`PROGRESS_EVERY`](crate::PROGRESS_EVERY) and at the end
    /// of each direction. Each attempt starts again from zero.
    ///
    /// ```
    /// let upload = apiretry::Request::put("/chunk/1")
    ///     .body(vec![0u8; 1 << 20])
    ///     .progress(|p| eprintln!("{} of {:?} bytes sent", p.sent, p.send_total));
    /// ```
    pub fn progress(mut self, report: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(report));
        self
    }

    /// This request's own policy (attempts, deadline, backoff, ...) instead
    /// of the client's; the client's budget, clock and observer still apply.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// Overrides the retry class of `kind` for this request only, on top of
    /// its policy (as [`Policy::with_retry`]).
    pub fn retry(mut self, kind: Kind, retry: Retry) -> Self {
        self.retries.retain(|(k, _)| *k != kind);
        self.retries.push((kind, retry));
        self
    }

    /// The policy this request runs under when not the client's own.
    pub(crate) fn own_policy(&self, client: &Policy) -> Option<Policy> {
        if self.policy.is_none() && self.retries.is_empty() {
            return None;
        }
        let base = self.policy.as_deref().unwrap_or(client).clone();
        Some(
            self.retries
                .iter()
                .fold(base, |p, &(kind, retry)| p.with_retry(kind, retry)),
        )
    }

    /// Ends the call by `until` at the latest, whatever its policy says.
    pub(crate) fn until(mut self, until: Option<Instant>) -> Self {
        self.until = until;
        self
    }

    /// The success status the endpoint must answer with.
    pub fn expect(mut self, status: u16) -> Self {
        self.expect = Some(status);
        self
    }

    /// The timeout class.
    pub fn class(mut self, class: RequestClass) -> Self {
        self.class = class;
        self
    }

    /// Classifies this request's failures with `profile` instead of the
    /// client's (e.g. `s3` for presigned upload URLs).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = Some(Arc::new(profile));
        self
    }

    /// Sends without the token (presigned URLs, device pairing, health checks).
    pub fn without_authorization(mut self) -> Self {
        self.authorized = false;
        self
    }

    /// Sends on a new connection, closed after (seed 001: device pairing
    /// codes requested on a shared connection trigger `slow_down`).
    pub fn own_connection(mut self) -> Self {
        self.own_connection = true;
        self
    }

    /// Whether redirects are followed (yes unless told). Not followed, a
    /// 3xx answer is a final `protocol` failure: an upload part whose PUT
    /// was redirected (a 303 turns it into a GET, whose 200 and ETag say
    /// nothing of the part) is never taken as done.
    ///
    /// ```
    /// let part = apiretry::Request::put("https://bucket.s3.amazonaws.com/k?partNumber=1")
    ///     .follow_redirects(false);
    /// ```
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Names the route the overload gate counts this request's refusals by
    /// (by default its method and path with the ids collapsed: `POST
    /// /v2/devices/:id/assets`). A route refused alone closes only its own
    /// gate; refusals from several close the origin's.
    ///
    /// ```
    /// let create = apiretry::Request::post("/v2/devices/7/assets").route("create asset");
    /// # let _ = create;
    /// ```
    pub fn route(mut self, name: &str) -> Self {
        self.route = Some(name.into());
        self
    }

    /// Fails at once with `held_back` (not sent, retry `no`) instead of
    /// waiting while the client holds calls to its origin for overload
    /// (the service answers but refuses everything). Use it for calls whose
    /// answer is worthless later: a live preview, a heartbeat. The
    /// connectivity gate and the rate limit still make it wait.
    ///
    /// ```
    /// let ping = apiretry::Request::get("/ping").without_waiting();
    /// # let _ = ping;
    /// ```
    pub fn without_waiting(mut self) -> Self {
        self.waits = false;
        self
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Headers whose values are credentials.
pub(crate) fn is_secret_header(name: &str) -> bool {
    [
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "cookie",
        "set-cookie",
    ]
    .iter()
    .any(|s| s.eq_ignore_ascii_case(name))
}

/// Never shows credentials: secret headers and URL query secrets are masked.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    if is_secret_header(k) {
                        crate::redact::MASK
                    } else {
                        v.as_str()
                    },
                )
            })
            .collect();
        let body = match &self.body {
            Body::Empty => "empty".to_owned(),
            Body::Bytes(b) => format!("{} bytes", b.len()),
            Body::Reader(_, None) => "reader".to_owned(),
            Body::Reader(_, Some(n)) => format!("reader of {n} bytes"),
        };
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &crate::redact::secrets(&self.url))
            .field("headers", &headers)
            .field("body", &body)
            .field("expect", &self.expect)
            .field("class", &self.class)
            .field("policy", &self.policy)
            .field("retries", &self.retries)
            .field("writer", &self.writer.is_some())
            .field("progress", &self.progress.is_some())
            .finish()
    }
}
