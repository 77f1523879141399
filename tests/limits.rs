//! Client-side rate limiting and connection use, against the mock server.

#![cfg(feature = "mock")]

use std::sync::Arc;
use std::time::Duration;

use apiretry::mock::{MockServer, Reply};
use apiretry::{Client, Policy, Profile, Request, VirtualClock};

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

/// Rows: (what, the first answer, whether the client learns rates, whether
/// the next request waits the second out). A used-up quota holds every
/// call to the origin until it resets. A 429's `Retry-After` holds the call
/// it answered (its retry waits, here on virtual time); with rates learned,
/// the origin's other calls are paced by the cut rate instead of all
/// stopping and starting again together; without, they all wait. A wait of
/// 2 s or more is the server's pace: every call waits.
#[test]
fn the_servers_pushback_holds_the_right_calls() {
    let quota = || {
        Reply::json(200, "{}")
            .header("X-RateLimit-Remaining", "0")
            .header("X-RateLimit-Reset", "1")
    };
    let limited = |secs: &str| Reply::simple(429, "slow_down").header("Retry-After", secs);
    let rows: Vec<(&str, Reply, bool, bool)> = vec![
        ("quota used up", quota(), true, true),
        ("quota used up, rates not learned", quota(), false, true),
        ("429 with Retry-After", limited("1"), true, false),
        (
            "429 with Retry-After, rates not learned",
            limited("1"),
            false,
            true,
        ),
        ("429 with a long Retry-After", limited("2"), true, true),
    ];
    for (what, first, learns, held) in rows {
        let server = MockServer::start().unwrap();
        server.script("GET", "/a", [first, Reply::json(200, "{}")]);
        let mut b = Client::builder(server.url())
            .clock(Arc::new(VirtualClock::new()))
            .without_rate_limit();
        if !learns {
            b = b.without_adaptive_rate();
        }
        let c = b.build();
        let _ = c.send(&Request::get("/a"));
        c.send(&Request::get("/a").expect(200)).unwrap();
        let gaps = gaps(&server);
        assert_eq!(
            gaps[0] >= Duration::from_millis(900),
            held,
            "{what}: {gaps:?}"
        );
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

/// Calls from `threads` threads for `seconds` (none outlives them);
/// returns the successes.
fn hammer(c: &Client, url: &str, threads: usize, seconds: f64) -> usize {
    let stop = std::time::Instant::now() + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (c, url) = (c.clone(), url.to_owned());
            std::thread::spawn(move || {
                let mut ok = 0;
                loop {
                    let left = stop.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    let req =
                        Request::get(url.clone()).policy(Policy::default().with_deadline(left));
                    ok += usize::from(c.send(&req).is_ok());
                }
                ok
            })
        })
        .collect();
    workers.into_iter().map(|w| w.join().unwrap()).sum()
}

/// The generic profile states no limit: the client learns the mock's
/// 40 req/s from its 429s and stays near it, instead of being refused most
/// of the time (66-75% without learning: BENCHMARKS.md). The bound leaves
/// room for the first burst (the bucket holds 4, 8 threads send at once)
/// and a loaded machine; the bench measures the steady share (3%).
#[test]
fn an_unknown_limit_is_learned() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/q", [Reply::json(200, "{}")]);
    server.rate_limit(40.0, 4);
    let c = Client::builder(server.url()).without_budget().build();
    let url = format!("{}/q", server.url());
    assert_eq!(
        c.learned_rate(&url),
        None,
        "nothing learned before a throttle"
    );
    hammer(&c, &url, 8, 4.0);
    let sent = server.requests();
    let refused = sent.iter().filter(|r| r.status == Some(429)).count();
    assert!(
        refused * 5 < sent.len(),
        "{refused} of {} answered 429",
        sent.len()
    );
    let rate = c.learned_rate(&url).expect("throttled, so learned");
    assert!((5.0..=80.0).contains(&rate), "{rate}");
}

/// A keyed API's slow limit (one request per 3 s, bursts of 2): its 429s
/// say `Retry-After: 3`, and the server accepts about one request per 3 s
/// after that, which bears it out as the pace (below the 0.5/s floor of
/// learning from throttles alone) after three waits. From then on nothing
/// is refused.
#[test]
fn a_slow_keyed_limit_is_learned_from_its_retry_after() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/q", [Reply::json(200, "{}")]);
    server.rate_limit(1.0 / 3.0, 2);
    let c = Client::builder(server.url()).without_budget().build();
    let url = format!("{}/q", server.url());
    hammer(&c, &url, 3, 15.0);
    assert_eq!(c.learned_rate(&url), Some(1.0 / 3.0));
    let sent = server.requests();
    let late: Vec<_> = sent
        .iter()
        .filter(|r| r.status == Some(429) && r.at > Duration::from_secs(11))
        .map(|r| r.at)
        .collect();
    assert!(late.is_empty(), "refused after 11 s: {late:?}");
    let ok = sent.iter().filter(|r| r.status == Some(200)).count();
    assert!(ok >= 3, "{ok} of {} accepted", sent.len());
}

/// One client, two origins: the limited one learns its rate, the other,
/// never throttled, is not paced at all.
#[test]
fn two_origins_learn_independent_rates() {
    let (limited, open) = (MockServer::start().unwrap(), MockServer::start().unwrap());
    for s in [&limited, &open] {
        s.script("GET", "/q", [Reply::json(200, "{}")]);
    }
    limited.rate_limit(20.0, 2);
    let cuts: Arc<std::sync::Mutex<Vec<(String, f64)>>> = Arc::default();
    let seen = cuts.clone();
    let c = Client::builder(open.url())
        .without_budget()
        .rate_observer(move |origin, rate| seen.lock().unwrap().push((origin.to_owned(), rate)))
        .build();
    let (a, b) = (format!("{}/q", limited.url()), format!("{}/q", open.url()));
    let both = std::thread::scope(|s| {
        let ta = s.spawn(|| hammer(&c, &a, 4, 2.0));
        let tb = s.spawn(|| hammer(&c, &b, 4, 2.0));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let learned = c.learned_rate(&a).expect("the limited origin throttled");
    assert!(learned < 40.0, "{learned}");
    assert_eq!(c.learned_rate(&b), None);
    assert_eq!(c.learned_rate("/q"), None, "a path is the API's origin");
    assert!(both.1 > both.0 * 2, "the open origin is not held: {both:?}");
    // Each cut was told, all of them the limited origin's, the last being
    // the rate learned.
    let cuts = cuts.lock().unwrap();
    let origin = format!("http://{}", limited.addr());
    assert!(
        !cuts.is_empty() && cuts.iter().all(|(o, _)| *o == origin),
        "{cuts:?}"
    );
}

/// Over its limit the mock can answer as S3 does: 503 `SlowDown`, no
/// `Retry-After`; the `s3` profile takes it as throttling and learns.
#[test]
fn the_mock_can_refuse_as_s3_does() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/bucket/key", [Reply::status(200)]);
    server.rate_limit(0.01, 1);
    server.rate_limit_slowdown(true);
    let c = Client::builder(server.url())
        .profile(Profile::builtin("s3").unwrap().clone())
        .policy(apiretry::Policy::default().with_max_attempts(1))
        .build();
    c.send(&Request::get("/bucket/key")).unwrap();
    let err = c.send(&Request::get("/bucket/key")).unwrap_err();
    assert_eq!(
        (err.kind, err.status),
        (apiretry::Kind::RateLimited, Some(503))
    );
    assert_eq!(
        (err.code.as_deref(), err.retry_after_ms),
        (Some("SlowDown"), None)
    );
    assert!(c.learned_rate("/bucket/key").is_some());
}

/// Rows: (the mock's `Retry-After` setting, from a scenario file or
/// not, what a refusal says). By default the whole seconds to the next
/// token (100 s at 0.01 req/s); set, always that, as an API whose wait is
/// not its pace.
#[test]
fn the_mock_says_the_retry_after_it_is_told() {
    let rows = [
        (None, false, Some(100_000)),
        (Some(2), false, Some(2_000)),
        (Some(3), true, Some(3_000)),
    ];
    for (wait, from_file, said) in rows {
        let server = MockServer::start().unwrap();
        server.script("GET", "/q", [Reply::status(200)]);
        if from_file {
            let text = format!(
                r#"{{"rate_limit": {{"per_second": 0.01, "retry_after": {}}}, "routes": []}}"#,
                wait.unwrap()
            );
            apiretry::mock::Scenario::from_json(&text)
                .unwrap()
                .apply(&server);
        } else {
            server.rate_limit(0.01, 1);
            server.rate_limit_retry_after(wait);
        }
        let c = Client::builder(server.url())
            .policy(Policy::default().with_max_attempts(1))
            .build();
        c.send(&Request::get("/q")).unwrap();
        let err = c.send(&Request::get("/q")).unwrap_err();
        assert_eq!(
            (err.status, err.retry_after_ms),
            (Some(429), said),
            "{wait:?}"
        );
    }
}

/// Rows: (whether the client learns rates). A `Retry-After` of 10^23
/// seconds is a classified `rate_limited`, not a clock overflow, and holds
/// the origin no longer than the policy obeys a `Retry-After` (here 1 s).
#[test]
fn an_absurd_retry_after_holds_no_longer_than_the_policy_says() {
    for learns in [true, false] {
        let server = MockServer::start().unwrap();
        let absurd =
            Reply::simple(429, "slow_down").header("Retry-After", "99999999999999999999999");
        server.script("GET", "/a", [absurd, Reply::json(200, "{}")]);
        let policy = Policy::default()
            .with_max_attempts(1)
            .with_max_retry_after(Duration::from_secs(1));
        let mut b = Client::builder(server.url()).policy(policy);
        if !learns {
            b = b.without_adaptive_rate();
        }
        let c = b.build();
        let err = c.send(&Request::get("/a")).unwrap_err();
        assert_eq!(err.kind, apiretry::Kind::RateLimited, "{learns}");
        c.send(&Request::get("/a").expect(200)).unwrap();
        let gap = gaps(&server)[0];
        assert!(gap < Duration::from_secs(3), "{learns}: {gap:?}");
    }
}
