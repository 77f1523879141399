use super::*;
use crate::route::Route;

/// The route of most calls here.
fn a() -> Route<'static> {
    Route::new("GET", "/a", None)
}

#[test]
fn slots_are_spaced_by_the_tightest_limit() {
    let limiter = RateLimiter::new(
        "http://x:80",
        Some(RateLimit::per_second(1000)),
        &[(
            "POST".into(),
            "/assets/:id/children".into(),
            RateLimit::per_second(100),
        )],
        None,
    );
    let cancel = CancelToken::new();
    let t = Instant::now();
    for _ in 0..5 {
        limiter
            .acquire(
                &Route::new("POST", "/assets/1/children", None),
                None,
                &cancel,
            )
            .unwrap();
    }
    // 5 requests at 100/s: slots at 0, 10, 20, 30, 40 ms.
    assert!(
        t.elapsed() >= Duration::from_millis(40),
        "{:?}",
        t.elapsed()
    );
    // A deadline before the next slot: refused at once. (A slot 1 s away, so
    // that a thread descheduled for a few ms, under qemu say, still waits.)
    let slow = RateLimiter::new("http://x:80", Some(RateLimit::per_second(1)), &[], None);
    slow.acquire(&a(), None, &cancel).unwrap();
    let err = slow
        .acquire(&a(), Some(Instant::now()), &cancel)
        .unwrap_err();
    assert_eq!(err.kind, Kind::DeadlineExceeded);
}

/// A limiter that learned 14 requests/s: 20 answers a second for 3 s,
/// then a throttle (0.7 of the measured 20). Times are given, not slept.
fn taught(ceiling: Option<RateLimit>) -> (RateLimiter, Instant) {
    let limiter = RateLimiter::new("http://x:80", ceiling, &[], Some(AdaptiveRate::default()));
    let t0 = limiter.epoch;
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    for i in 1..=60 {
        limiter.on_answer_at(&a(), at(i * 50), at(i * 50), false);
    }
    limiter.on_answer_at(&a(), at(3050), at(3050), true);
    (limiter, at(3050))
}

#[test]
fn a_paused_origin_releases_its_waiters_paced_at_the_learned_rate() {
    let (limiter, now) = taught(None);
    let rate = limiter.learned_rate().unwrap();
    assert!((rate - 14.0).abs() < 0.01, "{rate}");
    let interval = Duration::from_secs_f64(1.0 / rate);
    let end = now + Duration::from_secs(2);
    limiter.pause_until(end);
    // Five waiters, each trying again when told: one slot per interval.
    let mut slots = Vec::new();
    for _ in 0..5 {
        let mut t = now;
        let slot = loop {
            match limiter.take(&a(), t) {
                Ok(slot) => break slot,
                Err(next) => t = next,
            }
        };
        slots.push(slot);
    }
    assert_eq!(slots[0], end);
    for pair in slots.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap.abs_diff(interval) < SLACK * 2,
            "{gap:?} vs {interval:?}"
        );
    }
}

/// A rate cut between two requests spaces the second by the new interval,
/// not the one in force when the first went out.
#[test]
fn a_cut_between_two_requests_spaces_the_second() {
    let (limiter, now) = taught(None);
    let first = limiter.take(&a(), now).unwrap();
    let before = limiter.learned_rate().unwrap();
    // A throttle to a request let out after the last cut: cut again.
    let later = now + Duration::from_millis(10);
    limiter.on_answer_at(&a(), later, later, true);
    let after = limiter.learned_rate().unwrap();
    assert!(after < before, "{after} vs {before}");
    let next = limiter.take(&a(), later).unwrap_err();
    let (gap, want) = (next - first, Duration::from_secs_f64(1.0 / after));
    assert!(gap.abs_diff(want) < SLACK, "{gap:?} vs {want:?}");
}

/// Rows: (configured limit, what the learned rate may never exceed),
/// through 30 s of successes after the throttle.
#[test]
fn a_configured_limit_is_the_ceiling_of_the_learned_rate() {
    let rows: [(Option<RateLimit>, f64); 2] =
        [(None, f64::INFINITY), (Some(RateLimit::per_second(5)), 5.0)];
    for (limit, ceiling) in rows {
        let (limiter, now) = taught(limit);
        let mut highest: f64 = 0.0;
        for s in 1..=300 {
            let at = now + Duration::from_millis(s * 100);
            limiter.on_answer_at(&a(), at, at, false);
            highest = highest.max(limiter.learned_rate().unwrap());
        }
        assert!(highest <= ceiling, "{limit:?}: {highest}");
        assert!(highest > 4.9, "{limit:?}: grew back to {highest}");
    }
}

/// Rows: (learning, Retry-After) -> (every call waits until then, the
/// learned rate). A learning origin lets a short wait hold only the
/// call it answered; a longer one holds every call (and may become
/// their pace once the server's answers bear it out: `cubic`'s tests).
#[test]
fn a_retry_after_holds_the_origin_when_long_or_not_learning() {
    let s = Duration::from_secs;
    let rows = [
        (false, s(1), true, None),
        (true, s(1), false, None),
        (true, s(3), true, None),
        (true, s(60), true, None),
    ];
    for (learning, wait, holds, rate) in rows {
        let adaptive = learning.then(AdaptiveRate::default);
        let limiter = RateLimiter::new("http://x:80", None, &[], adaptive);
        let now = limiter.epoch;
        limiter.on_retry_after_at(&a(), now, wait, Duration::MAX);
        let free = match limiter.take(&a(), now) {
            Ok(_) => now,
            Err(at) => at,
        };
        assert_eq!(free == now + wait, holds, "{learning} {wait:?}");
        assert_eq!(limiter.learned_rate(), rate, "{learning} {wait:?}");
    }
}

#[test]
fn a_stated_quota_is_spread_over_its_window() {
    let limiter = RateLimiter::new("http://x:80", None, &[], None);
    limiter.on_quota(10, Duration::from_secs(5));
    let now = Instant::now();
    assert_eq!(limiter.take(&a(), now), Ok(now));
    assert_eq!(
        limiter.take(&a(), now),
        Err(now + Duration::from_millis(500))
    );
    limiter.on_quota(0, Duration::from_secs(60));
    assert!(limiter.take(&a(), Instant::now()).unwrap_err() > now + Duration::from_secs(59));
}
