//! Engine configuration. Every setting has a name (the server's flag without `--`, also used by
//! the C ABI's `relay_config_set` and by `RELAY_<NAME>` environment variables) and a documented
//! default. [`Config::set`] validates one setting at a time and changes nothing on error.

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
    /// `catalog` (repeatable): M3U sources, file paths or http(s) URLs, in order.
    pub catalogs: Vec<String>,
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
    /// Per source, the provider connection limit given as a `|max-connections=N` suffix of its
    /// `catalog` value (`None`: `source-max-connections` applies). Same order as `catalogs`.
    pub catalog_max_connections: Vec<Option<usize>>,
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
            catalogs: Vec::new(),
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
            catalog_max_connections: Vec::new(),
            source_max_connections: 0,
            share: Share::Auto,
            share_linger: DEFAULT_SHARE_LINGER,
            viewer_queue: DEFAULT_VIEWER_QUEUE_BYTES,
            slow_viewer: SlowViewer::Skip,
            relay_path: RelayPath::Auto,
        }
    }
}

/// The names [`Config::set`] accepts, in the order the server's `--help` lists them.
pub const KEYS: &[&str] = &[
    "listen",
    "public-url",
    "catalog",
    "catalog-refresh",
    "user-agent",
    "max-connections",
    "head-timeout",
    "idle-timeout",
    "upstream-connect-timeout",
    "upstream-response-timeout",
    "upstream-idle-timeout",
    "shutdown-grace",
    "threads",
    "token-secret",
    "state-dir",
    "token-ttl",
    "hls-cache-bytes",
    "source-max-connections",
    "share",
    "share-linger",
    "viewer-queue",
    "slow-viewer",
    "relay-path",
];

impl Config {
    /// Applies one setting by name. `catalog` appends (it is repeatable); everything else replaces.
    /// Durations take `500ms`, `10s`, `2m`, `6h` or a plain number of seconds.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let bad = |reason: String| ConfigError::BadValue {
            key: key.to_string(),
            reason,
        };
        let value = value.trim();
        match key {
            "listen" => {
                self.listen = value
                    .parse()
                    .map_err(|_| bad(format!("{value:?} is not an address like 127.0.0.1:8080")))?
            }
            "public-url" => self.public_url = Some(parse_public_url(value).map_err(bad)?),
            "catalog" => {
                let (source, limit) = match value.rsplit_once(CATALOG_LIMIT_SUFFIX) {
                    Some((source, n)) => {
                        (source.trim(), Some(parse_count(n.trim(), 1).map_err(bad)?))
                    }
                    None => (value, None),
                };
                if source.is_empty() {
                    return Err(bad("empty path or URL".into()));
                }
                self.catalogs.push(source.to_string());
                self.catalog_max_connections.push(limit);
            }
            "source-max-connections" => {
                self.source_max_connections = parse_count(value, 0).map_err(bad)?
            }
            "share" => {
                self.share = match value {
                    "auto" => Share::Auto,
                    "always" => Share::Always,
                    "never" => Share::Never,
                    _ => return Err(bad(format!("{value:?} is not auto, always or never"))),
                }
            }
            "share-linger" => self.share_linger = parse_duration(value).map_err(bad)?,
            "viewer-queue" => {
                let n = parse_size(value).map_err(bad)?;
                if n < MIN_VIEWER_QUEUE_BYTES {
                    return Err(bad(format!(
                        "must be at least {MIN_VIEWER_QUEUE_BYTES} bytes"
                    )));
                }
                self.viewer_queue = n
            }
            "slow-viewer" => {
                self.slow_viewer = match value {
                    "skip" => SlowViewer::Skip,
                    "drop" => SlowViewer::Drop,
                    _ => return Err(bad(format!("{value:?} is not skip or drop"))),
                }
            }
            "relay-path" => {
                self.relay_path = match value {
                    "auto" => RelayPath::Auto,
                    "splice" => RelayPath::Splice,
                    "copy" => RelayPath::Copy,
                    _ => return Err(bad(format!("{value:?} is not auto, splice or copy"))),
                }
            }
            "catalog-refresh" => {
                self.catalog_refresh = match value {
                    "off" | "never" => None,
                    _ => Some(parse_duration(value).map_err(bad)?),
                }
            }
            "user-agent" => {
                if value.is_empty() || value.bytes().any(|b| b.is_ascii_control()) {
                    return Err(bad("must be non-empty printable text".into()));
                }
                self.user_agent = value.to_string()
            }
            "max-connections" => self.max_connections = parse_count(value, 1).map_err(bad)?,
            "threads" => self.threads = parse_count(value, 0).map_err(bad)?,
            "head-timeout" => self.head_timeout = parse_duration(value).map_err(bad)?,
            "idle-timeout" => self.idle_timeout = parse_duration(value).map_err(bad)?,
            "upstream-connect-timeout" => {
                self.upstream_connect_timeout = parse_duration(value).map_err(bad)?
            }
            "upstream-response-timeout" => {
                self.upstream_response_timeout = parse_duration(value).map_err(bad)?
            }
            "upstream-idle-timeout" => {
                self.upstream_idle_timeout = parse_duration(value).map_err(bad)?
            }
            "shutdown-grace" => self.shutdown_grace = parse_duration(value).map_err(bad)?,
            "token-secret" => {
                if value.len() < crate::token::MIN_SECRET_BYTES {
                    return Err(bad(format!(
                        "use at least {} characters",
                        crate::token::MIN_SECRET_BYTES
                    )));
                }
                self.token_secret = Some(Secret(value.to_string()))
            }
            "state-dir" => {
                if value.is_empty() {
                    return Err(bad("empty path".into()));
                }
                self.state_dir = Some(value.into())
            }
            "token-ttl" => {
                let ttl = parse_duration(value).map_err(bad)?;
                if ttl < MIN_TOKEN_TTL {
                    return Err(bad(format!("shorter than {MIN_TOKEN_TTL:?}")));
                }
                self.token_ttl = ttl
            }
            "hls-cache-bytes" => self.hls_cache_bytes = parse_size(value).map_err(bad)?,
            _ => return Err(ConfigError::UnknownKey(key.to_string())),
        }
        Ok(())
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

fn parse_count(value: &str, min: usize) -> Result<usize, String> {
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
fn parse_public_url(value: &str) -> Result<String, String> {
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
        assert_eq!(c.catalogs, ["a.m3u", "http://x/b.m3u"]);
        assert_eq!(c.catalog_max_connections, [None, Some(2)]);
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
        for key in KEYS {
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
