//! The mock server: listener, routes, server-side rate limit, request log.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::c2c::C2c;
use super::oauth::{AuthServer, DeviceFlow};
use super::reply::{Action, Reply};
use super::s3::{S3, S3_PREFIX};
use super::wire::Request;
use crate::route;

mod bucket;
mod c2c_side;
mod connection;
mod recorded;

use bucket::Bucket;
use connection::accept_loop;
pub use recorded::Recorded;

/// How often the acceptor looks at its stop and down flags.
const POLL: Duration = Duration::from_millis(2);

struct Route {
    method: String,
    pattern: String,
    replies: VecDeque<Reply>,
}

#[derive(Default)]
struct State {
    routes: Vec<Route>,
    log: Vec<Recorded>,
    limit: Option<Bucket>,
    /// Limits of one route each (method, pattern), before the server's.
    route_limits: Vec<(String, String, Bucket)>,
    token: Option<String>,
    open: Vec<String>,
    auth: Option<AuthServer>,
    s3: Option<S3>,
    c2c: Option<C2c>,
    /// How long a connection may wait for its next request (30 s unset).
    idle: Option<Duration>,
}

struct Shared {
    state: Mutex<State>,
    connections: std::sync::atomic::AtomicUsize,
    stop: AtomicBool,
    down: AtomicBool,
    /// Every connection is reset at once (a host that is up but whose
    /// service is not), and counted.
    resetting: AtomicBool,
    /// Every request is answered 503 at once (load shedding).
    shedding: AtomicBool,
    resets: std::sync::atomic::AtomicUsize,
    started: Instant,
    /// Set for an HTTPS server.
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The scripted reply for `req` (the server-side rate limit first),
    /// stating the limit in `RateLimit-*` headers when it is set to.
    fn reply_for(&self, req: &Request) -> Reply {
        if self.shedding.load(Ordering::SeqCst) {
            return Reply::simple(503, "service_unavailable");
        }
        let mut st = self.state();
        let now = Instant::now();
        let path = route::path_of(&req.path);
        let own = st
            .route_limits
            .iter_mut()
            .find(|(m, p, _)| m.eq_ignore_ascii_case(&req.method) && route::matches(p, path));
        let (mut refusal, mut stated) = own.map_or((None, None), |(_, _, b)| b.take_or_refuse(now));
        if refusal.is_none() {
            if let Some(bucket) = &mut st.limit {
                (refusal, stated) = bucket.take_or_refuse(now);
            }
        }
        drop(st);
        let reply = refusal.unwrap_or_else(|| self.scripted(req));
        match (stated, &reply.action) {
            (Some(h), Action::Respond(_) | Action::Truncated(..) | Action::Slow(..)) => {
                h.into_iter().fold(reply, |r, (k, v)| r.header(k, &v))
            }
            _ => reply,
        }
    }

    /// Whether `path`'s answer depends on the request's body, read first.
    fn reads_body_first(&self, path: &str) -> bool {
        let st = self.state();
        st.auth.as_ref().is_some_and(|a| a.serves(path))
            || (st.s3.is_some() && path.starts_with(S3_PREFIX))
            || (st.c2c.is_some() && C2c::serves(path))
    }

    /// The route's next reply, after the token check.
    fn scripted(&self, req: &Request) -> Reply {
        let mut st = self.state();
        if let Some(reply) = st.s3.as_mut().and_then(|s| s.answer(req)) {
            return reply;
        }
        if let Some(reply) = st.c2c.as_mut().and_then(|c| c.answer(req)) {
            return reply;
        }
        if let Some(reply) = st.auth.as_mut().and_then(|a| a.answer(req, Instant::now())) {
            // The API takes the newest access token issued.
            let issued = st.auth.as_ref().and_then(|a| a.access.clone());
            if st.token.is_some() && issued.is_some() {
                st.token = issued;
            }
            return reply;
        }
        let open = st.open.iter().any(|p| route::matches(p, &req.path));
        if let Some(token) = st.token.as_ref().filter(|_| !open) {
            let sent = req
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"));
            if sent.map(|(_, v)| v.strip_prefix("Bearer ").unwrap_or("")) != Some(token.as_str()) {
                return Reply::detailed(
                    401,
                    "Not Authorized",
                    "The access token is missing, expired or invalid.",
                );
            }
        }
        let route = st.routes.iter_mut().find(|r| {
            r.method.eq_ignore_ascii_case(&req.method) && route::matches(&r.pattern, &req.path)
        });
        match route {
            Some(r) if r.replies.len() > 1 => r.replies.pop_front().expect("non-empty"),
            Some(r) => r
                .replies
                .front()
                .cloned()
                .unwrap_or_else(|| Reply::status(204)),
            None => Reply::simple(404, "not_found"),
        }
    }
}

/// A running mock server; stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl MockServer {
    /// Starts on 127.0.0.1 with a port the system picks.
    pub fn start() -> io::Result<MockServer> {
        Self::start_on(0)
    }

    /// Starts on 127.0.0.1:`port`.
    pub fn start_on(port: u16) -> io::Result<MockServer> {
        Self::start_with(port, None)
    }

    /// Starts an HTTPS server on 127.0.0.1 (a port the system picks) that
    /// shows `identity` (see [`super::TestCa`]).
    pub fn start_tls(identity: &super::Identity) -> io::Result<MockServer> {
        Self::start_tls_on(0, identity)
    }

    /// As [`MockServer::start_tls`], on `port`.
    pub fn start_tls_on(port: u16, identity: &super::Identity) -> io::Result<MockServer> {
        Self::start_with(port, Some(super::tls::server_config(identity, None)?))
    }

    /// An HTTPS server that also requires a client certificate signed by
    /// the CA in `client_ca_pem` (mutual TLS).
    pub fn start_mutual_tls(
        identity: &super::Identity,
        client_ca_pem: &str,
    ) -> io::Result<MockServer> {
        let config = super::tls::server_config(identity, Some(client_ca_pem))?;
        Self::start_with(0, Some(config))
    }

    fn start_with(port: u16, tls: Option<Arc<rustls::ServerConfig>>) -> io::Result<MockServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            connections: std::sync::atomic::AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            down: AtomicBool::new(false),
            resetting: AtomicBool::new(false),
            shedding: AtomicBool::new(false),
            resets: std::sync::atomic::AtomicUsize::new(0),
            started: Instant::now(),
            tls,
        });
        let s = shared.clone();
        let acceptor = thread::Builder::new()
            .name("apiretry-mock".into())
            .spawn(move || accept_loop(listener, addr, &s))?;
        Ok(MockServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// `http://127.0.0.1:PORT` (`https://` when it serves TLS).
    pub fn url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Scripts a route: replies are used in order, and the last one repeats.
    /// Scripting the same method and pattern again replaces its replies.
    pub fn script(&self, method: &str, pattern: &str, replies: impl IntoIterator<Item = Reply>) {
        let replies: VecDeque<Reply> = replies.into_iter().collect();
        let mut st = self.shared.state();
        match st
            .routes
            .iter_mut()
            .find(|r| r.method.eq_ignore_ascii_case(method) && r.pattern == pattern)
        {
            Some(r) => r.replies = replies,
            None => st.routes.push(Route {
                method: method.to_owned(),
                pattern: pattern.to_owned(),
                replies,
            }),
        }
    }

    /// Answers 401 `Not Authorized` (C2C's detailed schema) to every request
    /// whose `Authorization` is not `Bearer <token>`; `None` turns it off.
    pub fn require_token(&self, token: Option<&str>) {
        self.shared.state().token = token.map(str::to_owned);
    }

    /// Answers the device authorization grant and refresh tokens as
    /// `flow` says (RFC 8628, RFC 6749 6). With [`MockServer::require_token`]
    /// set, the API then takes the newest access token issued.
    pub fn device_flow(&self, flow: DeviceFlow) {
        self.shared.state().auth = Some(AuthServer::new(flow, self.url()));
    }

    /// The user approves (or, with `approve` false, denies) the pending
    /// code `user_code`; false when no such code is pending.
    pub fn decide(&self, user_code: &str, approve: bool) -> bool {
        let mut st = self.shared.state();
        st.auth
            .as_mut()
            .is_some_and(|a| a.decide(user_code, approve))
    }

    /// Exempts paths matching `pattern` from `require_token` (sign-in
    /// endpoints, health checks, presigned uploads).
    pub fn open_path(&self, pattern: &str) {
        self.shared.state().open.push(pattern.to_owned());
    }

    /// Serves S3 multipart uploads under [`S3_PREFIX`] (see `mock::S3_PREFIX`'s
    /// module): initiate, parts with ETags, a completion that checks them.
    pub fn s3_multipart(&self) {
        self.shared.state().s3.get_or_insert_with(S3::default);
    }

    /// The S3 side's objects (completed uploads and plain PUTs) and sizes.
    pub fn s3_objects(&self) -> BTreeMap<String, u64> {
        self.shared
            .state()
            .s3
            .as_ref()
            .map(|s| s.objects.clone())
            .unwrap_or_default()
    }

    /// Closes connections that wait longer than `idle` for a request (or a
    /// body's next byte), as servers' keep-alive timeouts do; new ones only.
    pub fn set_idle_timeout(&self, idle: Duration) {
        self.shared.state().idle = Some(idle);
    }

    /// Takes the server down (connections refused, open ones reset) or back up.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
        // Let the acceptor see the flag before anyone relies on it.
        thread::sleep(POLL * 3);
    }

    /// Resets every connection at once, new and open ones, while `on` (an
    /// outage that still accepts connections, as a crashed service behind
    /// a live host or load balancer does); each is counted in [`Self::resets`].
    pub fn set_resetting(&self, on: bool) {
        self.shared.resetting.store(on, Ordering::SeqCst);
    }

    /// Answers every request 503 at once while `on` (a service shedding
    /// load: up and answering, but refusing everything), ahead of the
    /// rate limit and the script.
    pub fn set_shedding(&self, on: bool) {
        self.shared.shedding.store(on, Ordering::SeqCst);
    }

    /// Connections reset by [`Self::set_resetting`] so far.
    pub fn resets(&self) -> u64 {
        self.shared.resets.load(Ordering::SeqCst) as u64
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.state().log.clone()
    }

    /// Forgets the requests so far.
    pub fn clear_requests(&self) {
        self.shared.state().log.clear();
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}
