//! Any bytes as an upload's journal (the format of JSON lines: a head, a
//! record per part done), checked by a run of a file whose size is final
//! and by one of a file still growing: parsing returns a journal, none
//! (not begun) or an error, never panics; a journal it returns is of the
//! destination it was checked against, its done parts all within its
//! layout, and written again whole it reads back the same.
#![no_main]

use std::path::Path;

use apiretry::upload::{Expect, Identity, Journal, Layout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Identity {
        size: 12,
        modified_ns: 7,
        ..Identity::default()
    };
    let layout = Layout::new(12, 5).unwrap();
    let path = Path::new("j");
    for fixed in [Some(layout), None] {
        let expect = Expect {
            file,
            part_size: 5,
            layout: fixed,
            destination: "id:a",
        };
        if let Ok(Some(j)) = Journal::parse(path, data, &expect) {
            assert_eq!(j.destination, "id:a");
            assert_eq!(j.layout.part_size, 5);
            let last = fixed.map_or(j.layout.parts, |l| l.parts);
            assert!(j.done.keys().all(|&i| (1..=last).contains(&i)));
            let again = Journal::parse(path, &j.to_bytes(), &expect);
            assert_eq!(again.ok().flatten(), Some(j));
        }
    }
});
