//! An exclusive advisory lock on an open file (`flock`), so that two runs
//! never write one upload journal. Released when the file is closed, also
//! by a process that dies. std's `File::try_lock` needs Rust 1.89, past
//! the declared minimum.

use std::fs::File;
use std::io;

/// Takes the lock, or `Ok(false)` at once when another open file holds it.
/// A file system without locks (some network mounts) counts as taken.
#[cfg(unix)]
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is borrowed from `file`, open for the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        Some(libc::ENOLCK) | Some(libc::EOPNOTSUPP) => Ok(true),
        _ => Err(e),
    }
}

/// Elsewhere, no lock is taken.
#[cfg(not(unix))]
pub(crate) fn try_lock(_file: &File) -> io::Result<bool> {
    Ok(true)
}
