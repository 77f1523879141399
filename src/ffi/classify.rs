//! Classifying responses C got with its own HTTP stack, and reading the
//! classification.

use std::ffi::{c_char, CStr};
use std::ptr;

use super::profile::apiretry_profile;
use super::{
    apiretry_result, arg, boundary, boxed, bytes_arg, copy_out, free, guard, guard_void, out,
};
use crate::classify::RawResponse;
use crate::error::{clean, ApiError};
use crate::kind::{Category, Kind, Retry};
use crate::profile::Profile;

/// A classified failure (the taxonomy's fields). Immutable; release it with
/// `apiretry_classification_free`.
pub struct apiretry_classification {
    pub(crate) error: ApiError,
}

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

/// Reads one field of `c` into `*out`.
fn read<T>(
    c: *const apiretry_classification,
    out_value: *mut T,
    f: impl FnOnce(&ApiError) -> T,
) -> apiretry_result {
    guard(|| {
        // SAFETY: c is NULL or live, as documented.
        let c = unsafe { arg(c) }?;
        // SAFETY: out_value is NULL or writable, as documented.
        *unsafe { out(out_value) }? = f(&c.error);
        Ok(())
    })
}

/// Copies one text field of `c` into the caller's buffer; `Absent` when unset.
fn text(
    c: *const apiretry_classification,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
    f: impl FnOnce(&ApiError) -> Option<&str>,
) -> apiretry_result {
    guard(|| {
        // SAFETY: c is NULL or live, as documented.
        let c = unsafe { arg(c) }?;
        let value = f(&c.error).ok_or(apiretry_result::Absent)?;
        // SAFETY: buf/len/out_n are the caller's buffer, as documented.
        unsafe { copy_out(value, buf, len, out_n) }
    })
}

/// The kind (`APIRETRY_KIND_*`).
#[no_mangle]
pub extern "C" fn apiretry_classification_kind(
    c: *const apiretry_classification,
    out_kind: *mut Kind,
) -> apiretry_result {
    read(c, out_kind, |e| e.kind)
}

/// The category (`APIRETRY_CATEGORY_*`).
#[no_mangle]
pub extern "C" fn apiretry_classification_category(
    c: *const apiretry_classification,
    out_category: *mut Category,
) -> apiretry_result {
    read(c, out_category, |e| e.category())
}

/// Whether to retry (`APIRETRY_RETRY_*`).
#[no_mangle]
pub extern "C" fn apiretry_classification_retry(
    c: *const apiretry_classification,
    out_retry: *mut Retry,
) -> apiretry_result {
    read(c, out_retry, |e| e.retry)
}

/// The HTTP status, or -1 when no response arrived.
#[no_mangle]
pub extern "C" fn apiretry_classification_status(
    c: *const apiretry_classification,
    out_status: *mut i32,
) -> apiretry_result {
    read(c, out_status, |e| e.status.map_or(-1, i32::from))
}

/// The server-requested wait in milliseconds, or -1 when none.
#[no_mangle]
pub extern "C" fn apiretry_classification_retry_after_ms(
    c: *const apiretry_classification,
    out_ms: *mut i64,
) -> apiretry_result {
    read(c, out_ms, |e| {
        e.retry_after_ms
            .map_or(-1, |ms| i64::try_from(ms).unwrap_or(i64::MAX))
    })
}

/// The API's own code (e.g. "Channel Paused"); `APIRETRY_RESULT_ABSENT` when none.
#[no_mangle]
pub extern "C" fn apiretry_classification_code(
    c: *const apiretry_classification,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> apiretry_result {
    text(c, buf, len, out_n, |e| e.code.as_deref())
}

/// The human-readable message.
#[no_mangle]
pub extern "C" fn apiretry_classification_message(
    c: *const apiretry_classification,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> apiretry_result {
    text(c, buf, len, out_n, |e| Some(&e.message))
}

/// The request id; `APIRETRY_RESULT_ABSENT` when none.
#[no_mangle]
pub extern "C" fn apiretry_classification_request_id(
    c: *const apiretry_classification,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> apiretry_result {
    text(c, buf, len, out_n, |e| e.request_id.as_deref())
}

/// One sentence telling a person what to do.
#[no_mangle]
pub extern "C" fn apiretry_classification_hint(
    c: *const apiretry_classification,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> apiretry_result {
    text(c, buf, len, out_n, |e| Some(&e.hint))
}

/// The profile that classified it; `APIRETRY_RESULT_ABSENT` for failures
/// no API answered.
#[no_mangle]
pub extern "C" fn apiretry_classification_profile(
    c: *const apiretry_classification,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> apiretry_result {
    text(c, buf, len, out_n, |e| e.profile.as_deref())
}

/// Every field as one JSON object with the taxonomy's names (as the CLI
/// prints it), including `fields`.
#[no_mangle]
pub extern "C" fn apiretry_classification_json(
    c: *const apiretry_classification,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> apiretry_result {
    guard(|| {
        // SAFETY: c is NULL or live, as documented.
        let c = unsafe { arg(c) }?;
        let json = serde_json::to_string(&c.error).map_err(|_| apiretry_result::Panic)?;
        // SAFETY: buf/len/out_n are the caller's buffer, as documented.
        unsafe { copy_out(&json, buf, len, out_n) }
    })
}

/// The taxonomy name of a kind value (e.g. "channel_paused"), as a static
/// NUL-terminated string that must not be freed; NULL for unknown values.
#[no_mangle]
pub extern "C" fn apiretry_kind_name(kind: u32) -> *const c_char {
    boundary(ptr::null(), || {
        kind_of(kind).map_or(ptr::null(), |k| k.c_name().as_ptr())
    })
}

/// The kind an `APIRETRY_KIND_*` value names, if any.
pub(crate) fn kind_of(value: u32) -> Option<Kind> {
    Kind::ALL.iter().copied().find(|k| *k as u32 == value)
}

/// Releases a classification; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_classification_free(c: *mut apiretry_classification) {
    // SAFETY: c is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(c) })
}
