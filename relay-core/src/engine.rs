//! The [`Engine`]: a tokio runtime, the shared state (settings, catalog, upstream client), and the
//! server task. Every method takes `&self` and may be called from any thread (not from inside the
//! engine's own runtime); calls that change state are serialised internally. This is the surface
//! the C ABI wraps.

pub use crate::catalog::sources::{LoadReport, MAX_SOURCE_BYTES};

use crate::catalog::sources::{self, Sources};
use crate::catalog::{Catalog, Source};
use crate::config::Config;
use crate::events::EventSink;
use crate::proto::m3u;
use crate::server::{self, Shared};
use crate::shutdown::{self, Trigger};
use crate::sync::lock;
use crate::token;
use crate::upstream::{Client, ClientOptions};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Most runtime worker threads chosen automatically (`threads = 0`).
pub const MAX_AUTO_THREADS: usize = 4;
/// Extra time `stop` waits beyond the shutdown grace for the server task to end.
const STOP_SLACK: Duration = Duration::from_secs(2);

/// What went wrong at the engine level.
#[derive(Debug)]
pub enum EngineError {
    /// The runtime could not be built (threads).
    Runtime(std::io::Error),
    /// The listen address could not be bound.
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// `start` on an engine that is already running.
    AlreadyRunning,
    /// `stop` on an engine that is not running.
    NotRunning,
    /// The server task did not end in time or panicked.
    Stop(String),
    /// The token secret in `state-dir` could not be read or created.
    State {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Runtime(e) => write!(f, "cannot start the runtime: {e}"),
            EngineError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            EngineError::AlreadyRunning => f.write_str("the engine is already running"),
            EngineError::NotRunning => f.write_str("the engine is not running"),
            EngineError::Stop(why) => write!(f, "the server did not stop cleanly: {why}"),
            EngineError::State { path, source } => {
                write!(
                    f,
                    "cannot keep the token secret in {}: {source}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for EngineError {}

struct Running {
    addr: SocketAddr,
    stop: Trigger,
    task: JoinHandle<()>,
}

/// The relay engine.
pub struct Engine {
    runtime: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    /// The last good playlist of every configured source, in configuration order (a source that
    /// fails on reload keeps its previous channels).
    sources: Arc<Sources>,
    running: Mutex<Option<Running>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.shared.config())
            .field("local_addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the runtime and the shared state; nothing is bound or loaded yet.
    pub fn new(config: Config) -> Result<Engine, EngineError> {
        crate::log::bridge_log_facade();
        let threads = match config.threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_AUTO_THREADS),
            n => n,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("relay-worker")
            .enable_all()
            .build()
            .map_err(EngineError::Runtime)?;
        let client = Client::new(ClientOptions::from_config(&config));
        let secret = config.token_secret.as_ref().map(|s| s.0.as_bytes());
        let keys = token::Keys::for_instance(secret, config.state_dir.as_deref())
            .map_err(|(path, source)| EngineError::State { path, source })?;
        let sources = Arc::new(Sources::new(&config.sources));
        Ok(Engine {
            runtime,
            shared: Arc::new(Shared::with_keys(config, client, keys)),
            sources,
            running: Mutex::new(None),
        })
    }

    /// The settings in force (those given to [`Engine::new`], or to the last
    /// [`Engine::reconfigure`]).
    pub fn config(&self) -> Arc<Config> {
        self.shared.config()
    }

    /// Takes new settings while running (the server's SIGHUP; `relay_engine_reconfigure`):
    /// settings that apply on reload take effect for new requests and streams, the catalog
    /// sources are taken over (a source still listed keeps its channels and number, its caps and
    /// headers change), and the names of changed settings that need a restart are returned
    /// (they keep their running values). Call [`Engine::reload`] after it to fetch the sources.
    pub fn reconfigure(&self, config: Config) -> Vec<&'static str> {
        let caps = self.sources.reconfigure(&config.sources);
        let default = Some(config.source_max_connections).filter(|&n| n > 0);
        self.shared.slots.set_limits(caps, default);
        self.shared.reconfigure(config)
    }

    /// The state shared with the server (catalog, client, counters).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Sends viewer and upstream [events](crate::events) to `sink` (`None`: to nobody, the
    /// default). Works before [`Engine::start`] and while running; when it returns, no call of
    /// the previous sink is running or will start. The sink is called inline on relay threads,
    /// possibly concurrently: it must return quickly and must not call this method.
    pub fn set_event_sink(&self, sink: Option<EventSink>) {
        self.shared.events.set(sink);
    }

    /// Runs a future on the engine's runtime, blocking the calling thread.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// (Re)loads every configured catalog source (files or http(s) URLs) and swaps in the new
    /// catalog. A source that fails keeps what it had (nothing, on the first load).
    pub fn reload(&self) -> LoadReport {
        self.block_on(self.reload_async())
    }

    /// [`Engine::reload`] for callers already inside an async context of another runtime, or in
    /// a task of this one (e.g. a signal handler).
    pub async fn reload_async(&self) -> LoadReport {
        let (catalog, report) = self.sources.reload(&self.shared.client()).await;
        self.shared.set_catalog(catalog);
        // The old catalog (and the parse's scratch) just went: give the memory back.
        crate::sys::release_free_memory();
        report
    }

    /// Replaces the whole catalog with one M3U playlist given as bytes (the embedder's own source;
    /// configured sources are forgotten until the next [`Engine::reload`]). Returns the channel count.
    pub fn load_m3u(&self, label: &str, data: &[u8]) -> usize {
        let source = Source::new(0, label, m3u::parse(data));
        let catalog = Catalog::from_sources(std::slice::from_ref(&source));
        let n = catalog.len();
        self.shared.set_catalog(catalog);
        n
    }

    /// Binds the listen address and starts serving; returns the bound address once listening.
    pub fn start(&self) -> Result<SocketAddr, EngineError> {
        let mut running = lock(&self.running);
        if running.is_some() {
            return Err(EngineError::AlreadyRunning);
        }
        let addr = self.shared.config().listen;
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|source| EngineError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| EngineError::Bind { addr, source })?;
        let (stop, stop_rx) = shutdown::channel();
        // Always running: a reconfiguration may add a refresh interval or sources.
        let (client, every, apply) = (
            self.shared.clone(),
            self.shared.clone(),
            self.shared.clone(),
        );
        let refresh = sources::refresh_loop(
            self.sources.clone(),
            move || client.client(),
            move || every.config().catalog_refresh,
            stop_rx,
            move |catalog| {
                apply.set_catalog(catalog);
                crate::sys::release_free_memory();
            },
        );
        self.runtime.spawn(refresh);
        let task = self
            .runtime
            .spawn(server::serve(listener, self.shared.clone(), stop.clone()));
        *running = Some(Running {
            addr: bound,
            stop,
            task,
        });
        Ok(bound)
    }

    /// The bound address while running.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        lock(&self.running).as_ref().map(|r| r.addr)
    }

    /// The counters as one JSON object (the C ABI's `relay_engine_stats_json`): `version`,
    /// `running`, `listen` (the bound address, or `null` when not running), then every counter
    /// of [`Stats::json_members`](crate::stats::Stats::json_members): `channels`, `uptime_s`
    /// (from [`Engine::new`]), `connections_total`, `connections_active`, `requests_total`,
    /// `streams_active`, `bytes_relayed`, `shared_viewers`, `shared_upstreams`, `viewer_skips`,
    /// `hls_requests`, `hls_upstream_fetches`, `hls_cache_bytes`.
    pub fn stats_json(&self) -> String {
        let listen = match self.local_addr() {
            Some(addr) => format!("\"{addr}\""),
            None => "null".to_string(),
        };
        format!(
            "{{\"version\":\"{}\",\"running\":{},\"listen\":{listen},{}}}",
            env!("CARGO_PKG_VERSION"),
            listen != "null",
            self.shared.counters_json(),
        )
    }

    /// Stops accepting, lets open connections finish within the shutdown grace, cuts the rest,
    /// and returns when the server task has ended.
    pub fn stop(&self) -> Result<(), EngineError> {
        let Some(running) = lock(&self.running).take() else {
            return Err(EngineError::NotRunning);
        };
        running.stop.drain();
        let wait = self.shared.config().shutdown_grace + STOP_SLACK;
        match self
            .runtime
            .block_on(async { tokio::time::timeout(wait, running.task).await })
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(EngineError::Stop(e.to_string())),
            Err(_) => Err(EngineError::Stop(format!("still running after {wait:?}"))),
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if lock(&self.running).is_some() {
            let _ = self.stop();
        }
    }
}
