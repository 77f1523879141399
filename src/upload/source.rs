//! The file uploaded, held open for the whole run (every part reads from
//! this one handle, never the path again) and watched: a file replaced,
//! written to or cut while its parts are sent ends the run, so that a
//! mixed object is never reported done. Each part's bytes are hashed (MD5)
//! as they stream, for the ETag check.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::UNIX_EPOCH;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::cancel::CancelToken;
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

/// The code of the error that ends a run whose file changed under it.
pub const FILE_CHANGED: &str = "file_changed";

/// What identifies the file uploaded: its size and modification time, and
/// where the system has them its device, inode and status-change time
/// (which every write, truncation or rename moves, even one that sets the
/// modification time back).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (0 if unknown).
    pub modified_ns: u128,
    /// The device holding it (0 if unknown).
    #[serde(default)]
    pub device: u64,
    /// Its inode (0 if unknown).
    #[serde(default)]
    pub inode: u64,
    /// Status-change time, nanoseconds since the Unix epoch (0 if unknown).
    #[serde(default)]
    pub changed_ns: i128,
}

impl Identity {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &fs::Metadata) -> Identity {
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        #[cfg(unix)]
        let (device, inode, changed_ns) = {
            use std::os::unix::fs::MetadataExt;
            let ctime = i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec());
            (meta.dev(), meta.ino(), ctime)
        };
        #[cfg(not(unix))]
        let (device, inode, changed_ns) = (0, 0, 0);
        Identity {
            size: meta.len(),
            modified_ns,
            device,
            inode,
            changed_ns,
        }
    }

    /// Whether `self` is the same file as `other` (same device and inode),
    /// whatever its contents.
    pub(super) fn same_file(&self, other: &Identity) -> bool {
        (self.device, self.inode) == (other.device, other.inode)
    }
}

/// The file, held.
pub(super) struct Source {
    file: File,
    path: PathBuf,
    /// Its identity when opened.
    pub start: Identity,
    /// Still being written: it may grow (and its times move), but not
    /// shrink or be replaced.
    pub growing: bool,
}

fn io_error(path: &Path, e: &io::Error) -> ApiError {
    ApiError::new(Kind::Io).with_message(format!("reading {}: {e}", path.display()))
}

impl Source {
    /// Opens the file at `path`.
    pub fn open(path: &Path, growing: bool) -> Result<Source, ApiError> {
        let file = File::open(path).map_err(|e| io_error(path, &e))?;
        let meta = file.metadata().map_err(|e| io_error(path, &e))?;
        if !meta.is_file() {
            return Err(ApiError::invalid_input(format!(
                "{} is not a file",
                path.display()
            )));
        }
        Ok(Source {
            file,
            path: path.to_owned(),
            start: Identity::of(&meta),
            growing,
        })
    }

    /// The file's identity now, through the handle.
    pub fn now(&self) -> Result<Identity, ApiError> {
        let meta = self.file.metadata().map_err(|e| io_error(&self.path, &e))?;
        Ok(Identity::of(&meta))
    }

    /// Fails with `file_changed` unless the file is as it was when opened,
    /// and its path still names it.
    pub fn unchanged(&self) -> Result<(), ApiError> {
        let now = self.now()?;
        let named = fs::metadata(&self.path).map(|m| Identity::of(&m));
        let why = match named {
            Err(e) => format!("its path no longer names it ({e})"),
            Ok(n) if !n.same_file(&self.start) => "another file took its path".to_owned(),
            Ok(_) if self.growing && now.size < self.start.size => format!(
                "it was cut while growing ({} bytes, then {})",
                self.start.size, now.size
            ),
            Ok(_) if !self.growing && now != self.start => format!(
                "it was written to ({} bytes, then {})",
                self.start.size, now.size
            ),
            Ok(_) => return Ok(()),
        };
        Err(changed(&self.path, &why))
    }

    /// A reader of `len` bytes from `offset` that hashes what it reads
    /// into `digest` once it reaches the end, and fails as soon as `stop`
    /// is cancelled.
    pub fn part(
        self: &Arc<Self>,
        offset: u64,
        len: u64,
        stop: CancelToken,
        digest: Arc<Mutex<Option<[u8; 16]>>>,
    ) -> PartReader {
        PartReader {
            source: self.clone(),
            pos: offset,
            left: len,
            hash: Md5::new(),
            stop,
            digest,
        }
    }

    /// The MD5 of `len` bytes from `offset` (for `Content-MD5`, needed
    /// before the part is sent).
    pub fn md5(
        self: &Arc<Self>,
        offset: u64,
        len: u64,
        stop: &CancelToken,
    ) -> io::Result<[u8; 16]> {
        let slot = Arc::new(Mutex::new(None));
        let mut r = self.part(offset, len, stop.clone(), slot.clone());
        io::copy(&mut r, &mut io::sink())?;
        let digest = *slot.lock().unwrap_or_else(PoisonError::into_inner);
        digest.ok_or_else(|| io::Error::other("the part was not read to its end"))
    }

    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.file, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(&self.file, buf, offset)
    }
}

/// The error that ends a run whose file changed.
pub(super) fn changed(path: &Path, why: &str) -> ApiError {
    ApiError::new(Kind::Io)
        .with_retry(Retry::No)
        .with_code(FILE_CHANGED)
        .with_message(format!(
            "the file {} changed during the upload: {why}",
            path.display()
        ))
        .with_hint(
            "Upload a file once it is written; one still being written is uploaded as growing.",
        )
}

/// The error for a growing file finished at a size it does not reach.
pub(super) fn changed_growing(final_size: u64, size: u64) -> ApiError {
    ApiError::new(Kind::Io)
        .with_retry(Retry::No)
        .with_code(FILE_CHANGED)
        .with_message(format!(
            "the growing file changed: it holds {size} bytes, fewer than the final size {final_size} given"
        ))
}

/// One part's bytes, read from the held file.
pub(super) struct PartReader {
    source: Arc<Source>,
    pos: u64,
    left: u64,
    hash: Md5,
    stop: CancelToken,
    digest: Arc<Mutex<Option<[u8; 16]>>>,
}

/// The most read at once: a stop is seen within one such read's sending.
const CHUNK: usize = 64 << 10;

impl Read for PartReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.is_cancelled() {
            // Not `Interrupted`, which readers' loops retry.
            return Err(io::Error::other("the upload was stopped"));
        }
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(CHUNK)
            .min(usize::try_from(self.left).unwrap_or(CHUNK));
        let n = self.source.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the file ended at byte {}, inside a part", self.pos),
            ));
        }
        self.hash.update(&buf[..n]);
        self.pos += n as u64;
        self.left -= n as u64;
        if self.left == 0 {
            let digest: [u8; 16] = std::mem::take(&mut self.hash).finalize().into();
            *self.digest.lock().unwrap_or_else(PoisonError::into_inner) = Some(digest);
        }
        Ok(n)
    }
}
