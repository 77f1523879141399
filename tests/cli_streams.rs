//! `apiretry request --body-file` and `--output` stream: 64 MiB up and down
//! through the command line never sit in its memory. The child's peak RSS
//! (VmHWM) is read from /proc while it runs and compared with the same
//! command's for a small request, in the same run.

#![cfg(all(feature = "cli", target_os = "linux"))]

mod support;

use std::path::Path;
use std::process::Command;

use apiretry::mock::{MockServer, Reply};

const SIZE: usize = 64 << 20;
const MIB: u64 = 1 << 20;

/// Runs `apiretry ARGS`; its exit code, stdout, and its peak RSS in bytes.
fn peak(args: &[&str]) -> (i32, String, u64) {
    let (out, most) = support::peak_rss(Command::new(env!("CARGO_BIN_EXE_apiretry")).args(args));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), stdout, most)
}

fn clip() -> Vec<u8> {
    (0..SIZE).map(|i| (i * 7 % 251) as u8).collect()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

#[test]
fn sixty_four_mib_up_and_down_stream_through_the_cli() {
    let dir = std::env::temp_dir().join(format!("apiretry-cli-streams-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("clip.mov");
    let data = clip();
    std::fs::write(&file, &data).unwrap();
    let server = MockServer::start().unwrap();
    server.script("GET", "/ok", [Reply::json(200, "{}")]);
    // The upload fails once: the file is read again from its start.
    server.script(
        "PUT",
        "/upload",
        [
            Reply::aws(500, "InternalError", "again"),
            Reply::status(200),
        ],
    );
    // The download is cut off once, then whole.
    server.script(
        "GET",
        "/download",
        [
            Reply::huge(200, SIZE).truncated(SIZE / 2),
            Reply::huge(200, SIZE),
        ],
    );
    server.script("GET", "/broken", [Reply::huge(200, SIZE).truncated(1000)]);
    server.script("GET", "/silent", [Reply::huge(200, SIZE).stalled(1000)]);
    let url = server.url();

    let (code, _, idle) = peak(&["request", &format!("{url}/ok")]);
    assert_eq!(code, 0);

    let upload = format!("{url}/upload");
    let (code, out, up) = peak(&[
        "request",
        &upload,
        "--method",
        "PUT",
        "--body-file",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let puts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2);
    // The mock keeps the first bytes of a body and counts the rest.
    for r in &puts {
        assert_eq!(r.header("content-length"), Some(&*SIZE.to_string()));
        assert_eq!(r.body_len, SIZE as u64);
        assert!(data.starts_with(&r.body), "the file's bytes, each attempt");
    }

    let output = dir.join("down.bin");
    let download = format!("{url}/download");
    let (code, out, down) = peak(&[
        "request",
        &download,
        "--output",
        output.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("\"bytes\": {SIZE}")), "{out}");
    let got = std::fs::read(&output).unwrap();
    assert!(got.len() == SIZE && got.iter().all(|&b| b == b'x'));
    assert!(!Path::new(&format!("{}.part", output.display())).exists());

    // A download that never completes leaves no file behind, whole or part.
    let broken = dir.join("broken.bin");
    let (code, out, _) = peak(&[
        "request",
        &format!("{url}/broken"),
        "--output",
        broken.to_str().unwrap(),
        "--attempts",
        "2",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(!broken.exists() && !Path::new(&format!("{}.part", broken.display())).exists());

    // A link that goes silent: --stall-ms ends the attempt, and says why.
    let silent = format!("{url}/silent");
    let (code, out, _) = peak(&["request", &silent, "--stall-ms", "300", "--attempts", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the transfer stalled"), "{out}");

    // On a terminal (a pty, through `script`), a big transfer shows its
    // progress on stderr; piped, as above, it does not.
    if Path::new("/usr/bin/script").exists() {
        let command = format!(
            "{} request {download} --output {}",
            env!("CARGO_BIN_EXE_apiretry"),
            dir.join("tty.bin").display()
        );
        let tty = Command::new("/usr/bin/script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .unwrap();
        let screen = String::from_utf8_lossy(&tty.stdout);
        assert!(tty.status.success(), "{screen}");
        assert!(
            screen.contains("MiB received") && screen.contains("of 64.0"),
            "{screen}"
        );
        assert!(!out.contains("MiB received"), "{out}");
    } else {
        eprintln!("no `script` here: the terminal's progress line is not checked");
    }

    eprintln!(
        "peak RSS: idle request {:.1} MiB, 64 MiB up {:.1} MiB, 64 MiB down {:.1} MiB",
        mib(idle),
        mib(up),
        mib(down)
    );
    for (what, bytes) in [("upload", up), ("download", down)] {
        assert!(bytes < 16 * MIB, "{what}: {:.1} MiB", mib(bytes));
        assert!(
            bytes < idle + 4 * MIB,
            "{what}: {:.1} MiB against {:.1} MiB idle: the body was buffered",
            mib(bytes),
            mib(idle)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
