//! The retry loop: a pure decision state machine ([`RetryState`]) and the
//! blocking loop that drives it ([`Retrier`]).
//!
//! The state machine knows nothing of threads or real time, so the same
//! decisions drive the blocking loop, virtual-time tests and fleet
//! simulations.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backoff::Schedule;
use crate::budget::RetryBudget;
use crate::cancel::CancelToken;
use crate::clock::{Clock, SystemClock};
use crate::error::ApiError;
use crate::events::{Event, Observer, Step, StopReason};
use crate::kind::{Kind, Retry};
use crate::policy::Policy;

/// The decisions of one call, attempt by attempt.
#[derive(Debug)]
pub struct RetryState<'p> {
    policy: &'p Policy,
    call: CallState,
}

impl<'p> RetryState<'p> {
    /// A call under `policy` that started at `started`; `seed` drives its jitter.
    pub fn new(policy: &'p Policy, started: Instant, seed: u64) -> Self {
        RetryState {
            policy,
            call: CallState::new(policy, started, seed),
        }
    }

    /// Decides what follows a failed attempt that ended at `now`: retry after
    /// a delay, or stop. A retryable failure is charged to `budget`, which
    /// decides at the call's first such failure whether it retries at all
    /// (never midway: see [`RetryBudget`]).
    ///
    /// The delay is the larger of the backoff and the server's
    /// `retry_after_ms` (capped by the policy); when it would end past the
    /// deadline, the call stops now with the server's error instead. An
    /// error of kind `cancelled` (the call was cancelled at a gate or the
    /// limiter) is [`Step::Cancelled`]; one of kind `deadline_exceeded`
    /// stops for the deadline.
    pub fn on_failure(
        &mut self,
        err: &ApiError,
        now: Instant,
        budget: Option<&RetryBudget>,
    ) -> Step {
        self.call.on_failure(self.policy, err, now, budget)
    }
}

/// Says in `err` why a retryable failure was not retried: the budget.
pub(crate) fn budget_note(err: ApiError, attempts: u32, max_attempts: u32) -> ApiError {
    let message = format!(
        "{}; not retried: the client's retry budget is spent (attempt {attempts} of {max_attempts})",
        err.message
    );
    err.with_message(message)
}

/// What a call has used so far, apart from its policy: the state behind
/// [`RetryState`], also kept by C's call handles (which own their policy).
#[derive(Debug)]
pub(crate) struct CallState {
    schedule: Schedule,
    started: Instant,
    failures: u32,
    once_used: bool,
    /// The budget's one decision for this call, made at its first
    /// retryable failure.
    admitted: Option<bool>,
}

impl CallState {
    pub fn new(policy: &Policy, started: Instant, seed: u64) -> Self {
        CallState {
            schedule: policy.backoff().schedule_seeded(seed),
            started,
            failures: 0,
            once_used: false,
            admitted: None,
        }
    }

    /// Failed attempts so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// See [`RetryState::on_failure`].
    pub fn on_failure(
        &mut self,
        policy: &Policy,
        err: &ApiError,
        now: Instant,
        budget: Option<&RetryBudget>,
    ) -> Step {
        self.failures += 1;
        match err.kind {
            Kind::Cancelled => return Step::Cancelled,
            Kind::DeadlineExceeded => return Step::GiveUp(StopReason::Deadline),
            _ => {}
        }
        let class = policy.retry_for(err);
        let budget_allows = match (class, budget) {
            (Retry::No, _) | (_, None) => true,
            (_, Some(b)) => {
                let fresh = b.on_failure(); // spent whether or not it decides
                *self.admitted.get_or_insert(fresh)
            }
        };
        let stop = match class {
            Retry::No => Some(StopReason::NotRetryable),
            Retry::Once if self.once_used => Some(StopReason::OnceUsed),
            _ if self.failures >= policy.max_attempts() => Some(StopReason::Attempts),
            _ if !budget_allows => Some(StopReason::Budget),
            _ => None,
        };
        if let Some(reason) = stop {
            return Step::GiveUp(reason);
        }
        if class == Retry::Once {
            self.once_used = true;
        }
        let backoff = self.schedule.next().unwrap_or_default();
        let pushback = err.retry_after_ms.map_or(Duration::ZERO, |ms| {
            Duration::from_millis(ms).min(policy.max_retry_after())
        });
        let wait = backoff.max(pushback);
        if let Some(deadline) = policy.deadline() {
            let left = deadline.saturating_sub(now.saturating_duration_since(self.started));
            if wait >= left {
                return Step::GiveUp(StopReason::Deadline);
            }
        }
        Step::Retry(wait)
    }
}

/// Runs operations under a policy: the blocking retry loop.
///
/// ```
/// use apiretry::{ApiError, Kind, Policy, Retrier, VirtualClock};
/// use std::sync::Arc;
///
/// let clock = Arc::new(VirtualClock::new());
/// let retrier = Retrier::new(Policy::default()).with_clock(clock.clone());
/// let mut calls = 0;
/// let result = retrier.run(|_attempt| {
///     calls += 1;
///     if calls < 3 { Err(ApiError::new(Kind::Timeout)) } else { Ok("done") }
/// });
/// assert_eq!(result.unwrap(), "done");
/// assert_eq!(clock.sleeps().len(), 2); // two backoff waits, on virtual time
/// ```
#[derive(Clone)]
pub struct Retrier {
    policy: Policy,
    budget: Option<Arc<RetryBudget>>,
    clock: Arc<dyn Clock>,
    observer: Option<Arc<dyn Observer>>,
}

impl fmt::Debug for Retrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retrier")
            .field("policy", &self.policy)
            .field("budget", &self.budget)
            .field("clock", &self.clock)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Retrier {
    /// A retrier with no budget, the real clock and no observer.
    pub fn new(policy: Policy) -> Self {
        Retrier {
            policy,
            budget: None,
            clock: Arc::new(SystemClock),
            observer: None,
        }
    }

    /// Shares `budget` with every call (and with other retriers given it).
    pub fn with_budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Reads time and sleeps through `clock` (a [`crate::VirtualClock`] in tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Tells `observer` about every attempt.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The same budget, clock and observer under another policy.
    pub(crate) fn under(&self, policy: Policy) -> Retrier {
        Retrier {
            policy,
            ..self.clone()
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The clock its sleeps go through.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Runs `op` (given the attempt number, 0 first) until it succeeds or
    /// the policy says stop; returns its value or the last error.
    pub fn run<T>(&self, op: impl FnMut(u32) -> Result<T, ApiError>) -> Result<T, ApiError> {
        self.run_cancellable(CancelToken::never(), op)
    }

    /// As [`Retrier::run`]; `cancel` stops the call before its next attempt
    /// and interrupts a backoff sleep at once (`cancelled`).
    pub fn run_cancellable<T>(
        &self,
        cancel: &CancelToken,
        mut op: impl FnMut(u32) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        // Read the clock up front only when a deadline needs it: the
        // first-try success path stays a few nanoseconds.
        let started = self.policy.deadline().map(|_| self.clock.now());
        let mut state: Option<RetryState<'_>> = None;
        let mut attempt = 0;
        loop {
            if cancel.is_cancelled() {
                return Err(self.cancelled(attempt, None));
            }
            let err = match op(attempt) {
                Ok(value) => {
                    if let Some(b) = &self.budget {
                        b.on_success();
                    }
                    self.observe(attempt, None, Step::Success);
                    return Ok(value);
                }
                Err(err) => err,
            };
            let now = self.clock.now();
            let state = state.get_or_insert_with(|| {
                RetryState::new(&self.policy, started.unwrap_or(now), fastrand::u64(..))
            });
            let step = state.on_failure(&err, now, self.budget.as_deref());
            if step == Step::Cancelled {
                // Cancelled at a gate or the limiter: the error says so already.
                self.observe(attempt, Some(&err), step);
                return Err(err);
            }
            self.observe(attempt, Some(&err), step);
            match step {
                Step::Retry(delay) => {
                    if !self.clock.sleep(delay, cancel) {
                        return Err(self.cancelled(attempt, Some(&err)));
                    }
                }
                Step::GiveUp(StopReason::Budget) => {
                    return Err(budget_note(err, attempt + 1, self.policy.max_attempts()))
                }
                _ => return Err(err),
            }
            attempt += 1;
        }
    }

    fn cancelled(&self, attempt: u32, last: Option<&ApiError>) -> ApiError {
        self.observe(attempt, last, Step::Cancelled);
        let err = ApiError::new(Kind::Cancelled);
        match last {
            Some(last) => {
                let message = format!("cancelled; last failure: {last}");
                err.with_message(message)
            }
            None => err,
        }
    }

    /// Tells the observer that attempt `attempt` was held `held` at a gate.
    pub(crate) fn observe_held(&self, attempt: u32, held: Duration) {
        self.observe(attempt, None, Step::Held(held));
    }

    fn observe(&self, attempt: u32, error: Option<&ApiError>, step: Step) {
        if let Some(o) = &self.observer {
            o.on_event(&Event {
                attempt,
                error,
                step,
                budget_left: self.budget.as_ref().map(|b| b.tokens()),
            });
        }
    }
}
