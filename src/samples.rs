//! The example error responses of the source documents, bundled for tests,
//! benchmarks and the `apiretry demo` command.
//!
//! Where a seed shows a payload only in part (seed 001's web page lost its
//! code blocks), the body is the documented shape filled in with the values the
//! seed names; `source` says which.

/// One example response.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Short unique name.
    pub name: &'static str,
    /// Which document it comes from.
    pub source: &'static str,
    /// The built-in profile that should classify it.
    pub profile: &'static str,
    /// The payload schema it uses.
    pub schema: &'static str,
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: &'static [(&'static str, &'static str)],
    /// Response body.
    pub body: &'static str,
}

const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The resource you requested does not exist</Message>
  <Resource>/mybucket/myfoto.jpg</Resource>
  <RequestId>4442587FB7D0A2F9</RequestId>
</Error>"#;

/// Every example, in seed order.
pub const SEEDS: &[Sample] = &[
    Sample {
        name: "c2c-invalid-client",
        source: "seed 001, simple error schema (bad client_secret)",
        profile: "c2c",
        schema: "simple",
        status: 400,
        headers: &[],
        body: r#"{"error": "invalid_client"}"#,
    },
    Sample {
        name: "c2c-channel-paused",
        source: "seed 001, detailed error schema",
        profile: "c2c",
        schema: "detailed",
        status: 409,
        headers: &[],
        body: r#"{
    "code": 409,
    "errors": [
        {
            "code": 409,
            "detail": "The channel you're uploading from is currently paused.",
            "status": 409,
            "title": "Channel Paused"
        }
    ],
    "message": "Channel Paused"
}"#,
    },
    Sample {
        name: "c2c-slow-down-400",
        source: "seed 001, exponential backoff (400 with a payload)",
        profile: "c2c",
        schema: "simple",
        status: 400,
        headers: &[],
        body: r#"{"error": "slow_down"}"#,
    },
    Sample {
        name: "s3-no-such-key",
        source: "seed 001, AWS errors",
        profile: "s3",
        schema: "aws_xml",
        status: 404,
        headers: &[],
        body: XML,
    },
    Sample {
        name: "envelope-insufficient-frames",
        source: "seed 003, Insufficient Frames (400)",
        profile: "envelope",
        schema: "envelope",
        status: 400,
        headers: &[],
        body: r#"{"data": null, "success": false, "message": "Insufficient frames. Model \"10\" requires 10 frames, received 5.", "errors": [{"insufficient_frames": ["Insufficient frames. Model \"10\" requires 10 frames, received 5."]}]}"#,
    },
    Sample {
        name: "envelope-invalid-key",
        source: "seed 003, Invalid API Key (401)",
        profile: "envelope",
        schema: "envelope",
        status: 401,
        headers: &[],
        body: r#"{"data": null, "success": false, "message": "Not authenticated", "errors": [{"invalid_key": ["Not authenticated"]}]}"#,
    },
    Sample {
        name: "envelope-insufficient-credits",
        source: "seed 003, Insufficient Credits (402)",
        profile: "envelope",
        schema: "envelope",
        status: 402,
        headers: &[],
        body: r#"{"data": null, "success": false, "message": "Insufficient credits. Required: 1, available: 0", "errors": [{"insufficient_credits": ["Insufficient credits. Required: 1, available: 0"]}]}"#,
    },
    Sample {
        name: "envelope-account-suspended",
        source: "seed 003, Account Suspended (402)",
        profile: "envelope",
        schema: "envelope",
        status: 402,
        headers: &[],
        body: r#"{"data": null, "success": false, "message": "Your account is suspended due to a payment issue. Please update your payment method.", "errors": [{"account_suspended": ["Your account is suspended due to a payment issue. Please update your payment method."]}]}"#,
    },
    Sample {
        name: "envelope-validation-error",
        source: "seed 003, Validation Error (400)",
        profile: "envelope",
        schema: "envelope",
        status: 400,
        headers: &[],
        body: r#"{"data": null, "success": false, "message": "session_id is required", "errors": [{"session_id": ["session_id is required"]}]}"#,
    },
    Sample {
        name: "envelope-insufficient-scope",
        source: "seed 003, Insufficient Scope (403)",
        profile: "envelope",
        schema: "envelope",
        status: 403,
        headers: &[],
        body: r#"{"data": null, "success": false, "message": "API key lacks required scope: detection:write", "errors": [{"insufficient_scope": ["API key lacks required scope: detection:write"]}]}"#,
    },
    Sample {
        name: "envelope-rate-limit-exceeded",
        source: "seed 003, Rate Limit Exceeded (429)",
        profile: "envelope",
        schema: "envelope",
        status: 429,
        headers: &[],
        body: r#"{"data": null, "success": false, "message": "Rate limit exceeded. Please try again later.", "errors": [{"rate_limit_exceeded": ["Rate limit exceeded. Please try again later."]}]}"#,
    },
    Sample {
        name: "envelope-flat-rate-limit",
        source: "seed 003, the previous flat format",
        profile: "envelope",
        schema: "flat",
        status: 429,
        headers: &[],
        body: r#"{"error": "rate_limit_exceeded", "message": "Rate limit exceeded. Please try again later."}"#,
    },
    Sample {
        name: "keyed-rate-limited",
        source: "seed 002, rate limit exceeded with Retry-After",
        profile: "keyed",
        schema: "none",
        status: 429,
        headers: &[("Retry-After", "3")],
        body: "",
    },
];
