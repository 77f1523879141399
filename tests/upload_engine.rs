//! The upload engine where it meets a real service, against the mock over
//! TCP: the headers presigned URLs sign on every part; a file changed
//! during the run ends it (`file_changed`); a second run on a journal is
//! refused at once (`journal_busy`); a cancel, or a part failing for good,
//! ends the parts in flight within 1 s; a redirect or a stored checksum
//! that is not the bytes sent never completes a part; S3's part rules
//! refuse a layout before anything is sent. Growing files:
//! `tests/upload_growing.rs`.

#![cfg(feature = "mock")]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::upload::{
    Upload, FILE_CHANGED, JOURNAL_BUSY, MIN_PART_SIZE, PART_RULES, SIGNED_HEADER_MISSING,
};
use apiretry::{CancelToken, Client, Kind, Policy};
use support::etag_parts as parts;

mod support;

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("apiretry-engine-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// A file of `size` bytes.
fn clip(name: &str, size: usize) -> PathBuf {
    let path = dir(name).join("clip.mov");
    std::fs::write(&path, bytes(size)).unwrap();
    path
}

fn client(server: &MockServer) -> Client {
    Client::builder(server.url())
        .policy(Policy::default().with_max_attempts(3))
        .build()
}

/// A peer that reads each body at 1.6 MB/s: an 8 MiB part takes 5 s.
fn slowly() -> Reply {
    Reply::status(200).read_slowly(64 * KIB, Duration::from_millis(40))
}

#[test]
fn the_signed_headers_go_with_every_part() {
    let server = MockServer::start().unwrap();
    let path = clip("headers", 5 * 64 * KIB + 10);
    let urls = parts(&server, 6, || Reply::status(200));
    Upload::new(&client(&server), &path, 64 << 10)
        .part_rules(false)
        .urls(urls)
        .header("Content-Type", "video/quicktime")
        .header("x-amz-acl", "private")
        .run(None)
        .unwrap();
    let puts = server.requests();
    assert_eq!(puts.len(), 6);
    for r in &puts {
        assert_eq!(
            r.header("content-type"),
            Some("video/quicktime"),
            "{}",
            r.path
        );
        assert_eq!(r.header("x-amz-acl"), Some("private"), "{}", r.path);
        assert_eq!(r.header("authorization"), None, "{}", r.path);
    }
    // A header that is none is refused before anything is sent.
    server.clear_requests();
    let err = Upload::new(&client(&server), &path, 64 << 10)
        .part_rules(false)
        .urls(parts(&server, 6, || Reply::status(200)))
        .header("x-amz-acl", "private\r\nx-evil: 1")
        .run(None)
        .unwrap_err();
    assert_eq!(err.kind, Kind::Application, "{err}");
    assert!(server.requests().is_empty());
    // URLs that sign a header the parts would not carry (Frame.io's sign
    // x-amz-acl): refused before anything is sent, the header named.
    let signing: Vec<String> = parts(&server, 6, || Reply::status(200))
        .into_iter()
        .map(|u| {
            format!("{u}?X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-acl&X-Amz-Signature=s")
        })
        .collect();
    let err = Upload::new(&client(&server), &path, 64 << 10)
        .part_rules(false)
        .urls(signing)
        .header("Content-Type", "video/quicktime")
        .run(None)
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some(SIGNED_HEADER_MISSING), "{err}");
    assert!(err.message.contains("x-amz-acl"), "{err}");
    assert!(server.requests().is_empty());
}

/// Rows: a layout S3 refuses -> `part_rules`, nothing sent; the same with
/// the rules off is sent.
#[test]
fn s3s_part_rules_refuse_a_layout_before_anything_is_sent() {
    let server = MockServer::start().unwrap();
    let path = clip("rules", 3 * MIB);
    let rows = [
        ("1 MiB parts", MIB as u64, Some(PART_RULES)),
        ("one part of 3 MiB", 3 * MIB as u64, None),
        ("5 MiB parts (one)", MIN_PART_SIZE, None),
    ];
    for (what, part, code) in rows {
        server.clear_requests();
        let n = (3 * MIB as u64).div_ceil(part) as usize;
        let got = Upload::new(&client(&server), &path, part)
            .urls(parts(&server, n, || Reply::status(200)))
            .run(None);
        assert_eq!(
            got.as_ref().err().and_then(|e| e.code.as_deref()),
            code,
            "{what}"
        );
        assert_eq!(
            server.requests().len(),
            if code.is_some() { 0 } else { n },
            "{what}"
        );
    }
}

/// The file written to while its parts go: the run ends as `file_changed`,
/// and no part whose answer came after the change is in the journal.
#[test]
fn a_file_written_to_during_the_run_ends_it() {
    let server = MockServer::start().unwrap();
    let path = clip("changed", 4 * 64 * KIB);
    let journal = path.with_extension("journal");
    let urls = parts(&server, 4, || {
        Reply::status(200).read_slowly(16 * KIB, Duration::from_millis(20))
    });
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"more").unwrap();
        })
    };
    let err = Upload::new(&client(&server), &path, 64 << 10)
        .part_rules(false)
        .parallel(1)
        .urls(urls)
        .journal(&journal)
        .run(None)
        .unwrap_err();
    writer.join().unwrap();
    assert_eq!(err.code.as_deref(), Some(FILE_CHANGED), "{err}");
    let records = std::fs::read_to_string(&journal).unwrap().lines().count() - 1;
    assert!(records < 4, "{records} parts recorded done");
}

#[test]
fn a_second_run_on_the_same_journal_is_refused_at_once() {
    let server = MockServer::start().unwrap();
    let path = clip("busy", 2 * 64 * KIB);
    let journal = path.with_extension("journal");
    let urls = parts(&server, 2, || {
        Reply::status(200).read_slowly(16 * KIB, Duration::from_millis(50))
    });
    let up = Upload::new(&client(&server), &path, 64 << 10)
        .part_rules(false)
        .parallel(1)
        .urls(urls)
        .journal(&journal);
    let first = {
        let up = up.clone();
        std::thread::spawn(move || up.run(None))
    };
    while server.requests().is_empty() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let t = Instant::now();
    let err = up.run(None).unwrap_err();
    assert_eq!(err.code.as_deref(), Some(JOURNAL_BUSY), "{err}");
    assert!(t.elapsed() < Duration::from_millis(1000));
    assert_eq!(first.join().unwrap().unwrap().etags.len(), 2);
    assert_eq!(server.requests().len(), 2, "the second run sent nothing");
}

/// Rows: what stops a run of 4 parts of 8 MiB in flight, each read at 1.6
/// MB/s (5 s) -> it returns within 1 s, with that cause.
#[test]
fn a_cancel_or_a_part_failing_ends_the_parts_in_flight_within_1_s() {
    for what in ["a cancel", "a part refused for good"] {
        let server = MockServer::start().unwrap();
        let path = clip("stop", 32 * MIB);
        let urls = parts(&server, 4, slowly);
        let cancel = CancelToken::new();
        let stopped_at: Arc<Mutex<Option<Instant>>> = Arc::default();
        if what == "a part refused for good" {
            // Answered once its body is read, while the others' go on.
            server.script("PUT", "/p/2", [Reply::status(403)]);
        } else {
            let (c, at) = (cancel.clone(), stopped_at.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(500));
                *at.lock().unwrap() = Some(Instant::now());
                c.cancel();
            });
        }
        let t = Instant::now();
        let err = Upload::new(&client(&server), &path, 8 << 20)
            .urls(urls)
            .run(Some(&cancel))
            .unwrap_err();
        let ended = Instant::now();
        let want = match what {
            "a cancel" => Kind::Cancelled,
            _ => Kind::Forbidden,
        };
        assert_eq!(err.kind, want, "{what}: {err}");
        // The failure's moment: the 403's request arrived (its body read at
        // loopback speed, ms); the run began before it.
        let stop = stopped_at.lock().unwrap().unwrap_or(t);
        let took = ended - stop;
        eprintln!(
            "{what}: the run ended {took:?} after the stop ({:?} after it began)",
            ended - t
        );
        assert!(took < Duration::from_secs(1), "{what}: {took:?}");
    }
}

/// Rows: an answer that is no proof the part is stored -> not done.
#[test]
fn a_redirect_or_an_etag_of_other_bytes_never_completes_a_part() {
    let server = MockServer::start().unwrap();
    let path = clip("proof", 1000);
    let url = format!("{}/p/1", server.url());
    let other_md5 = "\"0123456789abcdef0123456789abcdef\"";
    let rows = [
        (
            "a 303 to a GET that has an ETag",
            vec![Reply::status(303).header("Location", "/elsewhere")],
            "redirect",
            1,
        ),
        (
            "an MD5 ETag of other bytes, three times",
            vec![Reply::status(200).header("ETag", other_md5); 3],
            "stored otherwise",
            3,
        ),
    ];
    server.script(
        "GET",
        "/elsewhere",
        [Reply::status(200).header("ETag", "\"x\"")],
    );
    for (what, replies, says, sent) in rows {
        server.clear_requests();
        server.script("PUT", "/p/1", replies);
        let err = Upload::new(&client(&server), &path, 1000)
            .urls(vec![url.clone()])
            .run(None)
            .unwrap_err();
        assert!(err.message.contains(says), "{what}: {err}");
        let puts = server
            .requests()
            .iter()
            .filter(|r| r.method == "PUT")
            .count();
        assert_eq!(puts, sent, "{what}");
        assert!(
            server.requests().iter().all(|r| r.method == "PUT"),
            "{what}: followed"
        );
    }
    // The right MD5 completes it.
    let md5 = format!("\"{}\"", md5_hex(&bytes(1000)));
    server.script("PUT", "/p/1", [Reply::status(200).header("ETag", &md5)]);
    let done = Upload::new(&client(&server), &path, 1000)
        .urls(vec![url])
        .run(None)
        .unwrap();
    assert_eq!(done.etags, [md5]);
}

/// MD5 by the md-5 crate, as the library's.
fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
