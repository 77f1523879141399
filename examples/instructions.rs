//! The hot paths as instruction counts: run under callgrind by
//! `.ci/instructions`, which counts only inside `measured` (the setup and,
//! for the client, the mock server, in a process of its own, are not
//! counted) and holds the counts per iteration to a committed baseline.
//!
//! ```text
//! instructions --list            the benchmarks, one a line
//! instructions BENCH N           runs BENCH N times inside `measured`
//! instructions serve             a mock server: prints its URL, runs until stdin closes
//! ```
//!
//! Instruction counts, unlike wall-clock time on a shared 2-core machine,
//! move by well under 1% from run to run, so a 5% regression is seen.

use std::hint::black_box;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Instant;

use apiretry::mock::{MockServer, Reply};
use apiretry::samples::SEEDS;
use apiretry::{ApiError, Client, Kind, Policy, Profile, RawResponse, Request, RetryState};

/// The C calls `benches/ffi.rs` times, counted here.
#[path = "../benches/support/c_calls.rs"]
mod c_calls;

/// Runs `f` `n` times; callgrind collects inside this function only.
#[inline(never)]
fn measured(n: u64, f: &mut dyn FnMut()) {
    for _ in 0..n {
        f();
    }
}

fn benches() -> Vec<String> {
    let mut names: Vec<String> = SEEDS
        .iter()
        .filter(|s| !s.body.is_empty())
        .map(|s| format!("classify/{}", s.name))
        .collect();
    names.extend(
        [
            "c/decisions-3-attempts",
            "c/classify-3-responses",
            "retry/decision-step",
            "pairing/poll-pending",
            "client/attempt",
            "ureq/attempt",
        ]
        .map(String::from),
    );
    names
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [list] if list == "--list" => benches().iter().for_each(|b| println!("{b}")),
        [serve] if serve == "serve" => serve_until_stdin_closes(),
        [bench, n] => run(bench, n.parse().expect("a count")),
        _ => eprintln!("usage: instructions --list | BENCH N | serve"),
    }
}

fn serve_until_stdin_closes() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/ping", [Reply::json(200, r#"{"ok": true}"#)]);
    println!("{}", server.url());
    for _ in std::io::stdin().lock().lines() {}
}

fn run(bench: &str, n: u64) {
    if let Some(name) = bench.strip_prefix("classify/") {
        let s = SEEDS.iter().find(|s| s.name == name).expect("a seed");
        let p = Profile::builtin(s.profile).unwrap();
        return measured(n, &mut || {
            black_box(p.classify(&RawResponse::new(s.status).body(black_box(s.body.as_bytes()))));
        });
    }
    match bench {
        "c/decisions-3-attempts" => {
            let calls = c_calls::S3Calls::new();
            measured(n, &mut || calls.call_of_three());
        }
        "c/classify-3-responses" => {
            let calls = c_calls::S3Calls::new();
            measured(n, &mut || calls.classify_three());
        }
        "retry/decision-step" => {
            let policy = Policy::default();
            let err = ApiError::new(Kind::Unavailable);
            let now = Instant::now();
            measured(n, &mut || {
                let mut state = RetryState::new(&policy, now, 7);
                black_box(state.on_failure(black_box(&err), now, None));
            });
        }
        "pairing/poll-pending" => {
            let c2c = Profile::builtin("c2c").unwrap();
            let body = br#"{"error": "authorization_pending", "error_description": "waiting"}"#;
            measured(n, &mut || {
                black_box(c2c.classify(&RawResponse::new(400).body(black_box(body))));
            });
        }
        "client/attempt" | "ureq/attempt" => http(bench, n),
        other => panic!("no benchmark {other}"),
    }
}

/// One GET on loopback per iteration, through `Client` or a bare ureq agent,
/// to a mock server in a child process (its work is not counted).
fn http(bench: &str, n: u64) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let base = url.trim().to_owned();
    let ping = format!("{base}/ping");
    let client = Client::builder(&base).build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let req = Request::get("/ping").expect(200);
    // One untimed call each first: connections pooled, lazy state made.
    client.send(&req).unwrap();
    agent
        .get(&ping)
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    let ours = bench == "client/attempt";
    measured(n, &mut || {
        if ours {
            black_box(client.send(&req).unwrap());
        } else {
            let mut r = agent.get(&ping).call().unwrap();
            black_box(r.body_mut().read_to_vec().unwrap());
        }
    });
    drop(child.stdin.take());
    let _ = child.wait();
}
