//! Metastable overload on virtual time: 10,000 clients, a server of finite
//! capacity, a 30 s outage, then recovery. Does the fleet's retrying keep a
//! recovered server down? Drives the library's own `RetryState`,
//! `RetryBudget`, `RateLearner` and connectivity gate from an event queue
//! (the model in `support/fleet_model.rs`, shared with `fleet`), per policy.
//!
//! Run: `cargo run --release --example overload [-- CLIENTS]`
//!
//! Model:
//! - each client starts a logical call every 1 s +-50%, whether or not its
//!   earlier ones are done (a camera keeps recording): 10,000 calls a
//!   second, 0.95 of the server's capacity (a busy service: goodput can
//!   come back to 0.9 of capacity only if nearly all demand is served);
//!   calls that wait out an outage pile up;
//! - the server serves 10,500 requests a second, first come first served;
//!   when its queue holds more than 0.5 s of work it sheds the request with
//!   a 503 `SlowDown` (throttling, retry `yes`), which still costs it a
//!   quarter of a request's work (the connection, TLS, authentication).
//!   Offered four times its capacity, it serves nothing: the overload can
//!   keep itself going, if retries keep the load up;
//! - from 30 s to 60 s it is down, in two runs: a shedding service (every
//!   request answered 503 at once), and the network (connections refused
//!   after 10 ms: each client's gate closes and its probes run, as the
//!   client's do);
//! - the network adds 5 ms each way.
//!
//! Policies: the default (retry budget per client, rate learned per client
//! from throttling), no budget and no learned rate, and each alone; first
//! backing off as the default policy does (0.5 s doubling to 32 s, 8
//! attempts), then retrying every 100 ms (8 attempts), as a naive client
//! would: the load that can hold a recovered server down.
//!
//! Reported per policy, as shares of the server's capacity: goodput
//! before the outage (successes a second, mean of 10-30 s: what the demand
//! allows, 0.95), the seconds after recovery until goodput is back to 0.9
//! of capacity for 5 s running, goodput 60-70 s and 70-90 s, and the most
//! requests offered in a second after recovery.

#[path = "support/fleet_model.rs"]
mod fleet_model;

use std::time::Duration;

use apiretry::{Backoff, Jitter, Policy};
use fleet_model::{simulate, Config, Devices, Outage};

/// The default policy, or a naive one: a retry every 100 ms (a client that
/// "just retries"), still 8 attempts.
fn policy(naive: bool) -> Policy {
    match naive {
        false => Policy::default(),
        true => Policy::default().with_backoff(
            Backoff::default()
                .with_base(Duration::from_millis(100))
                .with_factor(1.0)
                .with_jitter(Jitter::None),
        ),
    }
}

fn main() {
    let devices: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let rows = [
        ("default (budget + learned rate)", false, true, true),
        ("no budget, no learned rate", false, false, false),
        ("budget only", false, true, false),
        ("learned rate only", false, false, true),
        ("100 ms retries, budget + learned", true, true, true),
        ("100 ms retries, neither", true, false, false),
        ("100 ms retries, budget only", true, true, false),
        ("100 ms retries, learned rate only", true, false, true),
    ];
    for (outage, what) in [
        (
            Outage::Shedding,
            "a shedding service (every request 503 at once)",
        ),
        (
            Outage::Network,
            "the network (connections refused: gates close, probes run)",
        ),
    ] {
        let capacity = Config::new(devices, 1.0, Devices::OpenLoop, outage).capacity();
        println!(
            "\n{devices} clients, 1 call/s each, capacity {capacity:.0} req/s; outage 30-60 s of {what}"
        );
        println!("goodput and load as shares of capacity; back after: to 0.9 of capacity for 5 s");
        println!(
            "{:<34} {:>8} {:>11} {:>9} {:>9} {:>13}",
            "policy", "before", "back after", "60-70 s", "70-90 s", "peak offered"
        );
        for (name, naive, budget, learn) in rows {
            let mut config = Config::new(devices, 1.0, Devices::OpenLoop, outage);
            config.policy = policy(naive);
            config.budget = budget;
            config.learn = learn;
            let o = simulate(&config);
            let back = o
                .back_after_s
                .map_or("never".to_owned(), |s| format!("{s:.0} s"));
            println!(
                "{name:<34} {:>8.2} {:>11} {:>9.2} {:>9.2} {:>12.2}x",
                o.before, back, o.good_60_70, o.good_70_90, o.peak_after
            );
        }
    }
}
