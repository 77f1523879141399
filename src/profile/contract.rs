//! Holds `docs/00-taxonomy.md`, the project's contract, equal to the code:
//! each table there is rendered here from the kinds, the built-in profiles,
//! the backoff and the timeouts, and compared row by row (leading cells;
//! a last column of prose, such as what a kind means, is the document's own).
//!
//! After a deliberate change, `APIRETRY_CONTRACT_PRINT=1 cargo test --lib
//! contract -- --nocapture --test-threads 1` prints the tables as the code
//! has them, instead of checking them.

use super::{MessageRule, Profile, StatusRule, UnmatchedCode};
use crate::backoff::{Backoff, Jitter};
use crate::client::Timeouts;
use crate::kind::{Kind, Retry};
use crate::limit::RateLimit;

const DOC: &str = include_str!("../../docs/00-taxonomy.md");

type Rows = Vec<Vec<String>>;

fn code(text: &str) -> String {
    format!("`{text}`")
}

fn kinds() -> Rows {
    Kind::ALL
        .iter()
        .map(|k| {
            vec![
                code(k.as_str()),
                k.category().as_str().into(),
                k.default_retry().as_str().into(),
            ]
        })
        .collect()
}

fn retry_of(p: &Profile, rule: &MessageRule) -> Retry {
    rule.retry.unwrap_or_else(|| p.retry_for(rule.kind))
}

fn messages(p: &Profile) -> Rows {
    let any = || "any".to_string();
    p.messages
        .iter()
        .map(|r| {
            vec![
                r.code.as_deref().map_or_else(any, code),
                r.contains
                    .as_deref()
                    .map_or_else(any, |c| format!("\"{c}\"")),
                r.status.map_or_else(any, |s| s.to_string()),
                code(r.kind.as_str()),
                retry_of(p, r).as_str().into(),
            ]
        })
        .collect()
}

fn statuses(p: &Profile) -> Rows {
    let span = |r: &StatusRule| match r.from == r.to {
        true => r.from.to_string(),
        false => format!("{}-{}", r.from, r.to),
    };
    p.statuses
        .iter()
        .map(|r| {
            vec![
                span(r),
                code(r.kind.as_str()),
                p.retry_for(r.kind).as_str().into(),
            ]
        })
        .collect()
}

fn limit(l: &RateLimit) -> String {
    let per = l.per.as_secs();
    match per {
        1 => format!("{}/s", l.requests),
        60 => format!("{}/min", l.requests),
        _ => format!("{} per {per} s", l.requests),
    }
}

/// Everything else a profile decides, one row each.
fn settings(p: &Profile) -> Rows {
    let unmatched = match p.unmatched_code {
        UnmatchedCode::StatusTable => "the status table",
        UnmatchedCode::Unknown => "`unknown_api_error`",
    };
    let routes: Vec<String> = p
        .route_limits
        .iter()
        .map(|(m, path, l)| format!("{m} {path}: {}", limit(l)))
        .collect();
    let or_none = |s: String| if s.is_empty() { "none".into() } else { s };
    let overrides: Vec<String> = p
        .retry
        .iter()
        .map(|(k, r)| format!("`{}` {}", k.as_str(), r.as_str()))
        .collect();
    [
        ("a code no rule names", unmatched.to_string()),
        (
            "an error document in a 2xx",
            ["ignored", "a failure"][usize::from(p.error_document_on_success)].into(),
        ),
        (
            "rate limit",
            or_none(p.rate_limit.as_ref().map(limit).unwrap_or_default()),
        ),
        ("route limits", or_none(routes.join("; "))),
        ("retry overrides", or_none(overrides.join(", "))),
    ]
    .into_iter()
    .map(|(k, v)| vec![k.to_string(), v])
    .collect()
}

fn backoff() -> Rows {
    let b = Backoff::default();
    (0..9)
        .map(|n| {
            let d = b.delay(n).as_secs_f64();
            let jitter = match b.jitter() {
                Jitter::Seed => format!("0 to {} s", d / 2.0),
                other => other.as_str().into(),
            };
            vec![n.to_string(), format!("{d} s"), jitter]
        })
        .collect()
}

fn timeouts() -> Rows {
    let t = Timeouts::default();
    [
        ("`Default`", t.default),
        ("`AuthRefresh`", t.auth_refresh),
        ("`ChunkUpload`", t.chunk_upload),
    ]
    .into_iter()
    .map(|(class, d)| vec![class.into(), format!("{} s", d.as_secs())])
    .collect()
}

/// The rows of the table whose header starts with `header`, in the part of
/// the document from the heading line `heading` to the next heading of the
/// same or a higher level.
fn table(heading: &str, header: &str) -> Rows {
    let level = heading.len() - heading.trim_start_matches('#').len();
    let mut lines = DOC.lines().skip_while(|l| *l != heading);
    assert!(
        lines.next().is_some(),
        "docs/00-taxonomy.md: no {heading:?}"
    );
    let section: Vec<&str> = lines
        .take_while(|l| {
            let hashes = l.len() - l.trim_start_matches('#').len();
            hashes == 0 || hashes > level || !l[hashes..].starts_with(' ')
        })
        .collect();
    let start = section
        .iter()
        .position(|l| l.starts_with(header))
        .unwrap_or_else(|| panic!("docs/00-taxonomy.md: no {header:?} under {heading:?}"));
    section[start + 2..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

fn check(heading: &str, header: &str, want: Rows) {
    if std::env::var_os("APIRETRY_CONTRACT_PRINT").is_some() {
        println!("{heading}\n{header}");
        for row in &want {
            println!("| {} |", row.join(" | "));
        }
        return;
    }
    let got = table(heading, header);
    assert_eq!(got.len(), want.len(), "{heading} {header}: rows {got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert!(g.len() >= w.len(), "{heading}: {g:?} is short of {w:?}");
        assert_eq!(&g[..w.len()], &w[..], "{heading} {header}");
    }
}

#[test]
fn the_kinds_table_is_the_code() {
    check("## Kinds", "| kind | category | retry |", kinds());
}

#[test]
fn each_built_in_profile_is_its_tables() {
    for name in Profile::BUILTIN_NAMES {
        let p = Profile::builtin(name).unwrap();
        let heading = format!("### `{name}`");
        check(&heading, "| code | message contains |", messages(p));
        check(&heading, "| status | kind |", statuses(p));
        check(&heading, "| setting | value |", settings(p));
    }
}

#[test]
fn backoff_and_timeouts_are_the_code() {
    check("## Backoff", "| attempt | delay |", backoff());
    check("## Timeouts", "| request class | timeout |", timeouts());
}
