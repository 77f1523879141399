//! A real slow link: in a network namespace of its own (`unshare -n`), the
//! loopback shaped by `tc` to 2 Mbit/s (its MTU cut to Ethernet's 1500
//! bytes: a 64 KiB loopback packet is bigger than the token bucket and
//! would never pass, a link that stalls for good), `apiretry serve` and `apiretry
//! request` move 5 MiB. With a 2 s stall limit the upload completes in one
//! attempt (a slow but steady link is never cut), and its progress, drawn on
//! a terminal (a pty through `script`), only grows. Skipped, saying why,
//! where namespaces or `tc` are not to be had (not root, no iproute2).

#![cfg(all(feature = "cli", target_os = "linux"))]

use std::process::Command;

const SIZE: usize = 5 << 20;

#[test]
fn a_steady_2_mbit_upload_completes_in_one_attempt() {
    let usable = Command::new("unshare")
        .args(["-n", "sh", "-c", "ip link set lo mtu 1500 up && tc qdisc add dev lo root tbf rate 2mbit burst 32kbit latency 400ms"])
        .output()
        .is_ok_and(|o| o.status.success());
    let script = std::path::Path::new("/usr/bin/script");
    if !usable || !script.exists() {
        eprintln!("skipped: `unshare -n` with `tc` (root, iproute2) and `script` are needed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("apiretry-slow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("clip.mov");
    std::fs::write(&file, vec![7u8; SIZE]).unwrap();
    let scenario = dir.join("s.json");
    std::fs::write(
        &scenario,
        r#"{"routes": [{"method": "PUT", "path": "/up", "replies": [{"status": 200}]}]}"#,
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_apiretry");
    // Inside the namespace: shape, serve, then upload on a pty.
    let inner = format!(
        "ip link set lo mtu 1500 up && tc qdisc add dev lo root tbf rate 2mbit burst 32kbit latency 400ms && \
         ({bin} serve --scenario {s} --port 18317 --for 60 >/dev/null &) && sleep 0.5 && \
         {bin} request http://127.0.0.1:18317/up --method PUT --body-file {f} --stall-ms 2000 --timeout-ms 60000 --json",
        s = scenario.display(),
        f = file.display(),
    );
    let out = Command::new("unshare")
        .args(["-n", "/usr/bin/script", "-qec", &inner, "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{screen}");
    let json = &screen[screen.find('{').expect("the summary")..];
    let summary: serde_json::Value = serde_json::from_str(&json[..=json.rfind('}').unwrap()])
        .unwrap_or_else(|e| panic!("{e}: {screen}"));
    assert_eq!(summary["ok"], true, "{screen}");
    assert_eq!(
        summary["attempts"].as_array().map(Vec::len),
        Some(1),
        "{screen}"
    );
    // 5 MiB at 2 Mbit/s: about 21 s on the wire.
    let elapsed = summary["elapsed_ms"].as_u64().unwrap();
    assert!(elapsed > 18_000, "{elapsed} ms: was the link shaped?");
    // The progress line, rewritten in place: what it says was sent only grows.
    let sent: Vec<f64> = screen
        .split('\r')
        .filter_map(|line| line.trim().split(" of ").next()?.parse().ok())
        .collect();
    assert!(sent.len() >= 10, "{} progress lines: {screen}", sent.len());
    assert!(sent.windows(2).all(|w| w[0] <= w[1]), "{sent:?}");
    eprintln!(
        "5 MiB over 2 Mbit/s: one attempt, {elapsed} ms, {} progress lines",
        sent.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
