//! `apiretry demo`: a realistic Camera-to-Cloud device session against the
//! mock API, in process: pairing (RFC 8628), token refresh, asset creation,
//! a chunked upload through S3 errors and a network outage, an asset whose
//! channel is paused, and a clip uploaded whole (`apiretry::upload`) that
//! resumes from its journal after a power cut. Waits are scaled down (`--time-scale`) so that
//! it runs in seconds; the protocol's own values are printed.

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{
    CancelToken, Client, ClientState, Clock, Event, Kind, OAuth, Pairing, Profile, Request,
    RequestClass, Step,
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
            Reply::json(200, r#"{"device_code": "dc-1", "user_code": "QXKD-PLWM", "verification_uri": "https://frame.io/c2c", "interval": 5, "expires_in": 600}"#),
            Reply::json(200, r#"{"device_code": "dc-2", "user_code": "MNRT-WBQZ", "verification_uri": "https://frame.io/c2c", "interval": 5, "expires_in": 600}"#),
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

/// Waits shortened by a factor, so that the session runs in seconds while
/// the protocol's own values (intervals, backoff) are printed.
#[derive(Debug)]
struct Scaled(f64);

impl Clock for Scaled {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration, cancel: &CancelToken) -> bool {
        cancel.sleep(duration.mul_f64(self.0))
    }
}

/// How the library's pairing went, told as it happens.
fn pairing(server: &MockServer, notes: &Arc<Mutex<Vec<&'static str>>>) -> Pairing {
    let notes = notes.clone();
    Pairing::new(format!("{}/v2/auth/device/code", server.url()))
        .scope("asset_create offline")
        .renew(2)
        .on_code(|c| {
            println!(
                "  device code issued: the user enters {} at {}",
                c.user_code, c.verification_uri
            )
        })
        .on_poll(move |p| {
            let s = p.interval.as_secs();
            match p.error.map(|e| (e.kind, e.code.as_deref())) {
                None => println!("  paired"),
                Some((Kind::AuthorizationPending, _)) => {
                    println!("  authorization_pending: polling again in {s} s")
                }
                Some((_, Some("slow_down"))) => {
                    notes.lock().unwrap().push("slow_down: interval +5 s");
                    println!("  slow_down: polling interval now {s} s");
                }
                Some((Kind::ExpiredToken, _)) => {
                    notes.lock().unwrap().push("code expired: paired again");
                    println!("  expired_token: the code expired, requesting a new one");
                }
                Some((_, _)) => {}
            }
        })
}

fn report(n: usize, result: Result<apiretry::Response, apiretry::ApiError>, uploaded: &mut usize) {
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
    // The library pairs, keeps the tokens and refreshes them (RFC 8628, RFC 6749 6).
    let client = Client::builder(server.url())
        .profile(c2c)
        .header("x-client-version", "2.0.0")
        .oauth(OAuth::new(
            format!("{}/v2/auth/token", server.url()),
            "camera",
        ))
        .clock(Arc::new(Scaled(scale)))
        .health_path("/health")
        .state_observer(|s: ClientState| println!("  [client] {s:?}"))
        .observer(Arc::new(print_attempt))
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
    let notes = Arc::default();
    client
        .pair(&pairing(&server, &notes), &CancelToken::new())
        .map_err(|e| UsageError(format!("pairing failed: {e}")))?;
    rows.push(Row {
        step: "pair device",
        requests: count(),
        outcome: format!("paired ({})", notes.lock().unwrap().join(", ")),
    });
    server.require_token(Some("token-2")); // token-1 expires before the first API call

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

    println!("\n5. uploading the clip whole: parts in parallel, a journal");
    let outcome = crate::session_upload::upload_clip(&server, &client);
    rows.push(Row {
        step: "upload clip (resume)",
        requests: count(),
        outcome,
    });

    println!("\n6. the Camera-to-Cloud queue: a recording, a paused clip, a power cut");
    let outcome = crate::session_c2c::queue_clips(&server, &client);
    rows.push(Row {
        step: "c2c queue",
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
