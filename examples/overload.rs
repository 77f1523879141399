//! Metastable overload on virtual time: 10,000 clients, a server of finite
//! capacity, a 30 s outage, then recovery. Does the fleet's retrying keep a
//! recovered server down? Drives the library's own `RetryState`,
//! `RetryBudget` and `RateLearner` from an event queue, per policy.
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
//! - from 30 s to 60 s it is down: connections refused after 10 ms;
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

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use apiretry::{
    AdaptiveRate, ApiError, Backoff, Jitter, Kind, Policy, RateLearner, RetryBudget, RetryState,
    Step,
};

const CAPACITY: f64 = 10_500.0;
const SHED_AFTER_S: f64 = 0.5;
const SHED_COST: f64 = 0.25;
const NET_S: f64 = 0.005;
const REFUSED_S: f64 = 0.010;
const OUTAGE: (f64, f64) = (30.0, 60.0);
const END_S: f64 = 120.0;
const THINK_S: f64 = 1.0;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum What {
    /// The client starts its next logical call (open loop: devices record
    /// whether or not the last upload went through).
    Start,
    /// The call lets its next attempt out (if its client's learned rate
    /// allows).
    Send,
    /// The attempt reaches the server.
    Arrive,
    /// The answer reaches the client: served, shed, or refused.
    Served,
    Shed,
    Refused,
}

struct Client {
    budget: Option<RetryBudget>,
    learner: Option<RateLearner>,
    /// When the learned rate lets the client's next request out.
    next_slot: f64,
}

struct Call<'p> {
    client: usize,
    state: RetryState<'p>,
    sent: f64,
}

struct Outcome {
    before: f64,
    /// Seconds from recovery to goodput at 0.9 of capacity for 5 s.
    back_after_s: Option<f64>,
    share_60_70: f64,
    share_70_90: f64,
    peak_offered: f64,
}

/// Event times in microseconds, so that the heap orders them exactly.
fn us(s: f64) -> u64 {
    (s * 1e6) as u64
}

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

fn simulate(clients: usize, naive: bool, budget: bool, learn: bool) -> Outcome {
    let policy = policy(naive);
    let t0 = Instant::now();
    let at = |s: f64| t0 + Duration::from_secs_f64(s);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut fleet: Vec<Client> = (0..clients)
        .map(|_| Client {
            budget: budget.then(RetryBudget::default),
            learner: learn.then(|| RateLearner::new(AdaptiveRate::default())),
            next_slot: 0.0,
        })
        .collect();
    // Events: (time, what, client for Start, else call).
    let mut queue: BinaryHeap<Reverse<(u64, What, usize)>> = (0..clients)
        .map(|c| Reverse((us(rng.f64() * THINK_S), What::Start, c)))
        .collect();
    let mut calls: Vec<Option<Call<'_>>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let seconds = END_S as usize;
    let (mut good, mut offered) = (vec![0u32; seconds + 1], vec![0u32; seconds + 1]);
    let mut busy_until = 0.0f64;
    let shed = ApiError::new(Kind::RateLimited).with_message("503 SlowDown");
    let refused = ApiError::new(Kind::Connection);

    while let Some(Reverse((t_us, what, id))) = queue.pop() {
        let t = t_us as f64 / 1e6;
        if t > END_S {
            break;
        }
        if what == What::Start {
            let call = Call {
                client: id,
                state: RetryState::new(&policy, at(t), rng.u64(..)),
                sent: t,
            };
            let slot = match free.pop() {
                Some(i) => {
                    calls[i] = Some(call);
                    i
                }
                None => {
                    calls.push(Some(call));
                    calls.len() - 1
                }
            };
            queue.push(Reverse((t_us, What::Send, slot)));
            let next = t + THINK_S * (0.5 + rng.f64());
            queue.push(Reverse((us(next), What::Start, id)));
            continue;
        }
        let call = calls[id].as_mut().expect("a live call");
        let c = &mut fleet[call.client];
        let next = match what {
            What::Send => {
                if let Some(rate) = c.learner.as_ref().and_then(RateLearner::rate) {
                    if t < c.next_slot {
                        queue.push(Reverse((us(c.next_slot), What::Send, id)));
                        c.next_slot += 1.0 / rate;
                        continue;
                    }
                    c.next_slot = t + 1.0 / rate;
                }
                call.sent = t;
                Some((t + NET_S, What::Arrive))
            }
            What::Arrive => {
                offered[t as usize] += 1;
                Some(if (OUTAGE.0..OUTAGE.1).contains(&t) {
                    (t + REFUSED_S, What::Refused)
                } else if busy_until - t > SHED_AFTER_S {
                    busy_until += SHED_COST / CAPACITY;
                    (t + NET_S, What::Shed)
                } else {
                    busy_until = busy_until.max(t) + 1.0 / CAPACITY;
                    (busy_until + NET_S, What::Served)
                })
            }
            answer => {
                let throttled = answer == What::Shed;
                if let Some(l) = &mut c.learner {
                    let secs = Duration::from_secs_f64;
                    l.on_answer(secs(call.sent), secs(t), throttled);
                }
                match answer {
                    What::Served => {
                        good[t as usize] += 1;
                        if let Some(b) = &c.budget {
                            b.on_success();
                        }
                        None
                    }
                    _ => {
                        let err = if throttled { &shed } else { &refused };
                        match call.state.on_failure(err, at(t), c.budget.as_ref()) {
                            Step::Retry(d) => Some((t + d.as_secs_f64(), What::Send)),
                            _ => None,
                        }
                    }
                }
            }
        };
        match next {
            Some((when, what)) => queue.push(Reverse((us(when), what, id))),
            None => {
                calls[id] = None;
                free.push(id);
            }
        }
    }

    let mean = |from: usize, to: usize| {
        good[from..to].iter().map(|&g| f64::from(g)).sum::<f64>() / (to - from) as f64
    };
    let back = (60..seconds - 5).find(|&s| {
        good[s..s + 5]
            .iter()
            .all(|&g| f64::from(g) >= 0.9 * CAPACITY)
    });
    Outcome {
        before: mean(10, 30) / CAPACITY,
        back_after_s: back.map(|s| (s - 60) as f64),
        share_60_70: mean(60, 70) / CAPACITY,
        share_70_90: mean(70, 90) / CAPACITY,
        peak_offered: offered[60..seconds]
            .iter()
            .map(|&o| f64::from(o))
            .fold(0.0, f64::max)
            / CAPACITY,
    }
}

fn main() {
    let clients: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    println!(
        "{clients} clients, capacity {CAPACITY} req/s (shedding past {SHED_AFTER_S} s of queue, \
         at {SHED_COST} of a request's cost), outage {}-{} s",
        OUTAGE.0, OUTAGE.1
    );
    println!("goodput and load as shares of capacity; back after: to 0.9 of capacity for 5 s");
    println!(
        "{:<34} {:>8} {:>11} {:>9} {:>9} {:>13}",
        "policy", "before", "back after", "60-70 s", "70-90 s", "peak offered"
    );
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
    for (name, naive, budget, learn) in rows {
        let o = simulate(clients, naive, budget, learn);
        let back = o
            .back_after_s
            .map_or("never".to_owned(), |s| format!("{s:.0} s"));
        println!(
            "{name:<34} {:>8.2} {:>11} {:>9.2} {:>9.2} {:>12.2}x",
            o.before, back, o.share_60_70, o.share_70_90, o.peak_offered
        );
    }
}
