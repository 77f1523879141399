//! `apiretry serve`: the mock API server on the command line, scripted by a
//! scenario file, so that device code in any language can be tested against
//! Channel Paused, slow_down, outages and expired tokens.

use std::ffi::OsString;
use std::io::Write;
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, OutageMode, Scenario, TestCa, Validity};
use lexopt::prelude::*;

use crate::{args, UsageError};

const HELP: &str = "\
usage: apiretry serve --scenario FILE [--port N] [--for SECONDS] [--tls CA_FILE]

Runs the mock API server on 127.0.0.1, answering each route as the scenario
file says (format: src/mock/scenario.rs and the README), taking it down for
the scenario's outages. Prints the URL and each outage, then serves until
interrupted, or for SECONDS.

options:
  --scenario FILE      the scenario (required)
  --port N             the port (default 0: the system picks one)
  --for SECONDS        stop after this long
  --tls CA_FILE        serve HTTPS with a certificate for 127.0.0.1 and localhost,
                       signed by a test CA made now and written to CA_FILE (PEM),
                       for the client to trust (apiretry request --cacert CA_FILE)";

pub fn run(argv: impl Iterator<Item = OsString>) -> Result<i32, UsageError> {
    let mut parser = lexopt::Parser::from_args(argv);
    let mut scenario = None;
    let mut port = 0u16;
    let mut seconds = None;
    let mut tls_ca = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("scenario") => {
                let path = parser.value()?;
                let text = args::read_file(&path, "scenario file")?;
                let text = String::from_utf8(text).map_err(|_| {
                    UsageError(format!(
                        "scenario file {} is not UTF-8",
                        path.to_string_lossy()
                    ))
                })?;
                let s = Scenario::from_json(&text)
                    .map_err(|e| UsageError(format!("{}: {e}", path.to_string_lossy())))?;
                args::set_once(&mut scenario, s, "--scenario")?;
            }
            Long("port") => {
                let p = parser.value()?.string()?;
                port = p
                    .parse()
                    .map_err(|_| UsageError(format!("--port takes a port number, not {p:?}")))?;
            }
            Long("tls") => tls_ca = Some(parser.value()?),
            Long("for") => seconds = Some(args::number(&parser.value()?.string()?, "--for")?),
            Long("help") | Short('h') => {
                println!("{HELP}");
                return Ok(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let scenario = scenario.ok_or_else(|| "serve needs --scenario FILE".to_owned())?;
    let server = match &tls_ca {
        None => MockServer::start_on(port),
        Some(path) => {
            let ca = TestCa::new("apiretry serve test CA");
            std::fs::write(path, ca.cert_pem()).map_err(|e| {
                UsageError(format!(
                    "cannot write the CA to {}: {e}",
                    path.to_string_lossy()
                ))
            })?;
            MockServer::start_tls_on(
                port,
                &ca.leaf(&["127.0.0.1", "localhost"], Validity::Current),
            )
        }
    }
    .map_err(|e| UsageError(format!("cannot listen on port {port}: {e}")))?;
    scenario.apply(&server);
    println!("apiretry mock API listening on {}", server.url());
    let _ = std::io::stdout().flush();
    let started = Instant::now();
    let end = seconds.map(|s| Duration::from_secs(s.into()));
    let sleep_until = |at: Duration| {
        let now = started.elapsed();
        let at = end.map_or(at, |e| at.min(e));
        std::thread::sleep(at.saturating_sub(now));
    };
    for (down, up, mode) in scenario.outages() {
        sleep_until(down);
        if end.is_some_and(|e| started.elapsed() >= e) {
            break;
        }
        mode.set(&server, true);
        let how = match mode {
            OutageMode::Reset => " (connections reset)",
            OutageMode::Shed => " (every request answered 503: shedding load)",
            _ => "",
        };
        println!("outage{how}: down at {} ms", started.elapsed().as_millis());
        sleep_until(up);
        mode.set(&server, false);
        if mode == OutageMode::Reset {
            println!("outage: {} connections reset", server.resets());
        }
        println!("outage: back at {} ms", started.elapsed().as_millis());
    }
    match end {
        Some(e) => sleep_until(e),
        None => loop {
            std::thread::park();
        },
    }
    let requests = server.requests();
    let count = |status| requests.iter().filter(|r| r.status == Some(status)).count();
    println!(
        "served {} requests ({} answered 429, {} answered 503)",
        requests.len(),
        count(429),
        count(503)
    );
    Ok(0)
}
