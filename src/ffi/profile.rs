//! Profiles for C: built-in or loaded from JSON.

use std::ffi::c_char;
use std::ptr;

use super::error::apiretry_classification;
use super::{apiretry_result, arg, boxed, copy_out, free, guard, guard_void, out, str_arg};
use crate::profile::Profile;

/// An API profile. Immutable once made: share it between threads freely;
/// release it with `apiretry_profile_free` when nothing uses it.
pub struct apiretry_profile {
    pub(crate) inner: Profile,
}

/// Makes the built-in profile `name` (`generic`, `c2c`, `s3`, `frameio`,
/// `keyed`, `envelope`) into `*out`; unknown names give
/// `APIRETRY_RESULT_INVALID_ARGUMENT`. The caller owns `*out`.
#[no_mangle]
pub extern "C" fn apiretry_profile_builtin(
    name: *const c_char,
    out_profile: *mut *mut apiretry_profile,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_profile is NULL or writable, as documented.
        let slot = unsafe { out(out_profile) }?;
        *slot = ptr::null_mut();
        // SAFETY: name is NULL or NUL-terminated, as documented.
        let name = unsafe { str_arg(name) }?;
        let p = Profile::builtin(name).ok_or(apiretry_result::InvalidArgument)?;
        *slot = boxed(apiretry_profile { inner: p.clone() });
        Ok(())
    })
}

/// Loads a profile from JSON text (format in the README) into `*out`. On a
/// bad profile the result is `APIRETRY_RESULT_INVALID_ARGUMENT` and, when
/// `err` is not NULL, `*err` receives a classification whose message says
/// what is wrong (the caller frees it). The caller owns `*out`.
#[no_mangle]
pub extern "C" fn apiretry_profile_from_json(
    json: *const c_char,
    out_profile: *mut *mut apiretry_profile,
    err: *mut *mut apiretry_classification,
) -> apiretry_result {
    guard(|| {
        if !err.is_null() {
            // SAFETY: err is non-NULL and writable, as documented.
            unsafe { *err = ptr::null_mut() };
        }
        // SAFETY: out_profile is NULL or writable, as documented.
        let slot = unsafe { out(out_profile) }?;
        *slot = ptr::null_mut();
        // SAFETY: json is NULL or NUL-terminated, as documented.
        let text = unsafe { str_arg(json) }?;
        match Profile::from_json(text) {
            Ok(p) => {
                *slot = boxed(apiretry_profile { inner: p });
                Ok(())
            }
            Err(e) => {
                if !err.is_null() {
                    // SAFETY: err is non-NULL and writable, as documented.
                    unsafe { *err = boxed(apiretry_classification { error: e }) };
                }
                Err(apiretry_result::InvalidArgument)
            }
        }
    })
}

/// Copies the profile's name into `buf` (see `apiretry_result_message` for
/// the buffer convention).
#[no_mangle]
pub extern "C" fn apiretry_profile_name(
    profile: *const apiretry_profile,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> apiretry_result {
    guard(|| {
        // SAFETY: profile is NULL or a live profile, as documented.
        let p = unsafe { arg(profile) }?;
        // SAFETY: buf/len/out_n are the caller's buffer, as documented.
        unsafe { copy_out(p.inner.name(), buf, len, out_n) }
    })
}

/// Releases a profile; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_profile_free(profile: *mut apiretry_profile) {
    // SAFETY: profile is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(profile) })
}
