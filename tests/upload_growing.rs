//! A file uploaded while it is written (`Upload::growing`), against the
//! mock over TCP: it uploads exactly, its parts asked with their ranges and
//! the final one with the file's size, soon after the finish; a growing
//! upload cut short resumes without `growing`, the file's size then final.

#![cfg(feature = "mock")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::upload::{Growth, PartRequest, Upload};
use apiretry::{CancelToken, Client, Kind, Policy};

const KIB: usize = 1 << 10;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("apiretry-growing-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

fn client(server: &MockServer) -> Client {
    Client::builder(server.url())
        .policy(Policy::default().with_max_attempts(3))
        .build()
}

/// Appends `bytes` to the file at `path` at `rate` bytes a second, in
/// 16 KiB writes; then finishes `growth` at the size written.
fn record(
    path: &Path,
    data: Vec<u8>,
    rate: usize,
    growth: Growth,
) -> std::thread::JoinHandle<Instant> {
    let path = path.to_owned();
    std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let chunk = 16 * KIB;
        for piece in data.chunks(chunk) {
            f.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_secs_f64(piece.len() as f64 / rate as f64));
        }
        drop(f);
        growth.finish(data.len() as u64);
        Instant::now()
    })
}

/// Written at 2 MB/s for 0.5 s while uploaded in parts of 64 KiB, finished
/// from the recording thread: every byte sent once, in order; each part
/// asked with its range, the final one with the file's size; the last
/// part answered well within 1 s of the finish.
#[test]
fn a_growing_file_uploads_exactly_and_ends_soon_after_finish() {
    let server = MockServer::start().unwrap();
    let path = dir("growing").join("clip.mov");
    std::fs::write(&path, b"").unwrap();
    let data = bytes(1000 * KIB + 123);
    let asked: Arc<Mutex<Vec<PartRequest>>> = Arc::default();
    let growth = Growth::new();
    for i in 1..=16 {
        server.script(
            "PUT",
            &format!("/g/{i}"),
            [Reply::status(200).header("ETag", &format!("\"g{i}\""))],
        );
    }
    let base = server.url();
    let up = {
        let asked = asked.clone();
        Upload::new(&client(&server), &path, 64 << 10)
            .part_rules(false)
            .growing(&growth)
            .destination("asset-1")
            .journal(path.with_extension("journal"))
            .part_source(move |p| {
                asked.lock().unwrap().push(*p);
                Ok(format!("{base}/g/{}", p.number))
            })
    };
    let recorder = record(&path, data.clone(), 2_000_000, growth);
    let done = up.run(None).unwrap();
    let ended = Instant::now();
    let finished = recorder.join().unwrap();
    assert!(
        ended.duration_since(finished) < Duration::from_secs(1),
        "{:?}",
        ended - finished
    );
    assert_eq!(done.etags.len(), 16);
    let mut got = Vec::new();
    let mut puts = server.requests();
    puts.sort_by_key(|r| r.path.trim_start_matches("/g/").parse::<u32>().unwrap());
    for r in &puts {
        got.extend_from_slice(&r.body);
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the bytes uploaded are the file's");
    let mut asked = asked.lock().unwrap().clone();
    asked.sort_by_key(|p| p.number);
    for (i, p) in asked.iter().enumerate() {
        let last = i == 15;
        assert_eq!(p.number, i as u32 + 1);
        assert_eq!(p.offset, i as u64 * 65536);
        assert_eq!(p.is_final, last, "{p:?}");
        assert_eq!(p.file_size, last.then_some(data.len() as u64), "{p:?}");
        assert_eq!(
            p.size,
            if last {
                data.len() as u64 - 15 * 65536
            } else {
                65536
            }
        );
    }
}

/// A growing upload cut short (the camera lost power while recording):
/// run again without `growing`, the file's size is final, and only the
/// parts not done are sent.
#[test]
fn a_growing_upload_cut_short_resumes_with_the_size_final() {
    let server = Arc::new(MockServer::start().unwrap());
    let path = dir("regrow").join("clip.mov");
    std::fs::write(&path, bytes(3 * 64 * KIB + 5)).unwrap();
    let journal = path.with_extension("journal");
    for i in 1..=4 {
        server.script(
            "PUT",
            &format!("/r/{i}"),
            [Reply::status(200).header("ETag", &format!("\"r{i}\""))],
        );
    }
    let base = server.url();
    let up = Upload::new(&client(&server), &path, 64 << 10)
        .part_rules(false)
        .destination("asset-2")
        .journal(&journal)
        .part_source(move |p| Ok(format!("{base}/r/{}", p.number)));
    let growth = Growth::new();
    let cancel = CancelToken::new();
    let canceller = {
        let (cancel, server) = (cancel.clone(), server.clone());
        std::thread::spawn(move || {
            while server.requests().len() < 3 {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(100));
            cancel.cancel();
        })
    };
    let err = up.clone().growing(&growth).run(Some(&cancel)).unwrap_err();
    canceller.join().unwrap();
    assert_eq!(err.kind, Kind::Cancelled, "{err}");
    assert_eq!(
        server.requests().len(),
        3,
        "three whole parts, the rest unknown"
    );
    server.clear_requests();
    let done = up.run(None).unwrap();
    assert_eq!((done.resumed, done.etags.len()), (3, 4));
    let sent: Vec<_> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(sent, ["/r/4"]);
}
