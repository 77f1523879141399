//! Rate learning for a program's own HTTP stack (firmware that sends with
//! libcurl and asks apiretry what to do): `RateLearner` behind a lock, so
//! that one learner per origin can be shared by upload threads.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::{apiretry_result, arg, boxed, free, guard, guard_void, out};
use crate::limit::{AdaptiveRate, RateLearner};

/// The rate one origin allows, learned from its throttling answers. Create
/// with `apiretry_rate_learner_new`, release with
/// `apiretry_rate_learner_free`. Thread-safe.
pub struct apiretry_rate_learner {
    inner: Mutex<RateLearner>,
}

impl apiretry_rate_learner {
    fn with<T>(&self, f: impl FnOnce(&mut RateLearner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Floor and ceiling in requests per second from C: 0 for the default
/// floor (0.5) or no ceiling; negative, not finite, or a floor above the
/// ceiling is `InvalidArgument`.
pub(crate) fn adaptive(
    floor_per_s: f64,
    ceiling_per_s: f64,
) -> Result<AdaptiveRate, apiretry_result> {
    let ok = |x: f64| x.is_finite() && x >= 0.0;
    if !ok(floor_per_s) || !ok(ceiling_per_s) {
        return Err(apiretry_result::InvalidArgument);
    }
    if ceiling_per_s > 0.0 && floor_per_s > ceiling_per_s {
        return Err(apiretry_result::InvalidArgument);
    }
    let mut a = AdaptiveRate::default();
    if floor_per_s > 0.0 {
        a = a.with_floor(floor_per_s);
    }
    if ceiling_per_s > 0.0 {
        a = a.with_ceiling(ceiling_per_s);
    }
    Ok(a)
}

/// A learner between `floor_per_s` (0: the default, 0.5 requests a
/// second) and `ceiling_per_s` (0: none), as a client learns per origin.
/// Pace requests at `apiretry_rate_learner_rate` once it has one. The
/// caller owns `*out_learner`.
#[no_mangle]
pub extern "C" fn apiretry_rate_learner_new(
    floor_per_s: f64,
    ceiling_per_s: f64,
    out_learner: *mut *mut apiretry_rate_learner,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_learner is NULL or writable, as documented.
        let slot = unsafe { out(out_learner) }?;
        *slot = std::ptr::null_mut();
        let learner = RateLearner::new(adaptive(floor_per_s, ceiling_per_s)?);
        *slot = boxed(apiretry_rate_learner {
            inner: Mutex::new(learner),
        });
        Ok(())
    })
}

/// An answer came back: its request was let out at `sent_ms` and answered
/// at `at_ms` (milliseconds of a monotonic clock, from any fixed start);
/// `throttled` when it said slow down (429, S3 `SlowDown`, a used-up
/// quota). `*out_rate` (may be NULL) receives the new rate when this answer
/// cut it, else 0. Thread-safe.
#[no_mangle]
pub extern "C" fn apiretry_rate_learner_on_answer(
    learner: *const apiretry_rate_learner,
    sent_ms: u64,
    at_ms: u64,
    throttled: bool,
    out_rate: *mut f64,
) -> apiretry_result {
    guard(|| {
        // SAFETY: learner is NULL or live, as documented.
        let l = unsafe { arg(learner) }?;
        let ms = Duration::from_millis;
        let cut = l.with(|r| r.on_answer(ms(sent_ms), ms(at_ms), throttled));
        if !out_rate.is_null() {
            // SAFETY: out_rate is non-NULL and writable, as documented.
            *unsafe { out(out_rate) }? = cut.unwrap_or(0.0);
        }
        Ok(())
    })
}

/// A throttling answer at `at_ms` said `Retry-After: wait_ms`. A wait of
/// 2 to 10 s may be the server's pace: once its answers bear that out
/// (no more than 1.5 accepted per wait over the next three waits), the
/// rate keeps to one request per wait. Call it after
/// `apiretry_rate_learner_on_answer` for the same answer. Thread-safe.
#[no_mangle]
pub extern "C" fn apiretry_rate_learner_on_retry_after(
    learner: *const apiretry_rate_learner,
    at_ms: u64,
    wait_ms: u64,
) -> apiretry_result {
    guard(|| {
        // SAFETY: learner is NULL or live, as documented.
        let l = unsafe { arg(learner) }?;
        let ms = Duration::from_millis;
        l.with(|r| r.on_retry_after(ms(at_ms), ms(wait_ms)));
        Ok(())
    })
}

/// The learned rate in requests per second into `*out_rate`;
/// `APIRETRY_RESULT_ABSENT` until a throttle (send unpaced until then).
/// Thread-safe.
#[no_mangle]
pub extern "C" fn apiretry_rate_learner_rate(
    learner: *const apiretry_rate_learner,
    out_rate: *mut f64,
) -> apiretry_result {
    guard(|| {
        // SAFETY: learner is NULL or live; out_rate NULL or writable, as documented.
        let (l, slot) = unsafe { (arg(learner)?, out(out_rate)?) };
        *slot = l.with(|r| r.rate()).ok_or(apiretry_result::Absent)?;
        Ok(())
    })
}

/// Releases a learner; NULL is ignored.
#[no_mangle]
pub extern "C" fn apiretry_rate_learner_free(learner: *mut apiretry_rate_learner) {
    // SAFETY: learner is NULL or came from this library and is freed once, as documented.
    guard_void(|| unsafe { free(learner) })
}
