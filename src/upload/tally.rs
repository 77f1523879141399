//! How far an upload has come: the counts progress reports are made of,
//! shared with each part's request (whose progress callback must own what
//! it touches). Reports are made under the counts' lock, so they never
//! overlap and never go back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::run::lock;
use super::{UploadProgress, UploadProgressFn};
use crate::flows::Flows;

#[derive(Default)]
struct Counts {
    /// Body bytes of done parts.
    done: u64,
    /// Each part in flight: this attempt's bytes, and the most any of its
    /// attempts reached (what progress shows).
    flight: HashMap<u32, (u64, u64)>,
    /// Body bytes this run sent, retries included.
    sent: u64,
    parts_done: u32,
    /// The file's bytes and parts, 0 while a growing file's are unknown.
    total: (u64, u32),
}

pub(super) struct Tally {
    counts: Mutex<Counts>,
    report: Option<Arc<UploadProgressFn>>,
    /// Told of the bytes sent, to choose the parts in flight.
    flows: Arc<Flows>,
}

impl Tally {
    /// Counts from `done` bytes in `parts_done` parts found done.
    pub fn new(
        (done, parts_done): (u64, u32),
        report: Option<Arc<UploadProgressFn>>,
        flows: Arc<Flows>,
    ) -> Tally {
        Tally {
            counts: Mutex::new(Counts {
                done,
                parts_done,
                ..Counts::default()
            }),
            report,
            flows,
        }
    }

    fn report(&self, c: MutexGuard<'_, Counts>) {
        let Some(report) = &self.report else { return };
        report(&UploadProgress {
            bytes_done: c.done + c.flight.values().map(|f| f.1).sum::<u64>(),
            bytes_total: c.total.0,
            parts_done: c.parts_done,
            parts_total: c.total.1,
        });
    }

    /// The file's size and parts, once known.
    pub fn total(&self, bytes: u64, parts: u32) {
        lock(&self.counts).total = (bytes, parts);
    }

    /// Part `part`'s attempt has sent `sent` bytes (from 0 for each attempt).
    pub fn moved(&self, part: u32, sent: u64) {
        let mut c = lock(&self.counts);
        let (now, most) = c.flight.get(&part).copied().unwrap_or((0, 0));
        c.sent += if sent >= now { sent - now } else { sent };
        c.flight.insert(part, (sent, most.max(sent)));
        let total = c.sent;
        self.report(c);
        self.flows.observe(Instant::now(), total);
    }

    /// Part `part`, of `len` bytes, is done.
    pub fn finished(&self, part: u32, len: u64) {
        let mut c = lock(&self.counts);
        c.flight.remove(&part);
        c.done += len;
        c.parts_done += 1;
        self.report(c);
    }

    /// Body bytes this run sent, retries included.
    pub fn sent(&self) -> u64 {
        lock(&self.counts).sent
    }
}
