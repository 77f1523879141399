//! API profiles: the message and status tables that turn one API's dialect
//! into the taxonomy.
//!
//! A profile is plain data. The built-ins (`c2c`, `s3`, `frameio`, `keyed`,
//! `envelope`, `generic`) are in [`builtin`]; more can be built in Rust or
//! loaded from a JSON file ([`Profile::from_json`]).

use std::borrow::Cow;

use crate::headers::contains_ignore_case;
use crate::kind::{Kind, Retry};
use crate::limit::RateLimit;

mod builtin;
#[cfg(test)]
mod contract;
mod file;

/// Text that is usually a literal in a built-in profile and owned otherwise.
pub type Text = Cow<'static, str>;

/// Default cap on the body bytes the classifier will decode.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// One row of a message table: when it matches, the payload classifies as `kind`.
///
/// A rule matches when every condition it sets holds: `code` equals one of
/// the payload's codes (ASCII case-insensitive: `Channel Paused` also matches
/// seed 001's `CHANNEL PAUSED`), `contains` occurs in its message or codes,
/// and `status` equals the HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRule {
    pub(crate) code: Option<Text>,
    pub(crate) contains: Option<Text>,
    pub(crate) status: Option<u16>,
    pub(crate) kind: Kind,
    pub(crate) retry: Option<Retry>,
    pub(crate) hint: Option<Text>,
}

impl MessageRule {
    /// Matches a payload whose code (or detailed-schema message) is `code`.
    pub fn code(code: impl Into<Text>, kind: Kind) -> Self {
        MessageRule {
            code: Some(code.into()),
            ..Self::empty(kind)
        }
    }

    /// Matches a payload whose message or code contains `needle`.
    pub fn contains(needle: impl Into<Text>, kind: Kind) -> Self {
        MessageRule {
            contains: Some(needle.into()),
            ..Self::empty(kind)
        }
    }

    fn empty(kind: Kind) -> Self {
        MessageRule {
            code: None,
            contains: None,
            status: None,
            kind,
            retry: None,
            hint: None,
        }
    }

    /// Also requires `contains` to occur in the message.
    pub fn and_contains(mut self, needle: impl Into<Text>) -> Self {
        self.contains = Some(needle.into());
        self
    }

    /// Only on this HTTP status.
    pub fn on_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Overrides the retry class for this rule.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Overrides the hint for this rule.
    pub fn hint(mut self, hint: impl Into<Text>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// One row of a status table: statuses `from..=to` classify as `kind`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusRule {
    pub from: u16,
    pub to: u16,
    pub kind: Kind,
}

/// What to do with a payload code that no message rule names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnmatchedCode {
    /// Fall back to the status table (seed 001's order of decision).
    StatusTable,
    /// Classify as `unknown_api_error` (AWS: "every other code: retry once").
    Unknown,
}

/// An API's error dialect. See the [crate docs](crate) for an example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub(crate) name: Text,
    pub(crate) messages: Vec<MessageRule>,
    pub(crate) statuses: Vec<StatusRule>,
    pub(crate) retry: Vec<(Kind, Retry)>,
    pub(crate) hints: Vec<(Kind, Text)>,
    pub(crate) unmatched_code: UnmatchedCode,
    pub(crate) max_body_bytes: usize,
    pub(crate) error_document_on_success: bool,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) route_limits: Vec<(String, String, RateLimit)>,
}

impl Profile {
    /// An empty profile: every error status is `unknown_api_error`.
    pub fn new(name: impl Into<Text>) -> Self {
        Profile {
            name: name.into(),
            messages: Vec::new(),
            statuses: Vec::new(),
            retry: Vec::new(),
            hints: Vec::new(),
            unmatched_code: UnmatchedCode::StatusTable,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            error_document_on_success: false,
            rate_limit: None,
            route_limits: Vec::new(),
        }
    }

    /// The profile's name, as reported in each classification.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the profile.
    pub fn with_name(mut self, name: impl Into<Text>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds a message rule after the existing ones (earlier rules win).
    pub fn with_message(mut self, rule: MessageRule) -> Self {
        self.messages.push(rule);
        self
    }

    /// Maps statuses `from..=to` to `kind` (earlier rows win).
    pub fn with_statuses(mut self, from: u16, to: u16, kind: Kind) -> Self {
        self.statuses.push(StatusRule { from, to, kind });
        self
    }

    /// Maps one status to `kind`.
    pub fn with_status(self, status: u16, kind: Kind) -> Self {
        self.with_statuses(status, status, kind)
    }

    /// Overrides the retry class of `kind` for this API.
    pub fn with_retry(mut self, kind: Kind, retry: Retry) -> Self {
        self.retry.retain(|(k, _)| *k != kind);
        self.retry.push((kind, retry));
        self
    }

    /// Overrides the hint of `kind` for this API.
    pub fn with_hint(mut self, kind: Kind, hint: impl Into<Text>) -> Self {
        self.hints.retain(|(k, _)| *k != kind);
        self.hints.push((kind, hint.into()));
        self
    }

    /// Sets what a code no rule names becomes.
    pub fn with_unmatched_code(mut self, policy: UnmatchedCode) -> Self {
        self.unmatched_code = policy;
        self
    }

    /// A success answer (2xx) whose body is an AWS `<Error>` document is a
    /// failure, classified by its code as if the status were 500 (S3's
    /// CompleteMultipartUpload, CopyObject and UploadPartCopy answer so;
    /// botocore does the same). Not applied to GET and HEAD, whose body is
    /// the object itself.
    ///
    /// ```
    /// use apiretry::{Kind, Profile, RawResponse};
    ///
    /// let body = b"<Error><Code>InternalError</Code><Message>x</Message></Error>";
    /// let s3 = Profile::builtin("s3").unwrap();
    /// let err = s3.classify(&RawResponse::new(200).body(body).method("POST")).unwrap();
    /// assert_eq!((err.kind, err.status), (Kind::ServerError, Some(200)));
    /// assert!(s3.classify(&RawResponse::new(200).body(body).method("GET")).is_none());
    /// ```
    pub fn with_error_document_on_success(mut self) -> Self {
        self.error_document_on_success = true;
        self
    }

    /// Bodies larger than this are not decoded (classified by status alone).
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The API's documented per-token limit; clients pace requests under it.
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// A lower limit for one route (`POST`, `/assets/:id/children`).
    pub fn with_route_limit(mut self, method: &str, pattern: &str, limit: RateLimit) -> Self {
        self.route_limits
            .push((method.to_ascii_uppercase(), pattern.to_owned(), limit));
        self
    }

    /// The per-token limit, if the API documents one.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// Per-route limits: method, path pattern, limit.
    pub fn route_limits(&self) -> &[(String, String, RateLimit)] {
        &self.route_limits
    }

    /// The retry class of `kind` under this profile.
    pub fn retry_for(&self, kind: Kind) -> Retry {
        self.retry
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(kind.default_retry(), |&(_, r)| r)
    }

    /// The hint for `kind` under this profile.
    pub fn hint_for(&self, kind: Kind) -> Text {
        self.hints
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(Cow::Borrowed(kind.default_hint()), |(_, h)| h.clone())
    }

    /// The status table's kind for `status`; when no row names it,
    /// `rate_limited` for 429 (its meaning in every API) and else
    /// `unknown_api_error`.
    pub fn kind_for_status(&self, status: u16) -> Kind {
        match self
            .statuses
            .iter()
            .find(|r| (r.from..=r.to).contains(&status))
        {
            Some(r) => r.kind,
            None if status == 429 => Kind::RateLimited,
            None => Kind::UnknownApiError,
        }
    }

    /// The first rule matching `status` and a payload with these codes and message;
    /// returns the rule and the code it matched on.
    pub(crate) fn match_rule<'c>(
        &self,
        status: u16,
        codes: &[&'c str],
        message: Option<&str>,
    ) -> Option<(&MessageRule, Option<&'c str>)> {
        self.messages.iter().find_map(|rule| {
            if rule.status.is_some_and(|s| s != status) {
                return None;
            }
            let code = match &rule.code {
                Some(want) => Some(*codes.iter().find(|c| c.eq_ignore_ascii_case(want))?),
                None => None,
            };
            if let Some(needle) = &rule.contains {
                let found = message.is_some_and(|m| contains_ignore_case(m, needle))
                    || codes.iter().any(|c| contains_ignore_case(c, needle));
                if !found {
                    return None;
                }
            }
            Some((rule, code))
        })
    }

    /// Whether some rule names `code` (so it is an error code, not a field).
    pub(crate) fn knows_code(&self, code: &str) -> bool {
        self.messages.iter().any(|r| {
            r.code
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_rules_and_rows_win() {
        let p = Profile::new("t")
            .with_message(MessageRule::code("x", Kind::Forbidden).on_status(403))
            .with_message(MessageRule::code("x", Kind::NotFound))
            .with_status(503, Kind::RateLimited)
            .with_statuses(500, 599, Kind::ServerError);
        let kind = |status, code| p.match_rule(status, &[code], None).map(|(r, _)| r.kind);
        assert_eq!(kind(403, "X"), Some(Kind::Forbidden));
        assert_eq!(kind(404, "x"), Some(Kind::NotFound));
        assert_eq!(kind(404, "y"), None);
        assert_eq!(p.kind_for_status(503), Kind::RateLimited);
        assert_eq!(p.kind_for_status(504), Kind::ServerError);
        assert_eq!(p.kind_for_status(418), Kind::UnknownApiError);
    }

    #[test]
    fn overrides_replace_earlier_ones() {
        let p = Profile::new("t")
            .with_retry(Kind::ServerError, Retry::Yes)
            .with_retry(Kind::ServerError, Retry::No);
        assert_eq!(p.retry_for(Kind::ServerError), Retry::No);
        assert_eq!(p.retry_for(Kind::NotFound), Retry::Once);
    }
}
