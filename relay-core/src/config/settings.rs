//! The one table of settings: name (the flag without `--`, the config file's key, the C ABI's
//! key), environment variable, default, help line, and how a value is parsed and shown.
//! [`Config::set`], the server's `--help`, the README's settings table, the config file and
//! `--check-config` all read it; a test fails when the README's table disagrees.

use super::{
    CATALOG_LIMIT_SUFFIX, Config, MIN_TOKEN_TTL, MIN_VIEWER_QUEUE_BYTES, RelayPath, Secret, Share,
    SlowViewer, SourceConfig, parse_count, parse_duration, parse_public_url, parse_size,
};
use std::time::Duration;

/// How a setting takes its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// One value; a later one replaces it.
    One,
    /// Repeatable: each value adds one (a list given by a higher layer replaces the lower's).
    Many,
}

/// When a changed value takes effect in a running engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// On reload (SIGHUP, `relay_engine_reconfigure`): new requests and streams use it.
    Reload,
    /// Only at the next start (the listener, the runtime, the token keys).
    Restart,
}

/// One setting.
#[derive(Debug)]
pub struct Setting {
    /// The name: `--{name}` on the command line, `{name} = …` in the config file.
    pub name: &'static str,
    /// What the value looks like in `--help` (`ADDR`, `DUR`, `N`, ...).
    pub value: &'static str,
    /// The default as shown to users.
    pub default: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// One value or a list.
    pub arity: Arity,
    /// When a change takes effect.
    pub effect: Effect,
    /// A secret: never printed, never logged.
    pub secret: bool,
    /// A value that is a path (relative paths in a config file resolve against its folder).
    pub path: bool,
    apply: fn(&mut Config, &str) -> Result<(), String>,
    show: fn(&Config) -> Vec<String>,
    /// Empties a list setting (a higher layer's list replaces the lower's).
    clear: fn(&mut Config),
}

impl Setting {
    /// The environment variable: `RELAY_` and the name in upper snake case.
    pub fn env(&self) -> String {
        format!("RELAY_{}", self.name.to_ascii_uppercase().replace('-', "_"))
    }

    /// Applies one value; changes nothing on error.
    pub fn apply(&self, config: &mut Config, value: &str) -> Result<(), String> {
        (self.apply)(config, value.trim())
    }

    /// Empties a list setting before a higher layer gives its own list (a no-op for others).
    pub fn clear(&self, config: &mut Config) {
        (self.clear)(config)
    }

    /// The effective values, for `--check-config` (secrets as `(set)`).
    pub fn show(&self, config: &Config) -> Vec<String> {
        let values = (self.show)(config);
        if self.secret {
            return values.into_iter().map(|_| "(set)".to_string()).collect();
        }
        values
    }
}

/// The setting called `name`.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// A duration as a user writes it: `500ms`, `60s`, `2m`, `6h`.
pub(super) fn dur(d: Duration) -> String {
    let ms = d.as_millis();
    let s = ms / 1000;
    match ms {
        _ if !ms.is_multiple_of(1000) => format!("{ms}ms"),
        _ if s.is_multiple_of(3600) && s >= 3600 => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) && s > 60 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

fn size(n: usize) -> String {
    match n {
        0 => "0".into(),
        _ if n.is_multiple_of(1 << 30) => format!("{}g", n >> 30),
        _ if n.is_multiple_of(1 << 20) => format!("{}m", n >> 20),
        _ if n.is_multiple_of(1 << 10) => format!("{}k", n >> 10),
        _ => n.to_string(),
    }
}

fn opt<T: ToString>(v: &Option<T>) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

const fn one(
    name: &'static str,
    value: &'static str,
    default: &'static str,
    help: &'static str,
    apply: fn(&mut Config, &str) -> Result<(), String>,
    show: fn(&Config) -> Vec<String>,
) -> Setting {
    Setting {
        name,
        value,
        default,
        help,
        arity: Arity::One,
        effect: Effect::Reload,
        secret: false,
        path: false,
        apply,
        show,
        clear: |_| {},
    }
}

impl Setting {
    const fn with_clear(self, clear: fn(&mut Config)) -> Setting {
        Setting { clear, ..self }
    }
}

const fn restart(s: Setting) -> Setting {
    Setting {
        effect: Effect::Restart,
        ..s
    }
}

/// Every setting, in the order `--help` and the README list them.
pub static SETTINGS: &[Setting] = &[
    restart(one(
        "listen",
        "ADDR",
        "127.0.0.1:8080",
        "address to serve on; port 0 picks a free one (0.0.0.0:8080 for the LAN)",
        |c, v| {
            c.listen = v
                .parse()
                .map_err(|_| format!("{v:?} is not an address like 127.0.0.1:8080"))?;
            Ok(())
        },
        |c| vec![c.listen.to_string()],
    )),
    one(
        "public-url",
        "URL",
        "derived",
        "base of every URL in playlists; unset: the listen address, or the request's Host when listening on 0.0.0.0/::",
        |c, v| {
            c.public_url = Some(parse_public_url(v)?);
            Ok(())
        },
        |c| opt(&c.public_url),
    ),
    Setting {
        arity: Arity::Many,
        path: true,
        ..one(
            "catalog",
            "PATH|URL",
            "none",
            "M3U source, file or http(s); repeatable; a |max-connections=N suffix caps the upstream connections of that source",
            |c, v| {
                let (location, limit) = match v.rsplit_once(CATALOG_LIMIT_SUFFIX) {
                    Some((location, n)) => (location.trim(), Some(parse_count(n.trim(), 1)?)),
                    None => (v, None),
                };
                if location.is_empty() {
                    return Err("empty path or URL".into());
                }
                c.sources.push(SourceConfig {
                    max_connections: limit,
                    ..SourceConfig::new(location)
                });
                Ok(())
            },
            |c| c.sources.iter().map(SourceConfig::describe).collect(),
        )
    }
    .with_clear(|c| c.sources.clear()),
    one(
        "catalog-refresh",
        "DUR|off",
        "off",
        "reload the catalogs this often (ids stay stable; a failing source keeps its channels)",
        |c, v| {
            c.catalog_refresh = match v {
                "off" | "never" => None,
                _ => Some(parse_duration(v)?),
            };
            Ok(())
        },
        |c| vec![c.catalog_refresh.map_or("off".into(), dur)],
    ),
    one(
        "user-agent",
        "UA",
        "VLC/3.0.21 LibVLC/3.0.21",
        "sent upstream when a channel sets none (providers often admit only player agents)",
        |c, v| {
            if v.is_empty() || v.bytes().any(|b| b.is_ascii_control()) {
                return Err("must be non-empty printable text".into());
            }
            c.user_agent = v.to_string();
            Ok(())
        },
        |c| vec![c.user_agent.clone()],
    ),
    restart(one(
        "max-connections",
        "N",
        "1024",
        "client connections at once; beyond: 503",
        |c, v| {
            c.max_connections = parse_count(v, 1)?;
            Ok(())
        },
        |c| vec![c.max_connections.to_string()],
    )),
    one(
        "head-timeout",
        "DUR",
        "10s",
        "time to receive a request head",
        |c, v| {
            c.head_timeout = parse_duration(v)?;
            Ok(())
        },
        |c| vec![dur(c.head_timeout)],
    ),
    one(
        "idle-timeout",
        "DUR",
        "60s",
        "keep-alive idle time",
        |c, v| {
            c.idle_timeout = parse_duration(v)?;
            Ok(())
        },
        |c| vec![dur(c.idle_timeout)],
    ),
    one(
        "upstream-connect-timeout",
        "DUR",
        "10s",
        "DNS + TCP + TLS to an upstream",
        |c, v| {
            c.upstream_connect_timeout = parse_duration(v)?;
            Ok(())
        },
        |c| vec![dur(c.upstream_connect_timeout)],
    ),
    one(
        "upstream-response-timeout",
        "DUR",
        "15s",
        "request sent → response head",
        |c, v| {
            c.upstream_response_timeout = parse_duration(v)?;
            Ok(())
        },
        |c| vec![dur(c.upstream_response_timeout)],
    ),
    one(
        "upstream-idle-timeout",
        "DUR",
        "30s",
        "longest silence inside an upstream body",
        |c, v| {
            c.upstream_idle_timeout = parse_duration(v)?;
            Ok(())
        },
        |c| vec![dur(c.upstream_idle_timeout)],
    ),
    one(
        "shutdown-grace",
        "DUR",
        "5s",
        "on stop, open streams play on this long before they are cut",
        |c, v| {
            c.shutdown_grace = parse_duration(v)?;
            Ok(())
        },
        |c| vec![dur(c.shutdown_grace)],
    ),
    restart(one(
        "threads",
        "N",
        "0",
        "runtime worker threads; 0 = one per core, at most 4",
        |c, v| {
            c.threads = parse_count(v, 0)?;
            Ok(())
        },
        |c| vec![c.threads.to_string()],
    )),
    Setting {
        secret: true,
        ..restart(one(
            "token-secret",
            "TEXT",
            "kept in the state dir",
            "secret sealing HLS links (at least 16 characters); the same on every instance behind a load balancer",
            |c, v| {
                if v.len() < crate::token::MIN_SECRET_BYTES {
                    return Err(format!(
                        "use at least {} characters",
                        crate::token::MIN_SECRET_BYTES
                    ));
                }
                c.token_secret = Some(Secret(v.to_string()));
                Ok(())
            },
            |c| c.token_secret.iter().map(|_| String::new()).collect(),
        ))
    },
    Setting {
        path: true,
        ..restart(one(
            "token-secret-file",
            "PATH",
            "none",
            "read token-secret from this file (its first line), so the secret stays out of flags and config files",
            |c, v| {
                let text = std::fs::read_to_string(v).map_err(|e| format!("{v}: {e}"))?;
                let secret = text.lines().next().unwrap_or("").trim();
                (find("token-secret").expect("listed").apply)(c, secret)
                    .map_err(|e| format!("{v}: {e}"))
            },
            |_| Vec::new(),
        ))
    },
    Setting {
        path: true,
        ..restart(one(
            "state-dir",
            "DIR",
            "$XDG_STATE_HOME/relay or ~/.local/state/relay",
            "where the token secret is kept; if it cannot be written, links last as long as the process (with a warning); an embedded engine keeps nothing on disk unless this is set",
            |c, v| {
                if v.is_empty() {
                    return Err("empty path".into());
                }
                c.state_dir = Some(v.into());
                Ok(())
            },
            |c| c.state_dir.iter().map(|d| d.display().to_string()).collect(),
        ))
    },
    one(
        "token-ttl",
        "DUR",
        "24h",
        "how long an HLS link stays valid (rounded up to a quarter hour; a paused VOD player needs its links when it resumes)",
        |c, v| {
            let ttl = parse_duration(v)?;
            if ttl < MIN_TOKEN_TTL {
                return Err(format!("shorter than {MIN_TOKEN_TTL:?}"));
            }
            c.token_ttl = ttl;
            Ok(())
        },
        |c| vec![dur(c.token_ttl)],
    ),
    one(
        "hls-cache-bytes",
        "SIZE",
        "32m",
        "memory for HLS playlists, segments and keys shared by viewers (k, m, g suffixes); 0 keeps nothing after a fetch (concurrent requests still share one)",
        |c, v| {
            c.hls_cache_bytes = parse_size(v)?;
            Ok(())
        },
        |c| vec![size(c.hls_cache_bytes)],
    ),
    one(
        "source-max-connections",
        "N",
        "0 (no cap)",
        "upstream connections a source may hold when it sets no cap of its own; beyond: 503 + Retry-After",
        |c, v| {
            c.source_max_connections = parse_count(v, 0)?;
            Ok(())
        },
        |c| vec![c.source_max_connections.to_string()],
    ),
    one(
        "share",
        "auto|always|never",
        "auto",
        "one upstream for all viewers of a channel: auto shares live TS (a 200 without length, asked without Range or with the players' bytes=0-), always also TS with a length; files and ranges are never shared",
        |c, v| {
            c.share = match v {
                "auto" => Share::Auto,
                "always" => Share::Always,
                "never" => Share::Never,
                _ => return Err(format!("{v:?} is not auto, always or never")),
            };
            Ok(())
        },
        |c| vec![format!("{:?}", c.share).to_ascii_lowercase()],
    ),
    one(
        "share-linger",
        "DUR",
        "5s",
        "a shared upstream stays open this long after its last viewer left (zapping back is instant)",
        |c, v| {
            c.share_linger = parse_duration(v)?;
            Ok(())
        },
        |c| vec![dur(c.share_linger)],
    ),
    one(
        "viewer-queue",
        "SIZE",
        "2m",
        "how far (bytes, k/m) a viewer of a shared channel may fall behind",
        |c, v| {
            let n = parse_size(v)?;
            if n < MIN_VIEWER_QUEUE_BYTES {
                return Err(format!("must be at least {MIN_VIEWER_QUEUE_BYTES} bytes"));
            }
            c.viewer_queue = n;
            Ok(())
        },
        |c| vec![size(c.viewer_queue)],
    ),
    one(
        "slow-viewer",
        "skip|drop",
        "skip",
        "a viewer beyond its queue skips forward to the next keyframe, or is disconnected",
        |c, v| {
            c.slow_viewer = match v {
                "skip" => SlowViewer::Skip,
                "drop" => SlowViewer::Drop,
                _ => return Err(format!("{v:?} is not skip or drop")),
            };
            Ok(())
        },
        |c| vec![format!("{:?}", c.slow_viewer).to_ascii_lowercase()],
    ),
    one(
        "relay-path",
        "auto|splice|copy",
        "auto",
        "pass-through for one viewer: splice(2) for plain-TCP bodies on Linux, else a copy loop",
        |c, v| {
            c.relay_path = match v {
                "auto" => RelayPath::Auto,
                "splice" => RelayPath::Splice,
                "copy" => RelayPath::Copy,
                _ => return Err(format!("{v:?} is not auto, splice or copy")),
            };
            Ok(())
        },
        |c| vec![format!("{:?}", c.relay_path).to_ascii_lowercase()],
    ),
    // --- issue 10: the data path
    one(
        "join-cache-bytes",
        "SIZE",
        "16m",
        "memory the join caches of all shared channels may hold together (a viewer joining a running channel starts there at once); channels with one viewer and no recent join get half of it; a joiner of a channel without a cache waits for its next keyframe",
        |c, v| {
            c.join_cache_bytes = parse_size(v)?;
            Ok(())
        },
        |c| vec![size(c.join_cache_bytes)],
    ),
];

/// The settings as `--help` lists them: `  --name VALUE   help (default D)`, wrapped at 100
/// columns.
pub fn usage() -> String {
    const WIDTH: usize = 100;
    let left = |s: &Setting| format!("  --{} {}", s.name, s.value);
    let col = SETTINGS.iter().map(|s| left(s).len()).max().unwrap_or(0) + 2;
    let mut out = String::new();
    for s in SETTINGS {
        let mut line = format!("{:<col$}", left(s));
        let text = format!("{} (default {})", s.help, s.default);
        let mut width = line.len();
        for word in text.split(' ') {
            if width + word.len() + 1 > WIDTH && width > col {
                out.push_str(line.trim_end());
                out.push('\n');
                line = " ".repeat(col);
                width = col;
            }
            line.push_str(word);
            line.push(' ');
            width += word.len() + 1;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The README's settings table (Markdown), between its `<!-- settings -->` markers.
pub fn markdown_table() -> String {
    let mut out = String::from("| flag | env | default | meaning |\n|---|---|---|---|\n");
    for s in SETTINGS {
        let value = s.value.replace('|', "\\|");
        let help = s.help.replace('|', "\\|");
        let restart = match s.effect {
            Effect::Restart => " (restart to change)",
            Effect::Reload => "",
        };
        out.push_str(&format!(
            "| `--{} {value}` | `{}` | {} | {help}{restart} |\n",
            s.name,
            s.env(),
            s.default.replace('|', "\\|"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_defaults_agree_with_config_default() {
        let mut names: Vec<_> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SETTINGS.len());
        let c = Config::default();
        for s in SETTINGS {
            let shown = s.show(&c);
            let default = s.default;
            let agrees = match shown.as_slice() {
                [] => !default.chars().next().is_some_and(|c| c.is_ascii_digit()),
                [v] => default == v || default.starts_with(&format!("{v} ")),
                _ => false,
            };
            assert!(
                agrees,
                "{}: default {default:?}, Config::default {shown:?}",
                s.name
            );
        }
    }

    #[test]
    fn every_shown_value_applies_back() {
        let mut c = Config::default();
        c.set("catalog", "a.m3u|max-connections=2").unwrap();
        c.set("public-url", "http://tv:1").unwrap();
        c.set("catalog-refresh", "90m").unwrap();
        c.set("head-timeout", "1500ms").unwrap();
        for s in SETTINGS.iter().filter(|s| !s.secret && !s.path) {
            let mut again = Config::default();
            for v in s.show(&c) {
                s.apply(&mut again, &v).unwrap();
            }
            assert_eq!(s.show(&again), s.show(&c), "{}", s.name);
        }
    }

    #[test]
    fn the_readme_table_is_the_settings_table() {
        let readme = include_str!("../../../README.md");
        let begin = "<!-- settings:begin (generated from relay-core/src/config/settings.rs; a test checks it) -->\n";
        let end = "<!-- settings:end -->";
        let table = readme
            .split_once(begin)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(t, _)| t);
        let want = markdown_table();
        assert_eq!(
            table,
            Some(want.as_str()),
            "README.md's settings table differs; put this between its markers:\n{begin}{want}{end}"
        );
    }

    #[test]
    fn usage_lists_every_setting_within_100_columns() {
        let u = usage();
        for s in SETTINGS {
            assert!(
                u.contains(&format!("--{} {}", s.name, s.value)),
                "{}",
                s.name
            );
        }
        assert!(u.lines().all(|l| l.len() <= 100), "{u}");
    }
}
