//! Decoding error payloads, whatever the Content-Type claims.
//!
//! One pass over the body recognises every schema the seeds document: JSON
//! simple, detailed, envelope, flat, OAuth (plus the common nested
//! `{"error": {"code", "message"}}` and RFC 9457 problem details) and AWS XML.
//! Anything else (HTML, empty, truncated, garbage) is "no payload" and the
//! classifier falls back to the status.

use std::borrow::Cow;

mod json;
mod xml;

/// Which documented shape a payload had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Schema {
    /// `{"error": "invalid_client"}` (seed 001).
    Simple,
    /// `{"code", "errors": [{code, detail, status, title}], "message"}` (seed 001),
    /// and RFC 9457 problem details (`title`, `detail`).
    Detailed,
    /// `{"data": null, "success": false, "message", "errors": [{"<code>": [..]}]}` (seed 003).
    Envelope,
    /// `{"error": "<code>", "message": "..."}` (seed 003's old form).
    Flat,
    /// `{"error": "<code>", "error_description": "..."}` (RFC 6749 / 8628).
    OAuth,
    /// `{"error": {"code": "...", "message": "..."}}`.
    Nested,
    /// `<Error><Code/><Message/><RequestId/></Error>` (AWS).
    AwsXml,
}

/// One `errors` entry that maps a key to messages: an envelope code
/// (`{"insufficient_frames": ["..."]}`) or a field (`{"session_id": ["..."]}`).
pub(crate) type Entry<'a> = (Cow<'a, str>, Vec<Cow<'a, str>>);

/// What a payload says, borrowed from the body where no unescaping was needed.
#[derive(Debug, Default)]
pub(crate) struct Payload<'a> {
    pub schema: Option<Schema>,
    /// Strings to look up in the profile's message table, most telling first
    /// (the keys of `entries` are looked up after these).
    pub codes: Vec<Cow<'a, str>>,
    /// The human-readable message, if the payload had one.
    pub message: Option<Cow<'a, str>>,
    /// Envelope and field entries from `errors`.
    pub entries: Vec<Entry<'a>>,
    /// A body `retry_after`, in seconds.
    pub retry_after_s: Option<f64>,
    pub request_id: Option<Cow<'a, str>>,
}

/// Decodes `body`; `None` when it is no payload we know.
pub(crate) fn decode(body: &[u8]) -> Option<Payload<'_>> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let body = &body[body.iter().position(|b| !b.is_ascii_whitespace())?..];
    match body[0] {
        b'{' => json::decode(body),
        b'<' => xml::decode(body),
        _ => None,
    }
    .filter(|p| p.schema.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(body: &str) -> Option<Schema> {
        decode(body.as_bytes()).and_then(|p| p.schema)
    }

    #[test]
    fn recognises_each_schema() {
        let rows: &[(&str, Option<Schema>)] = &[
            (r#"{"error":"invalid_client"}"#, Some(Schema::Simple)),
            (
                r#"{"code":409,"errors":[{"code":409,"detail":"d","status":409,"title":"Channel Paused"}],"message":"Channel Paused"}"#,
                Some(Schema::Detailed),
            ),
            (
                r#"{"data":null,"success":false,"message":"m","errors":[{"invalid_key":["Not authenticated"]}]}"#,
                Some(Schema::Envelope),
            ),
            (
                r#"{"error":"rate_limit_exceeded","message":"m"}"#,
                Some(Schema::Flat),
            ),
            (
                r#"{"error":"slow_down","error_description":"d"}"#,
                Some(Schema::OAuth),
            ),
            (
                r#"{"error":{"code":"quota","message":"m"}}"#,
                Some(Schema::Nested),
            ),
            (
                r#"{"type":"about:blank","title":"Not Found","status":404}"#,
                Some(Schema::Detailed),
            ),
            (
                "<Error><Code>SlowDown</Code><Message>m</Message></Error>",
                Some(Schema::AwsXml),
            ),
            ("\u{feff}  {\"error\":\"x\"}", Some(Schema::Simple)),
            ("<html><body>502 Bad Gateway</body></html>", None),
            ("", None),
            ("   ", None),
            ("{\"error\":", None),
            ("[1,2,3]", None),
            ("{\"unrelated\":1}", None),
            ("null", None),
        ];
        for &(body, want) in rows {
            assert_eq!(schema(body), want, "body: {body}");
        }
    }
}
