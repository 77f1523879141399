//! Any bytes as an upload's journal (the format of JSON lines: a head, a
//! record per part done): parsing returns a journal, none (not begun) or an
//! error, never panics; a journal it returns matches the file, layout and
//! destination it was checked against, its done parts all within the
//! layout, and written again whole it reads back the same.
#![no_main]

use std::path::Path;

use apiretry::upload::{Identity, Journal, Layout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Identity {
        size: 12,
        modified_ns: 7,
        ..Identity::default()
    };
    let layout = Layout::new(12, 5).unwrap();
    let path = Path::new("j");
    if let Ok(Some(j)) = Journal::parse(path, data, file, layout, "id:a") {
        assert_eq!((j.file, j.layout, j.destination.as_str()), (file, layout, "id:a"));
        assert!(j.done.keys().all(|&i| (1..=layout.parts).contains(&i)));
        let again = Journal::parse(path, &j.to_bytes(), file, layout, "id:a");
        assert_eq!(again.ok().flatten(), Some(j));
    }
});
