//! Sending the parts: `parallel` workers (this thread and scoped std
//! threads) take the next part not done, send it from the held file, check
//! what the server stored, and record it in the journal before it counts
//! as done. The first failure for good, or the caller's cancel, stops the
//! run's own token: every part in flight ends within one read of its body.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::destination::{hex, of_id, of_urls};
use super::journal::JournalFile;
use super::source::Source;
use super::{
    is_expired_url, rules, urls_expired, DonePart, Journal, Layout, Upload, UploadProgress,
    UploadProgressFn, Uploaded, Urls,
};
use crate::cancel::CancelToken;
use crate::client::{Request, RequestClass};
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

/// Sends of one part whose bytes the server stored otherwise (an ETag or
/// `BadDigest` that does not match what was read) before it fails.
const CHECKSUM_TRIES: u32 = 3;

struct State {
    todo: VecDeque<u32>,
    journal: Journal,
    store: Option<JournalFile>,
    failure: Option<ApiError>,
}

/// The counts progress reports are made of.
#[derive(Default)]
struct Counts {
    /// Body bytes of done parts.
    done: u64,
    /// Each part in flight: this attempt's bytes, and the most any of its
    /// attempts reached (what progress shows, so that it never goes back).
    flight: HashMap<u32, (u64, u64)>,
    /// Body bytes this run sent, retries included.
    sent: u64,
    parts_done: u32,
}

/// Shared with each part's request, whose progress callback must own what
/// it touches.
struct Tally {
    counts: Mutex<Counts>,
    layout: Layout,
    report: Option<Arc<UploadProgressFn>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Tally {
    /// Reports under the counts' lock: reports never overlap, and each
    /// sees at least what the one before it saw.
    fn report(&self, c: MutexGuard<'_, Counts>) {
        let Some(report) = &self.report else { return };
        report(&UploadProgress {
            bytes_done: c.done + c.flight.values().map(|f| f.1).sum::<u64>(),
            bytes_total: self.layout.size,
            parts_done: c.parts_done,
            parts_total: self.layout.parts,
        });
    }

    /// Part `part`'s attempt has sent `sent` bytes (from 0 for each attempt).
    fn moved(&self, part: u32, sent: u64) {
        let mut c = lock(&self.counts);
        let (now, most) = c.flight.get(&part).copied().unwrap_or((0, 0));
        c.sent += if sent >= now { sent - now } else { sent };
        c.flight.insert(part, (sent, most.max(sent)));
        self.report(c);
    }

    fn finished(&self, part: u32, len: u64) {
        let mut c = lock(&self.counts);
        c.flight.remove(&part);
        c.done += len;
        c.parts_done += 1;
        self.report(c);
    }
}

struct Run<'a> {
    up: &'a Upload,
    source: Arc<Source>,
    /// Cancelled by the caller's token, a failure for good, or the end.
    stop: CancelToken,
    state: Mutex<State>,
    tally: Arc<Tally>,
}

/// Whether `name: value` can be sent as a header.
pub(crate) fn is_header(name: &str, value: &str) -> bool {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    !name.is_empty()
        && name.chars().all(token)
        && !value.chars().any(|c| c == '\r' || c == '\n' || c == '\0')
}

pub(super) fn run(up: &Upload, cancel: &CancelToken) -> Result<Uploaded, ApiError> {
    let source = Arc::new(Source::open(&up.path)?);
    let layout = Layout::new(source.start.size, up.part_size)?;
    if up.part_rules.unwrap_or(up.profile.name() == "s3") {
        rules::check_s3(&layout)?;
    }
    if let Some((name, _)) = up.headers.iter().find(|(n, v)| !is_header(n, v)) {
        return Err(ApiError::invalid_input(format!(
            "the part header {name:?} is not a header name with a one-line value"
        )));
    }
    if let Urls::Given(urls) = &up.urls {
        if urls.len() != layout.parts as usize {
            return Err(ApiError::invalid_input(format!(
                "{} URLs for {} parts ({} bytes in parts of {}): one URL per part",
                urls.len(),
                layout.parts,
                layout.size,
                layout.part_size
            )));
        }
    }
    let destination = match (&up.destination, &up.urls) {
        (Some(id), _) => of_id(id),
        (None, Urls::Given(urls)) => of_urls(urls),
        (None, Urls::Asked(_)) => String::new(),
    };
    let (store, journal) = match &up.journal {
        Some(path) => {
            let (store, journal) = JournalFile::open(path, source.start, layout, &destination)?;
            (Some(store), journal)
        }
        None => (None, Journal::new(source.start, layout, &destination)),
    };
    let resumed = journal.done.len() as u32;
    let done_bytes: u64 = journal.done.keys().map(|&i| layout.range(i).1).sum();
    let todo: VecDeque<u32> = (1..=layout.parts)
        .filter(|i| !journal.done.contains_key(i))
        .collect();
    let workers = up.parallel.min(todo.len());
    let run = Run {
        up,
        source,
        stop: cancel.child(),
        state: Mutex::new(State {
            todo,
            journal,
            store,
            failure: None,
        }),
        tally: Arc::new(Tally {
            counts: Mutex::new(Counts {
                done: done_bytes,
                parts_done: resumed,
                ..Counts::default()
            }),
            layout,
            report: up.progress.clone(),
        }),
    };
    std::thread::scope(|s| {
        for _ in 1..workers {
            s.spawn(|| run.work());
        }
        run.work();
    });
    let mut state = run
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let journal_bytes = state.store.take().map_or(0, |s| s.compact(&state.journal));
    if let Some(failure) = state.failure {
        return Err(failure);
    }
    if state.journal.done.len() < layout.parts as usize {
        return Err(ApiError::new(Kind::Cancelled).with_message("the upload was cancelled"));
    }
    // A change after the last part's own check still undoes the whole.
    run.source.unchanged()?;
    let bytes_sent = lock(&run.tally.counts).sent;
    Ok(Uploaded {
        etags: state.journal.done.into_values().map(|d| d.etag).collect(),
        bytes_sent,
        resumed,
        journal_bytes,
    })
}

impl Run<'_> {
    /// Takes parts until none is left or the run is stopped.
    fn work(&self) {
        loop {
            let part = {
                let mut s = lock(&self.state);
                match s.todo.pop_front() {
                    Some(part) if !self.stop.is_cancelled() => part,
                    _ => return,
                }
            };
            let done = self.send(part).and_then(|done| {
                // The bytes sent are the file's only if it did not change.
                self.source.unchanged()?;
                Ok(done)
            });
            let mut s = lock(&self.state);
            let recorded = done.and_then(|done| match &mut s.store {
                Some(store) => store.append(part, &done).map(|()| done),
                None => Ok(done),
            });
            match recorded {
                Ok(done) => {
                    s.journal.done.insert(part, done);
                    drop(s);
                    self.tally.finished(part, self.tally.layout.range(part).1);
                }
                Err(e) => {
                    // What fails once the run is stopped was stopped by it.
                    if !self.stop.is_cancelled() {
                        s.failure.get_or_insert(e);
                    }
                    drop(s);
                    self.stop.cancel();
                    return;
                }
            }
        }
    }

    fn url(&self, part: u32, expired: bool) -> Result<String, ApiError> {
        match &self.up.urls {
            Urls::Given(urls) => Ok(urls[part as usize - 1].clone()),
            Urls::Asked(source) => source(part, expired),
        }
    }

    /// One attempt's request for part `part` at `url`, its bytes hashed
    /// into `digest` as they stream.
    fn request(&self, part: u32, url: &str, digest: &Arc<Mutex<Option<[u8; 16]>>>) -> Request {
        let up = self.up;
        let (offset, len) = self.tally.layout.range(part);
        let (source, stop, slot) = (self.source.clone(), self.stop.clone(), digest.clone());
        let tally = self.tally.clone();
        let mut req = Request::new(&up.method, url)
            .class(RequestClass::ChunkUpload)
            .without_authorization()
            .follow_redirects(false)
            .body_reader_sized(len, move || {
                *lock(&slot) = None;
                Ok(Box::new(source.part(
                    offset,
                    len,
                    stop.clone(),
                    slot.clone(),
                )))
            })
            .progress(move |p| tally.moved(part, p.sent));
        for (name, value) in &up.headers {
            req = req.header(name, value);
        }
        req.profile = Some(up.profile.clone());
        req
    }

    /// Sends part `part` until it is done or fails for good.
    fn send(&self, part: u32) -> Result<DonePart, ApiError> {
        let up = self.up;
        let mut url = self.url(part, false)?;
        let mut renewed = false;
        let mut mismatches = 0;
        let digest = Arc::new(Mutex::new(None));
        loop {
            let mut req = self.request(part, &url, &digest);
            if up.content_md5 {
                use base64::Engine as _;
                let (offset, len) = self.tally.layout.range(part);
                let md5 = self.source.md5(offset, len, &self.stop).map_err(|e| {
                    ApiError::new(Kind::Io).with_message(format!("part {part}: reading: {e}"))
                })?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(md5);
                req = req.header("Content-MD5", &encoded);
            }
            let answer = up.client.send_cancellable(&req, &self.stop);
            let sent = lock(&digest).take().map(|d| hex(&d));
            let mismatch = match answer {
                Ok(resp) => {
                    let etag = resp.header("ETag").map(str::to_owned).ok_or_else(|| {
                        ApiError::new(Kind::Protocol)
                            .with_retry(Retry::No)
                            .with_message(format!("part {part}: the answer has no ETag"))
                    })?;
                    match plain_md5(&etag) {
                        Some(stored) if Some(&stored) != sent.as_ref() => format!(
                            "S3 stored bytes whose MD5 is {stored}, not the {} sent",
                            sent.as_deref().unwrap_or("(unread)")
                        ),
                        _ => return Ok(DonePart { etag, md5: sent }),
                    }
                }
                Err(e) if e.code.as_deref() == Some("BadDigest") => e.message.to_string(),
                Err(e) if is_expired_url(&e) => match &up.urls {
                    Urls::Asked(_) if !renewed => {
                        url = self.url(part, true)?;
                        renewed = true;
                        continue;
                    }
                    _ => return Err(urls_expired(part, &e)),
                },
                Err(mut e) => {
                    e.message = format!("part {part}: {}", e.message).into();
                    return Err(e);
                }
            };
            mismatches += 1;
            if mismatches >= CHECKSUM_TRIES {
                return Err(ApiError::new(Kind::Protocol)
                    .with_retry(Retry::No)
                    .with_code("checksum_mismatch")
                    .with_message(format!(
                        "part {part}: sent {mismatches} times, stored otherwise each time: {mismatch}"
                    )));
            }
            log::warn!("part {part}: {mismatch}; sent again");
        }
    }
}

/// The MD5 an ETag states, when it is a plain one (a part's, or an object
/// sent whole without encryption by KMS): 32 hex digits, quoted or not.
fn plain_md5(etag: &str) -> Option<String> {
    let t = etag.trim().trim_start_matches("W/").trim_matches('"');
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    /// Rows: ETag -> the MD5 it states.
    #[test]
    fn only_a_plain_md5_etag_is_checked() {
        let md5 = "9e107d9d372bb6826bd81d3542a419d6";
        let rows = [
            ("\"9e107d9d372bb6826bd81d3542a419d6\"", Some(md5)),
            ("9E107D9D372BB6826BD81D3542A419D6", Some(md5)),
            ("\"9e107d9d372bb6826bd81d3542a419d6-3\"", None),
            ("\"mock-0123456789abcdef\"", None),
            ("\"\"", None),
            ("\"9e107d9d372bb6826bd81d3542a419zz\"", None),
        ];
        for (etag, want) in rows {
            assert_eq!(super::plain_md5(etag).as_deref(), want, "{etag}");
        }
    }
}
