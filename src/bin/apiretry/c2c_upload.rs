//! `apiretry c2c-upload`: files queued for Frame.io C2C (`apiretry::c2c`)
//! in a state directory that survives a kill or a power loss, uploaded in
//! turn, recordings while they grow; it exits when every item is over.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use apiretry::c2c::{C2cEvent, ItemState, Uploader, ADD_RECORDING};
use apiretry::{CancelToken, Client, Profile, Secret};
use lexopt::prelude::*;

use crate::{args, UsageError};

const HELP: &str = "\
usage: apiretry c2c-upload --base URL --state DIR [options] FILE...

Queues each FILE for Frame.io Camera-to-Cloud and uploads the queue: each
file's asset made once (its offset from the file's modification time; a clip
made while the channel was paused is dropped, nothing sent), its parts sent
with the signed headers, a journal each. The queue lives in DIR: run again
after a kill or a power loss and every item not over resumes (files given
again are not queued twice). A file that vanished or cannot be read fails
alone. Exits when every item is over.

With --recording the files are still being written: uploaded as they grow
(real time), each finished at its size once it has not grown for
--settle-ms. Run again without --recording after a power cut: the file's
size is then final.

Exit codes: 0 every item done or dropped (a paused channel); 1 an item
failed or was cancelled; 130 interrupted (SIGINT or SIGTERM: the queue kept
in DIR); 2 bad arguments.

options:
  --base URL            the API's base URL (https://api.frame.io)
  --state DIR           the queue's state directory (made if missing)
  --token T             send 'Authorization: Bearer T'
  --client-version V    the x-client-version header (the firmware's version)
  --filetype T          the files' MIME type (default video/quicktime)
  --recording           the files are still being written
  --settle-ms N         with --recording: finished once unchanged for N ms (default 3000)
  --files N             files uploaded at once (default 1)
  --json                one JSON line per event (state changes, progress)";

pub fn run(argv: impl Iterator<Item = OsString>) -> Result<i32, UsageError> {
    let mut parser = lexopt::Parser::from_args(argv);
    let (mut base, mut state): (Option<String>, Option<PathBuf>) = (None, None);
    let (mut token, mut version) = (None, None);
    let mut filetype = "video/quicktime".to_owned();
    let (mut recording, mut json) = (false, false);
    let mut settle = Duration::from_secs(3);
    let mut files_at_once = 1;
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Value(v) => files.push(v.into()),
            Long("base") => args::set_once(&mut base, parser.value()?.string()?, "--base")?,
            Long("state") => args::set_once(&mut state, parser.value()?.into(), "--state")?,
            Long("token") => token = Some(Secret::new(parser.value()?.string()?)),
            Long("client-version") => version = Some(parser.value()?.string()?),
            Long("filetype") => filetype = parser.value()?.string()?,
            Long("recording") => recording = true,
            Long("settle-ms") => {
                let ms = args::number(&parser.value()?.string()?, "--settle-ms")?;
                settle = Duration::from_millis(ms.into());
            }
            Long("files") => {
                files_at_once = args::number(&parser.value()?.string()?, "--files")? as usize
            }
            Long("json") => json = true,
            Long("help") | Short('h') => {
                println!("{HELP}");
                return Ok(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let base = base.ok_or_else(|| "c2c-upload needs --base".to_owned())?;
    let state = state.ok_or_else(|| "c2c-upload needs --state".to_owned())?;
    let mut builder =
        Client::builder(base).profile(Profile::builtin("c2c").expect("built in").clone());
    if let Some(t) = token {
        builder = builder.token(t);
    }
    if let Some(v) = &version {
        builder = builder.header("x-client-version", v);
    }
    let uploader = Uploader::new(&builder.build(), &state)
        .map_err(|e| UsageError(format!("the state directory: {}", e.message)))?;
    uploader.set_parallel(files_at_once, 0);
    let terminal = std::io::stderr().is_terminal();
    uploader.on_event(move |e| show(e, json, terminal));
    uploader.start();
    let mut ids = Vec::new();
    for file in &files {
        let made = std::fs::metadata(file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        let flags = if recording { ADD_RECORDING } else { 0 };
        match uploader.add(file, &filetype, made, flags) {
            Ok(id) => ids.push((id, file.clone())),
            Err(e) => eprintln!(
                "apiretry c2c-upload: {}: not queued: {}",
                file.display(),
                e.message
            ),
        }
    }
    let cancel = CancelToken::new();
    let signalled = crate::upload::on_signals(&cancel);
    let mut sizes: Vec<(u64, Instant)> = ids.iter().map(|_| (u64::MAX, Instant::now())).collect();
    while !uploader.wait_idle(Duration::from_millis(200)) {
        if cancel.is_cancelled() {
            drop(uploader);
            return Ok(130);
        }
        if recording {
            settled(&uploader, &ids, &mut sizes, settle);
        }
    }
    let _ = signalled;
    let items = uploader.items();
    let bad = items
        .iter()
        .any(|i| matches!(i.state, ItemState::Failed | ItemState::Cancelled));
    if !json {
        for i in &items {
            println!(
                "{} {}: {:?}{}",
                i.id,
                i.path.display(),
                i.state,
                i.kind
                    .as_deref()
                    .map(|k| format!(" ({k})"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(i32::from(bad))
}

/// Finishes the recordings whose files have not grown for `settle`.
fn settled(u: &Uploader, ids: &[(u64, PathBuf)], sizes: &mut [(u64, Instant)], settle: Duration) {
    for ((id, path), (last, since)) in ids.iter().zip(sizes.iter_mut()) {
        let Ok(size) = std::fs::metadata(path).map(|m| m.len()) else {
            continue;
        };
        if size != *last {
            (*last, *since) = (size, Instant::now());
        } else if since.elapsed() >= settle {
            let _ = u.finish(*id, size);
        }
    }
}

fn show(e: &C2cEvent, json: bool, terminal: bool) {
    if json {
        let line = serde_json::json!({
            "id": e.id,
            "state": format!("{:?}", e.state).to_lowercase(),
            "kind": e.kind.map(|k| k.as_str()),
            "bytes_done": e.bytes_done,
            "bytes_total": e.bytes_total,
        });
        println!("{line}");
    } else if terminal {
        eprint!(
            "\r\x1b[Kclip {}: {:?}, {} of {} bytes",
            e.id, e.state, e.bytes_done, e.bytes_total
        );
        if e.state.is_over() {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
    }
}
