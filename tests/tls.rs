//! HTTPS as devices meet it, against the mock serving TLS with certificates
//! made at test time: each failure produced for real (rustls on both ends)
//! and classified with a hint a person can act on.

#![cfg(feature = "mock")]

use std::net::TcpListener;
use std::time::Duration;

use apiretry::mock::{MockServer, Reply, TestCa, Validity};
use apiretry::{Client, Kind, Policy, Request, Retry, Timeouts, TlsSettings};

const LOCAL: &[&str] = &["127.0.0.1", "localhost"];

fn trusting(ca: &TestCa) -> TlsSettings {
    TlsSettings::default()
        .add_ca_pem(ca.cert_pem().as_bytes())
        .unwrap()
}

fn get(url: &str, tls: TlsSettings) -> Result<u16, apiretry::ApiError> {
    let short = Timeouts {
        default: Duration::from_millis(800),
        ..Timeouts::default()
    };
    Client::builder(url)
        .tls(tls)
        .timeouts(short)
        .policy(Policy::default().with_max_attempts(1))
        .build()
        .send(&Request::get("/x"))
        .map(|r| r.status())
}

fn serve(server: MockServer) -> MockServer {
    server.script("GET", "/x", [Reply::json(200, "{}")]);
    server
}

#[test]
fn handshakes_and_their_failures() {
    let ca = TestCa::new("fleet CA");
    let other_ca = TestCa::new("somebody else's CA");
    let good = serve(MockServer::start_tls(&ca.leaf(LOCAL, Validity::Current)).unwrap());
    let expired = serve(MockServer::start_tls(&ca.leaf(LOCAL, Validity::Expired)).unwrap());
    let early = serve(MockServer::start_tls(&ca.leaf(LOCAL, Validity::NotYetValid)).unwrap());
    let misnamed =
        serve(MockServer::start_tls(&ca.leaf(&["api.example.com"], Validity::Current)).unwrap());
    let plain = serve(MockServer::start().unwrap());
    let silent = TcpListener::bind("127.0.0.1:0").unwrap(); // accepts, never answers
    let tls_port_over_http = good.url().replace("https://", "http://");
    let http_port_over_tls = plain.url().replace("http://", "https://");
    let silent_url = format!("https://{}", silent.local_addr().unwrap());

    // (what, URL, trust, expected: Ok(status) or (kind, retry, words in the hint))
    type Want = Result<u16, (Kind, Retry, &'static str)>;
    let rows: Vec<(&str, String, TlsSettings, Want)> = vec![
        (
            "the fleet's CA added to the web roots",
            good.url(),
            trusting(&ca),
            Ok(200),
        ),
        (
            "only the fleet's CA",
            good.url(),
            trusting(&ca).only_extra_cas(),
            Ok(200),
        ),
        (
            "web roots only: untrusted CA",
            good.url(),
            TlsSettings::default(),
            Err((Kind::Tls, Retry::No, "not signed by a trusted CA")),
        ),
        (
            "another CA only",
            good.url(),
            trusting(&other_ca).only_extra_cas(),
            Err((Kind::Tls, Retry::No, "not signed by a trusted CA")),
        ),
        (
            "expired leaf",
            expired.url(),
            trusting(&ca),
            Err((Kind::Tls, Retry::No, "expired")),
        ),
        (
            "leaf not yet valid",
            early.url(),
            trusting(&ca),
            Err((Kind::Tls, Retry::No, "device clock is behind")),
        ),
        (
            "leaf for another name",
            misnamed.url(),
            trusting(&ca),
            Err((Kind::Tls, Retry::No, "does not name this host")),
        ),
        (
            "TLS to a plain-HTTP port",
            http_port_over_tls,
            trusting(&ca),
            Err((Kind::Tls, Retry::No, "plain HTTP")),
        ),
        (
            "plain HTTP to a TLS port",
            tls_port_over_http,
            trusting(&ca),
            Err((Kind::Protocol, Retry::Once, "use https://")),
        ),
        (
            "handshake never answered",
            silent_url,
            trusting(&ca),
            Err((Kind::Timeout, Retry::Yes, "TLS handshake")),
        ),
    ];
    let mut wrong = Vec::new();
    for (what, url, tls, want) in rows {
        let got = get(&url, tls);
        let ok = match (&got, &want) {
            (Ok(s), Ok(w)) => s == w,
            (Err(e), Err((kind, retry, words))) => {
                e.kind == *kind && e.retry == *retry && e.hint.contains(words)
            }
            _ => false,
        };
        if !ok {
            wrong.push(format!(
                "{what}: want {want:?}, got {:?}",
                got.map_err(|e| (e.kind, e.retry, e.hint, e.message))
            ));
        }
    }
    drop(silent);
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// Mutual TLS: a server that wants a client certificate from the fleet's CA.
#[test]
fn client_certificates() {
    let ca = TestCa::new("fleet CA");
    let devices = TestCa::new("device CA");
    let server = serve(
        MockServer::start_mutual_tls(&ca.leaf(LOCAL, Validity::Current), devices.cert_pem())
            .unwrap(),
    );
    let device = devices.leaf(&["camera-0042"], Validity::Current);
    let stranger = TestCa::new("stranger").leaf(&["camera-0042"], Validity::Current);
    let with = |id: &apiretry::mock::Identity| {
        trusting(&ca)
            .client_certificate(id.cert_pem.as_bytes(), id.key_pem.as_bytes())
            .unwrap()
    };
    assert_eq!(get(&server.url(), with(&device)).unwrap(), 200);
    for (what, tls) in [
        ("no certificate", trusting(&ca)),
        ("a stranger's", with(&stranger)),
    ] {
        let err = get(&server.url(), tls).unwrap_err();
        assert_eq!(
            (err.kind, err.retry),
            (Kind::Tls, Retry::No),
            "{what}: {err}"
        );
        assert!(err.hint.contains("client certificate"), "{what}: {err:?}");
    }
}

#[test]
fn the_system_store_is_read_when_asked_for() {
    // Machines without a store (a bare container) get a clear error.
    if let Err(e) = TlsSettings::default().system_roots() {
        assert!(e.message.contains("system's certificate store"), "{e}");
    }
}

#[test]
fn settings_are_checked_where_they_come_in() {
    let ca = TestCa::new("fleet CA");
    let leaf = ca.leaf(LOCAL, Validity::Current);
    let other = ca.leaf(LOCAL, Validity::Current);
    let bad_ca = TlsSettings::default()
        .add_ca_pem(b"not a certificate")
        .unwrap_err();
    assert_eq!((bad_ca.kind, bad_ca.retry), (Kind::Application, Retry::No));
    let missing = TlsSettings::default()
        .add_ca_file("/nonexistent/ca.pem")
        .unwrap_err();
    assert!(missing.message.contains("/nonexistent/ca.pem"), "{missing}");
    // A client certificate and its own key fit; another leaf's key does not.
    assert!(TlsSettings::default()
        .client_certificate(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes())
        .is_ok());
    let misfit = TlsSettings::default()
        .client_certificate(leaf.cert_pem.as_bytes(), other.key_pem.as_bytes())
        .unwrap_err();
    assert!(misfit.message.contains("do not fit"), "{misfit}");
    // Debug never shows keys.
    let tls = TlsSettings::default()
        .client_certificate(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes())
        .unwrap();
    assert!(!format!("{tls:?}").contains("PRIVATE"), "{tls:?}");
}
