//! Just enough HTTP/1.1 for the mock server: read a request (Content-Length
//! or chunked body), write a response. Bounded everywhere.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::thread;
use std::time::Duration;

/// Request heads larger than this are refused.
const MAX_HEAD: usize = 64 << 10;
/// Request bodies larger than this are refused.
const MAX_BODY: u64 = 1 << 30;
/// How much of each request body is kept for inspection.
pub(crate) const KEPT_BODY: usize = 64 << 10;

/// A parsed request; the body is counted, and its start kept.
#[derive(Debug)]
pub(crate) struct Request {
    pub method: String,
    pub path: String,
    /// What follows the `?`, if anything.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub body_len: u64,
    /// The MD5 of the whole body read (what a store would keep), for the
    /// routes that store it (set before the body is read); none elsewhere.
    pub body_md5: Option<md5::Md5>,
    pub keep_alive: bool,
    /// How the body (still to read after [`read_head`]) is framed.
    framing: Framing,
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    Chunked,
    Length(u64),
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// Reads one request's head, its body left to [`read_body`]; `None` when
/// the peer closed before sending one.
pub(crate) fn read_head(r: &mut impl BufRead) -> io::Result<Option<Request>> {
    // A method starts with a letter; anything else (a TLS ClientHello starts
    // with 0x16) is refused at once, as real servers do, not waited on.
    match r.fill_buf()?.first() {
        None => return Ok(None),
        Some(b) if !b.is_ascii_alphabetic() => return Err(bad("not an HTTP request")),
        Some(_) => {}
    }
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = r
            .take((MAX_HEAD - head.len()) as u64 + 1)
            .read_until(b'\n', &mut head)?;
        if n == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(bad("truncated request head"))
            };
        }
        if head.len() > MAX_HEAD {
            return Err(bad("request head too large"));
        }
        if &head[before..] == b"\r\n" || &head[before..] == b"\n" {
            if before == 0 {
                head.clear(); // tolerate blank lines between requests
                continue;
            }
            break;
        }
    }
    let head = String::from_utf8(head).map_err(|_| bad("request head is not UTF-8"))?;
    let mut lines = head.lines();
    let mut start = lines.next().unwrap_or_default().split_whitespace();
    let (method, target, version) = (start.next(), start.next(), start.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        return Err(bad("malformed request line"));
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let keep_alive = match header("connection") {
        Some(c) if c.eq_ignore_ascii_case("close") => false,
        Some(c) if c.eq_ignore_ascii_case("keep-alive") => true,
        _ => version == "HTTP/1.1",
    };
    let framing = if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        Framing::Chunked
    } else {
        let len: u64 = header("content-length")
            .map_or(Ok(0), |v| v.parse().map_err(|_| bad("bad content-length")))?;
        if len > MAX_BODY {
            return Err(bad("request body too large"));
        }
        Framing::Length(len)
    };
    Ok(Some(Request {
        method: method.to_owned(),
        path: target.split('?').next().unwrap_or(target).to_owned(),
        query: target.split_once('?').map_or("", |(_, q)| q).to_owned(),
        headers,
        body: Vec::new(),
        body_len: 0,
        body_md5: None,
        keep_alive,
        framing,
    }))
}

/// Reads the body of `req`, or, with `upto`, about that many bytes of it
/// (a connection to drop mid-upload); `body_len` counts what was read.
/// With `pace` (`chunk`, `interval`), slowly: a slow but steady peer.
pub(crate) fn read_body(
    r: &mut impl BufRead,
    req: &mut Request,
    upto: Option<u64>,
    pace: Option<(usize, Duration)>,
) -> io::Result<()> {
    if let Some((chunk, interval)) = pace {
        let paced = Paced {
            inner: r,
            chunk,
            interval,
        };
        return read_framed(&mut BufReader::with_capacity(chunk, paced), req, upto);
    }
    read_framed(r, req, upto)
}

fn read_framed(r: &mut impl BufRead, req: &mut Request, upto: Option<u64>) -> io::Result<()> {
    req.body_len = match req.framing {
        Framing::Chunked => read_chunked(
            r,
            (&mut req.body, &mut req.body_md5),
            upto.unwrap_or(u64::MAX),
        )?,
        Framing::Length(len) => {
            let len = len.min(upto.unwrap_or(u64::MAX));
            copy_body(r, len, &mut req.body, &mut req.body_md5)?;
            len
        }
    };
    Ok(())
}

/// A reader handing out at most `chunk` bytes each `interval`. Clients
/// send the next request only after the answer, so nothing it buffers is
/// the next request's.
struct Paced<R> {
    inner: R,
    chunk: usize,
    interval: Duration,
}

impl<R: Read> Read for Paced<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        thread::sleep(self.interval);
        let n = buf.len().min(self.chunk);
        self.inner.read(&mut buf[..n])
    }
}

/// Reads a chunked body, stopping after the chunk that reaches `upto`.
fn read_chunked(
    r: &mut impl BufRead,
    (kept, md5): (&mut Vec<u8>, &mut Option<md5::Md5>),
    upto: u64,
) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        if total >= upto {
            return Ok(total);
        }
        let mut line = String::new();
        r.take(1024).read_line(&mut line)?;
        let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, then the final blank line.
            loop {
                line.clear();
                if r.take(1024).read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(total);
                }
            }
        }
        total += size;
        if total > MAX_BODY {
            return Err(bad("request body too large"));
        }
        copy_body(r, size, kept, md5)?;
        line.clear();
        r.take(2).read_line(&mut line)?; // the chunk's CRLF
    }
}

/// Reads `len` bytes, keeping the first `KEPT_BODY` of the request in `kept`
/// and hashing them all into `md5` when there is one.
fn copy_body(
    r: &mut impl BufRead,
    len: u64,
    kept: &mut Vec<u8>,
    md5: &mut Option<md5::Md5>,
) -> io::Result<()> {
    use md5::Digest;
    let mut left = len;
    while left > 0 {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "request body cut short",
            ));
        }
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if let Some(h) = md5.as_mut() {
            h.update(&buf[..n]);
        }
        let room = KEPT_BODY.saturating_sub(kept.len()).min(n);
        kept.extend_from_slice(&buf[..room]);
        r.consume(n);
        left -= n as u64;
    }
    Ok(())
}

/// Writes a response head; the body follows separately.
pub(crate) fn write_head(
    w: &mut impl Write,
    status: u16,
    headers: &[(String, String)],
    body_len: usize,
    keep_alive: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {body_len}\r\n"));
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
