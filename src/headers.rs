//! Reading the response headers that steer retries: `Retry-After`,
//! `RateLimit-*` / `X-RateLimit-*` resets, and request ids.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Case-insensitive header lookup over whatever the caller's HTTP stack has.
///
/// Implemented for slices and vectors of `(name, value)` pairs; the client
/// implements it for its own response type.
pub trait Headers {
    /// The first value of header `name` (ASCII case-insensitive).
    fn header(&self, name: &str) -> Option<&str>;

    /// Whether some header's name may contain `part` (lowercase), ASCII
    /// case-insensitive: one pass before looking several spellings up.
    /// The default says "maybe" (`true`), and the spellings are looked up.
    fn any_name_contains(&self, part: &str) -> bool {
        let _ = part;
        true
    }
}

/// A header name: an RFC 9110 token (no spaces, colons or controls).
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Text that goes on the wire as is (header values, tokens, URLs): no
/// control characters, so no CR/LF that would split the request (a tab is
/// allowed in header values only).
pub(crate) fn is_wire_text(text: &str, tab_ok: bool) -> bool {
    text.chars()
        .all(|c| !c.is_control() || (tab_ok && c == '\t'))
}

/// `needle` in `hay`, ASCII case-insensitive (an empty needle is in every
/// text); for short texts, cheaper than `str::contains`'s two-way search.
pub(crate) fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref().trim())
    }

    fn any_name_contains(&self, part: &str) -> bool {
        self.iter()
            .any(|(k, _)| contains_ignore_case(k.as_ref(), part))
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }

    fn any_name_contains(&self, part: &str) -> bool {
        self.as_slice().any_name_contains(part)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Headers for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }

    fn any_name_contains(&self, part: &str) -> bool {
        self.as_slice().any_name_contains(part)
    }
}

/// A slice reference, so that `&slice` coerces to `&dyn Headers`.
impl<K: AsRef<str>, V: AsRef<str>> Headers for &[(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        (**self).header(name)
    }

    fn any_name_contains(&self, part: &str) -> bool {
        (**self).any_name_contains(part)
    }
}

/// No headers at all.
impl Headers for () {
    fn header(&self, _: &str) -> Option<&str> {
        None
    }

    fn any_name_contains(&self, _: &str) -> bool {
        false
    }
}

/// Values above this many seconds are read as a Unix time, not a delay
/// (`X-RateLimit-Reset` is an epoch timestamp at GitHub and many others, a
/// delay at others; no delay is 30 years long).
const EPOCH_THRESHOLD_S: u64 = 1_000_000_000;

/// `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, relative
/// to `now`. A date in the past means "now" (0). Fractional seconds, which
/// some servers send, are accepted and rounded up to the next millisecond.
pub fn retry_after_ms(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    if let Some(ms) = seconds_to_ms(value) {
        return Some(ms);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(until_ms(at, now))
}

/// Milliseconds until the rate-limit window resets, from (in order)
/// `RateLimit-Reset`, the structured `RateLimit: ...;reset=N` field of the
/// IETF draft, `X-RateLimit-Reset` and `X-Rate-Limit-Reset`.
pub fn rate_limit_reset_ms(headers: &(impl Headers + ?Sized), now: SystemTime) -> Option<u64> {
    let raw = headers
        .header("ratelimit-reset")
        .or_else(|| headers.header("ratelimit").and_then(structured_reset))
        .or_else(|| headers.header("x-ratelimit-reset"))
        .or_else(|| headers.header("x-rate-limit-reset"))?;
    let ms = seconds_to_ms(raw)?;
    if ms / 1000 >= EPOCH_THRESHOLD_S {
        return Some(until_ms(UNIX_EPOCH + Duration::from_millis(ms), now));
    }
    Some(ms)
}

/// Whether the rate-limit headers say the quota is used up
/// (`RateLimit-Remaining: 0` and friends).
pub fn rate_limit_exhausted(headers: &(impl Headers + ?Sized)) -> bool {
    rate_limit_remaining(headers) == Some(0)
}

/// The requests left in the rate-limit window, from `RateLimit-Remaining`,
/// the structured `RateLimit: ...;r=N`, `X-RateLimit-Remaining` or
/// `X-Rate-Limit-Remaining`.
pub fn rate_limit_remaining(headers: &(impl Headers + ?Sized)) -> Option<u64> {
    // Most answers state no quota: one pass over the names first (every
    // spelling below has "rate" in it; a lookup per spelling was 7% of a
    // client call's instructions).
    if !headers.any_name_contains("rate") {
        return None;
    }
    headers
        .header("ratelimit-remaining")
        .or_else(|| {
            headers
                .header("ratelimit")
                .and_then(|v| structured_param(v, "r"))
        })
        .or_else(|| headers.header("x-ratelimit-remaining"))
        .or_else(|| headers.header("x-rate-limit-remaining"))?
        .trim()
        .parse()
        .ok()
}

/// The request id a support person will ask for.
pub fn request_id(headers: &(impl Headers + ?Sized)) -> Option<&str> {
    [
        "x-request-id",
        "x-amz-request-id",
        "x-amzn-requestid",
        "request-id",
        "x-correlation-id",
    ]
    .iter()
    .find_map(|name| headers.header(name))
    .filter(|v| !v.is_empty())
}

/// `RateLimit: "default";r=0;t=30` (draft-ietf-httpapi-ratelimit-headers-08)
/// or the older `limit=100, remaining=0, reset=30`.
fn structured_reset(value: &str) -> Option<&str> {
    structured_param(value, "t").or_else(|| structured_param(value, "reset"))
}

fn structured_param<'v>(value: &'v str, key: &str) -> Option<&'v str> {
    value
        .split([';', ','])
        .filter_map(|part| part.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
}

/// Non-negative (possibly fractional) seconds to milliseconds, saturating.
fn seconds_to_ms(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    if let Ok(s) = value.parse::<u64>() {
        return Some(s.saturating_mul(1000));
    }
    let s: f64 = value.parse().ok()?;
    // `as` saturates for out-of-range floats, which is what we want here.
    Some((s * 1000.0).ceil() as u64)
}

fn until_ms(at: SystemTime, now: SystemTime) -> u64 {
    at.duration_since(now)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-10-21 07:28:00 GMT, the date in RFC 9110's example.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_445_412_480)
    }

    #[test]
    fn retry_after_forms() {
        let rows: &[(&str, Option<u64>)] = &[
            ("3", Some(3_000)),
            (" 120 ", Some(120_000)),
            ("0", Some(0)),
            ("1.5", Some(1_500)),
            ("Wed, 21 Oct 2015 07:28:30 GMT", Some(30_000)),
            ("Wednesday, 21-Oct-15 07:29:00 GMT", Some(60_000)),
            ("Wed Oct 21 07:28:05 2015", Some(5_000)),
            ("Wed, 21 Oct 2015 07:00:00 GMT", Some(0)),
            ("-5", None),
            ("soon", None),
            ("", None),
            ("99999999999999999999999", Some(u64::MAX)),
        ];
        for &(value, want) in rows {
            assert_eq!(retry_after_ms(value, now()), want, "Retry-After: {value:?}");
        }
    }

    #[test]
    fn rate_limit_reset_forms() {
        type Pairs = &'static [(&'static str, &'static str)];
        let rows: &[(Pairs, Option<u64>)] = &[
            (&[("RateLimit-Reset", "7")], Some(7_000)),
            (&[("RateLimit", "\"default\";r=0;t=12")], Some(12_000)),
            (
                &[("RateLimit", "limit=100, remaining=0, reset=9")],
                Some(9_000),
            ),
            (&[("X-RateLimit-Reset", "4")], Some(4_000)),
            (&[("X-RateLimit-Reset", "1445412490")], Some(10_000)),
            (&[("X-Rate-Limit-Reset", "2")], Some(2_000)),
            (&[("X-RateLimit-Reset", "1445412000")], Some(0)),
            (&[("X-RateLimit-Limit", "50")], None),
        ];
        for &(headers, want) in rows {
            assert_eq!(rate_limit_reset_ms(headers, now()), want, "{headers:?}");
        }
    }

    #[test]
    fn exhaustion_and_request_ids() {
        assert!(rate_limit_exhausted(&[("x-ratelimit-remaining", "0")]));
        assert!(rate_limit_exhausted(&[(
            "RateLimit",
            "\"default\";r=0;t=1"
        )]));
        assert!(!rate_limit_exhausted(&[("RateLimit-Remaining", "3")]));
        assert_eq!(
            request_id(&[("X-Amz-Request-Id", "4442587FB7D0A2F9")]),
            Some("4442587FB7D0A2F9")
        );
        assert_eq!(request_id(&[("x-request-id", "")]), None);
    }
}
