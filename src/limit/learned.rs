//! Rates learned from throttling, one per route: a limit per endpoint
//! (Frame.io's: from 10 a minute to 100 a second, 5 a second on asset
//! creation) teaches only its own route's pace, and the origin's other
//! routes go on unpaced. Each route's rate measures that route's own
//! sending rate from its first answer, so that its first cut is from what
//! it sent. A limit of the whole origin refuses every route in turn, and
//! each learns its share.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::{cubic, lock};
use crate::route::ById;

/// Routes learned apart at most; past them, the rest share one rate.
const ROUTES: usize = 64;

/// The key the routes past [`ROUTES`] share.
const REST: u64 = 0;

/// One route's learned rate and its own pacing: the last slot taken, the
/// next being one interval of the rate learned by then, so that a pace
/// learned between two requests spaces the second (slots computed when
/// the first went out let one more request through at the old rate,
/// refused); and a pause its server asked of it.
#[derive(Debug, Clone)]
pub(super) struct Learned {
    pub cubic: cubic::Cubic,
    pub last: Option<Instant>,
    pub paused_until: Option<Instant>,
}

#[derive(Debug)]
pub(super) struct Learning {
    /// A new route's rate: not yet learned, within the origin's bounds.
    fresh: Learned,
    routes: Mutex<ById<Learned>>,
}

impl Learning {
    pub fn new(floor: f64, ceiling: Option<f64>) -> Self {
        Learning {
            fresh: Learned {
                cubic: cubic::Cubic::new(floor, ceiling),
                last: None,
                paused_until: None,
            },
            routes: Mutex::new(ById::default()),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, ById<Learned>> {
        lock(&self.routes)
    }

    /// `key`'s rate, made at its first answer.
    pub fn route<'m>(&self, map: &'m mut ById<Learned>, key: u64) -> &'m mut Learned {
        let key = match map.len() < ROUTES || map.contains_key(&key) {
            true => key,
            false => REST,
        };
        map.entry(key).or_insert_with(|| self.fresh.clone())
    }

    /// The slowest route's learned rate, once a throttle taught one.
    pub fn slowest(&self) -> Option<f64> {
        self.lock()
            .values()
            .filter_map(|l| l.cubic.rate())
            .reduce(f64::min)
    }
}
