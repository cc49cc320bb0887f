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
    rust_log::set_max_level(filter(level));
}

/// The `log` facade's filter for a level of ours.
fn filter(level: Option<Level>) -> rust_log::LevelFilter {
    match level {
        None => rust_log::LevelFilter::Off,
        Some(Level::Error) => rust_log::LevelFilter::Error,
        Some(Level::Warn) => rust_log::LevelFilter::Warn,
        Some(Level::Info) => rust_log::LevelFilter::Info,
        Some(Level::Debug) => rust_log::LevelFilter::Debug,
        Some(Level::Trace) => rust_log::LevelFilter::Trace,
    }
}

/// Takes the lines of libraries that write to the `log` facade (rustls's TLS diagnostics) into
/// this log, prefixed with their module (`rustls::…: …`).
struct Bridge;

static BRIDGE: Bridge = Bridge;

impl rust_log::Log for Bridge {
    fn enabled(&self, meta: &rust_log::Metadata<'_>) -> bool {
        enabled(ours(meta.level()))
    }

    fn log(&self, record: &rust_log::Record<'_>) {
        let level = ours(record.level());
        if enabled(level) {
            emit(
                level,
                format_args!("{}: {}", record.target(), record.args()),
            );
        }
    }

    fn flush(&self) {}
}

fn ours(level: rust_log::Level) -> Level {
    match level {
        rust_log::Level::Error => Level::Error,
        rust_log::Level::Warn => Level::Warn,
        rust_log::Level::Info => Level::Info,
        rust_log::Level::Debug => Level::Debug,
        rust_log::Level::Trace => Level::Trace,
    }
}

/// Installs the bridge from the `log` facade, unless the process has its own logger there (an
/// embedder's stays). Called by every [`Engine::new`](crate::engine::Engine::new); idempotent.
pub fn bridge_log_facade() {
    if rust_log::set_logger(&BRIDGE).is_ok() {
        let level = MAX_LEVEL.load(Ordering::Relaxed);
        let level = [
            Level::Error,
            Level::Warn,
            Level::Info,
            Level::Debug,
            Level::Trace,
        ]
        .into_iter()
        .find(|l| *l as u8 == level);
        rust_log::set_max_level(filter(level));
    }
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

/// How long repeats of one line are counted instead of written ([`throttled`]).
pub const REPEAT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
/// Most distinct keys [`throttled`] remembers; beyond, the oldest are forgotten.
pub const REPEAT_KEYS: usize = 1024;

/// Lines held back by [`throttled`], per key: when the last one was written, how many since.
static REPEATS: std::sync::Mutex<
    Option<std::collections::HashMap<String, (std::time::Instant, u64)>>,
> = std::sync::Mutex::new(None);

/// Writes a line at `level` unless a line with the same `key` (an upstream and what failed,
/// say) was written within [`REPEAT_INTERVAL`]: then it is only counted, and the next line
/// written for that key says how many were held back. An outage of one provider, which fails
/// every request, writes a line per interval, not one per request.
pub fn throttled(level: Level, key: &str, args: fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let now = std::time::Instant::now();
    let held = {
        let mut guard = crate::sync::lock(&REPEATS);
        let map = guard.get_or_insert_with(Default::default);
        match map.get_mut(key) {
            Some((at, n)) if now.duration_since(*at) < REPEAT_INTERVAL => {
                *n += 1;
                return;
            }
            Some((at, n)) => {
                let held = *n;
                *at = now;
                *n = 0;
                held
            }
            None => {
                if map.len() >= REPEAT_KEYS {
                    let oldest = map
                        .iter()
                        .min_by_key(|(_, (at, _))| *at)
                        .map(|(k, _)| k.clone());
                    if let Some(k) = oldest {
                        map.remove(&k);
                    }
                }
                map.insert(key.to_string(), (now, 0));
                0
            }
        }
    };
    match held {
        0 => emit(level, args),
        n => emit(
            level,
            format_args!(
                "{args} (and {n} more like it in the last {}s)",
                REPEAT_INTERVAL.as_secs()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sink is process-wide: tests that install one run one at a time.
    static SINK_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn facade_lines_reach_our_sink_at_our_level() {
        let _one = crate::sync::lock(&SINK_TESTS);
        static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        bridge_log_facade();
        set_sink(Some(Box::new(|level, line| {
            if line.contains("bridge-test") {
                crate::sync::lock(&SEEN).push(format!("{} {line}", level.as_str()));
            }
        })));
        set_level(Some(Level::Warn));
        rust_log::warn!(target: "rustls::test", "bridge-test shown");
        rust_log::debug!(target: "rustls::test", "bridge-test hidden");
        set_level(Some(Level::Info));
        set_sink(None);
        assert_eq!(
            *crate::sync::lock(&SEEN),
            ["WARN rustls::test: bridge-test shown"]
        );
    }

    #[test]
    fn repeats_of_a_key_are_counted_not_written() {
        let _one = crate::sync::lock(&SINK_TESTS);
        static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        set_sink(Some(Box::new(|_, line| {
            if line.contains("throttle-test") {
                crate::sync::lock(&SEEN).push(line.to_string());
            }
        })));
        for _ in 0..5 {
            throttled(
                Level::Warn,
                "throttle-test a",
                format_args!("throttle-test a failed"),
            );
        }
        throttled(
            Level::Warn,
            "throttle-test b",
            format_args!("throttle-test b failed"),
        );
        // Let the interval of `a` pass: its next line says how many were held back.
        crate::sync::lock(&REPEATS)
            .as_mut()
            .unwrap()
            .get_mut("throttle-test a")
            .unwrap()
            .0 -= REPEAT_INTERVAL;
        throttled(
            Level::Warn,
            "throttle-test a",
            format_args!("throttle-test a failed"),
        );
        set_sink(None);
        assert_eq!(
            *crate::sync::lock(&SEEN),
            [
                "throttle-test a failed",
                "throttle-test b failed",
                "throttle-test a failed (and 4 more like it in the last 10s)"
            ]
        );
    }
}
