//! What a client's connections carry beyond its timeouts, for C: the
//! congestion control of upload parts' connections, the cap on the bytes
//! sent.

use std::ffi::c_char;

use super::builder::{apiretry_client_builder, with_builder};
use crate::client::check_congestion_control;
use crate::ffi::error::{apiretry_classification, error_slot, failure};
use crate::ffi::{apiretry_result, guard, str_arg};

/// The TCP congestion control that upload parts' connections (the
/// chunk-upload class) ask for: "bbr" unless set, where the kernel gives
/// it, else the system's; NULL: the system's. A name this system's kernel
/// does not give this process is refused (`APIRETRY_RESULT_API_FAILURE`,
/// the reason in `*out_error` when not NULL: not loaded, not allowed, no
/// such option) and the setting is unchanged.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_upload_congestion(
    builder: *mut apiretry_client_builder,
    name: *const c_char,
    out_error: *mut *mut apiretry_classification,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_error is NULL or writable, as documented.
        let slot = unsafe { error_slot(out_error) }?;
        if name.is_null() {
            return with_builder(builder, |b| b.upload_congestion_control(None));
        }
        // SAFETY: name is NUL-terminated, as documented.
        let name = unsafe { str_arg(name) }?;
        if let Err(e) = check_congestion_control(name) {
            return failure(slot, e);
        }
        with_builder(builder, |b| b.upload_congestion_control(Some(name)))
    })
}

/// Caps the bytes the client sends per second, all its connections
/// together (upload parts and every other request); 0: no cap (unless
/// set).
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_max_upload_rate(
    builder: *mut apiretry_client_builder,
    bytes_per_sec: u64,
) -> apiretry_result {
    guard(|| with_builder(builder, |b| b.max_upload_rate(bytes_per_sec)))
}
