//! The server wing: sockets in, answers out.
//!
//! The data path reads one way: `listener` accepts → `session` reads a request head →
//! `router` picks a route (given a `context`) → `routes` decide the answer (a `Reply` value:
//! they never touch the socket) → the session writes the head and, for a stream, hands the
//! socket to [`relay::session`](crate::relay::session), which moves the bytes.
//!
//! [`serve`] runs on any tokio runtime: the [`Engine`](crate::engine::Engine) drives it on its own
//! runtime, tests can drive it on theirs.

mod context;
mod listener;
mod reply;
mod router;
mod routes;
mod session;

pub use listener::serve;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::events::Events;
use crate::relay::fanout::{FanoutOptions, Hub};
use crate::relay::objects::{self, Cache};
use crate::relay::pool::BufferPool;
use crate::relay::session as relay_session;
use crate::slots::Slots;
use crate::stats::Stats;
use crate::sync;
use crate::token;
use crate::upstream::Client;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Largest request body the relay reads (and discards); larger ones get 413. No route of this
/// version takes a body, so this only keeps keep-alive connections in step.
pub const MAX_REQUEST_BODY_BYTES: u64 = 64 * 1024;
/// Initial capacity of a connection's read buffer, and its growth step (player request heads are a
/// few hundred bytes; every viewer holds one while it connects).
pub const READ_BUFFER_BYTES: usize = 1024;
/// A client that accepts no bytes for this long while being sent a stream is disconnected, so a
/// vanished player does not hold an upstream connection (and a provider slot) forever.
pub const CLIENT_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a closing connection keeps reading (and discarding) what the client still sends.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
/// Most bytes discarded while lingering.
pub const LINGER_MAX_BYTES: usize = 64 * 1024;
/// The buffer a lingering connection discards into.
pub const LINGER_BUFFER_BYTES: usize = 4096;
/// Pause after an accept error (e.g. out of file descriptors) before accepting again.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// `Retry-After` (seconds) on the 503 of a connection beyond `max-connections`.
pub const TOO_MANY_CONNECTIONS_RETRY_AFTER_SECS: u64 = 5;

/// What every connection shares: settings, the catalog, the upstream client and counters.
#[derive(Debug)]
pub struct Shared {
    /// The settings. Readers clone the `Arc` (a request sees one consistent set); a
    /// [reconfiguration](Shared::reconfigure) swaps in a new one.
    config: RwLock<Arc<Config>>,
    /// The current catalog. Readers clone the `Arc` and keep a consistent snapshot for the whole
    /// request while a reload swaps in a new one.
    catalog: RwLock<Arc<Catalog>>,
    /// The upstream client (TLS settings, timeouts, default User-Agent); replaced when those
    /// settings change.
    client: RwLock<Client>,
    /// Every counter, for `/health` and [`Engine::stats_json`](crate::engine::Engine::stats_json).
    pub stats: Arc<Stats>,
    /// Seals and opens the tokens of HLS sub-resource URLs.
    pub tokens: token::Keys,
    /// HLS playlists, segments and keys shared between viewers.
    hls_cache: Arc<Cache>,
    /// Shared channels (one upstream, many viewers).
    pub hub: Arc<Hub>,
    /// Provider connection slots per source.
    pub slots: Arc<Slots>,
    /// Buffers of the copy loop.
    pub buffers: BufferPool,
    /// The embedder's event sink (viewers and upstreams of streams), shared with the hub.
    pub events: Arc<Events>,
}

impl Shared {
    /// Shared state with token keys chosen as [`token::Keys::for_instance`] does (a state dir
    /// that cannot be used is logged, and tokens then end with the process).
    pub fn new(config: Config, client: Client) -> Shared {
        let secret = config.token_secret.as_ref().map(|s| s.0.as_bytes());
        let keys = match token::Keys::for_instance(secret, config.state_dir.as_deref()) {
            Ok(keys) => keys,
            Err((path, e)) => {
                crate::log!(
                    Warn,
                    "cannot keep the token secret in {}: {e}; HLS links end with the process",
                    path.display()
                );
                token::Keys::random()
            }
        };
        Shared::with_keys(config, client, keys)
    }

    /// Shared state sealing tokens with `keys`.
    pub fn with_keys(config: Config, client: Client, keys: token::Keys) -> Shared {
        let stats = Arc::new(Stats::default());
        let hls_cache = Arc::new(Cache::new(
            config.hls_cache_bytes,
            stats.clone(),
            objects::Meters {
                fetches: |s| &s.hls_upstream_fetches,
                held: |s| &s.hls_cache_bytes,
            },
        ));
        let default_limit = Some(config.source_max_connections).filter(|&n| n > 0);
        let limits = config.sources.iter().map(|s| s.max_connections).collect();
        let slots = Slots::new(limits, default_limit);
        let events = Arc::new(Events::default());
        let hub = Hub::new(stats.clone(), events.clone(), config.join_cache_bytes);
        Shared {
            config: RwLock::new(Arc::new(config)),
            catalog: RwLock::new(Arc::new(Catalog::default())),
            client: RwLock::new(client),
            hub: Arc::new(hub),
            stats,
            tokens: keys,
            hls_cache,
            slots: Arc::new(slots),
            buffers: BufferPool::new(),
            events,
        }
    }

    /// The current settings.
    pub fn config(&self) -> Arc<Config> {
        sync::read(&self.config).clone()
    }

    /// The current upstream client.
    pub fn client(&self) -> Client {
        sync::read(&self.client).clone()
    }

    /// Takes new settings while running: every setting marked
    /// [`Effect::Reload`](crate::config::settings::Effect) applies to new requests and streams
    /// (streams running keep what they started with); the others keep their running value.
    /// Returns the names of changed settings that wait for a restart. The provider caps of
    /// sources are set by [`Slots::set_limits`] with the source numbers, which the caller knows.
    pub fn reconfigure(&self, mut config: Config) -> Vec<&'static str> {
        use crate::config::settings::{Effect, SETTINGS};
        let old = self.config();
        let mut waiting = Vec::new();
        for s in SETTINGS.iter().filter(|s| s.effect == Effect::Restart) {
            if s.show(&config) != s.show(&old) {
                waiting.push(s.name);
            }
        }
        // What only a restart changes keeps its running value.
        config.listen = old.listen;
        config.max_connections = old.max_connections;
        config.threads = old.threads;
        config.token_secret.clone_from(&old.token_secret);
        config.state_dir.clone_from(&old.state_dir);
        let options = crate::upstream::ClientOptions::from_config(&config);
        if options != crate::upstream::ClientOptions::from_config(&old) {
            let client = self.client().with_options(options);
            *sync::write(&self.client) = client;
        }
        self.hls_cache.set_budget(config.hls_cache_bytes);
        self.hub.set_join_cache_bytes(config.join_cache_bytes);
        *sync::write(&self.config) = Arc::new(config);
        waiting
    }

    fn fanout_options(&self) -> FanoutOptions {
        let config = self.config();
        FanoutOptions {
            viewer_queue: config.viewer_queue,
            slow_viewer: config.slow_viewer,
            linger: config.share_linger,
        }
    }

    /// What the stream driver needs of this state.
    fn relay_context(&self) -> relay_session::Context<'_> {
        let config = self.config();
        relay_session::Context {
            stats: &self.stats,
            events: &self.events,
            buffers: &self.buffers,
            options: relay_session::Options {
                path: config.relay_path,
                upstream_idle: config.upstream_idle_timeout,
                client_stall: CLIENT_STALL_TIMEOUT,
            },
        }
    }

    /// A snapshot of the current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        sync::read(&self.catalog).clone()
    }

    /// The counters as JSON object members (no braces), for `/health` and
    /// [`Engine::stats_json`](crate::engine::Engine::stats_json): see [`Stats::json_members`].
    pub fn counters_json(&self) -> String {
        self.stats.json_members(self.catalog().len())
    }

    /// Replaces the catalog; requests in flight keep the snapshot they started with.
    pub fn set_catalog(&self, catalog: Catalog) {
        *sync::write(&self.catalog) = Arc::new(catalog);
    }
}
