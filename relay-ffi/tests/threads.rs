//! An engine's threads exist only while it runs: `relay_engine_new` starts none, and
//! `relay_engine_stop` joins every one it started (a test binary of its own, so no other test's
//! threads come and go meanwhile).

#![allow(unsafe_code)] // calling the C ABI is unsafe by nature; every call names its invariant.
#![cfg(target_os = "linux")]

use relay::config::*;
use relay::engine::*;
use relay::result::relay_result;
use std::ptr::null_mut;

/// Threads of this process, from /proc.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn stop_joins_every_engine_thread() {
    let before = threads();
    let mut cfg = null_mut();
    let mut engine = null_mut();
    let (listen, workers) = ("127.0.0.1:0", "3");
    // SAFETY: every pointer is a valid place or a live object made just before.
    unsafe {
        assert_eq!(relay_config_new(&mut cfg), relay_result::Ok);
        let set = |k: &str, v: &str| {
            relay_config_set(cfg, k.as_ptr().cast(), k.len(), v.as_ptr().cast(), v.len())
        };
        assert_eq!(set("listen", listen), relay_result::Ok);
        assert_eq!(set("threads", workers), relay_result::Ok);
        assert_eq!(relay_engine_new(cfg, &mut engine), relay_result::Ok);
        relay_config_free(cfg);
    }
    assert_eq!(threads(), before, "a new engine starts no thread");
    for _ in 0..3 {
        // SAFETY: `engine` is live.
        assert_eq!(unsafe { relay_engine_start(engine) }, relay_result::Ok);
        assert!(threads() >= before + 3, "three workers while running");
        // SAFETY: `engine` is live.
        assert_eq!(unsafe { relay_engine_stop(engine) }, relay_result::Ok);
        assert_eq!(threads(), before, "stop joined every engine thread");
    }
    // SAFETY: `engine` is live and not used afterwards.
    unsafe { relay_engine_free(engine) };
    assert_eq!(threads(), before);
}
