//! An upload's settings beyond its URLs: the headers each part carries,
//! the destination its journal is bound to, checksums, S3's part rules,
//! and the part sizes to choose. Mirrors `Upload`'s builder steps.

use std::ffi::c_char;

use super::{apiretry_upload, reconfigure, with_upload};
use crate::ffi::{apiretry_result, guard, is_header_name, is_wire_text, out, str_arg};
use crate::upload::Upload;

/// Adds a header sent with every part. Presigned URLs may sign headers:
/// Frame.io's sign `content-type` and `x-amz-acl`, so its parts need
/// `Content-Type: <the asset's filetype>` and `x-amz-acl: private` (else
/// S3 answers 403 `SignatureDoesNotMatch`). A name that is no header name,
/// or a value with a control character but a tab (a line break):
/// `APIRETRY_RESULT_INVALID_ARGUMENT`, as `apiretry_request_add_header`.
#[no_mangle]
pub extern "C" fn apiretry_upload_add_header(
    upload: *mut apiretry_upload,
    name: *const c_char,
    value: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: name and value are NULL or NUL-terminated, as documented.
        let (name, value) = unsafe { (str_arg(name)?, str_arg(value)?) };
        if !is_header_name(name) || !is_wire_text(value, true) {
            return Err(apiretry_result::InvalidArgument);
        }
        reconfigure(upload, |up| up.header(name, value))
    })
}

/// Binds the journal to the multipart upload `id` names (an asset's id, an
/// S3 `uploadId`): a journal of another destination is refused (code
/// `journal_refused`), its ETags never used. Needed with a URL or part
/// callback; given URLs identify their upload themselves.
#[no_mangle]
pub extern "C" fn apiretry_upload_set_destination(
    upload: *mut apiretry_upload,
    id: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: id is NULL or NUL-terminated, as documented.
        let id = unsafe { str_arg(id) }?;
        if id.is_empty() {
            return Err(apiretry_result::InvalidArgument);
        }
        reconfigure(upload, |up| up.destination(id))
    })
}

/// Sends each part's MD5 as `Content-MD5` (off by default: each part is
/// then read twice). Whether on or not, an ETag that is a plain MD5 is
/// checked against the bytes sent, and a part stored otherwise is sent
/// again.
#[no_mangle]
pub extern "C" fn apiretry_upload_set_content_md5(
    upload: *mut apiretry_upload,
    on: bool,
) -> apiretry_result {
    guard(|| reconfigure(upload, |up| up.content_md5(on)))
}

/// Whether S3's part rules (parts but the last of 5 MiB to 5 GiB) are
/// checked before anything is sent (code `part_rules`). On by default.
#[no_mangle]
pub extern "C" fn apiretry_upload_set_part_rules(
    upload: *mut apiretry_upload,
    on: bool,
) -> apiretry_result {
    guard(|| reconfigure(upload, |up| up.part_rules(on)))
}

/// Forgets the URLs given with `apiretry_upload_add_url`, so that the same
/// upload runs again with fresh ones (after `urls_expired`: add the fresh
/// URLs, in order, and run again; the journal resumes).
#[no_mangle]
pub extern "C" fn apiretry_upload_clear_urls(upload: *mut apiretry_upload) -> apiretry_result {
    guard(|| {
        with_upload(upload, |u| {
            u.urls.clear();
            Ok(())
        })
    })
}

/// The part size for a file of `size` bytes, into `*out_part_size`: 8 MiB,
/// doubled until the file fits in S3's 10,000 parts (as s3transfer).
#[no_mangle]
pub extern "C" fn apiretry_upload_part_size_for(
    size: u64,
    out_part_size: *mut u64,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_part_size is NULL or writable, as documented.
        *unsafe { out(out_part_size) }? = Upload::part_size_for(size);
        Ok(())
    })
}

/// The part size when the API hands out `urls` URLs for a file of `size`
/// bytes, one per part (Frame.io C2C): `ceil(size / urls)`, into
/// `*out_part_size`; `urls` 0 is `APIRETRY_RESULT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn apiretry_upload_part_size_for_urls(
    size: u64,
    urls: u32,
    out_part_size: *mut u64,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_part_size is NULL or writable, as documented.
        let slot = unsafe { out(out_part_size) }?;
        if urls == 0 {
            return Err(apiretry_result::InvalidArgument);
        }
        *slot = Upload::part_size_for_urls(size, urls);
        Ok(())
    })
}
