//! The closed vocabulary of the taxonomy: categories, kinds and retry classes.
//!
//! The names here are the contract shared by Rust, the C API and the CLI
//! (`docs/00-taxonomy.md`); `as_str` and `FromStr` round-trip them.

use std::fmt;
use std::str::FromStr;

/// Where a failure came from: seed 001's four buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[repr(u32)]
pub enum Category {
    /// The API (or an intermediary) answered with an error.
    Api,
    /// The network stack failed before a usable answer arrived.
    Network,
    /// Local hardware read/write failed.
    Io,
    /// The application (or the caller of this library) failed or gave up.
    Application,
}

impl Category {
    /// The taxonomy name: `api`, `network`, `io`, `application`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Api => "api",
            Category::Network => "network",
            Category::Io => "io",
            Category::Application => "application",
        }
    }
}

/// Whether a failure should be retried (seed 001's retry column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[repr(u32)]
pub enum Retry {
    /// Retry until the policy's limit.
    Yes,
    /// "When in doubt, retry once": exactly one more try.
    Once,
    /// Fatal: do not retry.
    No,
}

impl Retry {
    /// The taxonomy name: `yes`, `once`, `no`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Retry::Yes => "yes",
            Retry::Once => "once",
            Retry::No => "no",
        }
    }
}

impl FromStr for Retry {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s {
            "yes" => Ok(Retry::Yes),
            "once" => Ok(Retry::Once),
            "no" => Ok(Retry::No),
            _ => Err(UnknownName {
                what: "retry class",
                expected: "yes, once, no",
            }),
        }
    }
}

/// A name that is not in the taxonomy; says which names would have been accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    what: &'static str,
    expected: &'static str,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} (expected one of: {})",
            self.what, self.expected
        )
    }
}

impl std::error::Error for UnknownName {}

/// The table of kinds: one row per kind, so that names, categories, default
/// retry classes, messages and hints cannot drift apart.
macro_rules! kinds {
    ($( $variant:ident = $name:literal, $cat:ident, $retry:ident,
        $message:literal, $hint:literal; )*) => {
        impl Kind {
            /// Every kind, in taxonomy order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// The taxonomy name, e.g. `channel_paused`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Kind::$variant => $name,)* }
            }

            /// The category this kind belongs to.
            pub const fn category(self) -> Category {
                match self { $(Kind::$variant => Category::$cat,)* }
            }

            /// The taxonomy's default retry class; profiles may override it.
            pub const fn default_retry(self) -> Retry {
                match self { $(Kind::$variant => Retry::$retry,)* }
            }

            /// The taxonomy name as a static C string (for the C API).
            pub(crate) fn c_name(self) -> &'static std::ffi::CStr {
                let bytes: &'static [u8] = match self { $(Kind::$variant => concat!($name, "\0").as_bytes(),)* };
                std::ffi::CStr::from_bytes_with_nul(bytes).expect("names have one NUL, at the end")
            }

            /// The message used when the failure carried none of its own.
            pub const fn default_message(self) -> &'static str {
                match self { $(Kind::$variant => $message,)* }
            }

            /// One sentence telling a person what to do; profiles may override it.
            pub const fn default_hint(self) -> &'static str {
                match self { $(Kind::$variant => $hint,)* }
            }
        }

        impl FromStr for Kind {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($name => Ok(Kind::$variant),)*
                    _ => Err(UnknownName {
                        what: "kind",
                        expected: concat!($($name, " "),*),
                    }),
                }
            }
        }
    };
}

/// What went wrong, as one name from the taxonomy's closed set.
///
/// Written out (not generated) so that cbindgen exports it to C as
/// `apiretry_kind` / `APIRETRY_KIND_*`; the table below must name every
/// variant, or it does not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[repr(u32)]
pub enum Kind {
    /// Token missing, expired or invalid; retry only after a successful refresh.
    Unauthorized,
    /// Authenticated but lacking access or scope.
    Forbidden,
    /// Resource moved or deleted (may come from an intermediary).
    NotFound,
    /// Malformed request or invalid parameters.
    InvalidRequest,
    /// Client id/secret or client version not recognized.
    InvalidClient,
    /// The authorization grant is invalid; restart authorization.
    InvalidGrant,
    /// Content-Type not accepted.
    UnsupportedContentType,
    /// Plan, quota or credits exhausted, or account suspended.
    PaymentRequired,
    /// Too many requests: back off exponentially.
    RateLimited,
    /// C2C uploads are paused: never re-upload that asset.
    ChannelPaused,
    /// Device pairing: the user has not entered the code yet.
    AuthorizationPending,
    /// Device pairing declined by the user.
    AccessDenied,
    /// Device code expired: start pairing again.
    ExpiredToken,
    /// Internal server error.
    ServerError,
    /// 502/503/504 from the service or an intermediary.
    Unavailable,
    /// A success status other than the expected one.
    UnexpectedStatus,
    /// An error status or payload that no table names.
    UnknownApiError,
    /// Connect, read or write timed out.
    Timeout,
    /// Refused, reset, unreachable or closed early.
    Connection,
    /// Name resolution failed.
    Dns,
    /// TLS handshake or certificate failure.
    Tls,
    /// Malformed HTTP from the peer.
    Protocol,
    /// The response body exceeded the configured cap.
    BodyTooLarge,
    /// Local read/write failure.
    Io,
    /// The caller cancelled.
    Cancelled,
    /// The overall deadline for the call passed.
    DeadlineExceeded,
    /// Any other local failure.
    Application,
    /// Not sent: the service was refusing calls (overload) and the request
    /// asked not to wait.
    HeldBack,
}

kinds! {
    Unauthorized = "unauthorized", Api, Yes,
        "not authorized: the token is missing, expired or invalid",
        "Refresh the access token and retry; if the refresh fails, ask the user to re-authorize.";
    Forbidden = "forbidden", Api, No,
        "forbidden: no access to this resource",
        "Check that the token's user and scopes grant access to this resource.";
    NotFound = "not_found", Api, Once,
        "not found: the resource was moved or deleted",
        "Check the resource id and URL; the resource may have been moved or deleted.";
    InvalidRequest = "invalid_request", Api, No,
        "invalid request: malformed request or invalid parameters",
        "Fix the request: check that required fields are present and values have the expected format.";
    InvalidClient = "invalid_client", Api, No,
        "invalid client: client id, secret or version not recognized",
        "Check the client id, client secret and x-client-version header against what the service has on file.";
    InvalidGrant = "invalid_grant", Api, No,
        "invalid grant: the authorization grant is invalid",
        "Restart the authorization process; the grant or refresh token is no longer valid.";
    UnsupportedContentType = "unsupported_content_type", Api, No,
        "unsupported content type",
        "Send a Content-Type the endpoint accepts (e.g. application/json or application/x-www-form-urlencoded).";
    PaymentRequired = "payment_required", Api, No,
        "payment required: plan, quota or credits exhausted",
        "Check the account's plan, quota and payment status; top up or upgrade before retrying.";
    RateLimited = "rate_limited", Api, Yes,
        "rate limited: too many requests",
        "Slow down: back off exponentially and honour the server's Retry-After.";
    ChannelPaused = "channel_paused", Api, No,
        "channel paused: uploads from this device are paused",
        "Do not upload this asset again; uploads resume for new assets when the channel is unpaused.";
    AuthorizationPending = "authorization_pending", Api, Yes,
        "authorization pending: the user has not entered the pairing code yet",
        "Poll again after the interval received with the device code.";
    AccessDenied = "access_denied", Api, No,
        "access denied: the user declined device pairing",
        "Tell the user pairing was declined; start pairing again only if they ask.";
    ExpiredToken = "expired_token", Api, No,
        "expired token: the device code has expired",
        "Request a new device code and start pairing again.";
    ServerError = "server_error", Api, Once,
        "server error: something went wrong on the server",
        "Retry once; if it persists, report it to the API provider.";
    Unavailable = "unavailable", Api, Yes,
        "service unavailable",
        "The service or a gateway is temporarily unavailable; retry with backoff.";
    UnexpectedStatus = "unexpected_status", Api, No,
        "unexpected status",
        "The API answered with a success status other than the expected one; report it to the API provider.";
    UnknownApiError = "unknown_api_error", Api, Once,
        "unknown API error",
        "Retry once; if it persists, report the status and message to the API provider.";
    Timeout = "timeout", Network, Yes,
        "timed out",
        "The network or server is slow; retry with backoff.";
    Connection = "connection", Network, Yes,
        "connection failed",
        "Check the network connection; calls resume when the service is reachable again.";
    Dns = "dns", Network, Yes,
        "name resolution failed",
        "Check the network connection and DNS settings.";
    Tls = "tls", Network, Once,
        "TLS handshake or certificate failure",
        "Check the device clock and trusted certificates.";
    Protocol = "protocol", Network, Once,
        "malformed HTTP response",
        "A proxy or server sent malformed HTTP; retry once, then check the network path.";
    BodyTooLarge = "body_too_large", Network, No,
        "response body too large",
        "Raise the body size limit if this response is expected to be large.";
    Io = "io", Io, Once,
        "local I/O failure",
        "Check local storage: the file may be missing, unreadable or the disk full.";
    Cancelled = "cancelled", Application, No,
        "cancelled",
        "The call was cancelled by the application.";
    DeadlineExceeded = "deadline_exceeded", Application, No,
        "deadline exceeded",
        "The call's overall deadline passed; raise the deadline or try later.";
    Application = "application", Application, Once,
        "application error",
        "A local error occurred (bad argument or invalid input); check the message.";
    HeldBack = "held_back", Application, No,
        "held back: not sent while the service refuses calls",
        "The service is shedding load; this request asked not to wait, so it was not sent. Send it later, or let it wait (the default).";
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
        }
        for retry in [Retry::Yes, Retry::Once, Retry::No] {
            assert_eq!(retry.as_str().parse::<Retry>(), Ok(retry));
        }
        assert_eq!(Kind::ALL.len(), 28);
    }

    #[test]
    fn unknown_name_lists_the_choices() {
        let err = "paused".parse::<Kind>().unwrap_err().to_string();
        assert!(err.contains("unknown kind"), "{err}");
        assert!(err.contains("channel_paused"), "{err}");
    }
}
