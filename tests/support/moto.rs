//! moto's S3 server for the tests (a Python package, in a virtual
//! environment that `.ci/moto-venv` makes), started on a free loopback port
//! and stopped when dropped, and `tests/s3/fixture.py` (boto3) beside it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apiretry::{Client, Policy, Request};
use serde_json::Value;

use super::fault_proxy::FaultProxy;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// True (with the reason printed) when there is no python3 to run `what`.
pub fn python3_missing(what: &str) -> bool {
    let missing = Command::new("python3").arg("--version").output().is_err();
    if missing {
        eprintln!("SKIPPED: python3 is missing, so {what} cannot run");
    }
    missing
}
pub const MIB: usize = 1 << 20;

/// moto's server on a free port, stopped when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub venv: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// `None` (with the reason printed) only when there is no python3.
    pub fn start() -> Option<Moto> {
        if python3_missing("moto's S3 server") {
            return None;
        }
        let venv = Self::venv();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // `python -m moto.server`, not the `moto_server` script: a script's
        // first line names the interpreter by the path the environment was
        // made at, and CI's build cache moves it between checkouts.
        let child = Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            venv,
        };
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// The virtual environment with moto and boto3, made on first use.
    pub fn venv() -> PathBuf {
        let out = Command::new("bash")
            .arg(Path::new(ROOT).join(".ci/moto-venv"))
            .stderr(Stdio::inherit())
            .output()
            .expect("bash runs .ci/moto-venv");
        assert!(
            out.status.success(),
            "could not install moto (.ci/moto-venv)"
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    }

    /// Runs `tests/s3/fixture.py` (boto3) and reads its JSON.
    pub fn fixture(&self, args: &[&str]) -> Value {
        let out = Command::new(self.venv.join("bin/python"))
            .arg(Path::new(ROOT).join("tests/s3/fixture.py"))
            .arg(&self.endpoint)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fixture.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// A client whose calls take up to 6 attempts.
pub fn client(base: &str) -> Client {
    Client::builder(base)
        .policy(Policy::default().with_max_attempts(6))
        .build()
}

impl Moto {
    /// A multipart upload of `parts` parts for `key`: its part URLs through
    /// `proxy`, and its completion URL.
    pub fn multipart(&self, proxy: &FaultProxy, key: &str, parts: usize) -> (Vec<String>, String) {
        let m = self.fixture(&["multipart", key, &parts.to_string()]);
        let host = self.endpoint.trim_start_matches("http://");
        let urls = m["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| proxy.url(u.as_str().unwrap(), host))
            .collect();
        (urls, m["complete"].as_str().unwrap().to_owned())
    }

    /// Completes the upload with `etags`, then checks the object is the file.
    pub fn complete_and_verify(
        &self,
        c: &Client,
        complete: &str,
        etags: &[String],
        key: &str,
        file: &Path,
    ) {
        let mut body = String::from("<CompleteMultipartUpload>");
        for (i, etag) in etags.iter().enumerate() {
            body += &format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
                i + 1
            );
        }
        body += "</CompleteMultipartUpload>";
        c.send(
            &Request::post(complete)
                .without_authorization()
                .body(body.into_bytes())
                .expect(200),
        )
        .unwrap();
        let check = self.fixture(&["verify", key, file.to_str().unwrap()]);
        assert_eq!(check["size"], check["expected_size"], "{key}");
        assert_eq!(check["md5"], check["expected_md5"], "{key}");
    }
}
