//! Route patterns: `/assets/:id/children` matches `/assets/42/children`,
//! and a trailing `*` matches the rest; and the route a request takes,
//! as the overload gate counts refusals by it.

/// A request's route: its method and path with the ids collapsed
/// (`GET /v2/assets/:id/children`), or the name the request gives it
/// (`Request::route`). Tables key it by [`Route::id`], a hash of that text
/// computed once per attempt without allocating; the text itself is built
/// only for a log line.
pub(crate) struct Route<'a> {
    method: &'a str,
    url: &'a str,
    named: Option<&'a str>,
    id: std::cell::OnceCell<u64>,
}

impl<'a> Route<'a> {
    pub(crate) fn new(method: &'a str, url: &'a str, named: Option<&'a str>) -> Self {
        Route {
            method,
            url,
            named,
            id: std::cell::OnceCell::new(),
        }
    }

    pub(crate) fn method(&self) -> &str {
        self.method
    }

    pub(crate) fn url(&self) -> &str {
        self.url
    }

    /// The route as text: `METHOD /path/:id`, or its name.
    pub(crate) fn key(&self) -> String {
        let mut key = String::new();
        self.parts(|p| key.push_str(p));
        key
    }

    /// The hash of [`Route::key`] (FNV-1a, 64 bits).
    pub(crate) fn id(&self) -> u64 {
        *self.id.get_or_init(|| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            self.parts(|p| {
                for b in p.bytes() {
                    h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
            });
            h
        })
    }

    /// The key's pieces, in order: the name; or the method, a space, and
    /// each segment after a `/`, a segment that looks like an id (all
    /// digits, or 8 characters or more of letters, digits, `-` and `_`
    /// with a digit among them: UUIDs, hashes, base-62 ids) as `:id`.
    fn parts(&self, mut f: impl FnMut(&str)) {
        if let Some(name) = self.named {
            return f(name);
        }
        f(self.method);
        f(" ");
        let mut any = false;
        for segment in path_of(self.url).split('/').filter(|s| !s.is_empty()) {
            f("/");
            f(if is_id(segment) { ":id" } else { segment });
            any = true;
        }
        if !any {
            f("/");
        }
    }
}

fn is_id(segment: &str) -> bool {
    let digit = segment.bytes().any(|b| b.is_ascii_digit());
    let word = segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    digit && word && (segment.len() >= 8 || segment.bytes().all(|b| b.is_ascii_digit()))
}

/// A table keyed by [`Route::id`], already a hash: looked up as it is.
pub(crate) type ById<T> =
    std::collections::HashMap<u64, T, std::hash::BuildHasherDefault<IdHasher>>;

/// Passes a [`Route::id`] through: hashing a hash again buys nothing.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
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
