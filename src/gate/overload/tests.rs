//! The gate's waits, with threads: held calls wake on its changes, their
//! trial's time, their deadline or their cancel, never to poll; a call out
//! of patience is refused, not sent.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use super::{OverloadGate, Whose};
use crate::backoff::{Backoff, Jitter};
use crate::cancel::CancelToken;
use crate::kind::Kind;
use crate::route::Route;

/// A gate closed by three refusals over 0.5 s, its trials every 100 ms,
/// after `demand` calls passed (the pace of the release when it opens).
fn closed_gate(demand: u32) -> Arc<OverloadGate> {
    let trials = Backoff::default()
        .with_base(Duration::from_millis(100))
        .with_cap(Duration::from_millis(100))
        .with_jitter(Jitter::None);
    let gate = Arc::new(OverloadGate::new(trials, None, true));
    for _ in 0..demand {
        gate.pass(&route(), FOREVER, (true, false), CancelToken::never())
            .unwrap();
    }
    for _ in 0..3 {
        gate.on_answer(&route(), true, None);
        thread::sleep(Duration::from_millis(260));
    }
    assert!(gate.is_overloaded());
    gate
}

const FOREVER: (Option<Instant>, Option<Instant>) = (None, None);

/// Every call here is on one route: its refusals, with no acceptance
/// between, close the origin's gate.
fn route() -> Route<'static> {
    Route::new("GET", "/v2/ping", None)
}

/// 16 held calls through 2 s of refused trials (one every 100 ms), then
/// an accepted one: every call leaves, and the calls woke about twice
/// each per trial (when it was due, and when it was answered). Polling
/// every 10 ms, as before, was 100 wake-ups per call per second.
#[test]
#[cfg_attr(miri, ignore = "real time: Miri runs threads far slower")]
fn held_calls_wake_on_the_gates_changes_not_on_a_tick() {
    // 400 calls in the last 10 s: the 16 leave at 48 a second.
    let gate = closed_gate(400);
    let start = Instant::now();
    let ready = Arc::new(Barrier::new(16));
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let (gate, ready) = (gate.clone(), ready.clone());
            thread::spawn(move || {
                ready.wait();
                let mut trials = 0;
                loop {
                    let passage =
                        gate.pass(&route(), FOREVER, (true, trials > 0), CancelToken::never());
                    if passage.unwrap().trial.is_none() {
                        return trials;
                    }
                    trials += 1;
                    thread::sleep(Duration::from_millis(5)); // the trial's round trip
                    let accepted = start.elapsed() > Duration::from_secs(2);
                    gate.on_answer(&route(), !accepted, Some(Whose::Origin));
                    if accepted {
                        return trials;
                    }
                }
            })
        })
        .collect();
    let trials: u32 = calls.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(!gate.is_overloaded());
    let per_call_per_trial = gate.wakeups() as f64 / 16.0 / f64::from(trials);
    println!(
        "{} wake-ups of 16 calls over {trials} trials",
        gate.wakeups()
    );
    assert!((15..=25).contains(&trials), "{trials} trials");
    assert!(
        per_call_per_trial <= 3.0,
        "{} wake-ups, {per_call_per_trial:.2} per call per trial",
        gate.wakeups()
    );
}

/// A held call with no deadline wakes at its cancel, at once.
#[test]
#[cfg_attr(miri, ignore = "real time: Miri runs threads far slower")]
fn a_cancel_wakes_a_held_call() {
    let gate = closed_gate(0);
    // The first trial goes and is never answered: the others wait on.
    assert!(gate
        .pass(&route(), FOREVER, (true, false), CancelToken::never())
        .unwrap()
        .trial
        .is_some());
    let token = CancelToken::new();
    let held = thread::spawn({
        let (gate, token) = (gate.clone(), token.clone());
        move || gate.pass(&route(), FOREVER, (true, false), &token)
    });
    thread::sleep(Duration::from_millis(200));
    let cancelled = Instant::now();
    token.cancel();
    let err = held.join().unwrap().unwrap_err();
    assert_eq!(err.kind, Kind::Cancelled, "{err}");
    assert!(cancelled.elapsed() < Duration::from_millis(50));
    assert!(gate.wakeups() <= 2, "{} wake-ups", gate.wakeups());
}

/// Rows: (what the call brings, what it gets). A call that cannot or
/// will not wait is refused as `held_back`, never let past the gate.
#[test]
#[cfg_attr(miri, ignore = "real time: Miri runs threads far slower")]
fn a_call_that_will_not_wait_longer_is_held_back() {
    let gate = closed_gate(0);
    assert!(gate
        .pass(&route(), FOREVER, (true, false), CancelToken::never())
        .unwrap()
        .trial
        .is_some());
    let now = Instant::now();
    let soon = Some(now + Duration::from_millis(50));
    let rows = [
        ("patience spent", (None, Some(now)), true, Kind::HeldBack),
        ("patience running out", (None, soon), true, Kind::HeldBack),
        ("asked not to wait", FOREVER, false, Kind::HeldBack),
        (
            "past its deadline",
            (soon, None),
            true,
            Kind::DeadlineExceeded,
        ),
    ];
    for (what, limits, wait, want) in rows {
        let err = gate
            .pass(&route(), limits, (wait, false), CancelToken::never())
            .unwrap_err();
        assert_eq!(err.kind, want, "{what}: {err}");
    }
}
