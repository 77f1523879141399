//! The C API's functions that do no I/O, called as C calls them: raw
//! pointers, NULLs, short buffers, invalid UTF-8. Run under Miri by
//! `.ci/miri`, which checks every pointer the `unsafe` blocks touch.

use std::ffi::{c_char, CStr};
use std::ptr;

use super::backoff::{
    apiretry_backoff_config, apiretry_backoff_default, apiretry_backoff_schedule,
};
use super::classify::{apiretry_classify, apiretry_header};
use super::error::*;
use super::limit::*;
use super::profile::*;
use super::retry::*;
use super::{apiretry_result as R, error::apiretry_result_message};

const fn c(s: &'static [u8]) -> *const c_char {
    s.as_ptr().cast()
}

fn text(f: impl Fn(*mut c_char, usize, *mut usize) -> R) -> (R, String) {
    let mut buf = [0 as c_char; 64];
    let mut n = 0usize;
    let r = f(buf.as_mut_ptr(), buf.len(), &mut n);
    // SAFETY: on success the function wrote a NUL-terminated string into buf.
    let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
    (r, s.to_string_lossy().into_owned())
}

#[test]
fn classification_through_c_pointers() {
    let mut profile = ptr::null_mut();
    assert_eq!(apiretry_profile_builtin(c(b"c2c\0"), &mut profile), R::Ok);
    let headers = [apiretry_header {
        name: c(b"Retry-After\0"),
        value: c(b"3\0"),
    }];
    let body = br#"{"error": "slow_down"}"#;
    let mut err = ptr::null_mut();
    let r = apiretry_classify(
        profile,
        429,
        headers.as_ptr(),
        1,
        body.as_ptr(),
        body.len(),
        -1,
        &mut err,
    );
    assert_eq!(r, R::Ok);
    assert!(!err.is_null());
    let (mut kind, mut wait) = (0u32, 0i64);
    assert_eq!(
        apiretry_classification_kind(err, &mut kind as *mut u32 as *mut _),
        R::Ok
    );
    assert_eq!(
        apiretry_classification_retry_after_ms(err, &mut wait),
        R::Ok
    );
    assert_eq!((kind, wait), (crate::Kind::RateLimited as u32, 3000));
    // A buffer too small: nothing written, the length reported.
    let mut small = [1 as c_char; 4];
    let mut n = 0usize;
    let r = apiretry_classification_message(err, small.as_mut_ptr(), small.len(), &mut n);
    assert_eq!(r, R::BufferTooSmall);
    assert!(n > 4 && small.iter().all(|b| *b == 1));
    let (r, code) = text(|b, l, n| apiretry_classification_code(err, b, l, n));
    assert_eq!((r, code.as_str()), (R::Ok, "slow_down"));
    let (r, _) = text(|b, l, n| apiretry_classification_request_id(err, b, l, n));
    assert_eq!(r, R::Absent);
    apiretry_classification_free(err);
    apiretry_classification_free(ptr::null_mut());
    // NULLs and invalid UTF-8 are result codes.
    let mut none = ptr::null_mut();
    assert_eq!(
        apiretry_classify(
            ptr::null(),
            500,
            ptr::null(),
            0,
            ptr::null(),
            0,
            -1,
            &mut none
        ),
        R::NullPointer
    );
    assert_eq!(
        apiretry_classify(profile, 99, ptr::null(), 0, ptr::null(), 0, -1, &mut none),
        R::InvalidArgument
    );
    assert_eq!(
        apiretry_profile_builtin(c(b"c\xff\0"), &mut none.cast()),
        R::InvalidUtf8
    );
    apiretry_profile_free(profile);
}

#[test]
fn a_bad_profile_is_an_error_object() {
    let (mut profile, mut err) = (ptr::null_mut(), ptr::null_mut());
    assert_eq!(
        apiretry_profile_from_json(c(b"{\"name\": 5\0"), &mut profile, &mut err),
        R::InvalidArgument
    );
    assert!(profile.is_null() && !err.is_null());
    apiretry_classification_free(err);
}

#[test]
fn backoff_and_decisions_through_c_pointers() {
    let mut config = apiretry_backoff_config {
        base_ms: 0,
        factor: 0.0,
        cap_ms: 0,
        jitter: 0,
    };
    assert_eq!(apiretry_backoff_default(&mut config), R::Ok);
    config.jitter = crate::Jitter::None as u32;
    let mut delays = [0u64; 8];
    assert_eq!(
        apiretry_backoff_schedule(&config, 1, delays.as_mut_ptr(), delays.len()),
        R::Ok
    );
    assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 16000, 32000, 32000]);

    let mut profile = ptr::null_mut();
    apiretry_profile_builtin(c(b"s3\0"), &mut profile);
    let (mut retrier, mut call) = (ptr::null_mut(), ptr::null_mut());
    assert_eq!(
        apiretry_retrier_new(profile, 3, 0, &config, &mut retrier),
        R::Ok
    );
    assert_eq!(apiretry_call_new(retrier, ptr::null(), &mut call), R::Ok);
    let mut d = apiretry_decision {
        action: 9,
        delay_ms: 0,
        stop_reason: 0,
        attempts: 0,
    };
    let mut err = ptr::null_mut();
    let body = b"<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>";
    let r = apiretry_call_on_response(
        call,
        503,
        ptr::null(),
        0,
        body.as_ptr(),
        body.len(),
        200,
        &mut d,
        &mut err,
    );
    assert_eq!((r, d.action, d.delay_ms), (R::Ok, 1, 500));
    apiretry_classification_free(err);
    let r = apiretry_call_on_response(
        call,
        200,
        ptr::null(),
        0,
        ptr::null(),
        0,
        200,
        &mut d,
        ptr::null_mut(),
    );
    assert_eq!((r, d.action, d.attempts), (R::Ok, 0, 2));
    apiretry_call_free(call);
    apiretry_retrier_free(retrier);
    apiretry_profile_free(profile);
}

#[test]
fn the_rate_learner_and_messages() {
    let mut learner = ptr::null_mut();
    assert_eq!(apiretry_rate_learner_new(0.0, 0.0, &mut learner), R::Ok);
    let mut rate = 0.0;
    assert_eq!(apiretry_rate_learner_rate(learner, &mut rate), R::Absent);
    for t in (0..1000).step_by(100) {
        apiretry_rate_learner_on_answer(learner, t, t + 20, false, ptr::null_mut());
    }
    assert_eq!(
        apiretry_rate_learner_on_answer(learner, 1000, 1020, true, &mut rate),
        R::Ok
    );
    assert!(rate > 0.0 && rate < 10.0, "{rate}");
    apiretry_rate_learner_free(learner);
    let (r, message) = text(|b, l, n| apiretry_result_message(5, b, l, n));
    assert_eq!(
        (r, message.as_str()),
        (R::Ok, "the API call failed (see the classification)")
    );
    // SAFETY: apiretry_kind_name returns a static NUL-terminated string.
    let name = unsafe { CStr::from_ptr(apiretry_kind_name(crate::Kind::ChannelPaused as u32)) };
    assert_eq!(name.to_str(), Ok("channel_paused"));
    assert!(apiretry_kind_name(9999).is_null());
}
