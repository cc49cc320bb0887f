//! The C ABI of the relay (`include/relay.h`, generated from this crate by cbindgen).
//!
//! Conventions, after rustls-ffi: every name starts with `relay_` / `RELAY_`; objects are
//! opaque and come in `_new` / `_free` pairs (`_free(NULL)` is a no-op); the object a function
//! works on comes first, `const` pointers are only read, outputs come last and are written only
//! on success (`RELAY_RESULT_INSUFFICIENT_SIZE` writes the size needed to `*out_n`, nothing
//! else); bytes cross as pointer + length and are never NUL-terminated unless said; ownership
//! moves only through `T **out`; callbacks take `void *userdata` first. Every function returns
//! a [`relay_result`](result::relay_result) (or a documented plain value), catches panics
//! (`RELAY_RESULT_PANIC`) and checks pointers (`RELAY_RESULT_NULL_PARAMETER`). Thread-safety is
//! stated per function.
//!
//! The project's `unsafe` lives in two fenced places: this crate (the C boundary) and
//! `relay_core::relay::splice` (the `splice(2)` pass-through); every block names its invariant.
#![allow(unsafe_code)]
#![allow(non_camel_case_types)] // C names: `relay_engine`, `relay_result`, ...
#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

pub mod config;
pub mod engine;
pub mod events;
mod guard;
pub mod hls;
pub mod log;
// The library catches panics at the boundary, which needs unwinding; only the server binary may
// be built with `panic = "abort"` (the `router` profile, `-p relay-server`).
#[cfg(panic = "abort")]
compile_error!(
    "relay-ffi must be built with panic = \"unwind\" (build the router profile only for relay-server)"
);

pub mod result;

use std::ffi::c_char;

/// The library version, e.g. `"0.1.0"`: a static NUL-terminated string; never free it.
/// Thread-safe. The header's `RELAY_VERSION_*` macros give the version compiled against.
#[unsafe(no_mangle)]
pub extern "C" fn relay_version() -> *const c_char {
    const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => panic!("the version holds no NUL"),
    };
    guard::guard_or(c"".as_ptr(), || VERSION.as_ptr())
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
