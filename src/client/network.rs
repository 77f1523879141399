//! ureq's failures as the taxonomy's kinds: by error variant, never by
//! message text (network, TLS, proxy, local I/O).

use std::io;

use super::socket::is_unacknowledged;
use crate::error::ApiError;
use crate::kind::{Kind, Retry};

/// What a stalled transfer's hint says.
const STALLED: &str = "The link went silent mid-transfer (Wi-Fi lost, a dead route) or the peer \
                       stopped reading or sending: retried on a new connection.";

/// [`network`], and for a stall (known by its variant) how far the
/// exchange had come.
pub(super) fn network_after(err: ureq::Error, sent: u64, received: u64) -> ApiError {
    let stalled = match &err {
        ureq::Error::Timeout(t) => matches!(t, ureq::Timeout::PerRead | ureq::Timeout::PerWrite),
        ureq::Error::Io(e) => is_unacknowledged(e),
        _ => false,
    };
    let mut error = network(err);
    if stalled {
        error.message = format!(
            "{} ({sent} bytes of the request's body sent, {received} of the answer's body received)",
            error.message
        )
        .into();
    }
    error
}

/// Failures that show the origin cannot be reached at all: no name, no
/// connection, or a connection refused, reset or closed before any answer.
/// A read timeout on one slow endpoint is not one of them.
pub(super) fn shows_unreachable(err: &ureq::Error) -> bool {
    use io::ErrorKind as K;
    use ureq::Error as E;
    match err {
        E::HostNotFound | E::ConnectionFailed => true,
        E::Timeout(t) => matches!(t, ureq::Timeout::Connect | ureq::Timeout::Resolve),
        E::Io(e) => matches!(
            e.kind(),
            K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::NotConnected
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::NetworkDown
                | K::AddrNotAvailable
        ),
        _ => false,
    }
}

pub(super) fn local_io(what: &str, e: &dyn std::fmt::Display) -> ApiError {
    ApiError::new(Kind::Io).with_message(format!("{what}: {e}"))
}

/// The taxonomy kind of a ureq failure.
pub(crate) fn network(err: ureq::Error) -> ApiError {
    use ureq::Error as E;
    let kind = match &err {
        E::Timeout(ureq::Timeout::Global) => {
            return ApiError::new(Kind::DeadlineExceeded)
                .with_message("the call's deadline passed during the attempt");
        }
        E::Timeout(ureq::Timeout::Connect) => {
            return ApiError::new(Kind::Timeout)
                .with_message(format!("{}: {err}", Kind::Timeout.default_message()))
                .with_hint(
                    "Connecting, or the TLS handshake, took too long: the network or the \
                            server is slow or down, or a firewall drops the packets.",
                );
        }
        E::Timeout(ureq::Timeout::PerRead | ureq::Timeout::PerWrite) => {
            return ApiError::new(Kind::Timeout)
                .with_message(format!(
                    "the transfer stalled: no byte {} for the stall limit",
                    match &err {
                        E::Timeout(ureq::Timeout::PerWrite) => "could be sent",
                        _ => "came",
                    }
                ))
                .with_hint(STALLED);
        }
        // The kernel ended the connection: what it sent stayed unacknowledged
        // (or held back by a zero window) for the stall limit.
        E::Io(e) if is_unacknowledged(e) => {
            return ApiError::new(Kind::Timeout)
                .with_message(
                    "the transfer stalled: no byte could be sent (the peer acknowledged none) \
                     for the stall limit",
                )
                .with_hint(STALLED);
        }
        E::Timeout(_) | E::BodyStalled => Kind::Timeout,
        E::HostNotFound => Kind::Dns,
        E::Io(e) => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(tls) => return tls_failure(tls),
            None => io_kind(e),
        },
        E::ConnectionFailed => Kind::Connection,
        E::ConnectProxyFailed(why) => return proxy_refused(why),
        E::Protocol(_) | E::LargeResponseHeader(..) | E::TooManyRedirects | E::RedirectFailed => {
            return ApiError::new(Kind::Protocol)
                .with_message(format!("{}: {err}", Kind::Protocol.default_message()))
                .with_hint(
                    "The peer did not answer in HTTP: if it speaks TLS on this port, use \
                            https://; else a middlebox mangled the answer.",
                );
        }
        E::Rustls(e) => return tls_failure(e),
        E::Tls(_) | E::Pem(_) | E::TlsRequired => Kind::Tls,
        E::BodyExceedsLimit(_) => Kind::BodyTooLarge,
        E::BadUri(_)
        | E::Http(_)
        | E::RequireHttpsOnly(_)
        | E::InvalidProxyUrl
        | E::StatusCode(_) => {
            return ApiError::new(Kind::Application)
                .with_retry(Retry::No)
                .with_message(format!("invalid request: {err}"));
        }
        _ => Kind::Connection,
    };
    ApiError::new(kind).with_message(format!("{}: {err}", kind.default_message()))
}

/// The proxy answered CONNECT with something else than 200. ureq gives the
/// status only inside its text ("proxy server responded 407/407"): read it
/// there; without one, it is a proxy that did not answer.
fn proxy_refused(why: &str) -> ApiError {
    let status = why
        .split_once("responded ")
        .and_then(|(_, rest)| rest.get(..3)?.parse::<u16>().ok());
    let (retry, hint) = match status {
        Some(407) => (
            Retry::No,
            "The proxy requires credentials: give them in the proxy URL (http://user:password@host:port).",
        ),
        Some(403) | Some(405) => (
            Retry::No,
            "The proxy does not allow tunnels to this host or port: ask its operator.",
        ),
        _ => (
            Kind::Connection.default_retry(),
            "The proxy could not reach the server, or did not answer: check the proxy and the network behind it.",
        ),
    };
    ApiError::new(Kind::Connection)
        .with_retry(retry)
        .with_hint(hint)
        .with_message(format!(
            "{}: the proxy refused the tunnel: {}",
            Kind::Connection.default_message(),
            crate::redact::secrets(why)
        ))
}

/// A failed TLS handshake, by rustls's error variant: what a person can do
/// about it, and whether a re-send could ever help.
fn tls_failure(e: &rustls::Error) -> ApiError {
    use rustls::CertificateError as C;
    use rustls::Error as R;
    let (retry, hint) = match e {
        R::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => (
            Retry::No,
            "The server's certificate is not signed by a trusted CA: trust the fleet's CA \
             (TlsSettings::add_ca_pem, --cacert), or look for a proxy that intercepts TLS.",
        ),
        R::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => (
            Retry::No,
            "The server's certificate has expired, or the device clock is ahead: check the \
             clock, then tell the server's operator.",
        ),
        R::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => (
            Retry::No,
            "The server's certificate is not valid yet: the device clock is behind. Set it \
             (NTP) and try again.",
        ),
        R::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => (
            Retry::No,
            "The server's certificate does not name this host: check the host in the URL.",
        ),
        R::InvalidCertificate(_) | R::NoCertificatesPresented | R::UnsupportedNameType => (
            Retry::No,
            "The server's certificate cannot be verified: check the URL and the trusted CAs.",
        ),
        R::AlertReceived(
            rustls::AlertDescription::CertificateRequired
            | rustls::AlertDescription::BadCertificate
            | rustls::AlertDescription::UnknownCA
            | rustls::AlertDescription::CertificateUnknown,
        ) => (
            Retry::No,
            "The server refused the client certificate, or wants one: set it \
             (TlsSettings::client_certificate) from the fleet's CA.",
        ),
        R::InvalidMessage(_) => (
            Retry::No,
            "The server did not answer in TLS: it may speak plain HTTP on this port (use \
             http://), or the port is wrong.",
        ),
        _ => (
            Kind::Tls.default_retry(),
            "The TLS handshake failed: check the URL, the trusted CAs and any proxy.",
        ),
    };
    ApiError::new(Kind::Tls)
        .with_retry(retry)
        .with_hint(hint)
        .with_message(format!("{}: {e}", Kind::Tls.default_message()))
}

fn io_kind(e: &io::Error) -> Kind {
    use io::ErrorKind as K;
    match e.kind() {
        K::TimedOut | K::WouldBlock => Kind::Timeout,
        K::InvalidData => Kind::Protocol,
        // Refused, reset, aborted, unreachable, closed early, broken pipe and
        // any other socket failure mid-exchange: the peer cannot be reached.
        _ => Kind::Connection,
    }
}
