//! TLS and proxy settings for C: mirrors `client::tls` and `client::proxy`.

use std::ffi::c_char;

use super::{builder_mut, with_builder};
use crate::client::{ClientBuilder, Proxy, TlsSettings};
use crate::ffi::{apiretry_result, bytes_arg, guard, str_arg};

/// Which built-in roots a client trusts, before any extra CA
/// (`apiretry_client_builder_set_roots`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum apiretry_roots {
    /// Mozilla's roots, bundled in the library (the default).
    Web = 0,
    /// The operating system's certificate store, read when set.
    System = 1,
    /// None: only the CAs added with `apiretry_client_builder_add_ca_*`.
    None = 2,
}

/// Applies `f` to the builder's TLS settings; a setting that fails leaves
/// them as they were.
fn with_tls(
    builder: *mut super::apiretry_client_builder,
    f: impl FnOnce(TlsSettings) -> Result<TlsSettings, crate::error::ApiError>,
) -> Result<(), apiretry_result> {
    let b = builder_mut(builder)?;
    let tls = f(b.tls.clone()).map_err(|e| {
        log::warn!("TLS setting refused: {e}");
        apiretry_result::InvalidArgument
    })?;
    b.tls = tls;
    Ok(())
}

/// The built-in roots to trust: an `APIRETRY_ROOTS_*` value (as an integer,
/// so any value is safe). `APIRETRY_ROOTS_SYSTEM` reads the system's store
/// now; `APIRETRY_RESULT_INVALID_ARGUMENT` when it cannot be read.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_roots(
    builder: *mut super::apiretry_client_builder,
    roots: u32,
) -> apiretry_result {
    guard(|| match roots {
        0 => with_tls(builder, |t| Ok(t.web_roots())),
        1 => with_tls(builder, TlsSettings::system_roots),
        2 => with_tls(builder, |t| Ok(t.only_extra_cas())),
        _ => Err(apiretry_result::InvalidArgument),
    })
}

/// Also trusts the CA certificates in `pem` (`len` bytes, one or more PEM
/// `CERTIFICATE` blocks). `APIRETRY_RESULT_INVALID_ARGUMENT` when there is none.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_add_ca_pem(
    builder: *mut super::apiretry_client_builder,
    pem: *const u8,
    len: usize,
) -> apiretry_result {
    guard(|| {
        // SAFETY: pem is NULL or `len` readable bytes, as documented.
        let pem = unsafe { bytes_arg(pem, len) }?;
        with_tls(builder, |t| t.add_ca_pem(pem))
    })
}

/// As `apiretry_client_builder_add_ca_pem`, from the file at `path`.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_add_ca_file(
    builder: *mut super::apiretry_client_builder,
    path: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: path is NULL or NUL-terminated, as documented.
        let path = unsafe { str_arg(path) }?;
        with_tls(builder, |t| t.add_ca_file(path))
    })
}

/// The client certificate chain (PEM, leaf first) and its private key (PEM)
/// for mutual TLS. Checked now: a key that does not fit is
/// `APIRETRY_RESULT_INVALID_ARGUMENT`. The key is copied and never printed.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_client_certificate(
    builder: *mut super::apiretry_client_builder,
    cert_pem: *const u8,
    cert_len: usize,
    key_pem: *const u8,
    key_len: usize,
) -> apiretry_result {
    guard(|| {
        // SAFETY: both are NULL or readable for their lengths, as documented.
        let (cert, key) = unsafe { (bytes_arg(cert_pem, cert_len)?, bytes_arg(key_pem, key_len)?) };
        with_tls(builder, |t| t.client_certificate(cert, key))
    })
}

/// Sends every request through the HTTP proxy at `url`
/// (`http://[user:password@]host:port`; the credentials are never printed).
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_proxy(
    builder: *mut super::apiretry_client_builder,
    url: *const c_char,
) -> apiretry_result {
    guard(|| {
        // SAFETY: url is NULL or NUL-terminated, as documented.
        let url = unsafe { str_arg(url) }?;
        let proxy = Proxy::new(url).map_err(|_| apiretry_result::InvalidArgument)?;
        with_builder(builder, |b| b.proxy(proxy))
    })
}

/// Uses the proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`,
/// `ALL_PROXY`, with `NO_PROXY`); `APIRETRY_RESULT_ABSENT` when none is set.
#[no_mangle]
pub extern "C" fn apiretry_client_builder_set_proxy_from_env(
    builder: *mut super::apiretry_client_builder,
) -> apiretry_result {
    guard(|| {
        builder_mut(builder)?;
        let proxy = Proxy::from_env().ok_or(apiretry_result::Absent)?;
        with_builder(builder, |b: ClientBuilder| b.proxy(proxy))
    })
}
