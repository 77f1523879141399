//! The client against the mock API server over real TCP on 127.0.0.1:
//! seed 001's scenarios end to end, and each fault classified.

#![cfg(feature = "mock")]

use std::sync::Arc;
use std::time::Duration;

use apiretry::mock::{MockServer, Reply};
use apiretry::{Client, Kind, Policy, Profile, Request, Retry, Timeouts, VirtualClock};

/// A c2c client on virtual backoff time, and its clock.
fn client(server: &MockServer, policy: Policy) -> (Client, Arc<VirtualClock>) {
    let clock = Arc::new(VirtualClock::new());
    let c = Client::builder(server.url())
        .profile(Profile::builtin("c2c").unwrap().clone())
        .policy(policy)
        .clock(clock.clone())
        .build();
    (c, clock)
}

fn secs(d: &[Duration]) -> Vec<f64> {
    d.iter().map(Duration::as_secs_f64).collect()
}

#[test]
fn success_with_the_expected_status() {
    let server = MockServer::start().unwrap();
    server.script(
        "POST",
        "/assets/:id/children",
        [Reply::json(201, r#"{"id": "a1"}"#)],
    );
    let (c, _) = client(&server, Policy::default());
    let resp = c
        .send(
            &Request::post("/assets/p1/children")
                .body(b"{}".to_vec())
                .expect(201),
        )
        .unwrap();
    assert_eq!((resp.status(), resp.body()), (201, &br#"{"id": "a1"}"#[..]));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let sent = server.requests();
    assert_eq!(
        (sent.len(), sent[0].method.as_str(), sent[0].path.as_str()),
        (1, "POST", "/assets/p1/children")
    );
    assert_eq!(sent[0].body, b"{}");
}

/// A scenario: name, the replies in turn, then the error kind (`None` =
/// success), requests sent and backoff sleeps in seconds.
type Scenario = (&'static str, Vec<Reply>, Option<Kind>, usize, Vec<f64>);

/// Seed 001's API scenarios: what comes back, how many requests, what waits.
#[test]
fn seed_001_scenarios() {
    let paused = Reply::detailed(
        409,
        "Channel Paused",
        "The channel you're uploading from is currently paused.",
    );
    let rows: Vec<Scenario> = vec![
        (
            "unexpected status",
            vec![Reply::status(200)],
            Some(Kind::UnexpectedStatus),
            1,
            vec![],
        ),
        (
            "409 Channel Paused is not retried",
            vec![paused],
            Some(Kind::ChannelPaused),
            1,
            vec![],
        ),
        (
            "500 is retried once",
            vec![Reply::status(500)],
            Some(Kind::ServerError),
            2,
            vec![0.5],
        ),
        (
            "500 once, then success",
            vec![Reply::status(500), Reply::status(201)],
            None,
            2,
            vec![0.5],
        ),
        (
            "slow_down as 429, backed off",
            vec![
                Reply::simple(429, "slow_down"),
                Reply::simple(429, "slow_down"),
                Reply::status(201),
            ],
            None,
            3,
            vec![0.5, 1.0],
        ),
        (
            "slow_down as a 400 payload, backed off",
            vec![Reply::simple(400, "slow_down"), Reply::status(201)],
            None,
            2,
            vec![0.5],
        ),
        (
            "Retry-After honoured",
            vec![
                Reply::status(503).header("Retry-After", "3"),
                Reply::status(201),
            ],
            None,
            2,
            vec![3.0],
        ),
        (
            "422 Invalid Argument is fatal",
            vec![Reply::detailed(422, "Invalid Argument", "bad")],
            Some(Kind::InvalidRequest),
            1,
            vec![],
        ),
    ];
    for (what, replies, want, requests, sleeps) in rows {
        let server = MockServer::start().unwrap();
        server.script("POST", "/assets", replies);
        let policy = Policy::default()
            .with_backoff(apiretry::Backoff::default().with_jitter(apiretry::Jitter::None));
        let (c, clock) = client(&server, policy);
        let got = c
            .send(&Request::post("/assets").expect(201))
            .err()
            .map(|e| e.kind);
        assert_eq!(
            (got, server.requests().len(), secs(&clock.sleeps())),
            (want, requests, sleeps),
            "{what}"
        );
    }
}

#[test]
fn classified_errors_keep_the_server_detail() {
    let server = MockServer::start().unwrap();
    server.script(
        "GET",
        "/x",
        [Reply::simple(429, "slow_down")
            .header("Retry-After", "7")
            .header("X-Request-Id", "r-9")],
    );
    let (c, _) = client(&server, Policy::default().with_max_attempts(1));
    let err = c.send(&Request::get("/x")).unwrap_err();
    assert_eq!(
        (
            err.kind,
            err.code.as_deref(),
            err.retry_after_ms,
            err.request_id.as_deref(),
            err.profile.as_deref()
        ),
        (
            Kind::RateLimited,
            Some("slow_down"),
            Some(7000),
            Some("r-9"),
            Some("c2c")
        )
    );
}

/// Each fault, with one attempt and short timeouts: the kind it classifies to.
#[test]
fn each_fault_is_classified_within_its_timeout() {
    let short = Timeouts {
        default: Duration::from_millis(300),
        ..Timeouts::default()
    };
    let rows: Vec<(&str, Reply, Kind)> = vec![
        ("connection reset", Reply::reset(), Kind::Connection),
        (
            "closed before headers",
            Reply::close_before_headers(),
            Kind::Connection,
        ),
        (
            "truncated body",
            Reply::status(200).body(&"x".repeat(1000)).truncated(10),
            Kind::Connection,
        ),
        (
            "huge success body",
            Reply::huge(200, 2 << 20),
            Kind::BodyTooLarge,
        ),
        (
            "huge error body is still the status",
            Reply::huge(503, 4 << 20),
            Kind::Unavailable,
        ),
        (
            "server too slow to answer",
            Reply::status(200).after(Duration::from_secs(2)),
            Kind::Timeout,
        ),
        (
            "body too slow",
            Reply::status(200)
                .body(&"x".repeat(100))
                .slow(1, Duration::from_millis(50)),
            Kind::Timeout,
        ),
    ];
    for (what, reply, want) in rows {
        let server = MockServer::start().unwrap();
        server.script("GET", "/f", [reply]);
        let c = Client::builder(server.url())
            .policy(Policy::default().with_max_attempts(1))
            .timeouts(short)
            .max_body(1 << 20)
            .build();
        let started = std::time::Instant::now();
        let err = c.send(&Request::get("/f")).unwrap_err();
        assert_eq!(err.kind, want, "{what}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{what} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn nothing_listening_is_a_connection_failure() {
    let server = MockServer::start().unwrap();
    let url = server.url();
    drop(server);
    let c = Client::builder(url)
        .policy(Policy::default().with_max_attempts(1))
        .build();
    let err = c.send(&Request::get("/")).unwrap_err();
    assert_eq!(
        (err.kind, err.retry),
        (Kind::Connection, Retry::Yes),
        "{err}"
    );
}

#[test]
fn a_failing_upload_reader_is_an_io_error() {
    let server = MockServer::start().unwrap();
    server.script("PUT", "/chunk", [Reply::status(200)]);
    let c = Client::builder(server.url())
        .policy(Policy::default().with_max_attempts(1))
        .build();
    let unopenable = Request::put("/chunk").body_reader(|| Err(std::io::Error::other("disk gone")));
    let err = c.send(&unopenable).unwrap_err();
    assert_eq!(err.kind, Kind::Io, "{err}");
    assert!(err.message.contains("disk gone"), "{err}");

    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("bad sector"))
        }
    }
    let unreadable = Request::put("/chunk").body_reader(|| Ok(Box::new(Failing)));
    assert_eq!(c.send(&unreadable).unwrap_err().kind, Kind::Io);
}

#[test]
fn uploads_are_sent_again_on_each_attempt() {
    let server = MockServer::start().unwrap();
    server.script(
        "PUT",
        "/chunk",
        [
            Reply::aws(500, "InternalError", "try again"),
            Reply::status(200),
        ],
    );
    let (c, _) = client(&server, Policy::default());
    let chunk = vec![7u8; 100_000];
    let data = chunk.clone();
    let req = Request::put("/chunk")
        .profile(Profile::builtin("s3").unwrap().clone())
        .body_reader(move || Ok(Box::new(std::io::Cursor::new(data.clone()))));
    c.send(&req).unwrap();
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert!(sent
        .iter()
        .all(|r| r.body_len == 100_000 && r.body == chunk[..r.body.len()]));
}

/// Rows: (a request) -> its secret, absent from its `Debug`.
#[test]
fn request_debug_hides_credentials() {
    let rows = [
        (Request::get("https://h/x?access_token=sekret"), "sekret"),
        (
            Request::get("https://h/x").header("Authorization", "Bearer abc.def"),
            "abc.def",
        ),
        // A presigned S3 URL: whoever holds its signature may upload.
        (
            Request::put(
                "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256\
                 &X-Amz-Credential=AKIA%2F20261204&X-Amz-Security-Token=sessiontok\
                 &X-Amz-Signature=3f9a0c",
            ),
            "3f9a0c",
        ),
        (
            Request::put("https://b.s3.amazonaws.com/k?X-Amz-Security-Token=sessiontok"),
            "sessiontok",
        ),
        // SigV2 and CloudFront (`Signature=`), Azure SAS (`sig=`).
        (
            Request::get("https://b.s3.amazonaws.com/k?Signature=v2sig"),
            "v2sig",
        ),
        (
            Request::get("https://a.blob.core.windows.net/c/b?sv=1&sig=azsig"),
            "azsig",
        ),
    ];
    for (r, secret) in rows {
        let shown = format!("{r:?}");
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn the_client_is_shared_by_threads() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Client>();
}

/// The default retry budget never cuts a fresh client's call short: seed
/// 001's 8 attempts, over TCP, whatever the first call meets.
#[test]
fn a_fresh_client_keeps_the_seeds_attempts() {
    let rows: &[(&str, usize, Option<Kind>, usize)] = &[
        // (case, 503s before a 200, outcome, requests sent)
        ("503 six times, then 200", 6, None, 7),
        ("503 eight times", 8, Some(Kind::Unavailable), 8),
    ];
    for &(case, failures, want, sent) in rows {
        let server = MockServer::start().unwrap();
        let mut replies: Vec<Reply> = (0..failures).map(|_| Reply::status(503)).collect();
        replies.push(Reply::json(200, "{}"));
        server.script("GET", "/me", replies);
        let (c, clock) = client(&server, Policy::default());
        let outcome = c
            .send(&Request::get("/me").expect(200))
            .err()
            .map(|e| e.kind);
        assert_eq!(outcome, want, "{case}");
        assert_eq!(server.requests().len(), sent, "{case}");
        assert_eq!(clock.sleeps().len(), sent - 1, "{case}");
    }
}
