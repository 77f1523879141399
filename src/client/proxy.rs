//! The HTTP proxy a client goes through: none (the default), an explicit
//! `http://` proxy (credentials allowed), or the usual environment
//! variables, opted into. Proxy credentials are secrets: never printed.

use std::fmt;

use crate::error::ApiError;
use crate::kind::{Kind, Retry};

/// An HTTP proxy for a [`crate::Client`].
///
/// ```
/// use apiretry::Proxy;
///
/// let p = Proxy::new("http://device:s3cret@proxy.example:3128").unwrap();
/// assert_eq!(format!("{p:?}"), "Proxy(http://proxy.example:3128)");
/// assert!(Proxy::new("ftp://proxy.example").is_err());
/// ```
#[derive(Clone)]
pub struct Proxy {
    inner: ureq::Proxy,
}

impl Proxy {
    /// `http://[user:password@]host[:port]`.
    pub fn new(url: &str) -> Result<Proxy, ApiError> {
        let bad = |why: &str| {
            ApiError::new(Kind::Application)
                .with_retry(Retry::No)
                .with_message(format!(
                    "invalid proxy URL {}: {why}",
                    crate::redact::secrets(&crate::redact::userinfo(url))
                ))
        };
        if !url.starts_with("http://") {
            return Err(bad("use http://host:port (an HTTP proxy)"));
        }
        let inner = ureq::Proxy::new(url).map_err(|e| bad(&e.to_string()))?;
        Ok(Proxy { inner })
    }

    /// From `HTTPS_PROXY`/`https_proxy`, `HTTP_PROXY`/`http_proxy` or
    /// `ALL_PROXY`, with `NO_PROXY` honoured; `None` when none is set.
    pub fn from_env() -> Option<Proxy> {
        ureq::Proxy::try_from_env().map(|inner| Proxy { inner })
    }

    /// `host:port` of the proxy, for messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.inner.host(), self.inner.port())
    }

    pub(crate) fn ureq(&self) -> ureq::Proxy {
        self.inner.clone()
    }
}

impl fmt::Debug for Proxy {
    /// Scheme, host and port only: never the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy(http://{})", self.address())
    }
}
