//! Per-class request timeouts (seed 001: "Many networking libraries are
//! pre-configured with either an infinite or very long timeout").

use std::time::Duration;

use super::request::RequestClass;

/// How long one attempt may take, by request class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Ordinary calls (default 15 s).
    pub default: Duration,
    /// Authorization refresh (default 2 min).
    pub auth_refresh: Duration,
    /// File chunk upload (default 5 min).
    pub chunk_upload: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            default: Duration::from_secs(15),
            auth_refresh: Duration::from_secs(120),
            chunk_upload: Duration::from_secs(300),
        }
    }
}

impl Timeouts {
    /// The timeout for `class`.
    pub fn for_class(&self, class: RequestClass) -> Duration {
        match class {
            RequestClass::Default => self.default,
            RequestClass::AuthRefresh => self.auth_refresh,
            RequestClass::ChunkUpload => self.chunk_upload,
        }
    }
}
