//! What the retry loop may do: attempts, backoff, deadline, pushback cap and
//! per-kind overrides.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

/// The health check follows the policy's backoff (seed 001: "When polling
/// for connection status, you should use the same exponential backoff
/// strategy"), its delays capped at this before jitter: 0.5 s, 1, 2, 4,
/// then 6 s, each plus up to half again. It is the largest cap whose longest
/// jittered pause (9 s) still lets a waiting call through within 10 s of the
/// origin's return; over a 30 s outage a client probes 6 to 7 times.
pub const HEALTH_CHECK_CAP: Duration = Duration::from_secs(6);

/// A retry policy.
///
/// Defaults follow seed 001: 8 attempts (the first try and 7 retries,
/// 63.5 s of backoff before jitter), its backoff formula and jitter, no
/// overall deadline, and server-requested waits honoured up to 5 minutes.
///
/// ```
/// use std::time::Duration;
/// use apiretry::{Kind, Policy, Retry};
///
/// let policy = Policy::default()
///     .with_max_attempts(4)
///     .with_deadline(Duration::from_secs(60))
///     .with_retry(Kind::NotFound, Retry::No);
/// assert_eq!(policy.max_attempts(), 4);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    max_attempts: u32,
    backoff: Backoff,
    deadline: Option<Duration>,
    max_retry_after: Duration,
    overrides: Vec<(Kind, Retry)>,
    network_wait: NetworkWait,
}

/// How long a call may wait at a closed connectivity gate.
#[derive(Clone, Copy, Debug, PartialEq)]
enum NetworkWait {
    /// As long as the policy's retries could have backed off (worked out
    /// when the attempts or the backoff are set, not per call).
    Derived(Duration),
    Limit(Duration),
    Forever,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 8,
            backoff: Backoff::default(),
            deadline: None,
            max_retry_after: Duration::from_secs(300),
            overrides: Vec::new(),
            network_wait: NetworkWait::Derived(Duration::ZERO),
        }
        .rederived()
    }
}

impl Policy {
    /// Attempts in all, the first included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self.rederived()
    }

    /// The backoff schedule between attempts.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self.rederived()
    }

    /// A derived network wait worked out again for the attempts and backoff.
    fn rederived(mut self) -> Self {
        if let NetworkWait::Derived(_) = self.network_wait {
            let wait = (0..self.max_attempts - 1)
                .map(|i| self.backoff.max_delay(i))
                .sum();
            self.network_wait = NetworkWait::Derived(wait);
        }
        self
    }

    /// The overall time a call may take, attempts and waits included.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The longest server-requested wait honoured (longer requests are cut
    /// to this), by the call told and, when the client holds every call
    /// to the origin for it, by them too.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Overrides the retry class of `kind` (except where the taxonomy forbids
    /// retrying: `channel_paused`, `cancelled`, `deadline_exceeded`).
    pub fn with_retry(mut self, kind: Kind, retry: Retry) -> Self {
        self.overrides.retain(|(k, _)| *k != kind);
        self.overrides.push((kind, retry));
        self
    }

    /// The longest a call waits, in all, at its origin's closed gates. At
    /// the connectivity gate (the origin unreachable), the call then makes
    /// its next attempt anyway, so that the attempt limit (and so the call)
    /// always ends. At the overload gate (the origin refusing), it fails as
    /// `held_back`, not sent: it never goes past a service shedding load.
    /// Default: the most the policy's retries could back off
    /// (95.25 s for the default policy; nothing for one attempt).
    pub fn with_network_wait(mut self, wait: Duration) -> Self {
        self.network_wait = NetworkWait::Limit(wait);
        self
    }

    /// Calls wait at a closed connectivity gate until the network is back,
    /// however long that takes (bounded only by a deadline or cancellation).
    pub fn wait_for_network_forever(mut self) -> Self {
        self.network_wait = NetworkWait::Forever;
        self
    }

    /// How long a call may wait at a closed connectivity gate; `None` for
    /// ever.
    ///
    /// ```
    /// use std::time::Duration;
    /// use apiretry::Policy;
    ///
    /// let p = Policy::default();
    /// assert_eq!(p.network_wait(), Some(Duration::from_millis(95_250)));
    /// assert_eq!(p.clone().with_max_attempts(2).network_wait(), Some(Duration::from_millis(750)));
    /// assert_eq!(p.wait_for_network_forever().network_wait(), None);
    /// ```
    pub fn network_wait(&self) -> Option<Duration> {
        match self.network_wait {
            NetworkWait::Derived(d) | NetworkWait::Limit(d) => Some(d),
            NetworkWait::Forever => None,
        }
    }

    /// Attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff schedule.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The connectivity probes' schedule by default: this policy's backoff,
    /// its jitter included, capped at [`HEALTH_CHECK_CAP`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use apiretry::{Jitter, Policy};
    ///
    /// let probes = Policy::default().probe_backoff().with_jitter(Jitter::None);
    /// let pauses: Vec<u64> = probes.schedule().take(7).map(|d| d.as_millis() as u64).collect();
    /// assert_eq!(pauses, [500, 1000, 2000, 4000, 6000, 6000, 6000]);
    /// ```
    pub fn probe_backoff(&self) -> Backoff {
        let b = &self.backoff;
        b.clone().with_cap(b.delay(u32::MAX).min(HEALTH_CHECK_CAP))
    }

    /// The overall deadline, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The cap on server-requested waits.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The retry class this policy gives `err`.
    pub fn retry_for(&self, err: &ApiError) -> Retry {
        if matches!(
            err.kind,
            Kind::ChannelPaused | Kind::Cancelled | Kind::DeadlineExceeded
        ) {
            return Retry::No; // seed 001: never re-upload a paused channel's asset
        }
        self.overrides
            .iter()
            .find(|(k, _)| *k == err.kind)
            .map_or(err.retry, |&(_, r)| r)
    }
}
