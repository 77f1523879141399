//! The client's own TCP connection setup, in place of ureq's, so that each
//! socket carries what a device's links need (socket2 sets the options):
//!
//! - A stall measured by the bytes the peer acknowledged, not the bytes
//!   the kernel accepted (Linux): while a write or the wait for the answer
//!   is blocked, the client reads the connection's counters (`TCP_INFO`)
//!   each tick, and ends the attempt once nothing was acknowledged for the
//!   limit with bytes outstanding ([`watch`]). A peer that stops reading is
//!   caught within the limit and a tick (ureq's per-write timeout alone
//!   restarts each time the kernel grows its send buffer: three limits on
//!   loopback), and so is a link that dies while the kernel still holds
//!   the body and the call waits for the answer (before, only the phase
//!   timeout: 5 minutes for a chunk). A slow link whose bytes are
//!   acknowledged steadily is never cut. Where the counters cannot be read
//!   (an emulator, a kernel before 4.18), the kernel watches instead
//!   (`TCP_USER_TIMEOUT` at the limit, which a lossy link can trip, see
//!   [`watch`]); on other systems, the per-write timeout, as before.
//! - TCP keepalive after [`KEEPALIVE_IDLE`] idle: a pooled connection that
//!   a NAT or a cellular link dropped silently is found dead, and left out
//!   of the pool, before a request is written into it.
//! - `TCP_NODELAY`, as ureq sets it.
//! - For upload parts, the congestion control asked for, and a bound on
//!   the bytes queued unsent ([`congestion`]).
//!
//! Addresses are tried in turn, each with a share of the connect timeout
//! (halving, as ureq and curl do), so a host whose first address has no
//! route still connects through the next.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, TcpKeepalive, Type};
use ureq::unversioned::transport::{ConnectionDetails, Connector, Either, LazyBuffers, Transport};
use ureq::{Error, Timeout};

pub(crate) mod congestion;
mod transport;
mod watch;

use transport::Watcher;
pub(crate) use transport::{is_unacknowledged, TcpTransport};
use watch::Watch;

/// Idle time before the first keepalive probe. ureq closes pooled
/// connections after 15 s idle, so a connection sees at most a few probes:
/// little for a cellular radio, and a dead one is known within
/// `KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_PROBES` (8 s), or at
/// the first probe unanswered past a shorter user timeout where the kernel
/// watches the acknowledgements.
pub(crate) const KEEPALIVE_IDLE: Duration = Duration::from_secs(5);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
const KEEPALIVE_PROBES: u32 = 3;

/// Opens TCP connections for one agent, whose stall limit is `stall`.
#[derive(Debug)]
pub(crate) struct Tcp {
    pub stall: Option<Duration>,
    /// The congestion control asked for; `None`: the system's.
    pub congestion: Option<Arc<str>>,
    /// The bytes queued unsent at most; `None`: the kernel's.
    pub unsent: Option<u32>,
}

impl<In: Transport> Connector<In> for Tcp {
    type Out = Either<In, TcpTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        if chained.is_some() {
            return Ok(chained.map(Either::A)); // a proxy's tunnel
        }
        let budget = details.timeout.not_zero().map(|t| *t);
        let addrs: Vec<SocketAddr> = details.addrs.iter().copied().collect();
        let stream = connect_any(&addrs, budget, |addr, within| {
            Ok(connect_one(addr, within, self.congestion.as_deref())?.into())
        })?;
        let watcher = self.watcher(&stream);
        let user_timeout = self.stall.filter(|_| matches!(watcher, Watcher::Kernel));
        configure(
            &SockRef::from(&stream),
            details.config.no_delay(),
            user_timeout,
        )
        .map_err(Error::Io)?;
        if let Some(bytes) = self.unsent {
            congestion::limit_unsent(&SockRef::from(&stream), bytes);
        }
        let config = details.config;
        let buffers = LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size());
        Ok(Some(Either::B(TcpTransport::new(stream, buffers, watcher))))
    }
}

impl Tcp {
    /// Who watches `stream`'s acknowledgements: the client where it can
    /// read the kernel's counters, else the kernel on Linux.
    fn watcher(&self, stream: &TcpStream) -> Watcher {
        match self.stall {
            None => Watcher::Nobody,
            Some(stall) if crate::sys::tcp_info::tcp_progress(stream).is_some() => {
                Watcher::Client(Watch::new(stall))
            }
            Some(_) if cfg!(any(target_os = "linux", target_os = "android")) => Watcher::Kernel,
            Some(_) => Watcher::Nobody,
        }
    }
}

/// Sets a connection's options: `TCP_NODELAY`, keepalive, and
/// `TCP_USER_TIMEOUT` when the kernel watches the acknowledgements.
fn configure(
    socket: &SockRef<'_>,
    no_delay: bool,
    user_timeout: Option<Duration>,
) -> io::Result<()> {
    if no_delay {
        socket.set_tcp_nodelay(true)?;
    }
    let keepalive = TcpKeepalive::new().with_time(KEEPALIVE_IDLE);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let keepalive = keepalive
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_PROBES);
    socket.set_tcp_keepalive(&keepalive)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket.set_tcp_user_timeout(user_timeout)?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = user_timeout;
    Ok(())
}

/// Connects to one address within `within`, with the `congestion`
/// control asked for from the first segment.
fn connect_one(
    addr: SocketAddr,
    within: Option<Duration>,
    congestion: Option<&str>,
) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(name) = congestion {
        congestion::ask(&socket, name);
    }
    let to = SockAddr::from(addr);
    match within {
        Some(t) => socket.connect_timeout(&to, t)?,
        None => socket.connect(&to)?,
    }
    Ok(socket)
}

/// The shortest share of the budget an address gets.
const MIN_PER_ADDRESS: Duration = Duration::from_millis(10);

/// Tries `addrs` in turn, the first with half the budget (all of it when
/// alone), each next with half the previous share: the shares sum to the
/// budget. The error is the last address's.
fn connect_any(
    addrs: &[SocketAddr],
    budget: Option<Duration>,
    mut connect: impl FnMut(SocketAddr, Option<Duration>) -> io::Result<TcpStream>,
) -> Result<TcpStream, Error> {
    let total = 2.0 * (1.0 - 0.5f64.powi(addrs.len() as i32));
    let mut weight = 1.0;
    let mut last = None;
    for &addr in addrs {
        let share = budget.map(|b| b.mul_f64(weight / total).max(MIN_PER_ADDRESS));
        weight /= 2.0;
        match connect(addr, share) {
            Ok(stream) => return Ok(stream),
            Err(e)
                if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock =>
            {
                last = Some(Error::Timeout(Timeout::Connect));
            }
            Err(e) => last = Some(Error::Io(e)),
        }
    }
    Err(last.unwrap_or_else(|| {
        Error::Io(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "the name resolved to no address",
        ))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows: (stall limit) -> the options a connection carries.
    #[test]
    fn connections_carry_keepalive_nodelay_and_the_user_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        for stall in [Some(Duration::from_millis(2500)), None] {
            let socket = connect_one(addr, Some(Duration::from_secs(1)), None).unwrap();
            configure(&SockRef::from(&socket), true, stall).unwrap();
            assert!(socket.tcp_nodelay().unwrap());
            assert!(socket.keepalive().unwrap());
            assert_eq!(socket.tcp_keepalive_time().unwrap(), KEEPALIVE_IDLE);
            #[cfg(any(target_os = "linux", target_os = "android"))]
            assert_eq!(socket.tcp_user_timeout().unwrap(), stall);
        }
    }

    /// The client watches where it can read the kernel's counters (on a
    /// connection that sent 3 bytes and had them acknowledged), the kernel
    /// elsewhere: under qemu-user (`.ci/arm`), which passes no `TCP_INFO`.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_client_watches_where_the_kernel_counts_acknowledgements() {
        use crate::sys::tcp_info::tcp_progress;
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_peer, _) = listener.accept().unwrap();
        stream.write_all(b"abc").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while tcp_progress(&stream).is_some_and(|seen| seen.outstanding)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let watcher = Tcp {
            stall: Some(Duration::from_secs(1)),
            congestion: None,
            unsent: None,
        }
        .watcher(&stream);
        #[cfg(target_arch = "x86_64")]
        assert!(tcp_progress(&stream).is_some(), "TCP_INFO on the host");
        match tcp_progress(&stream) {
            Some(seen) => {
                // The SYN counts as one byte.
                assert_eq!((seen.acked, seen.outstanding), (1 + 3, false), "{seen:?}");
                assert!(matches!(watcher, Watcher::Client(_)), "{watcher:?}");
            }
            None => assert!(matches!(watcher, Watcher::Kernel), "{watcher:?}"),
        }
    }

    /// Rows: (addresses, budget) -> each address's share, in order.
    #[test]
    fn addresses_share_the_connect_timeout_halving() {
        let ms = Duration::from_millis;
        let rows: [(usize, u64, &[u64]); 3] = [
            (1, 10_000, &[10_000]),
            (2, 9_000, &[6_000, 3_000]),
            (4, 15_000, &[8_000, 4_000, 2_000, 1_000]),
        ];
        for (n, budget, want) in rows {
            let addrs: Vec<SocketAddr> = (0..n)
                .map(|i| SocketAddr::from(([127, 0, 0, 1], 9 + i as u16)))
                .collect();
            let mut shares = Vec::new();
            let err = connect_any(&addrs, Some(ms(budget)), |_, share| {
                shares.push(share.unwrap().as_millis() as u64);
                Err(io::ErrorKind::ConnectionRefused.into())
            })
            .unwrap_err();
            assert!(matches!(err, Error::Io(_)), "{err}");
            assert_eq!(shares, want, "{n} addresses");
        }
    }
}
