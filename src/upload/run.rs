//! Sending the parts: workers (this thread and scoped std threads), as
//! many in flight as `flows` allows, take the next part not done, send it from the held file, check
//! what the server stored, and record it in the journal before it counts
//! as done. A growing file's parts are cut as it grows. The first failure
//! for good, or the caller's cancel, stops the run's own token: every part
//! in flight ends within one read of its body.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::destination::{of_id, of_urls, signed_headers_sent};
use super::growth::{self, Growth, LOOK_EVERY};
use super::journal::{Expect, JournalFile};
use super::source::Source;
use super::tally::Tally;
use super::{rules, Journal, Layout, PartRequest, Upload, Uploaded, Urls};
use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::flows::Flows;
use crate::headers::{is_header_name, is_wire_text};
use crate::kind::Kind;

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
pub(super) struct Task {
    pub(super) number: u32,
    pub(super) offset: u64,
    pub(super) len: u64,
    /// The file's size when this is the final part.
    pub(super) file_size: Option<u64>,
}

pub(super) struct Run<'a> {
    pub(super) up: &'a Upload,
    pub(super) source: Arc<Source>,
    pub(super) part_size: u64,
    /// The growing file's handle, while its size is not final.
    pub(super) growth: Option<&'a Growth>,
    /// Cancelled by the caller's token, a failure for good, or the end.
    pub(super) stop: CancelToken,
    state: Mutex<State>,
    pub(super) tally: Arc<Tally>,
    flows: Arc<Flows>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
    let sendable = |n: &str, v: &str| is_header_name(n) && is_wire_text(v, true);
    if let Some((name, _)) = up.headers.iter().find(|(n, v)| !sendable(n, v)) {
        return Err(ApiError::invalid_input(format!(
            "the part header {name:?} is not a header name with a one-line value"
        )));
    }
    if let Urls::Given(urls) = &up.urls {
        for url in urls.iter() {
            signed_headers_sent(url, &up.headers, up.content_md5)?;
        }
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
    let flows = Arc::new(Flows::for_upload(
        up.parallel,
        || up.client.uploads_paced(),
        up.growth.is_some(),
    ));
    let tally = Arc::new(Tally::new(
        (done_bytes, resumed),
        up.progress.clone(),
        flows.clone(),
    ));
    let parts = layout.map_or(0, |l| l.parts);
    if let Some(l) = layout {
        tally.total(l.size, l.parts);
    }
    let todo: VecDeque<u32> = (1..=parts)
        .filter(|i| !journal.done.contains_key(i))
        .collect();
    let workers = match layout {
        Some(_) => flows.most().min(todo.len()),
        None => flows.most(),
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
        flows,
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
    /// Takes parts, in a slot of the flows, until none is left or the run
    /// is stopped.
    fn work(&self) {
        while self.flows.enter() {
            let Some(task) = self.next() else {
                self.flows.leave();
                return;
            };
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
                    self.flows.leave();
                }
                Err(e) => {
                    self.flows.leave();
                    return self.fail(s, e);
                }
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
        self.flows.stop();
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

    /// `task`'s URL. Given URLs were checked for their signed headers
    /// before the run; an asked one is checked as it comes.
    pub(super) fn url(&self, task: &Task, expired: bool) -> Result<String, ApiError> {
        let up = self.up;
        match &up.urls {
            Urls::Given(urls) => Ok(urls[task.number as usize - 1].clone()),
            Urls::Asked(source) => {
                let url = source(&PartRequest {
                    number: task.number,
                    offset: task.offset,
                    size: task.len,
                    is_final: task.file_size.is_some(),
                    file_size: task.file_size,
                    expired,
                })?;
                signed_headers_sent(&url, &up.headers, up.content_md5)?;
                Ok(url)
            }
        }
    }
}
