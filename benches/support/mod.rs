//! Same-run comparisons: two closures timed in alternating rounds, so that
//! machine noise falls on both alike.

use std::time::Instant;

/// Per-call nanoseconds of `ours` and `base` (medians over rounds), and the
/// median of the per-round ratios ours / base.
#[allow(dead_code)] // each bench binary reads the figures it reports
pub struct Comparison {
    pub ours_ns: f64,
    pub base_ns: f64,
    pub ratio: f64,
}

pub fn interleaved(rounds: usize, iters: u32, ours: &dyn Fn(), base: &dyn Fn()) -> Comparison {
    let time = |f: &dyn Fn()| {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        t.elapsed().as_secs_f64() * 1e9 / f64::from(iters)
    };
    let (mut o, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (x, y) = (time(ours), time(base));
        o.push(x);
        b.push(y);
        r.push(x / y.max(1e-3));
    }
    Comparison {
        ours_ns: median(o),
        base_ns: median(b),
        ratio: median(r),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
