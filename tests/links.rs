//! Links as devices see them, against the mock server over TCP: the
//! application's link-change hint (`Client::network_changed`), pooled
//! connections the server closed while idle, and a peer that reads slowly.

#![cfg(feature = "mock")]

use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{Backoff, CancelToken, Client, Clock, Event, Jitter, Request, Step, VirtualClock};

/// Probes 10 s apart: without a hint, nothing reaches a returned origin for
/// seconds.
fn client(server: &MockServer) -> Client {
    Client::builder(server.url())
        .health_path("/health")
        .health_backoff(
            Backoff::default()
                .with_base(Duration::from_secs(10))
                .with_jitter(Jitter::None),
        )
        .build()
}

/// A call through an outage of resets: rows (hint at the return) -> the
/// call is through within 0.5 s of it, or still held 1 s after the return.
#[test]
fn a_hint_at_the_return_lets_held_calls_through_at_once() {
    for hint in [true, false] {
        let server = MockServer::start().unwrap();
        server.script("GET", "/x", [Reply::json(200, "{}")]);
        server.script("GET", "/health", [Reply::status(204)]);
        let client = client(&server);
        server.set_resetting(true);
        let (done, finished) = mpsc::channel();
        let c = client.clone();
        std::thread::spawn(move || {
            let status = c.send(&Request::get("/x").expect(200)).map(|r| r.status());
            done.send((status, Instant::now())).unwrap();
        });
        let t = Instant::now();
        while !client.is_disconnected() {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "the gate never closed"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(700));
        server.set_resetting(false);
        if !hint {
            let held = finished.recv_timeout(Duration::from_secs(1));
            assert!(held.is_err(), "went through without a hint: {held:?}");
            assert!(client.is_disconnected());
            continue;
        }
        let hinted = Instant::now();
        client.network_changed();
        let (status, at) = finished.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(status.unwrap(), 200);
        let took = at - hinted;
        assert!(took < Duration::from_millis(500), "{took:?} after the hint");
        assert!(!client.is_disconnected());
    }
}

/// Pooled connections are not used after the hint: rows of (hint before
/// the second call) -> whether it came on a new connection.
#[test]
fn a_hint_drops_pooled_connections() {
    for (hint, new_connection) in [(false, false), (true, true)] {
        let server = MockServer::start().unwrap();
        server.script(
            "GET",
            "/x",
            [Reply::json(200, "{}"), Reply::json(200, "{}")],
        );
        let client = client(&server);
        client.send(&Request::get("/x").expect(200)).unwrap();
        if hint {
            client.network_changed();
        }
        client.send(&Request::get("/x").expect(200)).unwrap();
        let seen: Vec<u64> = server.requests().iter().map(|r| r.connection).collect();
        assert_eq!(seen[0] != seen[1], new_connection, "{hint}: {seen:?}");
        assert!(!client.is_disconnected());
    }
}

/// Virtual time through an outage of resets that ends at `up_at`: the
/// sleep that crosses it is cut there, the server comes back, and (when
/// `hint`) the application gives the hint, which ends the probe's pause.
#[derive(Debug)]
struct Outage {
    clock: VirtualClock,
    up_at: Duration,
    server: Arc<MockServer>,
    client: OnceLock<Client>,
    hint: bool,
    /// When the server came back, in real time.
    back: OnceLock<Instant>,
}

impl Clock for Outage {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn sleep(&self, duration: Duration, cancel: &CancelToken) -> bool {
        let before = self.clock.elapsed();
        if before >= self.up_at || before + duration < self.up_at {
            return self.clock.sleep(duration, cancel);
        }
        self.clock.sleep(self.up_at - before, cancel);
        self.server.set_resetting(false);
        let _ = self.back.set(Instant::now());
        if self.hint {
            self.client.get().unwrap().network_changed();
        }
        self.clock
            .sleep(before + duration - self.clock.elapsed(), cancel)
    }
}

/// One call with the default policy through a 30 s outage of resets: with
/// the hint at the return, it succeeds within 0.5 s of it (virtual time,
/// and real time, both); without, within the seed's schedule (10 s). Five
/// runs each, five draws of the jitter.
#[test]
fn a_hint_after_a_30_s_outage_ends_the_probe_pause() {
    const OUTAGE: Duration = Duration::from_secs(30);
    for (hint, within) in [(true, 500), (false, 10_000)] {
        for run in 0..5 {
            let server = Arc::new(MockServer::start().unwrap());
            server.script("GET", "/x", [Reply::json(200, "{}")]);
            server.set_resetting(true);
            let clock = Arc::new(Outage {
                clock: VirtualClock::new(),
                up_at: OUTAGE,
                server: server.clone(),
                client: OnceLock::new(),
                hint,
                back: OnceLock::new(),
            });
            let client = Client::builder(server.url()).clock(clock.clone()).build();
            clock.client.set(client.clone()).unwrap();
            let status = client.send(&Request::get("/x").expect(200));
            let real = clock.back.get().unwrap().elapsed();
            assert_eq!(status.unwrap().status(), 200, "{hint} run {run}");
            let back_after = clock.clock.elapsed().saturating_sub(OUTAGE);
            let within = Duration::from_millis(within);
            assert!(
                back_after <= within && real <= within,
                "{hint} run {run}: success {back_after:?} after the return ({real:?} real)"
            );
            eprintln!(
                "hint {hint} run {run}: success {back_after:?} after the return ({real:?} real)"
            );
        }
    }
}

/// A pooled connection the server closed while idle (its keep-alive
/// timeout) costs nothing: the pool sees it closed before writing to it,
/// and the call goes on a new connection in one attempt, no backoff. Rows:
/// (method) -> one attempt each, the second on a new connection.
#[test]
fn a_connection_the_server_closed_while_idle_costs_no_attempt() {
    for method in ["GET", "POST", "PUT"] {
        let server = MockServer::start().unwrap();
        server.set_idle_timeout(Duration::from_millis(150));
        server.script(
            method,
            "/x",
            [Reply::json(200, "{}"), Reply::json(200, "{}")],
        );
        let retries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = retries.clone();
        let client = Client::builder(server.url())
            .observer(Arc::new(move |e: &Event<'_>| {
                if matches!(e.step, Step::Retry(_)) {
                    seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }))
            .build();
        let request = Request::new(method, "/x").body(b"{}".to_vec()).expect(200);
        client.send(&request).unwrap();
        std::thread::sleep(Duration::from_millis(400));
        client.send(&request).unwrap();
        let seen: Vec<u64> = server.requests().iter().map(|r| r.connection).collect();
        assert_eq!(seen.len(), 2, "{method}: {seen:?}");
        assert_ne!(seen[0], seen[1], "{method}: a new connection");
        assert_eq!(
            retries.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "{method}"
        );
    }
}

/// A peer reading an upload slowly but steadily is no stall: 2 MiB at
/// 800 kB/s, all of it in the kernel's buffers at once, the call waiting
/// for the answer while the peer's window opens and closes (closed for
/// 80 ms at a time on loopback, whose segments are 64 KiB). With a 0.5 s
/// limit, the kernel's user timeout never ends it.
#[test]
fn a_peer_reading_an_upload_slowly_but_steadily_is_no_stall() {
    use apiretry::{Policy, StallLimits};
    let server = MockServer::start().unwrap();
    let pace = Duration::from_millis(10);
    server.script(
        "PUT",
        "/up",
        [Reply::status(200).read_slowly(8 << 10, pace)],
    );
    let c = Client::builder(server.url())
        .policy(Policy::default().with_max_attempts(1))
        .stall_limits(StallLimits::all(Duration::from_millis(500)))
        .build();
    let len = 2 << 20;
    let started = Instant::now();
    let req = Request::put("/up").body_reader_sized(len, move || {
        Ok(Box::new(std::io::Read::take(std::io::repeat(7), len)))
    });
    assert_eq!(c.send(&req).unwrap().status(), 200);
    assert_eq!(server.requests()[0].body_len, len);
    assert!(started.elapsed() > Duration::from_secs(2), "it was slow");
}
