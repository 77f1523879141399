//! Linux's `TCP_INFO`, read by the client's sockets to see what the peer
//! has acknowledged (`client::socket`); socket2, rustix and nix stop short
//! of it.

#[cfg(target_os = "linux")]
use std::os::fd::AsRawFd;

/// What a connection's sender side has moved, from the kernel's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TcpProgress {
    /// Bytes the peer acknowledged (cumulatively).
    pub acked: u64,
    /// Segments the peer received, selectively acknowledged ones included:
    /// this moves while a lost segment is being sent again.
    pub delivered: u32,
    /// Whether sent bytes await acknowledgement, or bytes wait to be sent.
    pub outstanding: bool,
}

/// The connection's counters, or `None` where the kernel has no
/// `TCP_INFO` with them (before Linux 4.18, or under an emulator).
#[cfg(target_os = "linux")]
pub(crate) fn tcp_progress(socket: &impl AsRawFd) -> Option<TcpProgress> {
    // Zeroed: a kernel whose struct is shorter fills only its part, and
    // `len` tells how much; an all-zero tcp_info is a valid value.
    let mut info: libc::tcp_info = unsafe_zeroed();
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` is a live, writable tcp_info of `len` bytes, and the
    // kernel writes at most `len` bytes into it and the length into `len`.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    let needed = std::mem::offset_of!(libc::tcp_info, tcpi_delivered) + 4;
    if rc != 0 || (len as usize) < needed {
        return None;
    }
    Some(TcpProgress {
        acked: info.tcpi_bytes_acked,
        delivered: info.tcpi_delivered,
        outstanding: info.tcpi_unacked > 0 || info.tcpi_notsent_bytes > 0,
    })
}

#[cfg(target_os = "linux")]
fn unsafe_zeroed() -> libc::tcp_info {
    // SAFETY: tcp_info is plain integers, for which all-zero bytes are valid.
    unsafe { std::mem::zeroed() }
}

/// Elsewhere the kernel's counters are not read.
#[cfg(not(target_os = "linux"))]
pub(crate) fn tcp_progress<T>(_: &T) -> Option<TcpProgress> {
    None
}
