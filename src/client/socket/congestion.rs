//! The TCP congestion control a connection sends with (Linux
//! `TCP_CONGESTION`, through socket2), set before it connects.
//!
//! On a lossy link a loss-based algorithm (cubic, most devices' default)
//! reads each random loss as congestion and halves its window: one flow
//! is held to a few Mbit/s whatever the link's rate. BBR paces by the
//! bandwidth and round trip it measures instead, and fills the link (see
//! BENCHMARKS.md, "Upload speed against the link"). The kernel may not
//! offer it (not built, not loaded, or not in
//! `net.ipv4.tcp_allowed_congestion_control` for an unprivileged
//! process): then the connection goes on with the system's, and
//! [`check`] says why.

use socket2::{SockRef, Socket};

use crate::error::ApiError;

/// The algorithm upload parts' connections ask for unless told.
pub const DEFAULT_UPLOAD_CONGESTION: &str = "bbr";

/// The bytes an upload part's connection keeps queued unsent in the
/// kernel (Linux `TCP_NOTSENT_LOWAT`): a write waits until fewer are. By
/// default the kernel takes up to 4 MiB a connection at once, so a part's
/// first megabytes look sent in an instant on a link of a few Mbit/s: the
/// bytes a part has handed over then say nothing of the link's rate, which
/// the engine's count of parts in flight is chosen from (and progress
/// jumps). Bounded, they follow what the link carries, a round trip's
/// worth ahead. 256 KiB refills in time at 1 Gbit/s (the writer is woken
/// at half of it, 1 ms of data there).
pub(crate) const UPLOAD_UNSENT: u32 = 256 << 10;

/// Bounds the bytes `socket` keeps unsent; best effort (other systems
/// queue as they do).
pub(crate) fn limit_unsent(socket: &SockRef<'_>, bytes: u32) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = socket.set_tcp_notsent_lowat(bytes);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = (socket, bytes);
}

/// Asks for `name` on `socket`; what the kernel refuses is left to the
/// system's default (see [`check`]).
pub(crate) fn ask(socket: &Socket, name: &str) {
    #[cfg(target_os = "linux")]
    let _ = socket.set_tcp_congestion(name.as_bytes());
    #[cfg(not(target_os = "linux"))]
    let _ = (socket, name);
}

/// Whether this system's kernel gives this process's connections `name`
/// (tried on a new, unconnected socket); the error says why not.
///
/// ```
/// // The system's own default is always given.
/// # #[cfg(target_os = "linux")]
/// # {
/// let system = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control").unwrap();
/// assert!(apiretry::check_congestion_control(system.trim()).is_ok());
/// # }
/// assert!(apiretry::check_congestion_control("no-such-algorithm").is_err());
/// ```
pub fn check(name: &str) -> Result<(), ApiError> {
    let refused = |why: String| {
        ApiError::invalid_input(format!(
            "the kernel does not give TCP congestion control {name:?}: {why}"
        ))
    };
    if name.is_empty() || name.len() > 15 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(refused("not an algorithm's name".into()));
    }
    #[cfg(target_os = "linux")]
    {
        use socket2::{Domain, Type};
        let socket =
            Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|e| refused(e.to_string()))?;
        match socket.set_tcp_congestion(name.as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Err(refused(format!(
                "not built or not loaded ({e}; `modprobe tcp_{name}`, /proc/sys/net/ipv4/tcp_available_congestion_control)"
            ))),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(refused(format!(
                "not allowed to this process ({e}; add it to net.ipv4.tcp_allowed_congestion_control)"
            ))),
            // qemu-user passes no TCP_CONGESTION to the host's kernel.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOPROTOOPT)) => Err(
                refused(format!("this system takes no TCP_CONGESTION ({e})")),
            ),
            Err(e) => Err(refused(e.to_string())),
        }
    }
    #[cfg(not(target_os = "linux"))]
    Err(refused("this system has no TCP_CONGESTION".into()))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn system() -> String {
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Whether this system takes `TCP_CONGESTION` at all: not under
    /// qemu-user (`.ci/arm`), whose refusal must say so.
    fn taken() -> bool {
        match check(&system()) {
            Ok(()) => true,
            Err(e) => {
                assert!(e.message.contains("takes no TCP_CONGESTION"), "{e}");
                false
            }
        }
    }

    /// Rows: a name -> taken, or the reason named.
    #[test]
    fn the_check_says_why_a_name_is_refused() {
        if !taken() {
            return;
        }
        let rows: [(&str, Option<&str>); 4] = [
            (&system(), None),
            ("no-such-algo", Some("not built or not loaded")),
            ("", Some("not an algorithm's name")),
            (
                "a name too long for the kernel",
                Some("not an algorithm's name"),
            ),
        ];
        for (name, want) in rows {
            match (check(name), want) {
                (Ok(()), None) => {}
                (Err(e), Some(why)) => assert!(e.message.contains(why), "{name}: {e}"),
                (got, _) => panic!("{name}: {got:?}"),
            }
        }
    }

    #[test]
    fn a_connection_asks_and_a_refusal_leaves_the_system_default() {
        if !taken() {
            return;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to = socket2::SockAddr::from(listener.local_addr().unwrap());
        for (name, want) in [(system(), system()), ("no-such-algo".into(), system())] {
            let socket = Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            ask(&socket, &name);
            socket.connect(&to).unwrap();
            let got = socket.tcp_congestion().unwrap();
            let got = String::from_utf8_lossy(&got);
            assert_eq!(got.trim_end_matches('\0'), want, "{name}");
        }
    }
}
