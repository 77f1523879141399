//! Where the stall limit applies: ureq's per-read and per-write timeouts
//! bound every socket operation, but while a call waits for the answer's
//! head the kernel may still be sending the body it buffered (megabytes,
//! draining at the link's rate): no byte reaches the program then, on a
//! link that is slow, not dead. So the wait for the head is bounded by the
//! phase's timeout, and on Linux by what the peer acknowledged meanwhile
//! (`socket::watch`); sending and receiving bodies (and the handshake) by
//! the stall limit too.
//!
//! The guard also holds every write to the client's cap on the bytes it
//! sends (`max_upload_rate`), before the bytes reach TLS and the socket.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, NextTimeout, RustlsConnector,
    Transport,
};
use ureq::Timeout;

use super::socket::Tcp;
use crate::limit::bandwidth::Bandwidth;

/// What an agent's connections carry beyond its timeouts.
#[derive(Clone, Debug, Default)]
pub(crate) struct Link {
    /// The congestion control asked for; `None`: the system's.
    pub congestion: Option<Arc<str>>,
    /// The bytes queued unsent at most; `None`: the kernel's.
    pub unsent: Option<u32>,
    /// The client's cap on the bytes it sends, shared by its agents.
    pub cap: Option<Arc<Bandwidth>>,
}

/// The connectors an agent whose stall limit is `stall` uses: HTTP proxy
/// tunnels and TLS as ureq's, TCP the client's own ([`Tcp`]), each
/// transport wrapped in [`StallGuard`]; a connection is not reused once
/// `generation` moved past its own.
pub(crate) fn connector(
    generation: Arc<AtomicUsize>,
    stall: Option<Duration>,
    link: Link,
) -> impl Connector {
    ().chain(ConnectProxyConnector::default())
        .chain(Tcp {
            stall,
            congestion: link.congestion,
            unsent: link.unsent,
        })
        .chain(RustlsConnector::default())
        .chain(Guard(generation, link.cap))
}

#[derive(Debug)]
struct Guard(Arc<AtomicUsize>, Option<Arc<Bandwidth>>);

impl<In: Transport> Connector<In> for Guard {
    type Out = StallGuard;

    fn connect(
        &self,
        _: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<StallGuard>, ureq::Error> {
        let born = self.0.load(Ordering::Acquire);
        Ok(chained.map(|t| StallGuard(t.boxed(), self.0.clone(), born, self.1.clone())))
    }
}

/// A transport whose wait for the answer's head has no per-read limit, the
/// connection generation it was made in, and the cap its writes keep to.
#[derive(Debug)]
pub(crate) struct StallGuard(
    Box<dyn Transport>,
    Arc<AtomicUsize>,
    usize,
    Option<Arc<Bandwidth>>,
);

impl Transport for StallGuard {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if let Some(cap) = &self.3 {
            let wait = cap.reserve(Instant::now(), amount);
            if !wait.is_zero() && !crate::cancel::sleep_here(wait) {
                let e = std::io::Error::other("the call was cancelled");
                return Err(ureq::Error::Io(e));
            }
        }
        self.0.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, mut timeout: NextTimeout) -> Result<bool, ureq::Error> {
        if timeout.reason == Timeout::RecvResponse {
            timeout.per_read = None;
        }
        self.0.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.1.load(Ordering::Acquire) == self.2 && self.0.is_open()
    }

    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}
