//! The whole upload (`apiretry::upload`) against the mock over TCP: parts
//! byte-exact and in order, a journal that resumes without re-sending done
//! parts, expired URLs stopped or renewed, refused journals and URL lists
//! that send nothing, progress and cancellation.

#![cfg(feature = "mock")]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use apiretry::mock::{MockServer, Reply};
use apiretry::upload::{Upload, UploadProgress, JOURNAL_REFUSED, URLS_EXPIRED};
use apiretry::{CancelToken, Client, Kind, Policy};

/// 5 parts of 64 KiB and a last of 1000 bytes: the mock records a body's
/// first 64 KiB, so every part is seen whole.
const PART: u64 = 64 << 10;
const SIZE: usize = 5 * (64 << 10) + 1000;

fn file(name: &str) -> (PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("apiretry-upload-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bytes: Vec<u8> = (0..SIZE).map(|i| (i * 7 % 251) as u8).collect();
    let path = dir.join("clip.mov");
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

/// Part `i` answers 200 with ETag `"e<i>"` (scripting a part's route again
/// replaces its replies).
fn parts(server: &MockServer, n: u32) -> Vec<String> {
    (1..=n)
        .map(|i| {
            server.script(
                "PUT",
                &format!("/p/{i}"),
                [Reply::status(200).header("ETag", &format!("\"e{i}\""))],
            );
            format!("{}/p/{i}", server.url())
        })
        .collect()
}

fn client(server: &MockServer) -> Client {
    Client::builder(server.url())
        .policy(Policy::default().with_max_attempts(2))
        .build()
}

fn etags(n: u32) -> Vec<String> {
    (1..=n).map(|i| format!("\"e{i}\"")).collect()
}

/// An upload of the mock's small parts: S3's 5 MiB rule off.
fn upload(c: &Client, path: &std::path::Path, part: u64) -> Upload {
    Upload::new(c, path, part).part_rules(false)
}

#[test]
fn every_part_goes_byte_exact_and_the_etags_come_in_order() {
    let server = MockServer::start().unwrap();
    let urls = parts(&server, 6);
    let (path, bytes) = file("exact");
    let reports: Arc<Mutex<Vec<UploadProgress>>> = Arc::default();
    let seen = reports.clone();
    let done = upload(&client(&server), &path, PART)
        .urls(urls)
        .parallel(3)
        .progress(move |p| seen.lock().unwrap().push(*p))
        .run(None)
        .unwrap();
    assert_eq!(done.etags, etags(6));
    assert_eq!((done.bytes_sent, done.resumed), (SIZE as u64, 0));
    for r in server.requests() {
        assert!(r.header("authorization").is_none(), "presigned: no token");
        let i: usize = r.path.trim_start_matches("/p/").parse().unwrap();
        let start = (i - 1) * PART as usize;
        let want = &bytes[start..(start + PART as usize).min(SIZE)];
        assert_eq!(r.body_len, want.len() as u64, "part {i}");
        assert!(r.body == want, "part {i}: bytes differ");
    }
    let last = *reports.lock().unwrap().last().unwrap();
    assert_eq!(
        (last.bytes_done, last.bytes_total),
        (SIZE as u64, SIZE as u64)
    );
    assert_eq!((last.parts_done, last.parts_total), (6, 6));
}

/// A part that fails for good stops the upload; the rerun with the journal
/// sends only the parts not done, and resumes the rest.
#[test]
fn a_rerun_with_the_journal_sends_only_what_is_not_done() {
    let server = MockServer::start().unwrap();
    let (path, _) = file("resume");
    let journal = path.with_extension("journal");
    let urls = parts(&server, 6);
    // Part 4 is refused for good the first time (its route: 403, then 200).
    server.script(
        "PUT",
        "/p/4",
        [
            Reply::status(403),
            Reply::status(200).header("ETag", "\"e4\""),
        ],
    );
    let up = upload(&client(&server), &path, PART)
        .urls(urls)
        .parallel(1)
        .journal(&journal);
    let err = up.run(None).unwrap_err();
    assert_eq!(err.kind, Kind::Forbidden, "{err}");
    assert!(err.message.starts_with("part 4: "), "{err}");
    let first: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(first, ["/p/1", "/p/2", "/p/3", "/p/4"]);
    server.clear_requests();
    let done = up.run(None).unwrap();
    assert_eq!(done.etags, etags(6));
    assert_eq!(done.resumed, 3);
    let second: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(second, ["/p/4", "/p/5", "/p/6"]);
    assert_eq!(done.bytes_sent, SIZE as u64 - 3 * PART);
}

const EXPIRED: &str =
    "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";

/// Rows: (a URL source) -> a part whose URL expired stops the upload with
/// "URLs expired", or is renewed once through the source.
#[test]
fn an_expired_url_stops_the_upload_or_is_renewed() {
    for renew in [false, true] {
        let server = MockServer::start().unwrap();
        let (path, _) = file(&format!("expired-{renew}"));
        let urls = parts(&server, 6);
        server.script(
            "PUT",
            "/p/2",
            [Reply::json(403, EXPIRED).header("Content-Type", "application/xml")],
        );
        server.script(
            "PUT",
            "/fresh/2",
            [Reply::status(200).header("ETag", "\"e2\"")],
        );
        let up = upload(&client(&server), &path, PART).parallel(1);
        let asked: Arc<Mutex<Vec<(u32, bool)>>> = Arc::default();
        let result = if renew {
            let log = asked.clone();
            let base = server.url();
            up.url_source(move |part, expired| {
                log.lock().unwrap().push((part, expired));
                Ok(match (part, expired) {
                    (2, true) => format!("{base}/fresh/2"),
                    _ => urls[part as usize - 1].clone(),
                })
            })
            .run(None)
        } else {
            up.urls(urls).run(None)
        };
        match renew {
            false => {
                let err = result.unwrap_err();
                assert_eq!(err.code.as_deref(), Some(URLS_EXPIRED), "{err}");
            }
            true => {
                assert_eq!(result.unwrap().etags, etags(6));
                let asked = asked.lock().unwrap();
                assert_eq!(asked.iter().filter(|(_, e)| *e).count(), 1, "{asked:?}");
                assert!(asked.contains(&(2, true)));
            }
        }
    }
}

/// Rows: (what differs) -> refused before anything is sent.
#[test]
fn a_changed_file_a_journal_of_another_layout_or_wrong_urls_send_nothing() {
    let server = MockServer::start().unwrap();
    let (path, _) = file("refused");
    let journal = path.with_extension("journal");
    let urls = parts(&server, 6);
    let c = client(&server);
    // A journal from a run of part 1 only.
    let first = upload(&c, &path, PART).urls(urls.clone()).journal(&journal);
    server.script("PUT", "/p/2", [Reply::status(403)]);
    first.clone().parallel(1).run(None).unwrap_err();
    server.clear_requests();
    let rows: [(&str, Upload, Option<&str>); 3] = [
        (
            "another layout",
            upload(&c, &path, PART * 2)
                .urls(urls[..3].to_vec())
                .journal(&journal),
            Some(JOURNAL_REFUSED),
        ),
        (
            "too few URLs",
            upload(&c, &path, PART).urls(urls[..5].to_vec()),
            None,
        ),
        ("a changed file", first.clone(), Some(JOURNAL_REFUSED)),
    ];
    for (what, up, code) in rows {
        if what == "a changed file" {
            std::fs::write(&path, vec![1u8; SIZE + 1]).unwrap();
        }
        let err = up.run(None).unwrap_err();
        assert_eq!(err.code.as_deref(), code, "{what}: {err}");
        assert!(server.requests().is_empty(), "{what}: nothing sent");
    }
}

#[test]
fn a_cancelled_upload_sends_nothing_more() {
    let server = MockServer::start().unwrap();
    let (path, _) = file("cancel");
    let cancel = CancelToken::new();
    cancel.cancel();
    let err = upload(&client(&server), &path, PART)
        .urls(parts(&server, 6))
        .run(Some(&cancel))
        .unwrap_err();
    assert_eq!(err.kind, Kind::Cancelled);
    assert!(server.requests().is_empty());
}

/// The mock's S3 side: a multipart upload through `Upload`, completed with
/// the ETags it returned; a completion with a wrong ETag or out of order is
/// refused as S3 refuses it.
#[test]
fn the_mock_s3_completes_only_with_the_etags_uploaded() {
    use apiretry::mock::S3_PREFIX;
    use apiretry::Request;
    let server = MockServer::start().unwrap();
    server.s3_multipart();
    let (path, _) = file("mock-s3");
    let c = client(&server);
    let object = format!("{}{S3_PREFIX}clip.mov", server.url());
    let started = c.send(&Request::post(format!("{object}?uploads"))).unwrap();
    let text = String::from_utf8_lossy(started.body()).into_owned();
    let id = text
        .split("<UploadId>")
        .nth(1)
        .unwrap()
        .split("</UploadId>")
        .next()
        .unwrap();
    let urls = (1..=6)
        .map(|n| format!("{object}?partNumber={n}&uploadId={id}"))
        .collect();
    let done = upload(&c, &path, PART).urls(urls).run(None).unwrap();
    let list = |parts: &[(usize, &str)]| {
        let parts: String = parts
            .iter()
            .map(|(n, t)| format!("<Part><PartNumber>{n}</PartNumber><ETag>{t}</ETag></Part>"))
            .collect();
        format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>").into_bytes()
    };
    let complete = |body: Vec<u8>| {
        c.send(
            &Request::post(format!("{object}?uploadId={id}"))
                .body(body)
                .expect(200),
        )
    };
    let e = |i: usize| done.etags[i - 1].as_str();
    let rows: [(&str, Vec<u8>, Option<&str>); 2] = [
        (
            "a wrong ETag",
            list(&[(1, e(1)), (2, "\"nope\"")]),
            Some("InvalidPart"),
        ),
        (
            "out of order",
            list(&[(2, e(2)), (1, e(1))]),
            Some("InvalidPartOrder"),
        ),
    ];
    for (what, body, code) in rows {
        let err = complete(body).unwrap_err();
        assert_eq!(err.code.as_deref(), code, "{what}: {err}");
    }
    let all: Vec<(usize, &str)> = (1..=6).map(|i| (i, e(i))).collect();
    complete(list(&all)).unwrap();
    assert_eq!(server.s3_objects().get("clip.mov"), Some(&(SIZE as u64)));
}
