//! Messages for result codes.

use std::ffi::c_char;

use super::{apiretry_result, copy_out, guard};

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
