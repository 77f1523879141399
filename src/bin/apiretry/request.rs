//! `apiretry request`: one request through `Client`, each attempt printed as
//! it happens, and the outcome (a JSON summary with `--json`).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use portable_atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiretry::{
    Client, ClientState, Event, Policy, Proxy, Request, Secret, StallLimits, Step, Timeouts,
    TlsSettings,
};
use lexopt::prelude::*;

use crate::args::Body;
use crate::{args, UsageError};

const HELP: &str = "\
usage: apiretry request URL [options]

Sends one request through the retrying client and prints each attempt as it
happens (kind, retry decision, delay). Exit code 0 when the call succeeds,
1 when it fails (the classification is printed), 2 for bad arguments.

options:
  --method M           HTTP method (default GET)
  --profile NAME       built-in profile: generic (default), c2c, s3, frameio, keyed, envelope
  --profile-file F     load the profile from a JSON file instead
  --header 'N: V'      a request header (repeatable)
  --body S             the request body
  --body-file F        stream the request body from a file (Content-Length
                       from its size, read again from the start per attempt)
  --output F           stream a successful answer's body into F (written
                       afresh per attempt, as F.part, renamed F once whole)
  --expect N           the success status the endpoint must answer with
  --token T            send 'Authorization: Bearer T'
  --attempts N         attempts in all (default 8)
  --deadline-ms N      overall deadline for the call
  --timeout-ms N       timeout of each phase of an attempt (default 15000)
  --stall-ms N         end an attempt that moves no byte for N ms (a silent link;
                       default: the phase timeout)
  --cacert FILE        also trust the CA certificates in FILE (PEM), as curl's --cacert
  --proxy URL          go through the HTTP proxy http://[user:password@]host:port
  --json               print a JSON summary instead of text";

pub fn run(argv: impl Iterator<Item = OsString>) -> Result<i32, UsageError> {
    let mut parser = lexopt::Parser::from_args(argv);
    let mut url = None;
    let mut method = "GET".to_owned();
    let mut message = args::MessageArgs::default();
    let mut token = None;
    let mut policy = Policy::default();
    let mut timeouts = Timeouts::default();
    let mut json = false;
    let mut tls = TlsSettings::default();
    let mut proxy = None;
    let mut output: Option<PathBuf> = None;
    let mut stalls = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Value(v) if url.is_none() => url = Some(v.string()?),
            Long("method") => method = parser.value()?.string()?.to_ascii_uppercase(),
            Long(name) if args::MessageArgs::takes(name) => {
                let name = name.to_owned();
                message.parse(&name, &mut parser)?;
            }
            Long("token") => token = Some(Secret::new(parser.value()?.string()?)),
            Long("attempts") => {
                policy = policy
                    .with_max_attempts(args::number(&parser.value()?.string()?, "--attempts")?)
            }
            Long("deadline-ms") => {
                let ms = args::number(&parser.value()?.string()?, "--deadline-ms")?;
                policy = policy.with_deadline(Duration::from_millis(ms.into()));
            }
            Long("timeout-ms") => {
                let ms = args::number(&parser.value()?.string()?, "--timeout-ms")?;
                timeouts.default = Duration::from_millis(ms.into());
            }
            Long("stall-ms") => {
                let ms = args::number(&parser.value()?.string()?, "--stall-ms")?;
                stalls = Some(StallLimits::all(Duration::from_millis(ms.into())));
            }
            Long("cacert") => {
                let path = parser.value()?;
                tls = tls
                    .add_ca_file(&path)
                    .map_err(|e| UsageError(format!("--cacert: {}", e.message)))?;
            }
            Long("proxy") => {
                let url = parser.value()?.string()?;
                let p =
                    Proxy::new(&url).map_err(|e| UsageError(format!("--proxy: {}", e.message)))?;
                proxy = Some(p);
            }
            Long("output") => {
                let path = PathBuf::from(parser.value()?);
                args::set_once(&mut output, path, "--output")?;
            }
            Long("json") => json = true,
            Long("help") | Short('h') => {
                println!("{HELP}");
                return Ok(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let url = url.ok_or_else(|| "request needs a URL".to_owned())?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(UsageError(format!(
            "{url:?} is not an http:// or https:// URL"
        )));
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(UsageError(format!("{method:?} is not an HTTP method")));
    }

    let attempts: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let log = attempts.clone();
    let started = Instant::now();
    let observer = move |e: &Event<'_>| {
        let (decision, delay) = match e.step {
            Step::Success => ("success", None),
            Step::Retry(d) => ("retry", Some(d)),
            Step::GiveUp(_) => ("give up", None),
            Step::Held(d) => ("held", Some(d)),
            _ => ("cancelled", None),
        };
        let what = e.error.map_or("ok".to_owned(), |err| err.to_string());
        if !json {
            let wait = delay.map_or(String::new(), |d| format!(", waiting {} ms", d.as_millis()));
            match e.step {
                Step::Held(d) => eprintln!(
                    "attempt {}: held {} ms while the service refused calls (overload)",
                    e.attempt + 1,
                    d.as_millis()
                ),
                _ => eprintln!("attempt {}: {what} -> {decision}{wait}", e.attempt + 1),
            }
        }
        log.lock().unwrap().push(serde_json::json!({
            "attempt": e.attempt + 1,
            "kind": e.error.map(|err| err.kind.as_str()),
            "status": e.error.and_then(|err| err.status),
            "message": e.error.map(|err| err.message.to_string()),
            "decision": decision,
            "delay_ms": delay.map(|d| d.as_millis() as u64),
            "at_ms": started.elapsed().as_millis() as u64,
        }));
    };
    // The client's state changes (disconnected, overloaded, ...), in order.
    let states: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let heard = states.clone();
    let on_state = move |s: ClientState| {
        let name = state_name(s);
        if !json {
            eprintln!("client: {name}");
        }
        heard.lock().unwrap().push(serde_json::json!({
            "state": name,
            "at_ms": started.elapsed().as_millis() as u64,
        }));
    };
    let mut builder = Client::builder(url.clone())
        .profile(message.profile_or_generic())
        .policy(policy)
        .timeouts(timeouts)
        .tls(tls)
        .observer(Arc::new(observer))
        .state_observer(on_state);
    if let Some(p) = proxy {
        builder = builder.proxy(p);
    }
    if let Some(s) = stalls {
        builder = builder.stall_limits(s);
    }
    if let Some(t) = token {
        builder = builder.token(t);
    }
    let client = builder.build();
    let mut req = Request::new(&method, url);
    for (k, v) in &message.headers {
        req = req.header(k, v);
    }
    req = match message.body {
        Some(Body::Bytes(b)) => req.body(b),
        Some(Body::File(path, len)) => req.body_file(path, 0, len),
        None => req,
    };
    if let Some(e) = message.expect {
        req = req.expect(e);
    }
    let sink = output.map(Sink::new);
    if let Some(s) = &sink {
        req = s.attach(req);
    }
    let shown = Arc::new(AtomicBool::new(false));
    if std::io::stderr().is_terminal() {
        req = req.progress(progress_line(shown.clone()));
    }
    let result = client.send(&req);
    if shown.load(Ordering::Relaxed) {
        eprintln!();
    }
    // Only a whole body becomes the file; a failed call leaves none.
    let result = match (&sink, result) {
        (Some(s), Ok(r)) => s.finish(&r).map(|()| r).map_err(|e| {
            apiretry::ApiError::new(apiretry::Kind::Io)
                .with_message(format!("cannot write --output: {e}"))
        }),
        (Some(s), Err(e)) => {
            s.discard();
            Err(e)
        }
        (None, result) => result,
    };
    let bytes = |r: &apiretry::Response| match &sink {
        Some(s) => s.written(),
        None => r.body().len() as u64,
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    // Learned from throttling answers (429, SlowDown), when there were any.
    let learned = client.learned_rate(req.url());
    let events = attempts.lock().unwrap().clone();
    let states = states.lock().unwrap().clone();
    // Held events are waits before an attempt, not attempts.
    let (held, attempts): (Vec<_>, Vec<_>) =
        events.into_iter().partition(|e| e["decision"] == "held");
    if json {
        let summary = match &result {
            Ok(r) => serde_json::json!({
                "ok": true, "status": r.status(), "bytes": bytes(r),
                "attempts": attempts, "elapsed_ms": elapsed_ms, "error": null,
                "learned_rate": learned, "held": held, "states": states,
            }),
            Err(e) => serde_json::json!({
                "ok": false, "status": e.status, "bytes": null,
                "attempts": attempts, "elapsed_ms": elapsed_ms, "error": e,
                "learned_rate": learned, "held": held, "states": states,
            }),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("serializes")
        );
    } else {
        if let Some(rate) = learned {
            println!("learned rate: {rate:.2} requests/s (the server throttled)");
        }
        match &result {
            Ok(r) => println!(
                "{} after {} attempt(s), {elapsed_ms} ms, {} bytes",
                r.status(),
                attempts.len(),
                bytes(r)
            ),
            Err(e) => println!(
                "failed after {} attempt(s), {elapsed_ms} ms: {e}\nhint: {}",
                attempts.len(),
                e.hint
            ),
        }
    }
    Ok(if result.is_ok() { 0 } else { 1 })
}

/// A client state's name, as the JSON output and the C enum spell it.
fn state_name(s: ClientState) -> &'static str {
    match s {
        ClientState::Connected => "connected",
        ClientState::Disconnected => "disconnected",
        ClientState::Authorized => "authorized",
        ClientState::AuthorizationRequired => "authorization_required",
        ClientState::Overloaded => "overloaded",
        ClientState::Recovered => "recovered",
        _ => "other",
    }
}

/// Transfers this big or bigger show their progress on a terminal.
const SHOWN_FROM: u64 = 4 << 20;

/// A progress line on stderr, rewritten in place, for big transfers;
/// `shown` tells whether one was written.
fn progress_line(shown: Arc<AtomicBool>) -> impl Fn(&apiretry::Progress) + Send + Sync {
    move |p| {
        let big = |n: Option<u64>, so_far: u64| n.unwrap_or(so_far).max(so_far) >= SHOWN_FROM;
        if !big(p.send_total, p.sent) && !big(p.receive_total, p.received) {
            return;
        }
        let mib = |n: u64| n as f64 / (1 << 20) as f64;
        let of = |n: Option<u64>| n.map_or(String::new(), |t| format!(" of {:.1}", mib(t)));
        eprint!(
            "\r  {:.1}{} MiB sent, {:.1}{} MiB received   ",
            mib(p.sent),
            of(p.send_total),
            mib(p.received),
            of(p.receive_total)
        );
        shown.store(true, Ordering::Relaxed);
    }
}

/// Where `--output` streams a successful body: `F.part`, opened afresh for
/// each attempt answered with a success, renamed `F` once the call
/// succeeded, removed when it failed.
struct Sink {
    path: PathBuf,
    part: PathBuf,
    written: Arc<AtomicU64>,
}

impl Sink {
    fn new(path: PathBuf) -> Self {
        let mut part = path.clone().into_os_string();
        part.push(".part");
        Sink {
            path,
            part: part.into(),
            written: Arc::default(),
        }
    }

    fn attach(&self, req: Request) -> Request {
        let (part, written) = (self.part.clone(), self.written.clone());
        req.response_writer(move || {
            written.store(0, Ordering::Relaxed);
            let file = std::fs::File::create(&part)?;
            Ok(Box::new(Counting {
                file,
                written: written.clone(),
            }) as Box<dyn Write + Send>)
        })
    }

    /// The call succeeded with `r`: its streamed body becomes the file (a
    /// success that is not a 2xx was kept in memory: written now).
    fn finish(&self, r: &apiretry::Response) -> std::io::Result<()> {
        match std::fs::rename(&self.part, &self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.written.store(r.body().len() as u64, Ordering::Relaxed);
                std::fs::write(&self.path, r.body())
            }
            other => other,
        }
    }

    fn discard(&self) {
        let _ = std::fs::remove_file(&self.part);
    }

    fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// A file that counts what was written to it.
struct Counting {
    file: std::fs::File,
    written: Arc<AtomicU64>,
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
