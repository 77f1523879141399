//! Pairing run by the client: the device authorization grant's requests
//! (RFC 8628) through the client's gates, clock and retry policy, by the
//! rules of [`crate::oauth`].

use std::time::{Instant, SystemTime};

use super::auth::form_request;
use super::Client;
use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::gate::Secret;
use crate::kind::{Kind, Retry};
use crate::oauth::pairing::{after, parse_code, poll_form, Next, INTERVAL_KINDS};
use crate::oauth::{OAuth, Pairing, Tokens, UserCode};

/// Pairing as one run: `oauth`'s client pairs through `client`.
pub(super) struct Run<'a> {
    pub client: &'a Client,
    pub oauth: &'a OAuth,
    pub pairing: &'a Pairing,
    pub cancel: &'a CancelToken,
}

impl Run<'_> {
    /// Pairs: the tokens, or the classified reason it ended.
    pub fn tokens(&self) -> Result<Tokens, ApiError> {
        let clock = self.client.clock();
        let end = self.pairing.deadline.map(|d| clock.now() + d);
        let mut renewals = 0;
        loop {
            let (device_code, code) = self.code(end)?;
            self.pairing.show(&code);
            match self.poll(&device_code, &code, end)? {
                Ok(tokens) => return Ok(tokens),
                Err(expired) if renewals >= self.pairing.renew => return Err(expired),
                Err(_) => renewals += 1,
            }
        }
    }

    /// The real-time deadline of a request made now.
    fn until(&self, end: Option<Instant>) -> Option<Instant> {
        let now = self.client.clock().now();
        end.map(|e| Instant::now() + e.saturating_duration_since(now))
    }

    /// Asks for a device code, on a connection of its own (seed 001).
    fn code(&self, end: Option<Instant>) -> Result<(Secret, UserCode), ApiError> {
        let req = form_request(
            self.oauth,
            &self.pairing.device_url,
            self.pairing.code_form(),
        )
        .own_connection()
        .until(self.until(end));
        let answer = self.client.send_cancellable(&req, self.cancel)?;
        parse_code(answer.body())
    }

    /// Polls for one code: the tokens, `Err(expired)` when the code expired
    /// (or the server said so), or `Err` outright for anything else.
    fn poll(
        &self,
        device_code: &Secret,
        code: &UserCode,
        end: Option<Instant>,
    ) -> Result<Result<Tokens, ApiError>, ApiError> {
        let clock = self.client.clock();
        let expires = clock.now() + code.expires_in;
        let mut interval = code.interval;
        for number in 1.. {
            let wake = clock.now() + interval;
            let stop = [Some(expires), end].into_iter().flatten().min();
            if let Some(stop) = stop.filter(|s| wake > *s) {
                if !clock.sleep(stop.saturating_duration_since(clock.now()), self.cancel) {
                    return Err(cancelled());
                }
                return match stop == expires {
                    true => Ok(Err(ApiError::new(Kind::ExpiredToken).with_message(
                        format!(
                            "the pairing code expired after {} s before the user entered it",
                            code.expires_in.as_secs()
                        ),
                    ))),
                    false => Err(ApiError::new(Kind::DeadlineExceeded)
                        .with_message("pairing did not complete before its deadline")),
                };
            }
            if !clock.sleep(interval, self.cancel) {
                return Err(cancelled());
            }
            // Answers that RFC 8628 schedules come back to this loop at
            // once (and spend no retry budget); others retry as the policy says.
            let token_url = &self.oauth.token_url;
            let mut req =
                form_request(self.oauth, token_url, poll_form(device_code)).until(self.until(end));
            for kind in INTERVAL_KINDS {
                req = req.retry(kind, Retry::No);
            }
            let error = match self.client.send_cancellable(&req, self.cancel) {
                Ok(answer) => {
                    let tokens = Tokens::from_answer(answer.body(), SystemTime::now(), None)?;
                    self.pairing.told(number, None, interval);
                    return Ok(Ok(tokens));
                }
                Err(e) => e,
            };
            let before = interval;
            let next = after(error.clone(), &mut interval);
            self.pairing.told(number, Some(&error), interval);
            log::info!(target: "apiretry::pairing", "poll {number}: {error}; interval {} s (was {} s)",
                interval.as_secs_f64(), before.as_secs_f64());
            match next {
                Next::Poll => continue,
                Next::Expired(e) => return Ok(Err(e)),
                Next::Stop(e) => return Err(e),
            }
        }
        unreachable!("polling ends by returning")
    }
}

fn cancelled() -> ApiError {
    ApiError::new(Kind::Cancelled).with_message("pairing cancelled")
}
