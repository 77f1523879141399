//! The client for C: builder, callbacks, sending.

pub mod progress;
pub mod request;
pub mod response;
pub mod tls;

pub use request::apiretry_request;
pub use response::apiretry_response;
pub use tls::apiretry_roots;

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use super::backoff::apiretry_backoff_config;
use super::error::apiretry_classification;
use super::profile::apiretry_profile;
use super::{
    apiretry_result, arg, boxed, free, guard, guard_void, is_url, is_wire_text, out, read_from_c,
    str_arg, FromC,
};
use crate::budget::RetryBudget;
use crate::cancel::CancelToken;
use crate::client::{Client, ClientBuilder, StallLimits, Timeouts, TlsSettings};
use crate::error::ApiError;
use crate::events::{Event, LogObserver, Observer, Step, StopReason};
use crate::ffi::cancel::apiretry_cancel;
use crate::gate::{ClientState, Secret};
use crate::kind::Kind;
use crate::limit::RateLimit;
use crate::policy::Policy;

/// Configures a client; consumed by `apiretry_client_builder_build`.
pub struct apiretry_client_builder {
    inner: Option<ClientBuilder>,
    policy: Policy,
    tls: TlsSettings,
    callbacks: Arc<CallbackGate>,
}

/// A client: thread-safe; share one between threads. Release it with
/// `apiretry_client_free` once no call is in flight.
pub struct apiretry_client {
    pub(crate) inner: Client,
    callbacks: Arc<CallbackGate>,
}

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

    fn close(&self) {
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
    /// The wait before the next attempt (for `APIRETRY_STEP_RETRY`), in ms.
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
const MAX_TOKEN: usize = 1 << 20;

/// Calls a C refresh callback, growing the buffer when it asks for more.
fn refresh_from_c(
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

fn builder_mut<'a>(
    b: *mut apiretry_client_builder,
) -> Result<&'a mut apiretry_client_builder, apiretry_result> {
    // SAFETY: b is NULL or a live builder not used elsewhere meanwhile, as documented.
    unsafe { out(b) }
}

pub(crate) fn with_builder(
    b: *mut apiretry_client_builder,
    f: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Result<(), apiretry_result> {
    let b = builder_mut(b)?;
    let inner = b.inner.take().ok_or(apiretry_result::InvalidArgument)?;
    b.inner = Some(f(inner));
    Ok(())
}

/// Installs an observer that calls C: `install` gets the builder, the
/// client's callback gate (each call runs through it, so none comes after
/// `apiretry_client_free`) and `user_data`.
pub(crate) fn with_gated_callback(
    b: *mut apiretry_client_builder,
    user_data: *mut c_void,
    install: impl FnOnce(ClientBuilder, Arc<CallbackGate>, UserData) -> ClientBuilder,
) -> Result<(), apiretry_result> {
    let gate = builder_mut(b)?.callbacks.clone();
    let ud = UserData(user_data);
    with_builder(b, move |builder| install(builder, gate, ud))
}

/// A builder for a client of the API at `base_url` (http or https). The
/// caller owns `*out` until `apiretry_client_builder_build` (or `_free`).
#[no_mangle]
pub extern "C" fn apiretry_client_builder_new(
    base_url: *const c_char,
    out_builder: *mut *mut apiretry_client_builder,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_builder is NULL or writable, as documented.
        let slot = unsafe { out(out_builder) }?;
        *slot = ptr::null_mut();
        // SAFETY: base_url is NULL or NUL-terminated, as documented.
        let url = unsafe { str_arg(base_url) }?;
        if !(url.starts_with("http://") || url.starts_with("https://")) || !is_url(url) {
            return Err(apiretry_result::InvalidArgument);
        }
        *slot = boxed(apiretry_client_builder {
            inner: Some(Client::builder(url).observer(Arc::new(LogObserver))),
            policy: Policy::default(),
            tls: TlsSettings::default(),
            callbacks: Arc::default(),
        });
        Ok(())
    })
}

/// Classifies with (a copy of) `profile`; it also sets the rate limits.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_profile(
    builder: *mut apiretry_client_builder,
    profile: *const apiretry_profile,
) -> apiretry_result {
    guard(|| {
        // SAFETY: profile is NULL or live, as documented.
        let p = unsafe { arg(profile) }?.inner.clone();
        with_builder(builder, |b| b.profile(p))
    })
}

/// The retry policy: `max_attempts` in all (>= 1), an overall deadline per
/// call (`deadline_ms` 0 for none), and the backoff (`backoff` NULL for seed
/// 001's default).
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_policy(
    builder: *mut apiretry_client_builder,
    max_attempts: u32,
    deadline_ms: u64,
    backoff: *const apiretry_backoff_config,
) -> apiretry_result {
    guard(|| {
        let b = builder_mut(builder)?;
        // SAFETY: backoff is NULL or live, as documented.
        b.policy = unsafe { policy(max_attempts, deadline_ms, backoff) }?;
        Ok(())
    })
}

/// A policy from C's numbers: `max_attempts` >= 1, `deadline_ms` 0 for
/// none, `backoff` NULL for seed 001's.
///
/// # Safety
/// `backoff` is NULL or live.
pub(crate) unsafe fn policy(
    max_attempts: u32,
    deadline_ms: u64,
    backoff: *const apiretry_backoff_config,
) -> Result<Policy, apiretry_result> {
    if max_attempts == 0 {
        return Err(apiretry_result::InvalidArgument);
    }
    let mut policy = Policy::default().with_max_attempts(max_attempts);
    if deadline_ms > 0 {
        policy = policy.with_deadline(Duration::from_millis(deadline_ms));
    }
    if !backoff.is_null() {
        // SAFETY: backoff is non-NULL and live, as the caller guarantees.
        policy = policy.with_backoff(unsafe { arg(backoff) }?.to_backoff()?);
    }
    Ok(policy)
}

/// The client's retry budget (gRPC's retry throttling): `max_tokens`
/// tokens, each retryable failure costs one, each success earns
/// `token_ratio`. It decides once per call, at the call's first retryable
/// failure: the call retries (and keeps all its policy's attempts) while
/// more than half the tokens are left, else it makes one attempt. On by
/// default with twice the policy's attempts in tokens (16 for the default
/// 8; at least 10) and 0.1, so that a fresh client's call gets every
/// attempt and a fleet stops multiplying its load in a long outage;
/// `max_tokens` 0 turns it off (every failure is retried up to the policy's
/// attempts). `max_tokens` is 0 or 1-1000, `token_ratio` 0-1; anything else
/// is `APIRETRY_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_budget(
    builder: *mut apiretry_client_builder,
    max_tokens: f64,
    token_ratio: f64,
) -> apiretry_result {
    guard(|| match budget(max_tokens, token_ratio)? {
        None => with_builder(builder, ClientBuilder::without_budget),
        Some(b) => with_builder(builder, |builder| builder.budget(b)),
    })
}

/// A budget from C's numbers: `None` for 0 tokens, an error out of range.
pub(crate) fn budget(
    max_tokens: f64,
    token_ratio: f64,
) -> Result<Option<Arc<RetryBudget>>, apiretry_result> {
    let tokens_ok = max_tokens == 0.0 || (1.0..=1000.0).contains(&max_tokens);
    if !tokens_ok || !(0.0..=1.0).contains(&token_ratio) {
        return Err(apiretry_result::InvalidArgument);
    }
    Ok((max_tokens > 0.0).then(|| Arc::new(RetryBudget::new(max_tokens, token_ratio))))
}

/// Per-class timeouts in milliseconds (each > 0).
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_timeouts(
    builder: *mut apiretry_client_builder,
    default_ms: u64,
    auth_refresh_ms: u64,
    chunk_upload_ms: u64,
) -> apiretry_result {
    guard(|| {
        let [default, auth_refresh, chunk_upload] =
            per_class([default_ms, auth_refresh_ms, chunk_upload_ms])?;
        with_builder(builder, |b| {
            b.timeouts(Timeouts {
                default,
                auth_refresh,
                chunk_upload,
            })
        })
    })
}

/// Durations for the three request classes from C's milliseconds, each > 0.
fn per_class(ms: [u64; 3]) -> Result<[Duration; 3], apiretry_result> {
    match ms.contains(&0) {
        true => Err(apiretry_result::InvalidArgument),
        false => Ok(ms.map(Duration::from_millis)),
    }
}

/// How long an attempt may move no byte (sending or receiving) before it
/// ends as `APIRETRY_KIND_TIMEOUT` (retried), per request class, in
/// milliseconds (each > 0). Defaults: 15000, 120000 and 30000 (a chunk
/// upload notices a dead link in 30 s, not after its 5-minute timeout); a
/// limit at or above the class's timeout changes nothing. A transfer that
/// keeps moving is never cut by it, however slow.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_stall_limits(
    builder: *mut apiretry_client_builder,
    default_ms: u64,
    auth_refresh_ms: u64,
    chunk_upload_ms: u64,
) -> apiretry_result {
    guard(|| {
        let [default, auth_refresh, chunk_upload] =
            per_class([default_ms, auth_refresh_ms, chunk_upload_ms])?;
        with_builder(builder, |b| {
            b.stall_limits(StallLimits {
                default,
                auth_refresh,
                chunk_upload,
            })
        })
    })
}

/// The per-token limit: `requests` per `per_ms`; `requests` 0 for none.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_rate_limit(
    builder: *mut apiretry_client_builder,
    requests: u32,
    per_ms: u64,
) -> apiretry_result {
    guard(|| match (requests, per_ms) {
        (0, _) => with_builder(builder, ClientBuilder::without_rate_limit),
        (_, 0) => Err(apiretry_result::InvalidArgument),
        (n, ms) => with_builder(builder, |b| {
            b.rate_limit(RateLimit::new(n, Duration::from_millis(ms)))
        }),
    })
}

/// The access token (or API key) sent as `Authorization: Bearer`. Copied.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_token(
    builder: *mut apiretry_client_builder,
    token: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: token is NULL or NUL-terminated, as documented.
        let token = unsafe { str_arg(token) }?;
        if !is_wire_text(token, false) {
            return Err(apiretry_result::InvalidArgument);
        }
        let token = Secret::new(token);
        with_builder(builder, |b| b.token(token))
    })
}

/// Where health checks go while disconnected (default "/").
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_health_path(
    builder: *mut apiretry_client_builder,
    path: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: path is NULL or NUL-terminated, as documented.
        let path = unsafe { str_arg(path) }?.to_owned();
        if !is_url(&path) {
            return Err(apiretry_result::InvalidArgument);
        }
        with_builder(builder, |b| b.health_path(&path))
    })
}

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

/// Builds the client into `*out` (the caller owns it). The builder is
/// consumed and freed whatever the result: do not use it again.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_build(
    builder: *mut apiretry_client_builder,
    out_client: *mut *mut apiretry_client,
) -> apiretry_result {
    guard(|| {
        if builder.is_null() {
            return Err(apiretry_result::NullPointer);
        }
        // SAFETY: builder came from apiretry_client_builder_new and is consumed here once, as documented.
        let b = unsafe { Box::from_raw(builder) };
        // SAFETY: out_client is NULL or writable, as documented.
        let slot = unsafe { out(out_client) }?;
        *slot = ptr::null_mut();
        let inner = b
            .inner
            .ok_or(apiretry_result::InvalidArgument)?
            .policy(b.policy)
            .tls(b.tls)
            .build();
        *slot = boxed(apiretry_client {
            inner,
            callbacks: b.callbacks,
        });
        Ok(())
    })
}

/// A header sent on every request of the client (e.g. `x-client-version`),
/// pairing, refresh and health checks included; a request's own header of
/// the same name replaces it, and a second value for the same name replaces
/// the first. A name or value that cannot go on the wire is
/// `APIRETRY_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_add_header(
    builder: *mut apiretry_client_builder,
    name: *const c_char,
    value: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: name and value are NULL or NUL-terminated, as documented.
        let (name, value) = unsafe { (str_arg(name)?, str_arg(value)?) };
        if !super::is_header_name(name) || !is_wire_text(value, true) {
            return Err(apiretry_result::InvalidArgument);
        }
        with_builder(builder, |b| b.header(name, value))
    })
}

/// Releases a builder that was not built; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_free(builder: *mut apiretry_client_builder) {
    // SAFETY: builder is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(builder) })
}

/// How rates are learned where the server does not state its limit: on by
/// default (a throttling answer cuts the origin's rate, successes grow it
/// back, CUBIC as in the AWS SDKs' adaptive mode). `floor_per_s` (> 0; 0
/// for the default, 0.5 requests a second) and `ceiling_per_s` (0 for none
/// but the configured rate limit) bound it; `enabled` false paces by
/// configured limits only. Out of range is `APIRETRY_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_adaptive_rate(
    builder: *mut apiretry_client_builder,
    enabled: bool,
    floor_per_s: f64,
    ceiling_per_s: f64,
) -> apiretry_result {
    guard(|| {
        let a = super::limit::adaptive(floor_per_s, ceiling_per_s)?;
        if !enabled {
            return with_builder(builder, ClientBuilder::without_adaptive_rate);
        }
        with_builder(builder, |b| b.adaptive_rate(a))
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

/// The rate learned for `url`'s origin (a path: the API's) from its
/// throttling answers, in requests per second, into `*out_rate`;
/// `APIRETRY_RESULT_ABSENT` until the origin throttled. Thread-safe.
#[no_mangle]
pub extern "C" fn apiretry_client_learned_rate(
    client: *const apiretry_client,
    url: *const c_char,
    out_rate: *mut f64,
) -> apiretry_result {
    guard(|| {
        // SAFETY: client is NULL or live; url NULL or NUL-terminated; out_rate NULL or writable.
        let (c, url, slot) = unsafe { (arg(client)?, str_arg(url)?, out(out_rate)?) };
        *slot = c.inner.learned_rate(url).ok_or(apiretry_result::Absent)?;
        Ok(())
    })
}

/// New credentials after the user authorized again: clears "authorization
/// required". Thread-safe.
#[no_mangle]
pub extern "C" fn apiretry_client_set_token(
    client: *const apiretry_client,
    token: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: client is NULL or live; token NULL or NUL-terminated, as documented.
        let (c, token) = unsafe { (arg(client)?, str_arg(token)?) };
        if !is_wire_text(token, false) {
            return Err(apiretry_result::InvalidArgument);
        }
        c.inner.set_token(Secret::new(token));
        Ok(())
    })
}

/// Releases a client once no call is in flight; NULL is ignored. Once it
/// returns, none of the client's callbacks runs (a background probe may end
/// a little later, silently), so `user_data` may be freed. Not to be called
/// from inside one of the client's own callbacks.
#[no_mangle]
pub extern "C" fn apiretry_client_free(client: *mut apiretry_client) {
    guard_void(|| {
        if client.is_null() {
            return;
        }
        // SAFETY: client is non-NULL and live until freed just below, as documented.
        unsafe { &*client }.callbacks.close();
        // SAFETY: client came from this library and is freed once, as documented.
        unsafe { free(client) }
    })
}

/// Sends `request` (retrying as the policy allows); thread-safe. On
/// success `*out_response` receives the response; when the call fails the
/// result is `APIRETRY_RESULT_API_FAILURE` and `*out_error` receives the
/// classification. `cancel` may be NULL. The caller owns what it receives.
#[no_mangle]
pub extern "C" fn apiretry_client_send(
    client: *const apiretry_client,
    request: *const apiretry_request,
    cancel: *const apiretry_cancel,
    out_response: *mut *mut apiretry_response,
    out_error: *mut *mut apiretry_classification,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_response and out_error are NULL or writable, as documented.
        let (resp_slot, err_slot) = unsafe { (out(out_response)?, out(out_error)?) };
        *resp_slot = ptr::null_mut();
        *err_slot = ptr::null_mut();
        // SAFETY: client and request are NULL or live, as documented.
        let (c, r) = unsafe { (arg(client)?, arg(request)?) };
        let token = if cancel.is_null() {
            CancelToken::never()
        } else {
            // SAFETY: cancel is non-NULL and live, as documented.
            &unsafe { arg(cancel) }?.inner
        };
        match c.inner.send_cancellable(&r.inner, token) {
            Ok(resp) => {
                *resp_slot = boxed(apiretry_response { inner: resp });
                Ok(())
            }
            Err(error) => {
                *err_slot = boxed(apiretry_classification { error });
                Err(apiretry_result::ApiFailure)
            }
        }
    })
}
