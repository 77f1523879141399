use std::sync::Arc;

use super::*;

/// The counts after each window of a run whose every slot is busy, on a
/// link where `n` flows send `rate(n)` bytes a second. The first window,
/// and each after a change, decide nothing.
fn climb(flows: &Flows, rate: impl Fn(usize) -> f64, windows: usize) -> Vec<usize> {
    let t0 = Instant::now();
    let mut sent = 0.0;
    flows.lock().active = flows.target();
    flows.observe(t0, 0);
    (1..=windows)
        .map(|w| {
            let n = flows.target();
            flows.lock().active = n;
            sent += rate(n) * WINDOW.as_secs_f64();
            flows.observe(t0 + WINDOW * w as u32, sent as u64);
            flows.target()
        })
        .collect()
}

/// Rows: the link, what the count does window by window.
#[test]
fn the_count_climbs_while_flows_pay_and_holds_where_they_do_not() {
    type Link = fn(usize) -> f64;
    let rows: [(&str, Link, Vec<usize>); 4] = [
        (
            "lossy, cubic: each flow adds its share",
            |n| n as f64 * 300e3,
            vec![4, 8, 8, 16, 16, 16],
        ),
        (
            "the link full at 4 flows (clean, or BBR)",
            |_| 6e6,
            vec![4, 8, 8, 4, 4, 4, 4, 4, 4, 5, 5, 4],
        ),
        (
            "full at 6: the step past it undone, then one flow probed",
            |n| n.min(6) as f64 * 700e3,
            vec![4, 8, 8, 16, 16, 8, 8, 8, 8, 8, 8, 9, 9, 8],
        ),
        (
            "a gain under the margin is no gain",
            |n| 6e6 * (1.0 + 0.05 * n as f64 / 16.0),
            vec![4, 8, 8, 4],
        ),
    ];
    for (link, rate, want) in rows {
        let flows = Flows::adaptive(CAP);
        assert_eq!(climb(&flows, rate, want.len()), want, "{link}");
    }
}

#[test]
fn a_fixed_count_and_a_low_cap_are_kept() {
    let lossy = |n: usize| n as f64 * 300e3;
    assert_eq!(climb(&Flows::fixed(3), lossy, 5), vec![3; 5]);
    assert_eq!(climb(&Flows::adaptive(6), lossy, 4), vec![4, 6, 6, 6]);
    assert_eq!(climb(&Flows::adaptive(2), lossy, 2), vec![2, 2]);
}

/// A window with a slot idle (the last parts, a file still growing)
/// decides nothing, however the rate moved.
#[test]
fn a_window_with_an_idle_slot_decides_nothing() {
    let flows = Flows::adaptive(CAP);
    let t0 = Instant::now();
    flows.observe(t0, 0);
    flows.lock().active = 2;
    flows.observe(t0 + WINDOW, 100 << 20);
    assert_eq!(flows.target(), START);
}

#[test]
fn slots_are_waited_for_and_a_stop_frees_every_waiter() {
    let flows = Arc::new(Flows::fixed(1));
    assert!(flows.enter());
    let waiter = {
        let flows = flows.clone();
        std::thread::spawn(move || flows.enter())
    };
    std::thread::sleep(Duration::from_millis(20));
    flows.leave();
    assert!(waiter.join().unwrap(), "woken by the slot given back");
    let waiter = {
        let flows = flows.clone();
        std::thread::spawn(move || flows.enter())
    };
    std::thread::sleep(Duration::from_millis(20));
    flows.stop();
    assert!(!waiter.join().unwrap(), "woken by the stop, no slot");
    assert!(!flows.enter());
}
