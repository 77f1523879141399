//! Pairing for C (`apiretry_pairing_*`, `apiretry_client_pair`): the device
//! authorization grant (RFC 8628), run by the client.

use std::ffi::{c_char, c_void, CString};
use std::time::Duration;

use super::is_absolute_url;
use crate::ffi::cancel::apiretry_cancel;
use crate::ffi::cancel::cancel_of;
use crate::ffi::client::{apiretry_client, UserData};
use crate::ffi::error::apiretry_classification;
use crate::ffi::error::{error_slot, failure};
use crate::ffi::{
    apiretry_result, arg, boxed, free, guard, guard_void, is_wire_text, out, str_arg,
};
use crate::oauth::{Pairing, Poll, UserCode};

/// A code for the user to enter, valid during the callback only.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct apiretry_user_code {
    /// The code the user enters (shown on the device; not a secret).
    pub user_code: *const c_char,
    /// Where to enter it.
    pub verification_uri: *const c_char,
    /// A URI with the code in it (for a QR code), or NULL.
    pub verification_uri_complete: *const c_char,
    /// How long the code lives, in seconds.
    pub expires_in_s: u64,
    /// The polling interval the server asked for, in ms.
    pub interval_ms: u64,
}

/// One poll of the token endpoint as it ended, valid during the callback.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct apiretry_poll {
    /// 1 for a code's first poll.
    pub number: u32,
    /// Whether this poll brought the tokens.
    pub paired: bool,
    /// Otherwise the answer's `APIRETRY_KIND_*` (`authorization_pending`;
    /// `rate_limited` for `slow_down`; a network kind, ...).
    pub kind: u32,
    /// Its HTTP status, or -1.
    pub status: i32,
    /// The interval now in force for the next poll, in ms.
    pub interval_ms: u64,
}

/// Called with each code as soon as it is issued, to show the user; on
/// the thread running `apiretry_client_pair`.
pub type apiretry_code_callback =
    Option<extern "C" fn(user_data: *mut c_void, code: *const apiretry_user_code)>;

/// Called after each poll, on the thread running `apiretry_client_pair`.
pub type apiretry_poll_callback =
    Option<extern "C" fn(user_data: *mut c_void, poll: *const apiretry_poll)>;

/// How to pair: the device authorization endpoint, the scope, renewals, a
/// deadline and the callbacks. Used by `apiretry_client_pair`.
pub struct apiretry_pairing {
    inner: Pairing,
}

fn pairing_mut<'a>(p: *mut apiretry_pairing) -> Result<&'a mut apiretry_pairing, apiretry_result> {
    // SAFETY: p is NULL or a live object not used elsewhere meanwhile, as documented.
    unsafe { out(p) }
}

fn with_pairing(
    p: *mut apiretry_pairing,
    f: impl FnOnce(Pairing) -> Pairing,
) -> Result<(), apiretry_result> {
    let p = pairing_mut(p)?;
    p.inner = f(p.inner.clone());
    Ok(())
}

/// Pairing through the device authorization endpoint at `device_url`. The
/// caller owns `*out_pairing` until `apiretry_pairing_free`.
#[no_mangle]
pub extern "C" fn apiretry_pairing_new(
    device_url: *const c_char,
    out_pairing: *mut *mut apiretry_pairing,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_pairing is NULL or writable, as documented.
        let slot = unsafe { out(out_pairing) }?;
        *slot = std::ptr::null_mut();
        // SAFETY: device_url is NULL or NUL-terminated, as documented.
        let url = unsafe { str_arg(device_url) }?;
        if !is_absolute_url(url) {
            return Err(apiretry_result::InvalidArgument);
        }
        *slot = boxed(apiretry_pairing {
            inner: Pairing::new(url),
        });
        Ok(())
    })
}

/// The scope asked for.
#[no_mangle]
pub extern "C" fn apiretry_pairing_set_scope(
    pairing: *mut apiretry_pairing,
    scope: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: scope is NULL or NUL-terminated, as documented.
        let scope = unsafe { str_arg(scope) }?;
        if !is_wire_text(scope, false) {
            return Err(apiretry_result::InvalidArgument);
        }
        with_pairing(pairing, |p| p.scope(scope))
    })
}

/// When a code expires before the user entered it, asks for a new one up
/// to `times` times (default 0: pairing ends with `expired_token`); and
/// gives up with `deadline_exceeded` `deadline_ms` after the start (0:
/// no deadline but the codes' own expiry).
#[no_mangle]
pub extern "C" fn apiretry_pairing_set_limits(
    pairing: *mut apiretry_pairing,
    times: u32,
    deadline_ms: u64,
) -> apiretry_result {
    guard(|| {
        with_pairing(pairing, |p| match deadline_ms {
            0 => p.renew(times),
            ms => p.renew(times).deadline(Duration::from_millis(ms)),
        })
    })
}

/// Receives each code (`apiretry_user_code`) and each poll
/// (`apiretry_poll`); either callback may be NULL. `user_data` must stay
/// valid while `apiretry_client_pair` runs.
#[no_mangle]
pub extern "C" fn apiretry_pairing_set_callbacks(
    pairing: *mut apiretry_pairing,
    on_code: apiretry_code_callback,
    on_poll: apiretry_poll_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let ud = UserData(user_data);
        with_pairing(pairing, |mut p| {
            if let Some(cb) = on_code {
                p = p.on_code(move |c: &UserCode| told_code(cb, ud, c));
            }
            if let Some(cb) = on_poll {
                p = p.on_poll(move |poll: &Poll<'_>| {
                    let ud = ud;
                    let e = poll.error;
                    let c = apiretry_poll {
                        number: poll.number,
                        paired: e.is_none(),
                        kind: e.map_or(0, |e| e.kind as u32),
                        status: e.and_then(|e| e.status).map_or(-1, i32::from),
                        interval_ms: poll.interval.as_millis() as u64,
                    };
                    cb(ud.0, &c);
                });
            }
            p
        })
    })
}

fn told_code(
    cb: extern "C" fn(*mut c_void, *const apiretry_user_code),
    ud: UserData,
    c: &UserCode,
) {
    let text = |s: &str| CString::new(s).unwrap_or_default();
    let (code, uri) = (text(&c.user_code), text(&c.verification_uri));
    let complete = c.verification_uri_complete.as_deref().map(text);
    let shown = apiretry_user_code {
        user_code: code.as_ptr(),
        verification_uri: uri.as_ptr(),
        verification_uri_complete: complete.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        expires_in_s: c.expires_in.as_secs(),
        interval_ms: c.interval.as_millis() as u64,
    };
    cb(ud.0, &shown);
}

/// Releases a pairing; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_pairing_free(pairing: *mut apiretry_pairing) {
    // SAFETY: pairing is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(pairing) })
}

/// Pairs the device (RFC 8628) by the client's OAuth
/// (`apiretry_client_builder_set_oauth`): shows codes and polls through the
/// pairing's callbacks, then makes the tokens the client's and stores them.
/// Blocks until paired, denied (`access_denied`), expired (`expired_token`),
/// cancelled through `cancel` from another thread (`cancelled`; `cancel`
/// may be NULL), past its deadline, or failed otherwise: then the result is
/// `APIRETRY_RESULT_API_FAILURE` and `*out_error` (NULL: not wanted) receives
/// the classification. A store that cannot be written is an `io` failure,
/// yet the client is paired (the tokens are kept in memory).
#[no_mangle]
pub extern "C" fn apiretry_client_pair(
    client: *const apiretry_client,
    pairing: *const apiretry_pairing,
    cancel: *const apiretry_cancel,
    out_error: *mut *mut apiretry_classification,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_error is NULL or writable; the others NULL or live, as documented.
        let (slot, c, p, cancel) = unsafe {
            (
                error_slot(out_error)?,
                arg(client)?,
                arg(pairing)?,
                cancel_of(cancel)?,
            )
        };
        match c.inner.pair(&p.inner, cancel) {
            Ok(_) => Ok(()),
            Err(e) => failure(slot, e),
        }
    })
}
