//! What the mock server does with a request: answer, or fail in one of the
//! ways real networks and servers fail.

use std::time::Duration;

/// One scripted reply.
///
/// ```
/// use std::time::Duration;
/// use apiretry::mock::Reply;
///
/// let paused = Reply::simple(409, "Channel Paused");
/// let slow_503 = Reply::status(503).header("Retry-After", "1").after(Duration::from_millis(50));
/// let aws = Reply::aws(503, "SlowDown", "Please reduce your request rate.");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub(crate) delay: Duration,
    pub(crate) action: Action,
    /// How the request's body is read: `chunk` bytes at a time, `interval`
    /// apart; all at once when `None`.
    pub(crate) pace: Option<(usize, Duration)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Respond(Response),
    /// Close the connection with a TCP reset, without answering.
    Reset,
    /// Close the connection cleanly before sending any header.
    CloseBeforeHeaders,
    /// Send the head declaring the whole body, then part of it, then close.
    Truncated(Response, usize),
    /// Send the body in `chunk`-byte pieces, `interval` apart.
    Slow(Response, usize, Duration),
    /// Read this many bytes of the request's body, then reset: a connection
    /// dropped mid-upload.
    DropMidUpload(u64),
    /// Read this many bytes of the request's body, then stop reading and
    /// hold the connection, silent: a link gone quiet mid-upload.
    StallUpload(u64),
    /// Send the head declaring the whole body, then part of it, then hold
    /// the connection, silent: a link gone quiet mid-download.
    Stalled(Response, usize),
}

impl Action {
    /// The answer this action sends (some of), if it sends one.
    fn response(&mut self) -> Option<&mut Response> {
        match self {
            Action::Respond(r)
            | Action::Truncated(r, _)
            | Action::Slow(r, _, _)
            | Action::Stalled(r, _) => Some(r),
            Action::Reset
            | Action::CloseBeforeHeaders
            | Action::DropMidUpload(_)
            | Action::StallUpload(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// An empty response with this status.
    pub fn status(status: u16) -> Self {
        Reply::of(Action::Respond(Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }))
    }

    /// A JSON response.
    pub fn json(status: u16, body: &str) -> Self {
        Self::status(status)
            .header("Content-Type", "application/json")
            .body(body)
    }

    /// Seed 001's simple schema: `{"error": code}`.
    pub fn simple(status: u16, code: &str) -> Self {
        Self::json(status, &serde_json::json!({ "error": code }).to_string())
    }

    /// Seed 001's detailed schema.
    pub fn detailed(status: u16, message: &str, detail: &str) -> Self {
        let body = serde_json::json!({
            "code": status,
            "errors": [{"code": status, "detail": detail, "status": status, "title": message}],
            "message": message,
        });
        Self::json(status, &body.to_string())
    }

    /// Seed 003's envelope: `{"data": null, "success": false, "message", "errors": [{code: [message]}]}`.
    pub fn envelope(status: u16, code: &str, message: &str) -> Self {
        let body = serde_json::json!({
            "data": null, "success": false, "message": message, "errors": [{ code: [message] }],
        });
        Self::json(status, &body.to_string())
    }

    /// An AWS XML error.
    pub fn aws(status: u16, code: &str, message: &str) -> Self {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message><RequestId>MOCK{status}</RequestId></Error>"
        );
        Self::status(status)
            .header("Content-Type", "application/xml")
            .body(&body)
    }

    /// A TCP reset instead of an answer.
    pub fn reset() -> Self {
        Reply::of(Action::Reset)
    }

    /// The connection closed before any header.
    pub fn close_before_headers() -> Self {
        Reply::of(Action::CloseBeforeHeaders)
    }

    /// Reads `after_bytes` of the request's body, then resets the
    /// connection while the client is still sending (a dropped upload).
    pub fn drop_mid_upload(after_bytes: u64) -> Self {
        Reply::of(Action::DropMidUpload(after_bytes))
    }

    /// Reads `after_bytes` of the request's body, then stops reading and
    /// holds the connection open, sending nothing (a stalled upload).
    pub fn stall_upload(after_bytes: u64) -> Self {
        Reply::of(Action::StallUpload(after_bytes))
    }

    /// A `bytes`-long body of `x`s.
    pub fn huge(status: u16, bytes: usize) -> Self {
        Self::status(status).body_bytes(vec![b'x'; bytes])
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.response_mut()
            .headers
            .push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(self, body: &str) -> Self {
        self.body_bytes(body.as_bytes().to_vec())
    }

    /// Sets the body bytes.
    pub fn body_bytes(mut self, body: Vec<u8>) -> Self {
        self.response_mut().body = body;
        self
    }

    /// Waits this long before acting (a slow server, or a timeout to provoke).
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sends only the first `sent` bytes of the body, then closes.
    pub fn truncated(self, sent: usize) -> Self {
        self.answering(|r| Action::Truncated(r, sent))
    }

    /// Sends the head and the first `sent` bytes of the body, then nothing,
    /// holding the connection open (a stalled download).
    pub fn stalled(self, sent: usize) -> Self {
        self.answering(|r| Action::Stalled(r, sent))
    }

    /// Sends the body `chunk` bytes at a time, `interval` apart.
    pub fn slow(self, chunk: usize, interval: Duration) -> Self {
        self.answering(|r| Action::Slow(r, chunk.max(1), interval))
    }

    /// Reads the request's body `chunk` bytes at a time, `interval` apart,
    /// before acting: a slow but steady peer, whose acknowledgements the
    /// sender sees trickle in.
    pub fn read_slowly(mut self, chunk: usize, interval: Duration) -> Self {
        self.pace = Some((chunk.max(1), interval));
        self
    }

    fn of(action: Action) -> Self {
        Reply {
            delay: Duration::ZERO,
            action,
            pace: None,
        }
    }

    /// This reply's answer, sent as `action` says, its delay and pace kept.
    fn answering(self, action: impl FnOnce(Response) -> Action) -> Self {
        let (delay, pace) = (self.delay, self.pace);
        Reply {
            delay,
            action: action(self.into_response()),
            pace,
        }
    }

    fn into_response(mut self) -> Response {
        let blank = Response {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        };
        match self.action.response() {
            Some(r) => std::mem::replace(r, blank),
            None => blank,
        }
    }

    fn response_mut(&mut self) -> &mut Response {
        if self.action.response().is_none() {
            self.action = Action::Respond(self.clone().into_response());
        }
        self.action.response().expect("replaced above")
    }
}
