//! The upload's journal: which parts are done, and their ETags, kept on
//! disk so that an upload cut by a power loss resumes instead of starting
//! over. A part counts as done only once its ETag is in the journal.
//!
//! Written whole on each change, atomically (a temporary file beside it,
//! flushed to disk, renamed over it, the directory flushed), so a kill at
//! any instant leaves either the old journal or the new one. It records the
//! file's identity (size, modification time) and the layout; a journal that
//! does not match the file or layout given is refused, and left untouched.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use super::Layout;
use crate::error::ApiError;
use crate::kind::Kind;

/// The largest journal read: 10,000 parts' ETags fit in well under 1 MiB.
const MAX_BYTES: u64 = 4 << 20;

/// What identifies the file uploaded: its size and modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (0 if unknown).
    pub modified_ns: u128,
}

impl Identity {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &fs::Metadata) -> Identity {
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Identity {
            size: meta.len(),
            modified_ns,
        }
    }
}

/// The journal's contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    /// The format's version: 1.
    pub version: u32,
    /// The file uploaded.
    pub file: Identity,
    /// How it is cut.
    pub layout: Layout,
    /// Done parts (from 1) and their ETags, exactly as the server sent them.
    pub done: BTreeMap<u32, String>,
}

fn refused(path: &Path, why: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_input(format!("the journal {} {why}", path.display()))
        .with_code(JOURNAL_REFUSED)
        .with_hint("Give the journal of this file and layout, or a new path to start over.")
}

/// The code of the error for a journal that is not this upload's.
pub const JOURNAL_REFUSED: &str = "journal_refused";

fn io(path: &Path, what: &str, e: std::io::Error) -> ApiError {
    ApiError::new(Kind::Io).with_message(format!("{what} the journal {}: {e}", path.display()))
}

impl Journal {
    /// A journal with nothing done.
    pub fn new(file: Identity, layout: Layout) -> Journal {
        Journal {
            version: 1,
            file,
            layout,
            done: BTreeMap::new(),
        }
    }

    /// The journal at `path` if there is one, checked against `file` and
    /// `layout`; a new one if there is none.
    pub fn open(path: &Path, file: Identity, layout: Layout) -> Result<Journal, ApiError> {
        let text = match fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Journal::new(file, layout))
            }
            Err(e) => return Err(io(path, "reading", e)),
            Ok(m) if m.len() > MAX_BYTES => {
                return Err(refused(
                    path,
                    format_args!("is {} bytes: not a journal", m.len()),
                ))
            }
            Ok(_) => fs::read(path).map_err(|e| io(path, "reading", e))?,
        };
        Journal::parse(path, &text, file, layout)
    }

    /// The journal in `text` (read from `path`, named in errors), checked
    /// against `file` and `layout`.
    pub fn parse(
        path: &Path,
        text: &[u8],
        file: Identity,
        layout: Layout,
    ) -> Result<Journal, ApiError> {
        let j: Journal = serde_json::from_slice(text)
            .map_err(|e| refused(path, format_args!("is not a journal: {e}")))?;
        let bad_part = j.done.keys().find(|&&i| i == 0 || i > j.layout.parts);
        if j.version != 1 || bad_part.is_some() {
            return Err(refused(path, "is not a journal this version reads"));
        }
        if j.file != file {
            return Err(refused(
                path,
                format_args!(
                    "is another file's ({} bytes, modified at {} ns; this one: {} bytes, {} ns)",
                    j.file.size, j.file.modified_ns, file.size, file.modified_ns
                ),
            ));
        }
        if j.layout != layout {
            return Err(refused(
                path,
                format_args!(
                    "has another layout ({} parts of {} bytes; given: {} of {})",
                    j.layout.parts, j.layout.part_size, layout.parts, layout.part_size
                ),
            ));
        }
        Ok(j)
    }

    /// Writes the journal to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), ApiError> {
        let text = serde_json::to_vec_pretty(self).expect("a journal always serializes");
        let tmp = temporary(path);
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            fs::rename(&tmp, path)?;
            // The rename itself reaches the disk with its directory.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir).and_then(|d| d.sync_all()).ok();
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io(path, "writing", e)
        })
    }
}

/// `path` with `.tmp` added to its name, in the same directory (a rename
/// across file systems is not atomic).
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("apiretry-journal-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_saved_journal_opens_as_it_was() {
        let path = dir("roundtrip").join("j.json");
        let (file, layout) = (
            Identity {
                size: 12,
                modified_ns: 7,
            },
            Layout::new(12, 5).unwrap(),
        );
        let mut j = Journal::open(&path, file, layout).unwrap();
        assert!(j.done.is_empty());
        j.done.insert(2, "\"abc\"".into());
        j.save(&path).unwrap();
        assert_eq!(Journal::open(&path, file, layout).unwrap(), j);
        assert!(!temporary(&path).exists());
    }

    /// Rows: (what is on disk) -> refused, and the file left as it was.
    #[test]
    fn a_journal_of_another_file_or_layout_is_refused_untouched() {
        let d = dir("refused");
        let file = Identity {
            size: 12,
            modified_ns: 7,
        };
        let layout = Layout::new(12, 5).unwrap();
        let other_file = Identity {
            size: 12,
            modified_ns: 8,
        };
        let good = |f, l| serde_json::to_string(&Journal::new(f, l)).unwrap();
        let mut out_of_range = Journal::new(file, layout);
        out_of_range.done.insert(4, "x".into());
        let rows = [
            ("other file", good(other_file, layout), "another file's"),
            (
                "other layout",
                good(file, Layout::new(12, 4).unwrap()),
                "another layout",
            ),
            ("garbage", "{not json".to_string(), "not a journal"),
            (
                "a part past the end",
                serde_json::to_string(&out_of_range).unwrap(),
                "version reads",
            ),
        ];
        for (what, text, says) in rows {
            let path = d.join("j.json");
            fs::write(&path, &text).unwrap();
            let err = Journal::open(&path, file, layout).unwrap_err();
            assert_eq!(err.code.as_deref(), Some(JOURNAL_REFUSED), "{what}");
            assert!(err.message.contains(says), "{what}: {err}");
            assert_eq!(
                fs::read_to_string(&path).unwrap(),
                text,
                "{what}: untouched"
            );
        }
    }
}
