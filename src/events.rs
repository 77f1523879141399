//! What the retry loop tells an observer after each attempt, for logging and
//! metrics. Events carry classifications, which never hold credentials.

use std::time::Duration;

use crate::error::ApiError;

/// Why the loop stopped retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[repr(u32)]
pub enum StopReason {
    /// The failure's retry class is `no`.
    NotRetryable,
    /// A `once` failure, and the one extra try was already used.
    OnceUsed,
    /// The policy's attempts are used up.
    Attempts,
    /// The retry budget is exhausted (a long outage).
    Budget,
    /// The next try could not start before the deadline.
    Deadline,
}

/// What happens after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// The attempt succeeded; the call returns its value.
    Success,
    /// The attempt failed; the next one follows after this delay.
    Retry(Duration),
    /// The attempt failed; the call returns its error.
    GiveUp(StopReason),
    /// The call was cancelled.
    Cancelled,
    /// Before attempt `attempt`: the call was held this long while the
    /// service refused calls (overload), and now goes. Not an attempt.
    Held(Duration),
}

/// One attempt's outcome.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Event<'a> {
    /// The attempt that just ended, 0 for the first try.
    pub attempt: u32,
    /// Its classification, or `None` when it succeeded.
    pub error: Option<&'a ApiError>,
    /// What happens next.
    pub step: Step,
    /// Tokens left in the retry budget, when there is one.
    pub budget_left: Option<f64>,
}

/// Receives an [`Event`] per attempt. Closures `Fn(&Event)` are observers.
pub trait Observer: Send + Sync {
    /// Called after each attempt, on the calling thread.
    fn on_event(&self, event: &Event<'_>);
}

impl<F: Fn(&Event<'_>) + Send + Sync> Observer for F {
    fn on_event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// Logs each event through the `log` facade: retries and give-ups at
/// `warn`, successes after a failure at `info`, first-try successes at `trace`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogObserver;

impl Observer for LogObserver {
    fn on_event(&self, e: &Event<'_>) {
        match (e.step, e.error) {
            (Step::Success, _) if e.attempt == 0 => log::trace!("attempt 1 succeeded"),
            (Step::Success, _) => log::info!("attempt {} succeeded", e.attempt + 1),
            (Step::Retry(d), Some(err)) => {
                log::warn!(
                    "attempt {} failed: {err}; retrying in {} ms",
                    e.attempt + 1,
                    d.as_millis()
                )
            }
            (Step::GiveUp(why), Some(err)) => {
                log::warn!(
                    "attempt {} failed: {err}; giving up ({why:?})",
                    e.attempt + 1
                )
            }
            (Step::Held(d), _) => log::info!(
                "attempt {} held {} ms while the service refused calls",
                e.attempt + 1,
                d.as_millis()
            ),
            (step, _) => log::warn!("attempt {}: {step:?}", e.attempt + 1),
        }
    }
}
