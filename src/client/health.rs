//! The health check of an unreachable origin: probes on the gate's
//! schedule, on a thread of its own, until any HTTP answer comes back.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::origin::Origin;
use super::transport::{self, Exchange};
use super::{Client, Inner, Request};

impl Client {
    /// Probes `origin` on its gate's schedule (the first after `first`), on
    /// a thread of its own, through the client's clock, until any HTTP
    /// answer comes back; ends early if the client is dropped or a call's
    /// answer opened the gate (even if it closed again since: that outage
    /// has a prober of its own).
    pub(super) fn start_health_check(&self, origin: Arc<Origin>, first: Duration, outage: u64) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let clock = self.inner.retrier.clock().clone();
        let spawned = std::thread::Builder::new()
            .name("apiretry-health".into())
            .spawn({
                let origin = origin.clone();
                move || {
                    let mut pause = first;
                    let mut wake = origin.gate.wake_token();
                    loop {
                        // A link-change hint cancels `wake`: the probe is now.
                        clock.sleep(pause, &wake);
                        let Some(inner) = weak.upgrade() else { return };
                        if !origin.gate.still_down(outage) {
                            return;
                        }
                        // Taken before probing: a hint during the probe
                        // makes the next one immediate.
                        wake = origin.gate.wake_token();
                        if !probe(&inner, &origin) {
                            return origin.gate.mark_connected();
                        }
                        pause = origin.gate.next_probe();
                    }
                }
            });
        if spawned.is_err() {
            // No thread for the check: do not hold calls that nothing would release.
            origin.gate.mark_connected();
        }
    }
}

/// One health probe of `origin`; true while it is still unreachable.
fn probe(inner: &Inner, origin: &Origin) -> bool {
    let (method, url) = (origin.probe.0, origin.probe.1.as_str());
    let request = Request::new(method, url).without_authorization();
    let x = Exchange {
        method,
        url,
        body: false,
        credentials: false,
        token: None,
        left: None,
    };
    match transport::send(&inner.agents, &request, &x, inner.caps) {
        Err(f) if f.unreachable => {
            log::debug!(target: "apiretry::probe", "{method} {}: {}", origin.key, f.error);
            true
        }
        _ => {
            log::info!(target: "apiretry::probe", "{method} {}: reachable again", origin.key);
            false
        }
    }
}
