//! A TCP connection as a ureq transport: ureq's own is not public, and the
//! client makes its sockets itself (see the parent module).
//!
//! Timeouts are the socket's (`SO_RCVTIMEO`, `SO_SNDTIMEO`), set only when
//! they change. One difference from ureq's: a connection ended because the
//! peer acknowledged nothing for the stall limit is an I/O error
//! (`ETIMEDOUT`), so that the client can say what happened
//! ([`is_unacknowledged`]); a socket timeout is ureq's `Timeout`.
//!
//! Who watches the acknowledgements ([`Watcher`]): the client itself where
//! the kernel's counters can be read ([`Watch`]); else, on Linux, the
//! kernel (`TCP_USER_TIMEOUT`), the per-write timeout then a backstop at
//! [`WRITE_BACKSTOP`] limits; elsewhere nobody, and the per-write timeout
//! is the stall limit. Not the per-write timeout where it can be helped: a
//! blocked write gets room only once the kernel's send buffer has drained
//! by a third (its wake-up threshold), which on a slow link with a large
//! buffer takes longer than the stall limit while acknowledgements arrive
//! steadily: 5 MiB over 2 Mbit/s had 128 KiB writes taking up to 1.67 s,
//! and with a 0.7 s limit the per-write timeout cut the upload in 3 of 6
//! runs.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ureq::unversioned::transport::{Buffers, LazyBuffers, NextTimeout, Transport};
use ureq::{Error, Timeout};

use super::watch::Watch;
use crate::sys::tcp_info::tcp_progress;

#[derive(Debug)]
pub(crate) struct TcpTransport {
    stream: TcpStream,
    buffers: LazyBuffers,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    watcher: Watcher,
}

/// Who ends a connection whose peer acknowledges nothing for the stall
/// limit.
#[derive(Debug)]
pub(crate) enum Watcher {
    /// Nobody: the per-write timeout is the stall limit.
    Nobody,
    /// The kernel (`TCP_USER_TIMEOUT`); the per-write timeout a backstop.
    Kernel,
    /// The client, from the kernel's counters, while blocked.
    Client(Watch),
}

/// How many stall limits a write may wait where the kernel watches the
/// acknowledgements: over twice the longest write seen on a steady link
/// (1.67 s with a 2 s limit).
pub(crate) const WRITE_BACKSTOP: u32 = 4;

impl TcpTransport {
    pub fn new(stream: TcpStream, buffers: LazyBuffers, watcher: Watcher) -> Self {
        TcpTransport {
            stream,
            buffers,
            read_timeout: None,
            write_timeout: None,
            watcher,
        }
    }

    /// The socket timeout for a watched wait: a tick, or what is left.
    fn tick(&self, timeout: &NextTimeout) -> Result<Option<Duration>, Error> {
        let left = limit(timeout)?;
        Ok(match &self.watcher {
            Watcher::Client(watch) => Some(left.map_or(watch.tick(), |l| l.min(watch.tick()))),
            _ => left,
        })
    }
}

/// Waits out `io` (a write or a read on `stream`, whose timeout is a tick
/// at most) looking at the counters each time it gives up, until it does
/// something, the phase's time is spent (`timeout`), or the peer
/// acknowledged nothing for the stall limit.
fn watched<T>(
    stream: &TcpStream,
    watch: &mut Watch,
    timeout: &NextTimeout,
    mut io: impl FnMut(&TcpStream) -> io::Result<T>,
) -> Result<T, Error> {
    let end = timeout
        .not_zero()
        .and_then(|after| Instant::now().checked_add(*after));
    loop {
        let e = match io(stream) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if blocked(&e) => e,
            other => return other.map_err(|e| failure(e, timeout)),
        };
        let now = Instant::now();
        if end.is_some_and(|end| now >= end) {
            return Err(failure(e, timeout));
        }
        if crate::cancel::cancelled_here() {
            return Err(Error::Io(io::Error::other("the call was cancelled")));
        }
        let seen = tcp_progress(stream).unwrap_or_else(|| watch.unread());
        if watch.stalled(now, seen) {
            return Err(Error::Io(io::Error::from_raw_os_error(libc::ETIMEDOUT)));
        }
    }
}

/// Whether a socket call gave up for its timeout.
fn blocked(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
        || (e.kind() == io::ErrorKind::TimedOut && !is_unacknowledged(e))
}

/// `timeout` for a write: its per-write part stretched to the backstop
/// when the kernel watches the acknowledgements, gone when the client does.
fn for_write(mut timeout: NextTimeout, watcher: &Watcher) -> NextTimeout {
    timeout.per_write = match watcher {
        Watcher::Nobody => timeout.per_write,
        Watcher::Kernel => timeout
            .per_write
            .filter(|w| !w.is_not_happening())
            .map(|w| w.saturating_mul(WRITE_BACKSTOP).into()),
        Watcher::Client(_) => None,
    };
    timeout.for_write()
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
    match blocked(&e) {
        true => Error::Timeout(timeout.reason),
        false => Error::Io(e),
    }
}

impl Transport for TcpTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = for_write(timeout, &self.watcher);
        let want = self.tick(&timeout)?;
        let stream = &self.stream;
        update(&mut self.write_timeout, want, |t| {
            stream.set_write_timeout(t)
        })?;
        let output = &self.buffers.output()[..amount];
        let Watcher::Client(watch) = &mut self.watcher else {
            return (&self.stream)
                .write_all(output)
                .map_err(|e| failure(e, &timeout));
        };
        let mut sent = 0;
        while sent < amount {
            sent += watched(&self.stream, watch, &timeout, |mut s| {
                match s.write(&output[sent..])? {
                    0 => Err(io::ErrorKind::WriteZero.into()),
                    n => Ok(n),
                }
            })?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        // The wait for the answer's head (no per-read limit, see `stall`)
        // is watched: the kernel may still be sending the body.
        let head = timeout.reason == Timeout::RecvResponse && timeout.per_read.is_none();
        let timeout = timeout.for_read();
        let want = match head {
            true => self.tick(&timeout)?,
            false => limit(&timeout)?,
        };
        let stream = &self.stream;
        update(&mut self.read_timeout, want, |t| stream.set_read_timeout(t))?;
        let input = self.buffers.input_append_buf();
        let amount = match &mut self.watcher {
            Watcher::Client(watch) if head => {
                watched(&self.stream, watch, &timeout, |mut s| s.read(input))?
            }
            _ => {
                // A signal interrupting the read restarts it: the socket's
                // timeout then starts over, a rare lengthening that needs
                // no clock here.
                let read = loop {
                    match (&self.stream).read(input) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                read.map_err(|e| failure(e, &timeout))?
            }
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::Timeout;

    /// Rows: (per-write limit, time left in the phase, the kernel watching)
    /// -> the write's timeout and what its expiry is called.
    #[test]
    fn a_watched_write_waits_up_to_the_backstop() {
        let s = Duration::from_secs;
        let rows = [
            (Some(2), 60, false, 2, Timeout::PerWrite),
            (Some(2), 60, true, 8, Timeout::PerWrite),
            (Some(2), 5, true, 5, Timeout::SendBody),
            (None, 60, true, 60, Timeout::SendBody),
        ];
        for (per_write, left, kernel, after, reason) in rows {
            let watcher = match kernel {
                true => Watcher::Kernel,
                false => Watcher::Nobody,
            };
            let timeout = NextTimeout {
                after: s(left).into(),
                reason: Timeout::SendBody,
                per_read: None,
                per_write: per_write.map(|w| s(w).into()),
            };
            let got = for_write(timeout, &watcher);
            assert_eq!(
                (*got.after, got.reason),
                (s(after), reason),
                "{per_write:?} {left} {kernel}"
            );
        }
    }
}
