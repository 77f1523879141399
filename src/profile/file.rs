//! Profiles loaded from JSON.
//!
//! ```json
//! {
//!   "name": "myapi",
//!   "base": "generic",
//!   "messages": [
//!     {"code": "Channel Paused", "kind": "channel_paused"},
//!     {"contains": "quota", "status": 403, "kind": "payment_required", "hint": "Buy more quota."}
//!   ],
//!   "statuses": {"409": "channel_paused", "5xx": "server_error", "520-529": "unavailable"},
//!   "retry": {"server_error": "yes"},
//!   "hints": {"rate_limited": "Slow down."},
//!   "unmatched_code": "status_table",
//!   "max_body_bytes": 1048576,
//!   "error_document_on_success": false,
//!   "rate_limit": "50/s",
//!   "route_limits": {"POST /assets/:id/children": "5/s"}
//! }
//! ```
//!
//! Rules, rows and overrides from the file come before those of `base`
//! (a built-in profile), so they win. Only `name` is required.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{MessageRule, Profile, UnmatchedCode};
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    base: Option<String>,
    #[serde(default)]
    messages: Vec<Rule>,
    #[serde(default)]
    statuses: BTreeMap<String, Named<Kind>>,
    #[serde(default)]
    retry: BTreeMap<Named<Kind>, Named<Retry>>,
    #[serde(default)]
    hints: BTreeMap<Named<Kind>, String>,
    unmatched_code: Option<Unmatched>,
    max_body_bytes: Option<usize>,
    error_document_on_success: Option<bool>,
    rate_limit: Option<String>,
    #[serde(default)]
    route_limits: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    code: Option<String>,
    contains: Option<String>,
    status: Option<u16>,
    kind: Named<Kind>,
    retry: Option<Named<Retry>>,
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Unmatched {
    StatusTable,
    Unknown,
}

/// A taxonomy name (kind or retry class), parsed with its own error message.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Named<T>(T);

impl<'de, T> Deserialize<'de> for Named<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse()
            .map(Named)
            .map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}")))
    }
}

impl Profile {
    /// Loads a profile from JSON text (format in the module docs).
    ///
    /// ```
    /// let p = apiretry::Profile::from_json(r#"{"name": "mine", "base": "c2c",
    ///     "statuses": {"409": "channel_paused"}}"#).unwrap();
    /// assert_eq!(p.kind_for_status(409), apiretry::Kind::ChannelPaused);
    ///
    /// let err = apiretry::Profile::from_json(r#"{"name": "x", "retry": {"paused": "no"}}"#).unwrap_err();
    /// assert!(err.message.contains("unknown kind"), "{err}");
    /// ```
    pub fn from_json(text: &str) -> Result<Profile, ApiError> {
        let file: File =
            serde_json::from_str(text).map_err(|e| bad(format!("invalid profile: {e}")))?;
        file.into_profile()
    }

    /// Loads a profile from a JSON file; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Profile, ApiError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ApiError::new(Kind::Io)
                .with_message(format!("cannot read profile {}: {e}", path.display()))
        })?;
        Profile::from_json(&text).map_err(|e| {
            let message = format!("{}: {}", path.display(), e.message);
            e.with_message(message)
        })
    }
}

fn bad(message: String) -> ApiError {
    ApiError::invalid_input(message)
        .with_hint("Fix the profile file; see the profile format in the README.")
}

impl File {
    fn into_profile(self) -> Result<Profile, ApiError> {
        if self.name.trim().is_empty() {
            return Err(bad("invalid profile: \"name\" is empty".into()));
        }
        let base = match &self.base {
            Some(b) => Profile::builtin(b).ok_or_else(|| {
                bad(format!(
                    "invalid profile: base {b:?} is not a built-in profile (expected one of: {})",
                    Profile::BUILTIN_NAMES.join(", ")
                ))
            })?,
            None => &Profile::new(""),
        };

        let mut p = Profile::new(self.name);
        for (i, r) in self.messages.into_iter().enumerate() {
            if r.code.as_deref().unwrap_or("").is_empty()
                && r.contains.as_deref().unwrap_or("").is_empty()
            {
                return Err(bad(format!(
                    "invalid profile: messages[{i}] needs a non-empty \"code\" or \"contains\""
                )));
            }
            let mut rule = MessageRule {
                code: r.code.map(Into::into),
                contains: r.contains.map(Into::into),
                ..MessageRule::empty(r.kind.0)
            };
            rule.status = r.status;
            rule.retry = r.retry.map(|n| n.0);
            rule.hint = r.hint.map(Into::into);
            p = p.with_message(rule);
        }
        for (key, kind) in self.statuses {
            let (from, to) = parse_statuses(&key).ok_or_else(|| {
                bad(format!(
                    "invalid profile: statuses: {key:?} is not a status (use 409, 5xx or 500-599, within 400-599)"
                ))
            })?;
            p = p.with_statuses(from, to, kind.0);
        }
        p.messages.extend(base.messages.iter().cloned());
        p.statuses.extend(base.statuses.iter().cloned());
        p.retry = self.retry.into_iter().map(|(k, r)| (k.0, r.0)).collect();
        p.retry.extend(base.retry.iter().copied());
        p.hints = self
            .hints
            .into_iter()
            .map(|(k, h)| (k.0, h.into()))
            .collect();
        p.hints.extend(base.hints.iter().cloned());
        p.unmatched_code = match self.unmatched_code {
            Some(Unmatched::StatusTable) => UnmatchedCode::StatusTable,
            Some(Unmatched::Unknown) => UnmatchedCode::Unknown,
            None => base.unmatched_code,
        };
        p.max_body_bytes = self.max_body_bytes.unwrap_or(base.max_body_bytes);
        p.error_document_on_success = self
            .error_document_on_success
            .unwrap_or(base.error_document_on_success);
        p.rate_limit = match self.rate_limit {
            Some(l) => Some(
                l.parse()
                    .map_err(|e| bad(format!("invalid profile: rate_limit: {e}")))?,
            ),
            None => base.rate_limit,
        };
        for (route, limit) in self.route_limits {
            let (method, pattern) = route
                .split_once(' ')
                .filter(|(m, p)| !m.is_empty() && p.starts_with('/'))
                .ok_or_else(|| {
                    bad(format!(
                        "invalid profile: route_limits: {route:?} is not 'METHOD /path'"
                    ))
                })?;
            let limit = limit
                .parse()
                .map_err(|e| bad(format!("invalid profile: route_limits: {e}")))?;
            p = p.with_route_limit(method, pattern.trim(), limit);
        }
        p.route_limits.extend(base.route_limits.iter().cloned());
        Ok(p)
    }
}

/// `"409"`, `"5xx"` or `"500-599"`, error statuses only.
fn parse_statuses(key: &str) -> Option<(u16, u16)> {
    let (from, to) = if let Some(class) = key.strip_suffix("xx") {
        let c: u16 = class.parse().ok()?;
        (c * 100, c * 100 + 99)
    } else if let Some((a, b)) = key.split_once('-') {
        (a.trim().parse().ok()?, b.trim().parse().ok()?)
    } else {
        let s = key.trim().parse().ok()?;
        (s, s)
    };
    (400 <= from && from <= to && to <= 599).then_some((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_say_what_is_wrong() {
        let rows = [
            ("not json", "expected ident"),
            (r#"{"base": "c2c"}"#, "missing field `name`"),
            (r#"{"name": ""}"#, "\"name\" is empty"),
            (
                r#"{"name": "x", "base": "aws"}"#,
                "base \"aws\" is not a built-in profile",
            ),
            (r#"{"name": "x", "colour": 1}"#, "unknown field `colour`"),
            (
                r#"{"name": "x", "statuses": {"4x9": "forbidden"}}"#,
                "\"4x9\" is not a status",
            ),
            (
                r#"{"name": "x", "statuses": {"200": "forbidden"}}"#,
                "\"200\" is not a status",
            ),
            (
                r#"{"name": "x", "statuses": {"409": "paused"}}"#,
                "\"paused\": unknown kind",
            ),
            (
                r#"{"name": "x", "retry": {"server_error": "maybe"}}"#,
                "unknown retry class",
            ),
            (
                r#"{"name": "x", "messages": [{"kind": "forbidden"}]}"#,
                "messages[0] needs",
            ),
            (
                r#"{"name": "x", "messages": [{"code": "a"}]}"#,
                "missing field `kind`",
            ),
            (
                r#"{"name": "x", "unmatched_code": "ignore"}"#,
                "unknown variant `ignore`",
            ),
        ];
        for (text, want) in rows {
            let err = Profile::from_json(text).unwrap_err();
            assert_eq!(err.kind, Kind::Application);
            assert!(err.message.contains(want), "{text}: {}", err.message);
        }
    }

    #[test]
    fn file_rules_come_before_the_base() {
        let p = Profile::from_json(
            r#"{"name": "mine", "base": "c2c",
                "messages": [{"code": "Channel Paused", "kind": "forbidden"}],
                "statuses": {"5xx": "unavailable"},
                "retry": {"not_found": "no"},
                "hints": {"forbidden": "Ask an admin."},
                "unmatched_code": "unknown"}"#,
        )
        .unwrap();
        assert_eq!(p.name(), "mine");
        assert_eq!(
            p.match_rule(409, &["Channel Paused"], None).unwrap().0.kind,
            Kind::Forbidden
        );
        assert_eq!(
            p.match_rule(400, &["slow_down"], None).unwrap().0.kind,
            Kind::RateLimited
        );
        assert_eq!(p.kind_for_status(500), Kind::Unavailable);
        assert_eq!(p.kind_for_status(409), Kind::UnknownApiError);
        assert_eq!(p.retry_for(Kind::NotFound), Retry::No);
        assert_eq!(p.hint_for(Kind::Forbidden), "Ask an admin.");
        assert_eq!(p.unmatched_code, UnmatchedCode::Unknown);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let err = Profile::load("/nonexistent/profile.json").unwrap_err();
        assert_eq!(err.kind, Kind::Io);
        assert!(
            err.message.contains("/nonexistent/profile.json"),
            "{}",
            err.message
        );
    }
}
