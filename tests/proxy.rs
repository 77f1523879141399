//! Through a real HTTP proxy: tinyproxy from the distribution's packages
//! (`.ci/run` installs it), started here on a free loopback port and stopped
//! at the end. Requests go through it; a proxy that is down, or that wants
//! credentials, is classified, and proxy credentials never show.

#![cfg(feature = "mock")]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apiretry::mock::{MockServer, Reply};
use apiretry::{Client, Kind, Policy, Proxy, Request, Retry, VirtualClock};

const PASSWORD: &str = "pr0xy-s3cret";

/// tinyproxy on a free port, stopped when dropped.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary() -> Option<PathBuf> {
    [
        "/usr/bin/tinyproxy",
        "/usr/sbin/tinyproxy",
        "/usr/local/bin/tinyproxy",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

impl Tinyproxy {
    /// `None` (the reason printed) when tinyproxy is not installed, outside CI.
    fn start(basic_auth: bool) -> Option<Tinyproxy> {
        let Some(bin) = binary() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have tinyproxy (.ci/run installs it)"
            );
            eprintln!("SKIPPED: tinyproxy is not installed (apt-get install tinyproxy)");
            return None;
        };
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("apiretry-tinyproxy-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("tinyproxy.log");
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 10\nMaxClients 32\nAllow 127.0.0.1\n\
             LogLevel Info\nLogFile \"{}\"\nDisableViaHeader Yes\n",
            log.display()
        );
        if basic_auth {
            conf += &format!("BasicAuth device {PASSWORD}\n");
        }
        let conf_path = dir.join("tinyproxy.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(bin)
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy starts");
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "tinyproxy did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Tinyproxy {
            child,
            port,
            log,
            _dir: TempDir(dir),
        })
    }

    fn url(&self, credentials: &str) -> String {
        format!("http://{credentials}127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn client(api: &MockServer, proxy: &str) -> Client {
    Client::builder(api.url())
        .clock(std::sync::Arc::new(VirtualClock::new()))
        .policy(Policy::default().with_max_attempts(3))
        .proxy(Proxy::new(proxy).unwrap())
        .build()
}

#[test]
fn requests_go_through_the_proxy() {
    let Some(proxy) = Tinyproxy::start(false) else {
        return;
    };
    let api = MockServer::start().unwrap();
    api.script("GET", "/x", [Reply::json(200, "{}")]);
    let c = client(&api, &proxy.url(""));
    assert_eq!(
        c.send(&Request::get("/x").expect(200)).unwrap().status(),
        200
    );
    let port = api.addr().port();
    assert!(
        proxy.log().contains(&format!("127.0.0.1:{port}")),
        "the proxy did not see the request:\n{}",
        proxy.log()
    );
}

#[test]
fn a_proxy_that_is_down_is_a_connection_failure_naming_it() {
    let api = MockServer::start().unwrap();
    let port = free_port(); // nothing listens there
    let c = client(&api, &format!("http://127.0.0.1:{port}"));
    let err = c.send(&Request::get("/x")).unwrap_err();
    assert_eq!(err.kind, Kind::Connection, "{err}");
    assert!(
        err.message.contains(&format!("proxy 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(api.requests().is_empty());
}

#[test]
fn proxy_credentials_are_sent_and_never_shown() {
    let Some(proxy) = Tinyproxy::start(true) else {
        return;
    };
    let api = MockServer::start().unwrap();
    api.script("GET", "/x", [Reply::json(200, "{}")]);

    // Without credentials: 407, classified, not retried.
    let c = client(&api, &proxy.url(""));
    let err = c.send(&Request::get("/x")).unwrap_err();
    assert_eq!(
        (err.kind, err.retry),
        (Kind::Connection, Retry::No),
        "{err}"
    );
    assert!(
        err.message.contains("407") && err.hint.contains("credentials"),
        "{err:?}"
    );
    assert!(api.requests().is_empty());

    // With them: through.
    let c = client(&api, &proxy.url(&format!("device:{PASSWORD}@")));
    assert_eq!(
        c.send(&Request::get("/x").expect(200)).unwrap().status(),
        200
    );
    // The password is in no Debug output and no error message.
    let wrong = client(&api, &proxy.url("device:not-it@"));
    let err = wrong.send(&Request::get("/x")).unwrap_err();
    let shown = [
        format!("{c:?}"),
        format!(
            "{:?}",
            Proxy::new(&proxy.url(&format!("device:{PASSWORD}@"))).unwrap()
        ),
        format!("{err} {err:?}"),
        Proxy::new(&format!("ftp://device:{PASSWORD}@x"))
            .unwrap_err()
            .to_string(),
    ];
    for text in shown {
        assert!(
            !text.contains(PASSWORD) && !text.contains("not-it"),
            "{text}"
        );
    }
}
