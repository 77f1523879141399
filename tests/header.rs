//! The committed C header equals what cbindgen generates from src/ffi/.
//! `APIRETRY_BLESS=1 cargo test --test header` rewrites it.

#[test]
fn committed_header_matches_the_code() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config =
        cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).expect("cbindgen.toml");
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
