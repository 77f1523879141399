//! The `apiretry` command line: each subcommand, and bad arguments (exit 2,
//! clear message).

#![cfg(feature = "cli")]

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_apiretry"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("apiretry-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn classify_prints_the_taxonomy_fields_in_order() {
    let args = [
        "classify",
        "--profile",
        "c2c",
        "--status",
        "409",
        "--body",
        r#"{"error": "Channel Paused"}"#,
    ];
    let v = json(&args);
    let want = [
        "category",
        "kind",
        "retry",
        "status",
        "code",
        "message",
        "fields",
        "retry_after_ms",
        "request_id",
        "hint",
        "profile",
    ];
    assert_eq!(v.as_object().unwrap().len(), want.len());
    // serde_json::Value sorts keys, so read the order off the printed text.
    let text = run(&args).1;
    let at: Vec<usize> = want
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "fields out of order: {text}"
    );
    assert_eq!(v["category"], "api");
    assert_eq!(v["kind"], "channel_paused");
    assert_eq!(v["retry"], "no");
    assert_eq!(v["status"], 409);
    assert_eq!(v["code"], "Channel Paused");
    assert_eq!(v["profile"], "c2c");
    assert_eq!(v["retry_after_ms"], serde_json::Value::Null);
}

#[test]
fn classify_rows() {
    let body = temp_file(
        "s3.xml",
        "<Error><Code>SlowDown</Code><Message>Reduce</Message><RequestId>r1</RequestId></Error>",
    );
    let body = body.to_str().unwrap();
    let rows: &[(&[&str], &str, &str)] = &[
        (
            &[
                "--profile",
                "c2c",
                "--status",
                "429",
                "--header",
                "Retry-After: 3",
            ],
            "kind",
            "rate_limited",
        ),
        (
            &["--profile", "s3", "--status", "503", "--body-file", body],
            "code",
            "SlowDown",
        ),
        (
            &["--profile", "s3", "--status", "503", "--body-file", body],
            "request_id",
            "r1",
        ),
        (
            &["--status", "200", "--expect", "201"],
            "kind",
            "unexpected_status",
        ),
        (&["--status", "500"], "profile", "generic"),
        (&["--profile", "keyed", "--status", "401"], "retry", "no"),
        // Issue 11: S3 answers some operations 200 with an <Error> document.
        (
            &[
                "--profile",
                "s3",
                "--status",
                "200",
                "--body",
                "<Error><Code>InternalError</Code><Message>x</Message></Error>",
            ],
            "kind",
            "server_error",
        ),
    ];
    for (args, field, want) in rows {
        let mut all = vec!["classify"];
        all.extend_from_slice(args);
        assert_eq!(json(&all)[field], *want, "{args:?}");
    }
    assert_eq!(
        json(&[
            "classify",
            "--profile",
            "c2c",
            "--header",
            "Retry-After: 3",
            "--status",
            "429"
        ])["retry_after_ms"],
        3000
    );
}

#[test]
fn success_prints_null() {
    assert_eq!(
        json(&["classify", "--status", "201", "--expect", "201"]),
        serde_json::Value::Null
    );
    assert_eq!(
        json(&["classify", "--status", "204"]),
        serde_json::Value::Null
    );
}

#[test]
fn classify_with_a_profile_file() {
    let file = temp_file(
        "profile.json",
        r#"{"name": "mine", "base": "c2c", "statuses": {"409": "channel_paused"}}"#,
    );
    let v = json(&[
        "classify",
        "--profile-file",
        file.to_str().unwrap(),
        "--status",
        "409",
    ]);
    assert_eq!(
        (v["kind"].as_str(), v["profile"].as_str()),
        (Some("channel_paused"), Some("mine"))
    );
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    let bad_profile = temp_file(
        "bad.json",
        r#"{"name": "x", "statuses": {"409": "paused"}}"#,
    );
    let bad_profile = bad_profile.to_str().unwrap();
    let rows: &[(&[&str], &str)] = &[
        (&[], "no command given"),
        (&["frobnicate"], "unknown command \"frobnicate\""),
        (&["classify"], "classify needs --status N"),
        (
            &["classify", "--status", "abc"],
            "\"abc\" is not an HTTP status",
        ),
        (
            &["classify", "--status", "999"],
            "\"999\" is not an HTTP status",
        ),
        (
            &["classify", "--status"],
            "missing argument for option '--status'",
        ),
        (
            &["classify", "--status", "500", "--profile", "aws"],
            "unknown profile \"aws\"",
        ),
        (
            &["classify", "--status", "500", "--header", "no colon"],
            "is not 'Name: value'",
        ),
        (
            &[
                "classify",
                "--status",
                "500",
                "--body-file",
                "/nonexistent/body",
            ],
            "cannot read body file /nonexistent/body",
        ),
        (
            &[
                "classify",
                "--status",
                "500",
                "--profile-file",
                "/nonexistent/p.json",
            ],
            "cannot read profile /nonexistent/p.json",
        ),
        (
            &["classify", "--status", "500", "--profile-file", bad_profile],
            "unknown kind",
        ),
        (
            &["classify", "--status", "500", "--body", "a", "--body", "b"],
            "given more than once",
        ),
        (
            &["classify", "--status", "500", "--colour"],
            "invalid option '--colour'",
        ),
        (&["samples", "extra"], "samples takes no arguments"),
        (&["demo", "extra"], "unexpected argument \"extra\""),
    ];
    for (args, want) in rows {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {out} {err}");
        assert!(err.contains(want), "{args:?}: stderr was {err}");
        assert!(out.is_empty(), "{args:?}: stdout was {out}");
    }
}

#[test]
fn help_and_samples() {
    for args in [
        &["help"][..],
        &["--help"],
        &["classify", "--help"],
        &["request", "--help"],
        &["serve", "--help"],
        &["demo", "--help"],
    ] {
        let (code, out, _) = run(args);
        assert_eq!(code, 0, "{args:?}");
        assert!(out.contains("usage"), "{args:?}: {out}");
    }
    let (code, out, _) = run(&["samples"]);
    assert_eq!(code, 0);
    for s in apiretry::samples::SEEDS {
        assert!(out.contains(s.name), "samples lacks {}", s.name);
    }
    assert!(out.contains("channel_paused"));
}

/// The README's main job: the C2C device session, in well under a minute,
/// with the final table the scenario implies.
#[test]
fn demo_runs_the_c2c_session() {
    let started = std::time::Instant::now();
    let (code, out, err) = run(&["demo"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    let table = &out[out.find("step ").expect("a final table")..];
    let rows: Vec<&str> = table
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty() && !l.starts_with("c2c queue"))
        .collect();
    assert_eq!(
        rows,
        [
            "pair device                   7  paired (slow_down: interval +5 s, code expired: paired again)",
            "create asset                  3  201 created (token refreshed first)",
            "upload chunks                 7  4 of 4 uploaded (SlowDown, InternalError, outage)",
            "create paused asset           1  channel_paused: not uploaded, not retried",
            "upload clip (resume)          8  6 parts, 3 resumed after a power cut; object of 31457280 bytes",
        ],
        "{out}"
    );
    // The C2C queue's requests vary by the part in flight at the power cut.
    let c2c = table
        .lines()
        .find(|l| l.starts_with("c2c queue"))
        .unwrap_or_default();
    assert!(
        c2c.ends_with("4 clips: 3 done (1 in real time), 1 dropped (paused); 3 assets, 3 playable, after a power cut"),
        "{out}"
    );
    for step in [
        "authorization_pending: polling again in 5 s",
        "slow_down: polling interval now 10 s",
        "expired_token",
        "[client] Authorized",
        "503 SlowDown",
        "500 InternalError",
        "[client] Disconnected",
        "[client] Connected",
    ] {
        assert!(out.contains(step), "missing {step:?}:\n{out}");
    }
    assert!(run(&["demo", "--time-scale", "5"]).0 == 2);
}

mod request {
    use super::run;
    use apiretry::mock::{MockServer, Reply};
    use std::time::{Duration, Instant};

    #[test]
    fn prints_each_attempt_and_the_outcome() {
        let server = MockServer::start().unwrap();
        server.script(
            "POST",
            "/assets",
            [
                Reply::simple(429, "slow_down").header("Retry-After", "0"),
                Reply::json(201, "{}"),
            ],
        );
        let url = format!("{}/assets", server.url());
        let (code, out, err) = run(&[
            "request",
            &url,
            "--method",
            "post",
            "--profile",
            "c2c",
            "--expect",
            "201",
            "--body",
            "{}",
        ]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            err.contains("attempt 1: rate_limited (429 slow_down)")
                && err.contains("-> retry, waiting"),
            "{err}"
        );
        assert!(err.contains("attempt 2: ok -> success"), "{err}");
        // The 429 taught the client a rate for this origin (issue 9).
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("learned rate: "), "{out}");
        assert!(lines[1].starts_with("201 after 2 attempt(s)"), "{out}");
        let sent = server.requests();
        assert_eq!(
            (sent.len(), sent[1].method.as_str(), sent[1].body.as_slice()),
            (2, "POST", &b"{}"[..])
        );
    }

    /// Issue 11: a dead host with 2 attempts ends (it waited for ever), and
    /// a deadline ends the attempt in flight (it waited for the reply).
    #[test]
    fn every_call_ends() {
        let dead = MockServer::start().unwrap().url();
        let slow = MockServer::start().unwrap();
        slow.script(
            "GET",
            "/delay",
            [Reply::status(200).after(Duration::from_secs(10))],
        );
        let rows: Vec<(Vec<String>, &str, Duration)> = vec![
            (
                vec![format!("{dead}/x"), "--attempts".into(), "2".into()],
                "connection",
                Duration::from_secs(5),
            ),
            (
                vec![
                    format!("{}/delay", slow.url()),
                    "--deadline-ms".into(),
                    "1000".into(),
                ],
                "deadline_exceeded",
                Duration::from_millis(1500),
            ),
        ];
        for (args, kind, within) in rows {
            let mut all = vec!["request", "--json"];
            all.extend(args.iter().map(String::as_str));
            let t = Instant::now();
            let (code, out, err) = run(&all);
            assert_eq!(code, 1, "{args:?}: {out}{err}");
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["error"]["kind"], kind, "{args:?}");
            assert!(t.elapsed() < within, "{args:?} took {:?}", t.elapsed());
        }
    }

    #[test]
    fn json_summary_and_failure_exit_code() {
        let server = MockServer::start().unwrap();
        server.script(
            "GET",
            "/x",
            [Reply::detailed(409, "Channel Paused", "paused")],
        );
        let url = format!("{}/x", server.url());
        let (code, out, _) = run(&["request", &url, "--profile", "c2c", "--json"]);
        assert_eq!(code, 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["kind"], "channel_paused");
        assert_eq!(v["attempts"].as_array().unwrap().len(), 1);
        assert_eq!(v["attempts"][0]["decision"], "give up");
    }

    #[test]
    fn bad_arguments_exit_2() {
        let rows: &[(&[&str], &str)] = &[
            (&["request"], "request needs a URL"),
            (&["request", "ftp://x"], "is not an http:// or https:// URL"),
            (
                &["request", "http://127.0.0.1:1", "--method", "G T"],
                "is not an HTTP method",
            ),
            (
                &["request", "http://127.0.0.1:1", "--attempts", "0"],
                "--attempts takes a positive whole number",
            ),
            (
                &["request", "http://127.0.0.1:1", "--profile", "aws"],
                "unknown profile \"aws\"",
            ),
            (
                &[
                    "request",
                    "http://127.0.0.1:1",
                    "--body-file",
                    "/nonexistent/b",
                ],
                "cannot read body file",
            ),
            (
                &["request", "http://127.0.0.1:1", "--frob"],
                "invalid option '--frob'",
            ),
        ];
        for (args, want) in rows {
            let (code, out, err) = run(args);
            assert_eq!(code, 2, "{args:?}: {out}{err}");
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }
}

mod serve {
    use super::run;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    type Lines = std::io::Lines<BufReader<std::process::ChildStdout>>;

    /// `apiretry serve ARGS` with its stdout piped; its first line.
    fn serve(args: &[&str]) -> (std::process::Child, Lines, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_apiretry"))
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        (child, lines, first)
    }

    #[test]
    fn serves_a_scenario_file() {
        let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/c2c.json");
        let (mut child, lines, first) =
            serve(&["--scenario", scenario, "--port", "0", "--for", "2"]);
        let url = first.rsplit(' ').next().unwrap().to_owned();
        assert!(
            first.starts_with("apiretry mock API listening on http://127.0.0.1:"),
            "{first}"
        );

        let paused = format!("{url}/v2/assets/paused");
        let (code, out, _) = run(&[
            "request",
            &paused,
            "--method",
            "POST",
            "--profile",
            "c2c",
            "--token",
            "device-token",
            "--json",
        ]);
        assert_eq!(code, 1);
        assert!(out.contains("\"kind\": \"channel_paused\""), "{out}");
        let (code, out, _) = run(&[
            "request",
            &paused,
            "--method",
            "POST",
            "--profile",
            "c2c",
            "--json",
        ]);
        assert_eq!(code, 1, "no token: the scenario requires one");
        assert!(out.contains("\"kind\": \"unauthorized\""), "{out}");

        assert!(child.wait().unwrap().success());
        let last = lines.map(Result::unwrap).last().unwrap();
        assert_eq!(last, "served 2 requests (0 answered 429, 0 answered 503)");
    }

    /// examples/scenarios/faults.json, served by `apiretry serve`: each
    /// fault a device must survive, classified by the client as documented
    /// in the README, then the route's next reply succeeds.
    #[test]
    fn serves_every_fault_from_a_scenario_file() {
        use apiretry::{Client, Kind, Policy, Request, Timeouts};
        use std::time::Duration;
        let scenario = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/scenarios/faults.json"
        );
        let (mut child, _lines, first) = serve(&["--scenario", scenario, "--port", "0"]);
        let url = first.rsplit(' ').next().unwrap().to_owned();
        let client = Client::builder(url)
            .policy(Policy::default().with_max_attempts(1))
            .timeouts(Timeouts {
                default: Duration::from_millis(1000),
                ..Timeouts::default()
            })
            .max_body(1 << 20)
            .without_budget()
            .build();
        let upload = Request::put("/fault/drop-upload").body(vec![9u8; 200_000]);
        let rows: [(&str, Request, Kind); 8] = [
            (
                "delay before headers",
                Request::get("/fault/delay"),
                Kind::Timeout,
            ),
            (
                "trickled body",
                Request::get("/fault/trickle"),
                Kind::Timeout,
            ),
            (
                "truncated body",
                Request::get("/fault/truncate"),
                Kind::Connection,
            ),
            (
                "oversized body",
                Request::get("/fault/oversize"),
                Kind::BodyTooLarge,
            ),
            ("dropped mid-upload", upload, Kind::Connection),
            ("reset", Request::get("/fault/reset"), Kind::Connection),
            (
                "closed before headers",
                Request::get("/fault/close"),
                Kind::Connection,
            ),
            (
                "rate limited",
                Request::get("/fault/rate-limited"),
                Kind::RateLimited,
            ),
        ];
        for (fault, req, kind) in rows {
            let err = client.send(&req).unwrap_err();
            assert_eq!(err.kind, kind, "{fault}: {err}");
            if kind == Kind::RateLimited {
                assert_eq!(err.retry_after_ms, Some(2000), "{fault}");
            }
            let again = client.send(&req.clone().policy(Policy::default()));
            assert!(again.is_ok(), "{fault}, then: {again:?}");
        }
        child.kill().unwrap();
        let _ = child.wait();
    }

    /// `serve --tls CA` and `request --cacert CA`, named as curl names them;
    /// without the CA the handshake is refused, classified `tls`.
    #[test]
    fn serves_https_with_a_test_ca() {
        let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/c2c.json");
        let ca = std::env::temp_dir().join(format!("apiretry-serve-ca-{}.pem", std::process::id()));
        let ca_path = ca.to_str().unwrap();
        let (mut child, _lines, first) =
            serve(&["--scenario", scenario, "--for", "2", "--tls", ca_path]);
        let url = first.rsplit(' ').next().unwrap().to_owned();
        assert!(url.starts_with("https://127.0.0.1:"), "{first}");
        let health = format!("{url}/health");
        let (code, out, err) = run(&["request", &health, "--cacert", ca_path, "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, _) = run(&["request", &health, "--json"]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("\"kind\": \"tls\""), "{out}");
        let (code, _, err) = run(&["request", &health, "--cacert", "/nonexistent.pem"]);
        assert_eq!(code, 2, "{err}");
        assert!(child.wait().unwrap().success());
        let _ = std::fs::remove_file(&ca);
    }

    /// A call made during a scripted outage waits and succeeds after it.
    #[test]
    fn scenario_outages() {
        let file =
            std::env::temp_dir().join(format!("apiretry-outage-{}.json", std::process::id()));
        std::fs::write(
            &file,
            r#"{"outages": [{"after_ms": 300, "for_ms": 1200}],
                "routes": [{"method": "GET", "path": "/x", "replies": [{"status": 200}]},
                           {"method": "GET", "path": "/", "replies": [{"status": 204}]}]}"#,
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_apiretry"))
            .args(["serve", "--scenario", file.to_str().unwrap(), "--for", "4"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = lines
            .next()
            .unwrap()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned();
        assert_eq!(
            lines.next().unwrap().unwrap().split(" at ").next(),
            Some("outage: down")
        );
        let started = std::time::Instant::now();
        let (code, out, err) = run(&["request", &format!("{url}/x"), "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(500),
            "it waited for the outage to end"
        );
        assert!(child.wait().unwrap().success());
    }

    /// A shedding outage (every request 503 at once) from a scenario file:
    /// `request --json` shows the client judge the service overloaded after
    /// three refusals and recover when it accepts again.
    #[test]
    fn scenario_shedding_outage() {
        let file = std::env::temp_dir().join(format!("apiretry-shed-{}.json", std::process::id()));
        std::fs::write(
            &file,
            r#"{"outages": [{"after_ms": 300, "for_ms": 3000, "shed": true}],
                "routes": [{"method": "GET", "path": "/x", "replies": [{"status": 200}]}]}"#,
        )
        .unwrap();
        let (mut child, mut lines, first) =
            serve(&["--scenario", file.to_str().unwrap(), "--for", "9"]);
        let url = first.rsplit(' ').next().unwrap().to_owned();
        let down = lines.next().unwrap().unwrap();
        assert!(
            down.starts_with("outage (every request answered 503"),
            "{down}"
        );
        let (code, out, err) = run(&["request", &format!("{url}/x"), "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let states: Vec<&str> = v["states"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["overloaded", "recovered"], "{out}");
        let attempts = v["attempts"].as_array().unwrap();
        for a in &attempts[..3] {
            assert_eq!(
                (a["status"].as_u64(), a["kind"].as_str()),
                (Some(503), Some("unavailable"))
            );
        }
        assert_eq!(attempts.last().unwrap()["decision"], "success", "{out}");
        assert!(v["held"].is_array(), "{out}");
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn bad_scenarios_exit_2() {
        let bad =
            std::env::temp_dir().join(format!("apiretry-bad-scenario-{}.json", std::process::id()));
        std::fs::write(
            &bad,
            r#"{"routes": [{"method": "GET", "path": "/", "replies": [{}]}]}"#,
        )
        .unwrap();
        let bad = bad.to_str().unwrap();
        let good = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/c2c.json");
        let rows: &[(&[&str], &str)] = &[
            (&["serve"], "serve needs --scenario FILE"),
            (
                &["serve", "--scenario", "/nonexistent/s.json"],
                "cannot read scenario file /nonexistent/s.json",
            ),
            (
                &["serve", "--scenario", bad],
                "routes[0].replies[0]: a reply needs \"status\" or \"fault\"",
            ),
            (
                &["serve", "--scenario", good, "--port", "http"],
                "--port takes a port number",
            ),
        ];
        for (args, want) in rows {
            let (code, out, err) = run(args);
            assert_eq!(code, 2, "{args:?}: {out}{err}");
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }
}
