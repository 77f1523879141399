//! The built-in profiles, one per source document (`docs/00-taxonomy.md`,
//! "Profiles", holds these tables; `contract.rs` checks it).

use std::sync::OnceLock;

use super::{MessageRule, Profile, UnmatchedCode};
use crate::kind::{Kind, Retry};
use crate::limit::RateLimit;

/// Names of the built-in profiles, for `Profile::builtin`.
pub const BUILTIN_NAMES: &[&str] = &["generic", "c2c", "s3", "frameio", "keyed", "envelope"];

const BUILDERS: [fn() -> Profile; 6] = [generic, c2c, s3, frameio, keyed, envelope];

impl Profile {
    /// A built-in profile by name (see [`Profile::BUILTIN_NAMES`]); built once, then shared.
    ///
    /// ```
    /// let c2c = apiretry::Profile::builtin("c2c").unwrap();
    /// assert_eq!(c2c.name(), "c2c");
    /// assert!(apiretry::Profile::builtin("nope").is_none());
    /// ```
    pub fn builtin(name: &str) -> Option<&'static Profile> {
        static CELLS: [OnceLock<Profile>; 6] = [const { OnceLock::new() }; 6];
        let i = BUILTIN_NAMES.iter().position(|n| *n == name)?;
        Some(CELLS[i].get_or_init(BUILDERS[i]))
    }

    /// Names of the built-in profiles.
    pub const BUILTIN_NAMES: &'static [&'static str] = BUILTIN_NAMES;
}

/// Adds a status table, one row per status.
fn with_status_table(p: Profile, rows: &[(u16, Kind)]) -> Profile {
    rows.iter()
        .fold(p, |p, &(status, kind)| p.with_status(status, kind))
}

/// Adds a message table of exact codes.
fn with_code_table(p: Profile, rows: &[(&'static str, Kind)]) -> Profile {
    rows.iter().fold(p, |p, &(code, kind)| {
        p.with_message(MessageRule::code(code, kind))
    })
}

/// 502/503/504 come from the service or any intermediary, whatever the API.
fn with_gateways(p: Profile) -> Profile {
    p.with_statuses(502, 504, Kind::Unavailable)
}

/// OAuth 2.0 (RFC 6749 §5.2) and device-grant (RFC 8628 §3.5) error codes,
/// as seed 001 lists them for C2C authorization.
fn with_oauth(p: Profile) -> Profile {
    with_code_table(
        p,
        &[
            ("authorization_pending", Kind::AuthorizationPending),
            ("slow_down", Kind::RateLimited),
            ("access_denied", Kind::AccessDenied),
            ("expired_token", Kind::ExpiredToken),
            ("invalid_client", Kind::InvalidClient),
            ("invalid_grant", Kind::InvalidGrant),
            ("invalid_request", Kind::InvalidRequest),
            ("unsupported_grant_type", Kind::InvalidGrant),
        ],
    )
}

/// Plain HTTP semantics plus OAuth codes: the default for unknown APIs.
fn generic() -> Profile {
    let p = with_oauth(Profile::new("generic"))
        .with_message(MessageRule::code(
            "unauthorized_client",
            Kind::InvalidClient,
        ))
        .with_message(MessageRule::code("invalid_scope", Kind::Forbidden));
    with_status_table(
        with_gateways(p),
        &[
            (400, Kind::InvalidRequest),
            (401, Kind::Unauthorized),
            (402, Kind::PaymentRequired),
            (403, Kind::Forbidden),
            (404, Kind::NotFound),
            (408, Kind::Timeout),
            (410, Kind::NotFound),
            (415, Kind::UnsupportedContentType),
            (422, Kind::InvalidRequest),
            (429, Kind::RateLimited),
            (500, Kind::ServerError),
        ],
    )
}

/// Frame.io Camera-to-Cloud (seed 001).
fn c2c() -> Profile {
    let p = Profile::new("c2c")
        .with_rate_limit(RateLimit::per_second(50))
        .with_message(MessageRule::code("Channel Paused", Kind::ChannelPaused))
        .with_message(MessageRule::code("Invalid Argument", Kind::InvalidRequest).hint(
            "An argument did not contain a valid value; check the argument named in the error detail.",
        ))
        .with_message(MessageRule::code("Invalid client version", Kind::InvalidClient).hint(
            "Send the x-client-version header exactly once, as a valid semantic version.",
        ))
        .with_message(MessageRule::code("Not Authorized", Kind::Unauthorized));
    let p = with_oauth(p)
        .with_message(MessageRule::code(
            "unsupported_content_type",
            Kind::UnsupportedContentType,
        ))
        .with_message(MessageRule::code(
            "invalid_content_type",
            Kind::UnsupportedContentType,
        ))
        .with_hint(
            Kind::ServerError,
            "Retry once; a consistent 500 may be a known bug: uploading to a device channel that \
             does not exist, or a custom chunk count that S3 does not accept.",
        )
        .with_hint(
            Kind::InvalidRequest,
            "Check field names and value formats; when refreshing authorization this means the \
             refresh token expired: restart authorization.",
        )
        .with_hint(
            Kind::RateLimited,
            "Back off exponentially; request device codes each on their own connection.",
        );
    with_status_table(
        with_gateways(p),
        &[
            (400, Kind::InvalidRequest),
            (401, Kind::Unauthorized),
            (403, Kind::Forbidden),
            (404, Kind::NotFound),
            (409, Kind::UnknownApiError),
            (422, Kind::InvalidRequest),
            (429, Kind::RateLimited),
            (500, Kind::ServerError),
        ],
    )
}

/// AWS S3 during chunk upload (seed 001's AWS table), and the AWS-documented
/// codes the seed does not name, with the class the AWS SDKs give them.
fn s3() -> Profile {
    const PRESIGN: &str = "The presigned upload URL has expired: request a new one from the API.";
    let p = Profile::new("s3")
        .with_message(MessageRule::code("SlowDown", Kind::RateLimited))
        .with_message(MessageRule::code("ServiceUnavailable", Kind::RateLimited))
        .with_message(MessageRule::code("InternalError", Kind::ServerError))
        .with_message(MessageRule::code("RequestTimeout", Kind::Timeout))
        .with_message(MessageRule::code("ExpiredToken", Kind::Forbidden).hint(PRESIGN))
        .with_message(
            MessageRule::code("AccessDenied", Kind::Forbidden)
                .and_contains("Request has expired")
                .hint(PRESIGN),
        );
    // The codes the AWS SDKs' standard retry mode treats as throttling and
    // as transient: retried like SlowDown and RequestTimeout.
    let p = S3_THROTTLING.iter().fold(p, |p, &code| {
        p.with_message(MessageRule::code(code, Kind::RateLimited))
    });
    let p = S3_TRANSIENT.iter().fold(p, |p, &code| {
        p.with_message(MessageRule::code(code, Kind::Timeout))
    });
    let p = S3_HOPELESS.iter().fold(p, |p, &(code, kind, hint)| {
        p.with_message(MessageRule::code(code, kind).retry(Retry::No).hint(hint))
    });
    let p = p
        .with_unmatched_code(UnmatchedCode::Unknown)
        .with_error_document_on_success()
        .with_status(403, Kind::Forbidden)
        .with_status(404, Kind::NotFound)
        .with_status(429, Kind::RateLimited)
        .with_status(500, Kind::ServerError);
    with_gateways(p)
}

/// AWS codes that mean "slow down" (retry `yes`, backing off).
pub(crate) const S3_THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "EC2ThrottledException",
];

/// AWS codes for a request that timed out or raced a previous one (retry `yes`).
pub(crate) const S3_TRANSIENT: &[&str] = &["RequestTimeoutException", "PriorRequestNotComplete"];

/// S3 codes that no re-send of the same request can fix: retry `no`, with
/// what a person (or the device's code) has to change.
pub(crate) const S3_HOPELESS: &[(&str, Kind, &str)] = &[
    ("EntityTooLarge", Kind::InvalidRequest,
     "The part or object is larger than S3 allows (5 GiB per part): split it into more parts."),
    ("EntityTooSmall", Kind::InvalidRequest,
     "Every part but the last must be at least 5 MiB: use larger chunks."),
    ("BadDigest", Kind::InvalidRequest,
     "The Content-MD5 sent does not match the bytes sent: recompute it from the chunk as uploaded."),
    ("InvalidDigest", Kind::InvalidRequest,
     "The Content-MD5 header is not a valid base64 MD5: recompute it."),
    ("InvalidPart", Kind::InvalidRequest,
     "A listed part was not uploaded or its ETag differs: upload it again and list the ETag S3 returned."),
    ("InvalidPartOrder", Kind::InvalidRequest,
     "List the parts in ascending part-number order when completing the upload."),
    ("NoSuchUpload", Kind::NotFound,
     "The multipart upload was completed or aborted: start a new upload."),
    ("NoSuchBucket", Kind::NotFound,
     "The bucket does not exist: check the upload URL the API returned."),
    ("InvalidAccessKeyId", Kind::Forbidden,
     "The access key in the signature is unknown: request a new presigned URL."),
    ("SignatureDoesNotMatch", Kind::Forbidden,
     "The URL or headers were changed after signing: send the presigned URL and signed headers exactly as given."),
    ("RequestTimeTooSkewed", Kind::Forbidden,
     "The device clock is wrong (more than 15 minutes off S3's): set it from NTP, then request a new URL."),
];

/// The Frame.io REST API (seed 000).
fn frameio() -> Profile {
    let p = Profile::new("frameio")
        .with_rate_limit(RateLimit::per_second(50))
        .with_route_limit("POST", "/assets/:id/children", RateLimit::per_second(5))
        .with_hint(
            Kind::Unauthorized,
            "Check the API token is valid and sent as 'Authorization: Bearer <token>'.",
        )
        .with_hint(
            Kind::PaymentRequired,
            "The Frame.io plan limits were exceeded.",
        )
        .with_hint(
            Kind::Forbidden,
            "The token or its user lacks access to this resource, or the token lacks the scope.",
        )
        .with_hint(
            Kind::ServerError,
            "Check the request URL and body; the server may also have run out of its 30 s.",
        );
    with_status_table(
        with_gateways(p),
        &[
            (401, Kind::Unauthorized),
            (402, Kind::PaymentRequired),
            (403, Kind::Forbidden),
            (404, Kind::NotFound),
            (422, Kind::InvalidRequest),
            (429, Kind::RateLimited),
            (500, Kind::ServerError),
        ],
    )
}

/// An API-key service limited to 20 requests/minute (seed 002).
fn keyed() -> Profile {
    Profile::new("keyed")
        .with_rate_limit(RateLimit::per_minute(20))
        .with_message(MessageRule::contains("quota", Kind::PaymentRequired).on_status(403).hint(
            "Purchase additional API requests or wait for the quota to reset.",
        ))
        .with_status(400, Kind::InvalidRequest)
        .with_status(401, Kind::Unauthorized)
        .with_status(403, Kind::Forbidden)
        .with_status(404, Kind::NotFound)
        .with_status(429, Kind::RateLimited)
        .with_statuses(500, 599, Kind::ServerError)
        .with_retry(Kind::Unauthorized, Retry::No)
        .with_retry(Kind::ServerError, Retry::Yes)
        .with_hint(
            Kind::InvalidRequest,
            "Check required parameters, JSON syntax, value formats and field lengths.",
        )
        .with_hint(
            Kind::Unauthorized,
            "Send 'Authorization: Bearer YOUR_KEY' with an active key; create a new key if needed.",
        )
        .with_hint(
            Kind::Forbidden,
            "Give the API key the required team permissions and check the workspace subscription.",
        )
        .with_hint(
            Kind::NotFound,
            "Check the resource id and endpoint URL, and that the resource is in your workspace.",
        )
        .with_hint(
            Kind::RateLimited,
            "Limit is 20 requests per minute: honour Retry-After, queue requests, use batch endpoints.",
        )
        .with_hint(
            Kind::ServerError,
            "Retry after a short delay; contact support if it persists.",
        )
}

/// An API with a `{data, success, message, errors}` envelope (seed 003).
fn envelope() -> Profile {
    let p = with_code_table(
        Profile::new("envelope"),
        &[
            ("insufficient_frames", Kind::InvalidRequest),
            ("missing_field", Kind::InvalidRequest),
            ("validation_error", Kind::InvalidRequest),
            ("invalid_key", Kind::Unauthorized),
            ("insufficient_credits", Kind::PaymentRequired),
            ("account_suspended", Kind::PaymentRequired),
            ("insufficient_scope", Kind::Forbidden),
            ("rate_limit_exceeded", Kind::RateLimited),
            ("internal_error", Kind::ServerError),
        ],
    );
    let p = p
        .with_status(400, Kind::InvalidRequest)
        .with_status(401, Kind::Unauthorized)
        .with_status(402, Kind::PaymentRequired)
        .with_status(403, Kind::Forbidden)
        .with_status(404, Kind::NotFound)
        .with_status(429, Kind::RateLimited)
        .with_status(500, Kind::ServerError)
        .with_retry(Kind::Unauthorized, Retry::No)
        .with_retry(Kind::ServerError, Retry::Yes)
        .with_hint(
            Kind::Unauthorized,
            "The API key is wrong, expired or not sent: check the X-API-Key header.",
        )
        .with_hint(
            Kind::PaymentRequired,
            "Top up credits or update the payment method in the Developer Portal.",
        )
        .with_hint(
            Kind::Forbidden,
            "Create an API key with the required scope in the Developer Portal.",
        )
        .with_hint(
            Kind::RateLimited,
            "Wait for retry_after seconds, then back off exponentially.",
        )
        .with_hint(
            Kind::ServerError,
            "Retry later; for persistent 500s check the Status Page.",
        )
        .with_hint(
            Kind::InvalidRequest,
            "Fix the request: see `fields` for the fields at fault and the model's frame minimum.",
        );
    with_gateways(p)
}
