//! `apiretry c2c-upload` against the mock's Frame.io device side, killed
//! (SIGKILL) mid-queue and mid-recording and run again on its state
//! directory: every clip once, one asset each, playable, and no part that
//! was answered before the kill sent again beyond the parts in flight.

#![cfg(feature = "cli")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apiretry::mock::MockServer;

const MIB: usize = 1 << 20;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("apiretry-cli-c2c-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn c2c_upload(server: &MockServer, state: &Path, extra: &[&str], files: &[PathBuf]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiretry"));
    cmd.arg("c2c-upload")
        .args([
            "--base",
            &server.url(),
            "--client-version",
            "2.0.1",
            "--json",
        ])
        .arg("--state")
        .arg(state)
        .args(extra)
        .args(files)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Kills `child` once the mock holds a part of any asset.
fn kill_after_a_part(server: &MockServer, mut child: Child) {
    let t = Instant::now();
    while server.c2c_assets().iter().all(|a| a.parts.is_empty()) {
        assert!(t.elapsed() < Duration::from_secs(30), "no part came");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
}

#[test]
fn killed_mid_queue_and_run_again_every_clip_goes_once() {
    let server = MockServer::start().unwrap();
    server.c2c_part_target(5 << 20);
    let d = dir("queue");
    let state = d.join("state");
    let clips: Vec<PathBuf> = [20 * MIB + 1, 15 * MIB, 100_000]
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let p = d.join(format!("A00{i}.mov"));
            std::fs::write(&p, vec![i as u8 + 7; size]).unwrap();
            p
        })
        .collect();
    kill_after_a_part(
        &server,
        c2c_upload(&server, &state, &[], &clips).spawn().unwrap(),
    );
    let held: Vec<(String, u32, usize)> = server
        .c2c_assets()
        .iter()
        .map(|a| (a.id.clone(), a.puts, a.parts.len()))
        .collect();
    let out = c2c_upload(&server, &state, &[], &clips).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let assets = server.c2c_assets();
    assert_eq!(assets.len(), 3, "one asset each: {assets:?}");
    assert!(assets.iter().all(|a| a.playable()), "{assets:?}");
    for (id, puts, stored) in held {
        let a = assets.iter().find(|a| a.id == id).unwrap();
        let again = a.puts as usize - a.parts.len();
        // What was stored before the kill is not sent again; at most the
        // parts in flight at the kill are (a clip's 5 parts all go at once
        // under BBR: one stored, 4 others).
        assert!(
            again <= 4,
            "{id}: {again} parts sent twice ({puts} PUTs, {stored} stored)"
        );
    }
    let events = String::from_utf8_lossy(&out.stdout);
    assert!(events.lines().any(|l| l.contains("\"done\"")), "{events}");
    for r in server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v2/"))
    {
        assert_eq!(r.header("x-client-version"), Some("2.0.1"));
    }
}

#[test]
fn killed_mid_recording_resumes_with_the_size_final() {
    let server = MockServer::start().unwrap();
    server.c2c();
    let d = dir("recording");
    let state = d.join("state");
    let clip = d.join("R001.mov");
    std::fs::write(&clip, b"").unwrap();
    let data: Vec<u8> = (0..18 * MIB + 17).map(|i| (i * 3 % 241) as u8).collect();
    let writer = {
        let (clip, data) = (clip.clone(), data.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&clip)
                .unwrap();
            for piece in data.chunks(MIB) {
                f.write_all(piece).unwrap();
                std::thread::sleep(Duration::from_millis(60));
            }
        })
    };
    let child = c2c_upload(
        &server,
        &state,
        &["--recording", "--settle-ms", "60000"],
        std::slice::from_ref(&clip),
    )
    .spawn()
    .unwrap();
    kill_after_a_part(&server, child);
    writer.join().unwrap();
    let out = c2c_upload(&server, &state, &[], std::slice::from_ref(&clip))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let assets = server.c2c_assets();
    assert_eq!(assets.len(), 1, "{assets:?}");
    let a = &assets[0];
    assert!(a.realtime && a.playable(), "{a:?}");
    assert_eq!(a.filesize, Some(data.len() as u64));
    assert!(a.puts as usize - a.parts.len() <= 4, "{a:?}");
}
