//! The overload gate per route, over TCP, with Frame.io-like limits: one
//! route at 5 requests a second (asset creation) pressed by 8 threads,
//! while the API's other routes are called 20 times a second. The pressed
//! route closes its own gate; the others hold no call and add no latency.

#![cfg(feature = "mock")]

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{CancelToken, Client, Event, Request, Step};

thread_local! {
    /// Set on the threads calling the routes that are not pressed.
    static OTHER: Cell<bool> = const { Cell::new(false) };
}

/// Held calls, counted by the kind of thread that made them.
#[derive(Default)]
struct Held {
    pressed: AtomicUsize,
    other: AtomicUsize,
}

fn client(server: &MockServer, held: Arc<Held>) -> Client {
    Client::builder(server.url())
        .observer(Arc::new(move |ev: &Event<'_>| {
            if let Step::Held(_) = ev.step {
                let n = match OTHER.with(Cell::get) {
                    true => &held.other,
                    false => &held.pressed,
                };
                n.fetch_add(1, Ordering::Relaxed);
            }
        }))
        .build()
}

/// 2 threads, each calling the other routes 10 times a second for `span`:
/// each call's latency, in microseconds.
fn other_routes(client: &Client, span: Duration) -> Vec<u128> {
    let workers: Vec<_> = (0..2)
        .map(|t| {
            let client = client.clone();
            thread::spawn(move || {
                OTHER.with(|o| o.set(true));
                let (start, mut took) = (Instant::now(), Vec::new());
                let mut i = 0;
                while start.elapsed() < span {
                    let url = match i % 2 {
                        0 => format!("/v2/assets/{}", 1000 + t * 100 + i),
                        _ => "/v2/me".to_owned(),
                    };
                    let sent = Instant::now();
                    client.send(&Request::get(&url).expect(200)).unwrap();
                    took.push(sent.elapsed().as_micros());
                    i += 1;
                    thread::sleep(Duration::from_millis(100).saturating_sub(sent.elapsed()));
                }
                took
            })
        })
        .collect();
    workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect()
}

fn p99(mut v: Vec<u128>) -> u128 {
    v.sort_unstable();
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

/// How the pressed route refuses.
enum Limit {
    /// A token bucket of its own, as Frame.io's 5 a second on asset
    /// creation: it accepts some, and the route's learned rate paces it.
    PerSecond(f64),
    /// It refuses every call (503): its own gate closes.
    Down,
}

/// Rows: (how the pressed route refuses, whether its calls are held).
/// The other routes' p99 latency with nobody pressing, then with 8 threads
/// pressing the limited route (in the same run): within 10 ms, and none
/// of their calls held; the origin's gate never closed.
#[test]
fn a_limited_route_holds_back_only_itself() {
    let rows = [
        ("5 a second", Limit::PerSecond(5.0), false),
        ("refusing everything", Limit::Down, true),
    ];
    for (what, limit, held_there) in rows {
        let server = MockServer::start().unwrap();
        let created = match limit {
            Limit::PerSecond(rate) => {
                server.rate_limit_route("POST", "/v2/devices/:id/assets", rate, 5);
                Reply::json(201, "{}")
            }
            Limit::Down => Reply::json(503, "{\"error\":\"unavailable\"}"),
        };
        server.script("POST", "/v2/devices/:id/assets", [created]);
        server.script("GET", "/v2/assets/:id", [Reply::json(200, "{}")]);
        server.script("GET", "/v2/me", [Reply::json(200, "{}")]);
        let held = Arc::new(Held::default());
        let client = client(&server, held.clone());
        let span = Duration::from_secs(3);

        let alone = p99(other_routes(&client, span));
        // Cancelled at the end: a held call wakes at once.
        let stop = CancelToken::new();
        let pressing: Vec<_> = (0..8)
            .map(|_| {
                let (client, stop) = (client.clone(), stop.clone());
                thread::spawn(move || {
                    while !stop.is_cancelled() {
                        let create = Request::post("/v2/devices/7/assets").expect(201);
                        let _ = client.send_cancellable(&create, &stop);
                    }
                })
            })
            .collect();
        thread::sleep(Duration::from_secs(1));
        let beside = p99(other_routes(&client, span));
        let overloaded = client.is_overloaded();
        stop.cancel();
        pressing.into_iter().for_each(|p| p.join().unwrap());

        let log = server.requests();
        if std::env::var("DEBUG_ROUTES").is_ok() {
            for r in &log {
                eprintln!(
                    "{:>6} {:>4} {} {:?}",
                    r.at.as_millis(),
                    r.connection,
                    r.path,
                    r.status
                );
            }
        }
        let count = |s| {
            log.iter()
                .filter(|r| r.path.starts_with("/v2/devices") && r.status == Some(s))
                .count()
        };
        let (pressed, other) = (
            held.pressed.load(Ordering::Relaxed),
            held.other.load(Ordering::Relaxed),
        );
        // The pressed route's requests in the last 3 s (its gate closed:
        // one trial at a time), against its first second.
        let end = log.last().map_or(Duration::ZERO, |r| r.at);
        let late = log
            .iter()
            .filter(|r| r.path.starts_with("/v2/devices") && r.at + span > end)
            .count();
        println!(
            "{what}: other routes' p99 {alone} us alone, {beside} us beside; pressed route: \
             {} accepted, {} refused ({late} sent in the last 3 s), {pressed} calls held; \
             other routes' calls held: {other}",
            count(201),
            count(429) + count(503),
        );
        assert_eq!(other, 0, "{what}: other routes' calls held");
        assert_eq!(
            pressed > 0,
            held_there,
            "{what}: {pressed} of the pressed route's calls held"
        );
        assert!(!overloaded, "{what}: the origin's gate closed");
        assert!(
            beside <= alone + 10_000,
            "{what}: p99 {beside} us against {alone} us alone"
        );
    }
}
