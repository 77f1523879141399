//! A token set (RFC 6749 5.1): what pairing yields, a refresh renews and a
//! store keeps across reboots.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::gate::Secret;
use crate::kind::{Kind, Retry};

/// Share of an access token's life after which it is refreshed before use.
pub const REFRESH_AT_LIFE: f64 = 0.9;

/// Access and refresh tokens. `Debug` never shows either.
///
/// ```
/// use apiretry::{Secret, Tokens};
///
/// let t = Tokens::new(Secret::new("at-1")).with_refresh_token(Secret::new("rt-1"));
/// assert!(!format!("{t:?}").contains("rt-1"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tokens {
    /// Sent as `Authorization: Bearer`.
    pub access_token: Secret,
    /// Obtains the next access token; a server that rotates them issues a
    /// new one with each refresh.
    pub refresh_token: Option<Secret>,
    /// As the server said (`Bearer`).
    pub token_type: String,
    /// When the access token expires, Unix seconds.
    pub expires_at: Option<u64>,
    /// When it was issued, Unix seconds (with `expires_at`: its life).
    pub issued_at: Option<u64>,
    /// The scope granted.
    pub scope: Option<String>,
}

/// A token endpoint's answer and the stored form alike.
#[derive(Serialize, Deserialize)]
struct Wire {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default = "bearer")]
    token_type: String,
    #[serde(default, skip_serializing)]
    expires_in: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

fn bearer() -> String {
    "Bearer".to_owned()
}

pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Tokens {
    /// An access token alone (a `Bearer` of unknown life).
    pub fn new(access_token: Secret) -> Self {
        Tokens {
            access_token,
            refresh_token: None,
            token_type: bearer(),
            expires_at: None,
            issued_at: None,
            scope: None,
        }
    }

    /// With a refresh token.
    pub fn with_refresh_token(mut self, refresh_token: Secret) -> Self {
        self.refresh_token = Some(refresh_token);
        self
    }

    /// Issued at `issued` (Unix seconds), living `seconds`.
    pub fn with_life(mut self, issued: u64, seconds: u64) -> Self {
        self.issued_at = Some(issued);
        self.expires_at = Some(issued.saturating_add(seconds));
        self
    }

    /// When to refresh ahead of expiry: after [`REFRESH_AT_LIFE`] of the
    /// token's life (without a known issue time, a minute before expiry).
    pub fn refresh_due(&self) -> Option<SystemTime> {
        let expires = self.expires_at?;
        let due = match self.issued_at.filter(|i| *i <= expires) {
            Some(issued) => issued as f64 + (expires - issued) as f64 * REFRESH_AT_LIFE,
            None => expires.saturating_sub(60) as f64,
        };
        Some(UNIX_EPOCH + Duration::from_secs_f64(due))
    }

    /// From a token endpoint's JSON answer received at `now`; a refresh's
    /// answer without a refresh token keeps `previous`'s (RFC 6749 6).
    pub(crate) fn from_answer(
        body: &[u8],
        now: SystemTime,
        previous: Option<&Secret>,
    ) -> Result<Tokens, ApiError> {
        let wire: Wire = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(Kind::Protocol)
                .with_retry(Retry::No)
                .with_message(format!(
                    "the token endpoint's answer is not a token set (RFC 6749 5.1): {}",
                    describe(&e)
                ))
        })?;
        let life = wire.expires_in.filter(|s| s.is_finite() && *s >= 0.0);
        // The answer's life counts from now; nothing else there is a time.
        let mut tokens = Tokens {
            expires_at: None,
            issued_at: None,
            ..Tokens::from_wire(wire)
        };
        if let Some(life) = life {
            tokens = tokens.with_life(unix(now), life as u64);
        }
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = previous.cloned();
        }
        Ok(tokens)
    }

    fn from_wire(w: Wire) -> Tokens {
        Tokens {
            access_token: Secret::new(w.access_token),
            refresh_token: w.refresh_token.map(Secret::new),
            token_type: w.token_type,
            expires_at: w.expires_at,
            issued_at: w.issued_at,
            scope: w.scope,
        }
    }

    /// The stored form: one JSON object.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let wire = Wire {
            access_token: self.access_token.expose().to_owned(),
            refresh_token: self.refresh_token.as_ref().map(|s| s.expose().to_owned()),
            token_type: self.token_type.clone(),
            expires_in: None,
            expires_at: self.expires_at,
            issued_at: self.issued_at,
            scope: self.scope.clone(),
        };
        let mut json = serde_json::to_vec_pretty(&wire).unwrap_or_default();
        json.push(b'\n');
        json
    }

    /// Reads the stored form; the error names what is wrong, never a value.
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Tokens, String> {
        serde_json::from_slice::<Wire>(bytes)
            .map(Tokens::from_wire)
            .map_err(|e| describe(&e))
    }
}

/// serde_json's message quotes the offending value (a token, maybe); only
/// its class and place are kept.
fn describe(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "a field is missing or of the wrong type",
        serde_json::error::Category::Eof => "cut short",
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn answers_as_rfc_6749_says() {
        let old = Secret::new("r-old");
        // (answer, previous refresh token, refresh kept, expires_at, due)
        #[allow(clippy::type_complexity)]
        let rows: [(
            &str,
            Option<&Secret>,
            Option<&str>,
            Option<u64>,
            Option<u64>,
        ); 4] = [
            (
                r#"{"access_token":"a","refresh_token":"r-new","expires_in":1000}"#,
                Some(&old),
                Some("r-new"),
                Some(NOW + 1000),
                Some(NOW + 900),
            ),
            (
                r#"{"access_token":"a","expires_in":28800}"#,
                Some(&old),
                Some("r-old"),
                Some(NOW + 28800),
                Some(NOW + 25920),
            ),
            (
                r#"{"access_token":"a","token_type":"bearer"}"#,
                None,
                None,
                None,
                None,
            ),
            (
                r#"{"access_token":"a","expires_in":-5}"#,
                None,
                None,
                None,
                None,
            ),
        ];
        for (body, previous, refresh, expires, due) in rows {
            let t = Tokens::from_answer(body.as_bytes(), at(NOW), previous).unwrap();
            assert_eq!(
                t.refresh_token.as_ref().map(Secret::expose),
                refresh,
                "{body}"
            );
            assert_eq!(t.expires_at, expires, "{body}");
            assert_eq!(t.refresh_due(), due.map(at), "{body}");
        }
    }

    #[test]
    fn a_bad_answer_is_classified_without_its_contents() {
        for body in [
            &b"{\"access_token\": 5}"[..],
            b"<html>",
            b"",
            b"{\"token\":\"secret-x\"}",
        ] {
            let e = Tokens::from_answer(body, at(NOW), None).unwrap_err();
            assert_eq!((e.kind, e.retry), (Kind::Protocol, Retry::No));
            assert!(!e.message.contains("secret-x"), "{}", e.message);
        }
    }

    #[test]
    fn stored_form_round_trips() {
        let t = Tokens::new(Secret::new("a"))
            .with_refresh_token(Secret::new("r"))
            .with_life(NOW, 3600);
        let json = t.to_json();
        assert_eq!(Tokens::from_json(&json).unwrap(), t);
        let text = String::from_utf8(json).unwrap();
        for field in ["access_token", "refresh_token", "token_type", "expires_at"] {
            assert!(text.contains(field), "{text}");
        }
    }
}
