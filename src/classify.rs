//! Seed 001's order of decision: expected status, payload, message table,
//! status table, unknown.

use std::borrow::Cow;
use std::time::SystemTime;

use crate::error::{clean, ApiError};
use crate::headers::{self, Headers};
use crate::kind::Kind;
use crate::payload::{self, Payload, Schema, MAX_CODES, MAX_FIELD_MESSAGES};
use crate::profile::{MessageRule, Profile, UnmatchedCode};

/// A response as the classifier sees it: status, headers, body bytes, and
/// the status the caller expected.
///
/// ```
/// use apiretry::{Kind, Profile, RawResponse, Retry};
///
/// let c2c = Profile::builtin("c2c").unwrap();
/// let body = br#"{"error": "slow_down"}"#;
/// let err = c2c.classify(&RawResponse::new(400).body(body)).unwrap();
/// assert_eq!((err.kind, err.retry), (Kind::RateLimited, Retry::Yes));
///
/// let headers = [("Retry-After", "3")];
/// let err = c2c.classify(&RawResponse::new(429).headers(&headers)).unwrap();
/// assert_eq!(err.retry_after_ms, Some(3000));
///
/// assert!(c2c.classify(&RawResponse::new(201).expect(201)).is_none());
/// ```
#[derive(Clone, Copy)]
pub struct RawResponse<'a> {
    status: u16,
    headers: &'a dyn Headers,
    body: &'a [u8],
    expected: Option<u16>,
    method: Option<&'a str>,
    now: Option<SystemTime>,
}

impl<'a> RawResponse<'a> {
    /// A response with this status, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        RawResponse {
            status,
            headers: &(),
            body: &[],
            expected: None,
            method: None,
            now: None,
        }
    }

    /// The response headers.
    pub fn headers(mut self, headers: &'a dyn Headers) -> Self {
        self.headers = headers;
        self
    }

    /// The response body (already capped by whoever read it).
    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    /// The success status the endpoint should answer with.
    pub fn expect(mut self, status: u16) -> Self {
        self.expected = Some(status);
        self
    }

    /// The request's method (default: unknown). A GET or HEAD answer's body
    /// is the resource itself, never an error document.
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = Some(method);
        self
    }

    /// The time `Retry-After` dates are measured from (default: now).
    pub fn at(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
}

impl Profile {
    /// Classifies a response: `None` when it is a success (and the expected
    /// status, if one was given), else the failure it represents.
    pub fn classify(&self, r: &RawResponse<'_>) -> Option<ApiError> {
        if r.status < 400 {
            if let Some(err) = self.error_document(r) {
                return Some(err);
            }
            let expected = r.expected.filter(|&e| e != r.status)?;
            let mut err = self.error(Kind::UnexpectedStatus, None);
            err.message = Cow::Owned(format!("expected status {expected}, got {}", r.status));
            err.status = Some(r.status);
            read_headers(&mut err, r);
            return Some(err);
        }
        let mut decoded = Payload::default();
        let payload = (r.body.len() <= self.max_body_bytes
            && payload::decode(r.body, &mut decoded))
        .then_some(&decoded);
        Some(self.classify_failure(r, payload))
    }

    /// A 2xx whose body is an AWS `<Error>` document, where the profile
    /// says such answers happen: classified by its code as a 500 (as
    /// botocore does), keeping the real status.
    fn error_document(&self, r: &RawResponse<'_>) -> Option<ApiError> {
        let body_is_resource = r
            .method
            .is_some_and(|m| m.eq_ignore_ascii_case("GET") || m.eq_ignore_ascii_case("HEAD"));
        if !self.error_document_on_success
            || !(200..300).contains(&r.status)
            || body_is_resource
            || r.body.len() > self.max_body_bytes
            || r.body.trim_ascii_start().first() != Some(&b'<')
        {
            return None;
        }
        let mut decoded = Payload::default();
        if !payload::decode(r.body, &mut decoded) || decoded.schema != Some(Schema::AwsXml) {
            return None;
        }
        let as_500 = RawResponse { status: 500, ..*r };
        let mut err = self.classify_failure(&as_500, Some(&decoded));
        err.status = Some(r.status);
        Some(err)
    }

    /// A failed response: payload rules or status table, then what the
    /// headers and body say about waiting and request ids.
    fn classify_failure(&self, r: &RawResponse<'_>, payload: Option<&Payload<'_>>) -> ApiError {
        let mut err = match payload {
            Some(p) => self.classify_payload(r, p),
            None => self.error(self.kind_for_status(r.status), None),
        };
        err.status = Some(r.status);
        read_headers(&mut err, r);
        if err.retry_after_ms.is_none() {
            let body_wait = payload.and_then(|p| p.retry_after_s);
            err.retry_after_ms = body_wait.map(|s| (s * 1000.0).ceil() as u64).or_else(|| {
                let exhausted =
                    err.kind == Kind::RateLimited || headers::rate_limit_exhausted(r.headers);
                exhausted
                    .then(|| headers::rate_limit_reset_ms(r.headers, now(r)))
                    .flatten()
            });
        }
        if err.request_id.is_none() {
            if let Some(id) = payload.and_then(|p| p.request_id.as_deref()) {
                err.request_id = Some(clean(id).into_owned());
            }
        }
        err
    }

    /// Message table, then (unless the profile says otherwise) status table.
    fn classify_payload(&self, r: &RawResponse<'_>, p: &Payload<'_>) -> ApiError {
        let mut buf = [""; MAX_CODES];
        let (n, n_codes) = p.codes(&mut buf);
        let message = p.message();
        let matched = self.match_rule(r.status, &buf[..n], message);
        let code = matched
            .and_then(|(_, c)| c)
            .or(buf[..n_codes].first().copied());
        let mut err = match matched {
            Some((rule, _)) => self.error(rule.kind, Some(rule)),
            None if code.is_some() && self.unmatched_code == UnmatchedCode::Unknown => {
                // Seed 001: an unknown code is retried once; but never less
                // than the bare status would be (a 503 or 429 with a new code).
                let by_status = self.kind_for_status(r.status);
                let kind = match self.retry_for(by_status) < self.retry_for(Kind::UnknownApiError) {
                    true => by_status,
                    false => Kind::UnknownApiError,
                };
                self.error(kind, None)
            }
            None => self.error(self.kind_for_status(r.status), None),
        };
        if let Some(code) = code {
            // The rule's own text when the API sent exactly that (no copy for
            // built-in profiles); else the code as sent.
            let rule_code = matched.and_then(|(rule, _)| rule.code.as_ref());
            err.code = Some(match rule_code.filter(|c| c.as_ref() == code) {
                Some(c) => c.clone(),
                None => Cow::Owned(clean(code).into_owned()),
            });
        }
        let entry_message = || {
            let (_, msgs) = p.entries().find(|(k, _)| Some(k.as_ref()) == code)?;
            msgs.first().map(Cow::as_ref)
        };
        if let Some(m) = message.or_else(entry_message) {
            err.message = Cow::Owned(clean(m).into_owned());
        }
        let field_messages = p
            .entries()
            .filter(|(key, _)| !self.knows_code(key))
            .flat_map(|(key, msgs)| msgs.iter().map(move |m| (key, m)));
        for (key, m) in field_messages.take(MAX_FIELD_MESSAGES) {
            err.push_field(key, m);
        }
        err
    }

    /// A failure of `kind` under this profile: retry class and hint from the
    /// matching rule, else the profile's overrides, else the taxonomy's defaults.
    fn error(&self, kind: Kind, rule: Option<&MessageRule>) -> ApiError {
        let mut err = ApiError::new(kind);
        err.retry = rule
            .and_then(|r| r.retry)
            .unwrap_or_else(|| self.retry_for(kind));
        err.hint = rule
            .and_then(|r| r.hint.clone())
            .unwrap_or_else(|| self.hint_for(kind));
        err.profile = Some(self.name.clone());
        err
    }
}

/// Adds what the headers say: `Retry-After` and the request id.
fn read_headers(err: &mut ApiError, r: &RawResponse<'_>) {
    err.retry_after_ms = r
        .headers
        .header("retry-after")
        .and_then(|v| headers::retry_after_ms(v, now(r)));
    if let Some(id) = headers::request_id(r.headers) {
        err.request_id = Some(clean(id).into_owned());
    }
}

fn now(r: &RawResponse<'_>) -> SystemTime {
    r.now.unwrap_or_else(SystemTime::now)
}
