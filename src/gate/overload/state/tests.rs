use super::*;
use crate::backoff::Jitter;

fn trials() -> Backoff {
    Backoff::default()
        .with_cap(Duration::from_secs(6))
        .with_jitter(Jitter::None)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Answers as (ms since start, refused).
type Answers = &'static [(u64, bool)];

/// Whether the gate closes on these answers.
#[test]
fn when_it_closes() {
    let rows: &[(&str, Answers, bool)] = &[
        (
            "three refusals over 0.6 s",
            &[(0, true), (300, true), (600, true)],
            true,
        ),
        (
            "three refusals in 10 ms: a burst, not yet",
            &[(0, true), (5, true), (10, true)],
            false,
        ),
        (
            "... and a fourth 0.5 s on",
            &[(0, true), (5, true), (10, true), (500, true)],
            true,
        ),
        ("two refusals", &[(0, true), (900, true)], false),
        (
            "an acceptance between them",
            &[
                (0, true),
                (300, true),
                (400, false),
                (600, true),
                (900, true),
            ],
            false,
        ),
        (
            "a rate limit: 4 of 5 refused, 50 answers a second",
            &[
                (0, true),
                (20, true),
                (40, true),
                (60, true),
                (80, false),
                (100, true),
                (120, true),
                (140, true),
                (160, true),
                (180, false),
                (200, true),
                (220, true),
                (240, true),
                (260, true),
                (280, false),
                (300, true),
                (320, true),
                (340, true),
                (360, true),
                (380, false),
                (400, true),
                (420, true),
                (440, true),
                (460, true),
                (480, false),
                (500, true),
                (520, true),
                (540, true),
                (560, true),
                (580, false),
            ],
            false,
        ),
        (
            "occasional refusals among acceptances",
            &[
                (0, true),
                (250, false),
                (500, false),
                (750, true),
                (1000, false),
                (1250, true),
                (1500, false),
                (1750, false),
                (2000, true),
                (2250, true),
                (2500, false),
            ],
            false,
        ),
    ];
    for (what, answers, closes) in rows {
        let mut gate = OverloadState::new(trials(), 1);
        let t0 = Instant::now();
        let began = answers
            .iter()
            .map(|&(at, refused)| gate.on_answer(t0 + ms(at), refused, false))
            .filter(|o| *o == Overload::Began)
            .count();
        assert_eq!(began == 1, *closes, "{what}");
        assert_eq!(gate.is_closed(), *closes, "{what}");
    }
}

#[test]
fn the_refusal_set() {
    let refusals: Vec<Kind> = Kind::ALL
        .iter()
        .copied()
        .filter(|&k| OverloadState::is_refusal(k))
        .collect();
    assert_eq!(refusals, [Kind::RateLimited, Kind::Unavailable]);
}

fn closed_at(t0: Instant) -> OverloadState {
    let mut gate = OverloadState::new(trials(), 1);
    for i in 0..40 {
        gate.admit(t0 + ms(i * 250), false); // 4 calls a second before
        gate.on_answer(t0 + ms(i * 250 + 10), false, false);
    }
    for at in [10_000, 10_300, 10_600] {
        gate.admit(t0 + ms(at), false);
        gate.on_answer(t0 + ms(at + 10), true, false);
    }
    assert!(gate.is_closed());
    gate
}

/// While closed, one trial at a time, on the seed's backoff capped at 6 s,
/// from its third step (the three refusals that closed it were the first
/// steps, as for one call refused three times); a trial refused schedules
/// the next; calls refused that were sent before it closed do not.
#[test]
fn trials_follow_the_backoff() {
    let t0 = Instant::now();
    let mut gate = closed_at(t0);
    let mut now = t0 + ms(10_610);
    let mut pauses = Vec::new();
    gate.on_answer(now + ms(5), true, false); // sent before it closed
    for _ in 0..7 {
        let due = gate.trial_due().expect("a trial is due");
        assert_eq!(gate.admit(due - ms(1), false), Admission::Hold);
        assert_eq!(gate.admit(due, false), Admission::Trial);
        assert_eq!(gate.admit(due, false), Admission::Hold, "one at a time");
        pauses.push((due - now).as_millis() as u64);
        now = due + ms(20);
        assert_eq!(gate.on_answer(now, true, true), Overload::Unchanged);
    }
    assert_eq!(pauses, [2000, 4000, 6000, 6000, 6000, 6000, 6000]);
}

#[test]
fn a_lost_trial() {
    let t0 = Instant::now();
    let mut gate = closed_at(t0);
    let due = gate.trial_due().unwrap();
    assert_eq!(gate.admit(due, false), Admission::Trial);
    // Cancelled before it was sent: another call may go at once.
    gate.on_trial_lost(due + ms(5), false);
    assert_eq!(gate.admit(due + ms(5), false), Admission::Trial);
    // Timed out: the next trial follows the schedule.
    gate.on_trial_lost(due + ms(100), true);
    assert_eq!(gate.trial_due(), Some(due + ms(4100)));
}

/// The first acceptance opens it; held calls leave at 1.2 times the demand
/// before (4 a second: one every 208 ms), then calls go at once.
#[test]
fn an_acceptance_releases_paced() {
    let t0 = Instant::now();
    let mut gate = closed_at(t0);
    let due = gate.trial_due().unwrap();
    assert_eq!(gate.admit(due, false), Admission::Trial);
    let back = due + ms(30);
    assert_eq!(gate.on_answer(back, false, true), Overload::Ended);
    assert!(!gate.is_closed());
    assert_eq!(gate.trial_due(), None);
    let turns: Vec<Duration> = (0..5)
        .map(|_| match gate.admit(back, false) {
            Admission::At(t) => t - back,
            other => panic!("{other:?}"),
        })
        .collect();
    // 43 calls over 10.6 s before: 4.06 a second, released at 4.87.
    let spacing = turns[1];
    assert!((0.20..0.21).contains(&spacing.as_secs_f64()), "{spacing:?}");
    assert_eq!(turns, (0..5).map(|i| spacing * i).collect::<Vec<_>>());
    assert_eq!(gate.admit(back + ms(10_000), false), Admission::Go);
    // A new streak is needed to close it again.
    assert_eq!(
        gate.on_answer(back + ms(10_000), true, false),
        Overload::Unchanged
    );
    assert_eq!(gate.overloads(), 1);
}
