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

/// The head of Linux's `struct tcp_info` (include/uapi/linux/tcp.h), as
/// far as `tcpi_delivered_ce` (Linux 4.18): the kernel's own layout, the
/// same under every C library and on every architecture (each 64-bit field
/// falls on an 8-byte offset), so it is declared here rather than taken
/// from the C library's header, which uclibc's and older glibc's stop short
/// of. A shorter kernel fills less, and says so in the length.
#[cfg(target_os = "linux")]
#[repr(C)]
#[derive(Default)]
struct TcpInfo {
    /// state, ca_state, retransmits, probes, backoff, options, the window
    /// scales, the app-limited and fastopen bits.
    _head: [u8; 8],
    /// rto, ato, snd_mss, rcv_mss.
    _timers: [u32; 4],
    unacked: u32,
    /// sacked .. total_retrans.
    _counts: [u32; 19],
    /// pacing_rate, max_pacing_rate.
    _rates: [u64; 2],
    bytes_acked: u64,
    _bytes_received: u64,
    /// segs_out, segs_in.
    _segs: [u32; 2],
    notsent_bytes: u32,
    /// min_rtt, data_segs_in, data_segs_out.
    _more: [u32; 3],
    /// delivery_rate, busy_time, rwnd_limited, sndbuf_limited.
    _times: [u64; 4],
    delivered: u32,
    _delivered_ce: u32,
}

/// The connection's counters, or `None` where the kernel has no
/// `TCP_INFO` with them (before Linux 4.18, or under an emulator).
#[cfg(target_os = "linux")]
pub(crate) fn tcp_progress(socket: &impl AsRawFd) -> Option<TcpProgress> {
    // Zeroed: a kernel whose struct is shorter fills only its part, and
    // `len` tells how much.
    let mut info = TcpInfo::default();
    let mut len = std::mem::size_of::<TcpInfo>() as libc::socklen_t;
    // SAFETY: `info` is a live, writable, plain-integer struct of `len`
    // bytes; the kernel writes at most `len` bytes into it and the length
    // it wrote into `len`.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut TcpInfo).cast(),
            &mut len,
        )
    };
    let needed = std::mem::offset_of!(TcpInfo, delivered) + 4;
    if rc != 0 || (len as usize) < needed {
        return None;
    }
    Some(TcpProgress {
        acked: info.bytes_acked,
        delivered: info.delivered,
        outstanding: info.unacked > 0 || info.notsent_bytes > 0,
    })
}

/// Elsewhere the kernel's counters are not read.
#[cfg(not(target_os = "linux"))]
pub(crate) fn tcp_progress<T>(_: &T) -> Option<TcpProgress> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::mem::{offset_of, size_of};

    use super::TcpInfo;

    /// Rows: (field, its offset in the kernel's struct tcp_info).
    #[test]
    fn the_layout_is_the_kernels() {
        let rows = [
            ("unacked", offset_of!(TcpInfo, unacked), 24),
            ("bytes_acked", offset_of!(TcpInfo, bytes_acked), 120),
            ("notsent_bytes", offset_of!(TcpInfo, notsent_bytes), 144),
            ("delivered", offset_of!(TcpInfo, delivered), 192),
            ("size", size_of::<TcpInfo>(), 200),
        ];
        for (what, got, want) in rows {
            assert_eq!(got, want, "{what}");
        }
    }
}
