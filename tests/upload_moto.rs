//! The whole upload against a real S3 (moto's server): presigned UploadPart
//! URLs made by boto3, the parts sent by `apiretry::upload` (and by `apiretry
//! upload`, killed and rerun), CompleteMultipartUpload with the ETags the
//! upload returned, and the object's MD5 held against the file's. Faults
//! come from a proxy of our own in front of moto (`support::fault_proxy`):
//! connections reset mid-body, `SlowDown`, an expired URL.
//!
//! Skipped, with the reason printed, only when python3 is missing.

#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use apiretry::upload::Upload;

use serde_json::Value;

mod support;

use support::clip;
use support::fault_proxy::{Fault, FaultProxy};
use support::moto::{client, Moto, MIB};

const PART: usize = 5 * MIB;

/// 40 MiB in 5 MiB parts, 4 in flight: moto never saw more than 4 parts at
/// once; then the same through resets mid-body and `SlowDown` answers.
#[test]
fn parts_in_parallel_through_resets_and_slowdown_make_the_exact_object() {
    let Some(moto) = Moto::start() else { return };
    let host = moto.endpoint.trim_start_matches("http://").to_owned();
    let file = clip("parallel", 40 * MIB);
    for faults in [false, true] {
        let proxy = FaultProxy::start(&host);
        if faults {
            let slow = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            let mut f = proxy.faults.lock().unwrap();
            for n in [2, 5, 9] {
                f.insert(n, Fault::ResetAfter(MIB as u64));
            }
            for n in [3, 7] {
                f.insert(n, Fault::Answer(503, slow.into()));
            }
        }
        let key = format!("parallel-{faults}.mov");
        let (urls, complete) = moto.multipart(&proxy, &key, 8);
        let c = client(&moto.endpoint);
        let done = Upload::new(&c, &file, PART as u64)
            .urls(urls)
            .parallel(4)
            .run(None)
            .unwrap();
        assert_eq!(done.etags.len(), 8);
        let most = proxy.stats.most_in_flight.load(Ordering::SeqCst);
        assert!((1..=4).contains(&most), "{most} parts at once");
        let sent = proxy.stats.parts.lock().unwrap().len();
        assert_eq!(sent, if faults { 8 + 5 } else { 8 }, "faults {faults}");
        eprintln!(
            "faults {faults}: {most} parts at once, {sent} PUTs, {} body bytes sent",
            done.bytes_sent
        );
        moto.complete_and_verify(&c, &complete, &done.etags, &key, &file);
    }
}

fn upload_cli(file: &Path, parts: &Path, journal: &Path) -> Command {
    let mut cmd = support::upload_cli(file, parts, journal);
    cmd.args(["--parallel", "4"]);
    cmd
}

fn parts_file(file: &Path, urls: &[String]) -> PathBuf {
    let path = file.with_extension("parts.json");
    let text = serde_json::json!({"part_size": PART, "urls": urls});
    std::fs::write(&path, text.to_string()).unwrap();
    path
}

fn etags_of(stdout: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(stdout);
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    summary["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["etag"].as_str().unwrap().to_owned())
        .collect()
}

/// `apiretry upload` killed (SIGKILL) at three moments and rerun with its
/// journal: the object is exact, and moto received at most the file's size
/// plus, per kill, the parts in flight (4 x 5 MiB).
#[test]
fn the_cli_killed_and_rerun_with_its_journal_makes_the_exact_object() {
    let Some(moto) = Moto::start() else { return };
    let host = moto.endpoint.trim_start_matches("http://").to_owned();
    let size = 40 * MIB;
    let file = clip("killed", size);
    let proxy = FaultProxy::start(&host);
    // 64 KiB each 10 ms a connection: about 2 s for the file, 4 at once.
    proxy.throttle.store(10_000, Ordering::SeqCst);
    let (urls, complete) = moto.multipart(&proxy, "killed.mov", 8);
    let parts = parts_file(&file, &urls);
    let journal = file.with_extension("journal");
    let mut kills = 0;
    for _ in 0..3 {
        let mut child = upload_cli(&file, &parts, &journal).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(200 + fastrand::u64(..600)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let _ = child.wait();
    }
    let out = upload_cli(&file, &parts, &journal).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = proxy.stats.body_bytes.load(Ordering::SeqCst);
    let bound = (size + kills * 4 * PART) as u64;
    eprintln!("{kills} kills: moto received {received} body bytes (at most {bound})");
    assert!(received <= bound, "{received} > {bound}");
    moto.complete_and_verify(
        &client(&moto.endpoint),
        &complete,
        &etags_of(&out.stdout),
        "killed.mov",
        &file,
    );
}

/// An expired URL (S3's 403 `AccessDenied` "Request has expired", injected
/// for part 3): exit 3; the rerun with the same journal finishes without
/// sending the done parts again. A changed file is refused, nothing sent.
#[test]
fn an_expired_url_exits_3_and_the_rerun_sends_only_what_is_left() {
    let Some(moto) = Moto::start() else { return };
    let host = moto.endpoint.trim_start_matches("http://").to_owned();
    let file = clip("expired", 4 * PART);
    let proxy = FaultProxy::start(&host);
    let (urls, complete) = moto.multipart(&proxy, "expired.mov", 4);
    let expired = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
    proxy
        .faults
        .lock()
        .unwrap()
        .insert(3, Fault::Answer(403, expired.into()));
    let parts = parts_file(&file, &urls);
    let journal = file.with_extension("journal");
    let run = |want: i32| {
        let mut cmd = upload_cli(&file, &parts, &journal);
        cmd.args(["--parallel", "1"]);
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(want),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    run(3);
    assert_eq!(*proxy.stats.parts.lock().unwrap(), [1, 2, 3]);
    let out = run(0);
    assert_eq!(
        *proxy.stats.parts.lock().unwrap(),
        [1, 2, 3, 3, 4],
        "done parts not sent again"
    );
    moto.complete_and_verify(
        &client(&moto.endpoint),
        &complete,
        &etags_of(&out.stdout),
        "expired.mov",
        &file,
    );

    std::fs::write(&file, b"another clip").unwrap();
    run(2);
    assert_eq!(proxy.stats.parts.lock().unwrap().len(), 5, "nothing sent");
}
