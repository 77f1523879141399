//! A request's progress for C: how far each attempt's transfer has come.
//! Mirrors `client::progress`.

use std::ffi::c_void;

use super::request::{apiretry_request, with_request, APIRETRY_LENGTH_UNKNOWN};
use super::UserData;
use crate::ffi::{apiretry_result, guard};

/// How far an attempt's transfer has come (`apiretry_request_set_progress_callback`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct apiretry_progress {
    /// Bytes of the request's body handed to the connection.
    pub sent: u64,
    /// The request body's length, or `APIRETRY_LENGTH_UNKNOWN`.
    pub send_total: u64,
    /// Bytes of the answer's body received.
    pub received: u64,
    /// The answer body's length, or `APIRETRY_LENGTH_UNKNOWN`.
    pub receive_total: u64,
}

/// Receives an attempt's progress; `progress` is valid during the call only.
pub type apiretry_progress_callback =
    Option<extern "C" fn(user_data: *mut c_void, progress: *const apiretry_progress)>;

/// Tells `callback` how far each attempt's transfer has come: on the
/// sending thread, during `apiretry_client_send`, at most every 100 ms and
/// at the end of each direction; each attempt starts again from zero (a
/// device's upload bar). `user_data` must stay valid while the request may
/// be sent.
#[no_mangle]
pub extern "C" fn apiretry_request_set_progress_callback(
    request: *mut apiretry_request,
    callback: apiretry_progress_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let callback = callback.ok_or(apiretry_result::NullPointer)?;
        let ud = UserData(user_data);
        with_request(request, |r| {
            r.progress(move |p| {
                let ud = ud;
                let unknown = APIRETRY_LENGTH_UNKNOWN;
                let c = apiretry_progress {
                    sent: p.sent,
                    send_total: p.send_total.unwrap_or(unknown),
                    received: p.received,
                    receive_total: p.receive_total.unwrap_or(unknown),
                };
                callback(ud.0, &c);
            })
        })
    })
}
