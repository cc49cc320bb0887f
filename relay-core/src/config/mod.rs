//! Engine configuration. Every setting has a name (the server's flag without `--`, also used by
//! the C ABI's `relay_config_set`, the config file's keys and `RELAY_<NAME>` environment
//! variables) and a documented default, all in one table: [`settings::SETTINGS`].
//! [`Config::set`] validates one setting at a time and changes nothing on error; [`mod@file`] reads
//! the TOML config file onto a `Config`.

pub mod file;
pub mod settings;

use std::net::SocketAddr;
use std::time::Duration;

/// Default listen address: loopback only, so nothing is exposed until the user says so.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default cap on concurrent client connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default time a client has to send a complete request head.
pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time an idle keep-alive client connection is kept open between requests.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time to establish an upstream TCP (and TLS) connection, all addresses together.
pub const DEFAULT_UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time from sending an upstream request to its complete response head.
pub const DEFAULT_UPSTREAM_RESPONSE_TIMEOUT: Duration = Duration::from_secs(15);
/// Default longest silence inside an upstream body before it counts as failed.
pub const DEFAULT_UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time `stop` waits for open connections before cutting them.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The User-Agent sent upstream when a channel sets none. IPTV providers commonly admit only
/// player user agents, so the default is VLC's; `user-agent` or a per-channel option overrides it.
pub const DEFAULT_USER_AGENT: &str = "VLC/3.0.21 LibVLC/3.0.21";
/// Default time a shared upstream stays open after its last viewer left.
pub const DEFAULT_SHARE_LINGER: Duration = Duration::from_secs(5);
/// Default bound of one viewer's queue of a shared channel, in bytes (about 4 s at 4 Mbit/s).
/// The chunks are shared, so this bounds how far a viewer may lag, not memory per viewer.
pub const DEFAULT_VIEWER_QUEUE_BYTES: usize = 2 * 1024 * 1024;
/// Smallest accepted `viewer-queue` (a few packets).
pub const MIN_VIEWER_QUEUE_BYTES: usize = 4 * 1024;
/// The suffix of a `catalog` value that sets the source's provider connection limit.
pub const CATALOG_LIMIT_SUFFIX: &str = "|max-connections=";

/// When viewers of a channel share one upstream connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// Live TS channels: a close-delimited or chunked `200` body asked without `Range`.
    Auto,
    /// Every TS channel asked without `Range`, even with a `Content-Length`.
    Always,
    /// Never: one upstream per viewer.
    Never,
}

/// Which pass-through path a non-shared relay takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayPath {
    /// `splice(2)` for plain-TCP bodies on Linux, the copy loop otherwise.
    Auto,
    /// Like `auto` (splice where possible); named so tests can force it.
    Splice,
    /// Always the copy loop.
    Copy,
}

/// What a viewer of a shared channel does when it falls behind its queue bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowViewer {
    /// Skip forward to the next random-access point.
    Skip,
    /// Disconnect it.
    Drop,
}

/// Default `token-ttl`.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// Shortest `token-ttl` accepted.
pub const MIN_TOKEN_TTL: Duration = Duration::from_secs(60);
/// Default `join-cache-bytes`: about 30 channels' group of pictures at 4 Mbit/s.
pub const DEFAULT_JOIN_CACHE_BYTES: usize = 16 * 1024 * 1024;
/// Default `hls-cache-bytes`.
pub const DEFAULT_HLS_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// A setting that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// No setting has this name.
    UnknownKey(String),
    /// The value does not parse for this setting.
    BadValue { key: String, reason: String },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::UnknownKey(k) => write!(f, "unknown setting {k:?}"),
            ConfigError::BadValue { key, reason } => write!(f, "bad value for {key}: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// All settings of an [`Engine`](crate::engine::Engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `listen`: address to bind; port 0 picks a free one (see `Engine::local_addr`).
    pub listen: SocketAddr,
    /// `public-url`: base of every URL the relay writes into playlists (scheme, host, optional
    /// port and path prefix, no trailing slash). Unset: derived from the bound address, or from
    /// the request's `Host` header when listening on an unspecified address (0.0.0.0 / ::).
    pub public_url: Option<String>,
    /// `catalog` (repeatable) and the config file's `[[source]]` tables: M3U sources, file
    /// paths or http(s) URLs, in order.
    pub sources: Vec<SourceConfig>,
    /// `catalog-refresh`: reload the catalogs this often while running (`off`: only at start,
    /// on SIGHUP or `Engine::reload`). Providers rotate stream URLs and tokens; ids stay stable.
    pub catalog_refresh: Option<Duration>,
    /// `user-agent`: sent upstream when a channel sets none.
    pub user_agent: String,
    /// `max-connections`: concurrent client connections; beyond it new ones get 503 and close.
    pub max_connections: usize,
    /// `head-timeout`: time a client has to send a complete request head (else 408).
    pub head_timeout: Duration,
    /// `idle-timeout`: keep-alive time between requests on one client connection.
    pub idle_timeout: Duration,
    /// `upstream-connect-timeout`: DNS + TCP + TLS to an upstream.
    pub upstream_connect_timeout: Duration,
    /// `upstream-response-timeout`: request sent → complete response head (else 504).
    pub upstream_response_timeout: Duration,
    /// `upstream-idle-timeout`: longest silence inside an upstream body (else the relay is cut).
    pub upstream_idle_timeout: Duration,
    /// `shutdown-grace`: how long `stop` lets open connections finish.
    pub shutdown_grace: Duration,
    /// `threads`: runtime worker threads; 0 = one per core, at most 4.
    pub threads: usize,
    /// `source-max-connections`: upstream connections a source may hold at once when it sets no
    /// limit of its own; 0 = unlimited. Beyond it viewers get 503 with `Retry-After`.
    pub source_max_connections: usize,
    /// `share`: `auto`, `always` or `never` (see [`Share`]).
    pub share: Share,
    /// `share-linger`: how long a shared upstream stays open after its last viewer left.
    pub share_linger: Duration,
    /// `viewer-queue`: bytes a viewer of a shared channel may fall behind before it is skipped
    /// forward (or dropped); `k`/`m` suffixes.
    pub viewer_queue: usize,
    /// `slow-viewer`: `skip` (to the next random-access point) or `drop` (disconnect).
    pub slow_viewer: SlowViewer,
    /// `relay-path`: `auto`, `splice` or `copy` (see [`RelayPath`]).
    pub relay_path: RelayPath,
    /// `token-secret`: the secret HLS sub-resource tokens are sealed with. Set the same one on
    /// every instance behind a load balancer. Unset: a secret kept in `state-dir`, else a random
    /// one per process (tokens then die with it).
    pub token_secret: Option<Secret>,
    /// `state-dir`: where the relay keeps state that should survive restarts (the token secret).
    /// The server defaults it to `$XDG_STATE_HOME/relay` or `~/.local/state/relay`; an embedded
    /// engine keeps nothing on disk unless it is set.
    pub state_dir: Option<std::path::PathBuf>,
    /// `token-ttl`: how long a sub-resource token stays valid (at least; expiry is rounded up to
    /// a quarter hour). A paused VOD player needs its tokens when it resumes.
    pub token_ttl: Duration,
    /// `hls-cache-bytes`: memory for HLS playlists, segments and keys shared between viewers
    /// (`0` keeps nothing after a fetch; concurrent requests still share one). Sizes take `k`,
    /// `m`, `g`.
    pub hls_cache_bytes: usize,
    /// `join-cache-bytes`: memory all shared channels' join caches may hold together (where a
    /// viewer joining a running channel starts); see [`crate::relay::fanout`].
    pub join_cache_bytes: usize,
}

/// A secret setting: kept out of `Debug` output and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            public_url: None,
            sources: Vec::new(),
            catalog_refresh: None,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            head_timeout: DEFAULT_HEAD_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            upstream_connect_timeout: DEFAULT_UPSTREAM_CONNECT_TIMEOUT,
            upstream_response_timeout: DEFAULT_UPSTREAM_RESPONSE_TIMEOUT,
            upstream_idle_timeout: DEFAULT_UPSTREAM_IDLE_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            threads: 0,
            token_secret: None,
            state_dir: None,
            token_ttl: DEFAULT_TOKEN_TTL,
            hls_cache_bytes: DEFAULT_HLS_CACHE_BYTES,
            join_cache_bytes: DEFAULT_JOIN_CACHE_BYTES,
            source_max_connections: 0,
            share: Share::Auto,
            share_linger: DEFAULT_SHARE_LINGER,
            viewer_queue: DEFAULT_VIEWER_QUEUE_BYTES,
            slow_viewer: SlowViewer::Skip,
            relay_path: RelayPath::Auto,
        }
    }
}

impl Config {
    /// Applies one setting by name (see [`settings::SETTINGS`]). `catalog` appends (it is
    /// repeatable); everything else replaces. Durations take `500ms`, `10s`, `2m`, `6h` or a
    /// plain number of seconds; sizes `65536`, `512k`, `32m`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let setting =
            settings::find(key).ok_or_else(|| ConfigError::UnknownKey(key.to_string()))?;
        setting
            .apply(self, value)
            .map_err(|reason| ConfigError::BadValue {
                key: key.to_string(),
                reason,
            })
    }

    /// The catalog paths and URLs, in order (the labels channel ids derive from).
    pub fn catalogs(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.location.as_str()).collect()
    }
}

/// One catalog source: a `catalog` value or a `[[source]]` table of the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// The file path or http(s) URL, as given (relative paths of a config file resolved): the
    /// label channel ids derive from.
    pub location: String,
    /// A name for logs and `--check-config` (the URL itself may carry credentials).
    pub name: Option<String>,
    /// Upstream connections this source may hold at once (`None`: `source-max-connections`).
    pub max_connections: Option<usize>,
    /// User-Agent for the catalog download and this source's streams (a channel's own wins).
    pub user_agent: Option<String>,
    /// Headers for the catalog download and this source's streams (a channel's own win).
    pub headers: Vec<(String, String)>,
    /// Reload this source this often (`None`: `catalog-refresh`).
    pub refresh: Option<Duration>,
}

impl SourceConfig {
    /// A source at `location` with nothing else set.
    pub fn new(location: &str) -> SourceConfig {
        SourceConfig {
            location: location.to_string(),
            name: None,
            max_connections: None,
            user_agent: None,
            headers: Vec::new(),
            refresh: None,
        }
    }

    /// The headers sent for this source: its User-Agent first, then its headers.
    pub fn request_headers(&self) -> Vec<(String, String)> {
        let ua = self
            .user_agent
            .iter()
            .map(|ua| ("User-Agent".to_string(), ua.clone()));
        ua.chain(self.headers.iter().cloned()).collect()
    }

    /// How logs and `--check-config` name it: its name, or its location with any URL redacted
    /// to scheme and host (provider URLs carry credentials), and its options.
    pub fn describe(&self) -> String {
        let lower = self.location.to_ascii_lowercase();
        let place = if lower.starts_with("http://") || lower.starts_with("https://") {
            crate::proto::uri::redact(&self.location)
        } else {
            self.location.clone()
        };
        let mut out = match &self.name {
            Some(name) => format!("{name} ({place})"),
            None => place,
        };
        if let Some(n) = self.max_connections {
            out.push_str(&format!(", max-connections {n}"));
        }
        if let Some(ua) = &self.user_agent {
            out.push_str(&format!(", user-agent {ua:?}"));
        }
        if !self.headers.is_empty() {
            let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
            out.push_str(&format!(", headers {}", names.join(", ")));
        }
        if let Some(every) = self.refresh {
            out.push_str(&format!(", refresh {}", settings::dur(every)));
        }
        out
    }
}

/// Parses a byte size: a plain number, or one with a `k`, `m` or `g` suffix (powers of 1024).
pub fn parse_size(value: &str) -> Result<usize, String> {
    let lower = value.to_ascii_lowercase();
    let (digits, shift) = match lower.strip_suffix(['k', 'm', 'g']) {
        Some(d) if lower.ends_with('k') => (d, 10),
        Some(d) if lower.ends_with('m') => (d, 20),
        Some(d) => (d, 30),
        None => (lower.as_str(), 0),
    };
    digits
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1usize << shift))
        .ok_or_else(|| format!("{value:?} is not a size like 65536, 512k or 32m"))
}

pub(crate) fn parse_count(value: &str, min: usize) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("{value:?} is not a whole number >= {min}")),
    }
}

/// Parses `500ms`, `10s`, `2m`, `6h`, or plain seconds; zero is refused (a zero timeout is a mistake).
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let (num, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => value.split_at(i),
        None => (value, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{value:?} is not a duration like 500ms, 10s, 2m or 6h"))?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => {
            return Err(format!(
                "{value:?} is not a duration like 500ms, 10s, 2m or 6h"
            ));
        }
    };
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

/// Checks a public URL (http or https, a host, no query or fragment) and drops a trailing `/`.
pub(crate) fn parse_public_url(value: &str) -> Result<String, String> {
    let uri = crate::proto::uri::Uri::parse(value).map_err(|e| format!("{value:?}: {e}"))?;
    let ok_scheme = matches!(uri.scheme(), Some("http" | "https"));
    if !ok_scheme || uri.host().is_none_or(str::is_empty) {
        return Err(format!(
            "{value:?} must be an http(s) URL such as http://192.168.1.2:8080"
        ));
    }
    if uri.query().is_some() || uri.fragment().is_some() {
        return Err(format!("{value:?} must not have a query or fragment"));
    }
    Ok(uri.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_cache_settings() {
        let mut c = Config::default();
        assert!(c.set("token-secret", "short").is_err());
        c.set("token-secret", "0123456789abcdef-shared").unwrap();
        assert!(
            !format!("{c:?}").contains("0123456789abcdef"),
            "secret in Debug"
        );
        c.set("token-ttl", "2h").unwrap();
        assert_eq!(c.token_ttl, Duration::from_secs(7200));
        assert!(c.set("token-ttl", "5s").is_err());
        for (v, n) in [
            ("0", 0),
            ("65536", 65536),
            ("512k", 512 << 10),
            ("32M", 32 << 20),
        ] {
            c.set("hls-cache-bytes", v).unwrap();
            assert_eq!(c.hls_cache_bytes, n);
        }
        assert!(c.set("hls-cache-bytes", "lots").is_err());
        assert!(c.set("hls-cache-bytes", "99999999999999999999g").is_err());
        c.set("state-dir", "/var/lib/relay").unwrap();
        assert_eq!(
            c.state_dir.as_deref(),
            Some(std::path::Path::new("/var/lib/relay"))
        );
    }

    #[test]
    fn set_applies_and_refuses() {
        let mut c = Config::default();
        c.set("listen", "0.0.0.0:9000").unwrap();
        assert_eq!(c.listen.port(), 9000);
        c.set("catalog", "a.m3u").unwrap();
        c.set("catalog", "http://x/b.m3u|max-connections=2")
            .unwrap();
        assert_eq!(c.catalogs(), ["a.m3u", "http://x/b.m3u"]);
        let limits: Vec<_> = c.sources.iter().map(|s| s.max_connections).collect();
        assert_eq!(limits, [None, Some(2)]);
        c.set("viewer-queue", "512k").unwrap();
        assert_eq!(c.viewer_queue, 512 * 1024);
        c.set("share", "never").unwrap();
        assert_eq!(c.share, Share::Never);
        c.set("head-timeout", "500ms").unwrap();
        assert_eq!(c.head_timeout, Duration::from_millis(500));
        c.set("idle-timeout", "2m").unwrap();
        assert_eq!(c.idle_timeout, Duration::from_secs(120));
        c.set("upstream-idle-timeout", "7").unwrap();
        assert_eq!(c.upstream_idle_timeout, Duration::from_secs(7));

        let before = c.clone();
        assert!(matches!(
            c.set("nope", "1"),
            Err(ConfigError::UnknownKey(_))
        ));
        assert!(c.set("listen", "localhost").is_err());
        assert!(c.set("head-timeout", "0").is_err());
        assert!(c.set("head-timeout", "10d").is_err());
        c.set("catalog-refresh", "6h").unwrap();
        assert_eq!(c.catalog_refresh, Some(Duration::from_secs(6 * 3600)));
        c.set("catalog-refresh", "off").unwrap();
        assert_eq!(c.catalog_refresh, None);
        assert!(c.set("max-connections", "0").is_err());
        assert!(c.set("user-agent", "a\r\nb").is_err());
        assert!(c.set("public-url", "ftp://x").is_err());
        assert!(c.set("public-url", "http://x/?a=1").is_err());
        assert!(c.set("catalog", "x.m3u|max-connections=0").is_err());
        assert!(c.set("viewer-queue", "1").is_err());
        assert!(c.set("share", "sometimes").is_err());
        assert!(c.set("slow-viewer", "wait").is_err());
        assert_eq!(c, before, "failed settings change nothing");

        c.set("public-url", "http://tv.example:8080/relay/")
            .unwrap();
        assert_eq!(
            c.public_url.as_deref(),
            Some("http://tv.example:8080/relay")
        );
        for key in settings::SETTINGS.iter().map(|s| s.name) {
            assert!(
                !matches!(
                    Config::default().set(key, "x"),
                    Err(ConfigError::UnknownKey(_))
                ),
                "{key} is listed but not handled"
            );
        }
    }
}
