//! Files replaced so that a kill or a power loss at any instant leaves
//! either the old contents or the new ones: a temporary file beside the
//! target (a rename across file systems is not atomic), flushed, renamed
//! over it, and the folder flushed so that the rename itself stays.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A name beside `path` no other writer uses: this process's id and a
/// count of its own.
pub(crate) fn beside(path: &Path, what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{what}.{}.{n}", std::process::id()));
    path.with_file_name(name)
}

/// Flushes the folder holding `path`, so that a file made or renamed there
/// stays; best effort (some file systems cannot open a folder).
pub(crate) fn sync_dir(path: &Path) {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let _ = File::open(dir.unwrap_or(Path::new("."))).and_then(|d| d.sync_all());
}

/// Replaces the file at `path` with `bytes`, atomically; on failure the
/// temporary file is removed and `path` is as it was.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = beside(path, "tmp");
    let write = || -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    match write() {
        Ok(()) => {
            sync_dir(path);
            Ok(())
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}
