//! The C harness (examples-c/) against the static and the shared library,
//! the shared one under valgrind (0 errors, 0 leaks) when valgrind is there.
//! With the `mock` feature, each run gets a freshly scripted mock server.

#[cfg(all(feature = "mock", target_os = "linux"))]
mod support;

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
    // An upload that fails once, then succeeds (chunks, and test_streams).
    let once_then_ok = || {
        [
            Reply::aws(500, "InternalError", "try again"),
            Reply::status(200),
        ]
    };
    server.script("PUT", "/chunk/:n", once_then_ok());
    // The C++ upload's parts: ETags "p1", "p2", "p3".
    for n in 1..=3 {
        let etag = format!("\"p{n}\"");
        server.script(
            "PUT",
            &format!("/parts/{n}"),
            [Reply::status(200).header("ETag", &etag)],
        );
    }
    server.script("GET", "/unavailable", [Reply::status(503)]);
    // Seed 001's 8 attempts on a fresh client (test_fleet_safe).
    let mut flaky: Vec<Reply> = (0..6).map(|_| Reply::status(503)).collect();
    flaky.push(Reply::json(200, "{}"));
    server.script("GET", "/flaky-seven", flaky);
    // A download whose link goes silent after 1000 bytes (test_stall).
    server.script(
        "GET",
        "/stalled-download",
        [Reply::huge(200, 1 << 20).stalled(1000)],
    );
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
    // The learned rate (test_learned_rate): one throttle, then a success.
    server.script(
        "GET",
        "/throttled",
        [Reply::simple(429, "slow_down"), Reply::json(200, "{}")],
    );
    // Streams (test_streams): a 500 before each upload's success, a
    // download cut off midway, then whole.
    server.script("PUT", "/stream/1", once_then_ok());
    server.script("PUT", "/stream/2", [Reply::status(200)]);
    let letters: Vec<u8> = (0..20_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    server.script(
        "GET",
        "/download",
        [
            Reply::status(200)
                .body_bytes(letters.clone())
                .truncated(7_000),
            Reply::status(200).body_bytes(letters),
        ],
    );
    cmd.env("APIRETRY_MOCK_URL", server.url());
    server
}

/// The harness's streamed uploads arrived byte for byte: a 40,000-byte
/// chunk twice, a 5,000-byte file range, then the file's last 10,000 bytes.
#[cfg(feature = "mock")]
fn check_streams(server: &apiretry::mock::MockServer, binary: &str) {
    let chunk: Vec<u8> = (0..40_000usize).map(|i| (i * 7 % 251) as u8).collect();
    let bodies: Vec<(String, Vec<u8>)> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/stream/") && r.status.is_some())
        .map(|r| (r.path.clone(), r.body.clone()))
        .collect();
    let want = [
        ("/stream/1", &chunk[..]),
        ("/stream/1", &chunk[..]),
        ("/stream/2", &chunk[1000..6000]),
        ("/stream/2", &chunk[30_000..]),
    ];
    let want: Vec<(String, Vec<u8>)> = want
        .iter()
        .map(|(p, b)| (p.to_string(), b.to_vec()))
        .collect();
    assert!(bodies == want, "{binary}: streamed bodies differ");
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

/// Another target the C harness can be built for and run on, under
/// qemu-user: `APIRETRY_C_TARGET=aarch64-unknown-linux-gnu` (or
/// `armv7-unknown-linux-gnueabihf`), as `.ci/arm` does; armv5te, mipsel and
/// the musl targets against a library built elsewhere, as `.ci/platforms`
/// does. The mock servers stay on the host: the harness reaches them over
/// loopback.
struct Cross {
    triple: String,
    /// The C compiler: `APIRETRY_C_CC` when set, else the target's known one.
    cc: String,
    /// None: the host runs the programs itself (x86_64 musl).
    qemu: Option<&'static str>,
    sysroot: &'static str,
    /// Linked fully statically, the one program (musl): what a static
    /// library needs beside the C library, its unwinder.
    fully_static: bool,
}

fn cross() -> Option<Cross> {
    let triple = std::env::var("APIRETRY_C_TARGET").ok()?;
    let (cc, qemu, sysroot) = match triple.as_str() {
        "aarch64-unknown-linux-gnu" => (
            "aarch64-linux-gnu-gcc",
            Some("qemu-aarch64"),
            "/usr/aarch64-linux-gnu",
        ),
        "armv7-unknown-linux-gnueabihf" => (
            "arm-linux-gnueabihf-gcc",
            Some("qemu-arm"),
            "/usr/arm-linux-gnueabihf",
        ),
        // No 64-bit atomics (std built by nightly).
        "armv5te-unknown-linux-gnueabi" => (
            "arm-linux-gnueabi-gcc",
            Some("qemu-arm"),
            "/usr/arm-linux-gnueabi",
        ),
        "mipsel-unknown-linux-gnu" => (
            "mipsel-linux-gnu-gcc",
            Some("qemu-mipsel"),
            "/usr/mipsel-linux-gnu",
        ),
        // Static programs: no loader, no sysroot.
        "x86_64-unknown-linux-musl" => ("musl-gcc", None, "/"),
        "aarch64-unknown-linux-musl" => (
            "zig cc -target aarch64-linux-musl",
            Some("qemu-aarch64"),
            "/",
        ),
        other => panic!("APIRETRY_C_TARGET={other}: no cross compiler known for it"),
    };
    Some(Cross {
        fully_static: triple.ends_with("-musl"),
        cc: std::env::var("APIRETRY_C_CC").unwrap_or_else(|_| cc.to_owned()),
        triple,
        qemu,
        sysroot,
    })
}

impl Cross {
    /// Builds the library for the target and the harness with its compiler;
    /// the programs' folder.
    fn build(&self) -> String {
        let root = env!("CARGO_MANIFEST_DIR");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run(Command::new(cargo)
            .args(["build", "--lib", "--quiet", "--target", &self.triple])
            .current_dir(root));
        self.harness(&format!("../target/{}/debug", self.triple), "cross")
    }

    /// The harness against a library built elsewhere (`APIRETRY_C_LIBDIR`:
    /// the device and platform builds), in `examples-c/{folder}/{triple}`;
    /// that folder.
    fn harness(&self, libdir: &str, folder: &str) -> String {
        let root = env!("CARGO_MANIFEST_DIR");
        let dir = format!("{folder}/{}", self.triple);
        let mut make = Command::new("make");
        make.args(["-s", "-B", "-C", "examples-c"])
            .arg(format!("CC={}", self.cc))
            .arg(format!("LIBDIR={libdir}"))
            .arg(format!("HARNESS={dir}"));
        if self.fully_static {
            // Rust's own unwinder for the target, as rustc links it into a
            // musl program (the C compiler's libgcc_eh is glibc's).
            let sysroot = String::from_utf8(
                Command::new("rustc")
                    .args(["--print", "sysroot"])
                    .output()
                    .unwrap()
                    .stdout,
            )
            .unwrap();
            let unwind = format!(
                "{}/lib/rustlib/{}/lib/self-contained/libunwind.a",
                sysroot.trim(),
                self.triple
            );
            make.arg("harness-static")
                .arg(format!("NATIVE=-static {unwind}"));
        } else {
            make.arg("harness");
        }
        run(make.current_dir(root));
        format!("{root}/examples-c/{dir}")
    }

    fn binaries(&self) -> &'static [&'static str] {
        if self.fully_static {
            &["test_harness-static"]
        } else {
            &["test_harness-static", "test_harness-shared"]
        }
    }

    fn command(&self, program: &std::path::Path) -> Command {
        let Some(qemu) = self.qemu else {
            return Command::new(program);
        };
        let mut c = Command::new(qemu);
        c.args(["-L", self.sysroot]).arg(program);
        c
    }
}

#[test]
fn c_harness_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let cross = cross();
    let native = || Cross {
        triple: "native".into(),
        cc: "cc".into(),
        qemu: None,
        sysroot: "/",
        fully_static: false,
    };
    let dir = match (std::env::var("APIRETRY_C_LIBDIR").ok(), &cross) {
        (Some(lib), Some(c)) => c.harness(&lib, "device"),
        (Some(lib), None) => native().harness(&lib, "device"),
        (None, Some(c)) => c.build(),
        (None, None) => {
            build();
            format!("{root}/examples-c")
        }
    };
    let binaries = cross.as_ref().map_or(native().binaries(), Cross::binaries);
    for &binary in binaries {
        let path = std::path::PathBuf::from(format!("{dir}/{binary}"));
        // The static one without valgrind: the same code, twice as fast.
        let mut cmd = match (&cross, binary.ends_with("shared")) {
            (Some(c), _) => c.command(&path),
            (None, true) => checked(&path),
            (None, false) => Command::new(&path),
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
            check_streams(&server, binary);
        }
    }
}

/// `make install` of the debug libraries into a fresh temporary prefix.
#[cfg(feature = "mock")]
fn install(name: &str) -> std::path::PathBuf {
    let prefix = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    run(Command::new("make")
        .args([
            "-s",
            "-C",
            "examples-c",
            "install",
            "LIBDIR=../target/debug",
        ])
        .arg(format!("PREFIX={}", prefix.display()))
        .current_dir(env!("CARGO_MANIFEST_DIR")));
    prefix
}

/// `make install` into a temporary prefix, then the upload example built with
/// nothing but `pkg-config --cflags --libs apiretry`, uploading a file in
/// parts (two in flight, a journal) to the mock while S3 answers SlowDown
/// and InternalError; then, under valgrind, an upload whose third part is
/// refused for good, restarted from its journal: the rerun sends only the
/// parts not done.
#[cfg(feature = "mock")]
#[test]
fn upload_example_built_with_pkg_config() {
    use apiretry::mock::{MockServer, Reply};
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let prefix = install("apiretry-prefix");
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
    let ok = || Reply::status(200).header("ETag", "\"e\"");
    server.script(
        "PUT",
        "/upload/chunk/:n",
        [
            Reply::aws(503, "SlowDown", "Please reduce your request rate."),
            Reply::aws(500, "InternalError", "We encountered an internal error."),
            ok(),
        ],
    );
    let file = prefix.join("clip.mov");
    std::fs::write(&file, vec![7u8; 200 * 1024]).unwrap();
    let upload = |base: &str, journal: &str| {
        let mut cmd = checked(&binary);
        cmd.arg(format!("{}{base}", server.url()))
            .arg(&file)
            .arg(prefix.join(journal))
            .arg("65536")
            .env("LD_LIBRARY_PATH", prefix.join("lib"));
        cmd
    };
    let output = run(&mut upload("", "first.journal"));
    println!("{output}");
    for want in [
        "rate_limited (status 503), retrying",
        "server_error (status 500), retrying",
        "uploaded 4 parts (0 found done in the journal)",
    ] {
        assert!(output.contains(want), "missing {want:?} in:\n{output}");
    }
    let mut chunks: Vec<u64> = server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.body_len)
        .collect();
    chunks.sort_unstable();
    assert_eq!(
        chunks,
        [8192, 65536, 65536, 65536, 65536, 65536],
        "two parts' first tries refused, then one each"
    );

    // Part 3 refused for good: exit 1; the rerun sends only what is not done.
    // (Another camera's base URL: its part 3 route comes before the others.)
    server.script(
        "POST",
        "/cam2/assets/:id/children",
        [Reply::json(201, "{}")],
    );
    server.script("PUT", "/cam2/upload/chunk/3", [Reply::status(403)]);
    server.script("PUT", "/cam2/upload/chunk/:n", [ok()]);
    server.clear_requests();
    let out = upload("/cam2", "second.journal").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    server.script("PUT", "/cam2/upload/chunk/3", [ok()]);
    server.clear_requests();
    let output = run(&mut upload("/cam2", "second.journal"));
    let resent: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.path.clone())
        .collect();
    let resumed = 4 - resent.len();
    assert!(
        resumed >= 2 && resent.contains(&"/cam2/upload/chunk/3".to_owned()),
        "{resent:?}"
    );
    let want = format!("uploaded 4 parts ({resumed} found done in the journal)");
    assert!(output.contains(&want), "missing {want:?} in:\n{output}");

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
        .arg(prefix.join("paused.journal"))
        .env("LD_LIBRARY_PATH", prefix.join("lib"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("channel paused"), "{text}");
    assert!(server.requests().iter().all(|r| r.method != "PUT"));
    let _ = std::fs::remove_dir_all(&prefix);
}

/// Under valgrind when it is there (0 errors, no definite or indirect leak).
fn checked(program: &std::path::Path) -> Command {
    let root = env!("CARGO_MANIFEST_DIR");
    let valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !valgrind {
        return Command::new(program);
    }
    let mut c = Command::new("valgrind");
    c.arg(format!("--suppressions={root}/examples-c/valgrind.supp"));
    c.args([
        "-q",
        "--error-exitcode=1",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,indirect",
    ]);
    c.arg(program);
    c
}

/// The C++ wrapper (include/apiretry.hpp), built by the Makefile with
/// -std=c++17 -Wall -Wextra -Wpedantic -Werror, against the mock.
#[cfg(feature = "mock")]
#[test]
fn cpp_example_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let mut cmd = checked(std::path::Path::new(&format!(
        "{root}/examples-c/cpp_example"
    )));
    let server = mock(&mut cmd);
    let pairing = pairing_mock(Some(2), None);
    let file =
        std::env::temp_dir().join(format!("apiretry-cpp-tokens-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let output = run(cmd.arg(server.url()).arg(pairing.url()).arg(&file));
    assert!(
        output.contains("cpp_example: all passed") && !output.contains("skipped"),
        "{output}"
    );
    let _ = std::fs::remove_file(&file);
}

/// A CMake project finds the installed package (`find_package(apiretry)`),
/// links the imported target, and its program runs against the mock with
/// the library found through its SONAME.
#[cfg(feature = "mock")]
#[test]
fn cmake_consumer_finds_the_installed_package() {
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let prefix = install("apiretry-cmake");
    let soname = run(Command::new("readelf")
        .arg("-d")
        .arg(prefix.join("lib/libapiretry.so")));
    assert!(
        soname.contains("Library soname: [libapiretry.so.0]"),
        "{soname}"
    );
    let build_dir = prefix.join("build");
    run(Command::new("cmake")
        .arg("-S")
        .arg(format!("{root}/examples-c/cmake-consumer"))
        .arg("-B")
        .arg(&build_dir)
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display())));
    run(Command::new("cmake").arg("--build").arg(&build_dir));
    let program = build_dir.join("cpp_example");
    let needed = run(Command::new("readelf").arg("-d").arg(&program));
    assert!(
        needed.contains("Shared library: [libapiretry.so.0]"),
        "{needed}"
    );
    let mut cmd = Command::new(&program);
    let server = mock(&mut cmd);
    let output = run(cmd
        .arg(server.url())
        .env("LD_LIBRARY_PATH", prefix.join("lib")));
    assert!(output.contains("cpp_example: all passed"), "{output}");
    let _ = std::fs::remove_dir_all(&prefix);
}

/// What an upload program printed, its exit code, and the uploads the
/// server saw (method, path, body length), health probes left out.
type UploadRun = (Vec<String>, Option<i32>, Vec<(String, String, u64)>);

#[cfg(feature = "mock")]
fn upload_run(
    program: &str,
    server: &apiretry::mock::MockServer,
    file: &std::path::Path,
) -> UploadRun {
    let root = env!("CARGO_MANIFEST_DIR");
    server.clear_requests();
    let out = Command::new(format!("{root}/examples-c/{program}"))
        .arg(server.url())
        .arg(file)
        .arg("65536")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The waits are jittered and the failure JSON names each stack's own
    // message: compare what was decided, not how long or how it was worded.
    let lines = text
        .lines()
        .filter(|l| !l.starts_with("  failed:"))
        .map(|l| l.split(", retrying in").next().unwrap_or(l).to_owned())
        .collect();
    let sent = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" || r.method == "PUT")
        .map(|r| (r.method, r.path, r.body_len))
        .collect();
    (lines, out.status.code(), sent)
}

/// examples-c/curl_upload.c (libcurl, apiretry's call handle for the
/// decisions) against examples-c/send_upload.c (apiretry_client_send), on the
/// same scenarios: the same attempts, decisions, exit code and requests.
#[cfg(feature = "mock")]
#[test]
fn curl_upload_decides_as_client_send() {
    use apiretry::mock::{MockServer, Reply};
    build();
    let file = std::env::temp_dir().join(format!("apiretry-curl-{}.mov", std::process::id()));
    std::fs::write(&file, vec![3u8; 150_000]).unwrap();
    let created = || Reply::json(201, r#"{"id": "a1"}"#);
    let paused = Reply::detailed(409, "Channel Paused", "The channel is paused.");
    let rows: [(&str, Vec<Reply>, Vec<Reply>, i32); 4] = [
        (
            "SlowDown, then InternalError",
            vec![created()],
            vec![
                Reply::aws(503, "SlowDown", "Please reduce your request rate."),
                Reply::aws(500, "InternalError", "We encountered an internal error."),
                Reply::status(200),
            ],
            0,
        ),
        (
            "an outage: connections reset, then closed before any header",
            vec![Reply::reset(), Reply::close_before_headers(), created()],
            vec![Reply::status(200)],
            0,
        ),
        ("channel paused", vec![paused], vec![Reply::status(200)], 2),
        (
            "S3 refuses the signature",
            vec![created()],
            vec![Reply::aws(403, "SignatureDoesNotMatch", "bad signature")],
            1,
        ),
    ];
    for (name, post, put, code) in rows {
        let server = MockServer::start().unwrap();
        let script = || {
            server.script("POST", "/assets/:id/children", post.clone());
            server.script("PUT", "/upload/chunk/:n", put.clone());
        };
        script();
        let (client_lines, client_code, client_sent) = upload_run("send_upload", &server, &file);
        script();
        let (curl_lines, curl_code, curl_sent) = upload_run("curl_upload", &server, &file);
        println!("{name}:\n{}", curl_lines.join("\n"));
        assert_eq!(client_code, Some(code), "{name}: {client_lines:?}");
        assert_eq!(curl_code, client_code, "{name}");
        assert_eq!(curl_lines, client_lines, "{name}");
        assert_eq!(curl_sent, client_sent, "{name}");
    }
    let _ = std::fs::remove_file(&file);
}

/// examples-c/stream_upload.c: a file in 40,000-byte chunks through the read
/// callback, the second chunk failing twice mid-way; every attempt arrives
/// byte for byte (the mock keeps the first 64 KiB of each body).
#[cfg(feature = "mock")]
#[test]
fn stream_upload_sends_each_chunk_byte_exact() {
    use apiretry::mock::{MockServer, Reply};
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let data: Vec<u8> = (0..150_000usize).map(|i| (i * 31 % 253) as u8).collect();
    let file = std::env::temp_dir().join(format!("apiretry-stream-{}.mov", std::process::id()));
    std::fs::write(&file, &data).unwrap();
    let server = MockServer::start().unwrap();
    for n in 1..=4 {
        server.script("PUT", &format!("/upload/chunk/{n}"), [Reply::status(200)]);
    }
    server.script(
        "PUT",
        "/upload/chunk/2",
        [
            Reply::aws(500, "InternalError", "again"),
            Reply::aws(503, "SlowDown", "slow down"),
            Reply::status(200),
        ],
    );
    let mut cmd = checked(std::path::Path::new(&format!(
        "{root}/examples-c/stream_upload"
    )));
    let output = run(cmd.arg(server.url()).arg(&file).arg("40000"));
    assert!(output.contains("uploaded 4 chunks"), "{output}");
    assert!(output.contains("sent in 3 attempt(s)"), "{output}");
    let puts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    let mut arrivals = Vec::new();
    for r in &puts {
        let n: usize = r.path.rsplit('/').next().unwrap().parse().unwrap();
        let start = (n - 1) * 40_000;
        let want = &data[start..(start + 40_000).min(data.len())];
        assert_eq!(r.header("content-length"), Some(&*want.len().to_string()));
        assert!(r.body == want, "chunk {n}: the bytes differ");
        arrivals.push(n);
    }
    assert_eq!(arrivals, [1, 2, 2, 2, 3, 4]);
    let _ = std::fs::remove_file(&file);
}

/// The header compiles as C11 and as C++17 with every warning an error.
#[test]
fn header_compiles_as_c11_and_cpp17() {
    let root = env!("CARGO_MANIFEST_DIR");
    let header = format!("{root}/include/apiretry.h");
    let hpp = format!("{root}/include/apiretry.hpp");
    // The C++ wrapper also builds without exceptions, as firmware often is.
    for (compiler, lang, flags, file) in [
        ("cc", "c", &["-std=c11"][..], &header),
        ("c++", "c++", &["-std=c++17"], &header),
        ("c++", "c++", &["-std=c++17"], &hpp),
        ("c++", "c++", &["-std=c++17", "-fno-exceptions"], &hpp),
    ] {
        run(Command::new(compiler)
            .args(["-x", lang])
            .args(flags)
            .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only"])
            .arg(file));
    }
}

/// A C program linked in the build tree, as the README shows (`-L
/// target/<profile> -lapiretry` with that directory in the rpath), starts:
/// the build leaves `libapiretry.so.0`, the name the SONAME gives the
/// loader, beside `libapiretry.so`.
#[test]
fn in_tree_link_as_the_readme_says() {
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let libdir = format!("{root}/target/debug");
    let link = std::path::Path::new(&libdir).join("libapiretry.so.0");
    let target = std::fs::read_link(&link).unwrap_or_else(|e| panic!("{link:?}: {e}"));
    assert_eq!(target, std::path::Path::new("libapiretry.so"));
    let dir = std::env::temp_dir().join(format!("apiretry-in-tree-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("app.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\n#include \"apiretry.h\"\n\
         int main(void) {\n  printf(\"%s\\n\", apiretry_version());\n  \
         return apiretry_version_number() == APIRETRY_VERSION_NUMBER ? 0 : 1;\n}\n",
    )
    .unwrap();
    let app = dir.join("app");
    run(Command::new("cc")
        .arg("-o")
        .arg(&app)
        .arg(&source)
        .arg(format!("-I{root}/include"))
        .arg(format!("-L{libdir}"))
        .arg("-lapiretry")
        .arg(format!("-Wl,-rpath,{libdir}")));
    let out = run(&mut Command::new(&app));
    assert!(out.contains("0.1.0"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Through the C API, 64 MiB up (from a file) and down (into a file), and a
/// 256 MiB file in 64 MiB parts, 4 in flight (`apiretry_upload_*`), peak
/// within 4 MiB of the RSS of one small call, as does a client of 16
/// threads making small calls (examples-c/footprint.c; figures in
/// BENCHMARKS.md).
#[cfg(all(feature = "mock", target_os = "linux"))]
#[test]
fn c_api_transfers_stay_small() {
    use apiretry::mock::{MockServer, Reply};
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    const SIZE: usize = 64 << 20;
    let dir = std::env::temp_dir().join(format!("apiretry-footprint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let up = dir.join("up.bin");
    std::fs::write(&up, vec![3u8; SIZE]).unwrap();
    let down = dir.join("down.bin");
    let server = MockServer::start().unwrap();
    server.script("GET", "/ok", [Reply::json(200, "{}")]);
    server.script("PUT", "/upload", [Reply::status(200)]);
    server.script("GET", "/download", [Reply::huge(200, SIZE)]);
    for n in 1..=4 {
        server.script(
            "PUT",
            &format!("/parts/{n}"),
            [Reply::status(200).header("ETag", "\"e\"")],
        );
    }
    let big = dir.join("big.bin");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(4 * SIZE as u64).unwrap(); // 256 MiB, sparse
    let program = format!("{root}/examples-c/footprint");
    let run = |args: &[&str]| {
        let (out, peak) = support::peak_rss(Command::new(&program).arg(server.url()).args(args));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && text.contains("ok"),
            "{args:?}: {text}"
        );
        peak
    };
    let idle = run(&["idle"]);
    let threads = run(&["threads"]);
    let upload = run(&["up", up.to_str().unwrap()]);
    let download = run(&["down", down.to_str().unwrap()]);
    assert_eq!(std::fs::metadata(&down).unwrap().len(), SIZE as u64);
    let parts = run(&["parts", big.to_str().unwrap()]);
    let uploads: Vec<u64> = server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.body_len)
        .collect();
    assert_eq!(uploads, [SIZE as u64; 5]);
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    eprintln!(
        "C API peak RSS: one call {:.1} MiB, 16 threads {:.1} MiB, 64 MiB up {:.1} MiB, 64 MiB down {:.1} MiB, 256 MiB in 4 parts at once {:.1} MiB",
        mib(idle),
        mib(threads),
        mib(upload),
        mib(download),
        mib(parts)
    );
    for (what, peak) in [("upload", upload), ("download", download), ("parts", parts)] {
        assert!(
            peak < idle + (4 << 20),
            "{what}: {:.1} MiB against {:.1} MiB for one call: the body was buffered",
            mib(peak),
            mib(idle)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A mock with the RFC 8628 authorization server the C pairing programs
/// use: the user approves at the code's `approve_at` poll (never: `None`),
/// the API takes the newest access token issued.
#[cfg(feature = "mock")]
fn pairing_mock(approve_at: Option<u32>, secret: Option<&str>) -> apiretry::mock::MockServer {
    use apiretry::mock::{DeviceFlow, MockServer, Reply};
    let server = MockServer::start().unwrap();
    server.device_flow(DeviceFlow {
        interval: 1,
        approve_after_polls: approve_at,
        client_secret: secret.map(str::to_owned),
        ..DeviceFlow::default()
    });
    server.require_token(Some("none yet"));
    server.script("GET", "/v2/me", [Reply::json(200, "{}")]);
    server.script("POST", "/v2/assets", [Reply::json(201, "{}")]);
    server
}

/// examples-c/pairing_test.c under valgrind: pairing with store callbacks,
/// a restart from the store, refresh, a spent refresh token, cancelling
/// from another thread while polling, bad arguments.
#[cfg(feature = "mock")]
#[test]
fn c_pairing_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let (approving, never) = (
        pairing_mock(Some(2), Some("s&cr=t +%")),
        pairing_mock(None, Some("s&cr=t +%")),
    );
    let mut cmd = checked(std::path::Path::new(&format!(
        "{root}/examples-c/pairing_test"
    )));
    cmd.env("APIRETRY_MOCK_PAIR_URL", approving.url())
        .env("APIRETRY_MOCK_PAIR_NEVER_URL", never.url());
    let output = run(&mut cmd);
    assert!(
        output.contains(" passed, 0 failed") && !output.contains("skipped"),
        "{output}"
    );
    for r in approving.requests().iter().chain(&never.requests()) {
        assert_eq!(r.header("x-client-version"), Some("2.0.0"), "{}", r.path);
        if r.path.starts_with("/v2/auth") {
            assert!(
                r.header("authorization").unwrap().starts_with("Basic "),
                "{}",
                r.path
            );
        }
    }
    // A pending poll, then the spent refresh token refused once: not
    // retried, and the second refresh failed fast without a request.
    let refused = approving
        .requests()
        .iter()
        .filter(|r| r.status == Some(400) && r.path == "/v2/auth/token")
        .count();
    assert_eq!(refused, 2);
}

/// examples-c/overload_test.c under valgrind: a route refusing four times
/// closes the overload gate; a request that does not wait is held back
/// unsent; one that waits is held until a trial is accepted. Its attempt
/// events equal the requests the server received.
#[cfg(feature = "mock")]
#[test]
fn c_overload_gate_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    use apiretry::mock::{MockServer, Reply};
    build();
    let server = MockServer::start().unwrap();
    let mut shed = vec![Reply::json(503, "{}"); 4];
    shed.push(Reply::json(200, "{}"));
    server.script("GET", "/shed", shed);
    server.script("GET", "/ok", [Reply::json(200, "{}")]);
    let mut cmd = checked(std::path::Path::new(&format!(
        "{root}/examples-c/overload_test"
    )));
    cmd.env("APIRETRY_MOCK_URL", server.url());
    let output = run(&mut cmd);
    assert!(output.contains(" passed, 0 failed"), "{output}");
    let attempts: usize = output
        .lines()
        .find_map(|l| l.strip_prefix("overload attempts: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{output}"));
    assert_eq!(attempts, server.requests().len(), "{output}");
}

/// examples-c/growing_test.c under valgrind: a clip uploaded while a C
/// thread writes it, finished from that thread during the run; the parts
/// the server received are the file, byte for byte, each with Frame.io's
/// signed headers.
#[cfg(feature = "mock")]
#[test]
fn c_growing_upload_is_exact() {
    use apiretry::mock::{MockServer, Reply};
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let server = MockServer::start().unwrap();
    for n in 1..=16 {
        let etag = format!("\"g{n}\"");
        server.script(
            "PUT",
            &format!("/g/{n}"),
            [Reply::status(200).header("ETag", &etag)],
        );
    }
    let mut cmd = checked(std::path::Path::new(&format!(
        "{root}/examples-c/growing_test"
    )));
    cmd.env("APIRETRY_MOCK_URL", server.url());
    let output = run(&mut cmd);
    assert!(output.contains(" passed, 0 failed"), "{output}");
    let size: usize = output
        .lines()
        .find_map(|l| l.strip_prefix("growing file size: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{output}"));
    let mut puts = server.requests();
    puts.sort_by_key(|r| r.path.trim_start_matches("/g/").parse::<u32>().unwrap_or(0));
    let got: Vec<u8> = puts.iter().flat_map(|r| r.body.clone()).collect();
    let want: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    assert!(got == want, "{} bytes received of {size}", got.len());
    for r in &puts {
        assert_eq!(r.header("x-amz-acl"), Some("private"), "{}", r.path);
        assert_eq!(
            r.header("content-type"),
            Some("video/quicktime"),
            "{}",
            r.path
        );
    }
}

/// examples-c/c2c_agent.c under valgrind against the mock's Frame.io
/// device side: each clip given reaches it, one asset each, playable, its
/// bytes the file's; a missing clip is said and holds nothing up; the
/// firmware's version goes on every call.
#[cfg(feature = "mock")]
#[test]
fn c2c_agent_uploads_every_clip() {
    use apiretry::mock::MockServer;
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let server = MockServer::start().unwrap();
    server.c2c_part_target(6 << 20);
    let dir = std::env::temp_dir().join(format!("apiretry-c2c-agent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let clips: Vec<std::path::PathBuf> = [100_000usize, 13 << 20]
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let path = dir.join(format!("A00{i}.mov"));
            std::fs::write(&path, vec![i as u8 + 1; size]).unwrap();
            path
        })
        .collect();
    let mut cmd = checked(std::path::Path::new(&format!(
        "{root}/examples-c/c2c_agent"
    )));
    cmd.arg(server.url()).arg(dir.join("state"));
    cmd.args(&clips).arg(dir.join("missing.mov"));
    let output = run(&mut cmd);
    assert!(output.contains("every clip is over"), "{output}");
    assert!(output.contains("missing.mov: not queued"), "{output}");
    let assets = server.c2c_assets();
    assert_eq!(assets.len(), 2, "{assets:?}");
    assert!(assets.iter().all(|a| a.playable()), "{assets:?}");
    assert_eq!(assets[1].parts.len(), 2);
    for r in server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v2/"))
    {
        assert_eq!(r.header("x-client-version"), Some("1.4.2"), "{}", r.path);
    }
}

/// examples-c/links_test.c under valgrind: a call held while the server
/// resets every connection goes through within 0.5 s of the hint
/// (`apiretry_client_network_changed`) given once the server is back; the
/// program and this test keep step over its stdin and stdout.
#[cfg(feature = "mock")]
#[test]
fn c_network_change_hint_lets_a_held_call_through() {
    use apiretry::mock::{MockServer, Reply};
    use std::io::{BufRead, Write};
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let server = MockServer::start().unwrap();
    server.script("GET", "/x", [Reply::json(200, "{}")]);
    server.set_resetting(true);
    let mut cmd = checked(std::path::Path::new(&format!(
        "{root}/examples-c/links_test"
    )));
    cmd.env("APIRETRY_MOCK_URL", server.url())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "held", "{line}");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    server.set_resetting(false);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"back\n").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success() && rest.contains(" passed, 0 failed"),
        "{rest}"
    );
    eprintln!("{}", rest.lines().next().unwrap_or_default());
}

/// The README's pairing example (examples-c/pair.c): the first run pairs
/// and creates an asset; after a "restart" the second finds the tokens in
/// its file and pairs no more; when the API stops taking the access token,
/// the third refreshes by itself.
#[cfg(feature = "mock")]
#[test]
fn readme_pairing_example_survives_a_restart_and_refreshes() {
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let server = pairing_mock(Some(2), None);
    let dir = std::env::temp_dir().join(format!("apiretry-c-pair-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("tokens.json");
    let program = format!("{root}/examples-c/pair");
    let mut paths = Vec::new();
    for round in 0..3 {
        if round == 2 {
            server.require_token(Some("revoked"));
        }
        server.clear_requests();
        let out = run(Command::new(&program).arg(server.url()).arg(&store));
        paths.push(
            server
                .requests()
                .iter()
                .map(|r| format!("{} {:?}", r.path, r.status))
                .collect::<Vec<_>>(),
        );
        assert!(out.contains("asset created"), "round {round}: {out}");
        assert_eq!(out.contains("paired"), round == 0, "round {round}: {out}");
    }
    let ok = |p: &str, s: u16| format!("{p} Some({s})");
    assert_eq!(
        paths,
        [
            vec![
                ok("/v2/auth/device/code", 200),
                ok("/v2/auth/token", 400),
                ok("/v2/auth/token", 200),
                ok("/v2/assets", 201)
            ],
            vec![ok("/v2/assets", 201)],
            vec![
                ok("/v2/assets", 401),
                ok("/v2/auth/token", 200),
                ok("/v2/assets", 201)
            ],
        ]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// examples-c/classify.c (the C API guide's first example): a 429 with
/// Retry-After classified, and the rate learned from a throttle.
#[test]
fn classify_example_runs() {
    let root = env!("CARGO_MANIFEST_DIR");
    build();
    let out = run(&mut checked(std::path::Path::new(&format!(
        "{root}/examples-c/classify"
    ))));
    assert!(
        out.contains("rate_limited, retry yes, wait 3000 ms"),
        "{out}"
    );
    assert!(
        out.contains("not throttled: unpaced") && out.contains("paced at"),
        "{out}"
    );
}
