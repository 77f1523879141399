//! `apiretry upload` against the mock: its exit codes, its JSON summary,
//! and a rerun with fresh URLs and the same journal that sends only the
//! parts not done.

#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::Command;

use apiretry::mock::{MockServer, Reply};

mod support;

const PART: usize = 1000;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("apiretry-cli-upload-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A parts file for `urls` with 1000-byte parts.
fn parts_file(dir: &Path, name: &str, urls: &[String]) -> PathBuf {
    let path = dir.join(name);
    let text = serde_json::json!({"part_size": PART, "urls": urls});
    std::fs::write(&path, text.to_string()).unwrap();
    path
}

/// Routes `/{prefix}/{i}` answering 200 with ETag `"e<i>"`; their URLs.
fn routes(server: &MockServer, prefix: &str, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| {
            let path = format!("/{prefix}/{i}");
            let etag = format!("\"e{i}\"");
            server.script("PUT", &path, [Reply::status(200).header("ETag", &etag)]);
            format!("{}{path}", server.url())
        })
        .collect()
}

fn upload(file: &Path, parts: &Path, journal: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_apiretry"))
        .arg("upload")
        .arg(file)
        .arg("--parts")
        .arg(parts)
        .arg("--journal")
        .arg(journal)
        .args([
            "--parallel",
            "2",
            "--attempts",
            "2",
            "--json",
            "--no-part-rules",
        ])
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

const EXPIRED: &str =
    "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";

/// `urls` signed as presigned URLs of multipart upload `upload` are,
/// with `signature`.
fn signed(urls: &[String], upload: &str, signature: &str) -> Vec<String> {
    urls.iter()
        .map(|u| format!("{u}?uploadId={upload}&X-Amz-Date=1&X-Amz-Signature={signature}"))
        .collect()
}

/// Part 3's URL has expired: exit 3, the other parts in the journal; the
/// rerun with the same upload's URLs signed afresh sends part 3 only (and
/// those never started). The journal is bound to its upload: the URLs of
/// another upload are refused with it, nothing sent.
#[test]
fn expired_urls_exit_3_and_a_rerun_with_fresh_ones_finishes() {
    let server = MockServer::start().unwrap();
    let d = dir("expired");
    let file = d.join("clip.mov");
    std::fs::write(&file, vec![5u8; 4 * PART + 10]).unwrap();
    let journal = d.join("clip.journal");
    let old = signed(&routes(&server, "p", 5), "U1", "old");
    server.script("PUT", "/p/3", [Reply::json(403, EXPIRED)]);
    let (code, _, err) = upload(&file, &parts_file(&d, "old.json", &old), &journal);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("expired"), "{err}");
    let before = server.requests().len();
    let plain = routes(&server, "p", 5);
    let (fresh, another) = (signed(&plain, "U1", "new"), signed(&plain, "U2", "new"));
    let (code, _, err) = upload(&file, &parts_file(&d, "other.json", &another), &journal);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another upload"), "{err}");
    assert_eq!(
        server.requests().len(),
        before,
        "nothing sent with another upload's URLs"
    );
    let (code, out, err) = upload(&file, &parts_file(&d, "new.json", &fresh), &journal);
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let etags: Vec<&str> = summary["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["etag"].as_str().unwrap())
        .collect();
    assert_eq!(etags.len(), 5);
    let resumed = summary["resumed"].as_u64().unwrap() as usize;
    let rerun: Vec<String> = server.requests()[before..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(resumed + rerun.len(), 5, "{rerun:?}");
    assert!(rerun.contains(&"/p/3".to_owned()), "{rerun:?}");
}

/// Rows: (what is wrong) -> exit code, and how many requests were sent
/// (a failed part stops new ones and cancels those in flight: with 2 in
/// flight, part 1 may be cut off before the mock has read it, or may have
/// finished and let part 3 start before part 2 failed).
#[test]
fn bad_input_exits_2_sending_nothing_and_a_failed_part_exits_1() {
    let server = MockServer::start().unwrap();
    let d = dir("codes");
    let file = d.join("clip.mov");
    std::fs::write(&file, vec![5u8; 3 * PART]).unwrap();
    let urls = routes(&server, "p", 3);
    let good = parts_file(&d, "good.json", &urls);
    let few = parts_file(&d, "few.json", &urls[..2]);
    let garbage = d.join("garbage.json");
    std::fs::write(&garbage, "{\"part_size\": 5").unwrap();
    let other = d.join("other.journal");
    std::fs::write(&other, "{\"version\": 1}").unwrap();
    let missing = d.join("missing.mov");
    let failing = routes(&server, "f", 3);
    server.script("PUT", "/f/2", [Reply::status(403)]);
    let failing = parts_file(&d, "failing.json", &failing);
    /// (what, file, parts file, journal, exit code, [least, most] sent)
    type Row<'a> = (&'a str, &'a Path, &'a Path, &'a Path, i32, [usize; 2]);
    let rows: [Row; 5] = [
        ("too few URLs", &file, &few, &d.join("j1"), 2, [0, 0]),
        (
            "not a parts file",
            &file,
            &garbage,
            &d.join("j2"),
            2,
            [0, 0],
        ),
        ("not a journal", &file, &good, &other, 2, [0, 0]),
        ("no such file", &missing, &good, &d.join("j3"), 2, [0, 0]),
        (
            "a part refused for good",
            &file,
            &failing,
            &d.join("j4"),
            1,
            [1, 3],
        ),
    ];
    for (what, file, parts, journal, want, [least, most]) in rows {
        server.clear_requests();
        let (code, _, err) = upload(file, parts, journal);
        assert_eq!(code, want, "{what}: {err}");
        let sent = server.requests();
        let n = sent.len();
        assert!((least..=most).contains(&n), "{what}: {n} sent: {err}");
        if want == 1 {
            assert!(sent.iter().any(|r| r.path == "/f/2"), "{what}: {sent:?}");
        }
    }
}

/// 256 MiB in 64 MiB parts, 4 in flight, through the command line: its peak
/// RSS (VmHWM, read while it runs) within 4 MiB of a one-part upload's of 1
/// KiB: no part is held in memory.
#[cfg(target_os = "linux")]
#[test]
fn a_256_mib_upload_in_64_mib_parts_stays_small() {
    let server = MockServer::start().unwrap();
    let d = dir("memory");
    let big = d.join("big.mov");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(256 << 20)
        .unwrap(); // sparse
    let small = d.join("small.mov");
    std::fs::write(&small, vec![1u8; 1024]).unwrap();
    let urls = routes(&server, "m", 4);
    let peak = |file: &Path, part_size: u64, urls: &[String], name: &str| {
        let parts = d.join(format!("{name}.json"));
        let text = serde_json::json!({"part_size": part_size, "urls": urls});
        std::fs::write(&parts, text.to_string()).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiretry"));
        cmd.arg("upload")
            .arg(file)
            .arg("--parts")
            .arg(&parts)
            .arg("--journal")
            .arg(d.join(format!("{name}.journal")))
            .args(["--parallel", "4"]);
        let (out, most) = support::peak_rss(&mut cmd);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        most
    };
    let one = peak(&small, 1 << 20, &urls[..1], "small");
    let four = peak(&big, 64 << 20, &urls, "big");
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    eprintln!(
        "peak RSS: 1 KiB in one part {:.1} MiB, 256 MiB in 64 MiB parts, 4 at once {:.1} MiB",
        mib(one),
        mib(four)
    );
    assert!(
        four < one + (4 << 20),
        "{:.1} MiB against {:.1} MiB",
        mib(four),
        mib(one)
    );
    let sent: u64 = server.requests().iter().map(|r| r.body_len).sum();
    assert_eq!(sent, 1024 + (256 << 20));
}

/// SIGTERM while 4 parts of 8 MiB are in flight, each read at 1.6 MB/s:
/// the command exits within 1.5 s (130), the journal consistent; the rerun
/// sends only the parts not done, and every part once in all.
#[cfg(unix)]
#[test]
fn sigterm_mid_upload_exits_at_once_and_a_rerun_completes() {
    use std::time::Duration;
    let server = MockServer::start().unwrap();
    let d = dir("sigterm");
    let file = d.join("clip.mov");
    std::fs::write(&file, vec![3u8; 4 * (8 << 20) - 100]).unwrap();
    let journal = d.join("clip.journal");
    let urls = routes(&server, "s", 4);
    for i in 1..=4 {
        let slow = Reply::status(200)
            .header("ETag", &format!("\"e{i}\""))
            .read_slowly(64 << 10, Duration::from_millis(40));
        // Part 1 is quick: one part is done when the signal comes.
        let reply = if i == 1 {
            Reply::status(200).header("ETag", "\"e1\"")
        } else {
            slow
        };
        server.script("PUT", &format!("/s/{i}"), [reply]);
    }
    let parts = d.join("parts.json");
    let text = serde_json::json!({"part_size": 8 << 20, "urls": urls});
    std::fs::write(&parts, text.to_string()).unwrap();
    let run = || {
        support::upload_cli(&file, &parts, &journal)
            .spawn()
            .unwrap()
    };
    let child = run();
    // The signal comes once part 1 is in the journal (its head, a record).
    let t = std::time::Instant::now();
    while std::fs::read_to_string(&journal).map_or(0, |j| j.lines().count()) < 2 {
        assert!(t.elapsed() < Duration::from_secs(30), "part 1 never done");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (out, took) = support::terminate(child);
    eprintln!("SIGTERM to exit: {took:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    let before: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    routes(&server, "s", 4);
    let out = run().wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert!(summary["resumed"].as_u64().unwrap() >= 1, "{summary}");
    let rerun: Vec<String> = server.requests()[before.len()..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(!rerun.contains(&"/s/1".to_owned()), "{rerun:?}");
    assert_eq!(
        rerun.len() as u64 + summary["resumed"].as_u64().unwrap(),
        4,
        "{rerun:?}"
    );
}
