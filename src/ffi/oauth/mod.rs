//! OAuth for C: the client's authorization server, secret and token store
//! (`apiretry_oauth_*`), and the client's refresh on demand.

pub mod pairing;

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::client::{apiretry_client, with_gated_callback, CallbackGate, UserData};
use super::error::{apiretry_classification, error_slot, failure};
use super::{
    apiretry_result, arg, boxed, free, guard, guard_void, is_url, is_wire_text, out, read_from_c,
    str_arg, FromC,
};
use crate::error::ApiError;
use crate::ffi::cancel::{apiretry_cancel, cancel_of};
use crate::ffi::client::apiretry_client_builder;
use crate::gate::Secret;
use crate::kind::Kind;
use crate::oauth::{ClientAuth, FileStore, OAuth, TokenStore, Tokens};

/// How the client authenticates to the token and device endpoints.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum apiretry_client_auth {
    /// A public client: `client_id` in the form, no secret.
    Public = 0,
    /// `client_id` and `client_secret` in the form (as Frame.io does).
    Form = 1,
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 2.3.1).
    Basic = 2,
}

/// Reads the stored tokens into `buf` (`len` bytes): the JSON object that
/// the save callback was given, its length into `*out_n`, returning
/// `APIRETRY_RESULT_OK`. `APIRETRY_RESULT_ABSENT` (7): nothing stored yet.
/// When they are longer than `len`, set `*out_n` to their length and return
/// `APIRETRY_RESULT_BUFFER_TOO_SMALL` (6): the callback is called again with
/// a buffer that large (up to 1 MiB). Any other number: the store cannot be
/// read (the client then needs pairing).
pub type apiretry_token_load_callback = Option<
    extern "C" fn(user_data: *mut c_void, buf: *mut c_char, len: usize, out_n: *mut usize) -> u32,
>;

/// Stores the tokens: `json` (`len` bytes and a NUL) replaces what was
/// stored, as one piece (a crash must leave the old tokens or the new ones).
/// Returns 0 when stored; any other number is an `io` failure (the client
/// keeps the tokens in memory). Called whenever tokens change, on the thread
/// of the call that changed them.
pub type apiretry_token_save_callback =
    Option<extern "C" fn(user_data: *mut c_void, json: *const c_char, len: usize) -> u32>;

/// A store's C callbacks and their `user_data`.
type Callbacks = (
    extern "C" fn(*mut c_void, *mut c_char, usize, *mut usize) -> u32,
    extern "C" fn(*mut c_void, *const c_char, usize) -> u32,
    UserData,
);

/// The longest token set a load callback may hand over.
const MAX_TOKENS: usize = 1 << 20;

/// A token store of C callbacks, silent once the client is freed.
struct CStore {
    load: extern "C" fn(*mut c_void, *mut c_char, usize, *mut usize) -> u32,
    save: extern "C" fn(*mut c_void, *const c_char, usize) -> u32,
    ud: UserData,
    gate: Arc<CallbackGate>,
}

fn store_failed(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(Kind::Io).with_message(format!("token store (C callback): {why}"))
}

impl TokenStore for CStore {
    fn load(&self) -> Result<Option<Tokens>, ApiError> {
        let ud = self.ud;
        let read = read_from_c(MAX_TOKENS, |buf, len, n| (self.load)(ud.0, buf, len, n));
        match read {
            Ok(bytes) => Tokens::from_json(&bytes)
                .map(Some)
                .map_err(|e| store_failed(format!("not a token set: {e}"))),
            Err(FromC::Returned(7)) => Ok(None),
            Err(e) => Err(store_failed(e)),
        }
    }

    fn save(&self, tokens: &Tokens) -> Result<(), ApiError> {
        let mut json = tokens.to_json();
        let len = json.len();
        json.push(0);
        let mut result = 0;
        let ud = self.ud;
        self.gate
            .run(|| result = (self.save)(ud.0, json.as_ptr().cast::<c_char>(), len));
        // The tokens leave no copy behind in freed memory.
        json.iter_mut().for_each(|b| *b = 0);
        match result {
            0 => Ok(()),
            n => Err(store_failed(format!("the save callback returned {n}"))),
        }
    }
}

/// A client's OAuth: its token endpoint, identity and token store; given to
/// `apiretry_client_builder_set_oauth` (which copies it).
pub struct apiretry_oauth {
    inner: OAuth,
    callbacks: Option<Callbacks>,
}

fn oauth_mut<'a>(o: *mut apiretry_oauth) -> Result<&'a mut apiretry_oauth, apiretry_result> {
    // SAFETY: o is NULL or a live object not used elsewhere meanwhile, as documented.
    unsafe { out(o) }
}

/// A public client `client_id` of the token endpoint at `token_url` (http
/// or https). The caller owns `*out_oauth` until `apiretry_oauth_free`.
#[no_mangle]
pub extern "C" fn apiretry_oauth_new(
    token_url: *const c_char,
    client_id: *const c_char,
    out_oauth: *mut *mut apiretry_oauth,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_oauth is NULL or writable, as documented.
        let slot = unsafe { out(out_oauth) }?;
        *slot = std::ptr::null_mut();
        // SAFETY: token_url and client_id are NULL or NUL-terminated, as documented.
        let (url, id) = unsafe { (str_arg(token_url)?, str_arg(client_id)?) };
        if !is_absolute_url(url) || id.is_empty() || !is_wire_text(id, false) {
            return Err(apiretry_result::InvalidArgument);
        }
        *slot = boxed(apiretry_oauth {
            inner: OAuth::new(url, id),
            callbacks: None,
        });
        Ok(())
    })
}

pub(crate) fn is_absolute_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://")) && is_url(url)
}

/// The client secret and how it is sent: `auth` an `APIRETRY_CLIENT_AUTH_*`
/// value, `FORM` or `BASIC` with a `secret`, `PUBLIC` with `secret` NULL.
/// The library keeps a copy; it never appears in logs or errors.
#[no_mangle]
pub extern "C" fn apiretry_oauth_set_client_auth(
    oauth: *mut apiretry_oauth,
    auth: u32,
    secret: *const c_char,
) -> apiretry_result {
    guard(|| {
        let o = oauth_mut(oauth)?;
        let auth = match auth {
            0 => ClientAuth::Public,
            1 => ClientAuth::Form,
            2 => ClientAuth::Basic,
            _ => return Err(apiretry_result::InvalidArgument),
        };
        match (auth, secret.is_null()) {
            (ClientAuth::Public, true) => {}
            (ClientAuth::Public, false) | (_, true) => {
                return Err(apiretry_result::InvalidArgument)
            }
            (_, false) => {
                // SAFETY: secret is non-NULL and NUL-terminated, as documented.
                let secret = unsafe { str_arg(secret) }?;
                o.inner = o.inner.clone().client_secret(Secret::new(secret));
            }
        }
        o.inner = o.inner.clone().client_auth(auth);
        Ok(())
    })
}

/// Keeps the tokens in the file at `path` (its folder must exist): JSON,
/// mode 0600, replaced atomically (temporary file, fsync, rename, fsync of
/// the folder), so that a crash or power loss leaves the old tokens or the
/// new ones, whole. Replaces any store set before.
#[no_mangle]
pub extern "C" fn apiretry_oauth_set_file_store(
    oauth: *mut apiretry_oauth,
    path: *const c_char,
) -> apiretry_result {
    guard(|| {
        let o = oauth_mut(oauth)?;
        // SAFETY: path is NULL or NUL-terminated, as documented.
        let path = unsafe { str_arg(path) }?;
        if path.is_empty() {
            return Err(apiretry_result::InvalidArgument);
        }
        o.inner = o.inner.clone().store(FileStore::new(path));
        o.callbacks = None;
        Ok(())
    })
}

/// Keeps the tokens through `load` and `save` (flash, a secure element...).
/// `user_data` must be usable from any thread until the client is freed; no
/// call comes after `apiretry_client_free` returns. Replaces any store set
/// before.
#[no_mangle]
pub extern "C" fn apiretry_oauth_set_store_callbacks(
    oauth: *mut apiretry_oauth,
    load: apiretry_token_load_callback,
    save: apiretry_token_save_callback,
    user_data: *mut c_void,
) -> apiretry_result {
    guard(|| {
        let o = oauth_mut(oauth)?;
        let (load, save) = (load, save);
        let load = load.ok_or(apiretry_result::NullPointer)?;
        let save = save.ok_or(apiretry_result::NullPointer)?;
        o.callbacks = Some((load, save, UserData(user_data)));
        Ok(())
    })
}

/// Releases an OAuth configuration; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_oauth_free(oauth: *mut apiretry_oauth) {
    // SAFETY: oauth is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(oauth) })
}

/// Authorizes the client by (a copy of) `oauth`: at build it loads the
/// stored tokens; it refreshes them by itself (after an `unauthorized`
/// answer, and before they expire), one refresh at a time, and stores each
/// new set. Without tokens, or once a refresh is refused, calls that need
/// authorization fail fast (`unauthorized`, "pairing needed") and the state
/// callback hears `APIRETRY_CLIENT_STATE_AUTHORIZATION_REQUIRED` until
/// `apiretry_client_pair`. Replaces a token and refresh callback.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_oauth(
    builder: *mut apiretry_client_builder,
    oauth: *const apiretry_oauth,
) -> apiretry_result {
    guard(|| {
        // SAFETY: oauth is NULL or live, as documented.
        let o = unsafe { arg(oauth) }?;
        let (inner, callbacks) = (o.inner.clone(), o.callbacks);
        with_gated_callback(builder, std::ptr::null_mut(), move |b, gate, _| {
            let inner = match callbacks {
                Some((load, save, ud)) => inner.store(CStore {
                    load,
                    save,
                    ud,
                    gate,
                }),
                None => inner,
            };
            b.oauth(inner)
        })
    })
}

/// Refreshes the client's tokens now (a refresh in flight is waited for
/// instead) and stores them; thread-safe. A refused refresh puts the client
/// in "pairing needed"; a store that cannot be written is an `io` failure
/// (the new tokens are used all the same). On failure the result is
/// `APIRETRY_RESULT_API_FAILURE` and `*out_error` (NULL: not wanted)
/// receives the classification. `cancel` may be NULL.
#[no_mangle]
pub extern "C" fn apiretry_client_refresh_tokens(
    client: *const apiretry_client,
    cancel: *const apiretry_cancel,
    out_error: *mut *mut apiretry_classification,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_error is NULL or writable; client and cancel NULL or live, as documented.
        let (slot, c, cancel) =
            unsafe { (error_slot(out_error)?, arg(client)?, cancel_of(cancel)?) };
        match c.inner.refresh_tokens(cancel) {
            Ok(()) => Ok(()),
            Err(e) => failure(slot, e),
        }
    })
}

/// Whether calls that need authorization fail until the device is paired
/// (no tokens, or the refresh token was refused), into `*out_needed`.
#[no_mangle]
pub extern "C" fn apiretry_client_needs_pairing(
    client: *const apiretry_client,
    out_needed: *mut bool,
) -> apiretry_result {
    guard(|| {
        // SAFETY: client is NULL or live; out_needed NULL or writable, as documented.
        let (c, slot) = unsafe { (arg(client)?, out(out_needed)?) };
        *slot = c.inner.needs_pairing();
        Ok(())
    })
}
