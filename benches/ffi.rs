//! Classification through the C API (the exported functions, as C calls
//! them: classify, read the kind, free) against the Rust API on the same seed
//! bodies, interleaved in the same run. Goal: ratio <= 1.10.
//!
//! Run: `cargo bench --bench ffi`.

use std::hint::black_box;
use std::ptr;

use apiretry::ffi::classify::{
    apiretry_classification_free, apiretry_classification_kind, apiretry_classify,
};
use apiretry::ffi::profile::{apiretry_profile, apiretry_profile_builtin, apiretry_profile_free};
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
        let cmp = support::interleaved(
            21,
            20_000,
            &|| {
                let mut out = ptr::null_mut();
                apiretry_classify(
                    c,
                    s.status,
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
            },
            &|| {
                let err = rust.classify(&RawResponse::new(s.status).body(black_box(body)));
                black_box(err.map(|e| e.kind));
            },
        );
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
}
