//! A file uploaded while it is written, for C: its parts' URLs asked with
//! their range and whether each is the final one, and the finish that may
//! come from any thread while the upload runs. Mirrors `Upload::growing`,
//! `Upload::part_source` and `Growth`.

use std::ffi::{c_char, c_void};

use super::{apiretry_upload, ask, url_from_c, with_upload};
use crate::ffi::client::UserData;
use crate::ffi::{apiretry_result, arg, guard};

/// The part whose URL is asked (`apiretry_upload_part_callback`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct apiretry_upload_part {
    /// Its number, from 1.
    pub number: u32,
    /// Whether it is the file's last part.
    pub is_final: bool,
    /// Whether the URL given before for this part was refused as expired
    /// (asked once per part).
    pub expired: bool,
    /// Its first byte's offset in the file.
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
    /// The file's size with the final part (Frame.io's real-time parts
    /// request wants it then); 0 before.
    pub file_size: u64,
}

/// Gives `part`'s URL as `apiretry_upload_url_callback` does (written
/// into `buf`, its length into `*out_n`, 0 returned; or
/// `APIRETRY_RESULT_BUFFER_TOO_SMALL` with the length needed). `part` is
/// valid during the call only. Called from the threads sending parts, for
/// different parts at once, never after `apiretry_upload_run` returns.
pub type apiretry_upload_part_callback = Option<
    extern "C" fn(
        user_data: *mut c_void,
        part: *const apiretry_upload_part,
        buf: *mut c_char,
        len: usize,
        out_n: *mut usize,
    ) -> u32,
>;

/// Asks `callback` for each part's URL, with the part's range and whether
/// it is the final one (as a real-time upload's parts request needs).
/// Replaces the URLs given or a URL callback. `user_data` must be usable
/// from any thread while the upload runs.
#[no_mangle]
pub extern "C" fn apiretry_upload_set_part_callback(
    upload: *mut apiretry_upload,
    callback: apiretry_upload_part_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let cb = callback.ok_or(apiretry_result::NullPointer)?;
        let ud = UserData(user_data);
        ask(upload, move |p| {
            let ud = ud;
            let part = apiretry_upload_part {
                number: p.number,
                is_final: p.is_final,
                expired: p.expired,
                offset: p.offset,
                size: p.size,
                file_size: p.file_size.unwrap_or(0),
            };
            url_from_c(p.number, |buf, len, n| cb(ud.0, &part, buf, len, n))
        })
    })
}

/// Whether the file is still being written (a clip while it records):
/// parts are then cut as it grows, each sent once the file holds it and a
/// byte more, until `apiretry_upload_finish` gives the final size. Needs a
/// part or URL callback. A journal of the same file taken up again
/// without this takes the file's size as final.
#[no_mangle]
pub extern "C" fn apiretry_upload_set_growing(
    upload: *mut apiretry_upload,
    growing: bool,
) -> apiretry_result {
    guard(|| {
        with_upload(upload, |u| {
            u.inner.growth = growing.then(|| u.growth.clone());
            Ok(())
        })
    })
}

/// The growing file is complete at `final_size` bytes: the rest is its
/// final part. The one function that may be called, from any thread,
/// while `apiretry_upload_run` runs (or before it); the first call counts.
#[no_mangle]
pub extern "C" fn apiretry_upload_finish(
    upload: *const apiretry_upload,
    final_size: u64,
) -> apiretry_result {
    guard(|| {
        // SAFETY: upload is NULL or live; shared, as the run holds it.
        let u = unsafe { arg(upload) }?;
        u.growth.finish(final_size);
        Ok(())
    })
}
