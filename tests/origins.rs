//! What a camera's upload meets outside one mock: redirects, two origins
//! (the API and S3) in one client, deadlines that bound the attempt in
//! flight, and calls that must end while a host is down. Every test talks
//! to mock servers on 127.0.0.1 over TCP.

#![cfg(feature = "mock")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{
    Backoff, CancelToken, Client, Jitter, Kind, Policy, Profile, Request, Retry, Secret, Timeouts,
    VirtualClock,
};

fn s3() -> Profile {
    Profile::builtin("s3").unwrap().clone()
}

/// A client of `api` whose backoff sleeps are virtual: only gates, pacing
/// and the wire take real time.
fn client(api: &MockServer, policy: Policy) -> Client {
    Client::builder(api.url())
        .token(Secret::new("api-token"))
        .clock(Arc::new(VirtualClock::new()))
        .policy(policy)
        .build()
}

fn paths(server: &MockServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

// ---- 5. Redirects -------------------------------------------------------

#[test]
fn redirects_resend_the_body_and_keep_credentials_to_their_origin() {
    let api = MockServer::start().unwrap();
    let other = MockServer::start().unwrap();
    let elsewhere = format!("{}/landing", other.url());
    api.script(
        "PUT",
        "/same",
        [Reply::status(307).header("Location", "/landing")],
    );
    api.script(
        "PUT",
        "/away",
        [Reply::status(307).header("Location", &elsewhere)],
    );
    api.script(
        "POST",
        "/form",
        [Reply::status(303).header("Location", "/landing")],
    );
    api.script("PUT", "/landing", [Reply::status(200)]);
    api.script("GET", "/landing", [Reply::status(200)]);
    other.script("PUT", "/landing", [Reply::status(200)]);
    let c = client(&api, Policy::default().with_max_attempts(1));
    let chunk: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let streamed = chunk.clone();
    // (request, server that answers, method and body it must get, credentials sent)
    let rows: Vec<(Request, &MockServer, &str, usize, bool)> = vec![
        (
            Request::put("/same").body(chunk.clone()),
            &api,
            "PUT",
            chunk.len(),
            true,
        ),
        (
            Request::put("/same")
                .body_reader(move || Ok(Box::new(std::io::Cursor::new(streamed.clone())))),
            &api,
            "PUT",
            chunk.len(),
            true,
        ),
        (
            Request::put("/away")
                .header("X-Api-Key", "k")
                .body(chunk.clone()),
            &other,
            "PUT",
            chunk.len(),
            false,
        ),
        (
            Request::post("/form").body(chunk.clone()),
            &api,
            "GET",
            0,
            true,
        ),
    ];
    for (req, at, method, len, credentials) in rows {
        api.clear_requests();
        other.clear_requests();
        let req = req.header("X-Api-Key", "k");
        let what = format!("{req:?}");
        let resp = c.send(&req).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(resp.status(), 200, "{what}");
        let landed = at.requests().pop().unwrap();
        assert_eq!(
            (
                landed.path.as_str(),
                landed.method.as_str(),
                landed.body_len
            ),
            ("/landing", method, len as u64),
            "{what}"
        );
        if len > 0 {
            assert_eq!(landed.body[..], chunk[..landed.body.len()], "{what}");
        }
        assert_eq!(
            landed.header("authorization").is_some(),
            credentials,
            "{what}"
        );
        assert_eq!(landed.header("x-api-key").is_some(), credentials, "{what}");
    }
}

#[test]
fn a_redirect_loop_is_not_retried_and_says_so() {
    let api = MockServer::start().unwrap();
    api.script(
        "GET",
        "/loop",
        [Reply::status(307).header("Location", "/loop")],
    );
    let c = client(&api, Policy::default());
    let err = c.send(&Request::get("/loop")).unwrap_err();
    assert_eq!((err.kind, err.retry), (Kind::Protocol, Retry::No), "{err}");
    assert!(err.message.contains("too many redirects"), "{err}");
    // One attempt: the request and 10 redirects.
    assert_eq!(api.requests().len(), 11);
}

#[test]
fn s3_temporary_redirect_on_a_put_is_followed() {
    let s3_main = MockServer::start().unwrap();
    let s3_region = MockServer::start().unwrap();
    let target = format!("{}/bucket/part1?X-Amz-Signature=abc", s3_region.url());
    s3_main.script(
        "PUT",
        "/bucket/part1",
        [Reply::aws(
            307,
            "TemporaryRedirect",
            "Please re-send this request to the specified temporary endpoint.",
        )
        .header("Location", &target)],
    );
    s3_region.script(
        "PUT",
        "/bucket/part1",
        [Reply::status(200).header("ETag", "\"e1\"")],
    );
    let c = client(&s3_main, Policy::default().with_max_attempts(1));
    let url = format!("{}/bucket/part1?X-Amz-Signature=abc", s3_main.url());
    let req = Request::put(url)
        .profile(s3())
        .without_authorization()
        .body(vec![7u8; 5000]);
    let resp = c.send(&req).unwrap();
    assert_eq!(resp.header("etag"), Some("\"e1\""));
    assert_eq!(s3_region.requests()[0].body_len, 5000);
}

// ---- 6. One gate, one pause and one pace per origin ----------------------

/// S3 is down: calls to it wait at its gate, while API calls go on at
/// normal latency; when S3 is back, S3's own probe (not the API's health
/// path) releases its calls.
#[test]
fn an_s3_outage_does_not_hold_api_calls() {
    let api = MockServer::start().unwrap();
    let s3_host = MockServer::start().unwrap();
    api.script("GET", "/assets/:id", [Reply::json(200, "{}")]);
    api.script("GET", "/health", [Reply::status(204)]);
    s3_host.script("PUT", "/bucket/:part", [Reply::status(200)]);
    s3_host.script("HEAD", "/", [Reply::status(403)]);
    let c = Client::builder(api.url())
        .health_path("/health")
        .clock(Arc::new(VirtualClock::new()))
        .health_backoff(
            Backoff::default()
                .with_base(Duration::from_millis(50))
                .with_jitter(Jitter::None),
        )
        .build();
    s3_host.set_down(true);
    let upload = {
        let (c, url) = (c.clone(), format!("{}/bucket/p1", s3_host.url()));
        thread::spawn(move || {
            let req = Request::put(url)
                .profile(s3())
                .without_authorization()
                .body(vec![1u8; 10]);
            c.send(&req).map(|r| r.status())
        })
    };
    thread::sleep(Duration::from_millis(200));
    assert!(c.is_disconnected(), "the S3 origin's gate is closed");
    let slowest = (0..20)
        .map(|i| {
            let t = Instant::now();
            c.send(&Request::get(format!("/assets/{i}")).expect(200))
                .unwrap();
            t.elapsed()
        })
        .max()
        .unwrap();
    assert!(
        slowest < Duration::from_millis(500),
        "API call took {slowest:?}"
    );
    assert!(!upload.is_finished(), "the upload waits for S3");
    s3_host.set_down(false);
    assert_eq!(upload.join().unwrap().unwrap(), 200);
    assert!(!c.is_disconnected());
    assert!(
        paths(&s3_host).contains(&"HEAD /".to_owned()),
        "{:?}",
        paths(&s3_host)
    );
    assert!(
        !paths(&api).contains(&"GET /health".to_owned()),
        "{:?}",
        paths(&api)
    );
}

/// An S3 `SlowDown` with `Retry-After` pauses calls to S3, not to the API.
#[test]
fn an_s3_pause_does_not_stall_api_calls() {
    let api = MockServer::start().unwrap();
    let s3_host = MockServer::start().unwrap();
    api.script("GET", "/assets/:id", [Reply::json(200, "{}")]);
    s3_host.script(
        "PUT",
        "/bucket/:part",
        [
            Reply::aws(503, "SlowDown", "Please reduce your request rate.")
                .header("Retry-After", "3"),
        ],
    );
    let c = client(&api, Policy::default().with_max_attempts(1));
    let url = format!("{}/bucket/p1", s3_host.url());
    let err = c
        .send(&Request::put(url).profile(s3()).without_authorization())
        .unwrap_err();
    assert_eq!(
        (err.kind, err.retry_after_ms),
        (Kind::RateLimited, Some(3000))
    );
    let t = Instant::now();
    c.send(&Request::get("/assets/1").expect(200)).unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "API call took {:?}",
        t.elapsed()
    );
}

/// Which failures close a gate: only those that show the host unreachable.
#[test]
fn only_unreachable_failures_close_the_gate() {
    let short = Timeouts {
        default: Duration::from_millis(200),
        ..Timeouts::default()
    };
    let dead = {
        let s = MockServer::start().unwrap();
        s.url()
    };
    let rows: Vec<(&str, Option<Reply>, bool)> = vec![
        ("connection refused", None, true),
        ("connection reset", Some(Reply::reset()), true),
        (
            "read timeout",
            Some(Reply::status(200).after(Duration::from_secs(2))),
            false,
        ),
        (
            "slow body",
            Some(
                Reply::status(200)
                    .body(&"x".repeat(100))
                    .slow(1, Duration::from_millis(50)),
            ),
            false,
        ),
        ("503", Some(Reply::status(503)), false),
        (
            "truncated body",
            Some(Reply::status(200).body(&"x".repeat(100)).truncated(5)),
            false,
        ),
    ];
    for (what, reply, closes) in rows {
        let server = MockServer::start().unwrap();
        let base = match reply {
            Some(r) => {
                server.script("GET", "/f", [r]);
                server.url()
            }
            None => dead.clone(),
        };
        let c = Client::builder(base)
            .policy(Policy::default().with_max_attempts(1))
            .timeouts(short)
            .health_backoff(Backoff::default().with_base(Duration::from_secs(60)))
            .build();
        let err = c.send(&Request::get("/f")).unwrap_err();
        assert_eq!(c.is_disconnected(), closes, "{what}: {err}");
    }
}

// ---- 7. The deadline bounds the attempt in flight -------------------------

#[test]
fn the_deadline_ends_an_attempt_in_flight() {
    let api = MockServer::start().unwrap();
    api.script(
        "GET",
        "/delay",
        [Reply::status(200).after(Duration::from_secs(10))],
    );
    api.script(
        "PUT",
        "/upload",
        [Reply::status(200).after(Duration::from_secs(10))],
    );
    let deadline = Duration::from_millis(700);
    let c = Client::builder(api.url())
        .policy(Policy::default().with_deadline(deadline))
        .build();
    let reqs = [
        Request::get("/delay"),
        Request::put("/upload")
            .class(apiretry::RequestClass::ChunkUpload)
            .body(vec![0u8; 1 << 16]),
    ];
    for req in reqs {
        let t = Instant::now();
        let err = c.send(&req).unwrap_err();
        let took = t.elapsed();
        assert_eq!(
            (err.kind, err.retry),
            (Kind::DeadlineExceeded, Retry::No),
            "{err}"
        );
        // The deadline plus scheduling noise on a loaded 2-core machine;
        // BENCHMARKS.md has the measured overshoot.
        assert!(
            took >= deadline && took < deadline + Duration::from_millis(400),
            "{took:?}"
        );
    }
}

// ---- 9. Every call ends --------------------------------------------------

/// Nothing listens: with 2 attempts, the second waits at the closed gate at
/// most what the policy's backoff allows, then is sent, and the call ends.
#[test]
fn a_call_to_a_dead_host_ends_after_its_attempts() {
    let dead = MockServer::start().unwrap().url();
    for attempts in [1, 2, 3] {
        let c = Client::builder(dead.clone())
            .policy(Policy::default().with_max_attempts(attempts))
            .build();
        let t = Instant::now();
        let err = c.send(&Request::get("/x")).unwrap_err();
        assert_eq!(err.kind, Kind::Connection, "{err}");
        // Backoff (real) plus the gate's patience: both bounded by the policy.
        let bound = Policy::default()
            .with_max_attempts(attempts)
            .network_wait()
            .unwrap()
            * 2
            + Duration::from_secs(1);
        assert!(
            t.elapsed() < bound,
            "{attempts} attempts took {:?}",
            t.elapsed()
        );
    }
}

/// A caller that wants to wait for the network indefinitely says so, and
/// then only a deadline or cancellation ends the wait.
#[test]
fn waiting_for_the_network_forever_is_explicit() {
    let dead = MockServer::start().unwrap().url();
    let c = Client::builder(dead)
        .clock(Arc::new(VirtualClock::new()))
        .policy(
            Policy::default()
                .with_max_attempts(2)
                .wait_for_network_forever(),
        )
        .build();
    let cancel = CancelToken::new();
    let done = Arc::new(AtomicBool::new(false));
    let call = {
        let (c, cancel, done) = (c.clone(), cancel.clone(), done.clone());
        thread::spawn(move || {
            let r = c.send_cancellable(&Request::get("/x"), &cancel);
            done.store(true, Ordering::SeqCst);
            r
        })
    };
    // Far past the 0.75 s the default policy would have waited.
    thread::sleep(Duration::from_millis(2000));
    assert!(!done.load(Ordering::SeqCst), "the call stopped waiting");
    cancel.cancel();
    let err = call.join().unwrap().unwrap_err();
    assert_eq!(err.kind, Kind::Cancelled, "{err}");
}
