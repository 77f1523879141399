//! Which certificates a client trusts, and the certificate it shows (mutual
//! TLS). Everything cryptographic is rustls's (through ureq); this module
//! only gathers certificates and checks them where they come in.

use std::fmt;
use std::sync::Arc;

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use crate::error::ApiError;

/// The built-in roots to trust, before any extra CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Roots {
    /// Mozilla's root program, bundled (the default).
    Web,
    /// The operating system's certificate store.
    System,
    /// None: only the extra CAs (a fleet pinned to a private CA).
    None,
}

/// TLS settings of a [`crate::Client`]: trusted roots, extra CA
/// certificates, and an optional client certificate.
///
/// ```
/// use apiretry::TlsSettings;
///
/// // Mozilla's roots (the default), plus a private CA for the fleet's own API.
/// let pem = b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
/// let err = TlsSettings::default().add_ca_pem(pem).unwrap_err();
/// assert!(err.message.contains("CA certificate"), "{err}");
/// ```
#[derive(Clone)]
pub struct TlsSettings {
    roots: Roots,
    system: Arc<Vec<Certificate<'static>>>,
    extra: Vec<Certificate<'static>>,
    identity: Option<ClientCert>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            roots: Roots::Web,
            system: Arc::default(),
            extra: Vec::new(),
            identity: None,
        }
    }
}

impl fmt::Debug for TlsSettings {
    /// Counts only: a key is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("roots", &self.roots)
            .field("extra_cas", &self.extra.len())
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

impl TlsSettings {
    /// Trust the operating system's certificate store instead of the
    /// bundled roots (read now; a store that cannot be read is an error).
    pub fn system_roots(mut self) -> Result<Self, ApiError> {
        let found = rustls_native_certs::load_native_certs();
        if found.certs.is_empty() {
            let why = found
                .errors
                .first()
                .map_or("no certificates found".to_owned(), ToString::to_string);
            return Err(ApiError::invalid_input(format!(
                "cannot read the system's certificate store: {why}"
            )));
        }
        let certs = found
            .certs
            .iter()
            .map(|c| Certificate::from_der(c).to_owned());
        self.system = Arc::new(certs.collect());
        self.roots = Roots::System;
        Ok(self)
    }

    /// Trust Mozilla's roots, bundled (the default), and any extra CAs.
    /// A build without the `web-roots` feature (a device build) bundles
    /// none: this then trusts the extra CAs only.
    pub fn web_roots(mut self) -> Self {
        self.roots = Roots::Web;
        self
    }

    /// Trust only the extra CA certificates added (no built-in roots).
    pub fn only_extra_cas(mut self) -> Self {
        self.roots = Roots::None;
        self
    }

    /// Also trusts the CA certificates in `pem` (one or more `CERTIFICATE`
    /// blocks); text without one is an error.
    pub fn add_ca_pem(mut self, pem: &[u8]) -> Result<Self, ApiError> {
        let before = self.extra.len();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(PemItem::Certificate(c)) => self.extra.push(c),
                Ok(_) => {}
                Err(e) => {
                    return Err(ApiError::invalid_input(format!(
                        "invalid CA certificate PEM: {e}"
                    )))
                }
            }
        }
        if self.extra.len() == before {
            return Err(ApiError::invalid_input(
                "no CA certificate in the PEM text".to_owned(),
            ));
        }
        Ok(self)
    }

    /// As [`TlsSettings::add_ca_pem`], from a file.
    pub fn add_ca_file(self, path: impl AsRef<std::path::Path>) -> Result<Self, ApiError> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|e| {
            ApiError::invalid_input(format!("cannot read CA file {}: {e}", path.display()))
        })?;
        self.add_ca_pem(&pem)
            .map_err(|e| ApiError::invalid_input(format!("{}: {}", path.display(), e.message)))
    }

    /// The client certificate (chain, leaf first) and its private key, both
    /// PEM, for servers that ask for one (mutual TLS). Checked here: a key
    /// that does not parse, or does not fit the certificate, is an error now,
    /// not at the first handshake.
    pub fn client_certificate(
        mut self,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Self, ApiError> {
        let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(chain_pem)
            .filter_map(|i| match i {
                Ok(PemItem::Certificate(c)) => Some(Ok(c)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()
            .map_err(|e| ApiError::invalid_input(format!("invalid client certificate PEM: {e}")))?;
        if chain.is_empty() {
            return Err(ApiError::invalid_input(
                "no client certificate in the PEM text".to_owned(),
            ));
        }
        let key = PrivateKey::from_pem(key_pem).map_err(|_| {
            ApiError::invalid_input(
                "no private key (PKCS#1, PKCS#8 or SEC1 PEM) for the client certificate".to_owned(),
            )
        })?;
        check_identity(&chain, key_pem)?;
        self.identity = Some(ClientCert::new_with_certs(&chain, key));
        Ok(self)
    }

    /// ureq's TLS configuration, with ring as rustls's provider.
    pub(crate) fn config(&self) -> TlsConfig {
        let mut roots: Vec<Certificate<'static>> = match self.roots {
            Roots::Web => web_roots(),
            Roots::System => self.system.to_vec(),
            Roots::None => Vec::new(),
        };
        roots.extend(self.extra.iter().cloned());
        TlsConfig::builder()
            .root_certs(RootCerts::Specific(Arc::new(roots)))
            .client_cert(self.identity.clone())
            .unversioned_rustls_crypto_provider(provider())
            .build()
    }
}

/// Mozilla's roots, when bundled.
#[cfg(feature = "web-roots")]
fn web_roots() -> Vec<Certificate<'static>> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| Certificate::from_der(c).to_owned())
        .collect()
}

/// A build without the `web-roots` feature bundles none.
#[cfg(not(feature = "web-roots"))]
fn web_roots() -> Vec<Certificate<'static>> {
    Vec::new()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Whether rustls accepts the key in `key_pem` for `chain` (ureq would
/// panic on a misfit at the first handshake).
fn check_identity(chain: &[Certificate<'static>], key_pem: &[u8]) -> Result<(), ApiError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = chain
        .iter()
        .map(|c| CertificateDer::from(c.der().to_vec()))
        .collect();
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| ApiError::invalid_input(format!("invalid client key PEM: {e}")))?;
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiError::invalid_input(format!("TLS setup: {e}")))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(certs, key)
        .map(drop)
        .map_err(|e| {
            ApiError::invalid_input(format!("the client certificate and key do not fit: {e}"))
        })
}
