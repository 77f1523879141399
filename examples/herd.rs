//! Thundering-herd simulation on virtual time: a fleet of clients, a total
//! outage, then recovery, for each jitter mode with and without the retry
//! budget. It drives the library's own `RetryState` decisions from an event
//! queue, so 10,000 clients take no threads and seconds of CPU.
//!
//! Run: `cargo run --release --example herd [-- CLIENTS [THINK_MS]]`
//!
//! Model: each client makes one logical call at a time and, after it ends
//! (success or give-up), thinks for THINK_MS (default 1000) +-50% before the
//! next. A request takes 50 ms when the service is up; during the outage
//! (30 s to 60 s) it is refused after 10 ms (`connection`, retry `yes`).
//! Each client has its own budget (a budget is per client, not per fleet).
//!
//! Reported per row:
//! - amplification: requests per logical call, for calls started during the outage;
//! - peak/mean: the most requests in any 100 ms window after recovery, over
//!   the mean per 100 ms after recovery;
//! - t99: seconds from recovery until 99% of clients have had a success.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use apiretry::{ApiError, Backoff, Jitter, Kind, Policy, RetryBudget, RetryState, Step};

const OUTAGE_START_MS: u64 = 30_000;
const OUTAGE_END_MS: u64 = 60_000;
const END_MS: u64 = 150_000;
const UP_LATENCY_MS: u64 = 50;
const DOWN_LATENCY_MS: u64 = 10;

struct Client<'p> {
    budget: Option<RetryBudget>,
    call: Option<RetryState<'p>>,
    call_started: u64,
    call_requests: u32,
    recovered: bool,
}

struct Row {
    amplification: f64,
    peak_over_mean: f64,
    t99_s: f64,
}

fn simulate(clients: usize, think_ms: u64, jitter: Jitter, with_budget: bool) -> Row {
    let policy = Policy::default().with_backoff(Backoff::default().with_jitter(jitter));
    let t0 = Instant::now();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut fleet: Vec<Client<'_>> = (0..clients)
        .map(|_| Client {
            budget: with_budget.then(RetryBudget::default),
            call: None,
            call_started: 0,
            call_requests: 0,
            recovered: false,
        })
        .collect();
    // (time a request is sent, client)
    let mut queue: BinaryHeap<Reverse<(u64, usize)>> = (0..clients)
        .map(|c| Reverse((rng.u64(0..think_ms.max(1)), c)))
        .collect();
    let mut per_ms = vec![0u32; END_MS as usize + 1];
    let (mut outage_calls, mut outage_requests) = (0u64, 0u64);
    let mut recovered = 0usize;
    let mut t99 = None;
    let outage = ApiError::new(Kind::Connection);

    while let Some(Reverse((t, id))) = queue.pop() {
        if t > END_MS {
            break;
        }
        per_ms[t as usize] += 1;
        let c = &mut fleet[id];
        if c.call.is_none() {
            c.call = Some(RetryState::new(
                &policy,
                t0 + Duration::from_millis(t),
                rng.u64(..),
            ));
            c.call_started = t;
            c.call_requests = 0;
        }
        c.call_requests += 1;
        let down = (OUTAGE_START_MS..OUTAGE_END_MS).contains(&t);
        let done = t + if down { DOWN_LATENCY_MS } else { UP_LATENCY_MS };
        let next = if down {
            let state = c.call.as_mut().expect("a call is in progress");
            match state.on_failure(&outage, t0 + Duration::from_millis(done), c.budget.as_ref()) {
                Step::Retry(d) => Some(done + d.as_millis() as u64),
                _ => None,
            }
        } else {
            if let Some(b) = &c.budget {
                b.on_success();
            }
            if t >= OUTAGE_END_MS && !c.recovered {
                c.recovered = true;
                recovered += 1;
                if t99.is_none() && recovered * 100 >= clients * 99 {
                    t99 = Some(done - OUTAGE_END_MS);
                }
            }
            None
        };
        let next = next.unwrap_or_else(|| {
            // The logical call ended: count it, think, start the next one.
            if (OUTAGE_START_MS..OUTAGE_END_MS).contains(&c.call_started) {
                outage_calls += 1;
                outage_requests += u64::from(c.call_requests);
            }
            c.call = None;
            done + think_ms / 2 + rng.u64(0..=think_ms)
        });
        queue.push(Reverse((next, id)));
    }

    let after = &per_ms[OUTAGE_END_MS as usize..END_MS as usize];
    let mut window: u32 = after.iter().take(100).sum();
    let mut peak = window;
    for i in 100..after.len() {
        window = window + after[i] - after[i - 100];
        peak = peak.max(window);
    }
    let mean = f64::from(after.iter().sum::<u32>()) / (after.len() as f64 / 100.0);
    Row {
        amplification: outage_requests as f64 / outage_calls.max(1) as f64,
        peak_over_mean: f64::from(peak) / mean,
        t99_s: t99.map_or(f64::NAN, |ms| ms as f64 / 1000.0),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let think_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    println!(
        "{clients} clients, think {think_ms} ms, outage {}-{} s, default policy (8 attempts, 0.5 s .. 32 s)",
        OUTAGE_START_MS / 1000,
        OUTAGE_END_MS / 1000
    );
    println!(
        "{:<13} {:>22} {:>22} {:>20}",
        "jitter", "amplification", "peak/mean", "t99 after recovery"
    );
    println!(
        "{:<13} {:>11}{:>11} {:>11}{:>11} {:>10}{:>10}",
        "", "no budget", "budget", "no budget", "budget", "no bdgt", "budget"
    );
    for jitter in Jitter::ALL {
        let off = simulate(clients, think_ms, jitter, false);
        let on = simulate(clients, think_ms, jitter, true);
        println!(
            "{:<13} {:>11.3}{:>11.3} {:>11.2}{:>11.2} {:>9.1}s{:>9.1}s",
            jitter.as_str(),
            off.amplification,
            on.amplification,
            off.peak_over_mean,
            on.peak_over_mean,
            off.t99_s,
            on.t99_s
        );
    }
}
