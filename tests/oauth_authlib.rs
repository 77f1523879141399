//! Against a real OAuth server: Authlib's device flow (RFC 8628) and
//! refresh-token grant (`tests/oauth/authlib_server.py`, in a virtual
//! environment that `.ci/authlib-venv` makes), driven through
//! `apiretry pair` and `apiretry refresh`. What the server saw is read
//! from its log: poll times, `x-client-version`, the form's fields.
//!
//! Skipped, with the reason printed, only when python3 is missing.

#![cfg(feature = "cli")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use apiretry::{Client, FileStore, Request, TokenStore};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The secret the server knows: every character RFC 3986 reserves for
/// itself, and a space.
const SECRET: &str = "s&cr=t +%/?#";

/// Authlib's server on a free port, stopped when dropped.
struct Authlib {
    child: Child,
    url: String,
}

impl Drop for Authlib {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The virtual environment, made once per test binary.
fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let out = Command::new("bash")
            .arg(Path::new(ROOT).join(".ci/authlib-venv"))
            .stderr(Stdio::inherit())
            .output()
            .expect("bash runs .ci/authlib-venv");
        assert!(
            out.status.success(),
            "could not install Authlib (.ci/authlib-venv)"
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

impl Authlib {
    /// `None` (with the reason printed) only when there is no python3.
    fn start() -> Option<Authlib> {
        if Command::new("python3").arg("--version").output().is_err() {
            eprintln!("SKIPPED: python3 is missing, so Authlib's server cannot run");
            return None;
        }
        let mut child = Command::new(venv().join("bin/python"))
            .arg(Path::new(ROOT).join("tests/oauth/authlib_server.py"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the Authlib server starts");
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        let port: u16 = port.trim().parse().expect("the server prints its port");
        Some(Authlib {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Every request the server saw.
    fn log(&self) -> Vec<Value> {
        let client = Client::builder(&self.url).build();
        let resp = client.send(&Request::get("/log").expect(200)).unwrap();
        serde_json::from_slice(resp.body()).unwrap()
    }

    /// Runs the CLI against this server: exit code, stdout lines, stderr.
    fn cli(&self, args: &[&str]) -> (i32, Vec<Value>, String) {
        let u = &self.url;
        let (device, token) = (format!("{u}/device"), format!("{u}/token"));
        let mut full: Vec<&str> = vec![
            args[0],
            "--token-url",
            &token,
            "--client-id",
            "camera",
            "--client-secret",
            SECRET,
            "--header",
            "x-client-version: 2.0.0",
            "--json",
        ];
        if args[0] == "pair" {
            full.extend(["--device-url", device.as_str()]);
        }
        full.extend(&args[1..]);
        let out = Command::new(env!("CARGO_BIN_EXE_apiretry"))
            .args(&full)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
        let lines = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (out.status.code().unwrap(), lines, stderr)
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apiretry-authlib-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn events(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l["event"].as_str().unwrap() {
            "poll" => format!("poll {}", l["kind"].as_str().unwrap()),
            "failed" => format!("failed {}", l["error"]["kind"].as_str().unwrap()),
            e => e.to_owned(),
        })
        .collect()
}

/// Poll times, as the server saw them.
fn polls(log: &[Value]) -> Vec<f64> {
    log.iter()
        .filter(|r| r["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code")
        .map(|r| r["at"].as_f64().unwrap())
        .collect()
}

#[test]
fn pairs_after_pending_polls_then_refreshes_with_rotation_until_invalid_grant() {
    let Some(server) = Authlib::start() else {
        return;
    };
    let dir = scratch("pair");
    let store = dir.join("tokens.json");
    let s = store.to_str().unwrap();
    let (code, lines, err) = server.cli(&["pair", "--scope", "approve-after-3", "--store", s]);
    assert_eq!(code, 0, "{lines:?} {err}");
    assert_eq!(
        events(&lines),
        [
            "code",
            "poll authorization_pending",
            "poll authorization_pending",
            "poll paired",
            "paired"
        ]
    );
    let paired = FileStore::new(&store).load().unwrap().unwrap();
    assert_eq!(paired.scope.as_deref(), Some("approve-after-3"));
    // The server saw the interval (1 s) kept between polls.
    let times = polls(&server.log());
    assert_eq!(times.len(), 3);
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= 1.0, "{times:?}");
    }

    // Two refreshes, by form and by Basic: each rotates the refresh token.
    let mut seen = vec![paired.refresh_token.clone().unwrap()];
    for extra in [&[][..], &["--basic-auth"][..]] {
        let mut args = vec!["refresh", "--store", s];
        args.extend(extra);
        let (code, lines, err) = server.cli(&args);
        assert_eq!(
            (code, events(&lines)),
            (0, vec!["refreshed".to_owned()]),
            "{err}"
        );
        let now = FileStore::new(&store).load().unwrap().unwrap();
        let rt = now.refresh_token.clone().unwrap();
        assert!(!seen.contains(&rt), "the refresh token did not rotate");
        seen.push(rt);
    }
    // The spent refresh token: invalid_grant, one request, pairing needed.
    let spent = paired.clone();
    FileStore::new(&store).save(&spent).unwrap();
    let before = server.log().len();
    let (code, lines, _) = server.cli(&["refresh", "--store", s]);
    assert_eq!(code, 1);
    let e = &lines[0]["error"];
    assert_eq!(e["kind"], "unauthorized");
    assert!(
        e["message"].as_str().unwrap().contains("pairing needed"),
        "{e}"
    );
    assert!(
        e["message"].as_str().unwrap().contains("invalid_grant"),
        "{e}"
    );
    assert_eq!(
        server.log().len(),
        before + 1,
        "a refused refresh is one request"
    );

    // Every request carried the client's identity header; Basic when asked.
    let log = server.log();
    for r in &log {
        assert_eq!(r["x_client_version"], "2.0.0", "{r}");
        let basic = r["basic"].as_bool().unwrap();
        let in_form = r["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "client_secret");
        assert!(basic != in_form, "the secret goes one way: {r}");
    }
    assert_eq!(log.iter().filter(|r| r["basic"] == true).count(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn slow_down_adds_5_s_measured_on_the_server() {
    let Some(server) = Authlib::start() else {
        return;
    };
    let (code, lines, err) = server.cli(&["pair", "--scope", "slow-once approve-after-3"]);
    assert_eq!(code, 0, "{lines:?} {err}");
    assert_eq!(lines[1]["code"], "slow_down");
    assert_eq!(lines[1]["interval"], 6.0);
    let times = polls(&server.log());
    assert_eq!(times.len(), 3, "{times:?}");
    assert!(
        times[1] - times[0] >= 6.0,
        "slow_down was not obeyed: {times:?}"
    );
    assert!(
        times[2] - times[1] >= 6.0,
        "the longer interval did not last: {times:?}"
    );
}

#[test]
fn denial_and_expiry_end_pairing_with_exit_1() {
    let Some(server) = Authlib::start() else {
        return;
    };
    // (arguments, events, requests to the device endpoint)
    let rows: [(&[&str], &[&str], usize); 3] = [
        (
            &["--scope", "deny"],
            &["code", "poll access_denied", "failed access_denied"],
            1,
        ),
        (
            &["--scope", "expire-fast"],
            &[
                "code",
                "poll authorization_pending",
                "poll authorization_pending",
                "poll expired_token",
                "failed expired_token",
            ],
            1,
        ),
        (
            &["--scope", "expire-fast", "--renew", "1"],
            &[
                "code",
                "poll authorization_pending",
                "poll authorization_pending",
                "poll expired_token",
                "code",
                "poll authorization_pending",
                "poll authorization_pending",
                "poll expired_token",
                "failed expired_token",
            ],
            2,
        ),
    ];
    let mut devices = 0;
    for (args, want, codes) in rows {
        let dir = scratch("fail");
        let store = dir.join("tokens.json");
        let mut full = vec!["pair", "--store", store.to_str().unwrap()];
        full.extend(args);
        let (code, lines, err) = server.cli(&full);
        assert_eq!(
            (code, events(&lines)),
            (1, want.iter().map(|s| s.to_string()).collect()),
            "{args:?} {err}"
        );
        assert!(!store.exists(), "{args:?}: nothing is stored");
        devices += codes;
        let seen = server
            .log()
            .iter()
            .filter(|r| r["path"] == "/device")
            .count();
        assert_eq!(seen, devices, "{args:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
