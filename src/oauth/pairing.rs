//! The device authorization grant (RFC 8628): a code for the user, then
//! polling the token endpoint at the interval in force until they approve.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::Form;
use crate::error::ApiError;
use crate::gate::Secret;
use crate::kind::{Category, Kind, Retry};

/// What `slow_down` adds to the polling interval, for that poll and every
/// later one (RFC 8628 3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// The polling interval when the server names none (RFC 8628 3.2).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// A code's life when the server names none (it must; RFC 8628 3.2).
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(900);
/// No interval grows past this, however often the network fails.
const MAX_INTERVAL: Duration = Duration::from_secs(300);
/// Poll answers whose next try the interval decides, not the retry policy.
pub(crate) const INTERVAL_KINDS: [Kind; 5] = [
    Kind::AuthorizationPending,
    Kind::RateLimited,
    Kind::Timeout,
    Kind::Connection,
    Kind::Dns,
];
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What the user needs to pair the device: shown at once, and again for
/// each new code.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserCode {
    /// The code the user enters (not a secret: it is shown on the device).
    pub user_code: String,
    /// Where to enter it.
    pub verification_uri: String,
    /// A URI with the code in it (for a QR code), when the server sends one.
    pub verification_uri_complete: Option<String>,
    /// How long the code lives.
    pub expires_in: Duration,
    /// The polling interval the server asked for.
    pub interval: Duration,
}

/// One poll of the token endpoint, as it ended.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Poll<'a> {
    /// 1 for the first poll of a code.
    pub number: u32,
    /// The answer when it was not the tokens (`authorization_pending`,
    /// `slow_down` as `rate_limited`, a network failure, ...).
    pub error: Option<&'a ApiError>,
    /// The interval in force for the next poll.
    pub interval: Duration,
}

type CodeFn = dyn Fn(&UserCode) + Send + Sync;
type PollFn = dyn Fn(&Poll<'_>) + Send + Sync;

/// How to pair: the device authorization endpoint, the scope, how many new
/// codes to ask for when one expires, a deadline, and who hears of codes
/// and polls. Run by [`Client::pair`](crate::Client::pair), which can be cancelled from
/// another thread through its [`CancelToken`](crate::CancelToken).
#[derive(Clone)]
pub struct Pairing {
    pub(crate) device_url: String,
    scope: Option<String>,
    pub(crate) renew: u32,
    pub(crate) deadline: Option<Duration>,
    on_code: Option<Arc<CodeFn>>,
    on_poll: Option<Arc<PollFn>>,
}

impl fmt::Debug for Pairing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pairing")
            .field("device_url", &crate::redact::secrets(&self.device_url))
            .field("scope", &self.scope)
            .field("renew", &self.renew)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Pairing {
    /// Pairs through the device authorization endpoint at `device_url`.
    pub fn new(device_url: impl Into<String>) -> Self {
        Pairing {
            device_url: device_url.into(),
            scope: None,
            renew: 0,
            deadline: None,
            on_code: None,
            on_poll: None,
        }
    }

    /// The scope asked for.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// When a code expires before the user entered it, asks for a new one
    /// up to `times` times (default 0: pairing ends with `expired_token`).
    pub fn renew(mut self, times: u32) -> Self {
        self.renew = times;
        self
    }

    /// Gives up with `deadline_exceeded` this long after the start.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Told of each code as soon as it is issued, to show the user.
    pub fn on_code(mut self, f: impl Fn(&UserCode) + Send + Sync + 'static) -> Self {
        self.on_code = Some(Arc::new(f));
        self
    }

    /// Told of each poll's answer and the interval now in force.
    pub fn on_poll(mut self, f: impl Fn(&Poll<'_>) + Send + Sync + 'static) -> Self {
        self.on_poll = Some(Arc::new(f));
        self
    }
}

#[derive(Deserialize)]
struct CodeWire {
    device_code: String,
    user_code: String,
    verification_uri: Option<String>,
    /// Google's older name.
    verification_url: Option<String>,
    verification_uri_complete: Option<String>,
    expires_in: Option<f64>,
    interval: Option<f64>,
}

fn seconds(s: Option<f64>, default: Duration) -> Duration {
    s.filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(default, |s| Duration::from_secs_f64(s.min(86_400.0)))
}

/// How a poll's failure moves pairing on.
pub(crate) enum Next {
    Poll,
    Expired(ApiError),
    Stop(ApiError),
}

/// The RFC 8628 3.5 rules for one poll's error, and the interval they leave.
pub(crate) fn after(error: ApiError, interval: &mut Duration) -> Next {
    match error.kind {
        Kind::AuthorizationPending => Next::Poll,
        // `slow_down` (a 400 or a 429).
        Kind::RateLimited => {
            *interval = (*interval + SLOW_DOWN_STEP).min(MAX_INTERVAL);
            Next::Poll
        }
        Kind::ExpiredToken => Next::Expired(error),
        _ if error.category() == Category::Network => {
            *interval = (*interval * 2).min(MAX_INTERVAL);
            Next::Poll
        }
        _ => Next::Stop(error),
    }
}

impl Pairing {
    /// The device-code request's form (the client's identity is added by
    /// [`OAuth::form_post`](super::OAuth)).
    pub(crate) fn code_form(&self) -> Form {
        match &self.scope {
            Some(scope) => Form::default().field("scope", scope),
            None => Form::default(),
        }
    }

    pub(crate) fn show(&self, code: &UserCode) {
        if let Some(f) = &self.on_code {
            f(code);
        }
    }

    pub(crate) fn told(&self, number: u32, error: Option<&ApiError>, interval: Duration) {
        if let Some(f) = &self.on_poll {
            f(&Poll {
                number,
                error,
                interval,
            });
        }
    }
}

/// A poll's form for `device_code`.
pub(crate) fn poll_form(device_code: &Secret) -> Form {
    Form::default()
        .field("grant_type", DEVICE_CODE_GRANT)
        .field("device_code", device_code.expose())
}

/// The device authorization answer (RFC 8628 3.2): the device code, and
/// what the user is shown.
pub(crate) fn parse_code(body: &[u8]) -> Result<(Secret, UserCode), ApiError> {
    let wire: CodeWire = serde_json::from_slice(body).map_err(|_| {
        ApiError::new(Kind::Protocol)
            .with_retry(Retry::No)
            .with_message(
                "the device authorization answer lacks device_code, user_code or \
             verification_uri (RFC 8628 3.2)",
            )
    })?;
    let verification_uri = wire
        .verification_uri
        .or(wire.verification_url)
        .ok_or_else(|| {
            ApiError::new(Kind::Protocol)
                .with_retry(Retry::No)
                .with_message(
                    "the device authorization answer has no verification_uri (RFC 8628 3.2)",
                )
        })?;
    let code = UserCode {
        user_code: wire.user_code,
        verification_uri,
        verification_uri_complete: wire.verification_uri_complete,
        expires_in: seconds(wire.expires_in, DEFAULT_EXPIRES_IN),
        interval: seconds(wire.interval, DEFAULT_INTERVAL).max(Duration::from_secs(1)),
    };
    Ok((Secret::new(wire.device_code), code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_8628_interval_rules() {
        let s = Duration::from_secs;
        let err = |k| ApiError::new(k);
        // (answer, interval before, interval after, pairing goes on)
        let rows = [
            (err(Kind::AuthorizationPending), s(5), s(5), "poll"),
            (
                err(Kind::RateLimited).with_code("slow_down"),
                s(5),
                s(10),
                "poll",
            ),
            (err(Kind::RateLimited), s(298), s(300), "poll"),
            (err(Kind::Timeout), s(5), s(10), "poll"),
            (err(Kind::Connection), s(200), s(300), "poll"),
            (err(Kind::ExpiredToken), s(5), s(5), "expired"),
            (err(Kind::AccessDenied), s(5), s(5), "stop"),
            (err(Kind::InvalidClient), s(5), s(5), "stop"),
            (err(Kind::ServerError), s(5), s(5), "stop"),
        ];
        for (e, before, want, next) in rows {
            let kind = e.kind;
            let mut interval = before;
            let got = match after(e, &mut interval) {
                Next::Poll => "poll",
                Next::Expired(_) => "expired",
                Next::Stop(_) => "stop",
            };
            assert_eq!((interval, got), (want, next), "{kind:?}");
        }
    }
}
