//! How far an attempt's transfer has come, told to the caller at a bounded
//! rate from the calling thread (a device's upload bar).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One attempt's bytes so far. Each attempt starts again from zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes of the request's body handed to the connection.
    pub sent: u64,
    /// The request body's length, when known.
    pub send_total: Option<u64>,
    /// Bytes of the answer's body received.
    pub received: u64,
    /// The answer body's length (`Content-Length`), when known.
    pub receive_total: Option<u64>,
}

/// Receives [`Progress`] reports.
pub type ProgressFn = dyn Fn(&Progress) + Send + Sync;

/// Reports come at most this often, besides each direction's last.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The meter of one attempt: counts and reports, throttled. Shared by the
/// upload reader (which ureq owns) and the download loop, both on the
/// calling thread.
#[derive(Clone)]
pub(crate) struct Meter(Arc<Shared>);

struct Shared {
    report: Arc<ProgressFn>,
    /// The counts, and when they were last reported.
    state: Mutex<(Progress, Option<Instant>)>,
}

impl Meter {
    pub fn new(report: Arc<ProgressFn>, send_total: Option<u64>) -> Self {
        let start = Progress {
            send_total,
            ..Progress::default()
        };
        Meter(Arc::new(Shared {
            report,
            state: Mutex::new((start, None)),
        }))
    }

    /// `n` more bytes went out; `done` when the body has all gone.
    pub fn sent(&self, n: u64, done: bool) {
        self.update(|p| p.sent += n, done);
    }

    /// The answer's head came, with its body's length when stated.
    pub fn answer(&self, total: Option<u64>) {
        self.update(|p| p.receive_total = total, false);
    }

    /// `n` more bytes of the answer came; `done` at its end.
    pub fn received(&self, n: u64, done: bool) {
        self.update(|p| p.received += n, done);
    }

    fn update(&self, change: impl FnOnce(&mut Progress), last: bool) {
        let Shared { report, state } = &*self.0;
        let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut s.0);
        let now = Instant::now();
        let due = last
            || s.1
                .is_none_or(|at| now.duration_since(at) >= PROGRESS_EVERY);
        if !due {
            return;
        }
        s.1 = Some(now);
        let progress = s.0;
        drop(s);
        report(&progress);
    }
}
