//! Configuring a client from C: `apiretry_client_builder_*`.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use super::{apiretry_client, CallbackGate, UserData};
use crate::budget::RetryBudget;
use crate::client::{Client, ClientBuilder, StallLimits, Timeouts, TlsSettings};
use crate::events::LogObserver;
use crate::ffi::backoff::apiretry_backoff_config;
use crate::ffi::profile::apiretry_profile;
use crate::ffi::{
    apiretry_result, arg, boxed, free, guard, guard_void, is_url, is_wire_text, out, str_arg,
};
use crate::gate::Secret;
use crate::limit::RateLimit;
use crate::policy::Policy;

/// Configures a client; consumed by `apiretry_client_builder_build`.
pub struct apiretry_client_builder {
    pub(crate) inner: Option<ClientBuilder>,
    pub(crate) policy: Policy,
    pub(crate) tls: TlsSettings,
    pub(crate) callbacks: Arc<CallbackGate>,
}

pub(crate) fn builder_mut<'a>(
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
pub(crate) fn per_class(ms: [u64; 3]) -> Result<[Duration; 3], apiretry_result> {
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
        if !crate::ffi::is_header_name(name) || !is_wire_text(value, true) {
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
        let a = crate::ffi::limit::adaptive(floor_per_s, ceiling_per_s)?;
        if !enabled {
            return with_builder(builder, ClientBuilder::without_adaptive_rate);
        }
        with_builder(builder, |b| b.adaptive_rate(a))
    })
}

/// Whether calls are held while an origin answers but refuses everything
/// (load shedding: 429s and 503s in a row, with no acceptance between
/// them). On by default: the client then sends one trial request at a
/// time on its backoff and releases held calls, paced, at the first
/// acceptance; `enabled` false leaves each call to its own retries.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_overload_control(
    builder: *mut apiretry_client_builder,
    enabled: bool,
) -> apiretry_result {
    guard(|| with_builder(builder, |b| b.set_overload_control(enabled)))
}
