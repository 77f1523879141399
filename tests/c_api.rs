//! The C harness (examples-c/) against the static and the shared library,
//! the shared one under valgrind (0 errors, 0 leaks) when valgrind is there.

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

#[test]
fn c_harness_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The static and shared libraries are not what `cargo test` builds.
    run(Command::new(cargo)
        .args(["build", "--lib", "--quiet"])
        .current_dir(root));
    let valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut make = Command::new("make");
    make.args(["-s", "-C", "examples-c", "test", "LIBDIR=../target/debug"])
        .current_dir(root);
    if valgrind {
        make.arg("VALGRIND=valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect");
    } else {
        eprintln!("valgrind not found: the harness runs without it");
    }
    let output = run(&mut make);
    println!("{output}");
    assert_eq!(output.matches(" passed, 0 failed").count(), 2, "{output}");
}
