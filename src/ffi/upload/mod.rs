//! The whole upload for C: a file in parts, several in flight, resumable
//! through its journal. Mirrors `upload`.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;

use super::cancel::{apiretry_cancel, cancel_of};
use super::client::apiretry_client;
use super::client::UserData;
use super::error::{apiretry_classification, error_slot, failure};
use super::{
    apiretry_result, arg, boxed, copy_out, free, guard, guard_void, is_url, out, read_from_c,
    str_arg,
};
use crate::error::ApiError;
use crate::kind::Kind;
use crate::upload::{Growth, PartRequest, Upload, Uploaded};

mod growing;
mod settings;

/// One file's upload (`apiretry_upload_new`); release it with
/// `apiretry_upload_free`. Not to be shared between threads while it runs.
pub struct apiretry_upload {
    inner: Upload,
    urls: Vec<String>,
    asked: bool,
    /// Finished from any thread while the upload runs (`apiretry_upload_finish`).
    growth: Growth,
    /// The last run's result: set by the run, which holds the upload
    /// shared, as `apiretry_upload_finish` may at the same time.
    done: Mutex<Option<Uploaded>>,
}

/// How far an upload has come (`apiretry_upload_set_progress_callback`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct apiretry_upload_progress {
    /// Body bytes of done parts, and of parts in flight so far.
    pub bytes_done: u64,
    /// The file's size.
    pub bytes_total: u64,
    /// Parts done (those found in the journal included).
    pub parts_done: u32,
    /// Parts in all.
    pub parts_total: u32,
}

/// Receives an upload's progress, from the threads sending its parts, one
/// call at a time (never two at once); `progress` is valid during the call
/// only. `bytes_done` never decreases: a part sent again counts its bytes
/// once.
pub type apiretry_upload_progress_callback =
    Option<extern "C" fn(user_data: *mut c_void, progress: *const apiretry_upload_progress)>;

/// Gives part `part`'s URL (from 1): writes it, without a NUL, into `buf`
/// (`len` bytes), its length into `*out_n`, and returns 0. `expired` is
/// true when the URL given before for that part was refused as expired
/// (asked once per part). A URL longer than `len`: set `*out_n` to its
/// length and return `APIRETRY_RESULT_BUFFER_TOO_SMALL` (6), to be asked
/// again with a buffer that large (up to 64 KiB). Any other number stops
/// the upload. Called from the threads sending parts, for different parts
/// at once (up to the parts in flight), never after
/// `apiretry_upload_run` returns.
pub type apiretry_upload_url_callback = Option<
    extern "C" fn(
        user_data: *mut c_void,
        part: u32,
        expired: bool,
        buf: *mut c_char,
        len: usize,
        out_n: *mut usize,
    ) -> u32,
>;

/// The longest URL a callback may hand over.
const MAX_URL: usize = 64 << 10;

/// The upload of the file at `path` in parts of `part_size` bytes, sent by
/// `client` (PUT, the `s3` profile, the chunk-upload timeouts, 4 parts in
/// flight, no journal) into `*out_upload`. URLs are then given in order
/// with `apiretry_upload_add_url`, or asked with
/// `apiretry_upload_set_url_callback`.
#[no_mangle]
pub extern "C" fn apiretry_upload_new(
    client: *const apiretry_client,
    path: *const c_char,
    part_size: u64,
    out_upload: *mut *mut apiretry_upload,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_upload is NULL or writable; client NULL or live; path NULL or NUL-terminated.
        let (slot, c, path) = unsafe { (out(out_upload)?, arg(client)?, str_arg(path)?) };
        *slot = std::ptr::null_mut();
        if part_size == 0 || path.is_empty() {
            return Err(apiretry_result::InvalidArgument);
        }
        *slot = boxed(apiretry_upload {
            inner: Upload::new(&c.inner, path, part_size),
            urls: Vec::new(),
            asked: false,
            growth: Growth::new(),
            done: Mutex::new(None),
        });
        Ok(())
    })
}

fn with_upload(
    upload: *mut apiretry_upload,
    f: impl FnOnce(&mut apiretry_upload) -> Result<(), apiretry_result>,
) -> Result<(), apiretry_result> {
    // SAFETY: upload is NULL or live and not used by another thread, as documented.
    let u = unsafe { out(upload) }?;
    f(u)
}

/// Replaces the upload's settings with `f`'s (a builder step).
fn reconfigure(
    upload: *mut apiretry_upload,
    f: impl FnOnce(Upload) -> Upload,
) -> Result<(), apiretry_result> {
    with_upload(upload, |u| {
        u.inner = f(u.inner.clone());
        Ok(())
    })
}

/// Adds the next part's URL (part 1 first).
#[no_mangle]
pub extern "C" fn apiretry_upload_add_url(
    upload: *mut apiretry_upload,
    url: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: url is NULL or NUL-terminated, as documented.
        let url = unsafe { str_arg(url) }?;
        if !is_url(url) {
            return Err(apiretry_result::InvalidArgument);
        }
        with_upload(upload, |u| {
            u.urls.push(url.to_owned());
            Ok(())
        })
    })
}

/// Asks `callback` for each part's URL instead (see
/// `apiretry_upload_url_callback`). `user_data` must be usable from any
/// thread while the upload runs.
#[no_mangle]
pub extern "C" fn apiretry_upload_set_url_callback(
    upload: *mut apiretry_upload,
    callback: apiretry_upload_url_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let cb = callback.ok_or(apiretry_result::NullPointer)?;
        let ud = UserData(user_data);
        ask(upload, move |p| {
            let ud = ud;
            let (part, expired) = (p.number, p.expired);
            url_from_c(part, |buf, len, n| cb(ud.0, part, expired, buf, len, n))
        })
    })
}

/// Asks `source` for the parts' URLs (a C callback behind it).
fn ask(
    upload: *mut apiretry_upload,
    source: impl Fn(&PartRequest) -> Result<String, ApiError> + Send + Sync + 'static,
) -> Result<(), apiretry_result> {
    with_upload(upload, |u| {
        u.asked = true;
        u.inner = u.inner.clone().part_source(source);
        Ok(())
    })
}

/// Part `part`'s URL, as a C callback writes it (`call(buf, len, out_n)`).
fn url_from_c(
    part: u32,
    call: impl FnMut(*mut c_char, usize, *mut usize) -> u32,
) -> Result<String, ApiError> {
    let bytes = read_from_c(MAX_URL, call).map_err(|e| url_failed(part, &e.to_string()))?;
    let url = String::from_utf8(bytes).map_err(|_| url_failed(part, "not UTF-8"))?;
    match is_url(&url) {
        true => Ok(url),
        false => Err(url_failed(part, "not an http:// or https:// URL")),
    }
}

fn url_failed(part: u32, why: &str) -> ApiError {
    ApiError::new(Kind::Application)
        .with_message(format!("the URL callback for part {part}: {why}"))
}

/// Keeps the done parts in the journal at `path`, and resumes from it.
#[no_mangle]
pub extern "C" fn apiretry_upload_set_journal(
    upload: *mut apiretry_upload,
    path: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: path is NULL or NUL-terminated, as documented.
        let path = unsafe { str_arg(path) }?;
        if path.is_empty() {
            return Err(apiretry_result::InvalidArgument);
        }
        reconfigure(upload, |up| up.journal(path))
    })
}

/// How many parts are in flight at once (1 to 64), fixed; 0: the engine
/// chooses (the default), from 4 up to 16 while each step adds 10% to the
/// upload's rate.
#[no_mangle]
pub extern "C" fn apiretry_upload_set_parallel(
    upload: *mut apiretry_upload,
    parts: u32,
) -> apiretry_result {
    guard(|| match parts {
        0 => reconfigure(upload, Upload::auto_parallel),
        1..=64 => reconfigure(upload, |up| up.parallel(parts as usize)),
        _ => Err(apiretry_result::InvalidArgument),
    })
}

/// Tells `callback` how far the upload has come. `user_data` must be
/// usable from any thread while the upload runs.
#[no_mangle]
pub extern "C" fn apiretry_upload_set_progress_callback(
    upload: *mut apiretry_upload,
    callback: apiretry_upload_progress_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let cb = callback.ok_or(apiretry_result::NullPointer)?;
        let ud = UserData(user_data);
        reconfigure(upload, |up| {
            up.progress(move |p| {
                let ud = ud;
                let c = apiretry_upload_progress {
                    bytes_done: p.bytes_done,
                    bytes_total: p.bytes_total,
                    parts_done: p.parts_done,
                    parts_total: p.parts_total,
                };
                cb(ud.0, &c);
            })
        })
    })
}

/// Runs the upload to its end on this thread and as many more as parts in
/// flight. `APIRETRY_RESULT_API_FAILURE` when a part failed for good, the
/// URLs expired (classification code `urls_expired`: run again with fresh
/// URLs and the same journal: `apiretry_upload_clear_urls`, add them, run
/// again), the journal is another file's, layout's or upload's (code
/// `journal_refused`), cannot be written (`journal_unwritable`) or is held
/// by another run (`journal_busy`), the parts break S3's rules
/// (`part_rules`), the file changed during the run (`file_changed`), or
/// `cancel` (may be NULL) cancelled it; `*out_error` then receives the
/// classification, unless NULL. A part failing for good, or a cancel, ends
/// the parts in flight within one read of their bodies; what finished
/// stays in the journal. The file is held open for the run: every part
/// reads from one handle. Callbacks run on this thread and the run's
/// others, never after it returns.
#[no_mangle]
pub extern "C" fn apiretry_upload_run(
    upload: *mut apiretry_upload,
    cancel: *const apiretry_cancel,
    out_error: *mut *mut apiretry_classification,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_error is NULL or writable, as documented.
        let err_slot = unsafe { error_slot(out_error) }?;
        // SAFETY: cancel is NULL or live, as documented.
        let token = unsafe { cancel_of(cancel) }?;
        // Shared, not exclusive: apiretry_upload_finish may be called from
        // another thread while this runs.
        // SAFETY: upload is NULL or live, as documented.
        let u = unsafe { arg(upload) }?;
        let mut up = u.inner.clone();
        if !u.asked {
            up = up.urls(u.urls.clone());
        }
        *lock(&u.done) = None;
        match up.run(Some(token)) {
            Ok(done) => {
                *lock(&u.done) = Some(done);
                Ok(())
            }
            Err(error) => failure(err_slot, error),
        }
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `f` of the result of the last run that succeeded.
///
/// # Safety
/// `upload` is NULL or live for the call.
unsafe fn finished<T>(
    upload: *const apiretry_upload,
    f: impl FnOnce(&Uploaded) -> Result<T, apiretry_result>,
) -> Result<T, apiretry_result> {
    // SAFETY: upload is NULL or live, as the caller guarantees.
    let u = unsafe { arg(upload) }?;
    let done = lock(&u.done);
    f(done.as_ref().ok_or(apiretry_result::Absent)?)
}

/// After a run that succeeded: the number of parts, the body bytes this run
/// sent (retries included), and the parts found done in the journal;
/// `APIRETRY_RESULT_ABSENT` before. Any out pointer may be NULL.
#[no_mangle]
pub extern "C" fn apiretry_upload_result(
    upload: *const apiretry_upload,
    out_parts: *mut u32,
    out_bytes_sent: *mut u64,
    out_resumed: *mut u32,
) -> apiretry_result {
    guard(|| {
        // SAFETY: upload is NULL or live, as documented.
        let (parts, resumed, sent) = unsafe {
            finished(upload, |d| {
                Ok((d.etags.len() as u32, d.resumed, d.bytes_sent))
            })
        }?;
        for (p, v) in [(out_parts, parts), (out_resumed, resumed)] {
            if !p.is_null() {
                // SAFETY: p is non-NULL and writable, as documented.
                *unsafe { out(p) }? = v;
            }
        }
        if !out_bytes_sent.is_null() {
            // SAFETY: non-NULL and writable, as documented.
            *unsafe { out(out_bytes_sent) }? = sent;
        }
        Ok(())
    })
}

/// Part `part`'s ETag (from 1), exactly as the server sent it, after a run
/// that succeeded, copied into `buf` as `apiretry_response_header` does.
#[no_mangle]
pub extern "C" fn apiretry_upload_etag(
    upload: *const apiretry_upload,
    part: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> apiretry_result {
    guard(|| {
        // SAFETY: upload is NULL or live, as documented.
        unsafe {
            finished(upload, |done| {
                let etag = part
                    .checked_sub(1)
                    .and_then(|i| done.etags.get(i as usize))
                    .ok_or(apiretry_result::InvalidArgument)?;
                // SAFETY: buf has len writable bytes or is NULL with len 0; out_n NULL or writable.
                copy_out(etag, buf, len, out_n)
            })
        }
    })
}

/// Releases an upload that is not running; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_upload_free(upload: *mut apiretry_upload) {
    // SAFETY: upload came from apiretry_upload_new and is freed once, as documented.
    guard_void(|| unsafe { free(upload) })
}
