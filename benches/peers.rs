//! apiretry against Python's urllib3 `Retry`, in one run, on loopback, with
//! the same mock server and scenarios:
//! 1. goodput under a 50 req/s server limit (16 threads, 10 s);
//! 2. a 30 s total outage in a 40 s run (16 threads): failed requests sent
//!    during the outage per calling thread (apiretry's health probes
//!    counted too), and time to first success after it, as ratios;
//! 3. two origins in one client (the API and S3): S3 down while API calls
//!    go on, against the same run with S3 up (apiretry only: a urllib3
//!    PoolManager has no state shared across hosts to get wrong);
//! 4. to 6. limits the client is not told (`unknown_limit`,
//!    `changing_limit`, `keyed_limit`): 50 req/s, 50 -> 10 -> 50, and a
//!    keyed API's 20 a minute; apiretry learning the rate, apiretry not
//!    learning it (`without_adaptive_rate`), and urllib3;
//! 7. S3's `SlowDown` over an unknown 50 req/s (`s3_limit`), against boto3
//!    in adaptive retry mode (the AWS SDKs' own rate learning), from the
//!    moto virtual environment;
//! 8. a server whose `Retry-After` is not its pace (`constant_wait_limit`:
//!    always 2 s over 2 req/s, as Shopify's), against urllib3.
//!
//! Run: `cargo bench --bench peers --features mock` (needs python3 with
//! urllib3: `pip install urllib3`). Figures: BENCHMARKS.md.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{Client, Event, Observer, Profile, Request, RequestClass};

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
    python_side("python3", "urllib3_peer.py", url, seconds, during)
}

/// boto3 in adaptive retry mode, from the moto virtual environment
/// (`.ci/moto-venv`), GETting `bucket/clip.mov` at `endpoint`.
fn boto3_side(endpoint: &str, seconds: f64, during: impl Fn(f64)) -> Option<Counts> {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/target/moto-venv/bin/python");
    python_side(python, "boto3_peer.py", endpoint, seconds, during)
}

/// A peer in Python: `script` (in benches/peers/) with URL, THREADS and
/// SECONDS, printing its counts as JSON.
fn python_side(
    python: &str,
    script: &str,
    url: &str,
    seconds: f64,
    during: impl Fn(f64),
) -> Option<Counts> {
    let script = format!("{}/benches/peers/{script}", env!("CARGO_MANIFEST_DIR"));
    let start = Instant::now();
    let child = Command::new(python)
        .args([&script, url, &THREADS.to_string(), &seconds.to_string()])
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

/// Counts the client's health probes that found the origin unreachable
/// (logged at debug level under `apiretry::probe`), by time since `START`.
struct ProbeLog;

static PROBES: Mutex<Vec<f64>> = Mutex::new(Vec::new());
static START: OnceLock<Mutex<Instant>> = OnceLock::new();

impl log::Log for ProbeLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target() == "apiretry::probe"
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) && r.level() == log::Level::Debug {
            let start = *START
                .get_or_init(|| Mutex::new(Instant::now()))
                .lock()
                .unwrap();
            PROBES.lock().unwrap().push(start.elapsed().as_secs_f64());
        }
    }
    fn flush(&self) {}
}

fn count_probes_from(start: Instant) {
    let _ = log::set_logger(&ProbeLog).map(|()| log::set_max_level(log::LevelFilter::Debug));
    *START.get_or_init(|| Mutex::new(start)).lock().unwrap() = start;
    PROBES.lock().unwrap().clear();
}

fn outage() {
    const DOWN: f64 = 2.0;
    const UP: f64 = 32.0;
    println!("\n2. a 30 s outage ({DOWN} s to {UP} s) in a 40 s run, {THREADS} threads");
    let mut results = Vec::new();
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
                    count_probes_from(s);
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
        let probes = match side {
            "apiretry" => in_outage(&PROBES.lock().unwrap()),
            _ => 0,
        };
        let first = counts
            .successes_at
            .iter()
            .copied()
            .filter(|t| *t >= UP)
            .fold(f64::INFINITY, f64::min)
            - UP;
        println!(
            "  {side:<9} {failed:>4} failed requests during the outage = {:.2} per thread (+ {probes} health probes); first success {first:.2} s after recovery",
            failed as f64 / THREADS as f64,
        );
        results.push((failed, probes, first));
    }
    if let [(ours, probes, our_first), (theirs, _, their_first)] = results[..] {
        println!(
            "  ratios apiretry / urllib3: failed requests {:.2} ({:.2} with the probes), first success after recovery {:.2}",
            ours as f64 / theirs as f64,
            (ours + probes) as f64 / theirs as f64,
            our_first / their_first
        );
    }
}

/// Per phase: API calls that succeeded, and their latencies (ms).
#[derive(Default)]
struct Phase {
    api_ok: usize,
    api_ms: Vec<f64>,
    uploads_ok: usize,
}

fn two_origins() {
    const PHASE: f64 = 5.0;
    const PER_SIDE: usize = THREADS / 2;
    println!(
        "\n3. two origins in one client: {PER_SIDE} threads call the API and {PER_SIDE} upload to S3; \
         {PHASE} s with S3 up, then {PHASE} s with S3 down"
    );
    let api = MockServer::start().unwrap();
    let s3 = MockServer::start().unwrap();
    api.script("GET", "/assets/:id", [Reply::json(200, "{}")]);
    api.script("GET", "/health", [Reply::status(204)]);
    s3.script("PUT", "/bucket/:part", [Reply::status(200)]);
    s3.script("HEAD", "/", [Reply::status(403)]);
    // No rate limit on the API side: its latency is then the wire's, and
    // any hold from the S3 side would show.
    let client = Client::builder(api.url()).health_path("/health").build();
    let phases: Arc<Mutex<[Phase; 2]>> = Arc::default();
    let start = Instant::now();
    let phase_of = move || usize::from(start.elapsed().as_secs_f64() >= PHASE);
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let (c, phases, stop) = (client.clone(), phases.clone(), stop.clone());
            let part = format!("{}/bucket/p{i}", s3.url());
            std::thread::spawn(move || {
                let s3_profile = Profile::builtin("s3").unwrap().clone();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let phase = phase_of();
                    if i % 2 == 0 {
                        let ok = c.send(&Request::get("/assets/1").expect(200)).is_ok();
                        let mut p = phases.lock().unwrap();
                        if ok && phase_of() == phase {
                            p[phase].api_ok += 1;
                            p[phase].api_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                    } else {
                        let req = Request::put(part.clone())
                            .profile(s3_profile.clone())
                            .class(RequestClass::ChunkUpload)
                            .without_authorization()
                            .body(vec![0u8; 64 << 10]);
                        let ok = c.send(&req).is_ok();
                        if ok && phase_of() == phase {
                            phases.lock().unwrap()[phase].uploads_ok += 1;
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(PHASE));
    s3.set_down(true);
    std::thread::sleep(Duration::from_secs_f64(PHASE));
    stop.store(true, Ordering::Relaxed);
    s3.set_down(false);
    for t in threads {
        t.join().unwrap();
    }
    let mut p = phases.lock().unwrap();
    let pct = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let [up, down] = &mut *p;
    let (up_p50, up_p99) = (pct(&mut up.api_ms, 0.5), pct(&mut up.api_ms, 0.99));
    let (down_p50, down_p99) = (pct(&mut down.api_ms, 0.5), pct(&mut down.api_ms, 0.99));
    println!(
        "  S3 up:   {} API calls ({:.1}/s), p50 {up_p50:.2} ms, p99 {up_p99:.2} ms; {} uploads",
        up.api_ok,
        up.api_ok as f64 / PHASE,
        up.uploads_ok
    );
    println!(
        "  S3 down: {} API calls ({:.1}/s), p50 {down_p50:.2} ms, p99 {down_p99:.2} ms; {} uploads",
        down.api_ok,
        down.api_ok as f64 / PHASE,
        down.uploads_ok
    );
    println!(
        "  ratios S3 down / S3 up: API calls {:.2}, API p50 latency {:.2}, p99 {:.2}",
        down.api_ok as f64 / up.api_ok.max(1) as f64,
        down_p50 / up_p50,
        down_p99 / up_p99
    );
}

/// A server limit the client is not told, in the same run for each side:
/// `limit(t)` req/s at second t (set on the mock as it changes). Prints
/// goodput as a share of what the limit allowed, the share of requests
/// answered 429, and the 429s after `quiet_after` seconds.
/// Whether the limit is an API's (429 with `Retry-After`, urllib3 the peer)
/// or S3's (503 `SlowDown`, the `s3` profile, boto3's adaptive mode the peer).
#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    /// 429 with `Retry-After`: the time to the next token, or always the
    /// seconds given.
    Api(Option<u64>),
    S3,
}

fn unknown_limit(name: &str, seconds: f64, burst: u32, limit: fn(f64) -> f64, quiet_after: f64) {
    limit_scenario(name, Dialect::Api(None), seconds, burst, limit, quiet_after);
}

fn limit_scenario(
    name: &str,
    dialect: Dialect,
    seconds: f64,
    burst: u32,
    limit: fn(f64) -> f64,
    quiet_after: f64,
) {
    println!("\n{name}, {THREADS} threads, {seconds} s, the limit not told to the client");
    // What the limit let through: its rate over the run, and the burst once.
    let allowed: f64 = (0..(seconds * 100.0) as usize)
        .map(|i| limit(i as f64 / 100.0) / 100.0)
        .sum::<f64>()
        + f64::from(burst);
    let peer = match dialect {
        Dialect::Api(_) => "urllib3",
        Dialect::S3 => "boto3 adaptive",
    };
    for side in ["apiretry", "apiretry, rate not learned", peer] {
        let server = MockServer::start().unwrap();
        let path = match dialect {
            Dialect::Api(_) => "/assets/1",
            Dialect::S3 => "/bucket/clip.mov",
        };
        server.script("GET", path, [Reply::status(200).body("0123456789")]);
        let set_limit = |rate: f64| {
            server.rate_limit(rate, burst);
            server.rate_limit_slowdown(dialect == Dialect::S3);
            if let Dialect::Api(wait) = dialect {
                server.rate_limit_retry_after(wait);
            }
        };
        set_limit(limit(0.0));
        let url = format!("{}{path}", server.url());
        let current = Mutex::new(limit(0.0));
        let follow = |t: f64| {
            let want = limit(t);
            let mut now = current.lock().unwrap();
            if want != *now {
                *now = want;
                set_limit(want);
            }
        };
        let counts = match side {
            "urllib3" | "boto3 adaptive" => {
                let counts = match dialect {
                    Dialect::Api(_) => urllib3_side(&url, seconds, follow),
                    Dialect::S3 => boto3_side(&server.url(), seconds, follow),
                };
                match counts {
                    Some(c) => c,
                    None => {
                        println!(
                            "  {side}: not run (python3 with urllib3, or .ci/moto-venv for boto3)"
                        );
                        continue;
                    }
                }
            }
            _ => apiretry_side(
                |c, s| {
                    let profile = match dialect {
                        Dialect::Api(_) => "generic",
                        Dialect::S3 => "s3",
                    };
                    let b = Client::builder(server.url())
                        .profile(Profile::builtin(profile).unwrap().clone())
                        .observer(recording(c, s));
                    match side {
                        "apiretry" => b.build(),
                        _ => b.without_adaptive_rate().build(),
                    }
                },
                &url,
                seconds,
                follow,
            ),
        };
        let sent = server.requests();
        let refusal = match dialect {
            Dialect::Api(_) => 429,
            Dialect::S3 => 503,
        };
        let limited = sent.iter().filter(|r| r.status == Some(refusal)).count();
        let late = sent
            .iter()
            .filter(|r| r.status == Some(refusal) && r.at.as_secs_f64() > quiet_after)
            .count();
        let ok = counts
            .successes_at
            .iter()
            .filter(|t| **t <= seconds)
            .count() as f64;
        println!(
            "  {side:<27} goodput {:.3} of the limit ({ok} of {allowed:.0}); {limited} of {} requests answered {refusal} ({:.1}%), {late} after {quiet_after} s",
            ok / allowed,
            sent.len(),
            100.0 * limited as f64 / sent.len().max(1) as f64
        );
        let phases = phases(seconds, limit);
        if phases.len() > 1 {
            let shares: Vec<String> = phases
                .iter()
                .map(|&(from, to, rate)| {
                    let ok = counts
                        .successes_at
                        .iter()
                        .filter(|t| (from..to).contains(*t))
                        .count() as f64;
                    format!(
                        "{from:.0}-{to:.0} s at {rate}/s {:.2}",
                        ok / (rate * (to - from))
                    )
                })
                .collect();
            println!("  {:<27} per phase: {}", "", shares.join(", "));
        }
    }
}

/// The spans of `seconds` over which `limit` holds one value: (from, to,
/// requests a second).
fn phases(seconds: f64, limit: fn(f64) -> f64) -> Vec<(f64, f64, f64)> {
    let mut spans: Vec<(f64, f64, f64)> = Vec::new();
    for i in 0..(seconds * 100.0) as usize {
        let t = i as f64 / 100.0;
        match spans.last_mut() {
            Some(last) if last.2 == limit(t) => last.1 = t + 0.01,
            _ => spans.push((t, t + 0.01, limit(t))),
        }
    }
    spans
}

fn learned_rates(run: impl Fn(&str) -> bool) {
    if run("unknown_limit") {
        unknown_limit("4. an unknown 50 req/s limit", 10.0, 5, |_| 50.0, 5.0);
    }
    if run("changing_limit") {
        unknown_limit(
            "5. a limit changing 50 -> 10 -> 50 req/s, 5 s each",
            15.0,
            5,
            |t| if (5.0..10.0).contains(&t) { 10.0 } else { 50.0 },
            10.0,
        );
    }
    if run("s3_limit") {
        limit_scenario(
            "7. S3 answering SlowDown over an unknown 50 req/s",
            Dialect::S3,
            10.0,
            5,
            |_| 50.0,
            5.0,
        );
    }
    if run("constant_wait_limit") {
        limit_scenario(
            "8. a constant Retry-After: 2 over 2 req/s (burst 40), as Shopify's REST API",
            Dialect::Api(Some(2)),
            30.0,
            40,
            |_| 2.0,
            15.0,
        );
    }
    if run("keyed_limit") {
        unknown_limit(
            "6. a keyed API: 20 requests a minute (burst 20), Retry-After",
            120.0,
            20,
            |_| 20.0 / 60.0,
            60.0,
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let run = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    if run("goodput") {
        goodput();
    }
    if run("outage") {
        outage();
    }
    if run("two_origins") {
        two_origins();
    }
    learned_rates(run);
}
