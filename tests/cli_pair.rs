//! `apiretry pair` and `apiretry refresh` against the mock's RFC 8628
//! authorization server: exit codes, the code shown before the first poll,
//! the store written only when paired, and no token in any output.

#![cfg(feature = "cli")]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use apiretry::mock::{DeviceFlow, MockServer};
use apiretry::{FileStore, TokenStore};

const SECRET: &str = "p&ss =+%";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apiretry-cli-pair-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn server(flow: DeviceFlow) -> MockServer {
    let server = MockServer::start().unwrap();
    server.device_flow(DeviceFlow {
        client_secret: Some(SECRET.into()),
        interval: 1,
        ..flow
    });
    server
}

/// `command`'s arguments for the mock's authorization server: the client,
/// its secret, its identity header and the store (and for `pair`, the
/// device endpoint, the scope and `--json`).
fn cli_args(command: &str, server: &MockServer, store: &Path) -> Vec<String> {
    let u = server.url();
    let mut args: Vec<String> = [
        command,
        "--token-url",
        &format!("{u}/v2/auth/token"),
        "--client-id",
        "camera",
        "--client-secret",
        SECRET,
        "--header",
        "x-client-version: 2.0.0",
        "--store",
        store.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec();
    if command == "pair" {
        let device = format!("{u}/v2/auth/device/code");
        args.extend(
            [
                "--device-url",
                &device,
                "--scope",
                "asset_create offline",
                "--json",
            ]
            .map(str::to_owned),
        );
    }
    args
}

/// Runs `pair`, handing each stdout line to `line` as it comes; the exit
/// code, every line, and stderr.
fn pair(args: &[String], mut line: impl FnMut(&serde_json::Value)) -> (i32, Vec<String>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_apiretry"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for l in BufReader::new(child.stdout.take().unwrap()).lines() {
        let l = l.unwrap();
        line(&serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}")));
        lines.push(l);
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap().code().unwrap(), lines, err)
}

/// Whether `text` shows one of the mock's tokens or device codes, or the secret.
fn leaks(text: &str) -> bool {
    text.contains(SECRET)
        || ["\"at-", "\"rt-", "\"dc-", " at-", " rt-", " dc-"]
            .iter()
            .any(|p| text.contains(p))
}

#[test]
fn pair_shows_the_code_first_polls_and_stores() {
    let server = server(DeviceFlow {
        approve_after_polls: Some(3),
        ..DeviceFlow::default()
    });
    let dir = scratch("ok");
    let store = dir.join("tokens.json");
    let mut polls_when_code_shown = None;
    let (code, lines, err) = pair(&cli_args("pair", &server, &store), |v| {
        if v["event"] == "code" {
            polls_when_code_shown = Some(
                server
                    .requests()
                    .iter()
                    .filter(|r| r.path.ends_with("token"))
                    .count(),
            );
        }
    });
    assert_eq!(code, 0, "{lines:?} {err}");
    assert_eq!(
        polls_when_code_shown,
        Some(0),
        "the code was shown after a poll"
    );
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["code", "poll", "poll", "poll", "paired"]);
    assert_eq!(events[0]["user_code"], "WDJB-0001");
    assert!(events[0]["verification_uri"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert_eq!(events[1]["kind"], "authorization_pending");
    assert_eq!(events[1]["interval"], 1.0);
    assert_eq!(events[3]["kind"], "paired");
    let tokens = FileStore::new(&store).load().unwrap().unwrap();
    assert!(tokens.refresh_token.is_some());
    for r in server.requests() {
        assert_eq!(r.header("x-client-version"), Some("2.0.0"));
    }
    assert!(!leaks(&lines.join("\n")) && !leaks(&err), "{lines:?} {err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&store).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // refresh: new tokens in the store, the refresh token rotated.
    let refresh = |store: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_apiretry"))
            .args(cli_args("refresh", &server, store))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!leaks(&text), "{text}");
        (out.status.code().unwrap(), text)
    };
    let (code, text) = refresh(&store);
    assert_eq!(code, 0, "{text}");
    let renewed = FileStore::new(&store).load().unwrap().unwrap();
    assert_ne!(renewed.refresh_token, tokens.refresh_token);
    // The spent refresh token is refused: exit 1, "pairing needed", the store untouched.
    FileStore::new(&store).save(&tokens).unwrap();
    let (code, text) = refresh(&store);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("invalid_grant") && text.contains("pairing needed"),
        "{text}"
    );
    assert_eq!(FileStore::new(&store).load().unwrap().unwrap(), tokens);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn pair_exits_1_and_stores_nothing_when_it_does_not_pair() {
    // (server, what the user does, kind printed)
    let rows = [
        (DeviceFlow::default(), Some(false), "access_denied"),
        (
            DeviceFlow {
                expires_in: 2,
                ..DeviceFlow::default()
            },
            None,
            "expired_token",
        ),
    ];
    for (flow, decide, kind) in rows {
        let server = server(flow);
        let dir = scratch(kind);
        let store = dir.join("tokens.json");
        let (code, lines, err) = pair(&cli_args("pair", &server, &store), |v| {
            if let (Some(approve), "code") = (decide, v["event"].as_str().unwrap()) {
                assert!(server.decide(v["user_code"].as_str().unwrap(), approve));
            }
        });
        assert_eq!(code, 1, "{kind}: {lines:?} {err}");
        let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
        assert_eq!(
            (last["event"].as_str(), last["error"]["kind"].as_str()),
            (Some("failed"), Some(kind))
        );
        assert!(!store.exists(), "{kind}: stored");
        assert!(!leaks(&lines.join("\n")), "{lines:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn pair_and_refresh_refuse_bad_arguments_with_2() {
    let rows: [&[&str]; 6] = [
        &["pair", "--token-url", "http://x/t", "--client-id", "c"],
        &[
            "pair",
            "--device-url",
            "ftp://x/d",
            "--token-url",
            "http://x/t",
            "--client-id",
            "c",
        ],
        &[
            "pair",
            "--device-url",
            "http://x/d",
            "--token-url",
            "http://x/t",
        ],
        &[
            "pair",
            "--device-url",
            "http://x/d",
            "--token-url",
            "http://x/t",
            "--client-id",
            "c",
            "--renew",
            "x",
        ],
        &["refresh", "--token-url", "http://x/t", "--client-id", "c"],
        &[
            "refresh",
            "--token-url",
            "http://x/t",
            "--client-id",
            "c",
            "--store",
            "f",
            "--basic-auth",
        ],
    ];
    for args in rows {
        let out = Command::new(env!("CARGO_BIN_EXE_apiretry"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error"),
            "{args:?}"
        );
    }
}
