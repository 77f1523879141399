//! Backoff schedules for C.

use std::time::Duration;

use super::{apiretry_result, arg, guard, out};
use crate::backoff::{Backoff, Jitter};

/// A backoff policy: `min(base_ms * factor^attempt, cap_ms)`, with `jitter`
/// one of `APIRETRY_JITTER_*`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct apiretry_backoff_config {
    /// The first delay, in milliseconds.
    pub base_ms: u64,
    /// Growth per attempt (values below 1 count as 1).
    pub factor: f64,
    /// The largest delay before jitter, in milliseconds.
    pub cap_ms: u64,
    /// An `APIRETRY_JITTER_*` value.
    pub jitter: u32,
}

impl apiretry_backoff_config {
    pub(crate) fn to_backoff(self) -> Result<Backoff, apiretry_result> {
        let jitter = *Jitter::ALL
            .iter()
            .find(|j| **j as u32 == self.jitter)
            .ok_or(apiretry_result::InvalidArgument)?;
        Ok(Backoff::default()
            .with_base(Duration::from_millis(self.base_ms))
            .with_factor(self.factor)
            .with_cap(Duration::from_millis(self.cap_ms))
            .with_jitter(jitter))
    }
}

/// Writes seed 001's defaults (0.5 s, x2, 32 s, seed jitter) into `*out`.
#[no_mangle]
pub extern "C" fn apiretry_backoff_default(
    out_config: *mut apiretry_backoff_config,
) -> apiretry_result {
    guard(|| {
        // SAFETY: out_config is NULL or writable, as documented.
        *unsafe { out(out_config) }? = apiretry_backoff_config {
            base_ms: 500,
            factor: 2.0,
            cap_ms: 32_000,
            jitter: Jitter::Seed as u32,
        };
        Ok(())
    })
}

/// Writes the first `n` delays (milliseconds) of the schedule into
/// `out_ms`; `seed` makes the jitter reproducible.
#[no_mangle]
pub extern "C" fn apiretry_backoff_schedule(
    config: *const apiretry_backoff_config,
    seed: u64,
    out_ms: *mut u64,
    n: usize,
) -> apiretry_result {
    guard(|| {
        // SAFETY: config is NULL or live, as documented.
        let backoff = unsafe { arg(config) }?.to_backoff()?;
        if n == 0 {
            return Ok(());
        }
        if out_ms.is_null() {
            return Err(apiretry_result::NullPointer);
        }
        // SAFETY: non-NULL with n writable elements, as documented.
        let slots = unsafe { std::slice::from_raw_parts_mut(out_ms, n) };
        for (slot, d) in slots.iter_mut().zip(backoff.schedule_seeded(seed)) {
            *slot = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        }
        Ok(())
    })
}
