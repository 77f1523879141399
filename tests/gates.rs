//! The authorization and connectivity gates, against the mock server.

#![cfg(feature = "mock")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{
    ApiError, Backoff, CancelToken, Client, ClientBuilder, ClientState, Clock, Event, Jitter, Kind,
    Policy, Profile, Request, Retry, Secret, Step, SystemClock, VirtualClock,
};

/// A c2c client with virtual backoff, fast health polling, and a record of
/// the state changes it reports.
fn builder(server: &MockServer) -> (ClientBuilder, Arc<Mutex<Vec<ClientState>>>) {
    let states: Arc<Mutex<Vec<ClientState>>> = Arc::default();
    let log = states.clone();
    let b = Client::builder(server.url())
        .profile(Profile::builtin("c2c").unwrap().clone())
        .clock(Arc::new(VirtualClock::new()))
        .health_path("/health")
        .health_backoff(
            Backoff::default()
                .with_base(Duration::from_millis(20))
                .with_cap(Duration::from_millis(100))
                .with_jitter(Jitter::None),
        )
        .state_observer(move |s| log.lock().unwrap().push(s));
    (b, states)
}

fn bearer(server: &MockServer) -> Vec<Option<String>> {
    server
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect()
}

#[test]
fn unauthorized_refresh_then_success() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/me", [Reply::json(200, "{}")]);
    server.require_token(Some("new"));
    let refreshes = Arc::new(AtomicUsize::new(0));
    let count = refreshes.clone();
    let (b, states) = builder(&server);
    let client = b
        .token(Secret::new("old"))
        .refresh(move || {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(Secret::new("new"))
        })
        .build();
    client.send(&Request::get("/me").expect(200)).unwrap();
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(
        bearer(&server),
        [Some("Bearer old".into()), Some("Bearer new".into())]
    );
    assert_eq!(*states.lock().unwrap(), [ClientState::Authorized]);
}

#[test]
fn only_one_thread_refreshes() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/me", [Reply::json(200, "{}")]);
    server.require_token(Some("new"));
    let refreshes = Arc::new(AtomicUsize::new(0));
    let count = refreshes.clone();
    let (b, _) = builder(&server);
    let client = b
        .token(Secret::new("old"))
        .refresh(move || {
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(100));
            Ok(Secret::new("new"))
        })
        .build();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            std::thread::spawn(move || c.send(&Request::get("/me").expect(200)).map(|_| ()))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
}

#[test]
fn failed_refresh_requires_authorization_until_new_credentials() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/me", [Reply::json(200, "{}")]);
    server.require_token(Some("fresh"));
    let (b, states) = builder(&server);
    let client = b
        .token(Secret::new("old"))
        .refresh(|| Err(ApiError::new(Kind::InvalidGrant).with_code("invalid_grant")))
        .build();
    let err = client.send(&Request::get("/me")).unwrap_err();
    assert_eq!((err.kind, err.retry), (Kind::Unauthorized, Retry::No));
    assert!(err.message.contains("authorization required"), "{err}");
    assert_eq!(server.requests().len(), 1);

    // Calls now fail fast, without touching the network.
    let err = client.send(&Request::get("/me")).unwrap_err();
    assert!(err.message.contains("authorization required"), "{err}");
    assert_eq!(server.requests().len(), 1);

    client.set_token(Secret::new("fresh"));
    client.send(&Request::get("/me").expect(200)).unwrap();
    assert_eq!(
        *states.lock().unwrap(),
        [ClientState::AuthorizationRequired, ClientState::Authorized]
    );
}

#[test]
fn without_a_refresh_unauthorized_is_final() {
    let server = MockServer::start().unwrap();
    server.require_token(Some("good"));
    let (b, _) = builder(&server);
    let client = b.token(Secret::new("bad")).build();
    let err = client.send(&Request::get("/me")).unwrap_err();
    assert_eq!(
        (err.kind, err.retry, server.requests().len()),
        (Kind::Unauthorized, Retry::No, 1)
    );
}

#[test]
fn server_down_then_back_calls_wait_and_resume() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/x", [Reply::json(200, "{}")]);
    server.script("GET", "/health", [Reply::status(204)]);
    let failures = Arc::new(AtomicUsize::new(0));
    let seen = failures.clone();
    let (b, states) = builder(&server);
    let client = b
        .observer(Arc::new(move |e: &Event<'_>| {
            if matches!(e.step, Step::Retry(_) | Step::GiveUp(_)) {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        }))
        .build();
    server.set_down(true);
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            std::thread::spawn(move || c.send(&Request::get("/x").expect(200)).map(|r| r.status()))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    assert!(client.is_disconnected());
    // Calls wait at the gate: each failed at most once before waiting.
    assert!(
        failures.load(Ordering::SeqCst) <= 4,
        "{} failures while down",
        failures.load(Ordering::SeqCst)
    );
    server.set_down(false);
    for c in calls {
        assert_eq!(c.join().unwrap().unwrap(), 200);
    }
    assert!(!client.is_disconnected());
    assert_eq!(
        *states.lock().unwrap(),
        [ClientState::Disconnected, ClientState::Connected]
    );
    assert!(server.requests().iter().any(|r| r.path == "/health"));
}

#[test]
fn waiting_at_the_gate_is_cancellable_and_bounded_by_the_deadline() {
    let server = MockServer::start().unwrap();
    let (b, _) = builder(&server);
    // Real time: the probes' pauses go through the client's clock, and on
    // virtual time they would pass the deadline before the gate could.
    let client = b
        .clock(Arc::new(SystemClock))
        .policy(
            Policy::default()
                .with_deadline(Duration::from_millis(300))
                .with_backoff(Backoff::default().with_base(Duration::from_millis(10))),
        )
        .health_backoff(Backoff::default().with_base(Duration::from_secs(60)))
        .build();
    server.set_down(true);
    let started = Instant::now();
    let err = client.send(&Request::get("/x")).unwrap_err();
    // The first attempt fails and closes the gate; the retry waits there
    // until the deadline.
    assert_eq!(err.kind, Kind::DeadlineExceeded, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let cancel = CancelToken::new();
    let c = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        c.cancel();
    });
    let started = Instant::now();
    let (b, _) = builder(&server);
    let client = b
        .health_backoff(Backoff::default().with_base(Duration::from_secs(60)))
        .build();
    let err = client
        .send_cancellable(&Request::get("/x"), &cancel)
        .unwrap_err();
    assert_eq!(err.kind, Kind::Cancelled, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// A refresh that sends an authorized request through its own client would
/// wait for the refresh it is part of: that nested call fails at once.
#[test]
fn an_authorized_call_from_inside_the_refresh_fails_instead_of_hanging() {
    let server = MockServer::start().unwrap();
    server.script(
        "GET",
        "/x",
        [
            Reply::detailed(401, "Not Authorized", "expired"),
            Reply::json(200, "{}"),
        ],
    );
    server.script("POST", "/token", [Reply::json(200, "{}")]);
    let cell: Arc<std::sync::OnceLock<apiretry::Client>> = Arc::default();
    let nested: Arc<Mutex<Vec<Kind>>> = Arc::default();
    let (c2, n2) = (cell.clone(), nested.clone());
    let (b, _) = builder(&server);
    let client = b
        .token(Secret::new("old"))
        .refresh(move || {
            let c = c2.get().expect("built");
            // Authorized: refused at once. Unauthorized: goes through.
            let authorized = c.send(&Request::post("/token")).unwrap_err();
            n2.lock().unwrap().push(authorized.kind);
            c.send(&Request::post("/token").without_authorization())?;
            Ok(Secret::new("new"))
        })
        .build();
    assert!(cell.set(client.clone()).is_ok());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(client.send(&Request::get("/x")).map(|r| r.status())));
    let outcome = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the call hung in its own refresh");
    assert_eq!(outcome.unwrap(), 200);
    assert_eq!(*nested.lock().unwrap(), [Kind::Application]);
}

/// Virtual time that ends the server's outage of resets once `up_at` has
/// passed: the probes' pauses and the call's backoff advance it.
#[derive(Debug)]
struct OutageClock {
    clock: VirtualClock,
    up_at: Duration,
    server: Arc<MockServer>,
}

impl Clock for OutageClock {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn sleep(&self, duration: Duration, cancel: &CancelToken) -> bool {
        let slept = self.clock.sleep(duration, cancel);
        if self.clock.elapsed() >= self.up_at {
            self.server.set_resetting(false);
        }
        slept
    }
}

/// Seed 001's backoff for probes: one call with the default policy through
/// a 30 s outage of resets opens at most 12 connections in it (attempts and
/// probes together), never probes faster than the schedule while it waits,
/// and succeeds within 10 s of the host's return. Five runs, five draws of
/// the jitter.
#[test]
fn a_call_through_a_30_s_outage_follows_the_seed_backoff() {
    const OUTAGE: Duration = Duration::from_secs(30);
    for run in 0..5 {
        let server = Arc::new(MockServer::start().unwrap());
        server.script("GET", "/x", [Reply::json(200, "{}")]);
        server.set_resetting(true);
        let clock = Arc::new(OutageClock {
            clock: VirtualClock::new(),
            up_at: OUTAGE,
            server: server.clone(),
        });
        let client = Client::builder(server.url()).clock(clock.clone()).build();
        let status = client
            .send(&Request::get("/x").expect(200))
            .map(|r| r.status());
        assert_eq!(status.unwrap(), 200, "run {run}");
        let back_after = clock.clock.elapsed().saturating_sub(OUTAGE);
        let resets = server.resets();
        let mut sleeps = clock.clock.sleeps();
        sleeps.sort();
        // The call's one backoff sleep (0.5-0.75 s) and the probes' pauses:
        // none shorter than seed 001's delays capped at 6 s (jitter only adds).
        let floor = [500, 500, 1000, 2000, 4000, 6000, 6000, 6000, 6000, 6000];
        for (slept, least) in sleeps.iter().zip(floor) {
            assert!(
                *slept >= Duration::from_millis(least),
                "run {run}: {sleeps:?}"
            );
        }
        assert!(
            resets <= 12,
            "run {run}: {resets} connections during the outage"
        );
        // Virtual time counts the call's backoff sleep on top of the probes'
        // pauses, so this overstates the wait by up to 0.75 s.
        assert!(
            back_after <= Duration::from_secs(10),
            "run {run}: success {back_after:?} after the host's return ({sleeps:?})"
        );
        eprintln!(
            "run {run}: {resets} connections during the outage, success {back_after:?} after"
        );
    }
}

/// Every cancelled call ends with exactly one terminal event, `cancelled`,
/// wherever it waited: at the authorization gate while a refresh runs, or
/// at a closed connectivity gate. 8 threads, 16 cancellations.
#[test]
fn cancelled_calls_end_with_one_cancelled_event() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/me", [Reply::json(200, "{}")]);
    server.require_token(Some("new"));
    let down = MockServer::start().unwrap();
    down.script("GET", "/:any", [Reply::reset()]);
    let steps: Arc<Mutex<Vec<Step>>> = Arc::default();
    let log = steps.clone();
    let observer = Arc::new(move |e: &Event<'_>| log.lock().unwrap().push(e.step));
    // The refresh takes long enough for every other call to wait for it.
    let (b, _) = builder(&server);
    let refreshing = b
        .token(Secret::new("old"))
        .refresh(|| {
            std::thread::sleep(Duration::from_millis(600));
            Ok(Secret::new("new"))
        })
        .observer(observer.clone())
        .build();
    // A gate that stays closed: its probe is reset too.
    let (b, _) = builder(&down);
    let gated = b
        .health_path("/reset")
        .health_backoff(Backoff::default().with_base(Duration::from_secs(60)))
        .observer(observer)
        .build();
    let first = {
        let c = refreshing.clone();
        std::thread::spawn(move || c.send(&Request::get("/me")).map(|r| r.status()))
    };
    let once = Request::get("/reset").policy(Policy::default().with_max_attempts(1));
    assert_eq!(gated.send(&once).unwrap_err().kind, Kind::Connection);
    assert!(gated.is_disconnected());
    std::thread::sleep(Duration::from_millis(100)); // the refresh is under way
    steps.lock().unwrap().clear();
    let calls: Vec<_> = (0..8)
        .flat_map(|i| [(refreshing.clone(), i), (gated.clone(), i)])
        .map(|(c, i)| {
            let cancel = CancelToken::new();
            let canceller = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50 + 10 * i));
                canceller.cancel();
            });
            std::thread::spawn(move || c.send_cancellable(&Request::get("/me"), &cancel))
        })
        .collect();
    let kinds: Vec<Kind> = calls
        .into_iter()
        .map(|t| t.join().unwrap().unwrap_err().kind)
        .collect();
    assert_eq!(kinds, [Kind::Cancelled; 16]);
    assert_eq!(*steps.lock().unwrap(), [Step::Cancelled; 16]);
    assert_eq!(first.join().unwrap().unwrap(), 200);
}
