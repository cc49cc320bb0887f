//! `relay-server`: flags and environment → [`relay_core::engine::Engine`]. Everything that decides
//! behaviour lives in relay-core; this file only reads settings, starts the engine, and handles
//! signals (SIGINT/SIGTERM stop with a drain, SIGHUP reloads the catalogs).

use relay_core::config::{Config, KEYS};
use relay_core::engine::{Engine, EngineError};
use relay_core::log;
use std::process::ExitCode;

const USAGE: &str = "\
relay-server: an IPTV relay. Give it M3U catalogs; it serves one clean playlist and relays every stream.

usage: relay-server [--listen ADDR] [--public-url URL] [--catalog PATH|URL]... [options]

  --listen ADDR                      address to listen on (default 127.0.0.1:8080; 0.0.0.0:8080 for the LAN)
  --public-url URL                   base URL written into playlists (default: from the listen address,
                                     or the request's Host header when listening on 0.0.0.0)
  --catalog PATH|URL                 an M3U playlist file or http(s) URL; repeat for several;
                                     a |max-connections=N suffix caps that source's upstream connections
  --catalog-refresh DUR|off          reload the catalogs this often (default off)
  --user-agent UA                    User-Agent sent upstream when a channel sets none
  --max-connections N                concurrent client connections (default 1024)
  --head-timeout DUR                 time to receive a request head (default 10s)
  --idle-timeout DUR                 keep-alive idle time (default 60s)
  --upstream-connect-timeout DUR     upstream DNS+TCP+TLS time (default 10s)
  --upstream-response-timeout DUR    upstream response head time (default 15s)
  --upstream-idle-timeout DUR        longest upstream body silence (default 30s)
  --shutdown-grace DUR               time open connections get on stop (default 5s)
  --threads N                        worker threads, 0 = auto (default 0)
  --token-secret TEXT                secret that seals HLS links (>= 16 chars; same on every instance
                                     behind a load balancer; default: kept in the state dir)
  --state-dir DIR                    where the token secret is kept (default $XDG_STATE_HOME/relay
                                     or ~/.local/state/relay)
  --token-ttl DUR                    how long HLS links stay valid (default 24h)
  --hls-cache-bytes SIZE             memory for HLS playlists/segments shared by viewers (default 32m)
  --source-max-connections N         upstream connections per source without its own cap, 0 = no cap (default 0)
  --share auto|always|never          one upstream for all viewers of a live channel (default auto)
  --share-linger DUR                 a shared upstream stays open this long after its last viewer (default 5s)
  --viewer-queue SIZE                how far a viewer of a shared channel may lag (default 2m)
  --slow-viewer skip|drop            a viewer beyond that skips to the next keyframe, or is dropped (default skip)
  --relay-path auto|splice|copy      pass-through path (default auto: splice for plain TCP on Linux)
  -h, --help                         this text
  -V, --version                      the version

Every option can also be set as an environment variable RELAY_<NAME> (e.g. RELAY_LISTEN,
RELAY_PUBLIC_URL; RELAY_CATALOG takes several sources separated by commas). Flags win over the
environment. RELAY_LOG sets the log level: off, error, warn, info (default), debug, trace.
Durations: 500ms, 10s, 2m, 6h or plain seconds.

Signals: SIGINT/SIGTERM stop (open streams get the shutdown grace), SIGHUP reloads the catalogs.
";

fn env_name(key: &str) -> String {
    format!("RELAY_{}", key.to_ascii_uppercase().replace('-', "_"))
}

/// Settings from the environment, then from flags (flags win; `--catalog` flags replace
/// `RELAY_CATALOG`).
fn parse_settings(args: Vec<String>) -> Result<Option<Config>, String> {
    let mut config = Config::default();
    let mut flag_catalogs = Vec::new();
    let mut it = args.into_iter();
    let mut flags = Vec::new();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("relay-server {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            _ => {}
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument {arg:?} (see --help)"));
        };
        let (key, value) = match flag.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => {
                let value = it.next().ok_or_else(|| format!("--{flag} needs a value"))?;
                (flag.to_string(), value)
            }
        };
        if !KEYS.contains(&key.as_str()) {
            return Err(format!("unknown option --{key} (see --help)"));
        }
        if key == "catalog" {
            flag_catalogs.push(value);
        } else {
            flags.push((key, value));
        }
    }
    for key in KEYS {
        let Ok(value) = std::env::var(env_name(key)) else {
            continue;
        };
        if *key == "catalog" {
            if flag_catalogs.is_empty() {
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    config
                        .set(key, part)
                        .map_err(|e| format!("{}: {e}", env_name(key)))?;
                }
            }
        } else {
            config
                .set(key, &value)
                .map_err(|e| format!("{}: {e}", env_name(key)))?;
        }
    }
    for (key, value) in flags {
        config
            .set(&key, &value)
            .map_err(|e| format!("--{key}: {e}"))?;
    }
    for value in flag_catalogs {
        config
            .set("catalog", &value)
            .map_err(|e| format!("--catalog: {e}"))?;
    }
    Ok(Some(config))
}

/// `$XDG_STATE_HOME/relay`, else `$HOME/.local/state/relay`.
fn default_state_dir() -> Option<std::path::PathBuf> {
    let nonempty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(state) = nonempty("XDG_STATE_HOME") {
        return Some(std::path::PathBuf::from(state).join("relay"));
    }
    nonempty("HOME").map(|home| std::path::PathBuf::from(home).join(".local/state/relay"))
}

fn main() -> ExitCode {
    if let Ok(level) = std::env::var("RELAY_LOG") {
        match log::Level::parse(&level) {
            Ok(level) => log::set_level(level),
            Err(e) => {
                eprintln!("relay-server: RELAY_LOG: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let config = match parse_settings(std::env::args().skip(1).collect()) {
        Ok(Some(config)) => config,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relay-server: {e}");
            return ExitCode::from(2);
        }
    };
    let mut config = config;
    let default_state = config.state_dir.is_none() && config.token_secret.is_none();
    if default_state {
        config.state_dir = default_state_dir();
    }
    let engine = match Engine::new(config.clone()) {
        Ok(engine) => engine,
        // The default place is only a convenience: without it, links last as long as the process.
        Err(e @ EngineError::State { .. }) if default_state => {
            relay_core::log!(
                Warn,
                "{e}; HLS links will not survive a restart (set --state-dir or --token-secret)"
            );
            config.state_dir = None;
            match Engine::new(config) {
                Ok(engine) => engine,
                Err(e) => {
                    eprintln!("relay-server: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        Err(e) => {
            eprintln!("relay-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let catalogs = engine.config().catalogs.len();
    // Handlers go in before anything is announced, so a signal sent right after the listening
    // line is never met by the default action (which kills without draining).
    let signals = match engine.block_on(async { Signals::install() }) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("relay-server: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = engine.reload();
    let addr = match engine.start() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("relay-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Listening on 0.0.0.0/::, each request's Host header names the host.
    let public = engine.config().public_url.clone().unwrap_or_else(|| {
        if addr.ip().is_unspecified() {
            format!("http://<host>:{}", addr.port())
        } else {
            format!("http://{addr}")
        }
    });
    relay_core::log!(
        Info,
        "relay {} listening on {addr}: {} channels from {} of {catalogs} catalogs; playlist at {}/playlist.m3u8",
        env!("CARGO_PKG_VERSION"),
        report.channels,
        report.loaded,
        public,
    );
    if catalogs == 0 {
        relay_core::log!(
            Warn,
            "no catalog given: pass --catalog PATH_OR_URL (or RELAY_CATALOG) with an M3U playlist; serving an empty playlist"
        );
    }
    engine.block_on(signals.wait(&engine));
    match engine.stop() {
        Ok(()) => {
            relay_core::log!(Info, "relay stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("relay-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The signals the server acts on, installed on the engine's runtime.
#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Returns at SIGTERM or SIGINT; reloads the catalogs at each SIGHUP.
    async fn wait(mut self, engine: &Engine) {
        loop {
            tokio::select! {
                _ = self.term.recv() => break,
                _ = self.int.recv() => break,
                _ = self.hup.recv() => {
                    let report = engine.reload_async().await;
                    relay_core::log!(Info, "reloaded: {} channels", report.channels);
                }
            }
        }
        relay_core::log!(Info, "stopping");
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals)
    }

    async fn wait(self, _engine: &Engine) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
