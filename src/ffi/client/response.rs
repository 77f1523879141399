//! Responses for C.

use std::ffi::c_char;

use crate::client::Response;
use crate::ffi::{apiretry_result, arg, copy_out, free, guard, guard_void, out, str_arg};

/// A successful response; owns its body.
pub struct apiretry_response {
    pub(crate) inner: Response,
}

/// The HTTP status.
#[no_mangle]
pub extern "C" fn apiretry_response_status(
    response: *const apiretry_response,
    out_status: *mut u16,
) -> apiretry_result {
    guard(|| {
        // SAFETY: response is NULL or live; out_status NULL or writable, as documented.
        let (r, slot) = unsafe { (arg(response)?, out(out_status)?) };
        *slot = r.inner.status();
        Ok(())
    })
}

/// Copies header `name`'s value into `buf`; `APIRETRY_RESULT_ABSENT` when missing.
#[no_mangle]
pub extern "C" fn apiretry_response_header(
    response: *const apiretry_response,
    name: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> apiretry_result {
    guard(|| {
        // SAFETY: response is NULL or live; name NULL or NUL-terminated, as documented.
        let (r, name) = unsafe { (arg(response)?, str_arg(name)?) };
        let value = r.inner.header(name).ok_or(apiretry_result::Absent)?;
        // SAFETY: buf/len/out_n are the caller's buffer, as documented.
        unsafe { copy_out(value, buf, len, out_n) }
    })
}

/// Points `*out_body` at the body (`*out_len` bytes), owned by the response
/// and valid until `apiretry_response_free`.
#[no_mangle]
pub extern "C" fn apiretry_response_body(
    response: *const apiretry_response,
    out_body: *mut *const u8,
    out_len: *mut usize,
) -> apiretry_result {
    guard(|| {
        // SAFETY: response is NULL or live; out_body/out_len NULL or writable, as documented.
        let (r, body, len) = unsafe { (arg(response)?, out(out_body)?, out(out_len)?) };
        *body = r.inner.body().as_ptr();
        *len = r.inner.body().len();
        Ok(())
    })
}

/// Releases a response; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_response_free(response: *mut apiretry_response) {
    // SAFETY: response is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(response) })
}
