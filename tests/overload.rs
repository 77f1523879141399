//! The overload gate over TCP, against the mock server's shedding mode:
//! a service that answers but refuses everything holds the client's calls
//! while one trial at a time goes; a request that asks not to wait fails
//! as `held_back` without being sent; occasional refusals or 500s hold
//! nothing back.

#![cfg(feature = "mock")]

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{
    Backoff, Client, ClientState, Event, Jitter, Kind, Policy, Profile, Request, Retry, Step,
};

/// What a client told its observers.
#[derive(Default)]
struct Heard {
    states: Mutex<Vec<ClientState>>,
    held: Mutex<Vec<Duration>>,
}

/// A c2c client whose retries and trials back off from 100 ms (trials
/// capped at 400 ms), recording its state changes and held events.
fn client(server: &MockServer) -> (Client, Arc<Heard>) {
    let heard = Arc::new(Heard::default());
    let (s, e) = (heard.clone(), heard.clone());
    let fast = Backoff::default()
        .with_base(Duration::from_millis(100))
        .with_jitter(Jitter::None);
    let client = Client::builder(server.url())
        .profile(Profile::builtin("c2c").unwrap().clone())
        .policy(Policy::default().with_backoff(fast.clone()))
        .health_backoff(fast.with_cap(Duration::from_millis(400)))
        .state_observer(move |st| s.states.lock().unwrap().push(st))
        .observer(Arc::new(move |ev: &Event<'_>| {
            if let Step::Held(d) = ev.step {
                e.held.lock().unwrap().push(d);
            }
        }))
        .build();
    (client, heard)
}

/// Three threads call every 50 ms through 1.5 s of shedding: the gate
/// closes after three refusals (0.5 s at least), holds the calls while
/// trials go every 400 ms, opens at the first acceptance, and every call
/// succeeds. Without the gate, each thread's calls would keep retrying:
/// about 10 attempts a second.
#[test]
fn a_shedding_service_holds_calls_until_a_trial_is_accepted() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/v2/ping", [Reply::json(200, "{}")]);
    let (client, heard) = client(&server);
    let began = Instant::now();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            thread::spawn(move || {
                let mut ok = 0;
                while began.elapsed() < Duration::from_millis(3000) {
                    client.send(&Request::get("/v2/ping").expect(200)).unwrap();
                    ok += 1;
                    thread::sleep(Duration::from_millis(50));
                }
                ok
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    server.set_shedding(true);
    thread::sleep(Duration::from_millis(1500));
    assert!(client.is_overloaded());
    server.set_shedding(false);
    let calls: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(calls > 20, "{calls} calls");
    assert!(!client.is_overloaded());

    let states = heard.states.lock().unwrap().clone();
    assert_eq!(states, [ClientState::Overloaded, ClientState::Recovered]);
    assert!(!heard.held.lock().unwrap().is_empty(), "calls were held");
    // Every request sent while the service shed was refused: the streak (3
    // refusals over 0.5 s, and any answered while it grew), then one trial
    // per 400 ms at most. (Counted by their answers: a window of arrival
    // times also took in the last call accepted before the shedding.)
    let refused = server
        .requests()
        .iter()
        .filter(|r| r.status == Some(503))
        .count();
    assert!(
        (3..=12).contains(&refused),
        "{refused} requests while shedding"
    );
}

/// Once the gate is closed, a request that asks not to wait fails at once
/// as `held_back` (retry `no`, no status) and is not sent; one that waits
/// goes when the service accepts again.
#[test]
fn a_request_that_asks_not_to_wait_is_held_back() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/v2/ping", [Reply::json(200, "{}")]);
    let (client, heard) = client(&server);
    server.set_shedding(true);
    // Refused at 0, 0.1, 0.3 and 0.7 s: the fourth closes the gate.
    let four = Policy::default()
        .with_backoff(
            Backoff::default()
                .with_base(Duration::from_millis(100))
                .with_jitter(Jitter::None),
        )
        .with_max_attempts(4);
    let err = client
        .send(&Request::get("/v2/ping").policy(four))
        .unwrap_err();
    assert_eq!(err.kind, Kind::Unavailable, "{err}");
    assert!(
        client.is_overloaded(),
        "4 refusals over 0.7 s close the gate"
    );
    let sent = server.requests().len();

    let started = Instant::now();
    let err = client
        .send(&Request::get("/v2/ping").without_waiting())
        .unwrap_err();
    assert_eq!(err.kind, Kind::HeldBack, "{err}");
    assert_eq!((err.retry, err.status), (Retry::No, None));
    assert!(err.message.contains("not sent"), "{}", err.message);
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(server.requests().len(), sent, "nothing was sent");

    let waiter = thread::spawn({
        let client = client.clone();
        move || client.send(&Request::get("/v2/ping").expect(200))
    });
    thread::sleep(Duration::from_millis(300));
    server.set_shedding(false);
    waiter.join().unwrap().unwrap();
    assert_eq!(
        heard.states.lock().unwrap().clone(),
        [ClientState::Overloaded, ClientState::Recovered]
    );
}

/// Refusals and errors among acceptances hold nothing back: one device's
/// calls meeting every third answer 500, or every third 503, or 429s
/// from a rate limit that accepts some.
#[test]
fn occasional_failures_do_not_hold_calls_back() {
    let rows = [
        ("every third answer 500", Reply::json(500, "{}")),
        (
            "every third answer 503",
            Reply::json(503, "{\"error\":\"unavailable\"}"),
        ),
        (
            "every third answer 429",
            Reply::json(429, "{\"error\":\"slow_down\"}"),
        ),
    ];
    for (what, failure) in rows {
        let server = MockServer::start().unwrap();
        let mut replies = Vec::new();
        for _ in 0..20 {
            replies.extend([
                failure.clone(),
                Reply::json(200, "{}"),
                Reply::json(200, "{}"),
            ]);
        }
        server.script("GET", "/v2/ping", replies);
        let (client, heard) = client(&server);
        let ok = (0..20)
            .filter(|_| client.send(&Request::get("/v2/ping").expect(200)).is_ok())
            .count();
        // (Some fail once the retry budget is spent: another mechanism's.)
        assert!(ok >= 10, "{what}: {ok} of 20");
        assert!(heard.states.lock().unwrap().is_empty(), "{what}");
        assert!(heard.held.lock().unwrap().is_empty(), "{what}");
    }
}

/// Closes `client`'s gate for the shedding `server`: four refusals of one
/// call over 0.7 s. The number of requests sent so far.
fn close_the_gate(server: &MockServer, client: &Client) -> usize {
    server.set_shedding(true);
    let four = Policy::default()
        .with_backoff(
            Backoff::default()
                .with_base(Duration::from_millis(100))
                .with_jitter(Jitter::None),
        )
        .with_max_attempts(4);
    let _ = client.send(&Request::get("/v2/ping").policy(four));
    assert!(client.is_overloaded());
    server.requests().len()
}

/// Rows: a call whose wait for the network is spent (one attempt: none)
/// at a closed overload gate is refused as `held_back` and not sent: it
/// never bypasses a service shedding load. (One with a little left, 0.75
/// s with two attempts, is held, and goes only if a trial falls due.)
#[test]
fn a_call_out_of_patience_is_held_back_and_not_sent() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/v2/ping", [Reply::json(200, "{}")]);
    let (client, _) = client(&server);
    let sent = close_the_gate(&server, &client);
    let rows = [
        ("one attempt", Policy::default().with_max_attempts(1)),
        (
            "no network wait",
            Policy::default().with_network_wait(Duration::ZERO),
        ),
    ];
    for (what, policy) in rows {
        let err = client
            .send(&Request::get("/v2/ping").policy(policy))
            .unwrap_err();
        assert_eq!(err.kind, Kind::HeldBack, "{what}: {err}");
        assert!(err.message.contains("not sent"), "{what}: {}", err.message);
    }
    assert_eq!(server.requests().len(), sent, "nothing was sent");
}

/// A trial request whose body panics (a caller's reader) releases the
/// trial as it unwinds: the next call goes as the trial as soon as one is
/// due, instead of waiting for a trial that never ends.
#[test]
fn a_trial_that_panics_lets_the_next_one_go() {
    let server = MockServer::start().unwrap();
    server.script("PUT", "/v2/ping", [Reply::json(200, "{}")]);
    server.script("GET", "/v2/ping", [Reply::json(200, "{}")]);
    let (client, _) = client(&server);
    close_the_gate(&server, &client);
    let panicking = Request::put("/v2/ping").body_reader(
        || -> std::io::Result<Box<dyn std::io::Read + Send>> {
            panic!("the caller's reader panicked")
        },
    );
    let c = client.clone();
    let unwound = thread::spawn(move || c.send(&panicking)).join();
    assert!(unwound.is_err(), "the panic reached the caller");
    server.set_shedding(false);
    let deadline = Policy::default().with_deadline(Duration::from_secs(2));
    let started = Instant::now();
    client
        .send(&Request::get("/v2/ping").policy(deadline).expect(200))
        .unwrap();
    // A trial is due within 400 ms of the last; a lost one held it for ever.
    assert!(started.elapsed() < Duration::from_millis(900));
    assert!(!client.is_overloaded());
}
