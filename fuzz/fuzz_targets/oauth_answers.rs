//! Any bytes as what an authorization server or the disk hands the OAuth
//! side: a token endpoint's answer, a device authorization answer, the
//! token store file. Each is read or refused, never a panic.
#![no_main]

use apiretry::fuzzing::{device_code, token_answer, token_store};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = token_answer(data);
    let _ = device_code(data);
    let _ = token_store(data);
});
