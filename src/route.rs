//! Route patterns: `/assets/:id/children` matches `/assets/42/children`,
//! and a trailing `*` matches the rest.

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
}
