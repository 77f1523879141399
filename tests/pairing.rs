//! Pairing (RFC 8628) and the client's own token refresh, against the mock
//! server over TCP: scripted answers on virtual time for exact schedules,
//! and the mock's RFC 8628 authorization server in real time.

#![cfg(feature = "mock")]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apiretry::mock::{DeviceFlow, MockServer, Recorded, Reply};
use apiretry::{
    CancelToken, Client, ClientAuth, ClientBuilder, ClientState, FileStore, Kind, OAuth, Pairing,
    Profile, Request, Secret, TokenStore, Tokens, VirtualClock,
};

const DEVICE: &str = "/v2/auth/device/code";
const TOKEN: &str = "/v2/auth/token";
const SECRET: &str = "s&cr=t +%";

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apiretry-pairing-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn oauth(server: &MockServer) -> OAuth {
    OAuth::new(format!("{}{TOKEN}", server.url()), "camera").client_secret(Secret::new(SECRET))
}

fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder(server.url())
        .profile(Profile::builtin("c2c").unwrap().clone())
        .header("x-client-version", "2.0.0")
        .health_path("/health")
}

fn form(r: &Recorded) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(&r.body).replace('+', " ");
    text.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), decode(v)))
        .collect()
}

fn decode(v: &str) -> String {
    percent_encoding::percent_decode_str(v)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// Pairing's record: codes shown, and each poll's (kind or "paired", interval).
#[derive(Default)]
struct Seen {
    codes: Mutex<Vec<String>>,
    polls: Mutex<Vec<(String, Duration)>>,
}

fn pairing(server: &MockServer, seen: &Arc<Seen>) -> Pairing {
    let (c, p) = (seen.clone(), seen.clone());
    Pairing::new(format!("{}{DEVICE}", server.url()))
        .scope("asset_create offline")
        .on_code(move |code| c.codes.lock().unwrap().push(code.user_code.clone()))
        .on_poll(move |poll| {
            let what = poll
                .error
                .map_or("paired".to_owned(), |e| e.kind.to_string());
            p.polls.lock().unwrap().push((what, poll.interval));
        })
}

fn code(n: u32, expires_in: u64) -> Reply {
    Reply::json(
        200,
        &format!(
            r#"{{"device_code": "dc-{n}", "user_code": "USER-{n}", "verification_uri": "https://example.com/device", "expires_in": {expires_in}, "interval": 5}}"#
        ),
    )
}

fn tokens(n: u32) -> Reply {
    Reply::json(
        200,
        &format!(
            r#"{{"access_token": "at-{n}", "refresh_token": "rt-{n}", "token_type": "Bearer", "expires_in": 3600}}"#
        ),
    )
}

fn pending() -> Reply {
    Reply::simple(400, "authorization_pending")
}

/// A scripted pairing on virtual time: the outcome, the pauses before each
/// poll, and what pairing reported.
fn scripted(
    polls: Vec<Reply>,
    codes: Vec<Reply>,
    setup: impl FnOnce(Pairing) -> Pairing,
) -> (
    Result<Tokens, apiretry::ApiError>,
    Vec<Duration>,
    Arc<Seen>,
    MockServer,
) {
    let server = MockServer::start().unwrap();
    server.script("POST", DEVICE, codes);
    server.script("POST", TOKEN, polls);
    let clock = Arc::new(VirtualClock::new());
    let client = builder(&server)
        .clock(clock.clone())
        .oauth(oauth(&server))
        .build();
    let seen = Arc::new(Seen::default());
    let result = client.pair(&setup(pairing(&server, &seen)), &CancelToken::new());
    (result, clock.sleeps(), seen, server)
}

#[test]
fn rfc_8628_polling_rows() {
    let slow = || Reply::simple(400, "slow_down");
    // (token endpoint's answers, renewals allowed, outcome, pauses before polls (s), codes shown)
    type Row = (Vec<Reply>, u32, &'static str, Vec<u64>, usize);
    let rows: Vec<Row> = vec![
        (
            vec![pending(), pending(), tokens(1)],
            0,
            "paired",
            vec![5, 5, 5],
            1,
        ),
        (
            vec![pending(), slow(), pending(), tokens(1)],
            0,
            "paired",
            vec![5, 5, 10, 10],
            1,
        ),
        (
            vec![slow(), slow(), tokens(1)],
            0,
            "paired",
            vec![5, 10, 15],
            1,
        ),
        (
            vec![pending(), Reply::simple(400, "access_denied")],
            0,
            "access_denied",
            vec![5, 5],
            1,
        ),
        (
            vec![pending(), Reply::simple(400, "expired_token")],
            0,
            "expired_token",
            vec![5, 5],
            1,
        ),
        (
            vec![Reply::simple(400, "expired_token"), pending(), tokens(1)],
            1,
            "paired",
            vec![5, 5, 5],
            2,
        ),
        (
            vec![Reply::simple(401, "invalid_client")],
            0,
            "invalid_client",
            vec![5],
            1,
        ),
    ];
    for (polls, renew, outcome, pauses, shown) in rows {
        let (result, sleeps, seen, server) =
            scripted(polls, vec![code(1, 600), code(2, 600)], |p| p.renew(renew));
        let got = match &result {
            Ok(_) => "paired".to_owned(),
            Err(e) => e.kind.to_string(),
        };
        assert_eq!(got, outcome, "{result:?}");
        assert_eq!(
            sleeps,
            pauses.iter().map(|&n| s(n)).collect::<Vec<_>>(),
            "{outcome}"
        );
        assert_eq!(seen.codes.lock().unwrap().len(), shown, "{outcome}");
        // Every request: form-encoded, the client's identity, its header;
        // no poll retried within its interval.
        let log = server.requests();
        assert_eq!(log.len(), shown + pauses.len(), "{outcome}: {log:?}");
        for r in &log {
            let f = form(r);
            assert_eq!(r.header("x-client-version"), Some("2.0.0"));
            assert_eq!(
                r.header("content-type"),
                Some("application/x-www-form-urlencoded")
            );
            assert_eq!(
                (f["client_id"].as_str(), f["client_secret"].as_str()),
                ("camera", SECRET)
            );
            match r.path.as_str() {
                DEVICE => assert_eq!(f["scope"], "asset_create offline"),
                _ => assert_eq!(
                    f["grant_type"],
                    "urn:ietf:params:oauth:grant-type:device_code"
                ),
            }
        }
    }
}

#[test]
fn each_device_code_request_has_a_connection_of_its_own() {
    let (result, _, _, server) = scripted(
        vec![
            Reply::simple(400, "expired_token"),
            Reply::simple(400, "expired_token"),
            tokens(1),
        ],
        vec![code(1, 600), code(2, 600), code(3, 600)],
        |p| p.renew(2),
    );
    result.unwrap();
    let log = server.requests();
    let codes: Vec<u64> = log
        .iter()
        .filter(|r| r.path == DEVICE)
        .map(|r| r.connection)
        .collect();
    assert_eq!(codes.len(), 3);
    for r in &log {
        if r.path == TOKEN {
            assert!(
                !codes.contains(&r.connection),
                "a poll shared a device-code connection"
            );
        }
    }
    let mut unique = codes.clone();
    unique.dedup();
    assert_eq!(unique, codes);
}

#[test]
fn the_code_expires_on_the_device_clock_too() {
    // A 12 s code polled every 5 s: polls at 5 and 10, then pairing ends at 12.
    let (result, sleeps, _, server) = scripted(vec![pending()], vec![code(1, 12)], |p| p);
    assert_eq!(result.unwrap_err().kind, Kind::ExpiredToken);
    assert_eq!(sleeps, [s(5), s(5), s(2)]);
    assert_eq!(server.requests().len(), 3);
    // A deadline ends it sooner.
    let (result, sleeps, _, _) =
        scripted(vec![pending()], vec![code(1, 600)], |p| p.deadline(s(12)));
    assert_eq!(result.unwrap_err().kind, Kind::DeadlineExceeded);
    assert_eq!(sleeps, [s(5), s(5), s(2)]);
}

#[test]
fn a_network_failure_while_polling_doubles_the_interval() {
    let (result, _, seen, _) = scripted(
        vec![pending(), Reply::reset(), pending(), tokens(1)],
        vec![code(1, 600)],
        |p| p,
    );
    result.unwrap();
    let polls = seen.polls.lock().unwrap().clone();
    let kinds: Vec<&str> = polls.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "authorization_pending",
            "connection",
            "authorization_pending",
            "paired"
        ]
    );
    let intervals: Vec<Duration> = polls.iter().map(|(_, i)| *i).collect();
    assert_eq!(intervals, [s(5), s(10), s(10), s(10)]);
}

#[test]
fn cancel_from_another_thread_ends_polling() {
    let server = MockServer::start().unwrap();
    server.script("POST", DEVICE, [code(1, 600)]);
    server.script("POST", TOKEN, [pending()]);
    let client = builder(&server).oauth(oauth(&server)).build();
    let cancel = CancelToken::new();
    let (c, seen) = (cancel.clone(), Arc::new(Seen::default()));
    let pairing = pairing(&server, &seen).on_code(move |_| {
        let c = c.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            c.cancel();
        });
    });
    let err = client.pair(&pairing, &cancel).unwrap_err();
    assert_eq!(err.kind, Kind::Cancelled, "{err}");
    assert!(client.needs_pairing());
    assert_eq!(
        server.requests().len(),
        1,
        "cancelled before the first poll"
    );
}

/// The mock's own RFC 8628 server, real time: the user approves from the
/// code callback; the server sees polls no closer than the interval.
#[test]
fn pairs_with_the_mock_authorization_server_and_stores_the_tokens() {
    let server = MockServer::start().unwrap();
    server.device_flow(DeviceFlow {
        interval: 1,
        client_secret: Some(SECRET.into()),
        ..DeviceFlow::default()
    });
    server.require_token(Some("none yet"));
    server.script("GET", "/v2/me", [Reply::json(200, "{}")]);
    let dir = scratch("mock");
    let store = dir.join("tokens.json");
    let client = builder(&server)
        .oauth(oauth(&server).store(FileStore::new(&store)))
        .build();
    assert!(client.needs_pairing());
    let err = client.send(&Request::get("/v2/me")).unwrap_err();
    assert_eq!(err.kind, Kind::Unauthorized);
    assert!(err.message.contains("pairing needed"), "{err}");
    assert!(server.requests().is_empty(), "failed fast, nothing sent");

    let approver = Arc::new(Mutex::new(None::<String>));
    let a = approver.clone();
    let seen = Arc::new(Seen::default());
    let p =
        pairing(&server, &seen).on_code(move |c| *a.lock().unwrap() = Some(c.user_code.clone()));
    let srv = &server;
    let paired = std::thread::scope(|scope| {
        scope.spawn(|| {
            // The user approves after about two polls.
            std::thread::sleep(Duration::from_millis(2300));
            let code = approver.lock().unwrap().clone().unwrap();
            assert!(srv.decide(&code, true));
        });
        client.pair(&p, &CancelToken::new())
    });
    let tokens = paired.unwrap();
    assert!(!client.needs_pairing());
    let stored = FileStore::new(&store).load().unwrap().unwrap();
    assert_eq!(stored, tokens);
    assert!(stored.expires_at.is_some() && stored.refresh_token.is_some());
    client.send(&Request::get("/v2/me").expect(200)).unwrap();
    let polls: Vec<Duration> = server
        .requests()
        .iter()
        .filter(|r| r.path == TOKEN)
        .map(|r| r.at)
        .collect();
    assert!(polls.len() >= 3, "{polls:?}");
    for w in polls.windows(2) {
        assert!(
            w[1] - w[0] >= s(1),
            "polled sooner than the interval: {polls:?}"
        );
    }
    let statuses: Vec<Option<u16>> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses.last(), Some(&Some(200)));
    std::fs::remove_dir_all(dir).unwrap();
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A client of the mock's authorization server holding `tokens` issued by
/// it (paired first), its store in `dir`.
fn paired(
    server: &MockServer,
    dir: &std::path::Path,
    rotate: bool,
) -> (Client, Arc<Mutex<Vec<ClientState>>>) {
    server.device_flow(DeviceFlow {
        interval: 1,
        approve_after_polls: Some(1),
        rotate_refresh: rotate,
        client_secret: Some(SECRET.into()),
        ..DeviceFlow::default()
    });
    server.require_token(Some("none yet"));
    server.script("GET", "/v2/me", [Reply::json(200, "{}")]);
    let states: Arc<Mutex<Vec<ClientState>>> = Arc::default();
    let log = states.clone();
    let client = builder(server)
        .oauth(oauth(server).store(FileStore::new(dir.join("tokens.json"))))
        .state_observer(move |s| log.lock().unwrap().push(s))
        .build();
    client
        .pair(
            &Pairing::new(format!("{}{DEVICE}", server.url())),
            &CancelToken::new(),
        )
        .unwrap();
    server.clear_requests();
    (client, states)
}

fn stored_refresh(dir: &std::path::Path) -> String {
    let t = FileStore::new(dir.join("tokens.json"))
        .load()
        .unwrap()
        .unwrap();
    t.refresh_token.unwrap().expose().to_owned()
}

#[test]
fn unauthorized_refreshes_with_a_rotated_token_stored_before_its_use() {
    let server = MockServer::start().unwrap();
    let dir = scratch("rotate");
    let (client, _) = paired(&server, &dir, true);
    let mut spent = Vec::new();
    for round in 0..3 {
        let before = stored_refresh(&dir);
        // The API stops taking the token: the next call refreshes.
        server.require_token(Some(&format!("revoked-{round}")));
        let err = client.send(&Request::get("/v2/me").expect(200));
        // The refresh rotated the refresh token and the API took the new access token.
        err.unwrap();
        let after = stored_refresh(&dir);
        assert_ne!(before, after);
        spent.push(before);
        let log = server.requests();
        let refresh: Vec<_> = log.iter().filter(|r| r.path == TOKEN).collect();
        assert_eq!(refresh.len(), 1);
        let f = form(refresh[0]);
        assert_eq!(f["grant_type"], "refresh_token");
        assert_eq!(
            &f["refresh_token"],
            spent.last().unwrap(),
            "the newest refresh token is used"
        );
        server.clear_requests();
    }
    // A restart: a new client from the store works without pairing.
    let again = builder(&server)
        .oauth(oauth(&server).store(FileStore::new(dir.join("tokens.json"))))
        .build();
    assert!(!again.needs_pairing());
    again.send(&Request::get("/v2/me").expect(200)).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_token_near_its_end_is_refreshed_before_the_call() {
    let server = MockServer::start().unwrap();
    let dir = scratch("ahead");
    let (_, _) = paired(&server, &dir, false);
    // The stored set is 95% through its life.
    let store = FileStore::new(dir.join("tokens.json"));
    let mut t = store.load().unwrap().unwrap();
    t.issued_at = Some(unix_now() - 950);
    t.expires_at = Some(unix_now() + 50);
    store.save(&t).unwrap();
    let client = builder(&server)
        .oauth(oauth(&server).store(store.clone()))
        .build();
    client.send(&Request::get("/v2/me").expect(200)).unwrap();
    let paths: Vec<(String, Option<u16>)> = server
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(
        paths,
        [
            (TOKEN.to_owned(), Some(200)),
            ("/v2/me".to_owned(), Some(200))
        ]
    );
    let renewed = store.load().unwrap().unwrap();
    assert!(renewed.expires_at.unwrap() >= unix_now() + 3590);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_refused_refresh_is_one_request_then_pairing_needed() {
    let server = MockServer::start().unwrap();
    let dir = scratch("refused");
    let (client, states) = paired(&server, &dir, true);
    // The stored refresh token is spent elsewhere: invalid_grant.
    std::fs::write(
        dir.join("tokens.json"),
        br#"{"access_token": "x", "refresh_token": "spent"}"#,
    )
    .unwrap();
    let client2 = builder(&server)
        .oauth(oauth(&server).store(FileStore::new(dir.join("tokens.json"))))
        .build();
    drop(client);
    server.require_token(Some("other"));
    let err = client2
        .send(&Request::get("/v2/me").expect(200))
        .unwrap_err();
    assert_eq!(err.kind, Kind::Unauthorized);
    assert!(
        err.message.contains("pairing needed") && err.message.contains("invalid_grant"),
        "{err}"
    );
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/v2/me", TOKEN], "one refresh request, no retry");
    assert!(client2.needs_pairing());
    // Later calls fail fast without a request.
    server.clear_requests();
    let again = client2.send(&Request::get("/v2/me")).unwrap_err();
    assert!(again.message.contains("pairing needed"));
    assert!(server.requests().is_empty());
    let _ = states;
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_state_callback_hears_pairing_needed() {
    let server = MockServer::start().unwrap();
    let dir = scratch("state");
    let (client, states) = paired(&server, &dir, true);
    server.require_token(Some("revoked"));
    // A new server forgets every refresh token.
    server.device_flow(DeviceFlow {
        client_secret: Some(SECRET.into()),
        ..DeviceFlow::default()
    });
    assert!(client.send(&Request::get("/v2/me")).is_err());
    assert_eq!(
        states.lock().unwrap().as_slice(),
        [ClientState::Authorized, ClientState::AuthorizationRequired]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unwritable_store_is_an_io_error_and_the_tokens_stay_in_memory() {
    let server = MockServer::start().unwrap();
    let dir = scratch("unwritable");
    let (client, _) = paired(&server, &dir, true);
    std::fs::remove_dir_all(&dir).unwrap(); // the store's folder is gone
    let err = client.refresh_tokens(&CancelToken::new()).unwrap_err();
    assert_eq!(err.kind, Kind::Io);
    assert!(err.message.contains("token store"), "{err}");
    // The API takes the newest access token, which the client holds.
    client.send(&Request::get("/v2/me").expect(200)).unwrap();
}

#[test]
fn sixteen_calls_answered_unauthorized_share_one_refresh() {
    let server = MockServer::start().unwrap();
    let dir = scratch("sixteen");
    let (client, _) = paired(&server, &dir, true);
    server.require_token(Some("revoked"));
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| client.send(&Request::get("/v2/me").expect(200)).unwrap());
        }
    });
    let refreshes = server.requests().iter().filter(|r| r.path == TOKEN).count();
    assert_eq!(refreshes, 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn basic_and_public_clients() {
    for (auth, secret) in [
        (ClientAuth::Basic, Some(SECRET)),
        (ClientAuth::Public, None),
    ] {
        let server = MockServer::start().unwrap();
        server.device_flow(DeviceFlow {
            interval: 1,
            approve_after_polls: Some(1),
            client_secret: secret.map(str::to_owned),
            ..DeviceFlow::default()
        });
        let mut o = OAuth::new(format!("{}{TOKEN}", server.url()), "camera").client_auth(auth);
        if let Some(s) = secret {
            o = o.client_secret(Secret::new(s));
        }
        let client = builder(&server).oauth(o).build();
        client
            .pair(
                &Pairing::new(format!("{}{DEVICE}", server.url())),
                &CancelToken::new(),
            )
            .unwrap();
        client.refresh_tokens(&CancelToken::new()).unwrap();
        for r in server.requests() {
            let f = form(&r);
            assert!(!f.contains_key("client_secret"), "{auth:?}");
            match auth {
                ClientAuth::Basic => {
                    assert!(r.header("authorization").unwrap().starts_with("Basic "))
                }
                _ => assert_eq!(f["client_id"], "camera"),
            }
        }
    }
}

/// Every log record of the library's, kept for the leak check.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target().starts_with("apiretry")
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{}: {}", r.target(), r.args()));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// Whether `text` shows a token, device code or the client secret.
fn leaks(text: &str) -> bool {
    let b = text.as_bytes();
    let shows = |prefix: &str| {
        text.match_indices(prefix).any(|(i, _)| {
            let before = i.checked_sub(1).map(|j| b[j]);
            let after = b.get(i + prefix.len());
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && after.is_some_and(u8::is_ascii_digit)
        })
    };
    text.contains(SECRET) || ["at-", "rt-", "dc-"].into_iter().any(shows)
}

#[test]
fn no_token_secret_or_device_code_in_logs_debug_errors_or_events() {
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(log::LevelFilter::Trace);
    assert!(leaks("x rt-12 y") && leaks(SECRET) && !leaks("fat-1 at-x"));
    let mut shown = Vec::new();
    // Scripted pairing through every branch, then refreshes.
    let (result, _, seen, server) = scripted(
        vec![
            pending(),
            Reply::simple(400, "slow_down"),
            Reply::reset(),
            Reply::simple(400, "expired_token"),
            tokens(1),
        ],
        vec![code(1, 600), code(2, 600)],
        |p| p.renew(1),
    );
    let tokens = result.unwrap();
    shown.push(format!("{tokens:?}"));
    shown.extend(seen.polls.lock().unwrap().iter().map(|p| format!("{p:?}")));
    let dir = scratch("leaks");
    let (client, states) = paired(&server, &dir, true);
    shown.push(format!("{client:?} {:?}", oauth(&server)));
    shown.push(format!("{:?}", pairing(&server, &seen)));
    server.require_token(Some("revoked"));
    client.send(&Request::get("/v2/me").expect(200)).unwrap();
    server.device_flow(DeviceFlow {
        client_secret: Some(SECRET.into()),
        ..DeviceFlow::default()
    });
    server.require_token(Some("revoked again"));
    for e in [
        client.send(&Request::get("/v2/me")).unwrap_err(),
        client.refresh_tokens(&CancelToken::new()).unwrap_err(),
    ] {
        shown.push(format!("{e} {e:?}"));
    }
    shown.push(format!("{:?}", states.lock().unwrap()));
    let records = CAPTURE.0.lock().unwrap().clone();
    assert!(
        records.iter().any(|r| r.contains("apiretry::pairing")),
        "{records:?}"
    );
    for text in shown.iter().chain(&records) {
        assert!(!leaks(text), "{text}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
