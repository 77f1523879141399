//! A fleet of devices through an outage, with the gates: 10,000 devices
//! demanding 3 calls a second each (0.95 of the service's capacity), a 30 s
//! outage of the network or of a shedding service, then recovery, under the
//! default policy. The model (`support/fleet_model.rs`) runs the library's
//! own `RetryState`, `RetryBudget`, `RateLearner` and `ConnectivityState`.
//!
//! Run: `cargo run --release --example fleet [-- DEVICES [CALLS_A_SECOND]]`
//! (`FLEET_TRACE=1` also prints the load offered each second, 28-75 s)
//!
//! Reported, as shares of capacity: the load offered during the outage
//! (probes included: its mean, its busiest second, and its busiest second
//! from its third on), the busiest second in
//! the 10 s after recovery, goodput in those 10 s and the seconds until it
//! is back to 0.9 of capacity for 5 s running, and when 50%, 90% and 99% of
//! devices had completed a call after recovery.

#[path = "support/fleet_model.rs"]
mod fleet_model;

use fleet_model::{simulate, Config, Devices, Outage, DEMAND_SHARE, OUTAGE};

fn main() {
    let mut args = std::env::args().skip(1);
    let devices: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let per_device: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let capacity = Config::new(devices, per_device, Devices::OpenLoop, Outage::Network).capacity();
    println!(
        "{devices} devices at {per_device} calls/s each ({DEMAND_SHARE} of capacity, \
         {capacity:.0} req/s), outage {}-{} s, default policy",
        OUTAGE.0, OUTAGE.1
    );
    println!("load and goodput as shares of capacity; back and resumed: seconds after recovery");
    println!(
        "{:<36} {:>11} {:>11} {:>10} {:>10} {:>10} {:>6} {:>16}",
        "outage, devices",
        "outage mean",
        "outage peak",
        "peak 3-30",
        "peak 60-70",
        "good 60-70",
        "back",
        "resumed 50/90/99"
    );
    let rows = [
        (
            "network, closed loop (3 threads)",
            Devices::ClosedLoop(3),
            Outage::Network,
            true,
        ),
        (
            "network, open loop",
            Devices::OpenLoop,
            Outage::Network,
            true,
        ),
        (
            "network, open loop, held unpaced",
            Devices::OpenLoop,
            Outage::Network,
            false,
        ),
        (
            "shedding, closed loop (3 threads)",
            Devices::ClosedLoop(3),
            Outage::Shedding,
            true,
        ),
        (
            "shedding, open loop",
            Devices::OpenLoop,
            Outage::Shedding,
            true,
        ),
        (
            "shedding, closed, no overload gate",
            Devices::ClosedLoop(3),
            Outage::Shedding,
            false,
        ),
        (
            "shedding, open, no overload gate",
            Devices::OpenLoop,
            Outage::Shedding,
            false,
        ),
    ];
    let secs = |v: Option<f64>| v.map_or("never".to_owned(), |s| format!("{s:.1}"));
    for (name, kind, outage, paced) in rows {
        let mut config = Config::new(devices, per_device, kind, outage);
        // The counterfactuals: held calls all leave when the gate opens
        // (network), and no overload gate (shedding).
        match outage {
            Outage::Network => config.paced = paced,
            Outage::Shedding => config.overload = paced,
        }
        let o = simulate(&config);
        println!(
            "{name:<36} {:>11.3} {:>11.3} {:>10.3} {:>10.2} {:>10.2} {:>6} {:>16}",
            o.outage_mean,
            o.outage_peak,
            o.outage_peak_late,
            o.recovery_peak,
            o.good_60_70,
            secs(o.back_after_s),
            format!(
                "{}/{}/{}",
                secs(o.resumed[0]),
                secs(o.resumed[1]),
                secs(o.resumed[2])
            ),
        );
        if std::env::var_os("FLEET_TRACE").is_some() {
            let trace: Vec<String> = o.offered[28..75]
                .iter()
                .map(|x| format!("{x:.2}"))
                .collect();
            println!("  offered 28..75 s: {}", trace.join(" "));
        }
    }
}
