//! The journal's file, held for the run: opened (or made) and locked
//! before the first byte is sent, so that an unwritable directory, a full
//! disk or a second run on the same journal shows before parts are sent
//! whose ETags could not be kept; each part's record appended and flushed
//! to disk; the whole written again atomically at the end.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{record_line, refused, DonePart, Expect, Journal, JOURNAL_BUSY, JOURNAL_UNWRITABLE};
use crate::durable;
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

/// The largest journal read: 10,000 records of well under 400 bytes each.
const MAX_BYTES: u64 = 8 << 20;

/// An open, locked journal.
pub(crate) struct JournalFile {
    path: PathBuf,
    file: File,
    /// Bytes this run wrote to the disk for the journal.
    pub written: u64,
}

fn failed(path: &Path, code: &'static str, what: &str, e: &std::io::Error) -> ApiError {
    ApiError::new(Kind::Io)
        .with_retry(Retry::No)
        .with_code(code)
        .with_message(format!("{what} the journal {}: {e}", path.display()))
}

impl JournalFile {
    /// Opens the journal at `path` (made if missing), locked: its contents
    /// checked against what the run expects, or `fresh` begun.
    pub fn open(
        path: &Path,
        expect: &Expect<'_>,
        fresh: Journal,
    ) -> Result<(JournalFile, Journal), ApiError> {
        let unwritable = |e: &std::io::Error| {
            failed(path, JOURNAL_UNWRITABLE, "cannot write", e)
                .with_hint("Give a journal path on a writable disk with room; nothing was sent.")
        };
        // The directory too: the journal is compacted by a rename in it.
        let probe = durable::beside(path, "probe");
        File::create(&probe)
            .and_then(|_| fs::remove_file(&probe))
            .map_err(|e| unwritable(&e))?;
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| unwritable(&e))?;
        match crate::sys::lock::try_lock(&f) {
            Ok(true) => {}
            Ok(false) => {
                return Err(ApiError::new(Kind::Application)
                    .with_retry(Retry::No)
                    .with_code(JOURNAL_BUSY)
                    .with_message(format!(
                        "the journal {} is in use by another run of this upload",
                        path.display()
                    )))
            }
            Err(e) => return Err(failed(path, JOURNAL_BUSY, "cannot lock", &e)),
        }
        let len = f.metadata().map_err(|e| unwritable(&e))?.len();
        if len > MAX_BYTES {
            return Err(refused(path, format_args!("is {len} bytes: not a journal")));
        }
        let mut text = Vec::with_capacity(len as usize);
        f.read_to_end(&mut text)
            .map_err(|e| failed(path, JOURNAL_UNWRITABLE, "cannot read", &e))?;
        let mut store = JournalFile {
            path: path.to_owned(),
            file: f,
            written: 0,
        };
        let found = Journal::parse_lines(path, &text, expect)?;
        let journal = match found {
            Some((j, whole)) => {
                if whole < text.len() {
                    // A record cut by a crash: dropped, so that the next
                    // one starts on a line of its own.
                    store
                        .file
                        .set_len(whole as u64)
                        .map_err(|e| unwritable(&e))?;
                }
                j
            }
            None => {
                // Not begun: the head written now proves the disk takes it.
                store.file.set_len(0).map_err(|e| unwritable(&e))?;
                store
                    .write(&fresh.head_line())
                    .map_err(|e| unwritable(&e))?;
                durable::sync_dir(path);
                fresh
            }
        };
        Ok((store, journal))
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.file.sync_data()?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Records part `part` done, on disk before it returns.
    pub fn append(&mut self, part: u32, done: &DonePart) -> Result<(), ApiError> {
        let line = record_line(part, done);
        self.write(&line)
            .map_err(|e| failed(&self.path, JOURNAL_UNWRITABLE, "cannot write", &e))
    }

    /// Writes `journal` whole in place of the records, atomically, and
    /// lets the journal go: the bytes the run wrote for it. A failure (a
    /// disk that filled up) leaves the records as they were, still good.
    pub fn compact(mut self, journal: &Journal) -> u64 {
        let text = journal.to_bytes();
        match durable::replace(&self.path, &text) {
            Ok(()) => self.written += text.len() as u64,
            Err(e) => log::warn!("the journal {} was not compacted: {e}", self.path.display()),
        }
        self.written
    }
}
