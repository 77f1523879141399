//! The mock's authorization server: the device authorization grant exactly
//! as RFC 8628 says (the interval, `slow_down` adding 5 s for a poll that
//! came too soon, expiry) and refresh tokens that may rotate (RFC 6749 6).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use percent_encoding::percent_decode_str;
use serde::Deserialize;

use super::wire::Request;
use super::Reply;

/// How the mock's authorization server behaves (also the `device_flow`
/// object of a scenario file).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceFlow {
    /// The client it knows.
    pub client_id: String,
    /// Its secret (in the form or by HTTP Basic); `None`: a public client.
    pub client_secret: Option<String>,
    /// The device authorization endpoint.
    pub device_path: String,
    /// The token endpoint.
    pub token_path: String,
    /// Where the user approves or denies: a form POST of `user_code` and
    /// `action` (`approve` or `deny`).
    pub verify_path: String,
    /// The polling interval handed out, seconds.
    pub interval: u64,
    /// A code's life, seconds.
    pub expires_in: u64,
    /// An access token's life, seconds.
    pub token_life: u64,
    /// The user approves by themselves at this poll (counted per code);
    /// `None`: only through `verify_path` or [`super::MockServer::decide`].
    pub approve_after_polls: Option<u32>,
    /// Each refresh issues a new refresh token and spends the old one.
    pub rotate_refresh: bool,
    /// Real seconds per protocol second (below 1 for demos): waits are
    /// enforced and codes expire this much faster, while the answers
    /// still state the protocol's values.
    pub time_scale: f64,
}

impl Default for DeviceFlow {
    fn default() -> Self {
        DeviceFlow {
            client_id: "camera".into(),
            client_secret: None,
            device_path: "/v2/auth/device/code".into(),
            token_path: "/v2/auth/token".into(),
            verify_path: "/v2/auth/verify".into(),
            interval: 5,
            expires_in: 600,
            token_life: 3600,
            approve_after_polls: None,
            rotate_refresh: true,
            time_scale: 1.0,
        }
    }
}

struct Code {
    user_code: String,
    issued: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    polls: u32,
    /// The user's answer.
    approved: Option<bool>,
}

/// The server's state.
pub(crate) struct AuthServer {
    pub flow: DeviceFlow,
    codes: HashMap<String, Code>,
    refresh: HashMap<String, bool>,
    issued: u64,
    /// The newest access token, for the API's token check.
    pub access: Option<String>,
    /// The server's URL, for the verification URI.
    base: String,
}

fn form(body: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(body).replace('+', " ");
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn oauth_error(status: u16, code: &str) -> Reply {
    Reply::simple(status, code)
}

impl AuthServer {
    pub fn new(flow: DeviceFlow, base: String) -> Self {
        AuthServer {
            flow,
            base,
            codes: HashMap::new(),
            refresh: HashMap::new(),
            issued: 0,
            access: None,
        }
    }

    /// Whether `path` is one of this server's.
    pub fn serves(&self, path: &str) -> bool {
        let f = &self.flow;
        [&f.device_path, &f.token_path, &f.verify_path]
            .iter()
            .any(|p| *p == path)
    }

    /// The answer for `req` when it is for one of this server's paths.
    pub fn answer(&mut self, req: &Request, now: Instant) -> Option<Reply> {
        if !req.method.eq_ignore_ascii_case("POST") {
            return None;
        }
        let f = form(&req.body);
        let path = req.path.as_str();
        if path == self.flow.verify_path {
            return Some(self.verify(&f));
        }
        if path != self.flow.device_path && path != self.flow.token_path {
            return None;
        }
        if !self.client_ok(req, &f) {
            return Some(oauth_error(401, "invalid_client"));
        }
        Some(
            match (
                path == self.flow.device_path,
                f.get("grant_type").map(String::as_str),
            ) {
                (true, _) => self.device_code(now),
                (false, Some("urn:ietf:params:oauth:grant-type:device_code")) => self.poll(&f, now),
                (false, Some("refresh_token")) => self.refresh(&f),
                (false, Some(_)) => oauth_error(400, "unsupported_grant_type"),
                (false, None) => oauth_error(400, "invalid_request"),
            },
        )
    }

    /// RFC 6749 2.3.1: the secret in the form, or HTTP Basic.
    fn client_ok(&self, req: &Request, f: &HashMap<String, String>) -> bool {
        let basic = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.strip_prefix("Basic "))
            .and_then(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| {
                let (id, secret) = pair.split_once(':')?;
                Some((decode(id), decode(secret)))
            });
        let (id, secret) = match basic {
            Some((id, secret)) => (Some(id), Some(secret)),
            None => (f.get("client_id").cloned(), f.get("client_secret").cloned()),
        };
        id.as_deref() == Some(self.flow.client_id.as_str())
            && secret.as_deref() == self.flow.client_secret.as_deref()
    }

    fn scaled(&self, seconds: u64) -> Duration {
        Duration::from_secs_f64(seconds as f64 * self.flow.time_scale.clamp(1e-4, 1.0))
    }

    fn device_code(&mut self, now: Instant) -> Reply {
        self.issued += 1;
        let n = self.issued;
        let user_code = format!("WDJB-{n:04}");
        let device_code = format!("dc-{n}-{}", fastrand::u64(..));
        self.codes.insert(
            device_code.clone(),
            Code {
                user_code: user_code.clone(),
                issued: now,
                interval: Duration::from_secs(self.flow.interval),
                last_poll: None,
                polls: 0,
                approved: None,
            },
        );
        let verify = format!("{}{}", self.base, self.flow.verify_path);
        Reply::json(
            200,
            &serde_json::json!({
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": verify,
                "verification_uri_complete": format!("{verify}?user_code={user_code}"),
                "expires_in": self.flow.expires_in,
                "interval": self.flow.interval,
            })
            .to_string(),
        )
    }

    fn poll(&mut self, f: &HashMap<String, String>, now: Instant) -> Reply {
        let life = self.scaled(self.flow.expires_in);
        let approve_at = self.flow.approve_after_polls;
        let scale = self.flow.time_scale.clamp(1e-4, 1.0);
        let Some(code) = f.get("device_code").and_then(|d| self.codes.get_mut(d)) else {
            return oauth_error(400, "invalid_grant");
        };
        if now.duration_since(code.issued) >= life {
            return oauth_error(400, "expired_token");
        }
        code.polls += 1;
        let too_soon = code
            .last_poll
            .is_some_and(|last| now.duration_since(last) < code.interval.mul_f64(scale));
        code.last_poll = Some(now);
        if approve_at.is_some_and(|n| code.polls >= n) && code.approved.is_none() {
            code.approved = Some(true);
        }
        match code.approved {
            Some(true) => {
                let device = f.get("device_code").cloned().unwrap_or_default();
                self.codes.remove(&device);
                self.tokens(None)
            }
            Some(false) => oauth_error(400, "access_denied"),
            None if too_soon => {
                code.interval += Duration::from_secs(5);
                oauth_error(400, "slow_down")
            }
            None => oauth_error(400, "authorization_pending"),
        }
    }

    fn refresh(&mut self, f: &HashMap<String, String>) -> Reply {
        let given = f.get("refresh_token").cloned().unwrap_or_default();
        match self.refresh.get(&given) {
            Some(true) => {
                let rotate = self.flow.rotate_refresh;
                if rotate {
                    self.refresh.insert(given.clone(), false);
                }
                self.tokens((!rotate).then_some(given))
            }
            _ => oauth_error(400, "invalid_grant"),
        }
    }

    /// A new token set; `keep` is the refresh token when it is not rotated.
    fn tokens(&mut self, keep: Option<String>) -> Reply {
        self.issued += 1;
        let n = self.issued;
        let access = format!("at-{n}-{}", fastrand::u64(..));
        let mut body = serde_json::json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.flow.token_life,
        });
        if keep.is_none() {
            let refresh = format!("rt-{n}-{}", fastrand::u64(..));
            self.refresh.insert(refresh.clone(), true);
            body["refresh_token"] = refresh.into();
        }
        self.access = Some(access);
        Reply::json(200, &body.to_string())
    }

    /// The user's answer for `user_code`: true when such a code is pending.
    pub fn decide(&mut self, user_code: &str, approve: bool) -> bool {
        let code = self.codes.values_mut().find(|c| c.user_code == user_code);
        code.map(|c| c.approved = Some(approve)).is_some()
    }

    fn verify(&mut self, f: &HashMap<String, String>) -> Reply {
        let code = f.get("user_code").map(String::as_str).unwrap_or("");
        let approve = f.get("action").map(String::as_str) != Some("deny");
        match self.decide(code, approve) {
            true => Reply::status(204),
            false => Reply::simple(404, "not_found"),
        }
    }
}
