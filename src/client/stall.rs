//! Where the stall limit applies: ureq's per-read and per-write timeouts
//! bound every socket operation, but while a call waits for the answer's
//! head the kernel may still be sending the body it buffered (megabytes,
//! draining at the link's rate): no byte reaches the program then, on a
//! link that is slow, not dead. So the wait for the head is bounded by the
//! phase's timeout, and on Linux by what the peer acknowledged meanwhile
//! (`socket::watch`); sending and receiving bodies (and the handshake) by
//! the stall limit too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use std::time::Duration;

use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, NextTimeout, RustlsConnector,
    Transport,
};
use ureq::Timeout;

use super::socket::Tcp;

/// The connectors an agent whose stall limit is `stall` uses: HTTP proxy
/// tunnels and TLS as ureq's, TCP the client's own ([`Tcp`]), each
/// transport wrapped in [`StallGuard`]; a connection is not reused once
/// `generation` moved past its own.
pub(crate) fn connector(generation: Arc<AtomicU64>, stall: Option<Duration>) -> impl Connector {
    ().chain(ConnectProxyConnector::default())
        .chain(Tcp { stall })
        .chain(RustlsConnector::default())
        .chain(Guard(generation))
}

#[derive(Debug)]
struct Guard(Arc<AtomicU64>);

impl<In: Transport> Connector<In> for Guard {
    type Out = StallGuard;

    fn connect(
        &self,
        _: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<StallGuard>, ureq::Error> {
        let born = self.0.load(Ordering::Acquire);
        Ok(chained.map(|t| StallGuard(t.boxed(), self.0.clone(), born)))
    }
}

/// A transport whose wait for the answer's head has no per-read limit, and
/// the connection generation it was made in.
#[derive(Debug)]
pub(crate) struct StallGuard(Box<dyn Transport>, Arc<AtomicU64>, u64);

impl Transport for StallGuard {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
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
