//! The retry engine for C programs with their own HTTP stack (libcurl, a
//! vendor stack): one handle per logical call, fed each attempt's outcome,
//! answering "retry after N ms" or "stop, and why" with the same policy,
//! retry classes, `Retry-After`, budget, deadline and cancellation as
//! `apiretry_client_send`. Mirrors `retry` (`RetryState`).

use std::ffi::c_char;
use std::ptr;
use std::sync::Arc;
use std::time::Instant;

use super::backoff::apiretry_backoff_config;
use super::cancel::apiretry_cancel;
use super::classify::{apiretry_header, classify_raw, transport_error};
use super::error::apiretry_classification;
use super::profile::apiretry_profile;
use super::{apiretry_result, arg, boxed, free, guard, guard_void, out};
use crate::budget::RetryBudget;
use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::events::{Step, StopReason};
use crate::ffi::client::apiretry_stop_reason;
use crate::policy::Policy;
use crate::profile::Profile;
use crate::retry::{budget_note, CallState};

/// A profile, a policy and a retry budget, shared by the calls made under
/// it (from any thread). Release it with `apiretry_retrier_free` after its
/// calls.
pub struct apiretry_retrier {
    profile: Arc<Profile>,
    policy: Arc<Policy>,
    budget: Option<Arc<RetryBudget>>,
}

/// One logical call's decisions (not thread-safe: one call, one thread at a
/// time). Release it with `apiretry_call_free`.
pub struct apiretry_call {
    profile: Arc<Profile>,
    policy: Arc<Policy>,
    budget: Option<Arc<RetryBudget>>,
    cancel: Option<CancelToken>,
    state: CallState,
    ended: bool,
}

/// What to do after an attempt.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum apiretry_action {
    /// The attempt succeeded: the call is done.
    Success = 0,
    /// Wait `delay_ms`, then try again.
    Retry = 1,
    /// Stop: the call failed (`stop_reason` says why).
    Stop = 2,
    /// Stop: the call was cancelled.
    Cancelled = 3,
}

/// The decision after an attempt.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct apiretry_decision {
    /// An `APIRETRY_ACTION_*` value.
    pub action: u32,
    /// For `APIRETRY_ACTION_RETRY`: how long to wait first, in ms.
    pub delay_ms: u64,
    /// For `APIRETRY_ACTION_STOP`: an `APIRETRY_STOP_REASON_*` value.
    pub stop_reason: u32,
    /// Attempts made so far, this one included.
    pub attempts: u32,
}

/// A retrier classifying with (a copy of) `profile` under a policy:
/// `max_attempts` in all (>= 1), a deadline per call (`deadline_ms` 0 for
/// none), the backoff (`backoff` NULL for seed 001's). It has the client's
/// default retry budget (`apiretry_retrier_set_budget`). The caller owns `*out`.
#[no_mangle]
pub extern "C" fn apiretry_retrier_new(
    profile: *const apiretry_profile,
    max_attempts: u32,
    deadline_ms: u64,
    backoff: *const apiretry_backoff_config,
    out_retrier: *mut *mut apiretry_retrier,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_retrier is NULL or writable, as documented.
        let slot = unsafe { out(out_retrier) }?;
        *slot = ptr::null_mut();
        // SAFETY: profile is NULL or live, as documented.
        let profile = unsafe { arg(profile) }?.inner.clone();
        // SAFETY: backoff is NULL or live, as documented.
        let policy = unsafe { super::client::policy(max_attempts, deadline_ms, backoff) }?;
        *slot = boxed(apiretry_retrier {
            profile: Arc::new(profile),
            budget: Some(Arc::new(RetryBudget::for_policy(&policy))),
            policy: Arc::new(policy),
        });
        Ok(())
    })
}

/// The retrier's budget, as `apiretry_client_builder_set_budget` sets a
/// client's (`max_tokens` 0 turns it off). Set it before making calls.
#[no_mangle]
pub extern "C" fn apiretry_retrier_set_budget(
    retrier: *mut apiretry_retrier,
    max_tokens: f64,
    token_ratio: f64,
) -> apiretry_result {
    guard(|| {
        // SAFETY: retrier is NULL or live and not in use meanwhile, as documented.
        let r = unsafe { out(retrier) }?;
        r.budget = super::client::budget(max_tokens, token_ratio)?;
        Ok(())
    })
}

/// Releases a retrier (its calls keep what they need); NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_retrier_free(retrier: *mut apiretry_retrier) {
    // SAFETY: retrier is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(retrier) })
}

/// Starts a logical call under `retrier` (its deadline counts from now);
/// `cancel` may be NULL. The caller owns `*out`.
#[no_mangle]
pub extern "C" fn apiretry_call_new(
    retrier: *const apiretry_retrier,
    cancel: *const apiretry_cancel,
    out_call: *mut *mut apiretry_call,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_call is NULL or writable, as documented.
        let slot = unsafe { out(out_call) }?;
        *slot = ptr::null_mut();
        // SAFETY: retrier is NULL or live, as documented.
        let r = unsafe { arg(retrier) }?;
        let cancel = if cancel.is_null() {
            None
        } else {
            // SAFETY: cancel is non-NULL and live, as documented.
            Some(unsafe { arg(cancel) }?.inner.clone())
        };
        *slot = boxed(apiretry_call {
            profile: r.profile.clone(),
            policy: r.policy.clone(),
            budget: r.budget.clone(),
            cancel,
            state: CallState::new(&r.policy, Instant::now(), fastrand::u64(..)),
            ended: false,
        });
        Ok(())
    })
}

impl apiretry_call {
    /// The decision for an attempt that ended in `outcome` (`None`: success).
    fn decide(&mut self, outcome: Option<ApiError>) -> (apiretry_decision, Option<ApiError>) {
        let mut d = apiretry_decision {
            attempts: self.state.failures() + 1,
            ..apiretry_decision::default()
        };
        let Some(error) = outcome else {
            if let Some(b) = &self.budget {
                b.on_success();
            }
            self.ended = true;
            d.action = apiretry_action::Success as u32;
            return (d, None);
        };
        if self.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            self.ended = true;
            d.action = apiretry_action::Cancelled as u32;
            return (d, Some(error));
        }
        let step =
            self.state
                .on_failure(&self.policy, &error, Instant::now(), self.budget.as_deref());
        match step {
            Step::Retry(delay) => {
                d.action = apiretry_action::Retry as u32;
                d.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                (d, Some(error))
            }
            Step::GiveUp(reason) => {
                self.ended = true;
                d.action = apiretry_action::Stop as u32;
                d.stop_reason = apiretry_stop_reason::from(reason) as u32;
                let error = match reason {
                    StopReason::Budget => {
                        budget_note(error, d.attempts, self.policy.max_attempts())
                    }
                    _ => error,
                };
                (d, Some(error))
            }
            _ => {
                self.ended = true;
                d.action = apiretry_action::Cancelled as u32;
                (d, Some(error))
            }
        }
    }
}

/// Writes `decision`, and the classification when asked for (`out_error`
/// may be NULL).
fn report(
    (decision, error): (apiretry_decision, Option<ApiError>),
    out_decision: &mut apiretry_decision,
    out_error: *mut *mut apiretry_classification,
) -> Result<(), apiretry_result> {
    *out_decision = decision;
    if !out_error.is_null() {
        // SAFETY: out_error is non-NULL and writable, as documented.
        let slot = unsafe { out(out_error) }?;
        *slot = error.map_or(ptr::null_mut(), |error| {
            boxed(apiretry_classification { error })
        });
    }
    Ok(())
}

/// One attempt's outcome (from `outcome`, `None` for a success) fed to a
/// live call, its decision written out.
fn feed(
    call: *mut apiretry_call,
    out_decision: *mut apiretry_decision,
    out_error: *mut *mut apiretry_classification,
    outcome: impl FnOnce(&apiretry_call) -> Result<Option<ApiError>, apiretry_result>,
) -> Result<(), apiretry_result> {
    // SAFETY: call and out_decision are NULL or live and writable, as documented.
    let (c, d) = unsafe { (out(call)?, out(out_decision)?) };
    if c.ended {
        return Err(apiretry_result::InvalidArgument);
    }
    let outcome = outcome(c)?;
    report(c.decide(outcome), d, out_error)
}

/// Feeds the response to an attempt (as `apiretry_classify` takes it) and
/// writes the decision to `*out_decision`: `SUCCESS`, `RETRY` after
/// `delay_ms` (the backoff, or longer when the server said `Retry-After`),
/// or `STOP` with its reason. When `out_error` is not NULL it receives the
/// classification (NULL on success; the caller owns it). A call that
/// already ended is `APIRETRY_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn apiretry_call_on_response(
    call: *mut apiretry_call,
    status: u16,
    headers: *const apiretry_header,
    n_headers: usize,
    body: *const u8,
    body_len: usize,
    expected: i32,
    out_decision: *mut apiretry_decision,
    out_error: *mut *mut apiretry_classification,
) -> apiretry_result {
    guard(|| {
        feed(call, out_decision, out_error, |c| {
            // SAFETY: the response's pointers and lengths are as documented.
            unsafe {
                classify_raw(
                    &c.profile, status, headers, n_headers, body, body_len, expected,
                )
            }
        })
    })
}

/// Feeds a failure that produced no response (an `APIRETRY_TRANSPORT_*`
/// value and the caller's own message, which may be NULL) and writes the
/// decision, as `apiretry_call_on_response` does.
#[no_mangle]
pub extern "C" fn apiretry_call_on_transport_error(
    call: *mut apiretry_call,
    transport: u32,
    message: *const c_char,
    out_decision: *mut apiretry_decision,
    out_error: *mut *mut apiretry_classification,
) -> apiretry_result {
    guard(|| {
        feed(call, out_decision, out_error, |_| {
            // SAFETY: message is NULL or NUL-terminated, as documented.
            unsafe { transport_error(transport, message) }.map(Some)
        })
    })
}

/// Releases a call; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_call_free(call: *mut apiretry_call) {
    // SAFETY: call is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(call) })
}
