//! Classification per schema on the seed example bodies, against a generic
//! `serde_json::from_slice::<serde_json::Value>` of the same bodies measured in
//! the same run (the baseline; for the XML sample the baseline is a plain
//! roxmltree parse). Goal: ratio classify / baseline <= 1.0.
//!
//! Run: `cargo bench --bench classify`; the ratios are printed at the end.

use std::hint::black_box;

use apiretry::samples::SEEDS;
use apiretry::{Profile, RawResponse};
use criterion::{criterion_group, criterion_main, Criterion};

mod support;

fn baseline(body: &[u8]) -> usize {
    if body.first() == Some(&b'<') {
        let text = std::str::from_utf8(body).unwrap();
        return roxmltree::Document::parse(text).map_or(0, |d| d.descendants().count());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => v.as_object().map_or(0, |o| o.len()),
        Err(_) => 0,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("classify");
    for s in SEEDS.iter().filter(|s| !s.body.is_empty()) {
        let profile = Profile::builtin(s.profile).unwrap();
        let body = s.body.as_bytes();
        group.bench_function(format!("{}/{}/apiretry", s.schema, s.name), |b| {
            b.iter(|| profile.classify(&RawResponse::new(s.status).body(black_box(body))))
        });
        group.bench_function(format!("{}/{}/baseline", s.schema, s.name), |b| {
            b.iter(|| baseline(black_box(body)))
        });
    }
    let c2c = Profile::builtin("c2c").unwrap();
    group.bench_function("status_only/503/apiretry", |b| {
        b.iter(|| c2c.classify(&RawResponse::new(black_box(503))))
    });
    group.finish();
}

/// The ratio table: both sides interleaved in the same run.
fn ratios(_: &mut Criterion) {
    println!("\nratio classify / baseline (median of 21 interleaved rounds):");
    for s in SEEDS.iter().filter(|s| !s.body.is_empty()) {
        let profile = Profile::builtin(s.profile).unwrap();
        let body = s.body.as_bytes();
        let c = support::interleaved(
            21,
            20_000,
            &|| {
                black_box(profile.classify(&RawResponse::new(s.status).body(black_box(body))));
            },
            &|| {
                black_box(baseline(black_box(body)));
            },
        );
        println!(
            "  {:<10} {:<30} {:>6.0} ns vs {:>6.0} ns  ratio {:.2}",
            s.schema, s.name, c.ours_ns, c.base_ns, c.ratio
        );
    }
}

criterion_group!(benches, bench, ratios);
criterion_main!(benches);
