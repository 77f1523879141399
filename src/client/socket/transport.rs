//! A TCP connection as a ureq transport: ureq's own is not public, and the
//! client makes its sockets itself (see the parent module).
//!
//! Timeouts are the socket's (`SO_RCVTIMEO`, `SO_SNDTIMEO`), set only when
//! they change. One difference from ureq's: a connection the kernel ended
//! because the peer acknowledged nothing for `TCP_USER_TIMEOUT` stays an I/O
//! error (`ETIMEDOUT`), so that the client can say what happened
//! ([`is_unacknowledged`]); a socket timeout is ureq's `Timeout`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ureq::unversioned::transport::{Buffers, LazyBuffers, NextTimeout, Transport};
use ureq::Error;

#[derive(Debug)]
pub(crate) struct TcpTransport {
    stream: TcpStream,
    buffers: LazyBuffers,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl TcpTransport {
    pub fn new(stream: TcpStream, buffers: LazyBuffers) -> Self {
        TcpTransport {
            stream,
            buffers,
            read_timeout: None,
            write_timeout: None,
        }
    }
}

/// Whether `e` says the peer acknowledged nothing for the connection's
/// user timeout (or its keepalive probes went unanswered): `ETIMEDOUT`.
pub(crate) fn is_unacknowledged(e: &io::Error) -> bool {
    cfg!(unix) && e.raw_os_error() == Some(libc::ETIMEDOUT)
}

/// The socket timeout for `timeout`, or the timeout's error if it is spent.
fn limit(timeout: &NextTimeout) -> Result<Option<Duration>, Error> {
    if timeout.after.is_zero() {
        return Err(Error::Timeout(timeout.reason));
    }
    Ok(timeout.not_zero().map(|t| *t))
}

/// Sets a socket timeout through `set` when it differs from `current`.
fn update(
    current: &mut Option<Duration>,
    want: Option<Duration>,
    set: impl FnOnce(Option<Duration>) -> io::Result<()>,
) -> io::Result<()> {
    if *current != want {
        set(want)?;
        *current = want;
    }
    Ok(())
}

fn failure(e: io::Error, timeout: &NextTimeout) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock => Error::Timeout(timeout.reason),
        io::ErrorKind::TimedOut if !is_unacknowledged(&e) => Error::Timeout(timeout.reason),
        _ => Error::Io(e),
    }
}

impl Transport for TcpTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = timeout.for_write();
        let stream = &self.stream;
        update(&mut self.write_timeout, limit(&timeout)?, |t| {
            stream.set_write_timeout(t)
        })?;
        let output = &self.buffers.output()[..amount];
        (&self.stream)
            .write_all(output)
            .map_err(|e| failure(e, &timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = timeout.for_read();
        let stream = &self.stream;
        update(&mut self.read_timeout, limit(&timeout)?, |t| {
            stream.set_read_timeout(t)
        })?;
        let input = self.buffers.input_append_buf();
        // A signal interrupting the read restarts it: the socket's timeout
        // then starts over, a rare lengthening that needs no clock here.
        let read = loop {
            match (&self.stream).read(input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let amount = read.map_err(|e| failure(e, &timeout))?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    /// Whether an idle connection can be used: a read that would block.
    /// Bytes or an end of stream mean the peer closed it or sent what was
    /// not asked for; an error, that it is gone (keepalive found it dead).
    fn is_open(&mut self) -> bool {
        if self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let open = matches!(
            (&self.stream).read(&mut [0u8]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        );
        self.stream.set_nonblocking(false).is_ok() && open
    }

    fn is_tls(&self) -> bool {
        false
    }
}
