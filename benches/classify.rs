//! Classification per schema on the seed example bodies, against a generic
//! `serde_json::from_slice::<serde_json::Value>` of the same bodies measured in
//! the same run (the baseline; for the XML sample the baseline is a plain
//! roxmltree parse). Goal: ratio classify / baseline <= 1.0.
//!
//! Run: `cargo bench --bench classify`; the ratios are printed at the end.

use std::hint::black_box;
use std::time::{Duration, Instant};

use apiretry::samples::SEEDS;
use apiretry::{Profile, RawResponse};
use criterion::{criterion_group, criterion_main, Criterion};

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

/// A quick same-process ratio table, interleaving the two sides so that
/// machine noise hits both alike.
fn ratios(_: &mut Criterion) {
    const ROUNDS: usize = 21;
    const ITERS: u32 = 20_000;
    println!("\nratio classify / baseline (median of {ROUNDS} interleaved rounds of {ITERS}):");
    for s in SEEDS.iter().filter(|s| !s.body.is_empty()) {
        let profile = Profile::builtin(s.profile).unwrap();
        let body = s.body.as_bytes();
        let time = |f: &dyn Fn()| {
            let t = Instant::now();
            for _ in 0..ITERS {
                f();
            }
            t.elapsed()
        };
        let mut r: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let ours = time(&|| {
                    black_box(profile.classify(&RawResponse::new(s.status).body(black_box(body))));
                });
                let base = time(&|| {
                    black_box(baseline(black_box(body)));
                });
                ours.as_secs_f64() / base.max(Duration::from_nanos(1)).as_secs_f64()
            })
            .collect();
        r.sort_by(f64::total_cmp);
        println!("  {:<10} {:<30} {:.2}", s.schema, s.name, r[ROUNDS / 2]);
    }
}

criterion_group!(benches, bench, ratios);
criterion_main!(benches);
