//! Masking of credentials in text that may end up in logs or messages.
//!
//! Servers sometimes echo the request back ("invalid token Bearer abc..."), so
//! every piece of outside text that an `ApiError` keeps goes through here.

use std::borrow::Cow;

/// Replaces what follows each marker (case-insensitive) up to the end of the
/// token with this.
pub const MASK: &str = "[redacted]";

/// Auth schemes whose credentials follow after a space (`Bearer abc`).
const SCHEMES: &[&str] = &["bearer"];

/// Keys whose values are secrets. The value follows a `:` or `=`
/// (`"key": "value"`, `key=value`, `key: value`), so that prose such as
/// "password is required" stays readable.
const KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "api_key",
    "apikey",
    "x-api-key",
    "password",
    "device_code",
    // Presigned URLs: AWS SigV4 (`X-Amz-Signature`, and a session's
    // `X-Amz-Security-Token`), SigV2 and CloudFront (`Signature`), Google
    // (`X-Goog-Signature`), Azure SAS (`sig`); a signature lets whoever
    // holds it do what the URL does until it expires.
    "signature",
    "x-amz-security-token",
    "sig",
];

/// Masks the credentials in a URL's authority (`http://user:pass@host` ->
/// `http://[redacted]@host`); borrows when there are none.
///
/// ```
/// use apiretry::redact::userinfo;
/// assert_eq!(userinfo("http://dev:s3cret@proxy:3128/x"), "http://[redacted]@proxy:3128/x");
/// assert_eq!(userinfo("http://proxy:3128/a@b"), "http://proxy:3128/a@b");
/// ```
pub fn userinfo(url: &str) -> Cow<'_, str> {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return Cow::Borrowed(url);
    };
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}{MASK}{}", &url[..start], &url[start + at..])),
        None => Cow::Borrowed(url),
    }
}

/// Masks bearer tokens and credential-like values; borrows when nothing matched.
///
/// Only separators (space, `:`, `=`) are examined, each against the words
/// before it, so clean text costs one pass with no per-marker scan.
///
/// ```
/// assert_eq!(
///     apiretry::redact::secrets("Authorization: Bearer abc.def"),
///     "Authorization: Bearer [redacted]"
/// );
/// assert_eq!(apiretry::redact::secrets("nothing here"), "nothing here");
/// ```
pub fn secrets(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `text` already copied into `out`
    let mut i = 0;
    while i < bytes.len() {
        let Some(value_start) = secret_start(bytes, i) else {
            i += 1;
            continue;
        };
        let value_end = value_start
            + bytes[value_start..]
                .iter()
                .take_while(|&&b| is_token_byte(b))
                .count();
        if value_end == value_start {
            i += 1;
            continue;
        }
        let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
        buf.push_str(&text[copied..value_start]);
        buf.push_str(MASK);
        copied = value_end;
        i = value_end;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            Cow::Owned(buf)
        }
    }
}

/// Where a secret value starts, if the separator at `i` follows a marker.
fn secret_start(bytes: &[u8], i: usize) -> Option<usize> {
    let before = &bytes[..i];
    match bytes[i] {
        b' ' | b'\t' if SCHEMES.iter().any(|m| ends_with_ignore_case(before, m)) => {
            Some(skip(bytes, i, b" \t"))
        }
        b':' | b'=' => {
            let key_end = before.len()
                - before
                    .iter()
                    .rev()
                    .take_while(|b| b"\"' \t".contains(b))
                    .count();
            KEYS.iter()
                .any(|k| ends_with_ignore_case(&before[..key_end], k))
                .then(|| skip(bytes, i + 1, b"\"' \t"))
        }
        _ => None,
    }
}

fn ends_with_ignore_case(hay: &[u8], needle: &str) -> bool {
    hay.len() >= needle.len()
        && hay[hay.len() - needle.len()..].eq_ignore_ascii_case(needle.as_bytes())
}

fn skip(bytes: &[u8], mut i: usize, set: &[u8]) -> usize {
    while i < bytes.len() && set.contains(&bytes[i]) {
        i += 1;
    }
    i
}

/// A secret runs to the next delimiter. Delimiters are ASCII, so the cut is
/// always at a character boundary.
fn is_token_byte(b: u8) -> bool {
    !b.is_ascii_whitespace() && !b"\"',;&<>()[]{}".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::secrets;

    #[test]
    fn masks_each_documented_form() {
        let rows = [
            ("Bearer abc.def-ghi", "Bearer [redacted]"),
            ("bearer abc", "bearer [redacted]"),
            (
                "{\"access_token\": \"abc\"}",
                "{\"access_token\": \"[redacted]\"}",
            ),
            ("refresh_token=abc&x=1", "refresh_token=[redacted]&x=1"),
            ("X-API-Key: k_live_123", "X-API-Key: [redacted]"),
            ("client_secret=bad_secret", "client_secret=[redacted]"),
            ("no secrets at all", "no secrets at all"),
            ("Bearer", "Bearer"),
            ("ünïcode Bearer tök", "ünïcode Bearer [redacted]"),
            ("password is required", "password is required"),
            (
                "{\"password\": [\"too short\"]}",
                "{\"password\": [\"too short\"]}",
            ),
            ("password=hunter2", "password=[redacted]"),
            (
                "/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=3f9a",
                "/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=[redacted]",
            ),
            (
                "&X-Amz-Security-Token=tok&",
                "&X-Amz-Security-Token=[redacted]&",
            ),
            ("Signature=v2&Expires=1", "Signature=[redacted]&Expires=1"),
            ("sv=1&sig=az%3D", "sv=1&sig=[redacted]"),
            (
                "the signature we calculated does not match",
                "the signature we calculated does not match",
            ),
        ];
        for (input, want) in rows {
            assert_eq!(secrets(input), want, "input: {input}");
        }
    }
}
