//! `apiretry upload`: a file in parts to presigned URLs (`apiretry::upload`),
//! resumable through its journal.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use apiretry::upload::{
    PartsFile, Upload, JOURNAL_BUSY, JOURNAL_REFUSED, JOURNAL_UNWRITABLE, PART_RULES, URLS_EXPIRED,
};
use apiretry::{CancelToken, Client, Kind, Policy, Retry, StallLimits};
use lexopt::prelude::*;

use crate::{args, UsageError};

const HELP: &str = "\
usage: apiretry upload FILE --parts PARTS_JSON --journal JOURNAL [options]
       apiretry upload FILE --plan

Uploads FILE in parts, each PUT to its presigned URL (the s3 profile, the
chunk-upload timeouts), several at once. Each part done is written to the
journal with its ETag; run again with the same journal to resume after a
crash or a power loss: done parts are not sent again.

PARTS_JSON is a file {\"part_size\": BYTES, \"urls\": [\"https://...\", ...]}
with one URL per part: ceil(size / part_size) of them (1 for an empty file).
--plan prints the part size the library chooses for FILE and the URLs it
needs, as JSON ({\"size\", \"part_size\", \"parts\"}): presign that many.

Presigned URLs that sign headers need them on every part: Frame.io's take
--header 'Content-Type: <the asset's filetype>' --header 'x-amz-acl: private'.
The file is held open and watched: written to or replaced during the run, it
ends it (file_changed). SIGINT or SIGTERM stops the parts in flight at once;
what finished stays in the journal.

Exit codes: 0 every part done; 1 a part failed for good, or the file changed
(the classification on stderr; finished parts stay in the journal); 3 the
URLs have expired (run again with fresh URLs and the same journal); 130
interrupted (SIGINT or SIGTERM); 2 nothing sent: bad arguments or input (a
missing file, a bad parts file, parts S3 refuses, a journal of another file,
layout or upload, a journal that cannot be written or that another run holds).

options:
  --parts F        the parts file (required)
  --journal F      the journal (required; made if missing)
  --header 'N: V'  a header sent with every part (repeatable)
  --content-md5    send each part's MD5 (Content-MD5)
  --no-part-rules  do not hold the parts to S3's rules (5 MiB to 5 GiB each
                   but the last)
  --parallel N     parts in flight at once, fixed (default: chosen, from 4
                   up to 16 while each step adds 10% to the rate)
  --congestion A   the TCP congestion control parts ask for (default bbr,
                   where the kernel gives it; `system`: the system's). A name
                   the kernel refuses is an error, with the reason.
  --max-upload-rate B  send at most B bytes a second, every part together
  --attempts N     attempts per part (default 8)
  --stall-ms N     end an attempt that moves no byte for N ms (default 30000)
  --json           print one JSON object at the end: the parts' ETags, the
                   body bytes sent by this run, the parts found done";

pub fn run(argv: impl Iterator<Item = OsString>) -> Result<i32, UsageError> {
    let mut parser = lexopt::Parser::from_args(argv);
    let (mut file, mut parts, mut journal): (Option<PathBuf>, Option<PathBuf>, Option<PathBuf>) =
        (None, None, None);
    let mut parallel = None;
    let mut policy = Policy::default();
    let mut stalls = None;
    let mut json = false;
    let mut headers = Vec::new();
    let (mut content_md5, mut part_rules, mut plan) = (false, true, false);
    let mut congestion = Some(apiretry::DEFAULT_UPLOAD_CONGESTION.to_owned());
    let mut max_rate = 0;
    while let Some(arg) = parser.next()? {
        match arg {
            Value(v) if file.is_none() => file = Some(v.into()),
            Long("parts") => args::set_once(&mut parts, parser.value()?.into(), "--parts")?,
            Long("journal") => args::set_once(&mut journal, parser.value()?.into(), "--journal")?,
            Long("parallel") => {
                parallel = Some(args::number(&parser.value()?.string()?, "--parallel")? as usize)
            }
            Long("attempts") => {
                let n = args::number(&parser.value()?.string()?, "--attempts")?;
                policy = policy.with_max_attempts(n);
            }
            Long("stall-ms") => {
                let ms = args::number(&parser.value()?.string()?, "--stall-ms")?;
                stalls = Some(StallLimits::all(Duration::from_millis(ms.into())));
            }
            Long("json") => json = true,
            Long("header") => headers.push(args::header(&parser.value()?.string()?)?),
            Long("content-md5") => content_md5 = true,
            Long("no-part-rules") => part_rules = false,
            Long("plan") => plan = true,
            Long("congestion") => {
                let name = parser.value()?.string()?;
                if name != "system" {
                    apiretry::check_congestion_control(&name)
                        .map_err(|e| e.message.into_owned())?;
                }
                congestion = Some(name).filter(|n| n != "system");
            }
            Long("max-upload-rate") => {
                max_rate = args::number(&parser.value()?.string()?, "--max-upload-rate")?;
            }
            Long("help") | Short('h') => {
                println!("{HELP}");
                return Ok(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let file = file.ok_or_else(|| "upload needs a FILE".to_owned())?;
    if plan {
        return print_plan(&file);
    }
    let parts = parts.ok_or_else(|| "upload needs --parts".to_owned())?;
    let journal = journal.ok_or_else(|| "upload needs --journal".to_owned())?;
    if !file.is_file() {
        return Err(UsageError(format!("{} is not a file", file.display())));
    }
    let text = args::read_file(parts.as_os_str(), "the parts file")?;
    let PartsFile {
        part_size, urls, ..
    } = PartsFile::from_json(&text)
        .map_err(|e| UsageError(format!("{}: {}", parts.display(), e.message)))?;
    let mut builder = Client::builder(urls[0].clone())
        .policy(policy)
        .upload_congestion_control(congestion.as_deref())
        .max_upload_rate(max_rate.into());
    if let Some(s) = stalls {
        builder = builder.stall_limits(s);
    }
    let mut upload = Upload::new(&builder.build(), &file, part_size)
        .urls(urls)
        .journal(&journal)
        .content_md5(content_md5)
        .part_rules(part_rules);
    if let Some(n) = parallel {
        upload = upload.parallel(n);
    }
    for (name, value) in &headers {
        upload = upload.header(name, value);
    }
    if std::io::stderr().is_terminal() {
        upload = upload.progress(|p| {
            eprint!(
                "\r{} of {} bytes, {} of {} parts",
                p.bytes_done, p.bytes_total, p.parts_done, p.parts_total
            );
            let _ = std::io::stderr().flush();
        });
    }
    let cancel = CancelToken::new();
    let signalled = on_signals(&cancel);
    let result = upload.run(Some(&cancel));
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    let err = match result {
        Ok(done) => {
            let listed: Vec<_> = done
                .etags
                .iter()
                .enumerate()
                .map(|(i, etag)| serde_json::json!({"part": i + 1, "etag": etag}))
                .collect();
            let summary = serde_json::json!({
                "parts": listed, "bytes_sent": done.bytes_sent, "resumed": done.resumed,
            });
            match json {
                true => println!("{summary}"),
                false => println!(
                    "{} parts done ({} found done in the journal), {} bytes sent",
                    done.etags.len(),
                    done.resumed,
                    done.bytes_sent
                ),
            }
            return Ok(0);
        }
        Err(e) => e,
    };
    eprintln!("apiretry upload: {err}");
    if !err.hint.is_empty() {
        eprintln!("hint: {}", err.hint);
    }
    // Input refused before anything was sent is bad input; else a failure.
    let code = err.code.as_deref();
    let refused = matches!(
        code,
        Some(JOURNAL_REFUSED | JOURNAL_UNWRITABLE | JOURNAL_BUSY | PART_RULES)
    ) || (err.kind == Kind::Application && err.retry == Retry::No);
    Ok(match code {
        Some(URLS_EXPIRED) => 3,
        _ if err.kind == Kind::Cancelled && signalled.is_some() => 130,
        _ if refused => 2,
        _ => 1,
    })
}

/// `--plan`: the layout the library chooses for `file`.
fn print_plan(file: &std::path::Path) -> Result<i32, UsageError> {
    let size = std::fs::metadata(file)
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?
        .len();
    let part_size = Upload::part_size_for(size);
    let parts = size.div_ceil(part_size).max(1);
    println!(
        "{}",
        serde_json::json!({"size": size, "part_size": part_size, "parts": parts})
    );
    Ok(0)
}

/// Cancels `cancel` on SIGINT or SIGTERM (a thread reading the signals'
/// pipe); `None` where they cannot be caught.
pub fn on_signals(cancel: &CancelToken) -> Option<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).ok()?;
    let cancel = cancel.clone();
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            eprintln!("\napiretry upload: signal {sig}: stopping the parts in flight");
            cancel.cancel();
        }
    });
    Some(())
}
