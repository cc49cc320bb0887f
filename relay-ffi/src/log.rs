//! The log callback and level: the library's log lines, handed to the embedder.

use crate::guard::{as_callback, guard, not_in_callback};
use crate::result::relay_result;
use relay_core::log::{self, Level};
use std::ffi::{c_char, c_void};

/// Severity of a log line; lower is more severe. `RELAY_LOG_LEVEL_OFF` only for
/// `relay_set_log_level`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum relay_log_level {
    /// Nothing is logged (only as an argument of `relay_set_log_level`).
    Off = 0,
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl From<Level> for relay_log_level {
    fn from(level: Level) -> Self {
        match level {
            Level::Error => relay_log_level::Error,
            Level::Warn => relay_log_level::Warn,
            Level::Info => relay_log_level::Info,
            Level::Debug => relay_log_level::Debug,
            Level::Trace => relay_log_level::Trace,
        }
    }
}

/// Receives one log line: `message` is `message_len` bytes of UTF-8, no line end, no NUL, valid
/// only during the call. Called from any relay thread (and from the thread of a call that logs,
/// such as `relay_engine_start`), possibly from several at once, so it must be thread-safe and
/// should return quickly. It must not call `relay_engine_*` functions or
/// `relay_set_log_callback`: there they return `RELAY_RESULT_CALLED_FROM_CALLBACK` (and
/// `relay_engine_free` logs an error and leaves the engine alone). `relay_version`,
/// `relay_result_describe`, `relay_config_*` and `relay_hls_rewrite` may be called.
pub type relay_log_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        level: relay_log_level,
        message: *const c_char,
        message_len: usize,
    ),
>;

/// The C callback and its userdata, moved into the core's log sink.
struct CSink {
    callback: unsafe extern "C" fn(*mut c_void, relay_log_level, *const c_char, usize),
    userdata: *mut c_void,
}

// SAFETY: `relay_set_log_callback` requires the callback to be callable from any thread, at the
// same time, with this `userdata`; the library never reads through `userdata` itself.
unsafe impl Send for CSink {}
// SAFETY: as for `Send`: shared use means concurrent calls, which the contract allows.
unsafe impl Sync for CSink {}

impl CSink {
    fn emit(&self, level: Level, line: &str) {
        as_callback(|| {
            // SAFETY: the embedder gave this function pointer for exactly this signature;
            // `line` is valid for `line.len()` bytes for the whole call.
            unsafe {
                (self.callback)(
                    self.userdata,
                    level.into(),
                    line.as_ptr().cast(),
                    line.len(),
                )
            }
        })
    }
}

/// Sends the library's log lines to `callback` with `userdata` (first argument), instead of
/// standard error; NULL `callback` restores standard error. Process-wide: one callback for all
/// engines. When this returns, no call of the previous callback is running or will start, so its
/// userdata may be released. Thread-safe; returns `RELAY_RESULT_CALLED_FROM_CALLBACK` from inside
/// the log callback.
///
/// # Safety
///
/// `callback` is NULL or a function of the `relay_log_callback` type, safe to call from any
/// thread, concurrently, with `userdata`, until it is replaced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_set_log_callback(
    callback: relay_log_callback,
    userdata: *mut c_void,
) -> relay_result {
    guard(|| {
        not_in_callback()?;
        let sink = callback.map(|callback| {
            let c = CSink { callback, userdata };
            Box::new(move |level: Level, line: &str| c.emit(level, line)) as log::Sink
        });
        log::set_sink(sink);
        Ok(())
    })
}

/// Sets the most verbose level logged: `RELAY_LOG_LEVEL_OFF` (0) to `RELAY_LOG_LEVEL_TRACE`
/// (5); the default is `RELAY_LOG_LEVEL_INFO`. Process-wide, thread-safe. Another value gives
/// `RELAY_RESULT_INVALID_PARAMETER`.
#[unsafe(no_mangle)]
pub extern "C" fn relay_set_log_level(level: u32) -> relay_result {
    guard(|| {
        let level = match level {
            0 => None,
            1 => Some(Level::Error),
            2 => Some(Level::Warn),
            3 => Some(Level::Info),
            4 => Some(Level::Debug),
            5 => Some(Level::Trace),
            _ => return Err(relay_result::InvalidParameter),
        };
        log::set_level(level);
        Ok(())
    })
}
