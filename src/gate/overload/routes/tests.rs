use std::time::{Duration, Instant};

use super::{Gates, Whose};
use crate::backoff::{Backoff, Jitter};
use crate::gate::connectivity::Admission;
use crate::gate::overload::Overload;
use crate::route::Route;

const A: &str = "POST /v2/devices/:id/assets";
const B: &str = "GET /v2/assets/:id";

fn gates() -> Gates {
    let trials = Backoff::default()
        .with_cap(Duration::from_secs(6))
        .with_jitter(Jitter::None);
    Gates::new(trials, 1)
}

/// Rows: (what, the answers as (ms, route, refused)), then whether the
/// origin's gate is closed, route A's, route B's. (A refusal closes a
/// gate when it is the third in a row over 0.5 s at least.)
#[test]
fn a_route_refused_alone_closes_only_itself() {
    type Row = (
        &'static str,
        &'static [(u64, &'static str, bool)],
        [bool; 3],
    );
    let rows: [Row; 7] = [
        (
            "A refused 3 times over 0.6 s, B accepted between",
            &[
                (0, A, true),
                (100, B, false),
                (300, A, true),
                (400, B, false),
                (600, A, true),
            ],
            [false, true, false],
        ),
        (
            "A refused 3 times over 0.6 s, nothing else called",
            &[(0, A, true), (300, A, true), (600, A, true)],
            [true, true, true],
        ),
        (
            "A refused 3 times over 0.6 s, B called before",
            &[
                (0, B, false),
                (100, A, true),
                (400, A, true),
                (700, A, true),
            ],
            [false, true, false],
        ),
        (
            "A and B refused in a row over 0.6 s",
            &[
                (0, A, true),
                (100, B, true),
                (300, A, true),
                (500, B, true),
                (700, A, true),
            ],
            [true, true, true],
        ),
        (
            "B accepted between A's refusals",
            &[
                (0, A, true),
                (100, B, true),
                (200, B, false),
                (300, A, true),
                (500, B, true),
                (700, A, true),
            ],
            [false, true, false],
        ),
        (
            "A refused 3 times in 0.2 s: a burst",
            &[(0, A, true), (100, A, true), (200, A, true)],
            [false, false, false],
        ),
        (
            "A accepted after two refusals",
            &[
                (0, A, true),
                (300, A, true),
                (400, A, false),
                (600, A, true),
            ],
            [false, false, false],
        ),
    ];
    for (what, answers, [origin, a, b]) in rows {
        let mut g = gates();
        let t0 = Instant::now();
        for &(ms, route, refused) in answers {
            g.admit(
                t0 + Duration::from_millis(ms),
                false,
                &Route::new("", "", Some(route)),
            );
            g.on_answer(
                t0 + Duration::from_millis(ms),
                &Route::new("", "", Some(route)),
                refused,
                None,
            );
        }
        let at = t0 + Duration::from_millis(800);
        assert_eq!(g.is_closed(), origin, "{what}: the origin");
        for (route, closed) in [(A, a), (B, b)] {
            let (admission, _) = g.admit(at, false, &Route::new("", "", Some(route)));
            assert_eq!(
                admission == Admission::Hold,
                closed,
                "{what}: {route} {admission:?}"
            );
        }
    }
}

/// A closed route's trial goes on its schedule and its acceptance opens
/// it; the origin's gate was never closed.
#[test]
fn a_closed_routes_trial_opens_it() {
    let mut g = gates();
    let t0 = Instant::now();
    let ms = |n| t0 + Duration::from_millis(n);
    let (a, b) = (Route::new("", "", Some(A)), Route::new("", "", Some(B)));
    for t in [0, 300, 600] {
        g.admit(ms(t), false, &a);
        g.on_answer(ms(t), &a, true, None);
        g.admit(ms(t + 100), false, &b);
        g.on_answer(ms(t + 100), &b, false, None);
    }
    assert_eq!(g.admit(ms(700), false, &a), (Admission::Hold, None));
    assert_eq!(g.trial_due(&a), Some(ms(2600)));
    assert_eq!(
        g.admit(ms(2600), false, &a),
        (Admission::Trial, Some(Whose::Route))
    );
    let changed = g.on_answer(ms(2650), &a, false, Some(Whose::Route));
    assert_eq!(
        (changed.origin, changed.route),
        (Overload::Unchanged, Overload::Ended)
    );
    assert!(matches!(
        g.admit(ms(2700), false, &a).0,
        Admission::At(_) | Admission::Go
    ));
    assert!(!g.is_closed());
}
