//! The library's version, for C programs that check what they loaded
//! against the header they were built with (`APIRETRY_VERSION_NUMBER`).

use std::ffi::c_char;

/// The version as `major * 1000000 + minor * 1000 + patch`.
const NUMBER: u32 = {
    const fn parse(s: &str) -> u32 {
        let b = s.as_bytes();
        let mut i = 0;
        let mut n = 0;
        while i < b.len() {
            n = n * 10 + (b[i] - b'0') as u32;
            i += 1;
        }
        n
    }
    parse(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000
        + parse(env!("CARGO_PKG_VERSION_MINOR")) * 1_000
        + parse(env!("CARGO_PKG_VERSION_PATCH"))
};

/// The library's version, e.g. "0.1.0": a static NUL-terminated string
/// that must not be freed.
#[no_mangle]
pub extern "C" fn apiretry_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The library's version as `major * 1000000 + minor * 1000 + patch`, to
/// compare with the header's `APIRETRY_VERSION_NUMBER`.
#[no_mangle]
pub extern "C" fn apiretry_version_number() -> u32 {
    NUMBER
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_number_is_the_package_version() {
        let v: Vec<u32> = env!("CARGO_PKG_VERSION")
            .split(['.', '-'])
            .take(3)
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(
            super::apiretry_version_number(),
            v[0] * 1_000_000 + v[1] * 1000 + v[2]
        );
    }
}
