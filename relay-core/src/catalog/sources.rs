//! Catalog sources: loading M3U playlists from files and http(s) URLs, and reloading them so that
//! a source that fails keeps the channels it had.

use super::{Catalog, Source};
use crate::log;
use crate::proto::m3u::{self, Playlist};
use crate::shutdown::Shutdown;
use crate::sync::lock;
use crate::upstream::{self, Client};
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::AsyncReadExt;

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

/// The configured sources with the last good playlist of each, in configuration order.
#[derive(Debug, Default)]
pub struct Sources {
    list: Mutex<Vec<Source>>,
}

impl Sources {
    /// Sources at these paths or URLs, nothing loaded yet.
    pub fn new(labels: &[String]) -> Sources {
        let list = labels
            .iter()
            .map(|label| Source {
                label: label.clone(),
                playlist: Playlist::default(),
            })
            .collect();
        Sources {
            list: Mutex::new(list),
        }
    }

    /// Fetches every source, keeps the previous playlist of those that fail, and returns the
    /// catalog built from the result.
    pub async fn reload(&self, client: &Client) -> (Catalog, LoadReport) {
        let labels: Vec<String> = lock(&self.list).iter().map(|s| s.label.clone()).collect();
        let mut fetched = Vec::with_capacity(labels.len());
        for label in &labels {
            fetched.push(load_source(client, label).await);
        }
        let mut report = LoadReport::default();
        let mut sources = lock(&self.list);
        for (source, result) in sources.iter_mut().zip(fetched) {
            match result {
                Ok(playlist) => {
                    log!(
                        Info,
                        "catalog {}: {} entries{}",
                        source.label,
                        playlist.entries.len(),
                        skipped_note(&playlist)
                    );
                    source.playlist = playlist;
                    report.loaded += 1;
                }
                Err(why) => {
                    log!(Error, "catalog {}: {why}", source.label);
                    report.failed.push((source.label.clone(), why));
                }
            }
        }
        let catalog = Catalog::from_sources(&sources);
        report.channels = catalog.len();
        (catalog, report)
    }
}

/// Reloads `sources` every `every` and hands each new catalog to `apply`, until the engine
/// drains.
pub async fn refresh_loop(
    sources: std::sync::Arc<Sources>,
    client: Client,
    every: Duration,
    mut shutdown: Shutdown,
    apply: impl Fn(Catalog),
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {
                let (catalog, report) = sources.reload(&client).await;
                apply(catalog);
                log!(Info, "catalog refresh: {} channels", report.channels);
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

/// Reads one catalog source: an http(s) URL through the upstream client, else a file path
/// (`file://` prefix allowed). Parsed as it streams in; at most [`MAX_SOURCE_BYTES`].
pub async fn load_source(client: &Client, label: &str) -> Result<Playlist, String> {
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
        let req = upstream::Request {
            method: upstream::Method::Get,
            url: label,
            headers: &[],
            range: None,
        };
        let mut resp = client.request(&req).await.map_err(|e| e.to_string())?;
        if resp.status() != 200 {
            return Err(format!("answered {} {}", resp.status(), resp.head.reason()));
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
