//! The C2C uploader for C (`c2c::Uploader`): a queue of clips in a state
//! directory, uploaded to Frame.io in turn, recordings while they grow.
//! Everything but `_free` and `_wait_idle` may be called from any thread,
//! also while started and from the event callback: the uploader is shared.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use super::client::{apiretry_client, UserData};
use super::{apiretry_result, arg, boxed, free, guard, guard_void, out, str_arg};
use crate::c2c::{ItemState, Uploader};
use crate::error::ApiError;
use crate::kind::Kind;

/// A queue of clips uploaded to Frame.io (`apiretry_c2c_uploader_new`);
/// release it with `apiretry_c2c_uploader_free`.
pub struct apiretry_c2c_uploader {
    inner: Uploader,
}

/// An item's state (`apiretry_c2c_event.state`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum apiretry_c2c {
    /// Waiting its turn.
    Queued = 0,
    /// Its file is still being written (uploaded as it grows).
    Recording = 1,
    /// Being uploaded.
    Uploading = 2,
    /// Uploaded whole.
    Done = 3,
    /// Refused for good, nothing sent (the channel was paused).
    Dropped = 4,
    /// Failed for good (the file vanished, cannot be read, changed).
    Failed = 5,
    /// Cancelled.
    Cancelled = 6,
}

impl From<ItemState> for apiretry_c2c {
    fn from(s: ItemState) -> Self {
        match s {
            ItemState::Queued => apiretry_c2c::Queued,
            ItemState::Recording => apiretry_c2c::Recording,
            ItemState::Uploading => apiretry_c2c::Uploading,
            ItemState::Done => apiretry_c2c::Done,
            ItemState::Dropped => apiretry_c2c::Dropped,
            ItemState::Failed => apiretry_c2c::Failed,
            _ => apiretry_c2c::Cancelled,
        }
    }
}

/// `apiretry_c2c_uploader_add`'s flags, or'ed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum apiretry_c2c_add {
    /// The file is still being written: uploaded as it grows, until
    /// `apiretry_c2c_uploader_finish`.
    Recording = 1,
    /// Ahead of the items not so marked.
    First = 2,
}

/// An item's state change, or its progress (at most every 250 ms).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct apiretry_c2c_event {
    /// The item's id.
    pub id: u64,
    /// Its state: `APIRETRY_C2C_*`.
    pub state: u32,
    /// An `apiretry_kind` for a dropped or failed item, else 0.
    pub kind: u32,
    /// Its bytes uploaded so far.
    pub bytes_done: u64,
    /// Its size; 0 while unknown (a recording).
    pub bytes_total: u64,
}

/// Receives an uploader's events, from its threads; `event` is valid
/// during the call only. It may call the uploader's functions (but
/// `_free` and `_wait_idle`).
pub type apiretry_c2c_event_callback =
    Option<extern "C" fn(user_data: *mut c_void, event: *const apiretry_c2c_event)>;

/// The result code for an error the uploader gives at once.
fn refused(e: &ApiError) -> apiretry_result {
    log::warn!("c2c: {e}");
    match e.kind {
        Kind::Io => apiretry_result::ApiFailure,
        _ => apiretry_result::InvalidArgument,
    }
}

/// An uploader sending with `client` (the application's: base URL, token
/// or OAuth, the `c2c` profile, `x-client-version`; the uploader keeps its
/// own reference) and keeping its queue in `state_dir` (made if missing;
/// `APIRETRY_RESULT_API_FAILURE` if it cannot be), into `*out`. Nothing is
/// sent before `apiretry_c2c_uploader_start`.
#[no_mangle]
pub extern "C" fn apiretry_c2c_uploader_new(
    client: *const apiretry_client,
    state_dir: *const c_char,
    out_uploader: *mut *mut apiretry_c2c_uploader,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_uploader NULL or writable; client NULL or live; state_dir NULL or NUL-terminated.
        let (slot, c, dir) = unsafe { (out(out_uploader)?, arg(client)?, str_arg(state_dir)?) };
        *slot = std::ptr::null_mut();
        if dir.is_empty() {
            return Err(apiretry_result::InvalidArgument);
        }
        let inner = Uploader::new(&c.inner, dir).map_err(|e| refused(&e))?;
        *slot = boxed(apiretry_c2c_uploader { inner });
        Ok(())
    })
}

fn with(
    u: *const apiretry_c2c_uploader,
    f: impl FnOnce(&Uploader) -> Result<(), apiretry_result>,
) -> apiretry_result {
    guard(|| {
        // SAFETY: u is NULL or live, as documented; shared between threads.
        let u = unsafe { arg(u) }?;
        f(&u.inner)
    })
}

/// Tells `callback` of each item's state changes and progress, from the
/// uploader's threads. `user_data` must be usable from any thread.
#[no_mangle]
pub extern "C" fn apiretry_c2c_uploader_set_event_callback(
    u: *mut apiretry_c2c_uploader,
    callback: apiretry_c2c_event_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    with(u, |u| {
        let cb = callback.ok_or(apiretry_result::NullPointer)?;
        let ud = UserData(user_data);
        u.on_event(move |e| {
            let ud = &ud;
            let c = apiretry_c2c_event {
                id: e.id,
                state: apiretry_c2c::from(e.state) as u32,
                kind: e.kind.map_or(0, |k| k as u32),
                bytes_done: e.bytes_done,
                bytes_total: e.bytes_total,
            };
            cb(ud.0, &c);
        });
        Ok(())
    })
}

/// How many files are uploaded at once (1 to 16; 1 unless set) and parts
/// of each in flight (1 to 64; 0: the engine chooses, the default).
/// Before `_start`.
#[no_mangle]
pub extern "C" fn apiretry_c2c_uploader_set_parallel(
    u: *mut apiretry_c2c_uploader,
    files: u32,
    parts_per_file: u32,
) -> apiretry_result {
    with(u, |u| {
        if !(1..=16).contains(&files) || parts_per_file > 64 {
            return Err(apiretry_result::InvalidArgument);
        }
        u.set_parallel(files as usize, parts_per_file as usize);
        Ok(())
    })
}

/// Starts the uploader's threads: the items not over resume, the
/// heartbeat begins. A second call does nothing.
#[no_mangle]
pub extern "C" fn apiretry_c2c_uploader_start(u: *mut apiretry_c2c_uploader) -> apiretry_result {
    with(u, |u| {
        u.start();
        Ok(())
    })
}

/// Queues the file at `path` (MIME type `filetype`, made at
/// `created_unix_ms`, 0 for now; `flags`: `APIRETRY_C2C_ADD_*`); its id
/// into `*out_id` (may be NULL). A path already queued gives that item's
/// id (and, without the recording flag, finishes its recording at the
/// file's size). A missing or unreadable file:
/// `APIRETRY_RESULT_API_FAILURE`, nothing queued.
#[no_mangle]
pub extern "C" fn apiretry_c2c_uploader_add(
    u: *mut apiretry_c2c_uploader,
    path: *const c_char,
    filetype: *const c_char,
    created_unix_ms: i64,
    flags: u32,
    out_id: *mut u64,
) -> apiretry_result {
    with(u, |u| {
        // SAFETY: path and filetype NULL or NUL-terminated, as documented.
        let (path, filetype) = unsafe { (str_arg(path)?, str_arg(filetype)?) };
        if path.is_empty() || filetype.is_empty() || flags & !3 != 0 {
            return Err(apiretry_result::InvalidArgument);
        }
        let id = u
            .add(path, filetype, created_unix_ms, flags)
            .map_err(|e| refused(&e))?;
        if !out_id.is_null() {
            // SAFETY: out_id is non-NULL and writable, as documented.
            *unsafe { out(out_id) }? = id;
        }
        Ok(())
    })
}

/// Item `id`'s recording is over at `final_size` bytes.
#[no_mangle]
pub extern "C" fn apiretry_c2c_uploader_finish(
    u: *mut apiretry_c2c_uploader,
    id: u64,
    final_size: u64,
) -> apiretry_result {
    with(u, |u| u.finish(id, final_size).map_err(|e| refused(&e)))
}

/// Cancels item `id`, or with 0 every item not over.
#[no_mangle]
pub extern "C" fn apiretry_c2c_uploader_cancel(
    u: *mut apiretry_c2c_uploader,
    id: u64,
) -> apiretry_result {
    with(u, |u| u.cancel(id).map_err(|e| refused(&e)))
}

/// Waits until every item is over, `timeout_ms` at most; whether it is,
/// into `*out_idle` (may be NULL). Not from the event callback.
#[no_mangle]
pub extern "C" fn apiretry_c2c_uploader_wait_idle(
    u: *mut apiretry_c2c_uploader,
    timeout_ms: u32,
    out_idle: *mut bool,
) -> apiretry_result {
    with(u, |u| {
        let idle = u.wait_idle(Duration::from_millis(timeout_ms.into()));
        if !out_idle.is_null() {
            // SAFETY: out_idle is non-NULL and writable, as documented.
            *unsafe { out(out_idle) }? = idle;
        }
        Ok(())
    })
}

/// Stops the uploader (uploads in flight end, their journals kept; what is
/// not over stays queued in the state directory) and releases it. NULL is
/// ignored. Not from the event callback.
#[no_mangle]
pub extern "C" fn apiretry_c2c_uploader_free(u: *mut apiretry_c2c_uploader) {
    // SAFETY: u came from apiretry_c2c_uploader_new and is freed once, as documented.
    guard_void(|| unsafe { free(u) })
}
