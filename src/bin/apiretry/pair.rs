//! `apiretry pair` and `apiretry refresh`: the library's device pairing
//! (RFC 8628) and token refresh, tokens kept in a file store. Neither ever
//! prints a token or device code.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apiretry::{
    ApiError, CancelToken, Client, ClientAuth, FileStore, OAuth, Pairing, Poll, Profile, Secret,
    Tokens, UserCode,
};
use lexopt::prelude::*;
use serde_json::json;

use crate::{args, UsageError};

const PAIR_HELP: &str = "\
usage: apiretry pair --device-url URL --token-url URL --client-id ID [options]

Pairs a device by the device authorization grant (RFC 8628): prints the user
code and where to enter it at once, polls the token endpoint at the interval
in force (slow_down adds 5 s, a network failure doubles it), and writes the
tokens to --store. Exit code 0 once paired, 1 on denial, expiry or any
failure (the classification is printed, nothing is stored), 2 for bad
arguments. Tokens and device codes are never printed.

options:
  --device-url URL     the device authorization endpoint
  --token-url URL      the token endpoint
  --client-id ID       the OAuth client id
  --client-secret S    its secret (sent in the form; see --basic-auth)
  --basic-auth         send the id and secret by HTTP Basic instead
  --scope S            the scope to ask for
  --header 'N: V'      a header sent on every request (repeatable), e.g.
                       'x-client-version: 2.0.0'
  --store FILE         write the tokens there (JSON, mode 0600, atomically)
  --renew N            ask for a new code up to N times when one expires (default 0)
  --deadline-ms N      give up after this long
  --profile NAME       the error dialect (default generic; c2c for Frame.io)
  --json               print one JSON object a line: the code, each poll, the outcome";

const REFRESH_HELP: &str = "\
usage: apiretry refresh --token-url URL --client-id ID --store FILE [options]

Refreshes the tokens in --store (grant_type=refresh_token) and writes the new
ones back. Exit code 0 when refreshed, 1 when it failed (a refused refresh
token means the device must pair again), 2 for bad arguments.

options:
  --token-url URL      the token endpoint
  --client-id ID       the OAuth client id
  --client-secret S    its secret (sent in the form; see --basic-auth)
  --basic-auth         send the id and secret by HTTP Basic instead
  --header 'N: V'      a header sent on every request (repeatable)
  --store FILE         the token store (required)
  --profile NAME       the error dialect (default generic; c2c for Frame.io)
  --json               print the outcome as one JSON object";

/// The options both commands take.
#[derive(Default)]
struct Common {
    token_url: Option<String>,
    client_id: Option<String>,
    secret: Option<Secret>,
    basic: bool,
    headers: Vec<(String, String)>,
    store: Option<PathBuf>,
    profile: Option<Profile>,
    json: bool,
}

impl Common {
    const NAMES: &'static [&'static str] = &[
        "token-url",
        "client-id",
        "client-secret",
        "basic-auth",
        "header",
        "store",
        "profile",
        "json",
    ];

    /// Whether `--name` is one of these options.
    fn takes(name: &str) -> bool {
        Self::NAMES.contains(&name)
    }

    /// Reads option `--name` (and its value) from `parser`.
    fn parse(&mut self, name: &str, parser: &mut lexopt::Parser) -> Result<(), UsageError> {
        match Long(name) {
            Long("token-url") => args::set_once(
                &mut self.token_url,
                url(parser, "--token-url")?,
                "--token-url",
            )?,
            Long("client-id") => {
                let id = parser.value()?.string()?;
                args::set_once(&mut self.client_id, id, "--client-id")?
            }
            Long("client-secret") => {
                let secret = Secret::new(parser.value()?.string()?);
                args::set_once(&mut self.secret, secret, "--client-secret")?
            }
            Long("basic-auth") => self.basic = true,
            Long("header") => self.headers.push(args::header(&parser.value()?.string()?)?),
            Long("store") => {
                let path = PathBuf::from(parser.value()?);
                args::set_once(&mut self.store, path, "--store")?
            }
            Long("profile") => {
                let p = args::builtin_profile(&parser.value()?.string()?)?;
                args::set_once(&mut self.profile, p, "--profile")?
            }
            Long("json") => self.json = true,
            _ => unreachable!("takes() said yes"),
        }
        Ok(())
    }

    /// The client, authorized by OAuth with the store (if any).
    fn client(self) -> Result<(Client, Option<PathBuf>, bool), UsageError> {
        let token_url = self.token_url.ok_or("needs --token-url URL".to_owned())?;
        let client_id = self.client_id.ok_or("needs --client-id ID".to_owned())?;
        if self.basic && self.secret.is_none() {
            return Err("--basic-auth needs --client-secret".to_owned().into());
        }
        let mut oauth = OAuth::new(token_url.clone(), client_id);
        if let Some(secret) = self.secret {
            oauth = oauth.client_secret(secret);
        }
        if self.basic {
            oauth = oauth.client_auth(ClientAuth::Basic);
        }
        if let Some(path) = &self.store {
            oauth = oauth.store(FileStore::new(path));
        }
        let profile = self
            .profile
            .unwrap_or_else(|| Profile::builtin("generic").expect("built in").clone());
        let mut builder = Client::builder(token_url).profile(profile).oauth(oauth);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        Ok((builder.build(), self.store, self.json))
    }
}

fn url(parser: &mut lexopt::Parser, option: &str) -> Result<String, UsageError> {
    let url = parser.value()?.string()?;
    match url.starts_with("http://") || url.starts_with("https://") {
        true => Ok(url),
        false => Err(UsageError(format!(
            "{option}: {url:?} is not an http:// or https:// URL"
        ))),
    }
}

/// One line, flushed: a device shows the code before the first poll.
fn say(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn failed(e: &ApiError, json: bool, what: &str) -> i32 {
    match json {
        true => say(json!({"event": "failed", "error": e})),
        false => say(format!("{what} failed: {e}\nhint: {}", e.hint)),
    }
    1
}

/// What is said of tokens: when they expire and their scope, never a value.
fn described(t: &Tokens) -> serde_json::Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    json!({
        "expires_in": t.expires_at.map(|e| e.saturating_sub(now)),
        "scope": t.scope,
        "refresh_token": t.refresh_token.is_some(),
    })
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

pub fn pair(argv: impl Iterator<Item = OsString>) -> Result<i32, UsageError> {
    let mut parser = lexopt::Parser::from_args(argv);
    let mut common = Common::default();
    let (mut device_url, mut scope, mut renew, mut deadline) = (None, None, 0, None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long(name) if Common::takes(name) => {
                let name = name.to_owned();
                common.parse(&name, &mut parser)?;
            }
            Long("device-url") => args::set_once(
                &mut device_url,
                url(&mut parser, "--device-url")?,
                "--device-url",
            )?,
            Long("scope") => scope = Some(parser.value()?.string()?),
            Long("renew") => {
                let s = parser.value()?.string()?;
                renew = s
                    .parse()
                    .map_err(|_| UsageError(format!("--renew takes a whole number, not {s:?}")))?;
            }
            Long("deadline-ms") => {
                let ms = args::number(&parser.value()?.string()?, "--deadline-ms")?;
                deadline = Some(Duration::from_millis(ms.into()));
            }
            Long("help") | Short('h') => {
                println!("{PAIR_HELP}");
                return Ok(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let device_url = device_url.ok_or("pair needs --device-url URL".to_owned())?;
    let (client, store, json) = common.client()?;
    let mut pairing = Pairing::new(device_url)
        .renew(renew)
        .on_code(move |c: &UserCode| match json {
            true => say(json!({
                "event": "code", "user_code": c.user_code,
                "verification_uri": c.verification_uri,
                "verification_uri_complete": c.verification_uri_complete,
                "expires_in": secs(c.expires_in), "interval": secs(c.interval),
            })),
            false => {
                say(format!(
                    "To pair this device, go to {} and enter the code {}",
                    c.verification_uri, c.user_code
                ));
                if let Some(complete) = &c.verification_uri_complete {
                    say(format!("(or open {complete})"));
                }
                say(format!(
                    "The code expires in {} s; polling every {} s.",
                    secs(c.expires_in),
                    secs(c.interval)
                ));
            }
        })
        .on_poll(move |p: &Poll<'_>| match (json, p.error) {
            (true, e) => say(json!({
                "event": "poll", "number": p.number,
                "kind": e.map_or("paired", |e| e.kind.as_str()),
                "code": e.and_then(|e| e.code.as_deref()),
                "status": e.and_then(|e| e.status),
                "interval": secs(p.interval),
            })),
            (false, Some(e)) => say(format!(
                "  poll {}: {}; next in {} s",
                p.number,
                e.code.as_deref().unwrap_or(e.kind.as_str()),
                secs(p.interval)
            )),
            (false, None) => {}
        });
    if let Some(scope) = scope {
        pairing = pairing.scope(scope);
    }
    if let Some(d) = deadline {
        pairing = pairing.deadline(d);
    }
    let tokens = match client.pair(&pairing, &CancelToken::new()) {
        Ok(t) => t,
        Err(e) => return Ok(failed(&e, json, "pairing")),
    };
    let at = store.as_ref().map(|p| p.display().to_string());
    match json {
        true => say(json!({"event": "paired", "store": at, "tokens": described(&tokens)})),
        false => say(match &at {
            Some(path) => format!("paired: tokens written to {path}"),
            None => "paired (no --store: the tokens were not kept)".to_owned(),
        }),
    }
    Ok(0)
}

pub fn refresh(argv: impl Iterator<Item = OsString>) -> Result<i32, UsageError> {
    let mut parser = lexopt::Parser::from_args(argv);
    let mut common = Common::default();
    while let Some(arg) = parser.next()? {
        match arg {
            Long(name) if Common::takes(name) => {
                let name = name.to_owned();
                common.parse(&name, &mut parser)?;
            }
            Long("help") | Short('h') => {
                println!("{REFRESH_HELP}");
                return Ok(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if common.store.is_none() {
        return Err("refresh needs --store FILE".to_owned().into());
    }
    let (client, store, json) = common.client()?;
    let store = store.expect("checked");
    if let Err(e) = client.refresh_tokens(&CancelToken::new()) {
        return Ok(failed(&e, json, "refresh"));
    }
    let tokens = match apiretry::TokenStore::load(&FileStore::new(&store)) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Ok(failed(
                &ApiError::new(apiretry::Kind::Io)
                    .with_message("the store is empty after the refresh"),
                json,
                "refresh",
            ))
        }
        Err(e) => return Ok(failed(&e, json, "refresh")),
    };
    match json {
        true => say(
            json!({"event": "refreshed", "store": store.display().to_string(), "tokens": described(&tokens)}),
        ),
        false => say(format!("refreshed: tokens written to {}", store.display())),
    }
    Ok(0)
}
