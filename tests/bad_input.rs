//! Bad input never crashes: every hostile body gets a classification (by
//! status, since no payload can be read from it), in bounded time.

mod support;

use std::time::{Duration, Instant};

use apiretry::{Kind, Profile, RawResponse, Retry};
use support::*;

/// A hang detector, not a speed claim: speed is shown by the benchmarks.
const BOUND: Duration = Duration::from_secs(20);

fn classify(profile: &Profile, status: u16, body: &[u8]) -> apiretry::ApiError {
    let start = Instant::now();
    let err = profile
        .classify(&RawResponse::new(status).body(body))
        .expect("an error status is always classified");
    assert!(start.elapsed() < BOUND, "took {:?}", start.elapsed());
    err
}

/// Each hostile body, with a cap high enough that the decoder really reads it.
#[test]
fn hostile_bodies_fall_back_to_the_status() {
    let open = Profile::builtin("c2c")
        .unwrap()
        .clone()
        .with_max_body_bytes(64 << 20);
    let rows: Vec<(&str, Vec<u8>)> = vec![
        (
            "invalid UTF-8 in a string",
            b"{\"error\": \"\xff\xfe slow_down\"}".to_vec(),
        ),
        ("invalid UTF-8 alone", b"\xff\xfe\xfd\xfc".to_vec()),
        ("10 MB of nested arrays", nested_arrays(TEN_MB / 2)),
        ("10 MB of nested objects", nested_objects(TEN_MB / 9)),
        ("XML entity bomb", xml_entity_bomb()),
        ("1 MB of nested XML", nested_xml(1 << 17)),
        ("truncated JSON", b"{\"error\": \"slow_d".to_vec()),
        ("truncated XML", b"<Error><Code>SlowDown</Co".to_vec()),
        ("NUL bytes", vec![0; 1024]),
        (
            "HTML",
            b"<!DOCTYPE html><html><body>503 Service Unavailable</body></html>".to_vec(),
        ),
        ("JSON array", b"[{\"error\": \"slow_down\"}]".to_vec()),
        (
            "JSON with trailing garbage",
            b"{\"error\": \"slow_down\"} <html>".to_vec(),
        ),
        (
            "huge number",
            format!("{{\"retry_after\": 1{}}}", "0".repeat(400)).into_bytes(),
        ),
    ];
    for (what, body) in rows {
        let err = classify(&open, 503, &body);
        assert_eq!(
            (err.kind, err.retry),
            (Kind::Unavailable, Retry::Yes),
            "{what}"
        );
        assert!(err.code.is_none(), "{what}: {:?}", err.code);
    }
}

#[test]
fn bodies_over_the_cap_are_not_decoded() {
    let c2c = Profile::builtin("c2c").unwrap();
    let mut body = br#"{"error": "Channel Paused", "pad": ""#.to_vec();
    body.resize(apiretry::DEFAULT_MAX_BODY_BYTES + 1, b' ');
    body.extend_from_slice(b"\"}");
    assert_eq!(classify(c2c, 409, &body).kind, Kind::UnknownApiError);
    body.truncate(40);
    body.extend_from_slice(b"\"}");
    assert_eq!(classify(c2c, 409, &body).kind, Kind::ChannelPaused);
}

#[test]
fn empty_body_with_every_status_and_profile() {
    for &name in Profile::BUILTIN_NAMES {
        let p = Profile::builtin(name).unwrap();
        for status in 100..=599u16 {
            let got = p.classify(&RawResponse::new(status));
            if status < 400 {
                assert!(got.is_none(), "{name} {status}");
                continue;
            }
            let err = got.unwrap_or_else(|| panic!("{name} {status} not classified"));
            assert_eq!(err.status, Some(status));
            assert_eq!(err.kind, p.kind_for_status(status), "{name} {status}");
            assert_eq!(err.retry, p.retry_for(err.kind), "{name} {status}");
            assert_eq!(err.message, err.kind.default_message());
        }
    }
}

/// Every prefix of every seed example classifies without panicking, either as
/// the full body does or as the status alone does.
#[test]
fn every_truncation_of_every_sample() {
    for s in apiretry::samples::SEEDS {
        let p = Profile::builtin(s.profile).unwrap();
        let full = p
            .classify(&RawResponse::new(s.status).body(s.body.as_bytes()))
            .unwrap()
            .kind;
        let bare = p.kind_for_status(s.status);
        for end in 0..s.body.len() {
            let kind = classify(p, s.status, &s.body.as_bytes()[..end]).kind;
            assert!(
                kind == full || kind == bare,
                "{} cut at {end}: {kind}",
                s.name
            );
        }
    }
}

/// Deterministic garbage: random bytes, and seed bodies with random bytes flipped.
#[test]
fn random_garbage_and_bit_flips() {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    for &name in Profile::BUILTIN_NAMES {
        let p = Profile::builtin(name).unwrap();
        for _ in 0..500 {
            let len = rng.usize(0..512);
            let body: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            classify(p, rng.u16(400..600), &body);
        }
        for s in apiretry::samples::SEEDS {
            for _ in 0..50 {
                let mut body = s.body.as_bytes().to_vec();
                for _ in 0..rng.usize(1..4) {
                    if !body.is_empty() {
                        let i = rng.usize(..body.len());
                        body[i] = rng.u8(..);
                    }
                }
                classify(p, s.status, &body);
            }
        }
    }
}
