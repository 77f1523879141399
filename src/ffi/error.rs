//! Failures for C: a classification (an [`ApiError`]) and its fields, and
//! messages for result codes.

use std::ffi::c_char;
use std::ptr;

use super::{apiretry_result, arg, boundary, boxed, copy_out, free, guard, guard_void, out};
use crate::error::ApiError;
use crate::kind::{Category, Kind, Retry};

/// A classified failure (the taxonomy's fields). Immutable; release it with
/// `apiretry_classification_free`.
pub struct apiretry_classification {
    pub(crate) error: ApiError,
}

/// Writes a one-line description of `result` (as an integer, so any value
/// is safe) into `buf`, NUL-terminated; `out_n` receives its length.
///
/// Thread-safe. Returns `APIRETRY_RESULT_BUFFER_TOO_SMALL` when `len` is not
/// more than the length.
#[no_mangle]
pub extern "C" fn apiretry_result_message(
    result: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> apiretry_result {
    guard(|| {
        let text = match result {
            0 => "ok",
            1 => "a required pointer argument was NULL",
            2 => "a string argument was not valid UTF-8",
            3 => "an argument was out of range or malformed",
            4 => "the library panicked",
            5 => "the API call failed (see the classification)",
            6 => "the output buffer is too small: nothing was written; the needed length was reported",
            7 => "the value is absent",
            _ => "unknown result code",
        };
        // SAFETY: buf/len/out_n are the caller's buffer and length cell, as documented.
        unsafe { copy_out(text, buf, len, out_n) }
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

/// Where a call's failure goes: `*out_error`, cleared first, or nowhere
/// when it is NULL.
///
/// # Safety
/// `out_error` is NULL or writable.
pub(crate) unsafe fn error_slot<'a>(
    out_error: *mut *mut apiretry_classification,
) -> Result<Option<&'a mut *mut apiretry_classification>, apiretry_result> {
    if out_error.is_null() {
        return Ok(None);
    }
    // SAFETY: out_error is non-NULL and writable, as the caller guarantees.
    let slot = unsafe { out(out_error) }?;
    *slot = ptr::null_mut();
    Ok(Some(slot))
}

/// Hands a failure to C: its classification into the slot, if wanted.
pub(crate) fn failure(
    slot: Option<&mut *mut apiretry_classification>,
    error: ApiError,
) -> Result<(), apiretry_result> {
    if let Some(slot) = slot {
        *slot = boxed(apiretry_classification { error });
    }
    Err(apiretry_result::ApiFailure)
}
