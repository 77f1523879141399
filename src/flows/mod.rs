//! How many parts of an upload are in flight: fixed when the caller says,
//! else chosen from what the link gives.
//!
//! On a lossy link each TCP flow under a loss-based congestion control
//! (cubic, most devices' default) is held to a few Mbit/s whatever the
//! link's rate (Mathis: `MSS / RTT * 1.22 / sqrt(loss)`, 2.5 Mbit/s at
//! 80 ms and 0.5% loss), so the upload's rate is the number of flows times
//! that; on a clean link, or under BBR, a few flows already fill it and
//! more only contend. So the engine climbs: it starts with
//! [`START`] parts in flight and, after each window of [`WINDOW`] with
//! every slot busy, doubles them while the aggregate rate grew by
//! [`MARGIN`] with the last step; a step that gave nothing is undone and
//! the count held for [`HOLD`] windows before it probes one more (then
//! doubles again if that paid). Never past the cap. The window after a
//! change, and the first, decide nothing: a new flow's first bytes fill
//! its congestion window and unsent queue, not the link. A file of few parts
//! (Frame.io's may have 3) climbs within a few windows or not at all.
//!
//! Under BBR (the default for upload parts where the kernel gives it) the
//! climb is not needed and cannot be measured: one BBR flow fills a lossy
//! link, and each new flow's start (BBR overshoots at first) reads as a
//! gain in the bytes handed over. There every part goes at once, up to
//! the cap: what is lost under BBR is each part's end, a round trip and
//! the server's answer with the flow idle, which other flows in flight
//! cover (an LTE-like link, 13 parts of 5 MiB: 0.62 of the link with 2 in
//! flight, 0.72 with 4, 0.77 with 8, 0.82 with all 13).
//!
//! A window in which a slot was idle (the last parts, a growing file
//! waiting for bytes) decides nothing: a file whose parts are all in
//! flight is not slowed.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Parts in flight at the start.
pub const START: usize = 4;
/// The most parts in flight the engine chooses.
pub const CAP: usize = 16;
/// How long each step is measured.
pub const WINDOW: Duration = Duration::from_secs(1);
/// The growth a step must bring to be kept: 10%.
pub const MARGIN: f64 = 0.10;
/// Windows held after a step that gave nothing.
pub const HOLD: u32 = 4;

#[derive(Debug)]
struct State {
    target: usize,
    active: usize,
    stopped: bool,
    /// Where the window started: when, and the bytes sent by then.
    window: Option<(Instant, u64)>,
    /// Whether a slot was idle in this window.
    idle: bool,
    /// The last window's rate, and the step taken after it.
    last_rate: f64,
    step: usize,
    hold: u32,
    /// Whether a step was ever undone: probes are one flow from then on.
    settled: bool,
    /// Whether this window follows a change: it decides nothing.
    settling: bool,
}

/// The slots for parts in flight, and (when adaptive) their count's climb.
#[derive(Debug)]
pub(crate) struct Flows {
    state: Mutex<State>,
    freed: Condvar,
    /// `None`: fixed at the start's count.
    cap: Option<usize>,
}

impl Flows {
    /// `n` parts in flight, always.
    pub fn fixed(n: usize) -> Flows {
        Flows::new(n.max(1), None)
    }

    /// From [`START`] up to `cap` in flight, as the link gives.
    pub fn adaptive(cap: usize) -> Flows {
        Flows::new(START.min(cap.max(1)), Some(cap.max(1)))
    }

    /// One upload's slots: `fixed` when the caller said; else, where its
    /// connections are `paced` (BBR), every part at once up to [`CAP`],
    /// but the start's few for a `growing` file, whose parts come one by
    /// one as it grows while each waiting worker looks at the file every
    /// 50 ms; else the climb.
    pub fn for_upload(fixed: Option<usize>, paced: impl FnOnce() -> bool, growing: bool) -> Flows {
        match fixed {
            Some(n) => Flows::fixed(n),
            None if paced() => Flows::fixed(if growing { START } else { CAP }),
            None => Flows::adaptive(CAP),
        }
    }

    fn new(target: usize, cap: Option<usize>) -> Flows {
        Flows {
            state: Mutex::new(State {
                target,
                active: 0,
                stopped: false,
                window: None,
                idle: false,
                last_rate: 0.0,
                step: 0,
                hold: 0,
                settled: false,
                // The first window holds the connections' start.
                settling: true,
            }),
            freed: Condvar::new(),
            cap,
        }
    }

    /// The most workers that can ever be in flight.
    pub fn most(&self) -> usize {
        self.cap.unwrap_or_else(|| self.lock().target)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a free slot and takes it; `false` once stopped.
    pub fn enter(&self) -> bool {
        let mut s = self.lock();
        while !s.stopped && s.active >= s.target {
            s = self.freed.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        if s.stopped {
            return false;
        }
        s.active += 1;
        true
    }

    /// Gives a slot back.
    pub fn leave(&self) {
        let mut s = self.lock();
        s.active = s.active.saturating_sub(1);
        drop(s);
        self.freed.notify_one();
    }

    /// Wakes every waiter for good: the run is over.
    pub fn stop(&self) {
        self.lock().stopped = true;
        self.freed.notify_all();
    }

    /// Parts in flight now allowed.
    #[cfg(test)]
    pub fn target(&self) -> usize {
        self.lock().target
    }

    /// The run has sent `sent` body bytes by `now`; ends a window when one
    /// is due, and may change the count.
    pub fn observe(&self, now: Instant, sent: u64) {
        let Some(cap) = self.cap else { return };
        let mut s = self.lock();
        // Sampled, not set on `leave`: a worker gives its slot back and
        // takes it again at once between parts.
        s.idle |= s.active < s.target;
        let Some((start, at)) = s.window else {
            s.window = Some((now, sent));
            s.idle = false;
            return;
        };
        let took = now.saturating_duration_since(start);
        if took < WINDOW {
            return;
        }
        let rate = sent.saturating_sub(at) as f64 / took.as_secs_f64();
        let busy = !s.idle;
        let before = s.target;
        if busy && !std::mem::take(&mut s.settling) {
            decide(&mut s, rate, cap);
            // The bytes a new flow hands over first fill its window and its
            // unsent queue (a megabyte or more under BBR's start), not the
            // link: a step is judged on the window after next.
            s.settling = s.target != before;
        }
        // Slots just added are taken at once (their workers are woken
        // below): the new window's samples tell whether they stay idle.
        s.window = Some((now, sent));
        s.idle = false;
        let grew = s.target > before;
        drop(s);
        if grew {
            self.freed.notify_all();
        }
    }
}

/// One window's verdict on a busy run: keep climbing, undo, or hold.
fn decide(s: &mut State, rate: f64, cap: usize) {
    let gained = rate >= s.last_rate * (1.0 + MARGIN);
    if s.step > 0 && !gained {
        s.target -= s.step;
        s.step = 0;
        s.hold = HOLD;
        s.settled = true;
    } else if s.hold > 0 {
        s.hold -= 1;
    } else if s.target < cap {
        // Double while each step pays; one flow when probing anew.
        let step = match (s.step, s.settled) {
            (0, true) => 1,
            _ => s.target,
        };
        s.step = step.min(cap - s.target);
        s.target += s.step;
    } else {
        s.step = 0;
    }
    s.last_rate = rate;
}

#[cfg(test)]
mod tests;
