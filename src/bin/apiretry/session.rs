//! `apiretry demo`: a realistic Camera-to-Cloud device session against the
//! mock API, in process: pairing (RFC 8628), token refresh, asset creation,
//! a chunked upload through S3 errors and a network outage, and an asset
//! whose channel is paused. Waits are scaled down (`--time-scale`) so that
//! it runs in seconds; the protocol's own values are printed.

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{
    ApiError, Backoff, Client, ClientState, Event, Kind, Policy, Profile, Request, RequestClass,
    Secret, Step,
};
use lexopt::prelude::*;

use crate::UsageError;

const CHUNKS: usize = 4;
const CHUNK_BYTES: usize = 256 * 1024;

struct Row {
    step: &'static str,
    requests: usize,
    outcome: String,
}

/// The API's side of the session, as the C2C documentation describes it.
fn script(server: &MockServer) {
    let pending = || Reply::simple(400, "authorization_pending");
    let tokens = |access: &str| {
        Reply::json(
            200,
            &format!(
                r#"{{"access_token": "{access}", "refresh_token": "r-1", "expires_in": 28800}}"#
            ),
        )
    };
    server.script(
        "POST",
        "/v2/auth/device/code",
        [
            Reply::json(200, r#"{"device_code": "dc-1", "user_code": "QXKD-PLWM", "interval": 5, "expires_in": 600}"#),
            Reply::json(200, r#"{"device_code": "dc-2", "user_code": "MNRT-WBQZ", "interval": 5, "expires_in": 600}"#),
        ],
    );
    server.script(
        "POST",
        "/v2/auth/token",
        [
            pending(),
            Reply::simple(400, "slow_down"),
            Reply::simple(400, "expired_token"),
            pending(),
            tokens("token-1"),
            tokens("token-2"), // the refresh
        ],
    );
    server.script(
        "POST",
        "/v2/assets",
        [Reply::json(201, r#"{"id": "asset-1"}"#)],
    );
    server.script(
        "POST",
        "/v2/assets/paused",
        [Reply::detailed(
            409,
            "Channel Paused",
            "The channel you're uploading from is currently paused.",
        )],
    );
    server.script(
        "PUT",
        "/upload/:asset/:chunk",
        [
            Reply::aws(503, "SlowDown", "Please reduce your request rate."),
            Reply::aws(
                500,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            Reply::status(200),
        ],
    );
    server.script("GET", "/health", [Reply::status(204)]);
    for open in ["/v2/auth/*", "/health", "/upload/*"] {
        server.open_path(open);
    }
}

/// Pairs the device (RFC 8628 §3.5): poll at the interval, add 5 s on
/// `slow_down`, start again on `expired_token`.
fn pair(auth: &Client, scale: f64) -> Result<(Secret, String), ApiError> {
    let mut notes = Vec::new();
    for _ in 0..3 {
        let code = auth.send(
            &Request::post("/v2/auth/device/code")
                .body(b"client_id=camera&scope=asset_create offline".to_vec())
                .without_authorization()
                .own_connection()
                .expect(200),
        )?;
        let code: serde_json::Value = serde_json::from_slice(code.body()).unwrap_or_default();
        let mut interval = code["interval"].as_u64().unwrap_or(5);
        println!(
            "  device code issued: the user enters {} on the web",
            code["user_code"].as_str().unwrap_or("?")
        );
        loop {
            std::thread::sleep(Duration::from_secs_f64(interval as f64 * scale));
            let poll = Request::post("/v2/auth/token")
                .body(
                    format!(
                        "grant_type=device_code&device_code={}",
                        code["device_code"].as_str().unwrap_or("")
                    )
                    .into_bytes(),
                )
                .class(RequestClass::AuthRefresh)
                .without_authorization()
                .own_connection()
                .expect(200);
            match auth.send(&poll) {
                Ok(resp) => {
                    let tokens: serde_json::Value =
                        serde_json::from_slice(resp.body()).unwrap_or_default();
                    let access = tokens["access_token"].as_str().unwrap_or_default();
                    println!("  paired");
                    return Ok((Secret::new(access), notes.join(", ")));
                }
                Err(e) if e.kind == Kind::AuthorizationPending => {
                    println!("  authorization_pending: polling again in {interval} s");
                }
                Err(e) if e.code.as_deref() == Some("slow_down") => {
                    interval += 5;
                    notes.push("slow_down: interval +5 s");
                    println!("  slow_down: polling interval now {interval} s");
                }
                Err(e) if e.kind == Kind::ExpiredToken => {
                    notes.push("code expired: paired again");
                    println!("  expired_token: the code expired, requesting a new one");
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Err(ApiError::new(Kind::ExpiredToken).with_message("pairing did not complete"))
}

fn report(n: usize, result: Result<apiretry::Response, ApiError>, uploaded: &mut usize) {
    match result {
        Ok(_) => {
            *uploaded += 1;
            println!("  chunk {n} uploaded");
        }
        Err(e) => println!("  chunk {n} failed: {e}"),
    }
}

/// Prints each failed attempt as it happens.
fn print_attempt(e: &Event<'_>) {
    if let (Some(err), Step::Retry(d)) = (e.error, e.step) {
        println!(
            "  attempt {}: {err} -> retry in {} ms",
            e.attempt + 1,
            d.as_millis()
        );
    }
}

pub fn run(argv: impl Iterator<Item = OsString>) -> Result<i32, UsageError> {
    let mut parser = lexopt::Parser::from_args(argv);
    let mut scale = 0.05;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("time-scale") => {
                let s = parser.value()?.string()?;
                scale = s
                    .parse()
                    .ok()
                    .filter(|v: &f64| *v > 0.0 && *v <= 1.0)
                    .ok_or_else(|| {
                        UsageError(format!("--time-scale takes a number in (0, 1], not {s:?}"))
                    })?;
            }
            Long("help") | Short('h') => {
                println!("usage: apiretry demo [--time-scale F]\n\nA C2C device session against the built-in mock API; waits are scaled by F (default 0.05).");
                return Ok(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let started = Instant::now();
    let server =
        MockServer::start().map_err(|e| UsageError(format!("cannot start the mock API: {e}")))?;
    script(&server);
    println!("mock C2C API on {} (waits scaled x{scale})\n", server.url());
    let c2c = Profile::builtin("c2c").expect("built in").clone();
    let fast = Backoff::default().with_base(Duration::from_secs_f64((0.5 * scale).max(0.01)));
    let auth = Client::builder(server.url())
        .profile(c2c.clone())
        .policy(Policy::default().with_max_attempts(1)) // pairing polls classify each answer itself
        .build();
    let mut rows = Vec::new();
    let mut count = {
        let server = &server;
        let mut seen = 0;
        move || {
            let now = server.requests().len();
            let n = now - seen;
            seen = now;
            n
        }
    };

    println!("1. pairing the device");
    let (token, notes) =
        pair(&auth, scale).map_err(|e| UsageError(format!("pairing failed: {e}")))?;
    rows.push(Row {
        step: "pair device",
        requests: count(),
        outcome: format!("paired ({notes})"),
    });
    server.require_token(Some("token-2")); // token-1 expires before the first API call

    let refresher = auth.clone();
    let client = Client::builder(server.url())
        .profile(c2c)
        .policy(Policy::default().with_backoff(fast.clone()))
        .token(token)
        .refresh(move || {
            let resp = refresher.send(
                &Request::post("/v2/auth/token")
                    .body(b"grant_type=refresh_token&refresh_token=r-1".to_vec())
                    .class(RequestClass::AuthRefresh)
                    .without_authorization()
                    .expect(200),
            )?;
            let tokens: serde_json::Value = serde_json::from_slice(resp.body()).unwrap_or_default();
            Ok(Secret::new(
                tokens["access_token"].as_str().unwrap_or_default(),
            ))
        })
        .health_path("/health")
        .health_backoff(fast)
        .state_observer(|s: ClientState| println!("  [client] {s:?}"))
        .observer(Arc::new(print_attempt))
        .build();

    println!("\n2. creating the asset");
    let created = client.send(
        &Request::post("/v2/assets")
            .body(br#"{"name": "A001_C002.mov"}"#.to_vec())
            .expect(201),
    );
    let outcome = match &created {
        Ok(_) => "201 created (token refreshed first)".to_owned(),
        Err(e) => format!("failed: {e}"),
    };
    println!("  {outcome}");
    rows.push(Row {
        step: "create asset",
        requests: count(),
        outcome,
    });

    println!(
        "\n3. uploading {CHUNKS} chunks of {} KiB",
        CHUNK_BYTES / 1024
    );
    let s3 = Profile::builtin("s3").expect("built in").clone();
    let outage_done = Arc::new(AtomicBool::new(false));
    let mut uploaded = 0;
    for n in 1..=CHUNKS {
        if n == 3 {
            // The network drops for a moment during chunk 3.
            server.set_down(true);
            println!("  (network outage)");
            let done = outage_done.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                done.store(true, Ordering::SeqCst);
            });
        }
        let chunk = Request::put(format!("/upload/asset-1/{n}"))
            .profile(s3.clone())
            .class(RequestClass::ChunkUpload)
            .without_authorization()
            .body(vec![n as u8; CHUNK_BYTES])
            .expect(200);
        if n == 3 {
            let c = client.clone();
            let handle = std::thread::spawn(move || c.send(&chunk));
            while !outage_done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            server.set_down(false);
            println!("  (network back)");
            report(n, handle.join().expect("upload thread"), &mut uploaded);
        } else {
            report(n, client.send(&chunk), &mut uploaded);
        }
    }
    rows.push(Row {
        step: "upload chunks",
        requests: count(),
        outcome: format!("{uploaded} of {CHUNKS} uploaded (SlowDown, InternalError, outage)"),
    });

    println!("\n4. creating a second asset");
    let paused = client.send(
        &Request::post("/v2/assets/paused")
            .body(b"{}".to_vec())
            .expect(201),
    );
    let outcome = match paused {
        Err(e) if e.kind == Kind::ChannelPaused => {
            "channel_paused: not uploaded, not retried".to_owned()
        }
        Err(e) => format!("failed: {e}"),
        Ok(_) => "created".to_owned(),
    };
    println!("  {outcome}");
    rows.push(Row {
        step: "create paused asset",
        requests: count(),
        outcome,
    });

    println!("\n{:<22} {:>8}  outcome", "step", "requests");
    for r in &rows {
        println!("{:<22} {:>8}  {}", r.step, r.requests, r.outcome);
    }
    println!("\nsession took {:.1} s", started.elapsed().as_secs_f64());
    Ok(0)
}
