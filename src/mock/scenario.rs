//! Scenario files: the mock server's script as JSON, for `apiretry serve`.
//!
//! ```json
//! {
//!   "rate_limit": {"per_second": 50, "burst": 5, "headers": true},
//!   "token": "access-token",
//!   "open_paths": ["/health", "/auth/*"],
//!   "outages": [{"after_ms": 5000, "for_ms": 30000}, {"after_ms": 40000, "for_ms": 30000, "shed": true}],
//!   "device_flow": {"client_id": "camera", "interval": 5, "expires_in": 600,
//!                   "approve_after_polls": 3, "rotate_refresh": true},
//!   "s3": true,
//!   "c2c": {"part_target": 16777216, "paused": [[1700000000000, 1700000600000]]},
//!   "routes": [
//!     {"method": "POST", "path": "/assets/:id/children", "replies": [
//!       {"status": 409, "dialect": "detailed", "message": "Channel Paused", "detail": "paused"},
//!       {"status": 429, "dialect": "simple", "code": "slow_down", "headers": {"Retry-After": "1"}},
//!       {"status": 503, "dialect": "aws", "code": "SlowDown", "message": "Reduce your rate"},
//!       {"status": 400, "dialect": "envelope", "code": "missing_field", "message": "frames is required"},
//!       {"status": 201, "body": "{\"id\": \"a1\"}", "delay_ms": 100},
//!       {"fault": "reset"},
//!       {"fault": "close_before_headers"},
//!       {"status": 200, "body": "0123456789", "truncate_after": 4},
//!       {"status": 200, "huge_bytes": 10000000},
//!       {"status": 200, "body": "slow", "slow_chunk": 1, "slow_interval_ms": 200},
//!       {"status": 200, "read_chunk": 8192, "read_interval_ms": 10},
//!       {"fault": "drop_mid_upload", "after_bytes": 1000},
//!       {"fault": "stall_upload", "after_bytes": 1000},
//!       {"status": 200, "huge_bytes": 100000, "stall_after": 1000}
//!     ]}
//!   ]
//! }
//! ```
//!
//! Replies are used in order and the last repeats, as with
//! [`MockServer::script`](super::MockServer::script).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{MockServer, Reply};

/// A parsed scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    rate_limit: Option<Limit>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    open_paths: Vec<String>,
    #[serde(default)]
    outages: Vec<Outage>,
    #[serde(default)]
    device_flow: Option<super::DeviceFlow>,
    /// S3 multipart uploads under `/s3/` (see [`MockServer::s3_multipart`]).
    #[serde(default)]
    s3: bool,
    /// Frame.io's C2C device side (see [`MockServer::c2c`]).
    #[serde(default)]
    c2c: Option<C2cSide>,
    #[serde(default)]
    routes: Vec<Route>,
}

/// The C2C device side: the basic parts' target size, and the windows
/// (Unix ms) in which the device was paused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct C2cSide {
    #[serde(default)]
    part_target: Option<u64>,
    #[serde(default)]
    paused: Vec<(u64, u64)>,
}

/// The server is down from `after_ms` for `for_ms`: connections refused,
/// or with `"reset": true` accepted and reset at once, or with
/// `"shed": true` every request answered 503 at once (load shedding).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Outage {
    after_ms: u64,
    for_ms: u64,
    #[serde(default)]
    reset: bool,
    #[serde(default)]
    shed: bool,
}

/// How a scenario's outage fails requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum OutageMode {
    /// Connections refused ([`MockServer::set_down`]).
    Refuse,
    /// Connections accepted and reset ([`MockServer::set_resetting`]).
    Reset,
    /// Every request answered 503 at once ([`MockServer::set_shedding`]).
    Shed,
}

impl OutageMode {
    /// Starts (`on`) or ends this kind of outage on `server`.
    pub fn set(self, server: &MockServer, on: bool) {
        match self {
            OutageMode::Refuse => server.set_down(on),
            OutageMode::Reset => server.set_resetting(on),
            OutageMode::Shed => server.set_shedding(on),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limit {
    per_second: f64,
    #[serde(default = "one")]
    burst: u32,
    /// Every answer states the limit (`RateLimit-Limit`, `-Remaining`,
    /// `-Reset`), as many APIs do.
    #[serde(default)]
    headers: bool,
    /// Seconds every refusal says in `Retry-After`, whatever the bucket
    /// holds (default: the whole seconds to the next token).
    #[serde(default)]
    retry_after: Option<u64>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Route {
    method: String,
    path: String,
    replies: Vec<ReplySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplySpec {
    status: Option<u16>,
    dialect: Option<Dialect>,
    code: Option<String>,
    message: Option<String>,
    detail: Option<String>,
    body: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    delay_ms: Option<u64>,
    fault: Option<Fault>,
    truncate_after: Option<usize>,
    stall_after: Option<usize>,
    huge_bytes: Option<usize>,
    slow_chunk: Option<usize>,
    slow_interval_ms: Option<u64>,
    read_chunk: Option<usize>,
    read_interval_ms: Option<u64>,
    after_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Dialect {
    Simple,
    Detailed,
    Envelope,
    Aws,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Fault {
    Reset,
    CloseBeforeHeaders,
    DropMidUpload,
    StallUpload,
}

impl Scenario {
    /// Parses a scenario; the error says where and what is wrong.
    pub fn from_json(text: &str) -> Result<Scenario, String> {
        let s: Scenario =
            serde_json::from_str(text).map_err(|e| format!("invalid scenario: {e}"))?;
        for (i, r) in s.routes.iter().enumerate() {
            if r.replies.is_empty() {
                return Err(format!("invalid scenario: routes[{i}] has no replies"));
            }
            for (j, reply) in r.replies.iter().enumerate() {
                reply
                    .to_reply()
                    .map_err(|e| format!("invalid scenario: routes[{i}].replies[{j}]: {e}"))?;
            }
        }
        Ok(s)
    }

    /// The outages, as (start, end) since the server started, in order.
    pub fn outages(&self) -> Vec<(Duration, Duration, OutageMode)> {
        let mut v: Vec<_> = self
            .outages
            .iter()
            .map(|o| {
                (
                    Duration::from_millis(o.after_ms),
                    Duration::from_millis(o.after_ms + o.for_ms),
                    match (o.shed, o.reset) {
                        (true, _) => OutageMode::Shed,
                        (_, true) => OutageMode::Reset,
                        _ => OutageMode::Refuse,
                    },
                )
            })
            .collect();
        v.sort();
        v
    }

    /// Scripts `server` with this scenario (outages are the caller's to play out).
    pub fn apply(&self, server: &MockServer) {
        if let Some(l) = &self.rate_limit {
            server.rate_limit(l.per_second, l.burst);
            server.rate_limit_headers(l.headers);
            server.rate_limit_retry_after(l.retry_after);
        }
        server.require_token(self.token.as_deref());
        for p in &self.open_paths {
            server.open_path(p);
        }
        if let Some(flow) = &self.device_flow {
            server.device_flow(flow.clone());
        }
        if self.s3 {
            server.s3_multipart();
        }
        if let Some(c2c) = &self.c2c {
            server.c2c();
            if let Some(bytes) = c2c.part_target {
                server.c2c_part_target(bytes);
            }
            for &(from, to) in &c2c.paused {
                server.c2c_pause(from, to);
            }
        }
        for r in &self.routes {
            let replies = r
                .replies
                .iter()
                .map(|spec| spec.to_reply().expect("checked when parsed"));
            server.script(&r.method, &r.path, replies.collect::<Vec<_>>());
        }
    }
}

impl ReplySpec {
    fn to_reply(&self) -> Result<Reply, String> {
        let text = |v: &Option<String>, field: &str| {
            v.clone()
                .ok_or_else(|| format!("this dialect needs \"{field}\""))
        };
        let mut reply = match (&self.fault, self.status) {
            (Some(Fault::Reset), _) => Reply::reset(),
            (Some(Fault::CloseBeforeHeaders), _) => Reply::close_before_headers(),
            (Some(Fault::DropMidUpload), _) => match self.after_bytes {
                Some(n) => Reply::drop_mid_upload(n),
                None => return Err("\"drop_mid_upload\" needs \"after_bytes\"".into()),
            },
            (Some(Fault::StallUpload), _) => match self.after_bytes {
                Some(n) => Reply::stall_upload(n),
                None => return Err("\"stall_upload\" needs \"after_bytes\"".into()),
            },
            (None, None) => return Err("a reply needs \"status\" or \"fault\"".into()),
            (None, Some(status)) if !(100..=599).contains(&status) => {
                return Err(format!("{status} is not an HTTP status"));
            }
            (None, Some(status)) => match &self.dialect {
                Some(Dialect::Simple) => Reply::simple(status, &text(&self.code, "code")?),
                Some(Dialect::Detailed) => {
                    let message = text(&self.message, "message")?;
                    Reply::detailed(status, &message, self.detail.as_deref().unwrap_or(&message))
                }
                Some(Dialect::Envelope) => Reply::envelope(
                    status,
                    &text(&self.code, "code")?,
                    &text(&self.message, "message")?,
                ),
                Some(Dialect::Aws) => Reply::aws(
                    status,
                    &text(&self.code, "code")?,
                    self.message.as_deref().unwrap_or(""),
                ),
                None => match self.huge_bytes {
                    Some(n) => Reply::huge(status, n),
                    None => Reply::status(status).body(self.body.as_deref().unwrap_or("")),
                },
            },
        };
        for (k, v) in &self.headers {
            reply = reply.header(k, v);
        }
        if let Some(ms) = self.delay_ms {
            reply = reply.after(Duration::from_millis(ms));
        }
        if let Some(n) = self.truncate_after {
            reply = reply.truncated(n);
        }
        if let Some(n) = self.stall_after {
            reply = reply.stalled(n);
        }
        if let Some(chunk) = self.read_chunk {
            let interval = Duration::from_millis(self.read_interval_ms.unwrap_or(100));
            reply = reply.read_slowly(chunk, interval);
        }
        if let Some(chunk) = self.slow_chunk {
            reply = reply.slow(
                chunk,
                Duration::from_millis(self.slow_interval_ms.unwrap_or(100)),
            );
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_scenarios_say_what_is_wrong() {
        let rows = [
            ("{", "invalid scenario"),
            (
                r#"{"routes": [{"method": "GET", "path": "/", "replies": []}]}"#,
                "routes[0] has no replies",
            ),
            (
                r#"{"routes": [{"method": "GET", "path": "/", "replies": [{}]}]}"#,
                "needs \"status\" or \"fault\"",
            ),
            (
                r#"{"routes": [{"method": "GET", "path": "/", "replies": [{"status": 409, "dialect": "simple"}]}]}"#,
                "needs \"code\"",
            ),
            (
                r#"{"routes": [{"method": "GET", "path": "/", "replies": [{"status": 9}]}]}"#,
                "9 is not an HTTP status",
            ),
            (r#"{"routes": [], "colour": 1}"#, "unknown field `colour`"),
            (
                r#"{"routes": [{"method": "GET", "path": "/", "replies": [{"fault": "explode"}]}]}"#,
                "unknown variant",
            ),
        ];
        for (text, want) in rows {
            let err = Scenario::from_json(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
