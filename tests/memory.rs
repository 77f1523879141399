//! Heap use of classification, measured with dhat. dhat counts every
//! allocation in the process, so this file holds a single test (no other
//! test thread allocates meanwhile) and runs its checks in sequence.

mod support;

use apiretry::{Profile, RawResponse};
use support::*;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Runs `f` under a fresh profiler; returns its blocks allocated and peak bytes.
fn heap<T>(f: impl FnOnce() -> T) -> (u64, usize) {
    let profiler = dhat::Profiler::builder().testing().build();
    std::hint::black_box(f());
    let stats = dhat::HeapStats::get();
    drop(profiler);
    (stats.total_blocks, stats.max_bytes)
}

#[test]
fn classification_heap_use() {
    // Built-ins are built on first use; build them before measuring.
    for &name in Profile::BUILTIN_NAMES {
        Profile::builtin(name).unwrap();
    }

    // Status-only classification allocates nothing, with or without Retry-After.
    let retry_after = [("Retry-After", "3"), ("X-Request-Id", "")];
    for &name in Profile::BUILTIN_NAMES {
        let p = Profile::builtin(name).unwrap();
        let (blocks, _) = heap(|| {
            for status in 400..=599u16 {
                std::hint::black_box(p.classify(&RawResponse::new(status)));
                std::hint::black_box(p.classify(&RawResponse::new(status).headers(&retry_after)));
            }
        });
        assert_eq!(blocks, 0, "{name}: status-only classification allocated");
    }

    // A 10 MB body over the default cap is classified by status, allocation-free.
    let c2c = Profile::builtin("c2c").unwrap();
    let arrays = nested_arrays(TEN_MB / 2);
    assert_eq!(
        heap(|| c2c.classify(&RawResponse::new(400).body(&arrays))).0,
        0
    );

    // With the cap lifted, hostile nesting still costs next to nothing:
    // the depth limit stops it within 128 levels.
    let open = c2c.clone().with_max_body_bytes(64 << 20);
    for (what, body) in [
        ("nested arrays", arrays),
        ("nested objects", nested_objects(TEN_MB / 9)),
        ("XML entity bomb", xml_entity_bomb()),
        ("nested XML", nested_xml(1 << 17)),
    ] {
        let (_, peak) = heap(|| open.classify(&RawResponse::new(400).body(&body)));
        assert!(peak < 512 << 10, "{what}: peak {peak} bytes");
    }

    // Bodies just under the cap that are one long list: lists keep no more
    // items than a classification keeps (MAX_FIELD_MESSAGES), so memory does
    // not grow with the list.
    let limit = apiretry::DEFAULT_MAX_BODY_BYTES - 16;
    let strings = wide_field_list(limit);
    let (_, peak) = heap(|| {
        let err = c2c.classify(&RawResponse::new(400).body(&strings)).unwrap();
        assert_eq!(err.fields["field"].len(), apiretry::MAX_FIELD_MESSAGES);
    });
    assert!(peak < 64 << 10, "long list of strings: peak {peak} bytes");

    let objects = wide_entry_list(limit);
    let (_, peak) = heap(|| {
        let err = c2c.classify(&RawResponse::new(400).body(&objects)).unwrap();
        assert_eq!(err.fields["f"].len(), apiretry::MAX_FIELD_MESSAGES);
    });
    assert!(peak < 64 << 10, "long list of objects: peak {peak} bytes");
}
