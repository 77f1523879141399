//! Client-side rate limiting and connection use, against the mock server.

#![cfg(feature = "mock")]

use std::sync::Arc;
use std::time::Duration;

use apiretry::mock::{MockServer, Reply};
use apiretry::{Client, Profile, Request, VirtualClock};

fn client(server: &MockServer, profile: &str) -> Client {
    Client::builder(server.url())
        .profile(Profile::builtin(profile).unwrap().clone())
        .clock(Arc::new(VirtualClock::new()))
        .build()
}

fn gaps(server: &MockServer) -> Vec<Duration> {
    let at: Vec<Duration> = server.requests().iter().map(|r| r.at).collect();
    at.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn a_16_thread_burst_stays_under_the_server_limit() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/assets/:id", [Reply::json(200, "{}")]);
    server.rate_limit(50.0, 5);
    let c = client(&server, "c2c"); // 50 requests/s per token
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                (0..5).all(|i| {
                    c.send(&Request::get(format!("/assets/{t}-{i}")).expect(200))
                        .is_ok()
                })
            })
        })
        .collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap()));
    let statuses: Vec<Option<u16>> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses.len(), 80, "no request was retried");
    assert!(statuses.iter().all(|s| *s == Some(200)), "{statuses:?}");
}

#[test]
fn route_limits_space_their_route() {
    let server = MockServer::start().unwrap();
    server.script("POST", "/assets/:id/children", [Reply::status(201)]);
    let c = client(&server, "frameio"); // POST /assets/:id/children: 5/s
    for i in 0..4 {
        c.send(&Request::post(format!("/assets/{i}/children")).expect(201))
            .unwrap();
    }
    for gap in gaps(&server) {
        assert!(gap >= Duration::from_millis(190), "{gap:?}");
    }
}

#[test]
fn the_servers_pushback_pauses_every_call() {
    let rows: Vec<(&str, Reply)> = vec![
        (
            "quota used up",
            Reply::json(200, "{}")
                .header("X-RateLimit-Remaining", "0")
                .header("X-RateLimit-Reset", "1"),
        ),
        (
            "429 with Retry-After",
            Reply::simple(429, "slow_down").header("Retry-After", "1"),
        ),
    ];
    for (what, first) in rows {
        let server = MockServer::start().unwrap();
        server.script("GET", "/a", [first, Reply::json(200, "{}")]);
        let c = Client::builder(server.url())
            .clock(Arc::new(VirtualClock::new()))
            .without_rate_limit()
            .build();
        let _ = c.send(&Request::get("/a"));
        c.send(&Request::get("/a").expect(200)).unwrap();
        // Whichever call sends next (the 429's own retry, or the next call)
        // waits out the pause.
        let gaps = gaps(&server);
        assert!(gaps[0] >= Duration::from_millis(900), "{what}: {gaps:?}");
    }
}

#[test]
fn device_pairing_uses_a_connection_of_its_own() {
    let server = MockServer::start().unwrap();
    server.script("POST", "/device/code", [Reply::json(200, "{}")]);
    server.script("GET", "/me", [Reply::json(200, "{}")]);
    let c = client(&server, "c2c");
    for _ in 0..2 {
        c.send(&Request::get("/me")).unwrap();
    }
    for _ in 0..2 {
        c.send(
            &Request::post("/device/code")
                .without_authorization()
                .own_connection(),
        )
        .unwrap();
    }
    let conns: Vec<u64> = server.requests().iter().map(|r| r.connection).collect();
    assert_eq!(
        conns[0], conns[1],
        "ordinary calls share a pooled connection"
    );
    assert!(
        conns[2] != conns[0] && conns[3] != conns[0] && conns[2] != conns[3],
        "{conns:?}"
    );
}

/// A mock stating its limit (`rate_limit_headers`): each answer says the
/// quota left, as many APIs do, and the 429 says when it resets.
#[test]
fn the_mock_states_its_limit_in_ratelimit_headers() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/q", [Reply::json(200, "{}")]);
    server.rate_limit(0.5, 2);
    server.rate_limit_headers(true);
    let fresh = || {
        Client::builder(server.url())
            .without_rate_limit()
            .without_budget()
            .policy(apiretry::Policy::default().with_max_attempts(1))
            .build()
    };
    let c = fresh();
    let rows: [(&str, &str); 2] = [("2", "1"), ("2", "0")];
    for (limit, remaining) in rows {
        let r = c.send(&Request::get("/q")).unwrap();
        assert_eq!(r.header("RateLimit-Limit"), Some(limit));
        assert_eq!(r.header("RateLimit-Remaining"), Some(remaining));
    }
    // That client now waits for the reset; a new one is refused at once.
    let err = fresh().send(&Request::get("/q")).unwrap_err();
    assert_eq!(err.kind, apiretry::Kind::RateLimited, "{err}");
    assert_eq!(err.retry_after_ms, Some(2000), "{err:?}");
}
