//! One row per documented case: every message and status of the taxonomy's
//! profiles and every example payload of the seeds. Each row states the whole
//! classification: kind, retry, code, message, fields and retry_after_ms
//! (an unset code/wait means none; an unset message means the kind's default).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod support;

use apiretry::samples::SEEDS;
use apiretry::Kind::{self, *};
use apiretry::Retry::{self, *};
use apiretry::{Profile, RawResponse};
use support::{aws_error, S3_HOPELESS, S3_THROTTLING};

struct Case {
    profile: &'static str,
    status: u16,
    body: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    expect: Option<u16>,
    method: Option<&'static str>,
    want: Option<(Kind, Retry)>,
    code: Option<&'static str>,
    message: Option<&'static str>,
    fields: Vec<(&'static str, &'static str)>,
    wait: Option<u64>,
}

fn case(profile: &'static str, status: u16, body: &'static str) -> Case {
    Case {
        profile,
        status,
        body,
        headers: Vec::new(),
        expect: None,
        method: None,
        want: None,
        code: None,
        message: None,
        fields: Vec::new(),
        wait: None,
    }
}

impl Case {
    fn is(mut self, kind: Kind, retry: Retry) -> Self {
        self.want = Some((kind, retry));
        self
    }
    fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
    fn msg(mut self, message: &'static str) -> Self {
        self.message = Some(message);
        self
    }
    fn field(mut self, field: &'static str, detail: &'static str) -> Self {
        self.fields.push((field, detail));
        self
    }
    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }
    fn expect(mut self, status: u16) -> Self {
        self.expect = Some(status);
        self
    }
    fn method(mut self, method: &'static str) -> Self {
        self.method = Some(method);
        self
    }
    fn wait(mut self, ms: u64) -> Self {
        self.wait = Some(ms);
        self
    }
}

/// 2015-10-21 07:28:00 GMT: the "now" that HTTP-date rows are measured from.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_445_412_480)
}

fn check(rows: Vec<Case>) {
    let mut failures = Vec::new();
    for c in &rows {
        let profile = Profile::builtin(c.profile).expect("built-in profile");
        let mut r = RawResponse::new(c.status)
            .headers(&c.headers)
            .body(c.body.as_bytes())
            .at(now());
        if let Some(e) = c.expect {
            r = r.expect(e);
        }
        if let Some(m) = c.method {
            r = r.method(m);
        }
        let label = format!(
            "{} {:?} {} {:?} {}",
            c.profile, c.method, c.status, c.headers, c.body
        );
        let got = profile.classify(&r);
        let Some((kind, retry)) = c.want else {
            if let Some(err) = got {
                failures.push(format!("{label}\n  want success, got {err:?}"));
            }
            continue;
        };
        let Some(err) = got else {
            failures.push(format!("{label}\n  want {kind}, got success"));
            continue;
        };
        let fields: Vec<(&str, &str)> = err
            .fields
            .iter()
            .flat_map(|(k, v)| v.iter().map(move |m| (k.as_str(), m.as_str())))
            .collect();
        let want = (
            kind,
            retry,
            c.code,
            c.message.unwrap_or(kind.default_message()),
            c.fields.clone(),
            c.wait,
            Some(c.status),
            Some(c.profile),
        );
        let have = (
            err.kind,
            err.retry,
            err.code.as_deref(),
            err.message.as_ref(),
            fields,
            err.retry_after_ms,
            err.status,
            err.profile.as_deref(),
        );
        if want != have {
            failures.push(format!("{label}\n  want {want:?}\n  have {have:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

const PAUSED_DETAILED: &str = r#"{"code": 409, "errors": [{"code": 409, "detail": "The channel you're uploading from is currently paused.", "status": 409, "title": "Channel Paused"}], "message": "Channel Paused"}"#;
const PAUSED_MSG: &str = "The channel you're uploading from is currently paused.";

#[test]
fn c2c_message_table() {
    check(vec![
        case("c2c", 409, r#"{"error": "Channel Paused"}"#).is(ChannelPaused, No).code("Channel Paused"),
        case("c2c", 409, PAUSED_DETAILED).is(ChannelPaused, No).code("Channel Paused").msg(PAUSED_MSG),
        case("c2c", 409, r#"{"error": "CHANNEL PAUSED"}"#).is(ChannelPaused, No).code("CHANNEL PAUSED"),
        case("c2c", 422, r#"{"code": 422, "errors": [{"code": 422, "detail": "chunk_count must be positive", "status": 422, "title": "Invalid Argument"}], "message": "Invalid Argument"}"#)
            .is(InvalidRequest, No).code("Invalid Argument").msg("chunk_count must be positive"),
        case("c2c", 400, r#"{"error": "Invalid client version"}"#).is(InvalidClient, No).code("Invalid client version"),
        case("c2c", 401, r#"{"code": 401, "errors": [{"code": 401, "detail": "Not Authorized", "status": 401, "title": "Not Authorized"}], "message": "Not Authorized"}"#)
            .is(Unauthorized, Yes).code("Not Authorized").msg("Not Authorized"),
        case("c2c", 400, r#"{"error": "slow_down"}"#).is(RateLimited, Yes).code("slow_down"),
        case("c2c", 429, r#"{"error": "slow_down"}"#).is(RateLimited, Yes).code("slow_down"),
        case("c2c", 400, r#"{"error": "slow_down", "error_description": "Polling too fast"}"#)
            .is(RateLimited, Yes).code("slow_down").msg("Polling too fast"),
        case("c2c", 400, r#"{"error": "authorization_pending"}"#).is(AuthorizationPending, Yes).code("authorization_pending"),
        case("c2c", 400, r#"{"error": "access_denied"}"#).is(AccessDenied, No).code("access_denied"),
        case("c2c", 400, r#"{"error": "expired_token"}"#).is(ExpiredToken, No).code("expired_token"),
        case("c2c", 400, r#"{"error": "invalid_client"}"#).is(InvalidClient, No).code("invalid_client"),
        case("c2c", 401, r#"{"error": "invalid_client"}"#).is(InvalidClient, No).code("invalid_client"),
        case("c2c", 400, r#"{"error": "invalid_grant"}"#).is(InvalidGrant, No).code("invalid_grant"),
        case("c2c", 400, r#"{"error": "invalid_request"}"#).is(InvalidRequest, No).code("invalid_request"),
        case("c2c", 400, r#"{"error": "unsupported_grant_type"}"#).is(InvalidGrant, No).code("unsupported_grant_type"),
        case("c2c", 415, r#"{"error": "unsupported_content_type"}"#)
            .is(UnsupportedContentType, No).code("unsupported_content_type"),
        case("c2c", 400, r#"{"error": "invalid_content_type"}"#)
            .is(UnsupportedContentType, No).code("invalid_content_type"),
        // Seed 001: an unknown message keeps the message; "retry once".
        case("c2c", 409, r#"{"message": "Asset locked"}"#).is(UnknownApiError, Once).code("Asset locked").msg("Asset locked"),
    ]);
}

#[test]
fn c2c_status_table() {
    check(vec![
        case("c2c", 400, "").is(InvalidRequest, No),
        case("c2c", 401, "").is(Unauthorized, Yes),
        case("c2c", 403, "").is(Forbidden, No),
        case("c2c", 404, "").is(NotFound, Once),
        case("c2c", 409, "").is(UnknownApiError, Once),
        case("c2c", 422, "").is(InvalidRequest, No),
        case("c2c", 429, "").is(RateLimited, Yes),
        case("c2c", 500, "").is(ServerError, Once),
        case("c2c", 502, "").is(Unavailable, Yes),
        case("c2c", 503, "").is(Unavailable, Yes),
        case("c2c", 504, "").is(Unavailable, Yes),
        case("c2c", 418, "").is(UnknownApiError, Once),
        // HTML from an intermediary falls back to the status.
        case(
            "c2c",
            502,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
        .is(Unavailable, Yes),
        case("c2c", 500, "Internal Server Error").is(ServerError, Once),
    ]);
}

const S3_EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message><Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>"#;

#[test]
fn s3_codes() {
    check(vec![
        case("s3", 503, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
            .is(RateLimited, Yes).code("SlowDown").msg("Please reduce your request rate."),
        case("s3", 503, "<Error><Code>ServiceUnavailable</Code><Message>Reduce your request rate.</Message></Error>")
            .is(RateLimited, Yes).code("ServiceUnavailable").msg("Reduce your request rate."),
        case("s3", 500, "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>")
            .is(ServerError, Once).code("InternalError").msg("We encountered an internal error. Please try again."),
        case("s3", 400, "<Error><Code>RequestTimeout</Code><Message>Your socket connection to the server was not read from or written to within the timeout period.</Message></Error>")
            .is(Timeout, Yes).code("RequestTimeout")
            .msg("Your socket connection to the server was not read from or written to within the timeout period."),
        case("s3", 400, "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>")
            .is(Forbidden, No).code("ExpiredToken").msg("The provided token has expired."),
        case("s3", 403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
            .is(Forbidden, No).code("AccessDenied").msg("Request has expired"),
        case("s3", 403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
            .is(UnknownApiError, Once).code("AccessDenied").msg("Access Denied"),
        // Seed 001's example: "every other AWS code -> unknown_api_error, retry once".
        case("s3", 404, S3_EXAMPLE).is(UnknownApiError, Once).code("NoSuchKey")
            .msg("The resource you requested does not exist"),
        case("s3", 503, "").is(Unavailable, Yes),
        case("s3", 500, "").is(ServerError, Once),
    ]);
}

/// Issue 11, items 1-4: what the AWS SDKs and S3's documentation say that
/// seed 001's short table does not.
#[test]
fn s3_codes_the_aws_sdks_document() {
    const INTERNAL: &str = "<Error><Code>InternalError</Code><Message>x</Message></Error>";
    const SLOW: &str =
        "<?xml version=\"1.0\"?>\n<Error><Code>SlowDown</Code><Message>slow</Message></Error>";
    const ODD: &str = "<Error><Code>SomethingNew</Code><Message>new</Message></Error>";
    let mut rows = vec![
        // 1. A 200 carrying an <Error> document (CompleteMultipartUpload,
        //    CopyObject, UploadPartCopy) is a failure, classified by its code.
        case("s3", 200, INTERNAL)
            .is(ServerError, Once)
            .code("InternalError")
            .msg("x"),
        case("s3", 200, INTERNAL)
            .method("POST")
            .is(ServerError, Once)
            .code("InternalError")
            .msg("x"),
        case("s3", 200, SLOW)
            .method("PUT")
            .is(RateLimited, Yes)
            .code("SlowDown")
            .msg("slow"),
        case("s3", 200, ODD)
            .method("PUT")
            .is(UnknownApiError, Once)
            .code("SomethingNew")
            .msg("new"),
        //    ... but a GET's body is the object, whatever it holds.
        case("s3", 200, INTERNAL).method("GET"),
        case("s3", 200, INTERNAL).method("HEAD"),
        case("s3", 200, "<ListBucketResult></ListBucketResult>").method("POST"),
        case("s3", 200, ""),
        //    Other profiles never read a success body.
        case("generic", 200, INTERNAL),
        // 2. 429 is rate_limited in every profile, with or without a payload.
        case("s3", 429, "").is(RateLimited, Yes),
        case("s3", 429, ODD)
            .is(RateLimited, Yes)
            .code("SomethingNew")
            .msg("new"),
        // A 503 with an unknown code is retried like a bare 503; a 403 with
        // one keeps the seed's one retry.
        case("s3", 503, ODD)
            .is(Unavailable, Yes)
            .code("SomethingNew")
            .msg("new"),
        case("s3", 403, ODD)
            .is(UnknownApiError, Once)
            .code("SomethingNew")
            .msg("new"),
        case("s3", 500, ODD)
            .is(UnknownApiError, Once)
            .code("SomethingNew")
            .msg("new"),
    ];
    for profile in ["generic", "c2c", "s3", "frameio", "keyed", "envelope"] {
        rows.push(case(profile, 429, "").is(RateLimited, Yes));
    }
    // 3. The SDKs' throttling and transient codes are retried (`yes`).
    for code in S3_THROTTLING {
        rows.push(aws(400, code).is(RateLimited, Yes));
        rows.push(aws(503, code).is(RateLimited, Yes));
    }
    for code in [
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    ] {
        rows.push(aws(400, code).is(Timeout, Yes));
    }
    // 4. Codes no re-send can fix: retry `no`.
    for (code, status, kind) in S3_HOPELESS {
        rows.push(aws(*status, code).is(*kind, No));
    }
    check(rows);
}

/// An `s3` row for an AWS error document with `code` and message "m".
fn aws(status: u16, code: &'static str) -> Case {
    // Rows hold 'static text; a test process may keep these few bodies.
    case("s3", status, aws_error(code).leak())
        .code(code)
        .msg("m")
}

#[test]
fn hopeless_s3_codes_say_what_to_do() {
    let s3 = Profile::builtin("s3").unwrap();
    for (code, status, _) in S3_HOPELESS {
        let body = aws_error(code);
        let err = s3
            .classify(&RawResponse::new(*status).body(body.as_bytes()))
            .unwrap();
        assert_ne!(
            err.hint,
            err.kind.default_hint(),
            "{code} has no hint of its own"
        );
    }
    let body = b"<Error><Code>RequestTimeTooSkewed</Code><Message>m</Message></Error>";
    let err = s3.classify(&RawResponse::new(403).body(body)).unwrap();
    assert!(err.hint.contains("device clock"), "{}", err.hint);
}

#[test]
fn frameio_status_table() {
    check(vec![
        case("frameio", 401, "").is(Unauthorized, Yes),
        case("frameio", 402, "").is(PaymentRequired, No),
        case("frameio", 403, "").is(Forbidden, No),
        case("frameio", 404, "").is(NotFound, Once),
        case("frameio", 422, "").is(InvalidRequest, No),
        case("frameio", 429, "").is(RateLimited, Yes),
        case("frameio", 500, "").is(ServerError, Once),
        case("frameio", 503, "").is(Unavailable, Yes),
        case("frameio", 400, "").is(UnknownApiError, Once),
    ]);
}

#[test]
fn keyed_status_table() {
    check(vec![
        case("keyed", 400, "").is(InvalidRequest, No),
        case("keyed", 401, "").is(Unauthorized, No),
        case("keyed", 403, "").is(Forbidden, No),
        case(
            "keyed",
            403,
            r#"{"error": "forbidden", "message": "Insufficient API request quota"}"#,
        )
        .is(PaymentRequired, No)
        .code("forbidden")
        .msg("Insufficient API request quota"),
        case("keyed", 404, "").is(NotFound, Once),
        case("keyed", 429, "")
            .header("Retry-After", "3")
            .is(RateLimited, Yes)
            .wait(3000),
        case("keyed", 429, "")
            .header("Retry-After", "Wed, 21 Oct 2015 07:28:20 GMT")
            .is(RateLimited, Yes)
            .wait(20_000),
        case("keyed", 500, "").is(ServerError, Yes),
        case("keyed", 502, "").is(ServerError, Yes),
        case("keyed", 503, "")
            .header("Retry-After", "10")
            .is(ServerError, Yes)
            .wait(10_000),
    ]);
}

#[test]
fn envelope_codes_and_flat_form() {
    const FRAMES: &str = "Insufficient frames. Model \"10\" requires 10 frames, received 5.";
    const CREDITS: &str = "Insufficient credits. Required: 1, available: 0";
    const SUSPENDED: &str =
        "Your account is suspended due to a payment issue. Please update your payment method.";
    const SCOPE: &str = "API key lacks required scope: detection:write";
    const RATE: &str = "Rate limit exceeded. Please try again later.";
    check(vec![
        case("envelope", 400, r#"{"data": null, "success": false, "message": "missing frames", "errors": [{"missing_field": ["frames is required"]}]}"#)
            .is(InvalidRequest, No).code("missing_field").msg("missing frames"),
        case("envelope", 400, r#"{"data": null, "success": false, "message": "bad", "errors": [{"validation_error": ["invalid UUID"]}, {"session_id": ["must be a UUID"]}]}"#)
            .is(InvalidRequest, No).code("validation_error").msg("bad").field("session_id", "must be a UUID"),
        case("envelope", 500, r#"{"data": null, "success": false, "message": "Server error", "errors": [{"internal_error": ["Something went wrong"]}]}"#)
            .is(ServerError, Yes).code("internal_error").msg("Server error"),
        case("envelope", 429, r#"{"data": null, "success": false, "message": "slow", "retry_after": 30, "errors": [{"rate_limit_exceeded": ["slow"]}]}"#)
            .is(RateLimited, Yes).code("rate_limit_exceeded").msg("slow").wait(30_000),
        // No message: the matched entry's message stands in.
        case("envelope", 402, r#"{"success": false, "errors": [{"insufficient_credits": ["top up"]}]}"#)
            .is(PaymentRequired, No).code("insufficient_credits").msg("top up"),
        // The old flat form classifies the same way.
        case("envelope", 400, r#"{"error": "insufficient_frames", "message": "Insufficient frames. Model \"10\" requires 10 frames, received 5."}"#)
            .is(InvalidRequest, No).code("insufficient_frames").msg(FRAMES),
        case("envelope", 401, r#"{"error": "invalid_key", "message": "Not authenticated"}"#)
            .is(Unauthorized, No).code("invalid_key").msg("Not authenticated"),
        case("envelope", 402, r#"{"error": "insufficient_credits", "message": "Insufficient credits. Required: 1, available: 0"}"#)
            .is(PaymentRequired, No).code("insufficient_credits").msg(CREDITS),
        case("envelope", 402, r#"{"error": "account_suspended", "message": "Your account is suspended due to a payment issue. Please update your payment method."}"#)
            .is(PaymentRequired, No).code("account_suspended").msg(SUSPENDED),
        case("envelope", 403, r#"{"error": "insufficient_scope", "message": "API key lacks required scope: detection:write"}"#)
            .is(Forbidden, No).code("insufficient_scope").msg(SCOPE),
        case("envelope", 429, r#"{"error": "rate_limit_exceeded", "message": "Rate limit exceeded. Please try again later."}"#)
            .is(RateLimited, Yes).code("rate_limit_exceeded").msg(RATE),
        case("envelope", 500, r#"{"error": "internal_error", "message": "oops"}"#).is(ServerError, Yes).code("internal_error").msg("oops"),
        case("envelope", 400, r#"{"error": "missing_field", "message": "frames is required"}"#)
            .is(InvalidRequest, No).code("missing_field").msg("frames is required"),
        case("envelope", 400, r#"{"error": "validation_error", "message": "invalid UUID"}"#)
            .is(InvalidRequest, No).code("validation_error").msg("invalid UUID"),
    ]);
}

/// A row for the bundled sample `name` (the seeds' own example payloads).
fn sample(name: &str) -> Case {
    let s = SEEDS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no sample {name}"));
    Case {
        headers: s.headers.to_vec(),
        ..case(s.profile, s.status, s.body)
    }
}

/// Every bundled sample, with the full classification each must get.
#[test]
fn seed_example_payloads() {
    const FRAMES: &str = "Insufficient frames. Model \"10\" requires 10 frames, received 5.";
    const SUSPENDED: &str =
        "Your account is suspended due to a payment issue. Please update your payment method.";
    let rows = vec![
        sample("c2c-invalid-client")
            .is(InvalidClient, No)
            .code("invalid_client"),
        sample("c2c-channel-paused")
            .is(ChannelPaused, No)
            .code("Channel Paused")
            .msg(PAUSED_MSG),
        sample("c2c-slow-down-400")
            .is(RateLimited, Yes)
            .code("slow_down"),
        sample("s3-no-such-key")
            .is(UnknownApiError, Once)
            .code("NoSuchKey")
            .msg("The resource you requested does not exist"),
        sample("envelope-insufficient-frames")
            .is(InvalidRequest, No)
            .code("insufficient_frames")
            .msg(FRAMES),
        sample("envelope-invalid-key")
            .is(Unauthorized, No)
            .code("invalid_key")
            .msg("Not authenticated"),
        sample("envelope-insufficient-credits")
            .is(PaymentRequired, No)
            .code("insufficient_credits")
            .msg("Insufficient credits. Required: 1, available: 0"),
        sample("envelope-account-suspended")
            .is(PaymentRequired, No)
            .code("account_suspended")
            .msg(SUSPENDED),
        sample("envelope-validation-error")
            .is(InvalidRequest, No)
            .msg("session_id is required")
            .field("session_id", "session_id is required"),
        sample("envelope-insufficient-scope")
            .is(Forbidden, No)
            .code("insufficient_scope")
            .msg("API key lacks required scope: detection:write"),
        sample("envelope-rate-limit-exceeded")
            .is(RateLimited, Yes)
            .code("rate_limit_exceeded")
            .msg("Rate limit exceeded. Please try again later."),
        sample("envelope-flat-rate-limit")
            .is(RateLimited, Yes)
            .code("rate_limit_exceeded")
            .msg("Rate limit exceeded. Please try again later."),
        sample("keyed-rate-limited").is(RateLimited, Yes).wait(3000),
    ];
    assert_eq!(rows.len(), SEEDS.len(), "one row per bundled sample");
    check(rows);
}

#[test]
fn expected_status() {
    check(vec![
        case("c2c", 201, "").expect(201),
        case("c2c", 204, ""),
        case("c2c", 200, r#"{"id": 1}"#)
            .expect(201)
            .is(UnexpectedStatus, No)
            .msg("expected status 201, got 200"),
        case("c2c", 302, "")
            .expect(200)
            .is(UnexpectedStatus, No)
            .msg("expected status 200, got 302"),
        // An error status is classified as such, whatever was expected.
        case("c2c", 429, "").expect(201).is(RateLimited, Yes),
    ]);
}

#[test]
fn server_pushback_headers() {
    check(vec![
        case("generic", 429, "")
            .header("RateLimit-Reset", "7")
            .is(RateLimited, Yes)
            .wait(7_000),
        case("generic", 429, "")
            .header("X-RateLimit-Reset", "1445412485")
            .is(RateLimited, Yes)
            .wait(5_000),
        // Retry-After wins over the reset header and over a body retry_after.
        case(
            "generic",
            429,
            r#"{"error": "slow_down", "retry_after": 9}"#,
        )
        .header("Retry-After", "2")
        .header("X-RateLimit-Reset", "60")
        .is(RateLimited, Yes)
        .code("slow_down")
        .wait(2_000),
        case(
            "generic",
            429,
            r#"{"error": "slow_down", "retry_after": 9}"#,
        )
        .is(RateLimited, Yes)
        .code("slow_down")
        .wait(9_000),
        // A reset header on a non-rate-limit error means nothing unless the quota is used up.
        case("generic", 500, "")
            .header("X-RateLimit-Reset", "60")
            .is(ServerError, Once),
        case("generic", 403, "")
            .header("X-RateLimit-Reset", "60")
            .header("X-RateLimit-Remaining", "0")
            .is(Forbidden, No)
            .wait(60_000),
        case("generic", 503, "")
            .header("Retry-After", "soon")
            .is(Unavailable, Yes),
    ]);
}

#[test]
fn generic_profile_other_schemas() {
    check(vec![
        case("generic", 429, r#"{"error": {"code": "rate_limit_exceeded", "message": "Too many", "type": "requests"}}"#)
            .is(RateLimited, Yes).code("rate_limit_exceeded").msg("Too many"),
        case("generic", 404, r#"{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "No asset 42"}"#)
            .is(NotFound, Once).code("Not Found").msg("No asset 42"),
        case("generic", 400, r#"{"error": "invalid_scope", "error_description": "scope comments.read not granted"}"#)
            .is(Forbidden, No).code("invalid_scope").msg("scope comments.read not granted"),
        case("generic", 408, "").is(Timeout, Yes),
    ]);
}

#[test]
fn request_ids_and_hints() {
    let c2c = Profile::builtin("c2c").unwrap();
    let h = [("X-Request-Id", "req-123")];
    let err = c2c.classify(&RawResponse::new(500).headers(&h)).unwrap();
    assert_eq!(err.request_id.as_deref(), Some("req-123"));
    assert!(err.hint.contains("known bug"), "{}", err.hint);

    let s3 = Profile::builtin("s3").unwrap();
    let err = s3
        .classify(&RawResponse::new(404).body(S3_EXAMPLE.as_bytes()))
        .unwrap();
    assert_eq!(err.request_id.as_deref(), Some("4442587FB7D0A2F9"));
    let body = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
    let err = s3.classify(&RawResponse::new(403).body(body)).unwrap();
    assert!(err.hint.contains("presigned"), "{}", err.hint);

    let keyed = Profile::builtin("keyed").unwrap();
    let err = keyed.classify(&RawResponse::new(401)).unwrap();
    assert!(
        err.hint.contains("Authorization: Bearer YOUR_KEY"),
        "{}",
        err.hint
    );
}

#[test]
fn channel_paused_is_never_retried_in_any_form() {
    let c2c = Profile::builtin("c2c").unwrap();
    for body in [
        PAUSED_DETAILED,
        r#"{"error": "Channel Paused"}"#,
        r#"{"message": "channel paused"}"#,
    ] {
        for status in [409, 400, 500] {
            let err = c2c
                .classify(&RawResponse::new(status).body(body.as_bytes()))
                .unwrap();
            assert_eq!(
                (err.kind, err.retry),
                (ChannelPaused, No),
                "{status} {body}"
            );
        }
    }
}
