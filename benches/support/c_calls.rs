//! What a C caller does per response, through the exported functions:
//! shared by `benches/ffi.rs` (wall clock) and `examples/instructions.rs`
//! (instruction counts), so that both measure the same calls.

use std::hint::black_box;
use std::ptr;

use apiretry::ffi::classify::{
    apiretry_classification_free, apiretry_classification_kind, apiretry_classify,
};
use apiretry::ffi::profile::{apiretry_profile, apiretry_profile_builtin, apiretry_profile_free};
use apiretry::ffi::retry::{
    apiretry_call_free, apiretry_call_new, apiretry_call_on_response, apiretry_decision,
    apiretry_retrier, apiretry_retrier_free, apiretry_retrier_new, apiretry_retrier_set_budget,
};
use apiretry::Kind;

/// Classify, read the kind, free.
pub fn c_classify(profile: *const apiretry_profile, status: u16, body: &[u8]) {
    let mut out = ptr::null_mut();
    apiretry_classify(
        profile,
        status,
        ptr::null(),
        0,
        body.as_ptr(),
        body.len(),
        -1,
        &mut out,
    );
    let mut kind = Kind::Application;
    apiretry_classification_kind(out, &mut kind);
    black_box(kind);
    apiretry_classification_free(out);
}

/// A call's three attempts: S3's `SlowDown`, its `InternalError`, a success.
pub const ATTEMPTS: [(u16, &[u8]); 3] = [
    (503, br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"#),
    (500, br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message><RequestId>4442587FB7D0A2FA</RequestId></Error>"#),
    (200, b""),
];

/// The `s3` profile and a retrier of 5 attempts over it, without the
/// budget: every call sees the same three decisions, however many run.
pub struct S3Calls {
    pub profile: *mut apiretry_profile,
    retrier: *mut apiretry_retrier,
}

impl S3Calls {
    pub fn new() -> Self {
        let mut profile = ptr::null_mut();
        apiretry_profile_builtin(c"s3".as_ptr(), &mut profile);
        let mut retrier = ptr::null_mut();
        apiretry_retrier_new(profile, 5, 0, ptr::null(), &mut retrier);
        apiretry_retrier_set_budget(retrier, 0.0, 0.0);
        S3Calls { profile, retrier }
    }

    /// A call handle fed the three attempts' responses.
    pub fn call_of_three(&self) {
        let mut call = ptr::null_mut();
        apiretry_call_new(self.retrier, ptr::null(), &mut call);
        for (status, body) in ATTEMPTS {
            let mut d = apiretry_decision::default();
            let mut err = ptr::null_mut();
            apiretry_call_on_response(
                call,
                status,
                ptr::null(),
                0,
                body.as_ptr(),
                body.len(),
                -1,
                &mut d,
                &mut err,
            );
            black_box(d.action);
            apiretry_classification_free(err);
        }
        apiretry_call_free(call);
    }

    /// The same three responses, classified bare.
    pub fn classify_three(&self) {
        for (status, body) in ATTEMPTS {
            c_classify(self.profile, status, body);
        }
    }
}

impl Drop for S3Calls {
    fn drop(&mut self) {
        apiretry_retrier_free(self.retrier);
        apiretry_profile_free(self.profile);
    }
}
