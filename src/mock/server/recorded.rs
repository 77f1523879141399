//! What the mock records of each request.

use std::time::Duration;

/// One request the server received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recorded {
    /// Request method.
    pub method: String,
    /// Path, without the query string.
    pub path: String,
    /// Request headers, as sent.
    pub headers: Vec<(String, String)>,
    /// The first 64 KiB of the body.
    pub body: Vec<u8>,
    /// The whole body's length.
    pub body_len: u64,
    /// Arrival, since the server started.
    pub at: Duration,
    /// The status answered, or `None` when the script failed the connection.
    pub status: Option<u16>,
    /// Which connection it came on (numbered from 1 in accept order).
    pub connection: u64,
}

impl Recorded {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
