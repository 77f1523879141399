//! Any bytes as an upload's journal: parsing returns a journal or an error
//! (never panics), and a journal it returns matches the file and layout it
//! was checked against, its done parts all within the layout.
#![no_main]

use std::path::Path;

use apiretry::upload::{Identity, Journal, Layout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Identity { size: 12, modified_ns: 7 };
    let layout = Layout::new(12, 5).unwrap();
    if let Ok(j) = Journal::parse(Path::new("j.json"), data, file, layout) {
        assert_eq!((j.file, j.layout), (file, layout));
        assert!(j.done.keys().all(|&i| (1..=layout.parts).contains(&i)));
    }
});
