//! Gives the C shared library a SONAME with the major version
//! (`libapiretry.so.0`), so that programs keep loading a compatible
//! library when it is upgraded in place; and leaves a link of that name
//! beside the library in the build tree (`target/<profile>/`), so that a
//! program linked there (`-L target/release -lapiretry`) finds at run time
//! the file its SONAME names.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    let soname = format!("libapiretry.so.{major}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    // OUT_DIR is <target>/<profile>/build/apiretry-<hash>/out, the library
    // lands in <target>/<profile>. The link is relative: the tree can move.
    // Best effort: a read-only or unusual layout only loses the convenience.
    let out = std::env::var("OUT_DIR").unwrap_or_default();
    if let Some(dir) = Path::new(&out).ancestors().nth(3) {
        let link = dir.join(&soname);
        if std::fs::symlink_metadata(&link).is_err() {
            #[cfg(unix)]
            let _ = std::os::unix::fs::symlink("libapiretry.so", &link);
        }
    }
}
