//! Classification through the C API (the exported functions, as C calls
//! them: classify, read the kind, free) against the Rust API on the same seed
//! bodies, interleaved in the same run. Goal: ratio <= 1.10.
//!
//! Then the decision API's cost per attempt (a call handle fed an S3
//! `SlowDown`, an `InternalError` and a success, as curl_upload.c does)
//! against bare `apiretry_classify` calls on the same three responses.
//!
//! Run: `cargo bench --bench ffi`.

use std::hint::black_box;
use std::ptr;

use apiretry::ffi::classify::{
    apiretry_classification_free, apiretry_classification_kind, apiretry_classify,
};
use apiretry::ffi::profile::{apiretry_profile, apiretry_profile_builtin, apiretry_profile_free};
use apiretry::ffi::retry::{
    apiretry_call_free, apiretry_call_new, apiretry_call_on_response, apiretry_decision,
    apiretry_retrier_free, apiretry_retrier_new, apiretry_retrier_set_budget,
};
use apiretry::samples::SEEDS;
use apiretry::{Kind, Profile, RawResponse};

mod support;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("ratio C API / Rust API (median of 21 interleaved rounds):");
    let mut ratios = Vec::new();
    for s in SEEDS.iter().filter(|s| !s.body.is_empty()) {
        let rust = Profile::builtin(s.profile).unwrap();
        let name = std::ffi::CString::new(s.profile).unwrap();
        let mut c: *mut apiretry_profile = ptr::null_mut();
        apiretry_profile_builtin(name.as_ptr(), &mut c);
        let body = s.body.as_bytes();
        let cmp = support::interleaved(21, 20_000, &|| c_classify(c, s.status, body), &|| {
            let err = rust.classify(&RawResponse::new(s.status).body(black_box(body)));
            black_box(err.map(|e| e.kind));
        });
        println!(
            "  {:<30} {:>6.0} ns vs {:>6.0} ns  ratio {:.3}",
            s.name, cmp.ours_ns, cmp.base_ns, cmp.ratio
        );
        ratios.push(cmp.ratio);
        apiretry_profile_free(c);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "  median ratio {:.3}, worst {:.3}",
        ratios[ratios.len() / 2],
        ratios[ratios.len() - 1]
    );
    decisions();
}

/// What a C caller does per response: classify, read the kind, free.
fn c_classify(profile: *const apiretry_profile, status: u16, body: &[u8]) {
    let mut out = ptr::null_mut();
    apiretry_classify(
        profile,
        status,
        ptr::null(),
        0,
        body.as_ptr(),
        body.len(),
        -1,
        &mut out,
    );
    let mut kind = Kind::Application;
    apiretry_classification_kind(out, &mut kind);
    black_box(kind);
    apiretry_classification_free(out);
}

/// A call of three attempts through the decision API against three bare
/// classifications of the same responses.
fn decisions() {
    let slow_down = br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"#;
    let internal = br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message><RequestId>4442587FB7D0A2FA</RequestId></Error>"#;
    let attempts: [(u16, &[u8]); 3] = [(503, slow_down), (500, internal), (200, b"")];
    let name = std::ffi::CString::new("s3").unwrap();
    let mut s3: *mut apiretry_profile = ptr::null_mut();
    apiretry_profile_builtin(name.as_ptr(), &mut s3);
    let mut retrier = ptr::null_mut();
    apiretry_retrier_new(s3, 5, 0, ptr::null(), &mut retrier);
    // Without the budget, every call sees the same three decisions.
    apiretry_retrier_set_budget(retrier, 0.0, 0.0);
    let cmp = support::interleaved(
        21,
        20_000,
        &|| {
            let mut call = ptr::null_mut();
            apiretry_call_new(retrier, ptr::null(), &mut call);
            for (status, body) in attempts {
                let mut d = apiretry_decision::default();
                let mut err = ptr::null_mut();
                apiretry_call_on_response(
                    call,
                    status,
                    ptr::null(),
                    0,
                    body.as_ptr(),
                    body.len(),
                    -1,
                    &mut d,
                    &mut err,
                );
                black_box(d.action);
                apiretry_classification_free(err);
            }
            apiretry_call_free(call);
        },
        &|| {
            for (status, body) in attempts {
                c_classify(s3, status, body);
            }
        },
    );
    println!(
        "decision API per attempt (a call of 3: SlowDown, InternalError, 200) vs bare classify:"
    );
    println!(
        "  {:>6.0} ns vs {:>6.0} ns per attempt, overhead {:+.0} ns, ratio {:.3}",
        cmp.ours_ns / 3.0,
        cmp.base_ns / 3.0,
        (cmp.ours_ns - cmp.base_ns) / 3.0,
        cmp.ratio
    );
    apiretry_retrier_free(retrier);
    apiretry_profile_free(s3);
}
