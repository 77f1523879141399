//! Gives the C shared library a SONAME with the major version
//! (`libapiretry.so.0`), so that programs keep loading a compatible
//! library when it is upgraded in place.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libapiretry.so.{major}");
    }
}
