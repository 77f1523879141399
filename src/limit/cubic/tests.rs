use super::*;

/// 20 answers per second for 5 s, all accepted: nothing is learned.
#[test]
fn off_until_the_first_throttle() {
    let mut c = Cubic::new(MIN_RATE, None);
    for i in 0..100 {
        assert_eq!(c.on_answer(ok(f64::from(i) * 0.05)), None);
    }
    assert_eq!(c.rate(), None);
}

fn ok(at: f64) -> Answer {
    Answer {
        sent: at,
        at,
        throttled: false,
    }
}

fn throttle(sent: f64, at: f64) -> Answer {
    Answer {
        sent,
        at,
        throttled: true,
    }
}

/// `n` answers, `1 / per_second` apart from 0; returns the last time.
fn answered(c: &mut Cubic, per_second: f64, n: usize) -> f64 {
    let step = 1.0 / per_second;
    let mut t = 0.0;
    for _ in 0..n {
        t += step;
        c.on_answer(ok(t));
    }
    t
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The exact schedule: a throttle while sending 16/s cuts to 0.7 of the
/// measured rate; successes then follow the cubic curve back.
#[test]
fn a_throttle_cuts_the_rate_and_successes_grow_it_back() {
    let mut c = Cubic::new(MIN_RATE, None);
    // 16 answers per second for 3 s (times exact in binary): the
    // measured rate converges on 16.
    let step = 1.0 / 16.0;
    let mut t = answered(&mut c, 16.0, 48);
    t += step;
    let cut = c.on_answer(throttle(t, t)).unwrap();
    let measured = c.measured;
    assert!((measured - 16.0).abs() < 0.01, "{measured}");
    assert!(close(cut, measured * BETA), "{cut}");
    // Answers to requests let out before the cut do not cut again.
    for late in 1..=15 {
        assert_eq!(
            c.on_answer(throttle(t - 0.01, t + f64::from(late) * 0.001)),
            None
        );
    }
    assert!(close(c.rate().unwrap(), cut));
    let window = (measured * (1.0 - BETA) / SCALE).cbrt();
    // Successes after the cut, one a second: each rate is on the curve
    // (until twice the measured rate caps it).
    let throttled_at = t;
    for s in 1..=6 {
        let now = throttled_at + f64::from(s);
        c.on_answer(ok(now));
        let curve = SCALE * (now - throttled_at - window).powi(3) + measured;
        let want = curve.min(2.0 * c.measured).max(MIN_RATE);
        assert!(
            close(c.rate().unwrap(), want),
            "{s} s: {:?} vs {want}",
            c.rate()
        );
    }
    // Back at the rate it was cut from after `window` seconds.
    assert!(
        (window - (16.0 * (1.0 - BETA) / SCALE).cbrt()).abs() < 0.01,
        "{window}"
    );
}

/// A throttle at 0 saying wait `wait`, then `per_wait` acceptances per
/// wait, from the end of the wait until [`BORNE_WAITS`] have passed.
/// Returns the time of the last answer.
fn stated(c: &mut Cubic, wait: f64, per_wait: f64) -> f64 {
    c.on_answer(throttle(0.0, 0.0));
    c.on_stated_wait(0.0, wait);
    let step = wait / per_wait;
    let mut t = wait;
    while t < BORNE_WAITS * wait + step {
        c.on_answer(ok(t));
        t += step;
    }
    t - step
}

/// Rows: (Retry-After in seconds, requests the server then accepted
/// per wait, the pace taken). A wait under 2 s says nothing of the
/// rate, nor one over 10 s; one between is the pace (below the floor
/// too) when the server's acceptances bear it out, and not when it
/// accepted more (a constant `Retry-After: 2` over 2 req/s).
#[test]
fn a_long_retry_after_borne_out_is_the_pace() {
    let rows = [
        (1.0, 1.0, None),
        (3.0, 1.0, Some(1.0 / 3.0)),
        (3.0, 1.5, Some(1.0 / 3.0)),
        (2.0, 4.0, None),
        (10.0, 1.0, Some(0.1)),
        (60.0, 1.0, None),
    ];
    for (wait, per_wait, want) in rows {
        let mut c = Cubic::new(MIN_RATE, None);
        let now = stated(&mut c, wait, per_wait);
        assert_eq!(c.stated_at(now), want, "{wait} {per_wait}");
        if let Some(pace) = want {
            assert!(close(c.rate().unwrap(), pace), "{wait}: {:?}", c.rate());
        }
    }
}

/// While a pace holds, a longer wait slows it at once; a shorter one
/// does not speed it up.
#[test]
fn a_longer_wait_slows_a_held_pace() {
    let mut c = Cubic::new(MIN_RATE, None);
    let now = stated(&mut c, 3.0, 1.0);
    assert_eq!(c.on_stated_wait(now, 2.0), None);
    assert_eq!(c.on_stated_wait(now, 5.0), Some(0.2));
    assert_eq!(c.stated_at(now), Some(0.2));
}

/// At a pace of 1 per 3 s, 100 requests (300 s) of successes do not
/// raise the rate; the first answer after that grows it again.
#[test]
fn a_stated_pace_holds_for_a_hundred_requests() {
    let mut c = Cubic::new(MIN_RATE, None);
    let taken = stated(&mut c, 3.0, 1.0);
    let pace = c.rate().unwrap();
    let until = taken + STATED_HOLD * 3.0;
    let mut at = taken + 3.0;
    while at < until {
        c.on_answer(ok(at));
        assert!(close(c.rate().unwrap(), pace), "{at}: {:?}", c.rate());
        at += 3.0;
    }
    c.on_answer(ok(until + 0.5));
    assert!(c.rate().unwrap() > pace, "{:?}", c.rate());
}

/// A wait of 10 s is held for 10 minutes, not 100 requests (1000 s).
#[test]
fn a_stated_pace_holds_ten_minutes_at_most() {
    let mut c = Cubic::new(MIN_RATE, None);
    let taken = stated(&mut c, STATED_MAX, 1.0);
    c.on_answer(ok(taken + STATED_HOLD_MAX - 1.0));
    assert!(close(c.rate().unwrap(), 1.0 / STATED_MAX));
    c.on_answer(ok(taken + STATED_HOLD_MAX + 1.0));
    assert!(c.rate().unwrap() >= MIN_RATE, "{:?}", c.rate());
}

/// Rows: (answers a second, how many) -> the measured rate: the rate so
/// far over the first half second, then a moving average that follows a
/// change within about a second (e^-2.5 of the old rate is left).
#[test]
fn the_measured_rate_follows_the_sending_rate() {
    /// Phases of (answers a second, how many).
    type Phases = &'static [(f64, usize)];
    let rows: [(Phases, f64, f64); 5] = [
        // 8 answers in the first half second: 7 gaps, counted from the first.
        (&[(16.0, 8)], 8.0 / (7.0 / 16.0), 1e-9),
        (&[(16.0, 48)], 16.0, 0.01),
        (&[(50.0, 500)], 50.0, 1e-6),
        // 50/s for 10 s, then 10/s for 1 s: near 10, not the 50 still in
        // a smoothed half-second bucket.
        (
            &[(50.0, 500), (10.0, 10)],
            10.0 + 40.0 * (-2.5f64).exp(),
            0.01,
        ),
        (
            &[(10.0, 100), (50.0, 50)],
            50.0 - 40.0 * (-2.5f64).exp(),
            0.01,
        ),
    ];
    for (phases, want, within) in rows {
        let mut c = Cubic::new(MIN_RATE, None);
        let mut t = 0.0;
        for &(per_second, n) in phases {
            for _ in 0..n {
                t += 1.0 / per_second;
                c.on_answer(ok(t));
            }
        }
        let got = c.measured;
        assert!((got - want).abs() < within, "{phases:?}: {got} vs {want}");
    }
}

/// Answers at one instant (threads answered together) each add 1/TAU.
#[test]
fn answers_at_one_instant_add_up() {
    let mut c = Cubic::new(MIN_RATE, None);
    let t = answered(&mut c, 10.0, 100);
    let before = c.measured;
    for _ in 0..4 {
        c.on_answer(ok(t));
    }
    assert!(close(c.measured, before + 4.0 / TAU), "{}", c.measured);
}

/// Rows: (ceiling, floor, what is sent before a throttle) -> the rate
/// right after it, never above the ceiling nor below the floor.
#[test]
fn the_rate_stays_between_floor_and_ceiling() {
    let rows: [(Option<f64>, f64, f64, f64); 3] = [
        (None, MIN_RATE, 40.0, 28.0),
        (Some(10.0), MIN_RATE, 40.0, 10.0),
        (None, 5.0, 2.0, 5.0),
    ];
    for (ceiling, floor, per_second, want) in rows {
        let mut c = Cubic::new(floor, ceiling);
        let t = answered(&mut c, per_second, (10.0 * per_second) as usize);
        let t = t + 1.0 / per_second;
        let cut = c.on_answer(throttle(t, t)).unwrap();
        assert!(
            (cut - want).abs() < 0.5,
            "{ceiling:?} {floor} {per_second}: {cut}"
        );
        for s in 0..600 {
            let at = t + f64::from(s) * 0.1;
            c.on_answer(Answer {
                sent: at,
                at,
                throttled: s % 50 == 0,
            });
            let r = c.rate().unwrap();
            assert!(r >= floor && ceiling.is_none_or(|c| r <= c), "{r}");
        }
    }
}
