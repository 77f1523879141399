//! Classifying responses C got with its own HTTP stack.

use std::ffi::{c_char, CStr};
use std::ptr;

// The classification and its accessors live in `ffi::error`; their Rust
// paths here stay as they were.
pub use super::error::{
    apiretry_classification, apiretry_classification_category, apiretry_classification_code,
    apiretry_classification_free, apiretry_classification_hint, apiretry_classification_json,
    apiretry_classification_kind, apiretry_classification_message, apiretry_classification_profile,
    apiretry_classification_request_id, apiretry_classification_retry,
    apiretry_classification_retry_after_ms, apiretry_classification_status, apiretry_kind_name,
};
use super::profile::apiretry_profile;
use super::{apiretry_result, arg, boxed, bytes_arg, guard, out};
use crate::classify::RawResponse;
use crate::error::{clean, ApiError};
use crate::kind::Kind;
use crate::profile::Profile;

/// One response header: NUL-terminated UTF-8 name and value.
#[repr(C)]
pub struct apiretry_header {
    /// Header name, e.g. "Retry-After".
    pub name: *const c_char,
    /// Header value, e.g. "3".
    pub value: *const c_char,
}

/// Classifies a response: `status` (100-599: libcurl's 0 for "no response"
/// is not a status), `n_headers`
/// headers, `body_len` body bytes (`body` may be NULL when 0), and the
/// expected success status (100-599, or < 0 for none); anything else is
/// `APIRETRY_RESULT_INVALID_ARGUMENT`. A header value that is not UTF-8 is
/// read lossily (servers send such values); a header name that is not UTF-8
/// is skipped. On success `*out` is NULL when the response is no failure,
/// else a classification the caller owns.
///
/// Thread-safe; the profile may be shared.
#[no_mangle]
pub extern "C" fn apiretry_classify(
    profile: *const apiretry_profile,
    status: u16,
    headers: *const apiretry_header,
    n_headers: usize,
    body: *const u8,
    body_len: usize,
    expected: i32,
    out_classification: *mut *mut apiretry_classification,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_classification is NULL or writable, as documented.
        let slot = unsafe { out(out_classification) }?;
        *slot = ptr::null_mut();
        // SAFETY: profile is NULL or live, as documented.
        let profile = unsafe { arg(profile) }?;
        // SAFETY: headers, body and their lengths are as documented.
        let error = unsafe {
            classify_raw(
                &profile.inner,
                status,
                headers,
                n_headers,
                body,
                body_len,
                expected,
            )
        }?;
        if let Some(error) = error {
            *slot = boxed(apiretry_classification { error });
        }
        Ok(())
    })
}

/// What `apiretry_classify` (and a call handle) decide for a response C
/// received: its arguments checked, then `profile`'s classification.
///
/// # Safety
/// `headers` is NULL with 0 or has `n_headers` elements whose strings are
/// NULL or NUL-terminated; `body` is NULL with 0 or has `body_len` bytes.
pub(crate) unsafe fn classify_raw(
    profile: &Profile,
    status: u16,
    headers: *const apiretry_header,
    n_headers: usize,
    body: *const u8,
    body_len: usize,
    expected: i32,
) -> Result<Option<ApiError>, apiretry_result> {
    let raw: &[apiretry_header] = if n_headers == 0 {
        &[]
    } else if headers.is_null() {
        return Err(apiretry_result::NullPointer);
    } else {
        // SAFETY: non-NULL, with n_headers readable elements, as the caller guarantees.
        unsafe { std::slice::from_raw_parts(headers, n_headers) }
    };
    if !(100..=599).contains(&status) {
        return Err(apiretry_result::InvalidArgument);
    }
    let mut pairs = Vec::with_capacity(raw.len());
    for h in raw {
        if h.name.is_null() || h.value.is_null() {
            return Err(apiretry_result::NullPointer);
        }
        // SAFETY: each name and value is non-NULL and NUL-terminated, as the caller guarantees.
        let (name, value) = unsafe { (CStr::from_ptr(h.name), CStr::from_ptr(h.value)) };
        // Servers send non-UTF-8 header values: decoded lossily, they cost
        // that header, never the whole classification. A name that is not
        // UTF-8 is no header we read.
        if let Ok(name) = name.to_str() {
            pairs.push((name, value.to_string_lossy()));
        }
    }
    // SAFETY: body is NULL with 0 or has body_len readable bytes, as the caller guarantees.
    let body = unsafe { bytes_arg(body, body_len) }?;
    let mut response = RawResponse::new(status).headers(&pairs).body(body);
    match expected {
        e if e < 0 => {}
        e @ 100..=599 => response = response.expect(e as u16),
        _ => return Err(apiretry_result::InvalidArgument),
    }
    Ok(profile.classify(&response))
}

/// How a request failed when no response arrived, as C's HTTP stack reports
/// it (`apiretry_classify_transport`, `apiretry_call_on_transport_error`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum apiretry_transport {
    /// Connection refused (curl: CURLE_COULDNT_CONNECT).
    ConnectionRefused = 0,
    /// Reset or closed before an answer (CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING).
    ConnectionReset = 1,
    /// Name resolution failed (CURLE_COULDNT_RESOLVE_HOST).
    Dns = 2,
    /// Connecting timed out.
    ConnectTimeout = 3,
    /// Sending or receiving timed out (CURLE_OPERATION_TIMEDOUT).
    Timeout = 4,
    /// TLS handshake or certificate failure (CURLE_SSL_*, CURLE_PEER_FAILED_VERIFICATION).
    Tls = 5,
    /// Malformed HTTP from the peer (CURLE_WEIRD_SERVER_REPLY).
    Protocol = 6,
    /// Reading the upload locally failed (CURLE_READ_ERROR).
    LocalIo = 7,
    /// The response was larger than allowed (CURLE_FILESIZE_EXCEEDED).
    BodyTooLarge = 8,
}

/// The classification of a transport failure `transport` (an
/// `APIRETRY_TRANSPORT_*` value, as an integer so that any value is safe),
/// with the caller's own `message` (may be NULL; credentials in it are
/// masked).
///
/// # Safety
/// `message` is NULL or NUL-terminated.
pub(crate) unsafe fn transport_error(
    transport: u32,
    message: *const c_char,
) -> Result<ApiError, apiretry_result> {
    let kind = match transport {
        0 | 1 => Kind::Connection,
        2 => Kind::Dns,
        3 | 4 => Kind::Timeout,
        5 => Kind::Tls,
        6 => Kind::Protocol,
        7 => Kind::Io,
        8 => Kind::BodyTooLarge,
        _ => return Err(apiretry_result::InvalidArgument),
    };
    let detail = if message.is_null() {
        None
    } else {
        // SAFETY: non-NULL and NUL-terminated, as the caller guarantees.
        Some(unsafe { CStr::from_ptr(message) }.to_string_lossy())
    };
    let error = ApiError::new(kind);
    Ok(match detail {
        Some(d) if !d.is_empty() => {
            let message = format!("{}: {}", kind.default_message(), clean(&d));
            error.with_message(message)
        }
        _ => error,
    })
}

/// Classifies a failure that produced no response (see `apiretry_transport`)
/// into `*out` (the caller owns it): `connection` and `dns` close nothing
/// here (C keeps its own connections), and are retried like the client's.
#[no_mangle]
pub extern "C" fn apiretry_classify_transport(
    transport: u32,
    message: *const c_char,
    out_classification: *mut *mut apiretry_classification,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_classification is NULL or writable, as documented.
        let slot = unsafe { out(out_classification) }?;
        *slot = ptr::null_mut();
        // SAFETY: message is NULL or NUL-terminated, as documented.
        let error = unsafe { transport_error(transport, message) }?;
        *slot = boxed(apiretry_classification { error });
        Ok(())
    })
}
