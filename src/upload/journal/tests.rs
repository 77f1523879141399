use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// Opens the journal at `path` for a run of `file` in `layout` to `dest`.
fn open(
    path: &Path,
    file: Identity,
    layout: Layout,
    dest: &str,
) -> Result<(JournalFile, Journal), ApiError> {
    let expect = Expect {
        file,
        part_size: layout.part_size,
        layout: Some(layout),
        destination: dest,
    };
    JournalFile::open(path, &expect, Journal::new(file, layout, dest))
}

#[test]
fn records_appended_then_compacted_open_as_they_were() {
    let path = dir("roundtrip").join("j");
    let layout = Layout::new(12, 5).unwrap();
    let (mut store, mut j) = open(&path, file(), layout, DEST).unwrap();
    assert!(j.done.is_empty());
    for (part, etag) in [(3, "\"c\""), (1, "\"a\"")] {
        store.append(part, &done(etag)).unwrap();
        j.done.insert(part, done(etag));
    }
    let appended = store.written;
    drop(store);
    let (store, again) = open(&path, file(), layout, DEST).unwrap();
    assert_eq!(again, j);
    let written = store.compact(&j);
    assert_eq!(fs::read(&path).unwrap(), j.to_bytes());
    assert!(written > 0 && appended > 0);
    let (_, compacted) = open(&path, file(), layout, DEST).unwrap();
    assert_eq!(compacted, j);
}

/// Each record costs the same bytes on disk whatever the journal's length.
#[test]
fn a_record_costs_the_same_whatever_came_before() {
    let path = dir("constant").join("j");
    let layout = Layout::new(10_000, 1).unwrap();
    let (mut store, _) = open(&path, file(), layout, DEST).unwrap();
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
    let (mut store, _) = open(&path, file(), layout, DEST).unwrap();
    store.append(1, &done("\"a\"")).unwrap();
    drop(store);
    let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"part":2,"etag":"\"b"#).unwrap();
    drop(f);
    let (mut store, j) = open(&path, file(), layout, DEST).unwrap();
    assert_eq!(j.done.keys().copied().collect::<Vec<_>>(), [1]);
    store.append(3, &done("\"c\"")).unwrap();
    drop(store);
    let (_, j) = open(&path, file(), layout, DEST).unwrap();
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
        let err = open(&path, file(), layout, DEST).err().unwrap();
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
    let (first, _) = open(&path, file(), layout, DEST).unwrap();
    let err = open(&path, file(), layout, DEST).err().unwrap();
    assert_eq!(err.code.as_deref(), Some(JOURNAL_BUSY));
    drop(first);
    assert!(open(&path, file(), layout, DEST).is_ok());
}

#[test]
fn a_journal_that_cannot_be_made_is_said_before_anything() {
    let layout = Layout::new(12, 5).unwrap();
    // A folder that does not exist stands for any place the journal cannot
    // be made (root writes through read-only modes).
    let path = dir("unwritable").join("missing").join("j");
    let err = open(&path, file(), layout, DEST).err().unwrap();
    assert_eq!(err.code.as_deref(), Some(JOURNAL_UNWRITABLE), "{err}");
}

/// A growing file's journal: rows (the file now, the run) -> taken or
/// refused.
#[test]
fn a_growing_files_journal_takes_the_file_grown_since() {
    let path = dir("growing").join("j");
    let start = file();
    let part = 5;
    let expect = |f: Identity, layout: Option<Layout>| Expect {
        file: f,
        part_size: part,
        layout,
        destination: DEST,
    };
    let (mut store, _) = JournalFile::open(
        &path,
        &expect(start, None),
        Journal::growing(start, part, DEST),
    )
    .unwrap();
    store.append(2, &done("\"b\"")).unwrap();
    drop(store);
    let grown = Identity {
        size: 40,
        modified_ns: 99,
        changed_ns: 98,
        ..start
    };
    let rows: [(&str, Identity, Option<Layout>, bool); 6] = [
        ("grown, still growing", grown, None, true),
        (
            "grown, now final",
            grown,
            Some(Layout::new(40, part).unwrap()),
            true,
        ),
        ("as it was", start, None, true),
        ("shorter", Identity { size: 11, ..grown }, None, false),
        ("another inode", Identity { inode: 7, ..grown }, None, false),
        (
            "another part size",
            grown,
            Some(Layout::new(40, 4).unwrap()),
            false,
        ),
    ];
    for (what, now, layout, taken) in rows {
        let fresh = Journal::growing(now, part, DEST);
        let got = JournalFile::open(&path, &expect(now, layout), fresh);
        match got {
            Ok((_, j)) => {
                assert!(taken, "{what}: taken");
                assert!(j.growing && j.done.contains_key(&2), "{what}");
            }
            Err(e) => {
                assert!(!taken, "{what}: {e}");
                assert_eq!(e.code.as_deref(), Some(JOURNAL_REFUSED), "{what}");
            }
        }
    }
}
