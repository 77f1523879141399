//! The client for C: builder, callbacks, sending.

mod builder;
mod callbacks;
mod link;
pub mod progress;
pub mod request;
pub mod response;
pub mod tls;

pub use builder::*;
pub use callbacks::*;
pub use link::*;
pub use request::apiretry_request;
pub use response::apiretry_response;
pub use tls::apiretry_roots;

use std::ffi::c_char;
use std::ptr;
use std::sync::Arc;

use super::error::{apiretry_classification, error_slot, failure};
use super::{apiretry_result, arg, boxed, free, guard, guard_void, is_wire_text, out, str_arg};
use crate::client::Client;
use crate::ffi::cancel::{apiretry_cancel, cancel_of};
use crate::gate::Secret;

/// A client: thread-safe; share one between threads. Release it with
/// `apiretry_client_free` once no call is in flight.
pub struct apiretry_client {
    pub(crate) inner: Client,
    pub(crate) callbacks: Arc<CallbackGate>,
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

/// The application's hint that the device's link changed (an interface
/// came up, Wi-Fi or LTE attached, the address changed): pooled connections
/// are not used again, and every origin held for a lost connection is
/// probed at once, its probe schedule starting over. Thread-safe; cheap.
#[no_mangle]
pub extern "C" fn apiretry_client_network_changed(
    client: *const apiretry_client,
) -> apiretry_result {
    guard(|| {
        // SAFETY: client is NULL or live, as documented.
        let c = unsafe { arg(client)? };
        c.inner.network_changed();
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
/// classification, unless `out_error` is NULL (the classification is then
/// freed for the caller: only the result says the call failed). `cancel`
/// may be NULL. The caller owns what it receives.
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
        let (resp_slot, err_slot) = unsafe { (out(out_response)?, error_slot(out_error)?) };
        *resp_slot = ptr::null_mut();
        // SAFETY: client and request are NULL or live, as documented.
        let (c, r) = unsafe { (arg(client)?, arg(request)?) };
        // SAFETY: cancel is NULL or live, as documented.
        let token = unsafe { cancel_of(cancel) }?;
        match c.inner.send_cancellable(&r.inner, token) {
            Ok(resp) => {
                *resp_slot = boxed(apiretry_response { inner: resp });
                Ok(())
            }
            Err(error) => failure(err_slot, error),
        }
    })
}
