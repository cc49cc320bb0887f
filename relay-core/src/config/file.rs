//! The config file: TOML, read onto a [`Config`] with the `toml` crate and serde.
//!
//! ```toml
//! listen = "0.0.0.0:8080"          # top-level keys are the settings' names (see --help)
//! share = "auto"
//! catalog-refresh = "6h"
//!
//! [[source]]                        # one table per catalog source
//! name = "provider"
//! url = "http://provider.example/get.php?username=u&password=p&type=m3u_plus"
//! max-connections = 1
//! user-agent = "TiviMate/4.7"
//! headers = { Referer = "http://provider.example/" }
//! refresh = "1h"
//!
//! [[source]]
//! path = "local.m3u"                # relative paths resolve against the file's folder
//! ```
//!
//! Values are TOML strings, integers (durations in seconds, sizes in bytes), booleans, or arrays
//! for repeatable settings (`catalog = ["a.m3u", "b.m3u"]`). Unknown keys, wrong types and bad
//! values are refused with the file, line and column; nothing of a refused file is applied.
//! Secrets belong in `*-file` settings or the environment (`token-secret-file`,
//! `RELAY_TOKEN_SECRET`), though an inline `token-secret` is read too.

use super::settings::{self, Arity};
use super::{CATALOG_LIMIT_SUFFIX, Config, SourceConfig, parse_count, parse_duration};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Largest config file read.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Tables later versions will read; named in the error instead of "unknown setting".
const RESERVED: &[(&str, &str)] = &[
    ("channel", "channels with explicit alternates (failover)"),
    ("guide", "XMLTV guide sources"),
    ("rule", "catalog shaping rules"),
    ("view", "named catalog views"),
    ("scheduled", "scheduled channels"),
    ("webhook", "webhooks"),
];

/// Why a config file was refused: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file, when read from one.
    pub path: Option<PathBuf>,
    /// 1-based line (0 when the error has no place, e.g. the file cannot be read).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong, in one line.
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self
            .path
            .as_deref()
            .map_or_else(|| "config".to_string(), |p| p.display().to_string());
        match self.line {
            0 => write!(f, "{path}: {}", self.message),
            line => write!(f, "{path}:{line}:{}: {}", self.column, self.message),
        }
    }
}

impl std::error::Error for FileError {}

/// Reads the file at `path` onto `config` (relative paths in it resolve against its folder).
/// On error `config` is unchanged.
pub fn load(config: &mut Config, path: &Path) -> Result<(), FileError> {
    let fail = |message: String| FileError {
        path: Some(path.to_path_buf()),
        line: 0,
        column: 0,
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let base = path.parent().filter(|p| !p.as_os_str().is_empty());
    apply(config, &text, base).map_err(|e| FileError {
        path: Some(path.to_path_buf()),
        ..e
    })
}

#[derive(serde::Deserialize)]
struct Tables {
    #[serde(default)]
    source: Vec<SourceTable>,
    /// Everything else: the settings, read with their places below.
    #[serde(flatten)]
    _settings: toml::Table,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SourceTable {
    url: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    name: Option<String>,
    max_connections: Option<Spanned<i64>>,
    user_agent: Option<Spanned<String>>,
    headers: Option<Spanned<BTreeMap<String, String>>>,
    refresh: Option<Spanned<toml::Value>>,
}

/// Applies config file `text` onto `config`; `base` is the folder relative paths resolve
/// against (none: the current directory). On error `config` is unchanged.
pub fn apply(config: &mut Config, text: &str, base: Option<&Path>) -> Result<(), FileError> {
    let at = |span: std::ops::Range<usize>, message: String| place(text, span.start, message);
    let toml_error = |e: toml::de::Error| {
        let start = e.span().map_or(0, |s| s.start);
        place(text, start, e.message().trim().to_string())
    };
    let tables: Tables = toml::from_str(text).map_err(toml_error)?;
    let entries: BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(text).map_err(toml_error)?;
    let mut next = config.clone();
    // Keys in the order they appear, so errors come in reading order.
    let mut entries: Vec<_> = entries.into_iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in entries {
        let name = key.get_ref().as_str();
        if name == "source" {
            continue;
        }
        if let Some((_, what)) = RESERVED.iter().find(|(r, _)| *r == name) {
            return Err(at(
                key.span(),
                format!("`{name}` ({what}) is not supported by this version"),
            ));
        }
        let Some(setting) = settings::find(name) else {
            return Err(at(
                key.span(),
                format!("unknown setting `{name}` (see relay-server --help)"),
            ));
        };
        let values =
            match (value.get_ref(), setting.arity) {
                (toml::Value::Array(items), Arity::Many) => items
                    .iter()
                    .map(scalar)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        at(
                            value.span(),
                            format!("`{name}` takes strings or numbers in its list"),
                        )
                    })?,
                (toml::Value::Array(_), Arity::One) => {
                    return Err(at(
                        value.span(),
                        format!("`{name}` takes one value, not a list"),
                    ));
                }
                (v, _) => vec![scalar(v).ok_or_else(|| {
                    at(value.span(), format!("`{name}` takes a string or a number"))
                })?],
            };
        for v in values {
            let v = if setting.path { resolve(&v, base) } else { v };
            setting
                .apply(&mut next, &v)
                .map_err(|e| at(value.span(), format!("`{name}`: {e}")))?;
        }
    }
    for table in tables.source {
        let source = table.into_config(text, base)?;
        next.sources.push(source);
    }
    *config = next;
    Ok(())
}

impl SourceTable {
    fn into_config(self, text: &str, base: Option<&Path>) -> Result<SourceConfig, FileError> {
        let at = |span: std::ops::Range<usize>, message: &str| {
            place(text, span.start, message.to_string())
        };
        let location = match (self.url, self.path) {
            (Some(url), None) => {
                let lower = url.get_ref().to_ascii_lowercase();
                if !lower.starts_with("http://") && !lower.starts_with("https://") {
                    return Err(at(
                        url.span(),
                        "`url` must be an http(s) URL (use `path` for files)",
                    ));
                }
                url.into_inner()
            }
            (None, Some(path)) => {
                if path.get_ref().trim().is_empty() {
                    return Err(at(path.span(), "`path` is empty"));
                }
                resolve(path.get_ref(), base)
            }
            (Some(url), Some(_)) => {
                return Err(at(
                    url.span(),
                    "a [[source]] has a `url` or a `path`, not both",
                ));
            }
            (None, None) => {
                return Err(place(
                    text,
                    0,
                    "a [[source]] needs a `url` or a `path`".to_string(),
                ));
            }
        };
        let mut source = SourceConfig::new(&location);
        source.name = self.name;
        if let Some(n) = self.max_connections {
            let value = n.get_ref().to_string();
            source.max_connections = Some(
                parse_count(&value, 1)
                    .map_err(|e| at(n.span(), &format!("`max-connections`: {e}")))?,
            );
        }
        if let Some(ua) = self.user_agent {
            if ua.get_ref().is_empty() || ua.get_ref().bytes().any(|b| b.is_ascii_control()) {
                return Err(at(
                    ua.span(),
                    "`user-agent` must be non-empty printable text",
                ));
            }
            source.user_agent = Some(ua.into_inner());
        }
        if let Some(headers) = self.headers {
            let span = headers.span();
            for (name, value) in headers.into_inner() {
                let token = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                if !token || value.bytes().any(|b| b == b'\r' || b == b'\n') {
                    return Err(at(
                        span.clone(),
                        &format!("`headers`: {name:?} is not a header name with a one-line value"),
                    ));
                }
                source.headers.push((name, value));
            }
        }
        if let Some(refresh) = self.refresh {
            let value = scalar(refresh.get_ref())
                .ok_or_else(|| at(refresh.span(), "`refresh` takes a duration such as \"6h\""))?;
            source.refresh = Some(
                parse_duration(&value)
                    .map_err(|e| at(refresh.span(), &format!("`refresh`: {e}")))?,
            );
        }
        Ok(source)
    }
}

/// A TOML scalar as the text a flag would carry.
fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Float(x) => Some(x.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A path value made absolute against `base` when it is relative (URLs, absolute paths and a
/// `catalog` value's `|max-connections=N` suffix are left as they are).
fn resolve(value: &str, base: Option<&Path>) -> String {
    let Some(base) = base else {
        return value.to_string();
    };
    let (path, suffix) = match value.rsplit_once(CATALOG_LIMIT_SUFFIX) {
        Some((p, n)) => (p, format!("{CATALOG_LIMIT_SUFFIX}{n}")),
        None => (value, String::new()),
    };
    let url = path.contains("://");
    if url || Path::new(path).is_absolute() || path.is_empty() {
        return value.to_string();
    }
    format!("{}{suffix}", base.join(path).display())
}

/// A [`FileError`] at byte `offset` of `text`.
fn place(text: &str, offset: usize, message: String) -> FileError {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    FileError {
        path: None,
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn load_text(text: &str) -> Result<Config, FileError> {
        let mut c = Config::default();
        apply(&mut c, text, Some(Path::new("/etc/relay")))?;
        Ok(c)
    }

    #[test]
    fn settings_and_sources_load() {
        let c = load_text(
            r#"
listen = "0.0.0.0:9000"
share-linger = 7          # seconds
hls-cache-bytes = "8m"
catalog = ["a.m3u", "http://x/b.m3u|max-connections=2"]

[[source]]
name = "provider"
url = "http://provider.example/get.php?u=1,2"
max-connections = 1
user-agent = "TiviMate/4.7"
headers = { Referer = "http://provider.example/", X-Token = "t" }
refresh = "1h"

[[source]]
path = "lists/local.m3u"
"#,
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.share_linger, Duration::from_secs(7));
        assert_eq!(c.hls_cache_bytes, 8 << 20);
        assert_eq!(
            c.catalogs(),
            [
                "/etc/relay/a.m3u",
                "http://x/b.m3u",
                "http://provider.example/get.php?u=1,2",
                "/etc/relay/lists/local.m3u"
            ]
        );
        let p = &c.sources[2];
        assert_eq!(p.name.as_deref(), Some("provider"));
        assert_eq!(p.max_connections, Some(1));
        assert_eq!(p.refresh, Some(Duration::from_secs(3600)));
        assert_eq!(
            p.request_headers(),
            [
                ("User-Agent".to_string(), "TiviMate/4.7".to_string()),
                (
                    "Referer".to_string(),
                    "http://provider.example/".to_string()
                ),
                ("X-Token".to_string(), "t".to_string()),
            ]
        );
        assert_eq!(c.sources[1].max_connections, Some(2));
        assert!(!p.describe().contains("get.php"), "{}", p.describe());
    }

    #[test]
    fn mistakes_are_refused_with_their_place_and_change_nothing() {
        for (text, line, column, needle) in [
            (
                "listen = \"0.0.0.0:1\"\nlisen = \"x\"\n",
                2,
                1,
                "unknown setting `lisen`",
            ),
            ("share = \"sometimes\"\n", 1, 9, "`share`"),
            ("threads = [1, 2]\n", 1, 11, "not a list"),
            ("public-url = { a = 1 }\n", 1, 14, "a string or a number"),
            ("[[source]]\nurl = \"x.m3u\"\n", 2, 7, "http(s) URL"),
            (
                "[[source]]\nurl = \"http://a\"\n\n[[source]]\npath = \"b\"\nmax-conections = 2\n",
                6,
                1,
                "max-conections",
            ),
            (
                "[[source]]\npath = \"a\"\nmax-connections = 0\n",
                3,
                19,
                ">= 1",
            ),
            ("[[channel]]\nname = \"x\"\n", 1, 3, "not supported"),
            ("listen = \n", 1, 10, "quoted"),
            ("[[source]]\nname = \"n\"\n", 1, 1, "`url` or a `path`"),
        ] {
            let mut c = Config::default();
            c.set("catalog", "kept.m3u").unwrap();
            let before = c.clone();
            let e = apply(&mut c, text, None).unwrap_err();
            assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
            assert_eq!(c, before, "{text:?} changed the config");
        }
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let dir = std::env::temp_dir().join(format!("relay-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("relay.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\nbogus = 1\n").unwrap();
        let e = load(&mut Config::default(), &path).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:2:1: unknown setting `bogus` (see relay-server --help)",
                path.display()
            )
        );
        let missing = load(&mut Config::default(), &dir.join("nope.toml")).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_readme_example_is_the_example_file_and_loads() {
        let example = include_str!("../../../examples/relay.toml");
        let readme = include_str!("../../../README.md");
        let shown = readme
            .split_once("<!-- config-example -->\n```toml\n")
            .and_then(|(_, rest)| rest.split_once("```"))
            .map(|(t, _)| t);
        assert_eq!(
            shown,
            Some(example),
            "README's example differs from examples/relay.toml"
        );
        let mut c = Config::default();
        apply(&mut c, example, Some(Path::new("examples"))).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(c.catalog_refresh, Some(Duration::from_secs(6 * 3600)));
        assert_eq!(c.sources.len(), 2);
        let provider = &c.sources[0];
        assert_eq!(provider.max_connections, Some(2));
        assert_eq!(provider.user_agent.as_deref(), Some("TiviMate/4.7.0"));
        assert_eq!(provider.headers.len(), 1);
        assert_eq!(c.sources[1].location, "examples/channels.m3u");
        assert!(!provider.describe().contains("s3cret"));
    }
}
