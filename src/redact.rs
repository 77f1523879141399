//! Masking of credentials in text that may end up in logs or messages.
//!
//! Servers sometimes echo the request back ("invalid token Bearer abc..."), so
//! every piece of outside text that an `ApiError` keeps goes through here.

use std::borrow::Cow;

/// Replaces what follows each marker (case-insensitive) up to the end of the
/// token with this.
pub const MASK: &str = "[redacted]";

/// Scheme markers: the secret follows after spaces.
const SCHEMES: &[&str] = &["bearer "];

/// Key markers: the secret follows a `:` or `=` (`"key": "value"`,
/// `key=value`, `key: value`), so "password is required" stays readable.
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
];

/// Masks bearer tokens and credential-like values; borrows when nothing matched.
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
    let mut copied = 0; // bytes of `text` already handled into `out`
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
            i = value_start;
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

fn starts_with_ignore_case(hay: &[u8], needle: &str) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle.as_bytes())
}

/// Where the secret value starts if a marker stands at `i`.
fn secret_start(bytes: &[u8], i: usize) -> Option<usize> {
    if let Some(m) = SCHEMES
        .iter()
        .find(|m| starts_with_ignore_case(&bytes[i..], m))
    {
        return Some(skip(bytes, i + m.len(), b" \t"));
    }
    let m = KEYS
        .iter()
        .find(|m| starts_with_ignore_case(&bytes[i..], m))?;
    let j = skip(bytes, i + m.len(), b"\"' \t");
    matches!(bytes.get(j), Some(b':' | b'=')).then(|| skip(bytes, j + 1, b"\"' \t"))
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
        ];
        for (input, want) in rows {
            assert_eq!(secrets(input), want, "input: {input}");
        }
    }
}
