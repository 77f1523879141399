//! Route patterns: `/assets/:id/children` matches `/assets/42/children`,
//! and a trailing `*` matches the rest; and the route a request takes,
//! as the overload gate counts refusals by it.

/// A request's route: its method and path with the ids collapsed
/// (`GET /v2/assets/:id/children`), or the key the request names
/// (`Request::route`). Computed only when asked: while no route refuses,
/// calls never build one.
pub(crate) struct Route<'a> {
    method: &'a str,
    url: &'a str,
    named: Option<&'a str>,
    key: std::cell::OnceCell<String>,
}

impl<'a> Route<'a> {
    pub(crate) fn new(method: &'a str, url: &'a str, named: Option<&'a str>) -> Self {
        Route {
            method,
            url,
            named,
            key: std::cell::OnceCell::new(),
        }
    }

    pub(crate) fn method(&self) -> &str {
        self.method
    }

    pub(crate) fn url(&self) -> &str {
        self.url
    }

    pub(crate) fn key(&self) -> &str {
        self.key.get_or_init(|| match self.named {
            Some(name) => name.to_owned(),
            None => key_of(self.method, self.url),
        })
    }
}

/// `METHOD /path` with each segment that looks like an id (all digits, or
/// 8 characters or more of letters, digits, `-` and `_` with a digit
/// among them: UUIDs, hashes, base-62 ids) as `:id`.
fn key_of(method: &str, url: &str) -> String {
    let mut key = String::with_capacity(method.len() + url.len());
    key.push_str(method);
    key.push(' ');
    for segment in path_of(url).split('/').filter(|s| !s.is_empty()) {
        key.push('/');
        key.push_str(if is_id(segment) { ":id" } else { segment });
    }
    if key.ends_with(' ') {
        key.push('/');
    }
    key
}

fn is_id(segment: &str) -> bool {
    let digit = segment.bytes().any(|b| b.is_ascii_digit());
    let word = segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    digit && word && (segment.len() >= 8 || segment.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `path` (without query) matches `pattern`.
pub(crate) fn matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.trim_matches('/').split('/');
    let mut have = path.trim_matches('/').split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some("*"), _) => return true,
            (Some(w), Some(h)) if w.starts_with(':') || w == h => {}
            _ => return false,
        }
    }
}

/// The path of a URL or path: no scheme, host or query.
pub(crate) fn path_of(url: &str) -> &str {
    let rest = url
        .split_once("://")
        .map_or(url, |(_, r)| r.find('/').map_or("/", |i| &r[i..]));
    rest.split(['?', '#']).next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let rows = [
            ("/assets/:id/children", "/assets/42/children", true),
            ("/assets/:id/children", "/assets/42", false),
            ("/assets/:id/children", "/assets/42/children/x", false),
            ("/health", "/health/", true),
            ("/files/*", "/files/a/b/c", true),
            ("/", "/", true),
        ];
        for (pattern, path, want) in rows {
            assert_eq!(matches(pattern, path), want, "{pattern} {path}");
        }
        assert_eq!(path_of("https://h.example/v2/assets?x=1"), "/v2/assets");
        assert_eq!(path_of("https://h.example"), "/");
        assert_eq!(path_of("/assets/1?token=a"), "/assets/1");
    }

    /// Rows: (method, URL, the route's key).
    #[test]
    fn route_keys() {
        let rows = [
            (
                "GET",
                "https://h.example/v2/assets/42/children",
                "GET /v2/assets/:id/children",
            ),
            (
                "GET",
                "/v2/assets/42/children?page=2",
                "GET /v2/assets/:id/children",
            ),
            (
                "POST",
                "/v2/devices/3fa85f64-5717-4562-b3fc-2c963f66afa6/assets",
                "POST /v2/devices/:id/assets",
            ),
            (
                "PUT",
                "/files/a1b2c3d4e5/parts/7",
                "PUT /files/:id/parts/:id",
            ),
            ("GET", "/v4/me", "GET /v4/me"),
            ("GET", "/v2/accounts", "GET /v2/accounts"),
            // A slug with digits is taken for an id: one route either way.
            ("DELETE", "/tags/summer-2024", "DELETE /tags/:id"),
            ("DELETE", "/tags/summer", "DELETE /tags/summer"),
            ("GET", "https://h.example", "GET /"),
        ];
        for (method, url, want) in rows {
            assert_eq!(Route::new(method, url, None).key(), want, "{url}");
        }
        assert_eq!(
            Route::new("GET", "/a/1", Some("create asset")).key(),
            "create asset"
        );
    }
}
