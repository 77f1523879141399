//! 64 threads, many calls, a server injecting random faults: every call
//! returns, nothing deadlocks, and no token reaches any log line.

#![cfg(feature = "mock")]

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiretry::mock::{MockServer, Reply};
use apiretry::{Backoff, Client, LogObserver, Policy, Profile, Request, Secret, VirtualClock};

const TOKEN: &str = "sk-live-7f3a9c2e";

/// Captures every log line of the process.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", record.target(), record.args()));
    }
    fn flush(&self) {}
}

static LOG: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn sixty_four_threads_with_random_faults() {
    log::set_logger(&LOG).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let server = MockServer::start().unwrap();
    let mut rng = fastrand::Rng::with_seed(64);
    let faults: Vec<Reply> = (0..2000)
        .map(|_| match rng.u8(0..20) {
            0..=11 => Reply::json(200, "{}"),
            12 | 13 => Reply::status(500),
            14 => Reply::status(503),
            15 => Reply::reset(),
            16 => Reply::close_before_headers(),
            17 => Reply::simple(429, "slow_down"),
            18 => Reply::detailed(409, "Channel Paused", "paused"),
            _ => Reply::status(200).body("partial").truncated(3),
        })
        .chain([Reply::json(200, "{}")])
        .collect();
    server.script("GET", "/assets/:id", faults);
    server.script("GET", "/health", [Reply::status(204)]);

    let client = Client::builder(server.url())
        .profile(Profile::builtin("c2c").unwrap().clone())
        .token(Secret::new(TOKEN))
        .policy(Policy::default().with_max_attempts(4))
        .clock(Arc::new(VirtualClock::new()))
        .health_path("/health")
        .health_backoff(
            Backoff::default()
                .with_base(Duration::from_millis(5))
                .with_cap(Duration::from_millis(20)),
        )
        .without_rate_limit()
        .observer(Arc::new(LogObserver))
        .build();

    let (done, results) = mpsc::channel();
    for t in 0..64 {
        let c = client.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            for i in 0..20 {
                let r = c.send(&Request::get(format!("/assets/{t}-{i}")));
                log::info!("call {t}-{i}: {:?}", r.as_ref().map(|r| r.status()));
                if let Err(e) = &r {
                    log::warn!("call {t}-{i} failed: {e} / {e:?}");
                }
                done.send(r.is_ok()).unwrap();
            }
        });
    }
    drop(done);
    let mut returned = 0;
    while returned < 64 * 20 {
        match results.recv_timeout(Duration::from_secs(60)) {
            Ok(_) => returned += 1,
            Err(e) => panic!("only {returned} of 1280 calls returned ({e:?}): deadlock?"),
        }
    }
    let lines = LOG.0.lock().unwrap();
    assert!(lines.len() > 1280, "the log captured {} lines", lines.len());
    let leaks: Vec<&String> = lines.iter().filter(|l| l.contains(TOKEN)).collect();
    assert!(
        leaks.is_empty(),
        "token in {} log lines, e.g. {:?}",
        leaks.len(),
        leaks.first()
    );
    // The token did go out on the wire.
    assert!(server
        .requests()
        .iter()
        .any(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}"))));
}
