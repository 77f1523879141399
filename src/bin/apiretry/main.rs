//! `apiretry`: classify API responses from the command line.
//!
//! Exit codes: 0 when the command did its job (for `classify`, whatever the
//! classification says), 1 when `request` or `upload` failed, 2 for bad
//! arguments or unreadable input files, 3 when an upload's URLs expired.

use std::process::ExitCode;

mod args;
mod c2c_upload;
mod classify;
mod demo;
mod pair;
mod request;
mod serve;
mod session;
mod session_c2c;
mod session_upload;
mod upload;

const USAGE: &str = "\
apiretry: classify HTTP API failures into the apiretry taxonomy

usage:
  apiretry classify --status N [--profile NAME | --profile-file F] [--header 'Name: value']...
                    [--body S | --body-file F] [--expect N]
  apiretry request URL [--method M] [--profile NAME] [--header 'N: V']... [--body S] [--expect N] [--json]
                    send one request with retries, printing each attempt
  apiretry serve --scenario FILE [--port N] [--for SECONDS]
                    run the mock API server, scripted by a scenario file
  apiretry pair --device-url URL --token-url URL --client-id ID [--client-secret S] [--scope S]
                    [--header 'N: V']... [--store FILE] [--renew N] [--json]
                    pair a device (RFC 8628 device flow), tokens written to FILE
  apiretry refresh --token-url URL --client-id ID [--client-secret S] [--header 'N: V']...
                    --store FILE [--json]
                    refresh the tokens in FILE
  apiretry upload FILE --parts PARTS_JSON --journal JOURNAL [--parallel N] [--json]
                    upload a file in parts to presigned URLs, resumable from its journal
  apiretry c2c-upload --base URL --state DIR [--recording] [--json] FILE...
                    queue files for Frame.io C2C and upload them, resumable from DIR
  apiretry demo     a C2C device session against the built-in mock API
  apiretry samples  classify the example responses of the source documents
  apiretry help     show this text

'apiretry COMMAND --help' shows a command's options.";

/// A failure to run a command, reported with exit code 2.
pub struct UsageError(String);

impl From<lexopt::Error> for UsageError {
    fn from(e: lexopt::Error) -> Self {
        UsageError(e.to_string())
    }
}

impl From<String> for UsageError {
    fn from(e: String) -> Self {
        UsageError(e)
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let command = args.next().map(|c| c.to_string_lossy().into_owned());
    let result = match command.as_deref() {
        Some("classify") => classify::run(args),
        Some("demo") => session::run(args),
        Some("samples") => demo::run(args),
        Some("request") => request::run(args),
        Some("serve") => serve::run(args),
        Some("pair") => pair::pair(args),
        Some("refresh") => pair::refresh(args),
        Some("upload") => upload::run(args),
        Some("c2c-upload") => c2c_upload::run(args),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(0)
        }
        Some(other) => Err(UsageError(format!("unknown command {other:?}"))),
        None => Err(UsageError("no command given".into())),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(UsageError(message)) => {
            eprintln!("apiretry: error: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
