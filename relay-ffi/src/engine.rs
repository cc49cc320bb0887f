//! `relay_engine`: the relay, run inside the embedder's process.
//!
//! The engine's threads (a tokio runtime) exist only while it runs: `relay_engine_start` builds
//! a [`relay_core::engine::Engine`] and starts it, `relay_engine_stop` stops it and drops it,
//! which joins every thread. What must survive a stop (the settings, a catalog loaded with
//! `relay_engine_load_m3u`, the last counters) lives here.

use crate::config::relay_config;
use crate::events::{self, relay_event_callback};
use crate::guard::{guard, guard_or, in_bytes, in_ref, not_in_callback, out_buf, out_ptr};
use crate::result::relay_result;
use relay_core::catalog::{Catalog, Source};
use relay_core::config::Config;
use relay_core::engine::{Engine, MAX_SOURCE_BYTES};
use relay_core::events::EventSink;
use relay_core::proto::m3u;
use std::ffi::{c_char, c_void};
use std::sync::{Mutex, MutexGuard};

/// The largest catalog `relay_engine_load_m3u` takes (256 MiB, like any catalog source:
/// `relay_core::catalog::sources::MAX_SOURCE_BYTES`).
pub const RELAY_ENGINE_MAX_CATALOG_BYTES: usize = 256 * 1024 * 1024;
const _: () = assert!(RELAY_ENGINE_MAX_CATALOG_BYTES as u64 == MAX_SOURCE_BYTES);

/// The source label of a catalog given to `relay_engine_load_m3u`; channel ids derive from it,
/// so they stay the same across loads of the same playlist.
pub(crate) const EMBEDDED_SOURCE_LABEL: &str = "relay_engine_load_m3u";

/// A relay engine (opaque). Made by `relay_engine_new`, released by `relay_engine_free`. May be
/// used from any thread; its calls are serialised internally (a call waits while another runs,
/// e.g. `relay_engine_stop` draining connections). No engine function may be called from
/// inside the log or event callback (`RELAY_RESULT_CALLED_FROM_CALLBACK`).
pub struct relay_engine {
    state: Mutex<State>,
}

struct State {
    /// The settings, copied from the `relay_config` at `relay_engine_new` (or the last
    /// `relay_engine_reconfigure`).
    config: Config,
    /// The running engine; `None` before the first start and after a stop.
    running: Option<Engine>,
    /// The last catalog given to `relay_engine_load_m3u`, installed again at every start.
    /// `None` when the configured `catalog` sources are in charge.
    embedded: Option<Source>,
    /// The counters of the last run, as `relay_engine_stats_json` reports them after a stop.
    last_stats: Option<String>,
    /// The event callback as the core's sink, installed in every engine started.
    events: Option<EventSink>,
}

impl std::fmt::Debug for relay_engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state is not shown: its lock may be held by the caller.
        f.debug_struct("relay_engine").finish_non_exhaustive()
    }
}

// The header promises an engine usable from any thread.
const _: fn() = || {
    fn thread_safe<T: Send + Sync>() {}
    thread_safe::<relay_engine>();
};

impl relay_engine {
    fn lock(&self) -> MutexGuard<'_, State> {
        relay_core::sync::lock(&self.state)
    }
}

/// The engine behind a pointer argument, for a call that may block on the engine.
///
/// # Safety
///
/// `engine` is NULL or a live engine.
unsafe fn engine_arg<'a>(engine: *const relay_engine) -> Result<&'a relay_engine, relay_result> {
    // SAFETY: forwarded to the caller's contract.
    let engine = unsafe { in_ref(engine) }?;
    not_in_callback()?;
    Ok(engine)
}

/// Makes an engine from a copy of `cfg` (later changes to `cfg` do not affect it; `cfg` may be
/// freed at once) and stores it in `*out`. Nothing is bound, loaded or started, and no thread is
/// created yet. The caller owns the engine and releases it with `relay_engine_free`.
///
/// # Safety
///
/// `cfg` is NULL or a live config; `out` is NULL or valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_engine_new(
    cfg: *const relay_config,
    out: *mut *mut relay_engine,
) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract for both pointers (NULL is refused).
        let (cfg, out) = unsafe { (in_ref(cfg)?, out_ptr(out)?) };
        let engine = Box::new(relay_engine {
            state: Mutex::new(State {
                config: cfg.lock().clone(),
                running: None,
                embedded: None,
                last_stats: None,
                events: None,
            }),
        });
        out.set(Box::into_raw(engine));
        Ok(())
    })
}

/// Starts the engine: starts its threads, installs the catalog (the last one given to
/// `relay_engine_load_m3u`, else the configured `catalog` sources, fetched now; a source that
/// fails is logged and skipped), binds `listen`, and returns once it is listening. Thread-safe.
///
/// Errors: `RELAY_RESULT_ENGINE_ALREADY_RUNNING`, `RELAY_RESULT_ENGINE_BIND_FAILED`,
/// `RELAY_RESULT_ENGINE_RUNTIME_FAILED`, `RELAY_RESULT_ENGINE_STATE_FAILED`,
/// `RELAY_RESULT_CALLED_FROM_CALLBACK`. A stopped engine may be started again; as across server
/// restarts, HLS links handed out before keep working only with `token-secret` or `state-dir`
/// set.
///
/// # Safety
///
/// `engine` is NULL or a live engine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_engine_start(engine: *mut relay_engine) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract.
        let this = unsafe { engine_arg(engine) }?;
        let mut state = this.lock();
        if state.running.is_some() {
            return Err(relay_result::EngineAlreadyRunning);
        }
        let engine = Engine::new(state.config.clone())?;
        engine.set_event_sink(state.events.clone());
        match &state.embedded {
            Some(source) => {
                let catalog = Catalog::from_sources(std::slice::from_ref(source));
                engine.shared().set_catalog(catalog);
            }
            None if !state.config.sources.is_empty() => {
                let report = engine.reload();
                relay_core::log!(
                    Info,
                    "catalogs: {} channels from {} of {} sources",
                    report.channels,
                    report.loaded,
                    state.config.sources.len()
                );
            }
            None => {}
        }
        let addr = engine.start()?;
        relay_core::log!(Info, "relay engine listening on {addr}");
        state.running = Some(engine);
        Ok(())
    })
}

/// Gives the engine a copy of `cfg`'s settings. A stopped engine starts with them next time; a
/// running one takes them at once, as the server does on SIGHUP: settings that apply on reload
/// take effect for new requests and streams (running streams keep playing), catalog sources
/// still listed keep their channels, ids and provider slots, and the configured sources are
/// fetched again (unless a catalog given by `relay_engine_load_m3u` is in charge). Settings that
/// need a restart (`listen`, `threads`, `max-connections`, `token-secret`, `state-dir`) keep their
/// running values until the next start, with a warning in the log. Writes the number of such
/// settings that changed to `*out_waiting`. Blocks while fetching. Thread-safe.
///
/// Errors: `RELAY_RESULT_CALLED_FROM_CALLBACK`.
///
/// # Safety
///
/// `engine` is NULL or a live engine; `cfg` is NULL or a live config; `out_waiting` is NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_engine_reconfigure(
    engine: *mut relay_engine,
    cfg: *const relay_config,
    out_waiting: *mut usize,
) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract for every pointer.
        let (this, cfg, waiting) =
            unsafe { (engine_arg(engine)?, in_ref(cfg)?, out_ptr(out_waiting)?) };
        let config = cfg.lock().clone();
        let mut state = this.lock();
        state.config = config.clone();
        let Some(engine) = &state.running else {
            waiting.set(0);
            return Ok(());
        };
        let changed = engine.reconfigure(config);
        if !changed.is_empty() {
            relay_core::log!(
                Warn,
                "settings taken; changed but kept until the next start: {}",
                changed.join(", ")
            );
        }
        if state.embedded.is_none() {
            let report = engine.reload();
            relay_core::log!(Info, "reconfigured: {} channels", report.channels);
        }
        waiting.set(changed.len());
        Ok(())
    })
}

/// Sends the engine's viewer and upstream events to `callback` with `userdata` (first argument);
/// NULL `callback` stops them. Works before a start and while running, and stays set across
/// stop and start. A viewer is a client receiving a `/stream/{id}` body (shared channel or its
/// own upstream); `HEAD` requests, refused requests and HLS playlists and segments are not
/// viewers and produce no events. A viewer's `RELAY_EVENT_KIND_VIEWER_CONNECTED` comes before its
/// `RELAY_EVENT_KIND_VIEWER_DISCONNECTED`; a viewer with its own upstream is inside
/// `RELAY_EVENT_KIND_UPSTREAM_OPENED` / `_CLOSED` of that upstream; a shared channel's upstream
/// opens before its viewers connect (it may close before or after they are reported gone).
/// Every connect and open is matched by a disconnect and close by the time
/// `relay_engine_stop` returns.
///
/// The callback is called on relay threads (and on the thread of `relay_engine_stop` or
/// `relay_engine_free`), possibly from several at once, inline where the event happens: it must
/// be thread-safe and quick (copy what it needs, never block). It must not call
/// `relay_engine_*` functions or `relay_set_log_callback`: there they return
/// `RELAY_RESULT_CALLED_FROM_CALLBACK` (and `relay_engine_free` logs an error and does nothing).
/// When this returns, no call of the previous callback is running or will start, so its
/// userdata may be released; `userdata` must stay valid until the callback is replaced or the
/// engine is freed. Thread-safe.
///
/// # Safety
///
/// `engine` is NULL or a live engine; `callback` is NULL or a function of the
/// `relay_event_callback` type, safe to call from any thread, concurrently, with `userdata`,
/// until it is replaced or the engine is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_engine_set_event_callback(
    engine: *mut relay_engine,
    callback: relay_event_callback,
    userdata: *mut c_void,
) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract.
        let this = unsafe { engine_arg(engine) }?;
        let sink = events::sink(callback, userdata);
        let mut state = this.lock();
        if let Some(engine) = &state.running {
            // Waits for calls of the previous callback to finish.
            engine.set_event_sink(sink.clone());
        }
        state.events = sink;
        Ok(())
    })
}

/// Writes the bound address (`127.0.0.1:40123`, `[::1]:8080`) into `buf` (no NUL) and its length
/// into `*out_n`. `buf` may be NULL with `len` 0 to learn the length. A buffer of 64 bytes is
/// always enough. Thread-safe.
///
/// Errors: `RELAY_RESULT_ENGINE_NOT_RUNNING`, `RELAY_RESULT_INSUFFICIENT_SIZE` (`*out_n` = the
/// length needed).
///
/// # Safety
///
/// `engine` is NULL or a live engine; `buf` is NULL or valid for writes of `len` bytes; `out_n`
/// is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_engine_local_addr(
    engine: *const relay_engine,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract for every pointer.
        let (this, out) = unsafe { (engine_arg(engine)?, out_buf(buf.cast(), len, out_n)?) };
        let state = this.lock();
        let running = state.running.as_ref();
        let addr = running
            .and_then(Engine::local_addr)
            .ok_or(relay_result::EngineNotRunning)?;
        out.write(addr.to_string().as_bytes())
    })
}

/// Replaces the catalog with the M3U playlist in `data` (`len` bytes; the caller keeps
/// ownership) and writes its channel count to `*out_channels`. Works before a start and while
/// running (requests in flight finish with the catalog they started with); the catalog is kept
/// across stop and start. Configured `catalog` sources are set aside until
/// `relay_engine_reload`. Unusable lines are skipped, never an error; more than
/// `RELAY_ENGINE_MAX_CATALOG_BYTES` is `RELAY_RESULT_ENGINE_CATALOG_TOO_LARGE`. Thread-safe.
///
/// # Safety
///
/// `engine` is NULL or a live engine; `data` is NULL (only with `len` 0) or valid for reads of
/// `len` bytes; `out_channels` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_engine_load_m3u(
    engine: *mut relay_engine,
    data: *const u8,
    len: usize,
    out_channels: *mut usize,
) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract for every pointer.
        let (this, out) = unsafe { (engine_arg(engine)?, out_ptr(out_channels)?) };
        // Checked before the bytes are looked at.
        if len > RELAY_ENGINE_MAX_CATALOG_BYTES {
            return Err(relay_result::EngineCatalogTooLarge);
        }
        // SAFETY: the caller's contract for `data`.
        let data = unsafe { in_bytes(data, len) }?;
        let source = Source::new(0, EMBEDDED_SOURCE_LABEL, m3u::parse(data));
        let catalog = Catalog::from_sources(std::slice::from_ref(&source));
        let channels = catalog.len();
        let mut state = this.lock();
        if let Some(engine) = &state.running {
            engine.shared().set_catalog(catalog);
        }
        state.embedded = Some(source);
        out.set(channels);
        Ok(())
    })
}

/// Fetches the configured `catalog` sources again and swaps in the catalog built from them (a
/// source that fails keeps its previous channels); this also ends a catalog given by
/// `relay_engine_load_m3u`. Writes the channel count to `*out_channels` and the number of sources
/// that failed (logged) to `*out_failed`. Blocks while fetching. Thread-safe.
///
/// Errors: `RELAY_RESULT_ENGINE_NOT_RUNNING`, `RELAY_RESULT_CALLED_FROM_CALLBACK`.
///
/// # Safety
///
/// `engine` is NULL or a live engine; `out_channels` and `out_failed` are NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_engine_reload(
    engine: *mut relay_engine,
    out_channels: *mut usize,
    out_failed: *mut usize,
) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract for every pointer.
        let (this, channels, failed) = unsafe {
            (
                engine_arg(engine)?,
                out_ptr(out_channels)?,
                out_ptr(out_failed)?,
            )
        };
        let mut state = this.lock();
        let engine = state
            .running
            .as_ref()
            .ok_or(relay_result::EngineNotRunning)?;
        let report = engine.reload();
        state.embedded = None;
        channels.set(report.channels);
        failed.set(report.failed.len());
        Ok(())
    })
}

/// Writes the engine's counters as one JSON object into `buf` (no NUL) and its length into
/// `*out_n`: `version`, `running`, `listen`, `channels`, `uptime_s`, `connections_total`,
/// `connections_active`, `requests_total`, `streams_active`, `bytes_relayed`, `shared_viewers`,
/// `shared_upstreams`, `viewer_skips`, `hls_requests`, `hls_upstream_fetches`, `hls_cache_bytes`
/// (the README's `/health` keys). While running the
/// counters are live; after a stop they are those of the last run (`"running":false`). `buf` may
/// be NULL with `len` 0 to learn the length. Thread-safe.
///
/// Errors: `RELAY_RESULT_ENGINE_NOT_RUNNING` (never started), `RELAY_RESULT_INSUFFICIENT_SIZE`
/// (`*out_n` = the length needed; the next call may need a few bytes more as counters grow).
///
/// # Safety
///
/// `engine` is NULL or a live engine; `buf` is NULL or valid for writes of `len` bytes; `out_n`
/// is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_engine_stats_json(
    engine: *const relay_engine,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract for every pointer.
        let (this, out) = unsafe { (engine_arg(engine)?, out_buf(buf.cast(), len, out_n)?) };
        let state = this.lock();
        let json = match (&state.running, &state.last_stats) {
            (Some(engine), _) => engine.stats_json(),
            (None, Some(last)) => last.clone(),
            (None, None) => return Err(relay_result::EngineNotRunning),
        };
        out.write(json.as_bytes())
    })
}

/// Stops the engine: stops accepting, lets open connections finish within `shutdown-grace`,
/// cuts the rest, then ends and joins every engine thread. When it returns nothing of the engine
/// runs and the port is closed. Thread-safe (other calls wait meanwhile).
///
/// Errors: `RELAY_RESULT_ENGINE_NOT_RUNNING`, `RELAY_RESULT_ENGINE_STOP_FAILED` (the server had
/// to be cut; it is stopped all the same), `RELAY_RESULT_CALLED_FROM_CALLBACK`.
///
/// # Safety
///
/// `engine` is NULL or a live engine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_engine_stop(engine: *mut relay_engine) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract.
        let this = unsafe { engine_arg(engine) }?;
        let mut state = this.lock();
        let engine = state.running.take().ok_or(relay_result::EngineNotRunning)?;
        let stopped = engine.stop();
        state.last_stats = Some(engine.stats_json());
        // Dropping the engine drops its runtime, which joins the worker threads.
        drop(engine);
        relay_core::log!(Info, "relay engine stopped");
        stopped.map_err(relay_result::from)
    })
}

/// Releases an engine, stopping it first if it runs (as `relay_engine_stop`). NULL is a no-op.
/// No other call on `engine` may be in progress or follow. Called from inside the log callback
/// it logs an error and does nothing (the engine stays valid).
///
/// # Safety
///
/// `engine` is NULL or an engine from `relay_engine_new` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_engine_free(engine: *mut relay_engine) {
    guard_or((), || {
        if engine.is_null() {
            return;
        }
        if not_in_callback().is_err() {
            relay_core::log!(
                Error,
                "relay_engine_free called from a relay callback: ignored"
            );
            return;
        }
        // SAFETY: made by `Box::into_raw` in `relay_engine_new`, not freed yet, and no other
        // call on it is in progress (the caller's contract); ownership comes back here once.
        let this = unsafe { Box::from_raw(engine) };
        // Dropping a running `Engine` stops it, then its runtime joins the threads.
        drop(this);
    })
}
