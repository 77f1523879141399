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

/// How long an attempt may move no byte at all (sending or receiving,
/// headers or body) before it ends as `timeout`, by request class: a link
/// that went silent (Wi-Fi gone, no reset) is noticed without waiting out
/// the phase's whole [`Timeouts`]. A transfer that keeps moving is never
/// cut by it, however slow (curl's `--speed-time` with `--speed-limit 1`).
///
/// The wait for the answer's head is the exception, bounded by its phase's
/// timeout only: the kernel may still be sending megabytes of the body it
/// buffered then, at the link's pace, while no byte reaches the program
/// (5 MiB over a 2 Mbit/s link: 16 s of it).
///
/// ```
/// use std::time::Duration;
/// use apiretry::{RequestClass, StallLimits};
///
/// let stalls = StallLimits::default();
/// assert_eq!(stalls.for_class(RequestClass::ChunkUpload), Duration::from_secs(30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StallLimits {
    /// Ordinary calls (default 15 s: their whole phase timeout).
    pub default: Duration,
    /// Authorization refresh (default 2 min: seed 001 gives it time on purpose).
    pub auth_refresh: Duration,
    /// File chunk upload (default 30 s, under a phase timeout of 5 min: a
    /// dead link is noticed ten times sooner, and 30 s without a byte is no
    /// slow link).
    pub chunk_upload: Duration,
}

impl Default for StallLimits {
    fn default() -> Self {
        StallLimits {
            default: Duration::from_secs(15),
            auth_refresh: Duration::from_secs(120),
            chunk_upload: Duration::from_secs(30),
        }
    }
}

impl StallLimits {
    /// The same limit for every class.
    pub fn all(limit: Duration) -> Self {
        StallLimits {
            default: limit,
            auth_refresh: limit,
            chunk_upload: limit,
        }
    }

    /// The limit for `class`.
    pub fn for_class(&self, class: RequestClass) -> Duration {
        match class {
            RequestClass::Default => self.default,
            RequestClass::AuthRefresh => self.auth_refresh,
            RequestClass::ChunkUpload => self.chunk_upload,
        }
    }
}
