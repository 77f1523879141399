//! Following redirects ourselves: ureq cannot re-send a streamed body, and
//! S3 answers a PUT with `307 TemporaryRedirect` to another endpoint. The
//! client re-sends the (always replayable) body and decides what credentials
//! go along.

use ureq::http::{HeaderMap, Uri};

/// Redirects followed in one attempt; more is a loop, or as good as one.
pub(crate) const MAX_REDIRECTS: u32 = 10;

/// The next hop of a redirected request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Hop {
    pub method: String,
    pub url: String,
    /// Whether the request's body goes along (not after a 303, or a 301/302
    /// turning a POST into a GET).
    pub body: bool,
}

/// Where `status` with `headers` sends a `method` request to `url`, if it
/// is a redirect with a usable `Location`.
pub(crate) fn next(status: u16, headers: &HeaderMap, method: &str, url: &str) -> Option<Hop> {
    if !matches!(status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = headers.get("location")?.to_str().ok()?.trim();
    let url = resolve(url, location)?;
    // RFC 9110 §15.4: 307/308 keep method and body; 303 becomes GET; 301/302
    // turn POST into GET, as every user agent does.
    let to_get = match status {
        303 => !method.eq_ignore_ascii_case("HEAD"),
        301 | 302 => method.eq_ignore_ascii_case("POST"),
        _ => false,
    };
    Some(match to_get {
        true => Hop {
            method: "GET".to_owned(),
            url,
            body: false,
        },
        false => Hop {
            method: method.to_owned(),
            url,
            body: true,
        },
    })
}

/// `location` made absolute against `base` (absolute, scheme-relative,
/// absolute-path or relative-path references); `None` when unusable.
fn resolve(base: &str, location: &str) -> Option<String> {
    if location.is_empty() || location.chars().any(char::is_control) {
        return None;
    }
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.parse::<Uri>().ok().map(|_| location.to_owned());
    }
    let uri: Uri = base.parse().ok()?;
    let (scheme, authority) = (uri.scheme_str()?, uri.authority()?.as_str());
    let url = if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let dir = uri.path().rsplit_once('/').map_or("", |(d, _)| d);
        format!("{scheme}://{authority}{dir}/{location}")
    };
    url.parse::<Uri>().ok().map(|_| url)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Method, URL, and whether the body goes along.
    type Want = Option<(&'static str, &'static str, bool)>;

    #[test]
    fn where_a_redirect_goes() {
        let rows: [(u16, &str, &str, Want); 10] = [
            (
                307,
                "PUT",
                "http://b.example/x",
                Some(("PUT", "http://b.example/x", true)),
            ),
            (
                308,
                "POST",
                "/v3/a",
                Some(("POST", "http://a.example:81/v3/a", true)),
            ),
            (
                303,
                "POST",
                "done",
                Some(("GET", "http://a.example:81/v2/done", false)),
            ),
            (
                303,
                "HEAD",
                "done",
                Some(("HEAD", "http://a.example:81/v2/done", true)),
            ),
            (
                302,
                "POST",
                "/p",
                Some(("GET", "http://a.example:81/p", false)),
            ),
            (
                301,
                "PUT",
                "/p",
                Some(("PUT", "http://a.example:81/p", true)),
            ),
            (
                307,
                "GET",
                "//c.example/q?s=1",
                Some(("GET", "http://c.example/q?s=1", true)),
            ),
            (304, "GET", "/p", None),
            (307, "GET", "", None),
            (307, "GET", "/a\r\nX: y", None),
        ];
        for (status, method, location, want) in rows {
            let mut headers = HeaderMap::new();
            if let Ok(v) = location.parse() {
                headers.insert("location", v);
            }
            let got = next(
                status,
                &headers,
                method,
                "http://a.example:81/v2/assets?x=1",
            );
            let got = got
                .as_ref()
                .map(|h| (h.method.as_str(), h.url.as_str(), h.body));
            assert_eq!(got, want, "{status} {method} {location:?}");
        }
    }
}
