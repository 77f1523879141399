//! A reverse proxy in front of a real server (moto's S3) that injects the
//! faults a device's link and S3 produce: for the Nth PUT, a connection
//! reset partway through the body, or an S3 error answered in S3's place.
//! It counts what the server side saw: PUTs in flight at once, body bytes
//! received, and each PUT's part number. One upstream connection per
//! request (`Connection: close` upstream).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use portable_atomic::AtomicU64;

/// What the proxy does with one PUT.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Resets the connection after this many body bytes.
    ResetAfter(u64),
    /// Reads the body, then answers this status and S3 error document.
    Answer(u16, String),
    /// Flips the body's byte at this offset, then forwards it: bytes that
    /// changed on the way.
    Corrupt(usize),
}

#[derive(Default)]
pub struct Stats {
    in_flight: AtomicUsize,
    pub most_in_flight: AtomicUsize,
    /// Body bytes of PUTs the proxy received (forwarded or not).
    pub body_bytes: AtomicU64,
    /// Each PUT's `partNumber`, in arrival order.
    pub parts: Mutex<Vec<u32>>,
    /// Each PUT's head lines (request line and headers), in arrival order.
    pub heads: Mutex<Vec<Vec<String>>>,
}

pub struct FaultProxy {
    pub port: u16,
    pub stats: Arc<Stats>,
    /// Faults by the PUT's number in arrival order (from 1).
    pub faults: Arc<Mutex<HashMap<usize, Fault>>>,
    /// A pause, in microseconds, after each 64 KiB of a body read: a slow
    /// link, so that an upload can be killed midway.
    pub throttle: Arc<AtomicU64>,
}

impl FaultProxy {
    /// Proxies to `upstream` (`127.0.0.1:PORT`) from a free loopback port.
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(Stats::default());
        let faults: Arc<Mutex<HashMap<usize, Fault>>> = Arc::default();
        let puts = Arc::new(AtomicUsize::new(0));
        let throttle = Arc::new(AtomicU64::new(0));
        let (s, f, up, t) = (
            stats.clone(),
            faults.clone(),
            upstream.to_owned(),
            throttle.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (s, f, up, puts, t) =
                    (s.clone(), f.clone(), up.clone(), puts.clone(), t.clone());
                std::thread::spawn(move || serve(conn, &up, (&s, &f, &t), &puts));
            }
        });
        FaultProxy {
            port,
            stats,
            faults,
            throttle,
        }
    }

    /// `url` (moto's) through the proxy.
    pub fn url(&self, url: &str, upstream: &str) -> String {
        url.replacen(upstream, &format!("127.0.0.1:{}", self.port), 1)
    }
}

/// A request head: its lines, and its body's length.
fn head(r: &mut impl BufRead) -> Option<(Vec<String>, u64)> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let len = lines
        .iter()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    Some((lines, len))
}

/// Reads `len` bytes, pausing `throttle` microseconds after each 64 KiB,
/// and counting them in `counted` as they come.
fn body(
    r: &mut impl Read,
    len: u64,
    throttle: &AtomicU64,
    counted: Option<&AtomicU64>,
) -> Option<Vec<u8>> {
    let mut body = vec![0u8; len as usize];
    for chunk in body.chunks_mut(64 << 10) {
        r.read_exact(chunk).ok()?;
        if let Some(c) = counted {
            c.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        let pause = throttle.load(Ordering::SeqCst);
        if pause > 0 {
            std::thread::sleep(std::time::Duration::from_micros(pause));
        }
    }
    Some(body)
}

fn serve(
    conn: TcpStream,
    upstream: &str,
    (stats, faults, throttle): (&Stats, &Mutex<HashMap<usize, Fault>>, &AtomicU64),
    puts: &AtomicUsize,
) {
    let mut out = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    while let Some((lines, len)) = head(&mut r) {
        let put = lines[0].starts_with("PUT ");
        let fault: Option<Fault> = put
            .then(|| {
                let n = puts.fetch_add(1, Ordering::SeqCst) + 1;
                let part = lines[0]
                    .split(['?', '&', ' '])
                    .find_map(|kv| kv.strip_prefix("partNumber="))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                stats.parts.lock().unwrap().push(part);
                stats.heads.lock().unwrap().push(lines.clone());
                let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                stats.most_in_flight.fetch_max(now, Ordering::SeqCst);
                faults.lock().unwrap().remove(&n)
            })
            .flatten();
        let upto = match &fault {
            Some(Fault::ResetAfter(n)) => (*n).min(len),
            _ => len,
        };
        let counted = put.then_some(&stats.body_bytes);
        let read = body(&mut r, upto, throttle, counted);
        let answer = match (read, fault) {
            (None, _) => None,
            (Some(_), Some(Fault::ResetAfter(_))) => {
                let _ = socket2::SockRef::from(&out).set_linger(Some(std::time::Duration::ZERO));
                None
            }
            (Some(_), Some(Fault::Answer(status, doc))) => Some(format!(
                "HTTP/1.1 {status} Error\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{doc}",
                doc.len()
            )
            .into_bytes()),
            (Some(mut body), Some(Fault::Corrupt(at))) => {
                if let Some(b) = body.get_mut(at) {
                    *b ^= 0xff;
                }
                forward(upstream, &lines, &body)
            }
            (Some(body), None) => forward(upstream, &lines, &body),
        };
        if put {
            stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        match answer {
            Some(bytes) if out.write_all(&bytes).is_ok() => {}
            _ => {
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

/// Sends the request upstream on a connection of its own; its whole answer.
fn forward(upstream: &str, lines: &[String], body: &[u8]) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).ok()?;
    let mut req = String::new();
    for l in lines
        .iter()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
    {
        req += l;
        req += "\r\n";
    }
    req += "Connection: close\r\n\r\n";
    up.write_all(req.as_bytes()).ok()?;
    up.write_all(body).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    Some(answer)
}
