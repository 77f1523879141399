//! The upload's journal: which parts are done, with their ETags and MD5s,
//! kept on disk so that an upload cut by a power loss resumes instead of
//! starting over. A part counts as done only once its record is on disk.
//!
//! A file of JSON lines: a head line (the format's version, the file's
//! identity, the layout, the destination), then one record per part done,
//! appended and flushed to disk as the part ends: a constant cost per part
//! whatever the journal's length. A line cut by a power loss (no newline
//! yet) is no record. At the end of a run the journal is written again
//! whole, sorted, atomically (compaction). A journal whose head does not
//! match the file, layout or destination given is refused, and left
//! untouched: its ETags are never used.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Identity, Layout};
use crate::error::ApiError;

mod store;

pub(super) use store::JournalFile;

/// The journal format this version writes and reads.
pub const JOURNAL_VERSION: u32 = 2;

/// A part done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DonePart {
    /// Its ETag, exactly as the server sent it.
    pub etag: String,
    /// The MD5 of the bytes sent, in hexadecimal (absent in journals made
    /// by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

/// The journal's contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journal {
    /// The file uploaded (for a growing file: as it was when the upload
    /// began).
    pub file: Identity,
    /// How it is cut (for a growing file: its part size, and room for
    /// S3's 10,000 parts).
    pub layout: Layout,
    /// The multipart upload the parts went to (see `Upload::destination`).
    pub destination: String,
    /// Whether the file was still growing: it may since have grown.
    pub growing: bool,
    /// Done parts (from 1).
    pub done: BTreeMap<u32, DonePart>,
}

/// What a run expects of its journal.
#[derive(Clone, Copy, Debug)]
pub struct Expect<'a> {
    /// The file, now.
    pub file: Identity,
    /// The part size.
    pub part_size: u64,
    /// The layout when the file's size is final; `None` while it grows.
    pub layout: Option<Layout>,
    /// The multipart upload the parts go to.
    pub destination: &'a str,
}

/// The head line.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Head {
    version: u32,
    file: Identity,
    layout: Layout,
    destination: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    growing: bool,
}

/// A record line.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    part: u32,
    #[serde(flatten)]
    done: DonePart,
}

fn refused(path: &Path, why: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_input(format!("the journal {} {why}", path.display()))
        .with_code(JOURNAL_REFUSED)
        .with_hint("Give the journal of this file, layout and upload, or a new path to start over.")
}

/// The code of the error for a journal that is not this upload's.
pub const JOURNAL_REFUSED: &str = "journal_refused";
/// The code of the error for a journal that cannot be written (a read-only
/// directory, a full disk), found before anything is sent.
pub const JOURNAL_UNWRITABLE: &str = "journal_unwritable";
/// The code of the error for a journal another run holds.
pub const JOURNAL_BUSY: &str = "journal_busy";

impl Journal {
    /// A journal with nothing done.
    pub fn new(file: Identity, layout: Layout, destination: &str) -> Journal {
        Journal {
            file,
            layout,
            destination: destination.to_owned(),
            growing: false,
            done: BTreeMap::new(),
        }
    }

    /// A journal with nothing done, of a file still growing.
    pub fn growing(file: Identity, part_size: u64, destination: &str) -> Journal {
        let layout = Layout {
            size: file.size,
            part_size,
            parts: super::MAX_PARTS,
        };
        Journal {
            growing: true,
            ..Journal::new(file, layout, destination)
        }
    }

    /// The journal in `text` (read from `path`, named in errors), checked
    /// against what the run expects; `None` for a journal not begun (empty,
    /// or its head line cut short). A growing file's journal takes the file
    /// grown since (the same file, no shorter, the same part size).
    pub fn parse(
        path: &Path,
        text: &[u8],
        expect: &Expect<'_>,
    ) -> Result<Option<Journal>, ApiError> {
        Ok(Journal::parse_lines(path, text, expect)?.map(|(j, _)| j))
    }

    /// As `parse`, with how many bytes of `text` are whole lines (a last
    /// one without its newline was cut by a crash).
    pub(super) fn parse_lines(
        path: &Path,
        text: &[u8],
        expect: &Expect<'_>,
    ) -> Result<Option<(Journal, usize)>, ApiError> {
        let Some((j, whole)) = decode(text).map_err(|why| refused(path, why))? else {
            return Ok(None);
        };
        if j.destination != expect.destination {
            return Err(refused(
                path,
                "is another upload's (another destination: its ETags would not complete this one)",
            ));
        }
        let (a, b) = (j.file, expect.file);
        let same_file = match j.growing {
            true => a.same_file(&b) && b.size >= a.size,
            false => a == b,
        };
        if !same_file {
            return Err(refused(
                path,
                format_args!(
                    "is another file's ({} bytes, modified at {} ns, inode {}; this one: {} bytes, {} ns, inode {})",
                    a.size, a.modified_ns, a.inode, b.size, b.modified_ns, b.inode
                ),
            ));
        }
        let layout_fits = match (j.growing, expect.layout) {
            (false, Some(layout)) => j.layout == layout,
            (true, Some(layout)) => {
                j.layout.part_size == layout.part_size && j.done.keys().all(|&p| p <= layout.parts)
            }
            (_, None) => j.layout.part_size == expect.part_size,
        };
        if !layout_fits {
            let given = expect
                .layout
                .map_or((0, expect.part_size), |l| (l.parts, l.part_size));
            return Err(refused(
                path,
                format_args!(
                    "has another layout (parts of {} bytes; given: {} of {})",
                    j.layout.part_size, given.0, given.1
                ),
            ));
        }
        Ok(Some((j, whole)))
    }

    /// The head line, with its newline.
    fn head_line(&self) -> Vec<u8> {
        line(&Head {
            version: JOURNAL_VERSION,
            file: self.file,
            layout: self.layout,
            destination: self.destination.clone(),
            growing: self.growing,
        })
    }

    /// The whole journal as written at compaction.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.head_line();
        for (&part, done) in &self.done {
            out.extend(record_line(part, done));
        }
        out
    }
}

fn line(value: &impl Serialize) -> Vec<u8> {
    let mut out = serde_json::to_vec(value).expect("a journal line always serializes");
    out.push(b'\n');
    out
}

/// Part `part`'s record line.
fn record_line(part: u32, done: &DonePart) -> Vec<u8> {
    line(&Record {
        part,
        done: done.clone(),
    })
}

/// The journal in `text` and how many of its bytes are whole lines (a last
/// line without its newline was cut by a crash); `None` before a whole
/// head line; the reason when it is no journal of this version.
fn decode(text: &[u8]) -> Result<Option<(Journal, usize)>, String> {
    let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole == 0 {
        // Empty, or a head line of this format cut by a crash: not begun.
        // Anything else is some other file, never written over.
        let begun = format!("{{\"version\":{JOURNAL_VERSION},");
        let n = text.len().min(begun.len());
        if text[..n] == begun.as_bytes()[..n] {
            return Ok(None);
        }
        return Err("is not a journal: no whole line".into());
    }
    let mut lines = text[..whole].split(|&b| b == b'\n');
    let head = lines.next().unwrap_or_default();
    let head: Head = serde_json::from_slice(head)
        .map_err(|e| format!("is not a journal: its head line: {e}"))?;
    if head.version != JOURNAL_VERSION {
        return Err(format!(
            "is of format {} (this version reads {JOURNAL_VERSION}): start over with a new path",
            head.version
        ));
    }
    let mut j = Journal::new(head.file, head.layout, &head.destination);
    j.growing = head.growing;
    for (n, l) in lines.enumerate().filter(|(_, l)| !l.is_empty()) {
        let r: Record = serde_json::from_slice(l)
            .map_err(|e| format!("is not a journal: record {}: {e}", n + 1))?;
        if r.part == 0 || r.part > j.layout.parts {
            return Err(format!(
                "is not a journal: record {} names part {} of {}",
                n + 1,
                r.part,
                j.layout.parts
            ));
        }
        j.done.insert(r.part, r.done);
    }
    Ok(Some((j, whole)))
}

#[cfg(test)]
mod tests;
