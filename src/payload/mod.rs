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

/// At most this many candidate codes are looked up per payload (codes first,
/// then entry keys); a payload listing more is classified by its first ones.
pub(crate) const MAX_CODES: usize = 16;

/// Field-level messages kept per classification; a payload listing more is
/// cut here so that a hostile body cannot make every log line huge.
pub const MAX_FIELD_MESSAGES: usize = 64;

/// The `error` key: a code string, or a nested error object.
pub(crate) enum ErrorField<'a> {
    Code(Cow<'a, str>),
    Nested(Box<Payload<'a>>),
}

/// A decoded error object: the keys any documented schema uses, borrowed
/// from the body where no unescaping was needed. The same shape holds nested
/// objects (`error: {...}`, `errors: [{...}]`), so decoding fills it in place.
#[derive(Default)]
pub(crate) struct Payload<'a> {
    pub schema: Option<Schema>,
    pub error: Option<ErrorField<'a>>,
    pub error_description: Option<Cow<'a, str>>,
    pub message: Option<Cow<'a, str>>,
    pub detail: Option<Cow<'a, str>>,
    pub title: Option<Cow<'a, str>>,
    /// String codes only: numeric `code`s (seed 001's `"code": 409`) repeat the status.
    pub code: Option<Cow<'a, str>>,
    /// `type` in nested errors.
    pub kind: Option<Cow<'a, str>>,
    /// `status` when it is a string (`"RESOURCE_EXHAUSTED"`).
    pub status: Option<Cow<'a, str>>,
    pub request_id: Option<Cow<'a, str>>,
    /// Boxed because nested objects are parsed into boxes; unboxing would
    /// copy each (large) payload once more.
    #[allow(clippy::vec_box)]
    pub errors: Vec<Box<Payload<'a>>>,
    /// Envelope and field entries (in `errors` objects only).
    pub entries: Vec<Entry<'a>>,
    pub success: Option<bool>,
    /// A body `retry_after`, in seconds.
    pub retry_after_s: Option<f64>,
}

impl<'a> Payload<'a> {
    /// Names the schema from the keys present; `None` when it is none we know.
    fn detect(&mut self) {
        let envelope = self.success == Some(false) || self.entries().next().is_some();
        self.schema = match &self.error {
            _ if envelope => Some(Schema::Envelope),
            Some(ErrorField::Code(_)) if self.error_description.is_some() => Some(Schema::OAuth),
            Some(ErrorField::Code(_)) if self.message.is_some() => Some(Schema::Flat),
            Some(ErrorField::Code(_)) => Some(Schema::Simple),
            Some(ErrorField::Nested(_)) => Some(Schema::Nested),
            None if !self.errors.is_empty() || self.message.is_some() || self.title.is_some() => {
                Some(Schema::Detailed)
            }
            None => None,
        };
    }

    /// Fills `buf` with the strings to look up in the message table, most
    /// telling first, then the keys of `errors` entries; returns how many
    /// there are and how many of them are codes rather than entry keys.
    pub fn codes<'s>(&'s self, buf: &mut [&'s str; MAX_CODES]) -> (usize, usize) {
        let mut list = Fill { buf, n: 0 };
        let text = |s: &'s Option<Cow<'a, str>>| s.as_deref();
        match (&self.error, self.schema) {
            (Some(ErrorField::Nested(e)), _) => {
                [&e.code, &e.kind, &e.status]
                    .into_iter()
                    .for_each(|s| list.push(text(s)));
                if let Some(ErrorField::Code(c)) = &e.error {
                    list.push(Some(c));
                }
            }
            (Some(ErrorField::Code(c)), _) => {
                list.push(Some(c));
                if self.schema == Some(Schema::Flat) {
                    list.push(text(&self.message));
                }
            }
            (None, Some(Schema::Detailed)) => {
                // Seed 001: "These kinds of errors are defined by their message field".
                list.push(text(&self.message));
                for e in &self.errors {
                    list.push(text(&e.title));
                    list.push(text(&e.code));
                }
                [&self.title, &self.code, &self.status]
                    .into_iter()
                    .for_each(|s| list.push(text(s)));
            }
            (None, _) => list.push(text(&self.code)),
        }
        let codes = list.n;
        self.entries().for_each(|(k, _)| list.push(Some(k)));
        (list.n, codes)
    }

    /// The human-readable message, if the payload had one.
    pub fn message(&self) -> Option<&str> {
        let m = match (&self.error, self.schema) {
            (Some(ErrorField::Nested(e)), _) => e
                .message
                .as_ref()
                .or(e.detail.as_ref())
                .or(self.message.as_ref()),
            (_, Some(Schema::OAuth)) => self.error_description.as_ref(),
            (_, Some(Schema::Detailed)) => self
                .errors
                .iter()
                .find_map(|e| e.detail.as_ref().or(e.message.as_ref()))
                .or(self.detail.as_ref())
                .or(self.message.as_ref()),
            _ => self.message.as_ref(),
        };
        m.map(Cow::as_ref)
    }

    /// Envelope and field entries from `errors`.
    pub fn entries(&self) -> impl Iterator<Item = &Entry<'a>> + Clone {
        self.entries
            .iter()
            .chain(self.errors.iter().flat_map(|e| e.entries.iter()))
    }
}

/// A bounded list of borrowed strings on the stack.
struct Fill<'b, 's> {
    buf: &'b mut [&'s str; MAX_CODES],
    n: usize,
}

impl<'s> Fill<'_, 's> {
    fn push(&mut self, s: Option<&'s str>) {
        if let (Some(s), true) = (s, self.n < MAX_CODES) {
            self.buf[self.n] = s;
            self.n += 1;
        }
    }
}

/// Decodes `body` into `payload` (which must be fresh); false when it is no
/// payload we know. Filling the caller's value spares copying a large struct
/// out through each layer.
pub(crate) fn decode<'a>(body: &'a [u8], payload: &mut Payload<'a>) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let Some(start) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        return false;
    };
    let body = &body[start..];
    let decoded = match body[0] {
        b'{' => json::decode(body, payload),
        b'<' => xml::decode(body, payload),
        _ => false,
    };
    if decoded && payload.schema.is_none() {
        payload.detect();
    }
    decoded && payload.schema.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(body: &str) -> Option<Schema> {
        let mut p = Payload::default();
        decode(body.as_bytes(), &mut p)
            .then_some(p.schema)
            .flatten()
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
