//! Requests for C.

use std::ffi::c_char;
use std::ptr;

use crate::client::{Request, RequestClass};
use crate::ffi::profile::apiretry_profile;
use crate::ffi::{
    apiretry_result, arg, boxed, bytes_arg, free, guard, guard_void, is_header_name, is_url,
    is_wire_text, out, str_arg,
};

/// A request; reusable, and sendable again. Not to be changed while a send
/// that uses it is in flight.
pub struct apiretry_request {
    pub(crate) inner: Request,
}

/// The timeout class of a request.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum apiretry_request_class {
    /// Ordinary calls (15 s by default).
    Default = 0,
    /// Authorization refresh (2 min by default).
    AuthRefresh = 1,
    /// File chunk upload (5 min by default).
    ChunkUpload = 2,
}

/// A request with `method` ("GET", "POST", ...) to `url` (absolute, or a
/// path joined to the client's base URL). The caller owns `*out`. A method
/// that is not letters, or a URL that is empty or has spaces or control
/// characters, is `APIRETRY_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn apiretry_request_new(
    method: *const c_char,
    url: *const c_char,
    out_request: *mut *mut apiretry_request,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_request is NULL or writable, as documented.
        let slot = unsafe { out(out_request) }?;
        *slot = ptr::null_mut();
        // SAFETY: method and url are NULL or NUL-terminated, as documented.
        let (method, url) = unsafe { (str_arg(method)?, str_arg(url)?) };
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) || !is_url(url) {
            return Err(apiretry_result::InvalidArgument);
        }
        *slot = boxed(apiretry_request {
            inner: Request::new(method, url),
        });
        Ok(())
    })
}

fn with_request(
    r: *mut apiretry_request,
    f: impl FnOnce(Request) -> Request,
) -> Result<(), apiretry_result> {
    // SAFETY: r is NULL or a live request not in use by a send, as documented.
    let r = unsafe { out(r) }?;
    let inner = std::mem::replace(&mut r.inner, Request::get(""));
    r.inner = f(inner);
    Ok(())
}

/// Adds a header (copied). The name must be an HTTP token (not empty, no
/// spaces or colons) and the value free of control characters (CR, LF...;
/// a tab is fine): else `APIRETRY_RESULT_INVALID_ARGUMENT`, here rather than
/// at send time.
#[no_mangle]
pub extern "C" fn apiretry_request_add_header(
    request: *mut apiretry_request,
    name: *const c_char,
    value: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: name and value are NULL or NUL-terminated, as documented.
        let (name, value) = unsafe { (str_arg(name)?, str_arg(value)?) };
        if !is_header_name(name) || !is_wire_text(value, true) {
            return Err(apiretry_result::InvalidArgument);
        }
        with_request(request, |r| r.header(name, value))
    })
}

/// Sets the body (copied; sent again on each attempt). `body` may be NULL when `len` is 0.
#[no_mangle]
pub extern "C" fn apiretry_request_set_body(
    request: *mut apiretry_request,
    body: *const u8,
    len: usize,
) -> apiretry_result {
    guard(|| {
        // SAFETY: body is NULL with 0 or has len readable bytes, as documented.
        let bytes = unsafe { bytes_arg(body, len) }?.to_vec();
        with_request(request, |r| r.body(bytes))
    })
}

/// The success status the endpoint must answer with.
#[no_mangle]
pub extern "C" fn apiretry_request_set_expect(
    request: *mut apiretry_request,
    status: u16,
) -> apiretry_result {
    guard(|| {
        if !(100..=599).contains(&status) {
            return Err(apiretry_result::InvalidArgument);
        }
        with_request(request, |r| r.expect(status))
    })
}

/// The timeout class: an `APIRETRY_REQUEST_CLASS_*` value.
#[no_mangle]
pub extern "C" fn apiretry_request_set_class(
    request: *mut apiretry_request,
    class: u32,
) -> apiretry_result {
    guard(|| {
        let class = match class {
            0 => RequestClass::Default,
            1 => RequestClass::AuthRefresh,
            2 => RequestClass::ChunkUpload,
            _ => return Err(apiretry_result::InvalidArgument),
        };
        with_request(request, |r| r.class(class))
    })
}

/// Classifies this request's failures with (a copy of) `profile`.
#[no_mangle]
pub extern "C" fn apiretry_request_set_profile(
    request: *mut apiretry_request,
    profile: *const apiretry_profile,
) -> apiretry_result {
    guard(|| {
        // SAFETY: profile is NULL or live, as documented.
        let p = unsafe { arg(profile) }?.inner.clone();
        with_request(request, |r| r.profile(p))
    })
}

/// Sends without the token (presigned URLs, device pairing), and, when
/// `own_connection` is true, on a connection of its own, closed after.
#[no_mangle]
pub extern "C" fn apiretry_request_set_unauthorized(
    request: *mut apiretry_request,
    own_connection: bool,
) -> apiretry_result {
    guard(|| {
        with_request(request, |r| {
            let r = r.without_authorization();
            if own_connection {
                r.own_connection()
            } else {
                r
            }
        })
    })
}

/// Releases a request; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_request_free(request: *mut apiretry_request) {
    // SAFETY: request is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(request) })
}
