//! Real links, each in a network namespace of its own (`unshare -n`): the
//! loopback shaped by `tc` (its MTU cut to Ethernet's 1500 bytes: a 64 KiB
//! loopback packet is bigger than the token bucket and would never pass, a
//! link that stalls for good), `apiretry serve` and `apiretry request`.
//! - A slow link, 2 Mbit/s: 5 MiB go up in one attempt with a 2 s stall
//!   limit (a slow but steady link is never cut), and the progress, drawn
//!   on a terminal (a pty through `script`), only grows.
//! - A link that dies mid-upload, once the kernel holds the whole body: its
//!   bucket replaced by one no packet fits (every packet dropped, both
//!   ways), the attempt ends as `timeout` within the stall limit + 2 s.
//!   Before `TCP_USER_TIMEOUT`, only the phase timeout ended it.
//! - A pooled connection a NAT forgot (its packets dropped both ways while
//!   it idles): keepalive finds it dead, so the next call goes on a new
//!   connection in its first attempt. This test runs itself again inside
//!   the namespace, the mock server and the client in that process.
//!
//! Skipped, saying why, where namespaces or `tc` are not to be had (not
//! root, no iproute2).

#![cfg(all(feature = "cli", target_os = "linux"))]

use std::process::Command;

const SIZE: usize = 5 << 20;

/// Whether `unshare -n` and `tc` work here.
fn namespaces() -> bool {
    Command::new("unshare")
        .args(["-n", "sh", "-c", "ip link set lo mtu 1500 up && tc qdisc add dev lo root tbf rate 2mbit burst 32kbit latency 400ms"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `apiretry serve` answering 200 to `PUT /up` in `dir`, on `port`, as a
/// shell command to start it in the background.
fn serve(dir: &std::path::Path, port: u16) -> String {
    let scenario = dir.join("s.json");
    std::fs::write(
        &scenario,
        r#"{"routes": [{"method": "PUT", "path": "/up", "replies": [{"status": 200}]}]}"#,
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_apiretry");
    format!(
        "({bin} serve --scenario {} --port {port} --for 60 >/dev/null 2>&1 &) && sleep 0.5",
        scenario.display()
    )
}

#[test]
fn a_link_that_dies_mid_upload_ends_as_timeout_within_the_stall_limit() {
    if !namespaces() {
        eprintln!("skipped: `unshare -n` with `tc` (root, iproute2) are needed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("apiretry-dead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("chunk");
    // 256 KiB at 512 kbit/s: 4 s on the wire, all of it in the kernel's
    // buffers at once; the link dies 1.5 s in.
    std::fs::write(&file, vec![7u8; 256 << 10]).unwrap();
    let bin = env!("CARGO_BIN_EXE_apiretry");
    let inner = format!(
        "ip link set lo mtu 1500 up && tc qdisc add dev lo root tbf rate 512kbit burst 32kbit latency 2000ms && \
         {serve} && \
         ((sleep 1.5; tc qdisc replace dev lo root tbf rate 8kbit burst 40b latency 1ms) &) && \
         {bin} request http://127.0.0.1:18319/up --method PUT --body-file {f} --stall-ms 2000 \
           --timeout-ms 60000 --attempts 1 --json",
        serve = serve(&dir, 18319),
        f = file.display(),
    );
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &inner])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(summary["ok"], false, "{text}");
    assert_eq!(summary["error"]["kind"], "timeout", "{text}");
    let elapsed = summary["elapsed_ms"].as_u64().unwrap();
    // Not before the link died; within the stall limit + 2 s after it.
    assert!(
        (1500..=1500 + 2000 + 2000).contains(&elapsed),
        "{elapsed} ms: {text}"
    );
    eprintln!("the link died 1.5 s in: timeout after {elapsed} ms");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_steady_2_mbit_upload_completes_in_one_attempt() {
    let script = std::path::Path::new("/usr/bin/script");
    if !namespaces() || !script.exists() {
        eprintln!("skipped: `unshare -n` with `tc` (root, iproute2) and `script` are needed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("apiretry-slow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("clip.mov");
    std::fs::write(&file, vec![7u8; SIZE]).unwrap();
    let bin = env!("CARGO_BIN_EXE_apiretry");
    // Inside the namespace: shape, serve, then upload on a pty.
    let inner = format!(
        "ip link set lo mtu 1500 up && tc qdisc add dev lo root tbf rate 2mbit burst 32kbit latency 400ms && \
         {serve} && \
         {bin} request http://127.0.0.1:18317/up --method PUT --body-file {f} --stall-ms 2000 --timeout-ms 60000 --json",
        serve = serve(&dir, 18317),
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

/// Set in the copy of this test that runs inside the namespace.
const INSIDE: &str = "APIRETRY_SLOW_LINK_INSIDE";

fn sh(command: &str) -> String {
    let out = Command::new("sh").args(["-c", command]).output().unwrap();
    assert!(out.status.success(), "{command}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Rows are the calls: the first opens a connection, which is then cut
/// off as a NAT that forgot it would (nothing comes back on it, new
/// connections untouched), idles past keepalive's probes, and the second
/// call goes on a new connection at once, without a failed attempt. With
/// keepalive off it wrote into the dead connection: a failed attempt
/// (the stall limit, 2.4 s) and a backoff, 3.1 s in all.
#[test]
fn a_pooled_connection_a_nat_forgot_costs_no_attempt() {
    if std::env::var_os(INSIDE).is_none() {
        if !namespaces() {
            eprintln!("skipped: `unshare -n` with `tc` (root, iproute2) are needed");
            return;
        }
        let out = Command::new("unshare")
            .arg("-n")
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_pooled_connection_a_nat_forgot_costs_no_attempt",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env(INSIDE, "1")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        eprintln!("{said}");
        assert!(out.status.success(), "{said}");
        return;
    }
    use apiretry::mock::{MockServer, Reply};
    use apiretry::{Client, Event, Request, StallLimits, Step};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    sh("ip link set lo mtu 1500 up");
    let server = MockServer::start().unwrap();
    server.script(
        "GET",
        "/x",
        [Reply::json(200, "{}"), Reply::json(200, "{}")],
    );
    let steps = Arc::new(Mutex::new(Vec::new()));
    let seen = steps.clone();
    let client = Client::builder(server.url())
        .stall_limits(StallLimits::all(Duration::from_secs(2)))
        .observer(Arc::new(move |e: &Event<'_>| {
            seen.lock().unwrap().push(e.step)
        }))
        .build();
    client.send(&Request::get("/x")).unwrap();
    let port = server
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let local = sh(&format!("ss -tnH state established '( dport = :{port} )'"));
    let client_port = local
        .split_whitespace()
        .nth(2)
        .and_then(|a| a.rsplit(':').next())
        .unwrap_or_else(|| panic!("the pooled connection: {local}"))
        .to_string();
    // Every packet to the client on that connection into a bucket no packet
    // fits; the rest of the loopback as it was. Only the answers: a probe
    // dropped by the client's own queue would be retried as local
    // congestion, never counted, where a NAT drops it out of sight.
    sh(&format!(
        "tc qdisc add dev lo root handle 1: htb default 10 && \
         tc class add dev lo parent 1: classid 1:10 htb rate 1gbit && \
         tc class add dev lo parent 1: classid 1:20 htb rate 1gbit && \
         tc qdisc add dev lo parent 1:20 tbf rate 8kbit burst 40b latency 1ms && \
         tc filter add dev lo parent 1: protocol ip u32 match ip dport {client_port} 0xffff flowid 1:20"
    ));
    // Past keepalive's verdict: 5 s idle, then 3 probes 1 s apart.
    std::thread::sleep(Duration::from_millis(9_500));
    steps.lock().unwrap().clear();
    let started = Instant::now();
    client.send(&Request::get("/x")).unwrap();
    let took = started.elapsed();
    let steps = steps.lock().unwrap().clone();
    let connections: Vec<u64> = server.requests().iter().map(|r| r.connection).collect();
    assert_eq!(steps, [Step::Success], "{steps:?}");
    assert_ne!(connections[0], connections[1], "a new connection");
    assert!(took < Duration::from_secs(1), "{took:?}");
    eprintln!("a connection a NAT forgot, 9.5 s idle: the next call took {took:?}, one attempt");
}
