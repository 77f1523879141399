//! The mock's connections: accepting (refusing while down), reading each
//! request, answering it as scripted, failing it as networks fail, and
//! recording it.

use std::io::{self, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::{Recorded, Shared, POLL};
use crate::mock::reply::Action;
use crate::mock::wire;

/// Accepts until stopped; while down, the listener is closed so that
/// connections are refused, and re-opened on the same port after.
pub(super) fn accept_loop(listener: TcpListener, addr: SocketAddr, shared: &Arc<Shared>) {
    let mut listener = Some(listener);
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.down.load(Ordering::SeqCst) {
            listener = None;
            thread::sleep(POLL);
            continue;
        }
        let Some(l) = listener.as_ref() else {
            listener = TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .ok();
            if listener.is_none() {
                thread::sleep(POLL);
            }
            continue;
        };
        match l.accept() {
            Ok((stream, _)) if shared.resetting.load(Ordering::SeqCst) => {
                shared.resets.fetch_add(1, Ordering::SeqCst);
                reset(&stream);
            }
            Ok((stream, _)) => {
                let s = shared.clone();
                let _ = thread::Builder::new()
                    .name("apiretry-mock-conn".into())
                    .spawn(move || serve(stream, &s));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// Serves one connection's requests until it closes or a script ends it.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let idle = shared.state().idle.unwrap_or(Duration::from_secs(30));
    let _ = stream.set_read_timeout(Some(idle));
    // The socket itself, for resets and shutdowns under any TLS layer.
    let Ok(tcp) = stream.try_clone() else {
        return;
    };
    match &shared.tls {
        None => serve_on(&mut BufReader::new(stream), &tcp, shared),
        Some(config) => {
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                return;
            };
            let mut reader = BufReader::new(rustls::StreamOwned::new(conn, stream));
            serve_on(&mut reader, &tcp, shared);
            // A failed handshake left an alert to send, as a real server would.
            let tls = reader.get_mut();
            let _ = tls.conn.write_tls(&mut tls.sock);
        }
    }
}

/// The request loop over a plain or TLS stream.
fn serve_on<S: io::Read + Write>(reader: &mut BufReader<S>, tcp: &TcpStream, shared: &Shared) {
    let connection = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    loop {
        let mut req = match wire::read_head(reader) {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(e) if e.kind() == io::ErrorKind::InvalidData && shared.tls.is_none() => {
                // As real servers do, answer what is not HTTP (a TLS
                // ClientHello, say) with a plain 400 before closing.
                let _ = respond(reader.get_mut(), &[], 400, b"not HTTP", false);
                let _ = tcp.shutdown(Shutdown::Both);
                return;
            }
            Err(_) => return,
        };
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        if shared.down.load(Ordering::SeqCst) {
            return reset(tcp);
        }
        if shared.resetting.load(Ordering::SeqCst) {
            shared.resets.fetch_add(1, Ordering::SeqCst);
            return reset(tcp);
        }
        // Decided on the head, as a real server's limits and routing are,
        // so that a reply can drop the connection in the middle of the body;
        // the authorization server's answers depend on its form.
        let form = shared.reads_body_first(&req.path);
        if shared.hashes_body(&req.path) {
            req.body_md5 = Some(md5::Md5::default());
        }
        if form && wire::read_body(reader, &mut req, None, None).is_err() {
            return;
        }
        let reply = shared.reply_for(&req);
        let upto = match reply.action {
            Action::DropMidUpload(n) | Action::StallUpload(n) => Some(n),
            _ => None,
        };
        if !form && wire::read_body(reader, &mut req, upto, reply.pace).is_err() {
            return;
        }
        let out = reader.get_mut();
        let status = match &reply.action {
            Action::Respond(r)
            | Action::Truncated(r, _)
            | Action::Slow(r, _, _)
            | Action::Stalled(r, _) => Some(r.status),
            Action::Reset
            | Action::CloseBeforeHeaders
            | Action::DropMidUpload(_)
            | Action::StallUpload(_) => None,
        };
        shared.state().log.push(Recorded {
            method: req.method.clone(),
            path: req.path.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            body_len: req.body_len,
            at: shared.started.elapsed(),
            status,
            connection: connection as u64,
        });
        thread::sleep(reply.delay);
        let keep_alive = req.keep_alive;
        let done = match reply.action {
            Action::Respond(r) => {
                respond(out, &r.headers, r.status, &r.body, keep_alive).is_err() || !keep_alive
            }
            Action::Reset | Action::DropMidUpload(_) => return reset(tcp),
            Action::StallUpload(_) => return hold(shared),
            Action::Stalled(r, sent) => {
                let _ = wire::write_head(out, r.status, &r.headers, r.body.len(), false)
                    .and_then(|()| out.write_all(&r.body[..sent.min(r.body.len())]))
                    .and_then(|()| out.flush());
                return hold(shared);
            }
            Action::CloseBeforeHeaders => true,
            Action::Truncated(r, sent) => {
                let _ = wire::write_head(out, r.status, &r.headers, r.body.len(), false)
                    .and_then(|()| out.write_all(&r.body[..sent.min(r.body.len())]))
                    .and_then(|()| out.flush());
                true
            }
            Action::Slow(r, chunk, interval) => {
                let sent = wire::write_head(out, r.status, &r.headers, r.body.len(), keep_alive)
                    .and_then(|()| {
                        for piece in r.body.chunks(chunk) {
                            out.write_all(piece)?;
                            out.flush()?;
                            thread::sleep(interval);
                        }
                        Ok(())
                    });
                sent.is_err() || !keep_alive
            }
        };
        if done {
            let _ = tcp.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn respond(
    out: &mut impl Write,
    headers: &[(String, String)],
    status: u16,
    body: &[u8],
    keep_alive: bool,
) -> io::Result<()> {
    wire::write_head(out, status, headers, body.len(), keep_alive)?;
    out.write_all(body)?;
    out.flush()
}

/// Keeps a connection open and silent (a link gone quiet) until the
/// server stops, for a minute at most; the caller then closes it.
fn hold(shared: &Shared) {
    for _ in 0..(60_000 / POLL.as_millis().max(1)) {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        thread::sleep(POLL);
    }
}

/// Closes with a TCP reset (SO_LINGER 0), as a crashed peer or middlebox would.
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}
