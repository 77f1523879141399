//! Any status, any headers, any body, any built-in profile: classification
//! returns (never panics), and what it returns is consistent.
#![no_main]

use apiretry::{Profile, RawResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [p, s0, s1, h, rest @ ..] = data else { return };
    let name = Profile::BUILTIN_NAMES[*p as usize % Profile::BUILTIN_NAMES.len()];
    let profile = Profile::builtin(name).unwrap();
    let status = 100 + u16::from_le_bytes([*s0, *s1]) % 500;
    // The first `h` bytes of the rest are one header value, tried under each
    // header name the classifier reads.
    let split = (*h as usize).min(rest.len());
    let (value, body) = rest.split_at(split);
    let value = String::from_utf8_lossy(value);
    let headers: Vec<(&str, &str)> = ["Retry-After", "RateLimit", "X-RateLimit-Reset", "X-Request-Id"]
        .into_iter()
        .map(|n| (n, value.as_ref()))
        .collect();
    let got = profile.classify(&RawResponse::new(status).headers(&headers).body(body).expect(200));
    match got {
        None => assert!(status == 200),
        Some(err) => {
            assert_eq!(err.status, Some(status));
            assert!(err.message.len() <= apiretry::MAX_MESSAGE_BYTES + 3);
            let _ = err.to_string();
            let _ = format!("{err:?}");
        }
    }
});
