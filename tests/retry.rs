//! The retry engine on virtual time: exact schedules, retry classes,
//! overrides, server pushback, deadlines, cancellation, budget, events.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiretry::{
    ApiError, Backoff, CancelToken, Event, Jitter, Kind, Policy, Retrier, Retry, RetryBudget,
    RetryState, Step, StopReason, VirtualClock,
};

fn ms(v: &[u64]) -> Vec<Duration> {
    v.iter().map(|&m| Duration::from_millis(m)).collect()
}

#[test]
fn seed_formula_without_jitter() {
    let delays: Vec<Duration> = Backoff::default()
        .with_jitter(Jitter::None)
        .schedule()
        .take(10)
        .collect();
    assert_eq!(
        delays,
        ms(&[500, 1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000, 32000])
    );
}

/// Seeded schedules are exact; each row also obeys its mode's definition.
#[test]
fn exact_schedules_per_jitter_mode() {
    let rows: &[(Jitter, &[u64])] = &[
        (
            Jitter::Seed,
            &[698, 1247, 2805, 4079, 10168, 19647, 46328, 38215, 43530],
        ),
        (
            Jitter::None,
            &[500, 1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000],
        ),
        (
            Jitter::Full,
            &[396, 494, 1609, 159, 4336, 7293, 28656, 12431, 23060],
        ),
        (
            Jitter::Equal,
            &[448, 747, 1805, 2079, 6168, 11647, 30328, 22215, 27530],
        ),
        (
            Jitter::Decorrelated,
            &[1291, 2165, 5323, 1117, 2045, 3069, 8298, 9976, 21706],
        ),
    ];
    let backoff = Backoff::default();
    for &(jitter, want) in rows {
        let got: Vec<Duration> = backoff
            .clone()
            .with_jitter(jitter)
            .schedule_seeded(42)
            .take(want.len())
            .collect();
        assert_eq!(got, ms(want), "{jitter:?}");
        let mut previous = Duration::from_millis(500);
        for (i, &d) in got.iter().enumerate() {
            let delay = backoff.delay(i as u32);
            let (lo, hi) = match jitter {
                Jitter::Seed => (delay, delay + delay / 2),
                Jitter::None => (delay, delay),
                Jitter::Full => (Duration::ZERO, delay),
                Jitter::Equal => (delay / 2, delay),
                Jitter::Decorrelated => (
                    Duration::from_millis(500),
                    (previous * 3).min(Duration::from_secs(32)),
                ),
                _ => unreachable!(),
            };
            assert!(
                lo <= d && d <= hi,
                "{jitter:?} #{i}: {d:?} not in [{lo:?}, {hi:?}]"
            );
            previous = d;
        }
    }
}

#[test]
fn backoff_is_configurable() {
    let b = Backoff::default()
        .with_base(Duration::from_millis(100))
        .with_factor(3.0)
        .with_cap(Duration::from_secs(2))
        .with_jitter(Jitter::None);
    assert_eq!(
        b.schedule().take(5).collect::<Vec<_>>(),
        ms(&[100, 300, 900, 2000, 2000])
    );
    // A huge attempt number saturates at the cap instead of overflowing.
    assert_eq!(b.delay(u32::MAX), Duration::from_secs(2));
}

/// A retrier on virtual time with no jitter, and the clock to inspect.
fn retrier(policy: Policy) -> (Retrier, Arc<VirtualClock>) {
    let clock = Arc::new(VirtualClock::new());
    let policy = policy.with_backoff(Backoff::default().with_jitter(Jitter::None));
    (Retrier::new(policy).with_clock(clock.clone()), clock)
}

/// Attempts made, sleeps, and the result's kind (`None` = success).
type Outcome = (usize, Vec<Duration>, Option<Kind>);

/// Runs an operation that fails with `failures` in turn, then succeeds.
fn run(policy: Policy, failures: Vec<ApiError>) -> Outcome {
    let (r, clock) = retrier(policy);
    let mut attempts = 0;
    let result = r.run(|n| {
        attempts += 1;
        failures.get(n as usize).cloned().map_or(Ok(()), Err)
    });
    (attempts, clock.sleeps(), result.err().map(|e| e.kind))
}

fn fail(kind: Kind, n: usize) -> Vec<ApiError> {
    vec![ApiError::new(kind); n]
}

#[test]
fn retry_classes() {
    let all = ms(&[500, 1000, 2000, 4000, 8000, 16000, 32000]);
    let rows: Vec<(&str, Vec<ApiError>, Outcome)> = vec![
        (
            "yes: retried until the limit",
            fail(Kind::Timeout, 20),
            (8, all, Some(Kind::Timeout)),
        ),
        (
            "yes: then success",
            fail(Kind::RateLimited, 3),
            (4, ms(&[500, 1000, 2000]), None),
        ),
        (
            "once: exactly one extra try",
            fail(Kind::ServerError, 5),
            (2, ms(&[500]), Some(Kind::ServerError)),
        ),
        (
            "once: the extra try succeeds",
            fail(Kind::NotFound, 1),
            (2, ms(&[500]), None),
        ),
        (
            "no: returned at once",
            fail(Kind::InvalidRequest, 5),
            (1, vec![], Some(Kind::InvalidRequest)),
        ),
        (
            "channel_paused: never",
            fail(Kind::ChannelPaused, 5),
            (1, vec![], Some(Kind::ChannelPaused)),
        ),
        (
            "yes then once then once: the once is spent",
            vec![
                ApiError::new(Kind::Timeout),
                ApiError::new(Kind::ServerError),
                ApiError::new(Kind::ServerError),
            ],
            (3, ms(&[500, 1000]), Some(Kind::ServerError)),
        ),
    ];
    for (what, failures, outcome) in rows {
        assert_eq!(run(Policy::default(), failures), outcome, "{what}");
    }
}

#[test]
fn per_kind_overrides() {
    let rows: Vec<(Policy, Kind, usize)> = vec![
        (
            Policy::default().with_retry(Kind::NotFound, Retry::Yes),
            Kind::NotFound,
            8,
        ),
        (
            Policy::default().with_retry(Kind::Timeout, Retry::No),
            Kind::Timeout,
            1,
        ),
        (
            Policy::default().with_retry(Kind::Timeout, Retry::Once),
            Kind::Timeout,
            2,
        ),
        (
            Policy::default()
                .with_retry(Kind::InvalidRequest, Retry::Yes)
                .with_max_attempts(3),
            Kind::InvalidRequest,
            3,
        ),
        // The taxonomy forbids retrying a paused channel, whatever the policy says.
        (
            Policy::default().with_retry(Kind::ChannelPaused, Retry::Yes),
            Kind::ChannelPaused,
            1,
        ),
    ];
    for (policy, kind, attempts) in rows {
        assert_eq!(run(policy, fail(kind, 20)).0, attempts, "{kind}");
    }
}

#[test]
fn server_pushback() {
    let limited = |ms: u64| ApiError::new(Kind::RateLimited).with_retry_after_ms(ms);
    let rows: Vec<(&str, Policy, Vec<ApiError>, Vec<Duration>)> = vec![
        (
            "Retry-After beats a shorter backoff",
            Policy::default(),
            vec![limited(3000)],
            ms(&[3000]),
        ),
        (
            "backoff beats a shorter Retry-After",
            Policy::default(),
            vec![limited(0), limited(0), limited(100)],
            ms(&[500, 1000, 2000]),
        ),
        (
            "a huge Retry-After is capped",
            Policy::default().with_max_retry_after(Duration::from_secs(60)),
            vec![limited(3_600_000)],
            ms(&[60_000]),
        ),
    ];
    for (what, policy, failures, sleeps) in rows {
        let (_, got, result) = run(policy, failures);
        assert_eq!((got, result), (sleeps, None), "{what}");
    }
}

#[test]
fn deadlines() {
    let limited = ApiError::new(Kind::RateLimited)
        .with_retry_after_ms(30_000)
        .with_code("slow_down");
    // The server asks for more than the deadline allows: fail now, with its error.
    let (r, clock) = retrier(Policy::default().with_deadline(Duration::from_secs(10)));
    let err = r.run(|_| Err::<(), _>(limited.clone())).unwrap_err();
    assert_eq!(
        (err.kind, err.code.as_deref()),
        (Kind::RateLimited, Some("slow_down"))
    );
    assert!(clock.sleeps().is_empty());

    // Backoff stops when the next wait would end past the deadline; the time
    // attempts take counts too.
    let (r, clock) = retrier(Policy::default().with_deadline(Duration::from_secs(10)));
    let mut attempts = 0;
    let err = r
        .run(|_| {
            attempts += 1;
            clock.advance(Duration::from_secs(1));
            Err::<(), _>(ApiError::new(Kind::Timeout))
        })
        .unwrap_err();
    // 1 s + 0.5 + 1 s + 1 + 1 s + 2 + 1 s = 7.5 s; the next wait (4 s) would end at 11.5 s.
    assert_eq!((attempts, clock.sleeps()), (4, ms(&[500, 1000, 2000])));
    assert_eq!(err.kind, Kind::Timeout);
}

#[test]
fn cancellation_before_and_during_a_sleep() {
    let cancel = CancelToken::new();
    cancel.cancel();
    let (r, _) = retrier(Policy::default());
    let mut called = false;
    let err = r
        .run_cancellable(&cancel, |_| {
            called = true;
            Ok(())
        })
        .unwrap_err();
    assert_eq!((err.kind, called), (Kind::Cancelled, false));

    // Real time: a 30 s backoff is cut short by a cancel from another thread.
    let policy =
        Policy::default().with_backoff(Backoff::default().with_base(Duration::from_secs(30)));
    let r = Retrier::new(policy);
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let at = Instant::now();
            cancel.cancel();
            at
        })
    };
    let err = r
        .run_cancellable(&cancel, |_| Err::<(), _>(ApiError::new(Kind::Timeout)))
        .unwrap_err();
    let returned = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert_eq!(err.kind, Kind::Cancelled);
    assert!(
        err.message.contains("last failure: timeout"),
        "{}",
        err.message
    );
    let latency = returned.saturating_duration_since(cancelled_at);
    assert!(
        latency < Duration::from_millis(50),
        "returned {latency:?} after cancel"
    );
}

/// Runs one call whose attempt `i` succeeds when `outcomes[i]` is true
/// (missing: fails retryably); returns the attempts it made.
fn attempts_of(r: &Retrier, outcomes: &[bool]) -> usize {
    let mut n = 0;
    let _ = r.run(|i| {
        n += 1;
        if outcomes.get(i as usize).copied().unwrap_or(false) {
            Ok(())
        } else {
            Err(ApiError::new(Kind::Connection))
        }
    });
    n
}

#[test]
fn budget_exhaustion_and_refill() {
    let budget = Arc::new(RetryBudget::default());
    let (r, _) = retrier(Policy::default());
    let r = r.with_budget(budget.clone());
    // A fresh budget (16 tokens for 8 attempts) lets the first call make all 8.
    assert_eq!(attempts_of(&r, &[]), 8);
    assert_eq!(budget.tokens(), 8.0);
    // Half left after one wholly failed call: a failing call makes one attempt,
    // and its error says why.
    let err = r
        .run(|_| Err::<(), _>(ApiError::new(Kind::Connection)))
        .unwrap_err();
    assert!(
        err.message
            .contains("retry budget is spent (attempt 1 of 8)"),
        "{err}"
    );
    assert_eq!(attempts_of(&r, &[]), 1);
    assert_eq!(budget.tokens(), 6.0);
    // Successes refill it, 0.1 each: 31 of them bring it to 9.1, enough for
    // the next failing call to be let retry.
    for _ in 0..31 {
        assert_eq!(attempts_of(&r, &[true]), 1);
    }
    assert_eq!(attempts_of(&r, &[false, true]), 2);
    // Non-retryable failures do not spend the budget.
    let before = budget.tokens();
    let _ = r.run(|_| Err::<(), _>(ApiError::new(Kind::InvalidRequest)));
    assert_eq!(budget.tokens(), before);
}

/// The budget decides once per call, at its first retryable failure: a call
/// let retry keeps its policy's attempts however the budget is drained
/// meanwhile, one refused makes one attempt.
#[test]
fn budget_decides_once_per_call() {
    let rows: &[(&str, u32, &[bool], usize)] = &[
        // (case, tokens spent by earlier calls, outcomes, attempts made)
        (
            "seed 001: 503 six times, then 200",
            0,
            &[false, false, false, false, false, false, true],
            7,
        ),
        ("a fresh call that never succeeds", 0, &[], 8),
        (
            "10 of 16 left: let retry, then drained to 2 by its own failures",
            6,
            &[],
            8,
        ),
        (
            "9 of 16 left: 8 after its first failure, refused",
            7,
            &[],
            1,
        ),
    ];
    for &(case, spent, outcomes, want) in rows {
        let budget = Arc::new(RetryBudget::default());
        for _ in 0..spent {
            budget.on_failure();
        }
        let (r, _) = retrier(Policy::default());
        let r = r.with_budget(budget);
        assert_eq!(attempts_of(&r, outcomes), want, "{case}");
    }

    // Calls in flight together (16 threads of a fresh client): all fail
    // their first attempt before any retries. The first 7 are let retry and
    // keep all 8 attempts while their failures drain the budget to nothing;
    // the other 9 make one attempt each.
    let budget = RetryBudget::default();
    let policy = Policy::default();
    let t0 = Instant::now();
    let err = ApiError::new(Kind::Connection);
    let mut calls: Vec<RetryState<'_>> = (0..16)
        .map(|seed| RetryState::new(&policy, t0, seed))
        .collect();
    let mut attempts = vec![0u32; 16];
    let mut live: Vec<usize> = (0..16).collect();
    while !live.is_empty() {
        live.retain(|&i| {
            attempts[i] += 1;
            matches!(calls[i].on_failure(&err, t0, Some(&budget)), Step::Retry(_))
        });
    }
    assert_eq!(attempts, [8, 8, 8, 8, 8, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert_eq!(budget.tokens(), 0.0);
}

#[test]
fn observer_sees_every_attempt_without_secrets() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let observer = move |e: &Event<'_>| {
        log.lock().unwrap().push(format!(
            "{} {:?} {:?} {:?} {}",
            e.attempt,
            e.step,
            e.budget_left,
            e.error,
            e.error.map_or(String::new(), |err| err.to_string())
        ));
    };
    let (r, _) = retrier(Policy::default());
    let r = r
        .with_observer(Arc::new(observer))
        .with_budget(Arc::new(RetryBudget::default()));
    let leaky = ApiError::new(Kind::Unauthorized).with_message("rejected Bearer eyJsecret.token");
    let mut n = 0;
    r.run(|_| {
        n += 1;
        if n < 3 {
            Err(leaky.clone())
        } else {
            Ok(())
        }
    })
    .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(
        seen[0].starts_with("0 Retry(500ms) Some(15.0)"),
        "{}",
        seen[0]
    );
    assert!(seen[1].starts_with("1 Retry(1s) Some(14.0)"), "{}", seen[1]);
    assert!(seen[2].starts_with("2 Success Some(14.1)"), "{}", seen[2]);
    assert!(
        seen.iter().all(|line| !line.contains("eyJsecret")),
        "{seen:?}"
    );
}

#[test]
fn give_up_reasons_reach_the_observer() {
    let steps: Arc<Mutex<Vec<Step>>> = Arc::default();
    let log = steps.clone();
    let (r, _) = retrier(Policy::default().with_max_attempts(2));
    let r = r.with_observer(Arc::new(move |e: &Event<'_>| {
        log.lock().unwrap().push(e.step)
    }));
    let _ = r.run(|_| Err::<(), _>(ApiError::new(Kind::Timeout)));
    let _ = r.run(|_| Err::<(), _>(ApiError::new(Kind::Forbidden)));
    // A call cancelled, or out of time, at a gate or the limiter: the
    // operation's error says so, and the step is the cancellation or the
    // deadline, not a give-up for a failure that is not retried.
    let cancelled = r.run(|_| Err::<(), _>(ApiError::new(Kind::Cancelled)));
    assert_eq!(cancelled.unwrap_err().kind, Kind::Cancelled);
    let _ = r.run(|_| Err::<(), _>(ApiError::new(Kind::DeadlineExceeded)));
    assert_eq!(
        *steps.lock().unwrap(),
        [
            Step::Retry(Duration::from_millis(500)),
            Step::GiveUp(StopReason::Attempts),
            Step::GiveUp(StopReason::NotRetryable),
            Step::Cancelled,
            Step::GiveUp(StopReason::Deadline),
        ]
    );
}
