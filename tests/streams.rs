//! Streamed uploads (a reader or a file range, with Content-Length),
//! downloads into a sink, and a request's own policy, against the mock over
//! TCP.

#![cfg(feature = "mock")]

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use apiretry::mock::{MockServer, Reply};
use apiretry::{Client, Kind, Policy, Profile, Request, Retry, VirtualClock};

fn client(server: &MockServer, policy: Policy) -> Client {
    Client::builder(server.url())
        .profile(Profile::builtin("c2c").unwrap().clone())
        .policy(policy)
        .clock(Arc::new(VirtualClock::new()))
        .without_budget()
        .build()
}

fn clip(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// (offset, length) of a chunk, what S3 answers in turn, and the requests
/// that arrive: each the chunk's exact bytes, with its Content-Length.
#[test]
fn a_file_range_is_sent_exactly_on_every_attempt() {
    let dir = std::env::temp_dir().join(format!("apiretry-streams-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clip.mov");
    let data = clip(150_000);
    std::fs::write(&path, &data).unwrap();
    let server = MockServer::start().unwrap();
    let rows: [(u64, u64, Vec<Reply>, usize); 3] = [
        (0, 50_000, vec![Reply::status(200)], 1),
        (
            50_000,
            50_000,
            vec![
                Reply::aws(503, "SlowDown", "reduce your rate"),
                Reply::aws(500, "InternalError", "again"),
                Reply::status(200),
            ],
            3,
        ),
        (100_000, 50_000, vec![Reply::reset(), Reply::status(200)], 2),
    ];
    let c = client(&server, Policy::default());
    for (offset, len, replies, arrivals) in rows {
        server.clear_requests();
        server.script("PUT", "/chunk", replies);
        let req = Request::put("/chunk")
            .profile(Profile::builtin("s3").unwrap().clone())
            .body_file(&path, offset, len);
        c.send(&req).unwrap();
        let sent = server.requests();
        let want = &data[offset as usize..(offset + len) as usize];
        // The reset closes the origin's gate: its health probes arrive too.
        let chunks: Vec<_> = sent.iter().filter(|r| r.method == "PUT").collect();
        assert_eq!(chunks.len(), arrivals, "offset {offset}");
        for r in chunks {
            assert_eq!(r.header("content-length"), Some(&*len.to_string()));
            assert_eq!(r.header("transfer-encoding"), None);
            assert_eq!(r.body, want, "offset {offset}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stream_that_ends_early_or_a_missing_file_is_an_io_error() {
    let server = MockServer::start().unwrap();
    server.script("PUT", "/chunk", [Reply::status(200)]);
    let c = client(&server, Policy::default());
    let short = Request::put("/chunk")
        .body_reader_sized(1000, || Ok(Box::new(std::io::Cursor::new(vec![1u8; 10]))));
    let missing = Request::put("/chunk").body_file("/nonexistent/clip.mov", 0, 10);
    for (req, says) in [(short, "990 bytes before"), (missing, "cannot open")] {
        let err = c.send(&req).unwrap_err();
        assert_eq!(err.kind, Kind::Io, "{err}");
        assert!(err.to_string().contains(says), "{err}");
    }
}

/// A sink that records what it was given, per opening.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<Vec<u8>>>>);

impl Sink {
    fn open(&self) -> Box<dyn Write + Send> {
        self.0.lock().unwrap().push(Vec::new());
        Box::new(self.clone())
    }
    fn openings(&self) -> Vec<Vec<u8>> {
        self.0.lock().unwrap().clone()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap()
            .last_mut()
            .unwrap()
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_download_cut_off_midway_is_written_again_from_its_start() {
    let server = MockServer::start().unwrap();
    let body = clip(300_000);
    server.script(
        "GET",
        "/clip",
        [
            Reply::status(503),
            Reply::status(200)
                .body_bytes(body.clone())
                .truncated(100_000),
            Reply::status(200).body_bytes(body.clone()),
        ],
    );
    let c = client(&server, Policy::default());
    let sink = Sink::default();
    let s = sink.clone();
    let resp = c
        .send(&Request::get("/clip").response_writer(move || Ok(s.open())))
        .unwrap();
    assert_eq!((resp.status(), resp.body().len()), (200, 0));
    let openings = sink.openings();
    assert_eq!(openings.len(), 2, "the 503 opens no sink");
    assert!(openings[0].len() <= 100_000);
    assert_eq!(openings[1], body);
}

#[test]
fn a_sink_that_fails_is_an_io_error_not_retried_as_the_network() {
    let server = MockServer::start().unwrap();
    server.script("GET", "/clip", [Reply::status(200).body("data")]);
    let c = client(&server, Policy::default());
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("no space left on device"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let err = c
        .send(&Request::get("/clip").response_writer(|| Ok(Box::new(Full))))
        .unwrap_err();
    assert_eq!(err.kind, Kind::Io, "{err}");
    assert!(err.to_string().contains("no space left"), "{err}");
}

/// The client's policy allows 5 attempts; each row's request says otherwise.
#[test]
fn a_request_has_its_own_attempts_and_retry_classes() {
    let server = MockServer::start().unwrap();
    let c = client(&server, Policy::default().with_max_attempts(5));
    let rows: [(&str, Request, usize); 4] = [
        ("the client's policy", Request::get("/flaky"), 5),
        (
            "two attempts",
            Request::get("/flaky").policy(Policy::default().with_max_attempts(2)),
            2,
        ),
        (
            "unavailable not retried",
            Request::get("/flaky").retry(Kind::Unavailable, Retry::No),
            1,
        ),
        (
            "both",
            Request::get("/flaky")
                .policy(Policy::default().with_max_attempts(3))
                .retry(Kind::Unavailable, Retry::Once),
            2,
        ),
    ];
    for (name, req, attempts) in rows {
        server.clear_requests();
        server.script("GET", "/flaky", [Reply::status(503)]);
        let err = c.send(&req).unwrap_err();
        assert_eq!(err.kind, Kind::Unavailable, "{name}");
        assert_eq!(server.requests().len(), attempts, "{name}");
    }
}

/// A chunk of a file past 4 GiB (a sparse file: nothing is written but the
/// chunk) goes out whole on a 32-bit target too: offsets and lengths are
/// 64-bit all the way (`.ci/arm` runs this under qemu-arm).
#[test]
fn a_chunk_past_4_gib_of_a_file() {
    use std::io::{Seek, SeekFrom};
    let dir = std::env::temp_dir().join(format!("apiretry-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("long-take.mov");
    let offset: u64 = (5 << 30) + 12_345;
    let chunk = clip(40_000);
    let mut file = std::fs::File::create(&path).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(&chunk).unwrap();
    file.write_all(b"after the chunk").unwrap();
    drop(file);
    let server = MockServer::start().unwrap();
    server.script("PUT", "/chunk", [Reply::status(200)]);
    let c = client(&server, Policy::default());
    c.send(&Request::put("/chunk").body_file(&path, offset, chunk.len() as u64))
        .unwrap();
    let sent = server.requests();
    assert_eq!(sent[0].header("content-length"), Some("40000"));
    assert!(sent[0].body == chunk, "the chunk's bytes, exactly");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A link gone silent ends the attempt as `timeout` (retried) within the
/// stall limit, up and down, saying it stalled and how far it came; a slow
/// but steady transfer is never cut by it.
#[test]
fn stalls_end_an_attempt_and_slow_transfers_do_not() {
    use apiretry::StallLimits;
    use std::time::{Duration, Instant};
    let server = MockServer::start().unwrap();
    server.script("PUT", "/up", [Reply::stall_upload(100_000)]);
    server.script("GET", "/down", [Reply::huge(200, 1 << 20).stalled(1000)]);
    // 20 kB in 2 kB pieces 300 ms apart: 3 s, never half a second without a byte.
    server.script(
        "GET",
        "/slow",
        [Reply::huge(200, 20_000).slow(2000, Duration::from_millis(300))],
    );
    // Half a second. A peer that stops reading is not quite a silent link:
    // the kernel still takes more of the body now and then (loopback: twice,
    // as it grows the send buffer), which restarted the per-write timeout
    // (the upload ended after about three limits). On Linux the stall is
    // the time the peer acknowledged nothing (TCP_USER_TIMEOUT): one limit.
    let limit = Duration::from_millis(500);
    let slack = match cfg!(target_os = "linux") {
        true => Duration::from_secs(1),
        false => Duration::from_secs(2),
    };
    let c = Client::builder(server.url())
        .policy(Policy::default().with_max_attempts(1))
        .stall_limits(StallLimits::all(limit))
        .build();
    // 64 MiB: more than loopback's socket buffers hold.
    let big = Request::put("/up")
        .body_reader_sized(64 << 20, || Ok(Box::new(std::io::repeat(7).take(64 << 20))));
    let rows: [(&str, Request, &str); 2] = [
        ("upload", big, "no byte could be sent"),
        ("download", Request::get("/down"), "no byte came"),
    ];
    for (what, req, says) in rows {
        let started = Instant::now();
        let err = c.send(&req).unwrap_err();
        let took = started.elapsed();
        assert_eq!(
            (err.kind, err.retry),
            (Kind::Timeout, Retry::Yes),
            "{what}: {err}"
        );
        assert!(
            err.message.contains("stalled") && err.message.contains(says),
            "{what}: {err}"
        );
        assert!(
            err.message.contains("bytes of the request's body sent"),
            "{what}: {err}"
        );
        assert!(took < limit + slack, "{what}: {took:?}");
    }
    let started = Instant::now();
    let slow = c.send(&Request::get("/slow")).unwrap();
    assert_eq!(slow.body().len(), 20_000);
    assert!(
        started.elapsed() > Duration::from_millis(2500),
        "it was slow"
    );
}

/// Progress: each attempt's bytes, from zero, on the calling thread, ending
/// at the totals; reports at most every 100 ms besides each direction's end.
#[test]
fn progress_reports_each_attempt_up_and_down() {
    use apiretry::Progress;
    use std::time::Instant;
    let server = MockServer::start().unwrap();
    server.script(
        "PUT",
        "/chunk",
        [
            Reply::aws(500, "InternalError", "again"),
            Reply::status(200),
        ],
    );
    server.script("GET", "/clip", [Reply::huge(200, 3 << 20)]);
    let c = client(&server, Policy::default());
    let seen: Arc<Mutex<Vec<(Progress, std::thread::ThreadId)>>> = Arc::default();
    let log = seen.clone();
    let report = move |p: &Progress| log.lock().unwrap().push((*p, std::thread::current().id()));
    let started = Instant::now();
    c.send(
        &Request::put("/chunk")
            .body(clip(4 << 20))
            .progress(report.clone()),
    )
    .unwrap();
    let sink: Arc<Mutex<u64>> = Arc::default();
    let written = sink.clone();
    c.send(
        &Request::get("/clip")
            .response_writer(move || Ok(Box::new(Counter(written.clone()))))
            .progress(report),
    )
    .unwrap();
    let took = started.elapsed();
    let seen = seen.lock().unwrap();
    assert!(seen.iter().all(|(_, t)| *t == std::thread::current().id()));
    let reports: Vec<Progress> = seen.iter().map(|(p, _)| *p).collect();
    // Uploads: two attempts, each from zero to the whole 4 MiB.
    let ups: Vec<&Progress> = reports
        .iter()
        .filter(|p| p.send_total == Some(4 << 20))
        .collect();
    let restarts = ups.windows(2).filter(|w| w[1].sent < w[0].sent).count();
    assert_eq!(restarts, 1, "{ups:?}");
    assert!(
        ups.iter().filter(|p| p.sent == 4 << 20).count() >= 2,
        "{ups:?}"
    );
    // The download: to its stated length.
    let last = reports.last().unwrap();
    assert_eq!(
        (last.received, last.receive_total),
        (3 << 20, Some(3 << 20))
    );
    assert_eq!(*sink.lock().unwrap(), 3 << 20);
    // Bounded: a few per attempt and direction, plus one per 100 ms.
    let bound = 3 * 6 + (took.as_millis() / 100) as usize;
    assert!(
        reports.len() <= bound,
        "{} reports in {took:?}",
        reports.len()
    );
}

/// A sink that counts the bytes written to it.
struct Counter(Arc<Mutex<u64>>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        *self.0.lock().unwrap() += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
