//! Cancellation for C.

use super::{apiretry_result, arg, boxed, free, guard, guard_void, out};
use crate::cancel::CancelToken;

/// Cancels the sends it is given, from any thread.
pub struct apiretry_cancel {
    pub(crate) inner: CancelToken,
}

/// The cancel token of a C call: NULL for none.
///
/// # Safety
/// `cancel` is NULL or live.
pub(crate) unsafe fn cancel_of<'a>(
    cancel: *const apiretry_cancel,
) -> Result<&'a CancelToken, apiretry_result> {
    if cancel.is_null() {
        return Ok(CancelToken::never());
    }
    // SAFETY: cancel is non-NULL and live, as the caller guarantees.
    Ok(&unsafe { arg(cancel) }?.inner)
}

/// A cancel handle (the caller owns `*out`).
#[no_mangle]
pub extern "C" fn apiretry_cancel_new(out_cancel: *mut *mut apiretry_cancel) -> apiretry_result {
    guard(|| {
        // SAFETY: out_cancel is NULL or writable, as documented.
        let slot = unsafe { out(out_cancel) }?;
        // The slot first: `*slot? = boxed(..)` would allocate before the NULL check.
        *slot = boxed(apiretry_cancel {
            inner: CancelToken::new(),
        });
        Ok(())
    })
}

/// Cancels every send given this handle, from any thread: they return
/// `APIRETRY_KIND_CANCELLED` before their next attempt, or at once from a wait.
#[no_mangle]
pub extern "C" fn apiretry_cancel_cancel(cancel: *const apiretry_cancel) -> apiretry_result {
    guard(|| {
        // SAFETY: cancel is NULL or live, as documented.
        unsafe { arg(cancel) }?.inner.cancel();
        Ok(())
    })
}

/// Releases a cancel handle once no send uses it; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_cancel_free(cancel: *mut apiretry_cancel) {
    // SAFETY: cancel is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(cancel) })
}
