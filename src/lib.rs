//! # apiretry
//!
//! Makes HTTP API calls survive the real world. Every failure (status codes,
//! JSON error payloads of several schemas, AWS XML errors, network and local
//! faults) is classified into one taxonomy (`shared/reference/taxonomy.md`):
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

mod classify;
mod error;
pub mod headers;
mod kind;
mod payload;
mod profile;
pub mod redact;
pub mod samples;

pub use classify::{RawResponse, MAX_FIELD_MESSAGES};
pub use error::{ApiError, Fields, MAX_MESSAGE_BYTES};
pub use headers::Headers;
pub use kind::{Category, Kind, Retry, UnknownName};
pub use profile::{MessageRule, Profile, Text, UnmatchedCode, DEFAULT_MAX_BODY_BYTES};

/// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
