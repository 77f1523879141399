//! The committed C header equals what cbindgen generates from src/ffi/.
//! `APIRETRY_BLESS=1 cargo test --test header` rewrites it.

#[test]
fn committed_header_matches_the_code() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut config =
        cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).expect("cbindgen.toml");
    // Macros from the package version and the C API's constants: cbindgen
    // exports no Rust constants (the crate's others must stay Rust).
    assert_eq!(
        apiretry::ffi::client::request::APIRETRY_LENGTH_UNKNOWN,
        u64::MAX
    );
    let number = apiretry::ffi::version::apiretry_version_number();
    config.after_includes = Some(format!(
        "\n// The version this header belongs to (the library it loaded says its own:\n\
         // `apiretry_version_number()`).\n\
         #define APIRETRY_VERSION \"{}\"\n\
         #define APIRETRY_VERSION_MAJOR {}\n\
         #define APIRETRY_VERSION_MINOR {}\n\
         #define APIRETRY_VERSION_PATCH {}\n\
         #define APIRETRY_VERSION_NUMBER {number}\n\n\
         // For `apiretry_request_set_body_reader` and `_set_body_file`: the\n\
         // length is not known / the rest of the file.\n\
         #define APIRETRY_LENGTH_UNKNOWN UINT64_MAX",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    ));
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = format!("{dir}/include/apiretry.h");
    if std::env::var_os("APIRETRY_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/apiretry.h is out of date: run `APIRETRY_BLESS=1 cargo test --test header` and commit it"
    );
}
