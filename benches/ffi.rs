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

use apiretry::ffi::profile::{apiretry_profile, apiretry_profile_builtin, apiretry_profile_free};
use apiretry::samples::SEEDS;
use apiretry::{Profile, RawResponse};

#[path = "support/c_calls.rs"]
mod c_calls;
mod support;

use c_calls::{c_classify, S3Calls};

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

/// A call of three attempts through the decision API against three bare
/// classifications of the same responses.
fn decisions() {
    let calls = S3Calls::new();
    let cmp = support::interleaved(21, 20_000, &|| calls.call_of_three(), &|| {
        calls.classify_three()
    });
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
}
