//! A response: status, headers, and the body (capped).

use ureq::http::HeaderMap;

use crate::headers::Headers;

/// A successful response.
#[derive(Clone, Debug)]
pub struct Response {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// ureq's header map, read without copying (values that are not UTF-8 are
/// taken as absent).
impl Headers for HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name)?.to_str().ok().map(str::trim)
    }

    fn any_name_contains(&self, part: &str) -> bool {
        self.keys()
            .any(|k| crate::headers::contains_ignore_case(k.as_str(), part))
    }
}

impl Response {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.header(name)
    }

    /// All headers, in order (values that are not UTF-8 are left out).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, as owned bytes.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}
