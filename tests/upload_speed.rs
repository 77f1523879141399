//! The upload engine's speed controls where they meet a server, against
//! the mock over TCP: parts in flight climb where each flow adds its share
//! (the mock reads each body at its own fixed rate, as a lossy link holds
//! each TCP flow), and stay where told; the client's cap holds every part
//! to its rate; a congestion control the kernel refuses leaves the
//! system's, and the upload goes on. The rates against real links:
//! `benches/links`, in BENCHMARKS.md.

#![cfg(feature = "mock")]

use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::upload::Upload;
use apiretry::{Client, Policy};
use support::{clip, etag_parts as parts};

mod support;

const KIB: usize = 1 << 10;

/// The most parts that arrived within any `span`.
fn most_arrived_within(server: &MockServer, span: Duration) -> usize {
    let at: Vec<Duration> = server.requests().iter().map(|r| r.at).collect();
    at.iter()
        .map(|&t| at.iter().filter(|&&u| u >= t && u < t + span).count())
        .max()
        .unwrap_or(0)
}

/// Each body read at 1.6 MB/s on its own connection: a 1 MiB part takes
/// 0.65 s, and n parts in flight send n times that.
fn per_flow_link() -> Reply {
    Reply::status(200).read_slowly(64 * KIB, Duration::from_millis(40))
}

/// Rows: the congestion control asked for and the parts in flight asked
/// for -> the most that arrived within a part's time (0.6 s). The engine
/// climbs past the start's 4 under the system's congestion control; under
/// BBR (where the kernel gives it) every part goes at once, up to 16.
#[test]
fn parts_in_flight_climb_where_each_flow_pays_and_stay_where_told() {
    let bbr = apiretry::check_congestion_control("bbr").is_ok();
    type Row = (Option<&'static str>, Option<usize>, fn(usize) -> bool);
    let mut rows: Vec<Row> = vec![
        (None, None, |most| (7..=16).contains(&most)),
        (None, Some(4), |most| most <= 5),
    ];
    if bbr {
        rows.push((Some("bbr"), None, |most| (14..=16).contains(&most)));
        rows.push((Some("bbr"), Some(2), |most| most <= 3));
    }
    for (congestion, fixed, want) in rows {
        let server = MockServer::start().unwrap();
        let n = 32;
        let path = clip("climb", n * 1024 * KIB);
        let client = Client::builder(server.url())
            .upload_congestion_control(congestion)
            .build();
        let mut up = Upload::new(&client, &path, 1 << 20)
            .part_rules(false)
            .urls(parts(&server, n, per_flow_link));
        if let Some(k) = fixed {
            up = up.parallel(k);
        }
        up.run(None).unwrap();
        let most = most_arrived_within(&server, Duration::from_millis(600));
        assert!(
            want(most),
            "{congestion:?}, {fixed:?} in flight: {most} parts within 0.6 s"
        );
    }
}

/// A cap of 1 MB/s on 2 MiB in 8 parts, 4 in flight: at least the bytes'
/// time at the cap, less the burst an idle client may send.
#[test]
fn the_clients_cap_holds_every_part_together() {
    let server = MockServer::start().unwrap();
    let path = clip("cap", 2048 * KIB);
    let client = Client::builder(server.url())
        .max_upload_rate(1_000_000)
        .build();
    let started = Instant::now();
    Upload::new(&client, &path, 256 << 10)
        .part_rules(false)
        .parallel(4)
        .urls(parts(&server, 8, || Reply::status(200)))
        .run(None)
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1_950),
        "2 MiB at 1 MB/s in {took:?}"
    );
}

#[test]
fn a_congestion_control_the_kernel_refuses_leaves_the_systems() {
    let server = MockServer::start().unwrap();
    let path = clip("congestion", 300 * KIB);
    assert!(apiretry::check_congestion_control("no-such-algo").is_err());
    let client = Client::builder(server.url())
        .policy(Policy::default().with_max_attempts(1))
        .upload_congestion_control(Some("no-such-algo"))
        .build();
    let done = Upload::new(&client, &path, 100 << 10)
        .part_rules(false)
        .urls(parts(&server, 3, || Reply::status(200)))
        .run(None)
        .unwrap();
    assert_eq!(done.etags.len(), 3);
}
