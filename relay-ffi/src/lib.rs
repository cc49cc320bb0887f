//! The C ABI of the relay (`include/relay.h`). This first version exports only the library
//! version; the engine, configuration and sans-IO helpers follow.
//!
//! Conventions (see the header): prefix `relay_`, panics never cross the boundary, strings
//! returned are static and NUL-terminated unless a length is given.
#![allow(unsafe_code)] // `#[unsafe(no_mangle)]` exports; all unsafe stays in this crate.

use std::ffi::c_char;

/// The library version, e.g. `"0.1.0"`: a static NUL-terminated string; never free it.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn relay_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: relay_version returns a pointer to a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(relay_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
