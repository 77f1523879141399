//! What a fleet run measured, from the per-second counts.

use super::{Sim, END_S, OUTAGE};

/// What a run measured; loads and goodput as shares of capacity.
pub struct Outcome {
    /// Goodput 10-30 s.
    pub before: f64,
    /// Offered load (probes included) during the outage: mean and busiest second.
    pub outage_mean: f64,
    pub outage_peak: f64,
    /// The busiest second of the outage from its third on (in its first
    /// two, calls already in flight meet it before any device can know).
    pub outage_peak_late: f64,
    /// Offered load per second over the run, as shares of capacity.
    pub offered: Vec<f64>,
    /// The busiest second in the 10 s after recovery, and over the rest of the run.
    pub recovery_peak: f64,
    pub peak_after: f64,
    /// Goodput 60-70 s and 70-90 s.
    pub good_60_70: f64,
    pub good_70_90: f64,
    /// Seconds from recovery until goodput is 0.9 of capacity for 5 s running.
    pub back_after_s: Option<f64>,
    /// Seconds from recovery until 50%, 90% and 99% of devices completed a call.
    pub resumed: [Option<f64>; 3],
}

impl Sim<'_> {
    pub(super) fn outcome(&self, devices: usize) -> Outcome {
        let capacity = self.capacity;
        let seconds = END_S as usize;
        let share =
            |v: &[u32]| v.iter().map(|&n| f64::from(n)).sum::<f64>() / v.len() as f64 / capacity;
        let peak = |v: &[u32]| f64::from(v.iter().copied().max().unwrap_or(0)) / capacity;
        let (down, up) = (OUTAGE.0 as usize, OUTAGE.1 as usize);
        let back = (up..seconds - 5).find(|&s| {
            self.good[s..s + 5]
                .iter()
                .all(|&g| f64::from(g) >= 0.9 * capacity)
        });
        let mut resumed: Vec<f64> = self.fleet.iter().filter_map(|d| d.resumed).collect();
        resumed.sort_by(f64::total_cmp);
        let quantile = |q: f64| {
            let i = ((q * devices as f64).ceil() as usize).max(1) - 1;
            resumed.get(i).copied()
        };
        Outcome {
            before: share(&self.good[10..down]),
            outage_mean: share(&self.offered[down..up]),
            outage_peak: peak(&self.offered[down..up]),
            outage_peak_late: peak(&self.offered[down + 2..up]),
            offered: self
                .offered
                .iter()
                .map(|&n| f64::from(n) / capacity)
                .collect(),
            recovery_peak: peak(&self.offered[up..up + 10]),
            peak_after: peak(&self.offered[up..seconds]),
            good_60_70: share(&self.good[up..up + 10]),
            good_70_90: share(&self.good[up + 10..up + 30]),
            back_after_s: back.map(|s| (s - up) as f64),
            resumed: [quantile(0.5), quantile(0.9), quantile(0.99)],
        }
    }
}
