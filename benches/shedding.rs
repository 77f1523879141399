//! A shedding outage met by real clients over real sockets: DEVICES devices
//! (default 200), each its own `Client` with the default policy shared by
//! 3 threads, each thread calling about once a second (1 s +-50% after its
//! last call ended: the fleet model's closed loop). The mock serves up to
//! 1.05 times their demand (a token bucket, 429 over it), then for 30 s
//! answers every request 503 at once, then serves again. Arrivals at the
//! server are counted per second. Two sides in one run: the default client
//! (overload control on) and `without_overload_control()`.
//!
//! Run: `cargo bench --bench shedding --features mock [-- DEVICES]`
//!
//! Reported, as shares of capacity: the load offered during the outage (its
//! mean, and its busiest second from its third on: in its first two, calls
//! already in flight meet it before any device can know), the busiest
//! second in the 10 s after the return, the seconds until goodput is 0.9 of
//! capacity for 5 s running, and when 50%, 90% and 99% of devices had a
//! success after the return. Goals (issue 24): <= 0.1, <= 0.3, <= 1.2,
//! <= 10 s, 99% <= 35 s.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{Client, Request};

const THREADS: usize = 3;
const WARM_S: u64 = 10;
const OUTAGE_S: u64 = 30;
const AFTER_S: u64 = 30;
const HEADROOM: f64 = 1.05;

struct Outcome {
    mean: f64,
    peak_late: f64,
    peak_after: f64,
    back_s: Option<usize>,
    resumed: [Option<f64>; 3],
    offered: Vec<f64>,
}

fn run(devices: usize, overload_control: bool) -> Outcome {
    let server = MockServer::start().expect("mock server");
    server.script("GET", "/v2/ping", [Reply::json(200, "{}")]);
    let demand = (devices * THREADS) as f64;
    let capacity = demand * HEADROOM;
    server.rate_limit(capacity, (capacity / 10.0) as u32);
    let t0 = Instant::now();
    let up_at = Duration::from_secs(WARM_S + OUTAGE_S);
    let end = up_at + Duration::from_secs(AFTER_S);
    let stop = Arc::new(AtomicBool::new(false));
    // Each device's first success after the return, as seconds after it.
    let resumed: Arc<Mutex<Vec<Option<f64>>>> = Arc::new(Mutex::new(vec![None; devices]));
    let mut workers = Vec::new();
    for d in 0..devices {
        let mut b = Client::builder(server.url());
        if !overload_control {
            b = b.without_overload_control();
        }
        let client = b.build();
        for _ in 0..THREADS {
            let (client, stop, resumed) = (client.clone(), stop.clone(), resumed.clone());
            let spawned = thread::Builder::new().stack_size(256 << 10).spawn(move || {
                let mut rng = fastrand::Rng::new();
                thread::sleep(Duration::from_secs_f64(rng.f64()));
                while !stop.load(Ordering::Relaxed) {
                    let ok = client.send(&Request::get("/v2/ping").expect(200)).is_ok();
                    let at = t0.elapsed();
                    if ok && at >= up_at {
                        let mut r = resumed.lock().unwrap();
                        r[d].get_or_insert((at - up_at).as_secs_f64());
                    }
                    thread::sleep(Duration::from_secs_f64(0.5 + rng.f64()));
                }
            });
            workers.push(spawned.expect("a thread"));
        }
    }
    let sleep_until = |at: Duration| thread::sleep(at.saturating_sub(t0.elapsed()));
    sleep_until(Duration::from_secs(WARM_S));
    server.set_shedding(true);
    sleep_until(up_at);
    server.set_shedding(false);
    sleep_until(end);
    stop.store(true, Ordering::Relaxed);
    let requests = server.requests();
    let seconds = (end.as_secs() + 1) as usize;
    let (mut offered, mut good) = (vec![0u32; seconds], vec![0u32; seconds]);
    // Arrivals since the server started, which was t0 to within a millisecond.
    for r in &requests {
        let s = r.at.as_secs() as usize;
        if s < seconds {
            offered[s] += 1;
            good[s] += u32::from(r.status == Some(200));
        }
    }
    drop(workers); // detached: each ends after its call in flight
    let share =
        |v: &[u32]| v.iter().map(|&n| f64::from(n)).sum::<f64>() / v.len() as f64 / capacity;
    let peak = |v: &[u32]| f64::from(v.iter().copied().max().unwrap_or(0)) / capacity;
    let (down, up) = (WARM_S as usize, (WARM_S + OUTAGE_S) as usize);
    let last = end.as_secs() as usize;
    let back = (up..last - 5)
        .find(|&s| {
            good[s..s + 5]
                .iter()
                .all(|&g| f64::from(g) >= 0.9 * capacity)
        })
        .map(|s| s - up);
    let mut r: Vec<f64> = resumed.lock().unwrap().iter().flatten().copied().collect();
    r.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let i = ((q * devices as f64).ceil() as usize).max(1) - 1;
        r.get(i).copied()
    };
    Outcome {
        mean: share(&offered[down..up]),
        peak_late: peak(&offered[down + 2..up]),
        peak_after: peak(&offered[up..up + 10]),
        back_s: back,
        resumed: [quantile(0.5), quantile(0.9), quantile(0.99)],
        offered: offered.iter().map(|&n| f64::from(n) / capacity).collect(),
    }
}

fn main() {
    let devices: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    println!(
        "{devices} devices x {THREADS} threads, a call a second each; capacity {HEADROOM} x demand; \
         shedding {WARM_S}-{} s",
        WARM_S + OUTAGE_S
    );
    println!(
        "{:<26} {:>11} {:>10} {:>11} {:>6} {:>16}",
        "client", "outage mean", "peak 3-30", "peak after", "back", "resumed 50/90/99"
    );
    let secs = |v: Option<f64>| v.map_or("never".to_owned(), |s| format!("{s:.1}"));
    for (name, on) in [("default", true), ("without overload control", false)] {
        let o = run(devices, on);
        println!(
            "{name:<26} {:>11.3} {:>10.3} {:>11.2} {:>6} {:>16}",
            o.mean,
            o.peak_late,
            o.peak_after,
            o.back_s.map_or("never".to_owned(), |s| s.to_string()),
            format!(
                "{}/{}/{}",
                secs(o.resumed[0]),
                secs(o.resumed[1]),
                secs(o.resumed[2])
            ),
        );
        let trace: Vec<String> = o.offered[8..55].iter().map(|x| format!("{x:.2}")).collect();
        println!("  offered 8..55 s: {}", trace.join(" "));
        // Let the other side's sockets close before the next run.
        thread::sleep(Duration::from_secs(3));
    }
}
