//! A request as the client sends it: method, URL, headers, re-sendable body,
//! expected status, and the class that picks its timeout.

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

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

/// A body that can be sent again on each attempt.
#[derive(Clone, Default)]
pub(crate) enum Body {
    #[default]
    Empty,
    Bytes(Arc<[u8]>),
    Reader(Arc<ReaderFactory>),
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

    /// A streamed body (an upload): `open` is called for each attempt, and a
    /// failure to open or read it is an `io` error.
    pub fn body_reader(
        mut self,
        open: impl Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static,
    ) -> Self {
        self.body = Body::Reader(Arc::new(open));
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
            Body::Reader(_) => "reader".to_owned(),
        };
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &crate::redact::secrets(&self.url))
            .field("headers", &headers)
            .field("body", &body)
            .field("expect", &self.expect)
            .field("class", &self.class)
            .finish()
    }
}
