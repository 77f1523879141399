//! Loopback, same run, same mock server:
//! 1. latency of a successful GET through `Client` vs a bare ureq `Agent`
//!    (median and p99, requests alternating); goal: ratio <= 1.03;
//! 2. goodput under the mock's 50 req/s limit with 16 threads for 10 s;
//!    goal: >= 0.98 of the limit with < 1% of requests answered 429.
//!
//! Run: `cargo bench --bench client --features mock`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portable_atomic::AtomicU64;

use apiretry::mock::{MockServer, Reply};
use apiretry::{Client, Profile, Request};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn latency() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/ping", [Reply::json(200, r#"{"ok": true}"#)]);
    let url = format!("{}/ping", server.url());
    let client = Client::builder(server.url()).build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let req = Request::get("/ping").expect(200);
    let (mut ours, mut bare) = (Vec::new(), Vec::new());
    // Alternate single requests, so that both sides meet the same machine.
    for i in 0..5000 {
        let t = Instant::now();
        client.send(&req).unwrap();
        ours.push(t.elapsed());
        let t = Instant::now();
        let mut r = agent.get(&url).call().unwrap();
        r.body_mut().read_to_vec().unwrap();
        bare.push(t.elapsed());
        if i % 1000 == 999 {
            server.clear_requests();
        }
    }
    ours.sort();
    bare.sort();
    for (name, p) in [("median", 0.5), ("p99", 0.99)] {
        let (o, b) = (percentile(&ours, p), percentile(&bare, p));
        println!(
            "latency {name:<6} Client {:>7.1} us  bare ureq {:>7.1} us  ratio {:.3}",
            o.as_secs_f64() * 1e6,
            b.as_secs_f64() * 1e6,
            o.as_secs_f64() / b.as_secs_f64()
        );
    }
}

fn goodput() {
    const LIMIT: f64 = 50.0;
    const SECONDS: u64 = 10;
    let server = MockServer::start().unwrap();
    server.script("GET", "/assets/:id", [Reply::json(200, "{}")]);
    server.rate_limit(LIMIT, 5);
    let client = Client::builder(server.url())
        .profile(Profile::builtin("c2c").unwrap().clone()) // paces at 50/s
        .build();
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let (c, stop, ok) = (client.clone(), stop.clone(), ok.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    if c.send(&Request::get(format!("/assets/{t}-{i}")).expect(200))
                        .is_ok()
                    {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(SECONDS));
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let succeeded = ok.load(Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let sent = server.requests();
    let limited = sent.iter().filter(|r| r.status == Some(429)).count();
    let rate = succeeded as f64 / elapsed;
    println!(
        "goodput {rate:.1} req/s under a {LIMIT} req/s limit = {:.3} of the limit; {} of {} requests answered 429 ({:.2}%)",
        rate / LIMIT,
        limited,
        sent.len(),
        100.0 * limited as f64 / sent.len().max(1) as f64
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; nothing to list
    }
    latency();
    goodput();
}
