//! Logging: one line per event to stderr (or to a sink the embedder installs, e.g. the C ABI's
//! log callback). The level is a process-wide atomic, set from `RELAY_LOG` by the server.

use std::fmt;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// Severity of a log line; lower is more severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    /// Parses `error`, `warn`, `info`, `debug`, `trace` (case-insensitive); `off` gives `None`.
    pub fn parse(s: &str) -> Result<Option<Level>, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" => Ok(None),
            "error" => Ok(Some(Level::Error)),
            "warn" | "warning" => Ok(Some(Level::Warn)),
            "info" => Ok(Some(Level::Info)),
            "debug" => Ok(Some(Level::Debug)),
            "trace" => Ok(Some(Level::Trace)),
            other => Err(format!(
                "unknown log level {other:?} (use off, error, warn, info, debug or trace)"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

/// Where log lines go when not to stderr.
pub type Sink = Box<dyn Fn(Level, &str) + Send + Sync>;

static MAX_LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Sets the most verbose level that is emitted (`None` silences everything).
pub fn set_level(level: Option<Level>) {
    MAX_LEVEL.store(level.map_or(0, |l| l as u8), Ordering::Relaxed);
}

/// Whether a line of this level would be emitted.
pub fn enabled(level: Level) -> bool {
    level as u8 <= MAX_LEVEL.load(Ordering::Relaxed)
}

/// Routes log lines to `sink` instead of stderr (`None` restores stderr).
pub fn set_sink(sink: Option<Sink>) {
    let mut guard = crate::sync::write(&SINK);
    *guard = sink;
}

#[doc(hidden)]
pub fn emit(level: Level, args: fmt::Arguments<'_>) {
    let line = args.to_string();
    let guard = crate::sync::read(&SINK);
    match guard.as_ref() {
        Some(sink) => sink(level, &line),
        None => eprintln!("{:<5} {line}", level.as_str()),
    }
}

/// Logs a line at a level: `log!(Info, "listening on {addr}")`.
#[macro_export]
macro_rules! log {
    ($level:ident, $($arg:tt)+) => {
        if $crate::log::enabled($crate::log::Level::$level) {
            $crate::log::emit($crate::log::Level::$level, format_args!($($arg)+));
        }
    };
}
