//! Catalog sources: loading M3U playlists from files and http(s) URLs (with each source's
//! headers), reloading them on a schedule so that a source that fails keeps the channels it had,
//! and taking a new source list on reconfiguration (sources still listed keep their channels and
//! their number).

use super::{Catalog, Source};
use crate::config::SourceConfig;
use crate::log;
use crate::proto::m3u::{self, Playlist};
use crate::proto::uri::redact;
use crate::shutdown::Shutdown;
use crate::sync::lock;
use crate::upstream::{self, Client};
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

/// Largest catalog source (M3U file or download) the relay reads.
pub const MAX_SOURCE_BYTES: u64 = 256 * 1024 * 1024;
/// Bytes read from a catalog file at a time.
pub const SOURCE_READ_BYTES: usize = 64 * 1024;

/// The result of loading catalog sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Channels in the catalog afterwards.
    pub channels: usize,
    /// Sources that loaded.
    pub loaded: usize,
    /// Sources that failed, with the reason (on reload they keep their previous channels).
    pub failed: Vec<(String, String)>,
}

/// One configured source and its last good playlist.
#[derive(Debug)]
struct Entry {
    config: SourceConfig,
    source: Source,
    /// When it was last fetched (successfully or not); `None`: never.
    fetched: Option<Instant>,
}

#[derive(Debug, Default)]
struct List {
    entries: Vec<Entry>,
    /// The number the next new source gets.
    next_id: usize,
}

/// The configured sources with the last good playlist of each, in configuration order.
#[derive(Debug, Default)]
pub struct Sources {
    list: Mutex<List>,
}

impl Sources {
    /// These sources, numbered in order from 0, nothing loaded yet.
    pub fn new(configs: &[SourceConfig]) -> Sources {
        let sources = Sources::default();
        sources.reconfigure(configs);
        sources
    }

    /// Takes a new source list: a source already listed (same path or URL) keeps its number and
    /// channels; a new one gets the next number and nothing until it loads. Returns each
    /// source's number and provider connection cap, for the slots.
    pub fn reconfigure(&self, configs: &[SourceConfig]) -> Vec<(usize, Option<usize>)> {
        let mut list = lock(&self.list);
        let mut old = std::mem::take(&mut list.entries);
        for config in configs {
            let kept = old
                .iter()
                .position(|e| e.config.location == config.location)
                .map(|i| old.remove(i));
            let entry = match kept {
                Some(mut e) => {
                    e.source.headers = config.request_headers();
                    e.config = config.clone();
                    e
                }
                None => {
                    let id = list.next_id;
                    list.next_id += 1;
                    let mut source = Source::new(id, &config.location, Playlist::default());
                    source.headers = config.request_headers();
                    Entry {
                        config: config.clone(),
                        source,
                        fetched: None,
                    }
                }
            };
            list.entries.push(entry);
        }
        list.entries
            .iter()
            .map(|e| (e.source.id, e.config.max_connections))
            .collect()
    }

    /// Whether any source is configured.
    pub fn is_empty(&self) -> bool {
        lock(&self.list).entries.is_empty()
    }

    /// Fetches every source, keeps the previous playlist of those that fail, and returns the
    /// catalog built from the result.
    pub async fn reload(&self, client: &Client) -> (Catalog, LoadReport) {
        self.reload_where(client, |_| true).await
    }

    /// Fetches the sources whose refresh interval (their own `refresh`, else `every`) has passed
    /// and returns the new catalog; `None` when none was due.
    pub async fn reload_due(
        &self,
        client: &Client,
        every: Option<Duration>,
    ) -> Option<(Catalog, LoadReport)> {
        let now = Instant::now();
        let due = |e: &Entry| {
            let interval = e.config.refresh.or(every);
            match (e.fetched, interval) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(at), Some(i)) => at + i <= now,
            }
        };
        if !lock(&self.list).entries.iter().any(due) {
            return None;
        }
        Some(self.reload_where(client, due).await)
    }

    /// When the next source is due for a refresh (`None`: never).
    pub fn next_due(&self, every: Option<Duration>) -> Option<Instant> {
        let list = lock(&self.list);
        let now = Instant::now();
        list.entries
            .iter()
            .filter_map(|e| {
                let interval = e.config.refresh.or(every)?;
                Some(e.fetched.map_or(now, |at| at + interval))
            })
            .min()
    }

    async fn reload_where(
        &self,
        client: &Client,
        pick: impl Fn(&Entry) -> bool,
    ) -> (Catalog, LoadReport) {
        let picked: Vec<(usize, SourceConfig)> = lock(&self.list)
            .entries
            .iter()
            .filter(|e| pick(e))
            .map(|e| (e.source.id, e.config.clone()))
            .collect();
        let mut fetched = Vec::with_capacity(picked.len());
        for (id, config) in picked {
            fetched.push((id, config.describe(), load_source(client, &config).await));
        }
        let mut report = LoadReport::default();
        let mut list = lock(&self.list);
        let now = Instant::now();
        for (id, described, result) in fetched {
            // The list may have been reconfigured meanwhile: only sources still listed count.
            let Some(entry) = list.entries.iter_mut().find(|e| e.source.id == id) else {
                continue;
            };
            entry.fetched = Some(now);
            match result {
                Ok(playlist) => {
                    log!(
                        Info,
                        "catalog {described}: {} entries{}",
                        playlist.entries.len(),
                        skipped_note(&playlist)
                    );
                    entry.source.playlist = playlist;
                    report.loaded += 1;
                }
                Err(why) => {
                    log!(Error, "catalog {described}: {why}");
                    report.failed.push((described, why));
                }
            }
        }
        let sources: Vec<&Source> = list.entries.iter().map(|e| &e.source).collect();
        let catalog = Catalog::from_source_refs(&sources);
        report.channels = catalog.len();
        (catalog, report)
    }
}

/// Reloads the sources as their refresh intervals come due (their own `refresh`, else what
/// `every` says at that moment, which a reconfiguration may change) and hands each new catalog
/// to `apply`, until the engine drains.
pub async fn refresh_loop(
    sources: std::sync::Arc<Sources>,
    client: impl Fn() -> Client,
    every: impl Fn() -> Option<Duration>,
    mut shutdown: Shutdown,
    apply: impl Fn(Catalog),
) {
    /// How often the loop looks again when nothing is due (a reconfiguration may add a
    /// refresh).
    const IDLE_CHECK: Duration = Duration::from_secs(60);
    loop {
        let next = sources
            .next_due(every())
            .unwrap_or_else(|| Instant::now() + IDLE_CHECK);
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {
                if let Some((catalog, report)) = sources.reload_due(&client(), every()).await {
                    apply(catalog);
                    log!(Info, "catalog refresh: {} channels", report.channels);
                }
            }
            _ = shutdown.draining() => return,
        }
    }
}

fn skipped_note(playlist: &Playlist) -> String {
    match playlist.skipped_lines {
        0 => String::new(),
        n => format!(" ({n} unusable lines skipped)"),
    }
}

/// Reads one catalog source: an http(s) URL through the upstream client (with the source's
/// headers), else a file path (`file://` prefix allowed). Parsed as it streams in; at most
/// [`MAX_SOURCE_BYTES`]. Errors never name the URL (it may carry credentials).
pub async fn load_source(client: &Client, source: &SourceConfig) -> Result<Playlist, String> {
    let label = source.location.as_str();
    let mut parser = m3u::Parser::new();
    let mut entries = Vec::new();
    let mut total: u64 = 0;
    let mut add = |chunk: &[u8], parser: &mut m3u::Parser| -> Result<(), String> {
        total += chunk.len() as u64;
        if total > MAX_SOURCE_BYTES {
            return Err(format!("larger than {MAX_SOURCE_BYTES} bytes"));
        }
        parser.feed(chunk, &mut entries);
        Ok(())
    };
    let lower = label.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let headers = source.request_headers();
        let req = upstream::Request {
            method: upstream::Method::Get,
            url: label,
            headers: &headers,
            range: None,
        };
        let mut resp = client.request(&req).await.map_err(|e| e.to_string())?;
        if resp.status() != 200 {
            return Err(format!(
                "{} answered {} {}",
                redact(label),
                resp.status(),
                resp.head.reason()
            ));
        }
        while let Some(chunk) = resp.body.chunk().await.map_err(|e| e.to_string())? {
            add(&chunk, &mut parser)?;
        }
    } else {
        let path = label.strip_prefix("file://").unwrap_or(label);
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| format!("cannot open: {e}"))?;
        let mut buf = vec![0u8; SOURCE_READ_BYTES];
        loop {
            let n = file
                .read(&mut buf)
                .await
                .map_err(|e| format!("cannot read: {e}"))?;
            if n == 0 {
                break;
            }
            add(&buf[..n], &mut parser)?;
        }
    }
    let mut playlist = parser.finish(&mut entries);
    playlist.entries = entries;
    Ok(playlist)
}
