//! One run of the fleet model: how many devices, how they send, what
//! fails, and which of the library's defences are on.

use apiretry::Policy;

/// The outage, in seconds of the run.
pub const OUTAGE: (f64, f64) = (30.0, 60.0);
/// Demand as a share of the service's capacity.
pub const DEMAND_SHARE: f64 = 0.95;

/// What fails from 30 s to 60 s.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Connections refused or reset: gates close, calls wait, probes run.
    Network,
    /// Every request answered 503 `SlowDown` at once.
    Shedding,
}

/// How a device sends its calls.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Devices {
    /// This many threads, each sending its next call after the last ended.
    ClosedLoop(usize),
    /// Calls on a timer, whether or not the earlier ones are done.
    OpenLoop,
}

/// One run.
pub struct Config {
    pub devices: usize,
    /// Calls a second each device wants to make.
    pub per_device: f64,
    pub kind: Devices,
    pub outage: Outage,
    pub policy: Policy,
    /// The default budget, the learned rate, and the paced release of held
    /// calls, each on or off.
    pub budget: bool,
    pub learn: bool,
    pub paced: bool,
    /// The overload gate (`OverloadState`), on or off.
    pub overload: bool,
}

impl Config {
    /// The default policy, everything on.
    pub fn new(devices: usize, per_device: f64, kind: Devices, outage: Outage) -> Self {
        Config {
            devices,
            per_device,
            kind,
            outage,
            policy: Policy::default(),
            budget: true,
            learn: true,
            paced: true,
            overload: true,
        }
    }

    /// The service's capacity, requests a second.
    pub fn capacity(&self) -> f64 {
        self.devices as f64 * self.per_device / DEMAND_SHARE
    }
}
