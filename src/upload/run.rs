//! Sending the parts: `parallel` workers (this thread and scoped std
//! threads) take the next part not done, send it from the held file, check
//! what the server stored, and record it in the journal before it counts
//! as done. A growing file's parts are cut as it grows. The first failure
//! for good, or the caller's cancel, stops the run's own token: every part
//! in flight ends within one read of its body.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::destination::{hex, of_id, of_urls};
use super::growth::{self, Growth, LOOK_EVERY};
use super::journal::{Expect, JournalFile};
use super::source::Source;
use super::tally::Tally;
use super::{
    is_expired_url, rules, urls_expired, DonePart, Journal, Layout, PartRequest, Upload, Uploaded,
    Urls,
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
    /// The layout once the file's size is final.
    layout: Option<Layout>,
    /// Parts cut so far (a growing file's), and whether that is all.
    cut: u32,
    all_cut: bool,
    journal: Journal,
    store: Option<JournalFile>,
    failure: Option<ApiError>,
}

/// One part to send.
#[derive(Clone, Copy)]
struct Task {
    number: u32,
    offset: u64,
    len: u64,
    /// The file's size when this is the final part.
    file_size: Option<u64>,
}

struct Run<'a> {
    up: &'a Upload,
    source: Arc<Source>,
    part_size: u64,
    /// The growing file's handle, while its size is not final.
    growth: Option<&'a Growth>,
    /// Cancelled by the caller's token, a failure for good, or the end.
    stop: CancelToken,
    state: Mutex<State>,
    tally: Arc<Tally>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether `name: value` can be sent as a header.
pub(crate) fn is_header(name: &str, value: &str) -> bool {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    !name.is_empty()
        && name.chars().all(token)
        && !value.chars().any(|c| c == '\r' || c == '\n' || c == '\0')
}

/// What is refused before anything is sent: S3's rules, headers, URLs.
fn check(up: &Upload, layout: Option<&Layout>) -> Result<(), ApiError> {
    let p = up.part_size;
    if up.part_rules.unwrap_or(up.profile.name() == "s3") {
        match layout {
            Some(l) => rules::check_s3(l)?,
            None => rules::check_s3(&Layout::new(p.saturating_mul(2), p)?)?,
        }
    }
    if let Some((name, _)) = up.headers.iter().find(|(n, v)| !is_header(n, v)) {
        return Err(ApiError::invalid_input(format!(
            "the part header {name:?} is not a header name with a one-line value"
        )));
    }
    match (&up.urls, layout) {
        (Urls::Given(_), None) => Err(ApiError::invalid_input(
            "a growing file's parts are not known in advance: give a part source, not URLs",
        )),
        (Urls::Given(urls), Some(l)) if urls.len() != l.parts as usize => {
            Err(ApiError::invalid_input(format!(
                "{} URLs for {} parts ({} bytes in parts of {}): one URL per part",
                urls.len(),
                l.parts,
                l.size,
                l.part_size
            )))
        }
        _ => Ok(()),
    }
}

pub(super) fn run(up: &Upload, cancel: &CancelToken) -> Result<Uploaded, ApiError> {
    let source = Arc::new(Source::open(&up.path, up.growth.is_some())?);
    let file = source.start;
    let fixed = match &up.growth {
        None => Some(Layout::new(file.size, up.part_size)?),
        Some(_) => None,
    };
    check(up, fixed.as_ref())?;
    let destination = match (&up.destination, &up.urls) {
        (Some(id), _) => of_id(id),
        (None, Urls::Given(urls)) => of_urls(urls),
        (None, Urls::Asked(_)) => String::new(),
    };
    let fresh = match fixed {
        Some(l) => Journal::new(file, l, &destination),
        None => Journal::growing(file, up.part_size, &destination),
    };
    let (store, journal) = match &up.journal {
        Some(path) => {
            let expect = Expect {
                file,
                part_size: up.part_size,
                layout: fixed,
                destination: &destination,
            };
            let (store, journal) = JournalFile::open(path, &expect, fresh)?;
            (Some(store), journal)
        }
        None => (None, fresh),
    };
    // A growing file whose journal says it was finished is final.
    let layout = fixed.or((!journal.growing).then_some(journal.layout));
    let resumed = journal.done.len() as u32;
    let done_bytes = journal
        .done
        .keys()
        .map(|&i| layout.map_or(up.part_size, |l| l.range(i).1))
        .sum();
    let tally = Arc::new(Tally::new(done_bytes, resumed, up.progress.clone()));
    let parts = layout.map_or(0, |l| l.parts);
    if let Some(l) = layout {
        tally.total(l.size, l.parts);
    }
    let todo: VecDeque<u32> = (1..=parts)
        .filter(|i| !journal.done.contains_key(i))
        .collect();
    let workers = match layout {
        Some(_) => up.parallel.min(todo.len()),
        None => up.parallel,
    };
    let run = Run {
        up,
        source,
        part_size: up.part_size,
        growth: up.growth.as_ref().filter(|_| layout.is_none()),
        stop: cancel.child(),
        state: Mutex::new(State {
            todo,
            layout,
            cut: parts,
            all_cut: layout.is_some(),
            journal,
            store,
            failure: None,
        }),
        tally,
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
    let complete = state.failure.is_none()
        && state.all_cut
        && state
            .layout
            .is_some_and(|l| state.journal.done.len() == l.parts as usize);
    let unchanged = run.source.unchanged();
    if let (true, Ok(()), Some(l)) = (complete, &unchanged, state.layout) {
        // The journal of a finished file: its identity and layout final.
        state.journal.file = run.source.now().unwrap_or(state.journal.file);
        state.journal.layout = l;
        state.journal.growing = false;
    }
    let journal_bytes = state.store.take().map_or(0, |s| s.compact(&state.journal));
    if let Some(failure) = state.failure {
        return Err(failure);
    }
    if !complete {
        return Err(ApiError::new(Kind::Cancelled).with_message("the upload was cancelled"));
    }
    // A change after the last part's own check still undoes the whole.
    unchanged?;
    Ok(Uploaded {
        etags: state.journal.done.into_values().map(|d| d.etag).collect(),
        bytes_sent: run.tally.sent(),
        resumed,
        journal_bytes,
    })
}

impl Run<'_> {
    /// Takes parts until none is left or the run is stopped.
    fn work(&self) {
        while let Some(task) = self.next() {
            let done = self.send(&task).and_then(|done| {
                // The bytes sent are the file's only if it did not change.
                self.source.unchanged()?;
                Ok(done)
            });
            let mut s = lock(&self.state);
            let recorded = done.and_then(|done| match &mut s.store {
                Some(store) => store.append(task.number, &done).map(|()| done),
                None => Ok(done),
            });
            match recorded {
                Ok(done) => {
                    s.journal.done.insert(task.number, done);
                    drop(s);
                    self.tally.finished(task.number, task.len);
                }
                Err(e) => return self.fail(s, e),
            }
        }
    }

    /// Ends the run with `e`, unless it was stopped before (then `e` is
    /// what stopping it did).
    fn fail(&self, mut s: MutexGuard<'_, State>, e: ApiError) {
        if !self.stop.is_cancelled() {
            s.failure.get_or_insert(e);
        }
        drop(s);
        self.stop.cancel();
    }

    /// The next part to send; for a growing file, waits for the file to
    /// hold it.
    fn next(&self) -> Option<Task> {
        loop {
            let mut s = lock(&self.state);
            if self.stop.is_cancelled() {
                return None;
            }
            if let Some(number) = s.todo.pop_front() {
                let (offset, len) = match s.layout {
                    Some(l) => l.range(number),
                    None => (u64::from(number - 1) * self.part_size, self.part_size),
                };
                let last = s.layout.filter(|l| l.parts == number).map(|l| l.size);
                return Some(Task {
                    number,
                    offset,
                    len,
                    file_size: last,
                });
            }
            let growth = self.growth.filter(|_| !s.all_cut)?;
            match self.grow(&mut s, growth) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    self.fail(s, e);
                    return None;
                }
            }
            drop(s);
            growth.wait(LOOK_EVERY);
        }
    }

    /// Cuts the parts the growing file now holds; whether any was.
    fn grow(&self, s: &mut State, growth: &Growth) -> Result<bool, ApiError> {
        let final_size = growth.final_size();
        let size = self.source.now()?.size;
        let (cut, all) = growth::cut(s.cut, size, self.part_size, final_size)?;
        if let (true, Some(f)) = (all, final_size) {
            let l = Layout::new(f, self.part_size)?;
            s.layout = Some(l);
            self.tally.total(l.size, l.parts);
        }
        let new: Vec<u32> = (s.cut + 1..=cut)
            .filter(|p| !s.journal.done.contains_key(p))
            .collect();
        s.todo.extend(new);
        let moved = cut > s.cut || all;
        (s.cut, s.all_cut) = (cut, all);
        Ok(moved)
    }

    fn url(&self, task: &Task, expired: bool) -> Result<String, ApiError> {
        match &self.up.urls {
            Urls::Given(urls) => Ok(urls[task.number as usize - 1].clone()),
            Urls::Asked(source) => source(&PartRequest {
                number: task.number,
                offset: task.offset,
                size: task.len,
                is_final: task.file_size.is_some(),
                file_size: task.file_size,
                expired,
            }),
        }
    }

    /// One attempt's request for `task` at `url`, its bytes hashed into
    /// `digest` as they stream.
    fn request(&self, task: &Task, url: &str, digest: &Arc<Mutex<Option<[u8; 16]>>>) -> Request {
        let up = self.up;
        let Task {
            number,
            offset,
            len,
            ..
        } = *task;
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
            .progress(move |p| tally.moved(number, p.sent));
        for (name, value) in &up.headers {
            req = req.header(name, value);
        }
        req.profile = Some(up.profile.clone());
        req
    }

    /// Sends `task` until it is done or fails for good.
    fn send(&self, task: &Task) -> Result<DonePart, ApiError> {
        let (up, part) = (self.up, task.number);
        let mut url = self.url(task, false)?;
        let mut renewed = false;
        let mut mismatches = 0;
        let digest = Arc::new(Mutex::new(None));
        loop {
            let mut req = self.request(task, &url, &digest);
            if up.content_md5 {
                use base64::Engine as _;
                let md5 = self
                    .source
                    .md5(task.offset, task.len, &self.stop)
                    .map_err(|e| {
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
                        url = self.url(task, true)?;
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
