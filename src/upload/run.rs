//! Sending the parts: `parallel` workers (this thread and scoped std
//! threads) take the next part not done, send it, and record its ETag in
//! the journal before it counts as done. The first failure for good stops
//! the workers from taking more; parts in flight finish.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{
    is_expired_url, urls_expired, Identity, Journal, Layout, Upload, UploadProgress,
    UploadProgressFn, Uploaded, Urls,
};
use crate::cancel::CancelToken;
use crate::client::{Request, RequestClass};
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

struct State {
    todo: VecDeque<u32>,
    journal: Journal,
    failure: Option<ApiError>,
}

/// What the progress reports are made of, shared with each part's
/// request (whose progress callback must own what it touches).
struct Tally {
    /// Body bytes of done parts.
    done: AtomicU64,
    /// Bytes of each part in flight, this attempt.
    flight: Mutex<HashMap<u32, u64>>,
    /// Body bytes this run sent, retries included.
    sent: AtomicU64,
    parts_done: AtomicU64,
    layout: Layout,
    report: Option<Arc<UploadProgressFn>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Tally {
    fn report(&self) {
        let Some(report) = &self.report else { return };
        let flight: u64 = lock(&self.flight).values().sum();
        report(&UploadProgress {
            bytes_done: self.done.load(Ordering::Acquire) + flight,
            bytes_total: self.layout.size,
            parts_done: self.parts_done.load(Ordering::Acquire) as u32,
            parts_total: self.layout.parts,
        });
    }

    /// Part `part`'s attempt has sent `sent` bytes (from 0 for each attempt).
    fn moved(&self, part: u32, sent: u64) {
        let last = lock(&self.flight).insert(part, sent).unwrap_or(0);
        let new = if sent >= last { sent - last } else { sent };
        self.sent.fetch_add(new, Ordering::AcqRel);
        self.report();
    }

    fn finished(&self, part: u32, len: u64) {
        lock(&self.flight).remove(&part);
        self.done.fetch_add(len, Ordering::AcqRel);
        self.parts_done.fetch_add(1, Ordering::AcqRel);
        self.report();
    }
}

struct Run<'a> {
    up: &'a Upload,
    cancel: &'a CancelToken,
    state: Mutex<State>,
    tally: Arc<Tally>,
}

pub(super) fn run(up: &Upload, cancel: &CancelToken) -> Result<Uploaded, ApiError> {
    let shown = up.path.display();
    let meta = std::fs::metadata(&up.path)
        .map_err(|e| ApiError::new(Kind::Io).with_message(format!("reading {shown}: {e}")))?;
    if !meta.is_file() {
        return Err(ApiError::invalid_input(format!("{shown} is not a file")));
    }
    let layout = Layout::new(meta.len(), up.part_size)?;
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
    let identity = Identity::of(&meta);
    let journal = match &up.journal {
        Some(path) => Journal::open(path, identity, layout)?,
        None => Journal::new(identity, layout),
    };
    let resumed = journal.done.len() as u32;
    let done_bytes: u64 = journal.done.keys().map(|&i| layout.range(i).1).sum();
    let todo: VecDeque<u32> = (1..=layout.parts)
        .filter(|i| !journal.done.contains_key(i))
        .collect();
    let workers = up.parallel.min(todo.len());
    let run = Run {
        up,
        cancel,
        state: Mutex::new(State {
            todo,
            journal,
            failure: None,
        }),
        tally: Arc::new(Tally {
            done: AtomicU64::new(done_bytes),
            flight: Mutex::default(),
            sent: AtomicU64::new(0),
            parts_done: AtomicU64::new(u64::from(resumed)),
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
    let state = run
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(failure) = state.failure {
        return Err(failure);
    }
    if state.journal.done.len() < layout.parts as usize {
        return Err(ApiError::new(Kind::Cancelled).with_message("the upload was cancelled"));
    }
    Ok(Uploaded {
        etags: state.journal.done.into_values().collect(),
        bytes_sent: run.tally.sent.load(Ordering::Acquire),
        resumed,
    })
}

impl Run<'_> {
    /// Takes parts until none is left, one failed, or the run is cancelled.
    fn work(&self) {
        loop {
            let part = {
                let mut s = lock(&self.state);
                if s.failure.is_some() || self.cancel.is_cancelled() {
                    return;
                }
                match s.todo.pop_front() {
                    Some(part) => part,
                    None => return,
                }
            };
            let sent = self.send(part);
            let mut s = lock(&self.state);
            let etag = match sent {
                Ok(etag) => etag,
                Err(e) => {
                    s.failure.get_or_insert(e);
                    return;
                }
            };
            s.journal.done.insert(part, etag);
            if let Some(path) = &self.up.journal {
                if let Err(e) = s.journal.save(path) {
                    s.failure.get_or_insert(e);
                    return;
                }
            }
            drop(s);
            self.tally.finished(part, self.tally.layout.range(part).1);
        }
    }

    fn url(&self, part: u32, expired: bool) -> Result<String, ApiError> {
        match &self.up.urls {
            Urls::Given(urls) => Ok(urls[part as usize - 1].clone()),
            Urls::Asked(source) => source(part, expired),
        }
    }

    /// Sends part `part` until it is done or fails for good: its ETag.
    fn send(&self, part: u32) -> Result<String, ApiError> {
        let up = self.up;
        let (offset, len) = self.tally.layout.range(part);
        let mut url = self.url(part, false)?;
        let mut renewed = false;
        loop {
            let tally = self.tally.clone();
            let mut req = Request::new(&up.method, &url)
                .class(RequestClass::ChunkUpload)
                .without_authorization()
                .body_file(&up.path, offset, len)
                .progress(move |p| tally.moved(part, p.sent));
            req.profile = Some(up.profile.clone());
            match up.client.send_cancellable(&req, self.cancel) {
                Ok(resp) => {
                    return resp.header("ETag").map(str::to_owned).ok_or_else(|| {
                        ApiError::new(Kind::Protocol)
                            .with_retry(Retry::No)
                            .with_message(format!("part {part}: the answer has no ETag"))
                    });
                }
                Err(e) if is_expired_url(&e) => match &up.urls {
                    Urls::Asked(_) if !renewed => {
                        url = self.url(part, true)?;
                        renewed = true;
                    }
                    _ => return Err(urls_expired(part, &e)),
                },
                Err(mut e) => {
                    e.message = format!("part {part}: {}", e.message).into();
                    return Err(e);
                }
            }
        }
    }
}
