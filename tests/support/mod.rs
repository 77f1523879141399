//! Shared by the test files: hostile bodies (bad-input and memory tests)
//! and the S3 codes the AWS SDKs document (seed table and botocore tests).

#![allow(dead_code)]

pub mod fault_proxy;
pub mod moto;

use std::path::PathBuf;

use apiretry::Kind::{self, *};

/// A file of `size` bytes in a directory of its own.
pub fn clip(name: &str, size: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apiretry-upmoto-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clip.mov");
    let data: Vec<u8> = (0..size).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(&path, data).unwrap();
    path
}

/// `n` part routes on the mock answering `reply` with ETag `"e<i>"`;
/// their URLs.
#[cfg(feature = "mock")]
pub fn etag_parts(
    server: &apiretry::mock::MockServer,
    n: usize,
    reply: impl Fn() -> apiretry::mock::Reply,
) -> Vec<String> {
    (1..=n)
        .map(|i| {
            let path = format!("/p/{i}");
            server.script("PUT", &path, [reply().header("ETag", &format!("\"e{i}\""))]);
            format!("{}{path}", server.url())
        })
        .collect()
}

/// The codes the AWS SDKs treat as throttling (`docs/00-taxonomy.md`, `s3`).
pub const S3_THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "EC2ThrottledException",
];

/// An AWS error document with `code` and the message "m".
pub fn aws_error(code: &str) -> String {
    format!("<Error><Code>{code}</Code><Message>m</Message></Error>")
}

/// S3 codes no re-send can fix: code, the status S3 sends it with, kind.
pub const S3_HOPELESS: &[(&str, u16, Kind)] = &[
    ("EntityTooLarge", 400, InvalidRequest),
    ("EntityTooSmall", 400, InvalidRequest),
    ("BadDigest", 400, InvalidRequest),
    ("InvalidDigest", 400, InvalidRequest),
    ("InvalidPart", 400, InvalidRequest),
    ("InvalidPartOrder", 400, InvalidRequest),
    ("NoSuchUpload", 404, NotFound),
    ("NoSuchBucket", 404, NotFound),
    ("InvalidAccessKeyId", 403, Forbidden),
    ("SignatureDoesNotMatch", 403, Forbidden),
    ("RequestTimeTooSkewed", 403, Forbidden),
];

pub const TEN_MB: usize = 10 << 20;

/// `[[[[...]]]]`, `depth` levels deep.
pub fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut v = vec![b'['; depth];
    v.extend(b"]".repeat(depth));
    v
}

/// `{"error":{"error":...}}`, `depth` levels deep: nests through a key we decode.
pub fn nested_objects(depth: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(depth * 11);
    for _ in 0..depth {
        v.extend_from_slice(b"{\"error\":");
    }
    v.extend_from_slice(b"1");
    v.extend(b"}".repeat(depth));
    v
}

/// `{"errors":[{"field":["x","x",...]}]}` of about `len` bytes.
pub fn wide_field_list(len: usize) -> Vec<u8> {
    let mut v = b"{\"errors\":[{\"field\":[".to_vec();
    while v.len() < len {
        v.extend_from_slice(b"\"x\",");
    }
    v.extend_from_slice(b"\"x\"]}]}");
    v
}

/// `{"errors":[{"f":["x"]},{"f":["x"]},...]}` of about `len` bytes.
pub fn wide_entry_list(len: usize) -> Vec<u8> {
    let mut v = b"{\"errors\":[".to_vec();
    while v.len() < len {
        v.extend_from_slice(b"{\"f\":[\"x\"]},");
    }
    v.extend_from_slice(b"{}]}");
    v
}

/// Billion laughs: ten levels of ten-fold entity expansion.
pub fn xml_entity_bomb() -> Vec<u8> {
    let mut s = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol0 \"lol\">\n");
    for i in 1..10 {
        let refs: String = (0..10).map(|_| format!("&lol{};", i - 1)).collect();
        s += &format!("<!ENTITY lol{i} \"{refs}\">\n");
    }
    s += "]>\n<Error><Code>&lol9;</Code><Message>boom</Message></Error>";
    s.into_bytes()
}

/// `<a><a>...`, `depth` levels deep.
pub fn nested_xml(depth: usize) -> Vec<u8> {
    let mut v = b"<Error>".repeat(depth);
    v.extend(b"</Error>".repeat(depth));
    v
}

/// Runs `cmd` with its output captured; what it printed and its peak RSS
/// in bytes (VmHWM, read from /proc while it runs: it only grows, so the
/// last reading before the process is gone is its peak, give or take the
/// last 2 ms).
#[cfg(target_os = "linux")]
pub fn peak_rss(cmd: &mut std::process::Command) -> (std::process::Output, u64) {
    // A program that ends before its status was read once has no figure
    // (a race seen with a 20 ms program): it is run again, a few times.
    for _ in 0..10 {
        let (out, most) = sampled_peak_rss(cmd);
        if most > 0 || !out.status.success() {
            return (out, most);
        }
    }
    panic!("{cmd:?} ended each time before its memory could be read");
}

#[cfg(target_os = "linux")]
fn sampled_peak_rss(cmd: &mut std::process::Command) -> (std::process::Output, u64) {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let status = format!("/proc/{}/status", child.id());
    let watcher = std::thread::spawn(move || {
        let mut most = 0u64;
        while let Ok(text) = std::fs::read_to_string(&status) {
            let kib = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            match kib {
                Some(k) => most = most.max(k * 1024),
                None => break, // a zombie: its memory is gone
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        most
    });
    let out = child.wait_with_output().unwrap();
    (out, watcher.join().unwrap())
}

/// `apiretry upload FILE --parts PARTS --journal JOURNAL --json`, its
/// output piped.
#[cfg(feature = "cli")]
pub fn upload_cli(
    file: &std::path::Path,
    parts: &std::path::Path,
    journal: &std::path::Path,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_apiretry"));
    cmd.arg("upload")
        .arg(file)
        .arg("--parts")
        .arg(parts)
        .arg("--journal")
        .arg(journal)
        .arg("--json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// Sends SIGTERM to `child`: its output, and how long it took to exit.
#[cfg(unix)]
pub fn terminate(child: std::process::Child) -> (std::process::Output, std::time::Duration) {
    let t = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    (out, t.elapsed())
}
