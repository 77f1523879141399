//! `ApiError`: the one error value every failure becomes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::kind::{Category, Kind, Retry};
use crate::redact;

/// Field-level details, e.g. `{"session_id": ["session_id is required"]}`.
pub type Fields = BTreeMap<String, Vec<String>>;

/// Messages longer than this are cut (at a character boundary) so that a
/// hostile or verbose server cannot flood logs through us.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// A classified failure: one row of the taxonomy's classification table.
///
/// Fields are public to read; build one with [`ApiError::new`] and the
/// `with_*` methods. Text that came from outside (message, code, fields) has
/// bearer tokens and credential-like values masked, so neither `Display` nor
/// `Debug` can leak a secret that a server echoed back.
///
/// ```
/// use apiretry::{ApiError, Kind, Retry};
///
/// let err = ApiError::new(Kind::RateLimited).with_status(429).with_retry_after_ms(3000);
/// assert_eq!(err.retry, Retry::Yes);
/// assert_eq!(err.to_string(), "rate_limited (429): rate limited: too many requests; retry after 3000 ms");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// What went wrong.
    pub kind: Kind,
    /// Whether to retry.
    pub retry: Retry,
    /// The HTTP status, or `None` when no response arrived.
    pub status: Option<u16>,
    /// The API's own code string as sent (`"Channel Paused"`, `"SlowDown"`).
    pub code: Option<Cow<'static, str>>,
    /// Human-readable summary.
    pub message: Cow<'static, str>,
    /// Field-level details, possibly empty.
    pub fields: Fields,
    /// Server-requested wait before the next try, in milliseconds.
    pub retry_after_ms: Option<u64>,
    /// `x-request-id` or AWS `<RequestId>`.
    pub request_id: Option<String>,
    /// One sentence telling a person what to do.
    pub hint: Cow<'static, str>,
    /// The profile that classified it; `None` for failures no API answered.
    pub profile: Option<Cow<'static, str>>,
}

impl ApiError {
    /// A failure of `kind` with the taxonomy's defaults for everything else.
    pub fn new(kind: Kind) -> Self {
        ApiError {
            kind,
            retry: kind.default_retry(),
            status: None,
            code: None,
            message: Cow::Borrowed(kind.default_message()),
            fields: Fields::new(),
            retry_after_ms: None,
            request_id: None,
            hint: Cow::Borrowed(kind.default_hint()),
            profile: None,
        }
    }

    /// Input of the caller's that no retry can fix (a bad argument, file
    /// or setting): `application`, retry `no`, with `message`.
    pub(crate) fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(Kind::Application)
            .with_retry(Retry::No)
            .with_message(message)
    }

    /// The category of this failure's kind.
    pub fn category(&self) -> Category {
        self.kind.category()
    }

    /// Replaces the message (secrets masked, length capped).
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = clean_static(message.into());
        self
    }

    /// Sets the retry class.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the API's own code (secrets masked, length capped).
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.code = Some(clean_static(code.into()));
        self
    }

    /// Adds one field-level detail.
    pub fn with_field(mut self, field: &str, detail: &str) -> Self {
        self.push_field(field, detail);
        self
    }

    pub(crate) fn push_field(&mut self, field: &str, detail: &str) {
        self.fields
            .entry(clean(field).into_owned())
            .or_default()
            .push(clean(detail).into_owned());
    }

    /// Sets the server-requested wait.
    pub fn with_retry_after_ms(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = Some(clean(id).into_owned());
        self
    }

    /// Replaces the hint.
    pub fn with_hint(mut self, hint: impl Into<Cow<'static, str>>) -> Self {
        self.hint = hint.into();
        self
    }

    /// Names the profile that classified it.
    pub fn with_profile(mut self, profile: impl Into<Cow<'static, str>>) -> Self {
        self.profile = Some(profile.into());
        self
    }
}

/// Masks secrets and caps the length of text that came from outside.
///
/// Masking comes before the final cut (a mask is longer than a short secret,
/// so cutting first could overshoot the cap); a rough cut before masking keeps
/// the scan short for huge inputs.
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    let rough = cap(text, 2 * MAX_MESSAGE_BYTES);
    let masked = redact::secrets(rough);
    let kept = cap(&masked, MAX_MESSAGE_BYTES);
    let cut = kept.len() < masked.len() || rough.len() < text.len();
    match masked {
        Cow::Borrowed(_) if !cut => Cow::Borrowed(text),
        _ if cut => Cow::Owned(format!("{kept}…")),
        _ => Cow::Owned(kept.to_owned()),
    }
}

pub(crate) fn clean_static(text: Cow<'static, str>) -> Cow<'static, str> {
    match text {
        Cow::Borrowed(s) => clean(s),
        Cow::Owned(s) => match clean(&s) {
            Cow::Borrowed(_) => Cow::Owned(s),
            Cow::Owned(o) => Cow::Owned(o),
        },
    }
}

fn cap(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        match (self.status, &self.code) {
            (Some(s), Some(c)) => write!(f, " ({s} {c})")?,
            (Some(s), None) => write!(f, " ({s})")?,
            (None, Some(c)) => write!(f, " ({c})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)?;
        if let Some(ms) = self.retry_after_ms {
            write!(f, "; retry after {ms} ms")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Serializes with exactly the taxonomy's JSON field names, in table order.
impl Serialize for ApiError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ApiError", 11)?;
        st.serialize_field("category", self.category().as_str())?;
        st.serialize_field("kind", self.kind.as_str())?;
        st.serialize_field("retry", self.retry.as_str())?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("fields", &self.fields)?;
        st.serialize_field("retry_after_ms", &self.retry_after_ms)?;
        st.serialize_field("request_id", &self.request_id)?;
        st.serialize_field("hint", &self.hint)?;
        st.serialize_field("profile", &self.profile)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line() {
        let err = ApiError::new(Kind::ChannelPaused)
            .with_status(409)
            .with_code("Channel Paused")
            .with_message("The channel you're uploading from is currently paused.")
            .with_request_id("abc");
        assert_eq!(
            err.to_string(),
            "channel_paused (409 Channel Paused): The channel you're uploading from is currently paused. [request id abc]"
        );
    }

    #[test]
    fn long_messages_are_capped_at_a_char_boundary() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let err = ApiError::new(Kind::Application).with_message(long);
        assert!(err.message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8());
        assert!(err.message.ends_with('…'));
    }

    #[test]
    fn masks_do_not_push_a_message_past_the_cap() {
        let many = "Bearer x ".repeat(MAX_MESSAGE_BYTES);
        let err = ApiError::new(Kind::Unauthorized).with_message(many);
        assert!(
            err.message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8(),
            "{}",
            err.message.len()
        );
        assert!(!err.message.contains(" x "));
    }

    #[test]
    fn echoed_tokens_never_reach_display_or_debug() {
        let err = ApiError::new(Kind::Unauthorized)
            .with_message("token Bearer eyJhbGciOi.secret.sig rejected")
            .with_code("access_token=s3cr3t");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("eyJhbGciOi"), "{shown}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }
}
