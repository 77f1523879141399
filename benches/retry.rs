//! Overhead of the retry loop on a call that succeeds first time, against
//! calling the closure directly, in the same run. Goal: within 50 ns.
//!
//! Run: `cargo bench --bench retry`.

use std::hint::black_box;
use std::sync::Arc;

use apiretry::{ApiError, Policy, Retrier, RetryBudget};
use criterion::{criterion_group, criterion_main, Criterion};

mod support;

fn op(x: u64) -> Result<u64, ApiError> {
    Ok(black_box(x).wrapping_mul(31))
}

fn bench(c: &mut Criterion) {
    let plain = Retrier::new(Policy::default());
    let budgeted = Retrier::new(Policy::default()).with_budget(Arc::new(RetryBudget::default()));
    let mut g = c.benchmark_group("first_try_success");
    g.bench_function("direct", |b| b.iter(|| op(7)));
    g.bench_function("retrier", |b| b.iter(|| plain.run(|_| op(7))));
    g.bench_function("retrier_with_budget", |b| {
        b.iter(|| budgeted.run(|_| op(7)))
    });
    g.finish();
}

fn overhead(_: &mut Criterion) {
    let plain = Retrier::new(Policy::default());
    let budgeted = Retrier::new(Policy::default()).with_budget(Arc::new(RetryBudget::default()));
    println!("\noverhead on a first-try success (median of 21 interleaved rounds):");
    for (name, r) in [("retrier", &plain), ("retrier + budget", &budgeted)] {
        let c = support::interleaved(
            21,
            1_000_000,
            &|| {
                let _ = black_box(r.run(|_| op(7)));
            },
            &|| {
                let _ = black_box(op(7));
            },
        );
        println!(
            "  {name:<18} {:.1} ns vs direct {:.1} ns: +{:.1} ns",
            c.ours_ns,
            c.base_ns,
            c.ours_ns - c.base_ns
        );
    }
}

criterion_group!(benches, bench, overhead);
criterion_main!(benches);
