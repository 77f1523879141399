//! `apiretry demo`: classifies the seeds' example responses and prints a table.

use std::ffi::OsString;

use apiretry::samples::SEEDS;
use apiretry::{Profile, RawResponse};

use crate::UsageError;

pub fn run(mut args: impl Iterator<Item = OsString>) -> Result<i32, UsageError> {
    if let Some(arg) = args.next() {
        return Err(UsageError(format!(
            "samples takes no arguments, got {arg:?}"
        )));
    }
    println!(
        "{:<30} {:<9} {:>6}  {:<18} {:<5} {:<20} {:>9}",
        "sample", "profile", "status", "kind", "retry", "code", "wait ms"
    );
    for s in SEEDS {
        let profile = Profile::builtin(s.profile).expect("samples name built-in profiles");
        let err = profile
            .classify(
                &RawResponse::new(s.status)
                    .headers(&s.headers)
                    .body(s.body.as_bytes()),
            )
            .expect("every sample is an error response");
        println!(
            "{:<30} {:<9} {:>6}  {:<18} {:<5} {:<20} {:>9}",
            s.name,
            s.profile,
            s.status,
            err.kind.as_str(),
            err.retry.as_str(),
            err.code.as_deref().unwrap_or("-"),
            err.retry_after_ms.map_or("-".into(), |ms| ms.to_string()),
        );
        println!("{:<30} {}", "", err.message);
    }
    Ok(0)
}
