//! Every counter of an engine, in one place: updated with relaxed atomics on the data path, read
//! by `/health` and [`Engine::stats_json`](crate::engine::Engine::stats_json) (and the
//! Prometheus exposition, which reads the same fields).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The counters. Totals only grow; the fields marked *now* are gauges.
#[derive(Debug)]
pub struct Stats {
    /// When the engine was made; `uptime_s` counts from here.
    pub started: Instant,
    /// Client connections accepted.
    pub connections_total: AtomicU64,
    /// Client connections open *now*.
    pub connections_active: AtomicU64,
    /// Requests read (any route).
    pub requests_total: AtomicU64,
    /// Stream bodies being sent *now* (a viewer of a shared channel or of its own upstream).
    pub streams_active: AtomicU64,
    /// Stream body bytes sent, counted when a stream ends.
    pub bytes_relayed: AtomicU64,
    /// HLS playlist and sub-resource requests answered.
    pub hls_requests: AtomicU64,
    /// Upstream fetches made for HLS (one fetch shared by many viewers counts once).
    pub hls_upstream_fetches: AtomicU64,
    /// HLS playlists rewritten (once per upstream fetch, public base and token period; the
    /// rest are served from memory).
    pub hls_playlist_rewrites: AtomicU64,
    /// Bytes of HLS objects held in memory *now*.
    pub hls_cache_bytes: AtomicU64,
    /// Viewers of shared channels *now*.
    pub shared_viewers: AtomicU64,
    /// Shared upstream connections open *now*.
    pub shared_upstreams: AtomicU64,
    /// Times a slow viewer of a shared channel was skipped forward or dropped.
    pub viewer_skips: AtomicU64,
    /// Bytes held *now* by the join caches of shared channels (within `join-cache-bytes`).
    pub join_cache_bytes: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            connections_total: AtomicU64::new(0),
            connections_active: AtomicU64::new(0),
            requests_total: AtomicU64::new(0),
            streams_active: AtomicU64::new(0),
            bytes_relayed: AtomicU64::new(0),
            hls_requests: AtomicU64::new(0),
            hls_upstream_fetches: AtomicU64::new(0),
            hls_playlist_rewrites: AtomicU64::new(0),
            hls_cache_bytes: AtomicU64::new(0),
            shared_viewers: AtomicU64::new(0),
            shared_upstreams: AtomicU64::new(0),
            viewer_skips: AtomicU64::new(0),
            join_cache_bytes: AtomicU64::new(0),
        }
    }
}

/// Adds one to a counter.
pub fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Takes one from a gauge.
pub fn dec(counter: &AtomicU64) {
    counter.fetch_sub(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Stats {
    /// The counters as JSON object members (no braces): `channels` (given, from the catalog),
    /// `uptime_s`, then every field above but `started`, under its own name.
    pub fn json_members(&self, channels: usize) -> String {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "\"channels\":{channels},\"uptime_s\":{},\"connections_total\":{},\"connections_active\":{},\"requests_total\":{},\"streams_active\":{},\"bytes_relayed\":{},\"shared_viewers\":{},\"shared_upstreams\":{},\"viewer_skips\":{},\"join_cache_bytes\":{},\"hls_requests\":{},\"hls_upstream_fetches\":{},\"hls_playlist_rewrites\":{},\"hls_cache_bytes\":{}",
            self.started.elapsed().as_secs(),
            n(&self.connections_total),
            n(&self.connections_active),
            n(&self.requests_total),
            n(&self.streams_active),
            n(&self.bytes_relayed),
            n(&self.shared_viewers),
            n(&self.shared_upstreams),
            n(&self.viewer_skips),
            n(&self.join_cache_bytes),
            n(&self.hls_requests),
            n(&self.hls_upstream_fetches),
            n(&self.hls_playlist_rewrites),
            n(&self.hls_cache_bytes),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_members_name_every_counter() {
        let s = Stats::default();
        inc(&s.requests_total);
        add(&s.bytes_relayed, 5);
        let json = format!("{{{}}}", s.json_members(3));
        for key in [
            "\"channels\":3",
            "\"requests_total\":1",
            "\"bytes_relayed\":5",
            "\"hls_cache_bytes\":0",
        ] {
            assert!(json.contains(key), "{key} in {json}");
        }
        assert_eq!(json.matches(':').count(), 15);
    }
}
