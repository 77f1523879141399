use std::fs;
use std::io::Write;
use std::path::PathBuf;

use super::*;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("apiretry-journal-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn file() -> Identity {
    Identity {
        size: 12,
        modified_ns: 7,
        device: 1,
        inode: 2,
        changed_ns: 3,
    }
}

fn done(etag: &str) -> DonePart {
    DonePart {
        etag: etag.into(),
        md5: Some("00".repeat(16)),
    }
}

const DEST: &str = "urls:abc";

#[test]
fn records_appended_then_compacted_open_as_they_were() {
    let path = dir("roundtrip").join("j");
    let layout = Layout::new(12, 5).unwrap();
    let (mut store, mut j) = JournalFile::open(&path, file(), layout, DEST).unwrap();
    assert!(j.done.is_empty());
    for (part, etag) in [(3, "\"c\""), (1, "\"a\"")] {
        store.append(part, &done(etag)).unwrap();
        j.done.insert(part, done(etag));
    }
    let appended = store.written;
    drop(store);
    let (store, again) = JournalFile::open(&path, file(), layout, DEST).unwrap();
    assert_eq!(again, j);
    let written = store.compact(&j);
    assert_eq!(fs::read(&path).unwrap(), j.to_bytes());
    assert!(written > 0 && appended > 0);
    let (_, compacted) = JournalFile::open(&path, file(), layout, DEST).unwrap();
    assert_eq!(compacted, j);
}

/// Each record costs the same bytes on disk whatever the journal's length.
#[test]
fn a_record_costs_the_same_whatever_came_before() {
    let path = dir("constant").join("j");
    let layout = Layout::new(10_000, 1).unwrap();
    let (mut store, _) = JournalFile::open(&path, file(), layout, DEST).unwrap();
    let mut costs = Vec::new();
    for part in [1000, 2000, 9000] {
        let before = store.written;
        store
            .append(part, &done("\"0123456789abcdef0123456789abcdef\""))
            .unwrap();
        costs.push(store.written - before);
    }
    assert!(costs.windows(2).all(|w| w[0] == w[1]), "{costs:?}");
}

/// A crash cut the last record short: it is no record, and the next one
/// starts on its own line.
#[test]
fn a_record_cut_by_a_crash_is_dropped() {
    let path = dir("torn").join("j");
    let layout = Layout::new(12, 5).unwrap();
    let (mut store, _) = JournalFile::open(&path, file(), layout, DEST).unwrap();
    store.append(1, &done("\"a\"")).unwrap();
    drop(store);
    let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"part":2,"etag":"\"b"#).unwrap();
    drop(f);
    let (mut store, j) = JournalFile::open(&path, file(), layout, DEST).unwrap();
    assert_eq!(j.done.keys().copied().collect::<Vec<_>>(), [1]);
    store.append(3, &done("\"c\"")).unwrap();
    drop(store);
    let (_, j) = JournalFile::open(&path, file(), layout, DEST).unwrap();
    assert_eq!(j.done.keys().copied().collect::<Vec<_>>(), [1, 3]);
}

/// Rows: (what is on disk) -> refused, and the file left as it was.
#[test]
fn a_journal_of_another_upload_file_or_layout_is_refused_untouched() {
    let d = dir("refused");
    let layout = Layout::new(12, 5).unwrap();
    let other_file = Identity { inode: 9, ..file() };
    let text = |f, l, dest: &str, records: &[(u32, &str)]| {
        let mut j = Journal::new(f, l, dest);
        for &(p, e) in records {
            j.done.insert(p, done(e));
        }
        String::from_utf8(j.to_bytes()).unwrap()
    };
    let rows = [
        (
            "other destination",
            text(file(), layout, "urls:other", &[(1, "x")]),
            "another upload's",
        ),
        (
            "other file",
            text(other_file, layout, DEST, &[]),
            "another file's",
        ),
        (
            "other layout",
            text(file(), Layout::new(12, 4).unwrap(), DEST, &[]),
            "another layout",
        ),
        ("garbage", "{not json\n".to_string(), "not a journal"),
        (
            "one line, no newline",
            "{\"version\": 1}".to_string(),
            "no whole line",
        ),
        (
            "a part past the end",
            text(file(), layout, DEST, &[(4, "x")]),
            "names part 4",
        ),
        (
            "the first format",
            "{\"version\":1,\"file\":{},\"layout\":{},\"done\":{}}\n".to_string(),
            "not a journal",
        ),
        (
            "a later format",
            text(file(), layout, DEST, &[]).replacen("\"version\":2", "\"version\":3", 1),
            "format 3",
        ),
    ];
    for (what, text, says) in rows {
        let path = d.join("j");
        fs::write(&path, &text).unwrap();
        let err = JournalFile::open(&path, file(), layout, DEST)
            .err()
            .unwrap();
        assert_eq!(err.code.as_deref(), Some(JOURNAL_REFUSED), "{what}");
        assert!(err.message.contains(says), "{what}: {err}");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            text,
            "{what}: untouched"
        );
    }
}

#[test]
fn a_second_run_on_a_journal_is_refused_at_once() {
    let path = dir("busy").join("j");
    let layout = Layout::new(12, 5).unwrap();
    let (first, _) = JournalFile::open(&path, file(), layout, DEST).unwrap();
    let err = JournalFile::open(&path, file(), layout, DEST)
        .err()
        .unwrap();
    assert_eq!(err.code.as_deref(), Some(JOURNAL_BUSY));
    drop(first);
    assert!(JournalFile::open(&path, file(), layout, DEST).is_ok());
}

#[test]
fn a_journal_that_cannot_be_made_is_said_before_anything() {
    let layout = Layout::new(12, 5).unwrap();
    // A folder that does not exist stands for any place the journal cannot
    // be made (root writes through read-only modes).
    let path = dir("unwritable").join("missing").join("j");
    let err = JournalFile::open(&path, file(), layout, DEST)
        .err()
        .unwrap();
    assert_eq!(err.code.as_deref(), Some(JOURNAL_UNWRITABLE), "{err}");
}
