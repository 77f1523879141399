//! apiretry against Python's urllib3 `Retry`, in one run, on loopback, with
//! the same mock server and scenarios:
//! 1. goodput under a 50 req/s server limit (16 threads, 10 s);
//! 2. a 30 s total outage in a 40 s run (16 threads): failed requests sent
//!    during the outage per calling thread, and time to first success after it.
//!
//! Run: `cargo bench --bench peers --features mock` (needs python3 with
//! urllib3: `pip install urllib3`). Figures: BENCHMARKS.md.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{Client, Event, Observer, Profile, Request};

const THREADS: usize = 16;

/// What one side did, in seconds since its start.
#[derive(Default)]
struct Counts {
    calls_at: Vec<f64>,
    attempts_at: Vec<f64>,
    successes_at: Vec<f64>,
}

fn apiretry_side(
    client_for: impl Fn(Arc<Mutex<Counts>>, Instant) -> Client,
    url: &str,
    seconds: f64,
    during: impl Fn(f64),
) -> Counts {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let start = Instant::now();
    let client = client_for(counts.clone(), start);
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (c, counts, stop, url) =
                (client.clone(), counts.clone(), stop.clone(), url.to_owned());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let t = start.elapsed().as_secs_f64();
                    counts.lock().unwrap().calls_at.push(t);
                    if c.send(&Request::get(url.clone()).expect(200)).is_ok() {
                        counts
                            .lock()
                            .unwrap()
                            .successes_at
                            .push(start.elapsed().as_secs_f64());
                    }
                }
            })
        })
        .collect();
    while start.elapsed().as_secs_f64() < seconds {
        during(start.elapsed().as_secs_f64());
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let taken = std::mem::take(&mut *counts.lock().unwrap());
    taken
}

/// An observer that records the time of each attempt.
fn recording(counts: Arc<Mutex<Counts>>, start: Instant) -> Arc<dyn Observer> {
    Arc::new(move |_: &Event<'_>| {
        counts
            .lock()
            .unwrap()
            .attempts_at
            .push(start.elapsed().as_secs_f64())
    })
}

fn urllib3_side(url: &str, seconds: f64, during: impl Fn(f64)) -> Option<Counts> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/urllib3_peer.py");
    let start = Instant::now();
    let child = Command::new("python3")
        .args([script, url, &THREADS.to_string(), &seconds.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    while start.elapsed().as_secs_f64() < seconds {
        during(start.elapsed().as_secs_f64());
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let times = |k: &str| {
        v[k].as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default()
    };
    Some(Counts {
        calls_at: times("calls_at"),
        attempts_at: times("attempts_at"),
        successes_at: times("successes_at"),
    })
}

fn goodput() {
    println!("\n1. goodput under a 50 req/s server limit, {THREADS} threads, 10 s");
    for side in ["apiretry", "urllib3"] {
        let server = MockServer::start().unwrap();
        server.script("GET", "/assets/:id", [Reply::json(200, "{}")]);
        server.rate_limit(50.0, 5);
        let url = format!("{}/assets/1", server.url());
        let counts = match side {
            "apiretry" => apiretry_side(
                |c, s| {
                    Client::builder(server.url())
                        .profile(Profile::builtin("c2c").unwrap().clone())
                        .observer(recording(c, s))
                        .build()
                },
                &url,
                10.0,
                |_| {},
            ),
            _ => match urllib3_side(&url, 10.0, |_| {}) {
                Some(c) => c,
                None => {
                    println!("  urllib3: not run (python3 with urllib3 is needed)");
                    continue;
                }
            },
        };
        let sent = server.requests();
        let limited = sent.iter().filter(|r| r.status == Some(429)).count();
        let rate = counts.successes_at.iter().filter(|t| **t <= 10.0).count() as f64 / 10.0;
        println!(
            "  {side:<9} goodput {rate:5.1} req/s = {:.3} of the limit; {limited} of {} requests answered 429 ({:.1}%)",
            rate / 50.0,
            sent.len(),
            100.0 * limited as f64 / sent.len().max(1) as f64
        );
    }
}

fn outage() {
    const DOWN: f64 = 2.0;
    const UP: f64 = 32.0;
    println!("\n2. a 30 s outage ({DOWN} s to {UP} s) in a 40 s run, {THREADS} threads");
    for side in ["apiretry", "urllib3"] {
        let server = MockServer::start().unwrap();
        server.script("GET", "/x", [Reply::json(200, "{}")]);
        server.script("GET", "/", [Reply::status(204)]);
        let url = format!("{}/x", server.url());
        let toggled = Mutex::new((false, false));
        let during = |t: f64| {
            let mut s = toggled.lock().unwrap();
            if t >= DOWN && !s.0 {
                server.set_down(true);
                s.0 = true;
            }
            if t >= UP && !s.1 {
                server.set_down(false);
                s.1 = true;
            }
        };
        let counts = match side {
            "apiretry" => apiretry_side(
                |c, s| {
                    Client::builder(server.url())
                        .observer(recording(c, s))
                        .build()
                },
                &url,
                40.0,
                during,
            ),
            _ => match urllib3_side(&url, 40.0, during) {
                Some(c) => c,
                None => continue,
            },
        };
        let in_outage = |v: &[f64]| v.iter().filter(|t| (DOWN..UP).contains(*t)).count();
        // Requests sent during the outage that did not succeed: the load the
        // outage cost, per calling thread (every thread has a call in flight).
        let failed = in_outage(&counts.attempts_at).saturating_sub(in_outage(&counts.successes_at));
        let first = counts
            .successes_at
            .iter()
            .copied()
            .filter(|t| *t >= UP)
            .fold(f64::INFINITY, f64::min)
            - UP;
        println!(
            "  {side:<9} {failed:>4} failed requests during the outage = {:.2} per thread; first success {first:.2} s after recovery",
            failed as f64 / THREADS as f64,
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    goodput();
    outage();
}
