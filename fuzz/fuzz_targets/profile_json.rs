//! Any text as a profile file: loading returns a profile or an error, never
//! panics; a loaded profile classifies.
#![no_main]

use apiretry::{Profile, RawResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(p) = Profile::from_json(text) {
        let _ = p.classify(&RawResponse::new(409).body(br#"{"error": "Channel Paused"}"#));
    }
});
