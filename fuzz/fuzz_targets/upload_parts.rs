//! Any bytes as `apiretry upload`'s parts file: a parts file or an error,
//! never a panic; what it returns has a part size and http(s) URLs.
#![no_main]

use apiretry::upload::PartsFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = PartsFile::from_json(data) {
        assert!(p.part_size > 0 && !p.urls.is_empty());
        assert!(p.urls.iter().all(|u| u.starts_with("http://") || u.starts_with("https://")));
    }
});
