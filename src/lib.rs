//! # apiretry
//!
//! Makes HTTP API calls survive the real world. Every failure (status codes,
//! JSON error payloads of several schemas, AWS XML errors, network and local
//! faults) is classified into one taxonomy (the contract: [`taxonomy`]):
//! a [`Kind`], its [`Category`], and whether to [`Retry`] it (`yes`, `once`,
//! `no`), with the server's requested wait and a hint for people.
//!
//! ```
//! use apiretry::{Kind, Profile, RawResponse, Retry};
//!
//! let c2c = Profile::builtin("c2c").unwrap();
//! let body = br#"{"code": 409, "message": "Channel Paused", "errors": [{"code": 409,
//!     "detail": "The channel is paused.", "status": 409, "title": "Channel Paused"}]}"#;
//! let err = c2c.classify(&RawResponse::new(409).body(body).expect(201)).unwrap();
//! assert_eq!(err.kind, Kind::ChannelPaused);
//! assert_eq!(err.retry, Retry::No); // never re-upload that asset
//! assert_eq!(err.code.as_deref(), Some("Channel Paused"));
//! ```

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod backoff;
mod budget;
pub mod c2c;
mod cancel;
mod classify;
mod client;
mod clock;
mod durable;
mod error;
mod events;
#[allow(unsafe_code)]
pub mod ffi;
mod flows;
mod gate;
pub mod headers;
mod kind;
mod limit;
#[cfg(feature = "mock")]
pub mod mock;
mod oauth;
mod payload;
mod policy;
mod profile;
pub mod queue;
pub mod redact;
mod retry;
mod route;
pub mod samples;
#[allow(unsafe_code)]
mod sys;
pub mod upload;

pub use backoff::{Backoff, Jitter, Schedule};
pub use budget::RetryBudget;
pub use cancel::CancelToken;
pub use classify::RawResponse;
pub use client::{
    check_congestion_control, Client, ClientBuilder, Progress, Proxy, Request, RequestClass,
    Response, StallLimits, Timeouts, TlsSettings, DEFAULT_MAX_BODY, DEFAULT_MAX_ERROR_BODY,
    DEFAULT_UPLOAD_CONGESTION, PROGRESS_EVERY,
};
pub use clock::{Clock, SystemClock, VirtualClock};
pub use error::{ApiError, Fields, MAX_MESSAGE_BYTES};
pub use events::{Event, LogObserver, Observer, Step, StopReason};
pub use gate::connectivity::{Admission, ConnectivityState, MIN_RELEASE_RATE, RELEASE_FACTOR};
pub use gate::overload::{Overload, OverloadState, TRIP_REFUSALS, TRIP_SPAN};
pub use gate::{ClientState, Secret, StateObserver};
pub use headers::Headers;
pub use kind::{Category, Kind, Retry, UnknownName};
pub use limit::{AdaptiveRate, RateLearner, RateLimit, RateObserver};
pub use oauth::{
    ClientAuth, FileStore, OAuth, Pairing, Poll, TokenStore, Tokens, UserCode, REFRESH_AT_LIFE,
    SLOW_DOWN_STEP,
};
pub use payload::MAX_FIELD_MESSAGES;
pub use policy::{Policy, HEALTH_CHECK_CAP};
pub use profile::{MessageRule, Profile, Text, UnmatchedCode, DEFAULT_MAX_BODY_BYTES};
pub use retry::{Retrier, RetryState};

/// The contract: every kind, retry class and built-in profile table, the
/// backoff and the timeouts (`docs/00-taxonomy.md`; its tables are checked
/// against the code).
#[doc = include_str!("../docs/00-taxonomy.md")]
pub mod taxonomy {}

/// The README's examples run as doctests, and so do the guides'.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/01-retrying.md")]
struct RetryingGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/02-client.md")]
struct ClientGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/03-rate-limits.md")]
struct RateLimitsGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/04-pairing.md")]
struct PairingGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/05-https-and-devices.md")]
struct HttpsGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/06-c-api.md")]
struct CApiGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/07-cpp.md")]
struct CppGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/08-mock-and-cli.md")]
struct MockGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/09-benchmarks.md")]
struct BenchmarksGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/10-uploading.md")]
struct UploadingGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/11-c2c.md")]
struct C2cGuide;

/// The parsers of bytes from outside the process that are not public, for
/// the fuzz targets in `fuzz/` (built with `--cfg fuzzing` by `cargo fuzz`).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use std::time::SystemTime;

    /// A token endpoint's answer (RFC 6749 5.1), as a refresh reads it.
    pub fn token_answer(body: &[u8]) -> bool {
        let previous = crate::Secret::new("previous");
        crate::oauth::Tokens::from_answer(body, SystemTime::now(), Some(&previous)).is_ok()
    }

    /// A device authorization answer (RFC 8628 3.2).
    pub fn device_code(body: &[u8]) -> bool {
        crate::oauth::pairing::parse_code(body).is_ok()
    }

    /// The token store file's form.
    pub fn token_store(bytes: &[u8]) -> bool {
        crate::oauth::Tokens::from_json(bytes).is_ok()
    }
}
