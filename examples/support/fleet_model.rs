//! The fleet model shared by the `fleet` and `overload` examples: devices
//! on virtual time, each running the library's own decisions from an event
//! queue: a `RetryState` per call, and per device its `RetryBudget`,
//! `RateLearner`, connectivity gate (`ConnectivityState`: when to probe,
//! when held calls leave) and overload gate (`OverloadState`, in `held.rs`:
//! when a service that refuses everything holds calls, and their trials).
//!
//! - Devices are closed-loop (a camera: a few threads, each sending its
//!   next call about `threads / per_device` seconds after the last one
//!   ended) or open-loop (a call every `1 / per_device` s +-50%, whether or
//!   not the earlier ones are done).
//! - The service answers first come first served; past 0.5 s of queued work
//!   it sheds a request with a 503 `SlowDown` (retry `yes`), at a quarter of
//!   a request's cost. Offered four times its capacity, it serves nothing.
//! - The outage, 30-60 s, is the network's (connections refused or reset
//!   after 10 ms: the failure closes the device's gate, its calls wait
//!   there, and its probes run on the policy's backoff) or a shedding
//!   service's (every request answered 503 at once: the devices' overload
//!   gates close after three refusals and their trials go on the backoff).
//! - The network adds 5 ms each way; a probe is a request like any other.

// Each example reports some of the outcome's figures and uses some device kinds.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use apiretry::{
    AdaptiveRate, Admission, ApiError, ConnectivityState, Kind, OverloadState, Policy, RateLearner,
    RetryBudget, RetryState, Step,
};

mod config;
mod held;
mod outcome;

#[allow(unused_imports)] // `overload` reports no demand share
pub use config::{Config, Devices, Outage, DEMAND_SHARE, OUTAGE};
pub use outcome::Outcome;

const SHED_AFTER_S: f64 = 0.5;
const SHED_COST: f64 = 0.25;
const NET_S: f64 = 0.005;
const REFUSED_S: f64 = 0.010;
const END_S: f64 = 120.0;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum What {
    /// A device (open loop) or one of its threads (closed loop) starts a call.
    Start,
    /// The call asks its device's gate.
    Gate,
    /// Let through the gate: the call waits for the learned rate.
    Pace,
    /// The device's learned rate lets its next waiting call out.
    PaceTick,
    /// The attempt leaves the device.
    Send,
    /// The attempt reaches the service.
    Arrive,
    /// Its answer reaches the device.
    Served,
    Shed,
    Refused,
    /// The device probes the service, and hears back (or not).
    Probe,
    ProbeAnswered,
    ProbeFailed,
    /// Through the connectivity gate: the call asks the overload gate.
    Overload,
    /// The device's overload gate may let a held call go as its trial.
    TrialDue,
}

struct Device {
    budget: Option<RetryBudget>,
    learner: Option<RateLearner>,
    gate: ConnectivityState,
    /// Calls held at the closed gate.
    held: Vec<usize>,
    /// The overload gate (when on), and the calls it holds, oldest first.
    overload: Option<OverloadState>,
    overload_held: std::collections::VecDeque<usize>,
    /// Calls waiting for the learned rate, in order, and whether a tick
    /// is due to let the next one out.
    paced: std::collections::VecDeque<usize>,
    ticking: bool,
    next_slot: f64,
    /// When the device first completed a call after recovery.
    resumed: Option<f64>,
}

struct Call<'p> {
    device: usize,
    state: RetryState<'p>,
    sent: f64,
    /// Whether this attempt is its device's overload trial, and whether
    /// the call failed before (its attempts are retries).
    trial: bool,
    retried: bool,
}

/// Event times in microseconds, so that the heap orders them exactly.
fn us(s: f64) -> u64 {
    (s * 1e6).round() as u64
}

struct Sim<'p> {
    policy: &'p Policy,
    t0: Instant,
    outage: Outage,
    kind: Devices,
    per_device: f64,
    paced: bool,
    capacity: f64,
    queue: BinaryHeap<Reverse<(u64, What, usize)>>,
    calls: Vec<Option<Call<'p>>>,
    free: Vec<usize>,
    fleet: Vec<Device>,
    busy_until: f64,
    offered: Vec<u32>,
    good: Vec<u32>,
    rng: fastrand::Rng,
}

impl<'p> Sim<'p> {
    fn at(&self, s: f64) -> Instant {
        self.t0 + Duration::from_secs_f64(s)
    }

    fn push(&mut self, t: f64, what: What, id: usize) {
        self.queue.push(Reverse((us(t), what, id)));
    }

    fn down(&self, t: f64) -> bool {
        (OUTAGE.0..OUTAGE.1).contains(&t)
    }

    fn start(&mut self, t: f64, device: usize) -> usize {
        let call = Call {
            device,
            state: RetryState::new(self.policy, self.at(t), self.rng.u64(..)),
            sent: t,
            trial: false,
            retried: false,
        };
        let id = match self.free.pop() {
            Some(i) => {
                self.calls[i] = Some(call);
                i
            }
            None => {
                self.calls.push(Some(call));
                self.calls.len() - 1
            }
        };
        self.push(t, What::Gate, id);
        id
    }

    /// The service takes a request arriving at `t`: when and how it answers.
    fn serve(&mut self, t: f64) -> (f64, What) {
        self.offered[t as usize] += 1;
        let shedding_outage = self.outage == Outage::Shedding && self.down(t);
        if self.outage == Outage::Network && self.down(t) {
            (t + REFUSED_S, What::Refused)
        } else if shedding_outage || self.busy_until - t > SHED_AFTER_S {
            self.busy_until = self.busy_until.max(t) + SHED_COST / self.capacity;
            (t + NET_S, What::Shed)
        } else {
            self.busy_until = self.busy_until.max(t) + 1.0 / self.capacity;
            (self.busy_until + NET_S, What::Served)
        }
    }

    /// A call is over: closed-loop threads send their next one later.
    fn end(&mut self, t: f64, id: usize) {
        let device = self.calls[id].take().expect("a live call").device;
        self.free.push(id);
        if let Devices::ClosedLoop(threads) = self.kind {
            let think = (threads as f64 / self.per_device) * (0.5 + self.rng.f64());
            self.push(t + think, What::Start, device);
        }
    }

    fn step(&mut self, t: f64, what: What, id: usize) {
        match what {
            What::Start => {
                self.start(t, id);
                if self.kind == Devices::OpenLoop {
                    let next = t + (0.5 + self.rng.f64()) / self.per_device;
                    self.push(next, What::Start, id);
                }
            }
            What::Gate => {
                let d = self.calls[id].as_ref().expect("a live call").device;
                let now = self.at(t);
                match self.fleet[d].gate.admit(now) {
                    Admission::Hold => self.fleet[d].held.push(id),
                    Admission::At(turn) if self.paced => {
                        let when = (turn - self.t0).as_secs_f64();
                        self.push(when, What::Overload, id);
                    }
                    _ => self.push(t, What::Overload, id),
                }
            }
            What::Overload => {
                let d = self.calls[id].as_ref().expect("a live call").device;
                let now = self.at(t);
                let Some(gate) = self.fleet[d].overload.as_mut() else {
                    return self.push(t, What::Pace, id);
                };
                let retry = self.calls[id].as_ref().expect("a live call").retried;
                match gate.admit(now, retry) {
                    Admission::Hold => {
                        let due = gate.trial_due();
                        self.fleet[d].overload_held.push_back(id);
                        self.trial_wake(d, due);
                    }
                    Admission::Trial => {
                        self.calls[id].as_mut().expect("a live call").trial = true;
                        self.push(t, What::Pace, id);
                    }
                    Admission::At(turn) if self.paced => {
                        let when = (turn - self.t0).as_secs_f64();
                        self.push(when, What::Pace, id);
                    }
                    _ => self.push(t, What::Pace, id),
                }
            }
            What::TrialDue => {
                // As the client's held calls do, the oldest asks again.
                if let Some(call) = self.fleet[id].overload_held.pop_front() {
                    self.push(t, What::Overload, call);
                }
            }
            What::Pace => {
                let d = self.calls[id].as_ref().expect("a live call").device;
                let dev = &mut self.fleet[d];
                dev.paced.push_back(id);
                if !dev.ticking {
                    dev.ticking = true;
                    let at = dev.next_slot.max(t);
                    self.push(at, What::PaceTick, d);
                }
            }
            What::PaceTick => {
                // As the client's limiter does, the rate in force when a slot
                // comes decides the next one: waiters are not booked ahead.
                let dev = &mut self.fleet[id];
                let Some(call) = dev.paced.pop_front() else {
                    dev.ticking = false;
                    return;
                };
                let rate = dev.learner.as_ref().and_then(RateLearner::rate);
                dev.next_slot = t + rate.map_or(0.0, |r| 1.0 / r);
                let next = dev.next_slot;
                dev.ticking = !dev.paced.is_empty();
                if dev.ticking {
                    self.push(next, What::PaceTick, id);
                }
                self.push(t, What::Send, call);
            }
            What::Send => {
                self.calls[id].as_mut().expect("a live call").sent = t;
                self.push(t + NET_S, What::Arrive, id);
            }
            What::Arrive => {
                let (when, answer) = self.serve(t);
                self.push(when, answer, id);
            }
            // A probe's id is its device and, above bit 32, its outage: a
            // prober ends with its outage, as the client's does.
            What::Probe | What::ProbeFailed | What::ProbeAnswered => {
                let (device, outage) = (id & 0xffff_ffff, (id >> 32) as u64);
                let gate = &mut self.fleet[device].gate;
                if !gate.is_closed() || gate.outages() != outage {
                    return;
                }
                match what {
                    What::Probe => {
                        let heard = match self.serve(t) {
                            (when, What::Refused) => (when, What::ProbeFailed),
                            (when, _) => (when, What::ProbeAnswered),
                        };
                        self.push(heard.0, heard.1, id);
                    }
                    What::ProbeFailed => {
                        let pause = gate.next_probe().as_secs_f64();
                        self.push(t + pause, What::Probe, id);
                    }
                    _ => self.reopen(t, device),
                }
            }
            answer => self.answer(t, answer, id),
        }
    }

    /// The device's origin answered: its gate opens, and the calls it held
    /// ask again for their turns.
    fn reopen(&mut self, t: f64, device: usize) {
        let now = self.at(t);
        let dev = &mut self.fleet[device];
        dev.gate.on_reachable(now);
        for call in std::mem::take(&mut dev.held) {
            self.push(t, What::Gate, call);
        }
    }

    fn answer(&mut self, t: f64, answer: What, id: usize) {
        let now = self.at(t);
        self.tell_overload(t, id, answer);
        let call = self.calls[id].as_mut().expect("a live call");
        let dev = &mut self.fleet[call.device];
        if answer != What::Refused && dev.gate.is_closed() {
            let d = call.device;
            self.reopen(t, d); // an answer is an answer
        }
        let call = self.calls[id].as_mut().expect("a live call");
        let dev = &mut self.fleet[call.device];
        let error = match answer {
            What::Served => {
                self.good[t as usize] += 1;
                if let Some(b) = &dev.budget {
                    b.on_success();
                }
                if t >= OUTAGE.1 && dev.resumed.is_none() {
                    dev.resumed = Some(t - OUTAGE.1);
                }
                return self.end(t, id);
            }
            What::Shed => ApiError::new(Kind::RateLimited).with_message("503 SlowDown"),
            _ => {
                if let Some(first) = dev.gate.on_unreachable(now) {
                    let prober = call.device | (dev.gate.outages() as usize) << 32;
                    self.push(t + first.as_secs_f64(), What::Probe, prober);
                }
                ApiError::new(Kind::Connection)
            }
        };
        let call = self.calls[id].as_mut().expect("a live call");
        let dev = &self.fleet[call.device];
        match call.state.on_failure(&error, now, dev.budget.as_ref()) {
            Step::Retry(d) => {
                call.retried = true;
                self.push(t + d.as_secs_f64(), What::Gate, id);
            }
            _ => self.end(t, id),
        }
    }
}

/// Runs `config` for 120 s of virtual time.
pub fn simulate(config: &Config) -> Outcome {
    let policy = &config.policy;
    let capacity = config.capacity();
    let seconds = END_S as usize;
    let mut rng = fastrand::Rng::with_seed(7);
    let fleet = (0..config.devices)
        .map(|_| Device {
            budget: config.budget.then(|| RetryBudget::for_policy(policy)),
            learner: config
                .learn
                .then(|| RateLearner::new(AdaptiveRate::default())),
            gate: ConnectivityState::new(policy.probe_backoff(), rng.u64(..)),
            held: Vec::new(),
            overload: config
                .overload
                .then(|| OverloadState::new(policy.probe_backoff(), rng.u64(..))),
            overload_held: Default::default(),
            paced: Default::default(),
            ticking: false,
            next_slot: 0.0,
            resumed: None,
        })
        .collect();
    let mut sim = Sim {
        policy,
        t0: Instant::now(),
        outage: config.outage,
        kind: config.kind,
        per_device: config.per_device,
        paced: config.paced,
        capacity,
        queue: BinaryHeap::new(),
        calls: Vec::new(),
        free: Vec::new(),
        fleet,
        busy_until: 0.0,
        offered: vec![0; seconds + 1],
        good: vec![0; seconds + 1],
        rng,
    };
    let starters = match config.kind {
        Devices::ClosedLoop(threads) => threads,
        Devices::OpenLoop => 1,
    };
    for d in 0..config.devices {
        for _ in 0..starters {
            let t = sim.rng.f64() * starters as f64 / config.per_device;
            sim.push(t, What::Start, d);
        }
    }
    while let Some(Reverse((t_us, what, id))) = sim.queue.pop() {
        let t = t_us as f64 / 1e6;
        if t > END_S {
            break;
        }
        sim.step(t, what, id);
    }
    sim.outcome(config.devices)
}
