//! The upload engine against a real S3 (moto's server) through the fault
//! proxy: Frame.io's signed headers on every part; a part whose bytes
//! changed on the way sent again, the object exact; a journal of another
//! multipart upload refused, nothing sent; S3's 5 MiB rule before anything
//! is sent; a file appended to mid-run ended as `file_changed`; a second
//! run on one journal refused; SIGTERM ends `apiretry upload` at once and
//! the rerun completes; a growing file uploaded while written, exactly.
//!
//! Skipped, with the reason printed, only when python3 is missing.

#![cfg(feature = "cli")]

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use apiretry::upload::{Growth, Upload, FILE_CHANGED, JOURNAL_BUSY, JOURNAL_REFUSED, PART_RULES};

mod support;

use support::clip;
use support::fault_proxy::{Fault, FaultProxy};
use support::moto::{client, Moto, MIB};

const PART: usize = 5 * MIB;

fn start() -> Option<(Moto, FaultProxy)> {
    let moto = Moto::start()?;
    let proxy = FaultProxy::start(moto.endpoint.trim_start_matches("http://"));
    Some((moto, proxy))
}

/// 3 parts with Frame.io's headers, the second PUT's body altered on the
/// way (moto stores it; its ETag is the MD5 of other bytes): the part is
/// sent again, every PUT carries the headers, the object is exact.
#[test]
fn signed_headers_on_every_part_and_a_part_altered_on_the_way_sent_again() {
    let Some((moto, proxy)) = start() else { return };
    let file = clip("altered", 2 * PART + 1234);
    let (urls, complete) = moto.multipart(&proxy, "altered.mov", 3);
    proxy.faults.lock().unwrap().insert(2, Fault::Corrupt(1000));
    let c = client(&moto.endpoint);
    let done = Upload::new(&c, &file, PART as u64)
        .urls(urls)
        .parallel(1)
        .header("Content-Type", "video/quicktime")
        .header("x-amz-acl", "private")
        .run(None)
        .unwrap();
    let heads = proxy.stats.heads.lock().unwrap().clone();
    assert_eq!(*proxy.stats.parts.lock().unwrap(), [1, 2, 2, 3]);
    for head in &heads {
        let has = |h: &str| head.iter().any(|l| l.eq_ignore_ascii_case(h));
        assert!(
            has("content-type: video/quicktime") && has("x-amz-acl: private"),
            "{head:?}"
        );
    }
    moto.complete_and_verify(&c, &complete, &done.etags, "altered.mov", &file);
}

/// Rows: what is refused before anything is sent -> its code.
#[test]
fn another_uploads_journal_and_parts_under_5_mib_send_nothing() {
    let Some((moto, proxy)) = start() else { return };
    let file = clip("refused", 2 * PART);
    let journal = file.with_extension("journal");
    let c = client(&moto.endpoint);
    // A journal of a first multipart upload, part 2 refused for good.
    let (first, _) = moto.multipart(&proxy, "refused.mov", 2);
    let denied = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
    // Every attempt at part 2 (the client's 6).
    let mut faults = proxy.faults.lock().unwrap();
    for n in 2..=7 {
        faults.insert(n, Fault::Answer(403, denied.into()));
    }
    drop(faults);
    let up = |urls: Vec<String>, part: u64| {
        Upload::new(&c, &file, part)
            .urls(urls)
            .parallel(1)
            .journal(&journal)
    };
    up(first, PART as u64).run(None).unwrap_err();
    let sent = proxy.stats.parts.lock().unwrap().len();
    // The asset made again: a new multipart upload of the same key.
    let (second, _) = moto.multipart(&proxy, "refused.mov", 2);
    let (small, _) = moto.multipart(&proxy, "small.mov", 10);
    let rows = [
        (
            "another upload's journal",
            up(second, PART as u64),
            JOURNAL_REFUSED,
        ),
        (
            "1 MiB parts",
            Upload::new(&c, &file, MIB as u64).urls(small),
            PART_RULES,
        ),
    ];
    for (what, upload, code) in rows {
        let err = upload.run(None).unwrap_err();
        assert_eq!(err.code.as_deref(), Some(code), "{what}: {err}");
        assert_eq!(
            proxy.stats.parts.lock().unwrap().len(),
            sent,
            "{what}: nothing sent"
        );
    }
}

/// Through a slow link (the proxy reads 64 KiB each 10 ms a connection):
/// the file appended to mid-run ends it as `file_changed`; a second run on
/// the journal of a run going on is refused at once, sending nothing.
#[test]
fn a_file_appended_to_mid_run_and_a_second_run_on_its_journal() {
    let Some((moto, proxy)) = start() else { return };
    proxy.throttle.store(10_000, Ordering::SeqCst);
    let c = client(&moto.endpoint);
    for what in ["appended", "second run"] {
        let file = clip(what.split(' ').next().unwrap(), 4 * PART);
        let journal = file.with_extension("journal");
        let (urls, _) = moto.multipart(&proxy, &format!("{}.mov", what.len()), 4);
        let up = Upload::new(&c, &file, PART as u64)
            .urls(urls)
            .parallel(2)
            .journal(&journal);
        let running = {
            let up = up.clone();
            std::thread::spawn(move || up.run(None))
        };
        std::thread::sleep(Duration::from_millis(300));
        if what == "appended" {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&file)
                .unwrap();
            f.write_all(b"more").unwrap();
            let err = running.join().unwrap().unwrap_err();
            assert_eq!(err.code.as_deref(), Some(FILE_CHANGED), "{err}");
        } else {
            let puts = proxy.stats.parts.lock().unwrap().len();
            let t = Instant::now();
            let err = up.run(None).unwrap_err();
            assert_eq!(err.code.as_deref(), Some(JOURNAL_BUSY), "{err}");
            assert!(t.elapsed() < Duration::from_millis(1000));
            assert_eq!(proxy.stats.parts.lock().unwrap().len(), puts);
            assert_eq!(running.join().unwrap().unwrap().etags.len(), 4);
        }
    }
}

/// `apiretry upload` sent SIGTERM mid-upload (8 parts of 5 MiB through the
/// slow link, 4 at once): it exits within 1.5 s (130); the rerun with the
/// journal completes, and the object is exact.
#[test]
fn sigterm_ends_the_cli_at_once_and_the_rerun_completes() {
    let Some((moto, proxy)) = start() else { return };
    proxy.throttle.store(10_000, Ordering::SeqCst);
    let file = clip("sigterm", 8 * PART - 7);
    let (urls, complete) = moto.multipart(&proxy, "sigterm.mov", 8);
    let parts = file.with_extension("parts.json");
    let text = serde_json::json!({"part_size": PART, "urls": urls});
    std::fs::write(&parts, text.to_string()).unwrap();
    let journal = file.with_extension("journal");
    // 4 at once, as said: with the engine's choice (all 8 under BBR) the
    // 40 MiB take 0.8 s through the proxy, and may be done by the signal.
    let cli = || {
        let mut cmd = support::upload_cli(&file, &parts, &journal);
        cmd.args(["--parallel", "4"]);
        cmd
    };
    let child = cli().spawn().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let (out, took) = support::terminate(child);
    eprintln!("SIGTERM to exit, through moto: {took:?}");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took < Duration::from_millis(1500), "{took:?}");
    proxy.throttle.store(0, Ordering::SeqCst);
    let out = cli().output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let etags: Vec<String> = summary["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["etag"].as_str().unwrap().to_owned())
        .collect();
    let c = client(&moto.endpoint);
    moto.complete_and_verify(&c, &complete, &etags, "sigterm.mov", &file);
}

/// A clip written at 4 MiB/s while it is uploaded in 5 MiB parts (URLs
/// presigned for up to 10 parts, taken by number), finished from the
/// recording thread: the object is exact, and the last part is answered
/// within 1 s of the finish.
#[test]
fn a_growing_file_written_at_4_mib_s_uploads_exactly() {
    let Some((moto, proxy)) = start() else { return };
    let data: Vec<u8> = (0..13 * MIB + 321).map(|i| (i * 31 % 253) as u8).collect();
    let file = clip("growing", 0);
    let (urls, complete) = moto.multipart(&proxy, "growing.mov", 10);
    let growth = Growth::new();
    let c = client(&moto.endpoint);
    let up = Upload::new(&c, &file, PART as u64)
        .growing(&growth)
        .destination("growing.mov")
        .journal(file.with_extension("journal"))
        .part_source(move |p| Ok(urls[p.number as usize - 1].clone()));
    let recorder = {
        let (file, data) = (file.clone(), data.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&file)
                .unwrap();
            for piece in data.chunks(256 << 10) {
                f.write_all(piece).unwrap();
                std::thread::sleep(Duration::from_millis(62)); // 4 MiB/s
            }
            drop(f);
            growth.finish(data.len() as u64);
            Instant::now()
        })
    };
    let done = up.run(None).unwrap();
    let ended = Instant::now();
    let finished = recorder.join().unwrap();
    let after = ended.duration_since(finished);
    eprintln!(
        "growing: {} parts, the last answered {after:?} after finish",
        done.etags.len()
    );
    assert!(after < Duration::from_secs(1), "{after:?}");
    assert_eq!(done.etags.len(), 3);
    moto.complete_and_verify(&c, &complete, &done.etags, "growing.mov", &file);
}
