//! `apiretry classify`: one response in, one JSON classification out.

use std::ffi::OsString;

use apiretry::RawResponse;
use lexopt::prelude::*;

use crate::{args, UsageError};

const HELP: &str = "\
usage: apiretry classify --status N [options]

Prints the classification of one response as a JSON object with the
taxonomy's field names, or `null` when the response is a success.

options:
  --status N           HTTP status of the response (required)
  --profile NAME       built-in profile: generic (default), c2c, s3, frameio, keyed, envelope
  --profile-file F     load the profile from a JSON file instead
  --header 'N: V'      a response header (repeatable)
  --body S             the response body
  --body-file F        read the response body from a file
  --expect N           the success status the endpoint should answer with";

pub fn run(argv: impl Iterator<Item = OsString>) -> Result<i32, UsageError> {
    let mut parser = lexopt::Parser::from_args(argv);
    let mut status = None;
    let mut message = args::MessageArgs::default();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("status") => status = Some(args::status(&parser.value()?.string()?)?),
            Long(name) if args::MessageArgs::takes(name) => {
                let name = name.to_owned();
                message.parse(&name, &mut parser)?;
            }
            Long("help") | Short('h') => {
                println!("{HELP}");
                return Ok(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let status = status.ok_or_else(|| "classify needs --status N".to_owned())?;
    let profile = message.profile_or_generic();
    let body = match message.body.take() {
        Some(b) => b.into_bytes()?,
        None => Vec::new(),
    };
    let mut response = RawResponse::new(status)
        .headers(&message.headers)
        .body(&body);
    if let Some(e) = message.expect {
        response = response.expect(e);
    }
    let classification = profile.classify(&response);
    println!(
        "{}",
        serde_json::to_string_pretty(&classification).expect("classification serializes")
    );
    Ok(0)
}
