//! Requests for C.

use std::ffi::{c_char, c_void};
use std::io::{self, Read, Write};
use std::ptr;

use super::UserData;
use crate::client::{Request, RequestClass};
use crate::ffi::backoff::apiretry_backoff_config;
use crate::ffi::error::kind_of;
use crate::ffi::profile::apiretry_profile;
use crate::ffi::{
    apiretry_result, arg, boxed, bytes_arg, free, guard, guard_void, is_header_name, is_url,
    is_wire_text, out, str_arg,
};
use crate::kind::Retry;

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

pub(super) fn with_request(
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

/// Fails at once with `APIRETRY_KIND_HELD_BACK` (not sent, retry `no`)
/// instead of waiting while the client holds calls to the request's origin
/// for overload (the service answers but refuses everything): for calls
/// whose answer is worthless later (a live preview, a heartbeat).
#[no_mangle]
pub extern "C" fn apiretry_request_set_without_waiting(
    request: *mut apiretry_request,
) -> apiretry_result {
    guard(|| with_request(request, |r| r.without_waiting()))
}

/// The length to give `apiretry_request_set_body_reader` when it is not
/// known (the body then goes chunked, which S3 refuses for a PUT), and to
/// `apiretry_request_set_body_file` for "to the end of the file".
pub const APIRETRY_LENGTH_UNKNOWN: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/// Fills `buf` (`len` bytes) with the next bytes of an upload and sets
/// `*out_n` to how many (0: the end). Returns 0, or any other number for a
/// failure (the attempt then fails as `io`).
pub type apiretry_read_callback = Option<
    extern "C" fn(user_data: *mut c_void, buf: *mut u8, len: usize, out_n: *mut usize) -> u32,
>;

/// Goes back to the start of an upload (before each attempt, the first
/// included), or of a download's sink (before each success's body is
/// written, so a download cut off midway starts over). Returns 0, or any
/// other number for a failure (`io`).
pub type apiretry_rewind_callback = Option<extern "C" fn(user_data: *mut c_void) -> u32>;

/// Takes the next `len` bytes of a success's body. Returns 0, or any other
/// number for a failure (the attempt then fails as `io`, e.g. a full disk).
pub type apiretry_write_callback =
    Option<extern "C" fn(user_data: *mut c_void, data: *const u8, len: usize) -> u32>;

/// The failure a C callback reported.
fn callback_failed(what: &str, code: u32) -> io::Error {
    io::Error::other(format!("the {what} callback returned {code}"))
}

/// An upload read through C callbacks.
struct CReader {
    read: extern "C" fn(*mut c_void, *mut u8, usize, *mut usize) -> u32,
    ud: UserData,
}

impl Read for CReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0usize;
        match (self.read)(self.ud.0, buf.as_mut_ptr(), buf.len(), &mut n) {
            0 if n <= buf.len() => Ok(n),
            0 => Err(io::Error::other(
                "the read callback reported more bytes than the buffer holds",
            )),
            code => Err(callback_failed("read", code)),
        }
    }
}

/// A download's sink written through a C callback.
struct CWriter {
    write: extern "C" fn(*mut c_void, *const u8, usize) -> u32,
    ud: UserData,
}

impl Write for CWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match (self.write)(self.ud.0, data.as_ptr(), data.len()) {
            0 => Ok(data.len()),
            code => Err(callback_failed("write", code)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn rewind(cb: extern "C" fn(*mut c_void) -> u32, ud: UserData) -> io::Result<()> {
    match cb(ud.0) {
        0 => Ok(()),
        code => Err(callback_failed("rewind", code)),
    }
}

/// Streams the body from `read`, after `rewind` (both required), for
/// each attempt: `length` bytes, sent with `Content-Length`, or
/// `APIRETRY_LENGTH_UNKNOWN` (sent chunked). The callbacks run on the
/// sending thread, during `apiretry_client_send`; `user_data` must stay
/// valid while the request may be sent. A stream that ends before `length`
/// is an `io` failure.
#[no_mangle]
pub extern "C" fn apiretry_request_set_body_reader(
    request: *mut apiretry_request,
    length: u64,
    read: apiretry_read_callback,
    rewind_cb: apiretry_rewind_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let (Some(read), Some(rewind_cb)) = (read, rewind_cb) else {
            return Err(apiretry_result::NullPointer);
        };
        let ud = UserData(user_data);
        let open = move || -> io::Result<Box<dyn Read + Send>> {
            rewind(rewind_cb, ud)?;
            Ok(Box::new(CReader { read, ud }))
        };
        with_request(request, |r| match length {
            APIRETRY_LENGTH_UNKNOWN => r.body_reader(open),
            n => r.body_reader_sized(n, open),
        })
    })
}

/// Streams `length` bytes of the file at `path` from byte `offset`, read
/// again for each attempt (a chunk of a clip, never held in memory whole);
/// `APIRETRY_LENGTH_UNKNOWN` for the rest of the file, as long as it is now.
/// A file that cannot be opened or is shorter than `offset` + `length` is
/// an `io` failure at send time; here, a path that is not UTF-8 or, with
/// `APIRETRY_LENGTH_UNKNOWN`, a file that cannot be read now is
/// `APIRETRY_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn apiretry_request_set_body_file(
    request: *mut apiretry_request,
    path: *const c_char,
    offset: u64,
    length: u64,
) -> apiretry_result {
    guard(|| {
        // SAFETY: path is NULL or NUL-terminated, as documented.
        let path = unsafe { str_arg(path) }?;
        let length = match length {
            APIRETRY_LENGTH_UNKNOWN => std::fs::metadata(path)
                .map_err(|_| apiretry_result::InvalidArgument)?
                .len()
                .checked_sub(offset)
                .ok_or(apiretry_result::InvalidArgument)?,
            n => n,
        };
        with_request(request, |r| r.body_file(path, offset, length))
    })
}

/// Streams a success's body to `write` instead of keeping it (a download):
/// `rewind` (required) is called first for each attempt answered with a 2xx,
/// so a body cut off midway is written again from its start. Such a body is
/// not capped and `apiretry_response_body` is empty. Callbacks run on the
/// sending thread; `user_data` must stay valid while the request may be sent.
#[no_mangle]
pub extern "C" fn apiretry_request_set_response_writer(
    request: *mut apiretry_request,
    write: apiretry_write_callback,
    rewind_cb: apiretry_rewind_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let (Some(write), Some(rewind_cb)) = (write, rewind_cb) else {
            return Err(apiretry_result::NullPointer);
        };
        let ud = UserData(user_data);
        with_request(request, |r| {
            r.response_writer(move || -> io::Result<Box<dyn Write + Send>> {
                rewind(rewind_cb, ud)?;
                Ok(Box::new(CWriter { write, ud }))
            })
        })
    })
}

/// This request's own policy instead of the client's: `max_attempts` >= 1,
/// `deadline_ms` 0 for none, `backoff` NULL for seed 001's (as
/// `apiretry_client_builder_set_policy`). The client's budget still applies.
#[no_mangle]
pub extern "C" fn apiretry_request_set_policy(
    request: *mut apiretry_request,
    max_attempts: u32,
    deadline_ms: u64,
    backoff: *const apiretry_backoff_config,
) -> apiretry_result {
    guard(|| {
        // SAFETY: backoff is NULL or live, as documented.
        let policy = unsafe { super::policy(max_attempts, deadline_ms, backoff) }?;
        with_request(request, |r| r.policy(policy))
    })
}

/// Overrides, for this request only, the retry class (`APIRETRY_RETRY_*`)
/// of failures of `kind` (`APIRETRY_KIND_*`), e.g. `APIRETRY_RETRY_NO` for
/// `APIRETRY_KIND_TIMEOUT` on a call that is not idempotent. The taxonomy's
/// never-retried kinds (channel paused, cancelled, deadline) stay so.
#[no_mangle]
pub extern "C" fn apiretry_request_set_retry(
    request: *mut apiretry_request,
    kind: u32,
    retry: u32,
) -> apiretry_result {
    guard(|| {
        let kind = kind_of(kind).ok_or(apiretry_result::InvalidArgument)?;
        let retry = match retry {
            0 => Retry::Yes,
            1 => Retry::Once,
            2 => Retry::No,
            _ => return Err(apiretry_result::InvalidArgument),
        };
        with_request(request, |r| r.retry(kind, retry))
    })
}

/// Releases a request; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_request_free(request: *mut apiretry_request) {
    // SAFETY: request is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(request) })
}
