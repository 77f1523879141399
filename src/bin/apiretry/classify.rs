//! `apiretry classify`: one response in, one JSON classification out.

use std::ffi::OsString;

use apiretry::{Profile, RawResponse};
use lexopt::prelude::*;

use crate::UsageError;

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

pub fn run(args: impl Iterator<Item = OsString>) -> Result<(), UsageError> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut status = None;
    let mut expect = None;
    let mut profile: Option<Profile> = None;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut body: Option<Vec<u8>> = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("status") => status = Some(parse_status(&parser.value()?.string()?)?),
            Long("expect") => expect = Some(parse_status(&parser.value()?.string()?)?),
            Long("profile") => {
                let name = parser.value()?.string()?;
                let p = Profile::builtin(&name).ok_or_else(|| {
                    format!(
                        "unknown profile {name:?} (expected one of: {})",
                        Profile::BUILTIN_NAMES.join(", ")
                    )
                })?;
                set_once(&mut profile, p.clone(), "--profile/--profile-file")?;
            }
            Long("profile-file") => {
                let path = parser.value()?;
                let p = Profile::load(&path).map_err(|e| e.message.into_owned())?;
                set_once(&mut profile, p, "--profile/--profile-file")?;
            }
            Long("header") => {
                let h = parser.value()?.string()?;
                let (name, value) = h
                    .split_once(':')
                    .filter(|(n, _)| !n.trim().is_empty())
                    .ok_or_else(|| format!("--header {h:?} is not 'Name: value'"))?;
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            Long("body") => set_once(
                &mut body,
                parser.value()?.string()?.into_bytes(),
                "--body/--body-file",
            )?,
            Long("body-file") => {
                let path = parser.value()?;
                let bytes = std::fs::read(&path).map_err(|e| {
                    format!("cannot read body file {}: {e}", path.to_string_lossy())
                })?;
                set_once(&mut body, bytes, "--body/--body-file")?;
            }
            Long("help") | Short('h') => {
                println!("{HELP}");
                return Ok(());
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let status = status.ok_or_else(|| "classify needs --status N".to_owned())?;
    let profile = profile.unwrap_or_else(|| Profile::builtin("generic").expect("built in").clone());
    let body = body.unwrap_or_default();
    let mut response = RawResponse::new(status).headers(&headers).body(&body);
    if let Some(e) = expect {
        response = response.expect(e);
    }
    let classification = profile.classify(&response);
    println!(
        "{}",
        serde_json::to_string_pretty(&classification).expect("classification serializes")
    );
    Ok(())
}

fn parse_status(s: &str) -> Result<u16, UsageError> {
    s.parse::<u16>()
        .ok()
        .filter(|n| (100..=599).contains(n))
        .ok_or_else(|| UsageError(format!("{s:?} is not an HTTP status (100-599)")))
}

fn set_once<T>(slot: &mut Option<T>, value: T, what: &str) -> Result<(), UsageError> {
    if slot.replace(value).is_some() {
        return Err(UsageError(format!("{what} given more than once")));
    }
    Ok(())
}
