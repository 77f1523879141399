//! The client's callbacks for C: attempts, state changes, rate cuts and
//! token refresh, silenced once the client is freed.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use super::{apiretry_client_builder, with_builder, with_gated_callback};
use crate::error::ApiError;
use crate::events::{Event, LogObserver, Observer, Step, StopReason};
use crate::ffi::{apiretry_result, guard, is_wire_text, read_from_c, FromC};
use crate::gate::{ClientState, Secret};
use crate::kind::Kind;

/// Keeps a client's C callbacks from running once it is freed: the client's
/// background probes may outlive `apiretry_client_free` by a probe's length,
/// and the caller frees `user_data` right after. Each callback runs under the
/// read lock, if still open; `close` takes the write lock, so once it returns
/// no callback is running and none will.
#[derive(Default)]
pub(crate) struct CallbackGate(RwLock<bool>);

impl CallbackGate {
    pub(crate) fn run(&self, f: impl FnOnce()) {
        let closed = self.0.read().unwrap_or_else(PoisonError::into_inner);
        if !*closed {
            f();
        }
    }

    pub(crate) fn close(&self) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = true;
    }
}

/// What follows an attempt.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum apiretry_step {
    /// It succeeded.
    Success = 0,
    /// It failed; the next attempt follows after `delay_ms`.
    Retry = 1,
    /// It failed; the call returns the failure.
    GiveUp = 2,
    /// The call was cancelled.
    Cancelled = 3,
    /// Not an attempt: attempt `attempt` was held `delay_ms` while the
    /// service refused calls (overload), and now goes.
    Held = 4,
}

/// Why a call stopped retrying (`apiretry_event.stop_reason`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum apiretry_stop_reason {
    /// The call goes on, or succeeded, or was cancelled.
    None = 0,
    /// The failure's retry class is `no`.
    NotRetryable = 1,
    /// A `once` failure whose one extra try was already used.
    OnceUsed = 2,
    /// The policy's attempts are used up.
    Attempts = 3,
    /// The client's retry budget is spent (a long outage, many failing
    /// calls): retryable, but not retried (`apiretry_client_builder_set_budget`).
    Budget = 4,
    /// The next try could not start before the deadline.
    Deadline = 5,
}

impl From<StopReason> for apiretry_stop_reason {
    fn from(reason: StopReason) -> Self {
        match reason {
            StopReason::NotRetryable => apiretry_stop_reason::NotRetryable,
            StopReason::OnceUsed => apiretry_stop_reason::OnceUsed,
            StopReason::Attempts => apiretry_stop_reason::Attempts,
            StopReason::Budget => apiretry_stop_reason::Budget,
            StopReason::Deadline => apiretry_stop_reason::Deadline,
        }
    }
}

/// One attempt's outcome, for logging and metrics. Valid during the callback only.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct apiretry_event {
    /// The attempt that ended, 0 for the first.
    pub attempt: u32,
    /// An `APIRETRY_STEP_*` value.
    pub step: u32,
    /// The wait before the next attempt (for `APIRETRY_STEP_RETRY`), or how
    /// long the attempt was held (for `APIRETRY_STEP_HELD`), in ms.
    pub delay_ms: u64,
    /// Whether the attempt failed (then `kind` and `status` describe it).
    pub failed: bool,
    /// The failure's `APIRETRY_KIND_*`.
    pub kind: u32,
    /// The failure's HTTP status, or -1.
    pub status: i32,
    /// For `APIRETRY_STEP_GIVE_UP`, why: an `APIRETRY_STOP_REASON_*` value.
    pub stop_reason: u32,
}

/// Called after each attempt, on the thread that sends.
pub type apiretry_event_callback =
    Option<extern "C" fn(user_data: *mut c_void, event: *const apiretry_event)>;

/// Called with an `APIRETRY_CLIENT_STATE_*` value when connectivity or
/// authorization changes, on whichever thread noticed.
pub type apiretry_state_callback = Option<extern "C" fn(user_data: *mut c_void, state: u32)>;

/// Writes a new access token into `buf` (`len` bytes, NUL not needed) and its
/// length into `*out_n`, returning `APIRETRY_RESULT_OK` (0). When the token
/// is longer than `len`, set `*out_n` to its length and return
/// `APIRETRY_RESULT_BUFFER_TOO_SMALL` (6): the callback is called again with
/// a buffer that large (up to 1 MiB). Return `APIRETRY_RESULT_API_FAILURE`
/// (5) when the refresh token is rejected (the client then requires
/// authorization until `apiretry_client_set_token`); any other number is a
/// transient failure. The result is a plain integer, so any value is safe.
/// Called on one thread at a time. Sending an authorized request through
/// the same client from inside this callback fails at once (it would wait for
/// the refresh it is part of): send the refresh request unauthorized.
pub type apiretry_refresh_callback = Option<
    extern "C" fn(user_data: *mut c_void, buf: *mut c_char, len: usize, out_n: *mut usize) -> u32,
>;

/// The longest token a refresh callback may hand over.
pub(crate) const MAX_TOKEN: usize = 1 << 20;

/// Calls a C refresh callback, growing the buffer when it asks for more.
pub(crate) fn refresh_from_c(
    cb: extern "C" fn(*mut c_void, *mut c_char, usize, *mut usize) -> u32,
    ud: UserData,
) -> Result<Secret, ApiError> {
    let failed = |why: &str| {
        ApiError::new(Kind::Application).with_message(format!("token refresh failed: {why}"))
    };
    let bytes =
        read_from_c(MAX_TOKEN, |buf, len, n| cb(ud.0, buf, len, n)).map_err(|e| match e {
            FromC::Returned(5) => {
                ApiError::new(Kind::InvalidGrant).with_message("the refresh token was rejected")
            }
            e => failed(&e.to_string()),
        })?;
    let token = String::from_utf8(bytes).map_err(|_| failed("the token is not UTF-8"))?;
    if !is_wire_text(&token, false) {
        return Err(failed("the token has control characters"));
    }
    Ok(Secret::new(token))
}

/// A C callback and its `user_data`, which the caller promised may be used
/// from any thread (see the header).
#[derive(Clone, Copy)]
pub(crate) struct UserData(pub(crate) *mut c_void);

// SAFETY: the C caller guarantees, as the header documents, that user_data
// may be used from any thread for the client's lifetime.
unsafe impl Send for UserData {}

// SAFETY: as above.
unsafe impl Sync for UserData {}

/// How to refresh the token after `unauthorized` (see
/// `apiretry_refresh_callback`). `user_data` must be usable from any thread
/// until the client is freed.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_refresh_callback(
    builder: *mut apiretry_client_builder,
    callback: apiretry_refresh_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let cb = callback.ok_or(apiretry_result::NullPointer)?;
        let ud = UserData(user_data);
        with_builder(builder, move |b| b.refresh(move || refresh_from_c(cb, ud)))
    })
}

/// Receives an `apiretry_event` after every attempt (each is also logged,
/// see `apiretry_set_log_callback`). `user_data` must be
/// usable from any thread until the client is freed.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_event_callback(
    builder: *mut apiretry_client_builder,
    callback: apiretry_event_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let cb = callback.ok_or(apiretry_result::NullPointer)?;
        let ud = UserData(user_data);
        let observer = move |e: &Event<'_>| {
            let ud = ud;
            let (step, delay) = match e.step {
                Step::Success => (apiretry_step::Success, Duration::ZERO),
                Step::Retry(d) => (apiretry_step::Retry, d),
                Step::GiveUp(_) => (apiretry_step::GiveUp, Duration::ZERO),
                Step::Held(d) => (apiretry_step::Held, d),
                _ => (apiretry_step::Cancelled, Duration::ZERO),
            };
            let stop_reason = match e.step {
                Step::GiveUp(reason) => apiretry_stop_reason::from(reason),
                _ => apiretry_stop_reason::None,
            };
            let event = apiretry_event {
                attempt: e.attempt,
                step: step as u32,
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                failed: e.error.is_some(),
                kind: e.error.map_or(0, |err| err.kind as u32),
                status: e.error.and_then(|err| err.status).map_or(-1, i32::from),
                stop_reason: stop_reason as u32,
            };
            cb(ud.0, &event);
            LogObserver.on_event(e);
        };
        with_builder(builder, |b| b.observer(Arc::new(observer)))
    })
}

/// Receives `APIRETRY_CLIENT_STATE_*` changes (connected, disconnected,
/// authorized, authorization required). `user_data` must be usable from any
/// thread until the client is freed.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_state_callback(
    builder: *mut apiretry_client_builder,
    callback: apiretry_state_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let cb = callback.ok_or(apiretry_result::NullPointer)?;
        with_gated_callback(builder, user_data, move |b, gate, ud| {
            b.state_observer(move |s: ClientState| {
                let ud = &ud;
                gate.run(|| cb(ud.0, s as u32))
            })
        })
    })
}

/// Called with the origin (`scheme://host:port`, NUL-terminated, valid
/// during the call) and the new rate in requests per second each time an
/// origin's learned rate is cut by a throttling answer.
pub type apiretry_rate_callback =
    Option<extern "C" fn(user_data: *mut c_void, origin: *const c_char, rate_per_s: f64)>;

/// Receives each cut of a learned rate, on the thread whose answer was
/// throttled. `user_data` must be usable from any thread until the client
/// is freed; no call comes after `apiretry_client_free` returns.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_rate_callback(
    builder: *mut apiretry_client_builder,
    callback: apiretry_rate_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let cb = callback.ok_or(apiretry_result::NullPointer)?;
        with_gated_callback(builder, user_data, move |b, gate, ud| {
            b.rate_observer(move |origin: &str, rate: f64| {
                let ud = &ud;
                let origin = std::ffi::CString::new(origin).unwrap_or_default();
                gate.run(|| cb(ud.0, origin.as_ptr(), rate))
            })
        })
    })
}
