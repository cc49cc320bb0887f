//! The log callback (process-wide, so in a test binary of its own): lines arrive with level and
//! userdata, calls that would deadlock are refused from inside it, the level filters.

#![allow(unsafe_code)] // calling the C ABI is unsafe by nature; every call names its invariant.

use relay::config::*;
use relay::engine::*;
use relay::log::*;
use relay::result::relay_result;
use std::ffi::{c_char, c_void};
use std::ptr::null_mut;
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, Ordering};

#[derive(Default)]
struct Seen {
    lines: Mutex<Vec<(relay_log_level, String)>>,
    /// What calls made from inside the callback returned.
    reentry: Mutex<Vec<relay_result>>,
    engine: AtomicPtr<relay_engine>,
}

unsafe extern "C" fn collect(
    userdata: *mut c_void,
    level: relay_log_level,
    message: *const c_char,
    message_len: usize,
) {
    // SAFETY: `userdata` is the `Seen` the test registered, alive until the callback is reset;
    // `message` is valid for `message_len` bytes during this call.
    let (seen, message) = unsafe {
        (
            &*userdata.cast::<Seen>(),
            std::slice::from_raw_parts(message.cast::<u8>(), message_len),
        )
    };
    let line = String::from_utf8(message.to_vec()).unwrap();
    if line.contains("listening on") {
        let engine = seen.engine.load(Ordering::SeqCst);
        let mut n = 0;
        // SAFETY: `engine` is live (the test starts it); the output place is valid.
        let results = unsafe {
            [
                relay_set_log_callback(None, null_mut()),
                relay_engine_stop(engine),
                relay_engine_stats_json(engine, null_mut(), 0, &mut n),
            ]
        };
        seen.reentry.lock().unwrap().extend(results);
    }
    seen.lines.lock().unwrap().push((level, line));
}

#[test]
fn log_lines_reach_the_callback() {
    let seen = Box::new(Seen::default());
    let userdata = &*seen as *const Seen as *mut c_void;
    // SAFETY: `collect` is thread-safe and `seen` outlives its registration.
    let r = unsafe { relay_set_log_callback(Some(collect), userdata) };
    assert_eq!(r, relay_result::Ok);

    let mut cfg = null_mut();
    let mut engine = null_mut();
    let listen = "127.0.0.1:0";
    // SAFETY: all pointers are valid places or live objects made just before.
    unsafe {
        assert_eq!(relay_config_new(&mut cfg), relay_result::Ok);
        let r = relay_config_set(
            cfg,
            c"listen".as_ptr(),
            6,
            listen.as_ptr().cast(),
            listen.len(),
        );
        assert_eq!(r, relay_result::Ok);
        assert_eq!(relay_engine_new(cfg, &mut engine), relay_result::Ok);
        relay_config_free(cfg);
    }
    seen.engine.store(engine, Ordering::SeqCst);
    // SAFETY: `engine` is live.
    assert_eq!(unsafe { relay_engine_start(engine) }, relay_result::Ok);
    {
        let lines = seen.lines.lock().unwrap();
        let listening = lines.iter().find(|(_, l)| l.contains("listening on"));
        assert!(
            matches!(listening, Some((relay_log_level::Info, _))),
            "{lines:?}"
        );
    }
    let refused = [relay_result::CalledFromCallback; 3];
    assert_eq!(*seen.reentry.lock().unwrap(), refused);

    // Level off: nothing arrives; an unknown level is refused.
    assert_eq!(relay_set_log_level(6), relay_result::InvalidParameter);
    assert_eq!(relay_set_log_level(0), relay_result::Ok);
    let before = seen.lines.lock().unwrap().len();
    // SAFETY: `engine` is live.
    assert_eq!(unsafe { relay_engine_stop(engine) }, relay_result::Ok);
    assert_eq!(seen.lines.lock().unwrap().len(), before);
    assert_eq!(relay_set_log_level(3), relay_result::Ok);
    // SAFETY: `engine` is live and not used afterwards.
    unsafe { relay_engine_free(engine) };
    assert!(
        seen.lines.lock().unwrap().len() == before,
        "a stopped engine logs nothing more on free"
    );

    // SAFETY: NULL restores standard error; afterwards `seen` is no longer used by the library.
    let r = unsafe { relay_set_log_callback(None, null_mut()) };
    assert_eq!(r, relay_result::Ok);
    drop(seen);
}
