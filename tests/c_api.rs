//! The C harness (examples-c/) against the static and the shared library,
//! the shared one under valgrind (0 errors, 0 leaks) when valgrind is there.
//! With the `mock` feature, each run gets a freshly scripted mock server.

use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// An HTTPS mock with a test CA, for the harness's TLS tests: its URL and the
/// CA's PEM file go to the harness.
#[cfg(feature = "mock")]
fn tls_mock(cmd: &mut Command) -> apiretry::mock::MockServer {
    use apiretry::mock::{MockServer, Reply, TestCa, Validity};
    let ca = TestCa::new("apiretry C harness CA");
    let server = MockServer::start_tls(&ca.leaf(&["127.0.0.1"], Validity::Current)).unwrap();
    server.script("GET", "/ok", [Reply::json(200, "{}")]);
    let file = std::env::temp_dir().join(format!(
        "apiretry-harness-ca-{}-{}.pem",
        std::process::id(),
        server.addr().port()
    ));
    std::fs::write(&file, ca.cert_pem()).unwrap();
    cmd.env("APIRETRY_MOCK_TLS_URL", server.url());
    cmd.env("APIRETRY_MOCK_CA_FILE", &file);
    server
}

/// A mock scripted for the harness's client tests; its URL goes to the harness.
#[cfg(feature = "mock")]
fn mock(cmd: &mut Command) -> apiretry::mock::MockServer {
    use apiretry::mock::{MockServer, Reply};
    let server = MockServer::start().unwrap();
    server.script(
        "GET",
        "/ok",
        [Reply::json(200, r#"{"ok":true}"#).header("X-Request-Id", "r-1")],
    );
    server.script(
        "POST",
        "/assets/:id/children",
        [Reply::simple(429, "slow_down"), Reply::status(201)],
    );
    let paused = Reply::detailed(
        409,
        "Channel Paused",
        "The channel you're uploading from is currently paused.",
    );
    server.script("POST", "/paused", [paused]);
    server.script(
        "GET",
        "/secure",
        [
            Reply::detailed(401, "Not Authorized", "expired"),
            Reply::json(200, "{}"),
        ],
    );
    server.script(
        "PUT",
        "/chunk/:n",
        [
            Reply::aws(500, "InternalError", "try again"),
            Reply::status(200),
        ],
    );
    server.script("GET", "/unavailable", [Reply::status(503)]);
    // The safety tests: a refresh per route, a reset, a slow health check.
    for route in ["/reentry", "/long-token", "/odd-refresh"] {
        server.script(
            "GET",
            route,
            [
                Reply::detailed(401, "Not Authorized", "expired"),
                Reply::json(200, "{}"),
            ],
        );
    }
    server.script("GET", "/reset", [Reply::reset()]);
    server.script(
        "GET",
        "/slow-health",
        [Reply::status(204).after(std::time::Duration::from_millis(500))],
    );
    server.script(
        "GET",
        "/delay",
        [Reply::status(200).after(std::time::Duration::from_secs(10))],
    );
    cmd.env("APIRETRY_MOCK_URL", server.url());
    server
}

/// Builds the static and shared libraries and the C programs, once per run.
fn build() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // The static and shared libraries are not what `cargo test` builds. Build
        // them with this test's own features: the library's rlib has no hash in
        // its name (it is also a cdylib), so other features would overwrite the
        // rlib the rest of `cargo test` (doctests) links against.
        let features: Vec<&str> = [
            ("cli", cfg!(feature = "cli")),
            ("mock", cfg!(feature = "mock")),
        ]
        .into_iter()
        .filter_map(|(f, on)| on.then_some(f))
        .collect();
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--lib",
                "--quiet",
                "--features",
                &features.join(","),
            ])
            .current_dir(root);
        run(&mut build);
        run(Command::new("make")
            .args(["-s", "-C", "examples-c", "all", "LIBDIR=../target/debug"])
            .current_dir(root));
    });
}

#[test]
fn c_harness_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !valgrind {
        eprintln!("valgrind not found: the shared-library harness runs without it");
    }
    for (binary, under_valgrind) in [
        ("test_harness-static", false),
        ("test_harness-shared", valgrind),
    ] {
        let path = format!("{root}/examples-c/{binary}");
        let mut cmd = if under_valgrind {
            let mut c = Command::new("valgrind");
            c.arg(format!("--suppressions={root}/examples-c/valgrind.supp"));
            c.args([
                "-q",
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
            ]);
            c.arg(&path);
            c
        } else {
            Command::new(&path)
        };
        #[cfg(feature = "mock")]
        let (server, _tls) = (mock(&mut cmd), tls_mock(&mut cmd));
        let output = run(&mut cmd);
        println!("{binary}: {output}");
        assert!(output.contains(" passed, 0 failed"), "{binary}: {output}");
        #[cfg(feature = "mock")]
        {
            assert!(!output.contains("client tests skipped"), "{output}");
            assert!(!output.contains("TLS tests skipped"), "{output}");
            // The token was refreshed once, then the new one was sent.
            let secure: Vec<_> = server
                .requests()
                .into_iter()
                .filter(|r| r.path == "/secure")
                .collect();
            let sent: Vec<_> = secure.iter().map(|r| r.header("authorization")).collect();
            assert_eq!(
                sent,
                [Some("Bearer old-token"), Some("Bearer new-token")],
                "{binary}"
            );
            // The 10,000-byte token went out whole.
            let long: Vec<usize> = server
                .requests()
                .iter()
                .filter(|r| r.path == "/long-token")
                .filter_map(|r| r.header("authorization").map(str::len))
                .collect();
            assert_eq!(long, ["Bearer old-token".len(), 7 + 10_000], "{binary}");
        }
    }
}

/// `make install` into a temporary prefix, then the upload example built with
/// nothing but `pkg-config --cflags --libs apiretry`, uploading a file in
/// chunks to the mock while S3 answers SlowDown and InternalError.
#[cfg(feature = "mock")]
#[test]
fn upload_example_built_with_pkg_config() {
    use apiretry::mock::{MockServer, Reply};
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let prefix = std::env::temp_dir().join(format!("apiretry-prefix-{}", std::process::id()));
    let prefix_arg = format!("PREFIX={}", prefix.display());
    run(Command::new("make")
        .args([
            "-s",
            "-C",
            "examples-c",
            "install",
            "LIBDIR=../target/debug",
            &prefix_arg,
        ])
        .current_dir(root));
    let pc_path = prefix.join("lib/pkgconfig");
    let flags = run(Command::new("pkg-config")
        .args(["--cflags", "--libs", "apiretry"])
        .env("PKG_CONFIG_PATH", &pc_path));
    let binary = prefix.join("upload");
    let mut cc = Command::new("cc");
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&binary)
        .arg(format!("{root}/examples-c/upload.c"))
        .args(flags.split_whitespace());
    run(&mut cc);

    let server = MockServer::start().unwrap();
    server.script(
        "POST",
        "/assets/:id/children",
        [Reply::json(201, r#"{"id": "a1"}"#)],
    );
    server.script(
        "PUT",
        "/upload/chunk/:n",
        [
            Reply::aws(503, "SlowDown", "Please reduce your request rate."),
            Reply::aws(500, "InternalError", "We encountered an internal error."),
            Reply::status(200),
        ],
    );
    let file = prefix.join("clip.mov");
    std::fs::write(&file, vec![7u8; 200 * 1024]).unwrap();
    let output = run(Command::new(&binary)
        .arg(server.url())
        .arg(&file)
        .arg("65536")
        .env("LD_LIBRARY_PATH", prefix.join("lib")));
    println!("{output}");
    for want in [
        "rate_limited (status 503), retrying",
        "server_error (status 500), retrying",
        "uploaded 4 chunks",
    ] {
        assert!(output.contains(want), "missing {want:?} in:\n{output}");
    }
    let chunks: Vec<u64> = server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.body_len)
        .collect();
    assert_eq!(
        chunks,
        [65536, 65536, 65536, 65536, 65536, 8192],
        "3 tries of chunk 1, then one each"
    );

    // A paused channel: nothing is uploaded.
    server.script(
        "POST",
        "/assets/:id/children",
        [Reply::detailed(409, "Channel Paused", "paused")],
    );
    server.clear_requests();
    let out = Command::new(&binary)
        .arg(server.url())
        .arg(&file)
        .env("LD_LIBRARY_PATH", prefix.join("lib"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("channel paused"), "{text}");
    assert!(server.requests().iter().all(|r| r.method != "PUT"));
    let _ = std::fs::remove_dir_all(&prefix);
}

/// The header compiles as C11 and as C++17 with every warning an error.
#[test]
fn header_compiles_as_c11_and_cpp17() {
    let root = env!("CARGO_MANIFEST_DIR");
    let header = format!("{root}/include/apiretry.h");
    for (compiler, lang, std) in [("cc", "c", "-std=c11"), ("c++", "c++", "-std=c++17")] {
        run(Command::new(compiler)
            .args([
                "-x",
                lang,
                std,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-fsyntax-only",
            ])
            .arg(&header));
    }
}
