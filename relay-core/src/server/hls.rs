//! HLS channels: the channel's playlist at `/stream/{id}.m3u8`, every sub-resource (variant
//! playlist, segment, key, init map, part) at `/r/{token}.{ext}`.
//!
//! Playlists are rewritten per request (the public URL may differ per client) from upstream bytes
//! shared through [`Cache`]: concurrent requests for one upstream URL make one upstream fetch, and
//! the result is kept briefly (a live playlist for half its target duration, a segment or key for
//! [`OBJECT_TTL`]). Objects too large to share, and byte ranges of objects not already held,
//! are relayed straight from their own upstream request.

use super::{Reply, RequestContext, relay_reply};
use crate::catalog::Channel;
use crate::log;
use crate::proto::hls::{self, Kind, RewriteError};
use crate::proto::http::ByteRange;
use crate::proto::uri::Uri;
use crate::token::{self, Token, TokenError};
use crate::upstream::{self, Client, UpstreamError};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Largest segment, key or map shared between viewers through memory; larger ones are relayed
/// to each viewer from its own upstream request.
pub const MAX_SHARED_OBJECT_BYTES: usize = 32 * 1024 * 1024;
/// How long a fetched segment, key, map or part stays shared after its fetch.
pub const OBJECT_TTL: Duration = Duration::from_secs(30);
/// How long a multivariant (master) playlist stays shared.
pub const MASTER_TTL: Duration = Duration::from_secs(10);
/// How long a finished (VOD, `#EXT-X-ENDLIST`) media playlist stays shared.
pub const VOD_PLAYLIST_TTL: Duration = Duration::from_secs(60);
/// The share time of a live media playlist without `#EXT-X-TARGETDURATION`.
pub const LIVE_PLAYLIST_TTL_FALLBACK: Duration = Duration::from_secs(1);

/// An upstream object held in memory.
#[derive(Debug)]
pub(super) struct Object {
    body: Bytes,
    /// The URL that answered, after redirects (playlists resolve relative URIs against it).
    url: Uri,
    content_type: Option<String>,
}

/// Why a shared fetch gave no object.
#[derive(Debug, Clone)]
enum Failure {
    /// The object is too large to share: relay it directly instead.
    TooLarge,
    /// The answer for the client: status (502/504) and reason.
    Upstream { status: u16, reason: String },
}

type Outcome = Result<Arc<Object>, Failure>;

enum Slot {
    /// A fetch is running; its outcome arrives here.
    Pending(watch::Receiver<Option<Outcome>>),
    Ready {
        object: Arc<Object>,
        expires: Instant,
    },
}

/// Upstream objects shared between viewers: one fetch per URL at a time, results kept for a
/// while within a memory budget (`hls-cache-bytes`; the oldest go first).
pub(crate) struct Cache {
    budget: usize,
    slots: Mutex<HashMap<String, Slot>>,
    /// Upstream fetches started (shared and direct), for the stats.
    fetches: AtomicU64,
}

/// Bytes of the objects in `slots`.
fn held(slots: &HashMap<String, Slot>) -> usize {
    slots
        .values()
        .map(|s| match s {
            Slot::Ready { object, .. } => object.body.len(),
            Slot::Pending(_) => 0,
        })
        .sum()
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Cache {
    pub(crate) fn new(budget: usize) -> Cache {
        Cache {
            budget,
            slots: Mutex::new(HashMap::new()),
            fetches: AtomicU64::new(0),
        }
    }

    /// Bytes of objects held now.
    pub(crate) fn held_bytes(&self) -> usize {
        held(&self.lock())
    }

    /// Upstream fetches made for HLS so far (a shared fetch counts once).
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The object held for `key` if it is still fresh.
    fn peek(&self, key: &str) -> Option<Arc<Object>> {
        match self.lock().get(key) {
            Some(Slot::Ready { object, expires }) if *expires > Instant::now() => {
                Some(object.clone())
            }
            _ => None,
        }
    }

    /// The object for `key`: held, being fetched by another request (wait for it), or fetched
    /// now by `fetch`, which runs as its own task so a viewer leaving does not fail the others.
    /// `fetch` returns the object and how long it may be shared.
    async fn get<F>(self: &Arc<Self>, key: &str, fetch: F) -> Outcome
    where
        F: Future<Output = Result<(Object, Duration), Failure>> + Send + 'static,
    {
        let mut fetch = Some(fetch);
        loop {
            let mut rx = {
                let mut slots = self.lock();
                match slots.get(key) {
                    Some(Slot::Ready { object, expires }) if *expires > Instant::now() => {
                        return Ok(object.clone());
                    }
                    Some(Slot::Pending(rx)) => rx.clone(),
                    _ => {
                        let Some(fetch) = fetch.take() else {
                            // Our own fetch task vanished (runtime shutting down).
                            return Err(Failure::Upstream {
                                status: 502,
                                reason: "fetch abandoned".into(),
                            });
                        };
                        self.fetches.fetch_add(1, Ordering::Relaxed);
                        let (tx, rx) = watch::channel(None);
                        slots.insert(key.to_string(), Slot::Pending(rx.clone()));
                        let cache = self.clone();
                        let key = key.to_string();
                        let mine = rx.clone();
                        tokio::spawn(async move {
                            let outcome = fetch.await.map(|(o, ttl)| (Arc::new(o), ttl));
                            cache.finish(&key, &mine, &outcome);
                            let _ = tx.send(Some(outcome.map(|(object, _)| object)));
                        });
                        rx
                    }
                }
            };
            match rx.wait_for(Option::is_some).await {
                Ok(outcome) => return outcome.clone().expect("waited for Some"),
                // The fetching task died without an outcome: try again.
                Err(_) => continue,
            }
        }
    }

    /// Records a finished fetch: keeps the object if it may be shared and fits the budget,
    /// else forgets the key. Only the fetch that owns the slot may change it.
    fn finish(
        &self,
        key: &str,
        mine: &watch::Receiver<Option<Outcome>>,
        outcome: &Result<(Arc<Object>, Duration), Failure>,
    ) {
        let mut slots = self.lock();
        let owned = matches!(slots.get(key), Some(Slot::Pending(rx)) if rx.same_channel(mine));
        if !owned {
            return;
        }
        slots.remove(key);
        let now = Instant::now();
        let Ok((object, ttl)) = outcome else { return };
        if ttl.is_zero() || object.body.len() > self.budget {
            return;
        }
        // Make room: drop expired entries, then the ones expiring first.
        slots.retain(|_, s| !matches!(s, Slot::Ready { expires, .. } if *expires <= now));
        let mut total = held(&slots);
        while total + object.body.len() > self.budget {
            let oldest = slots
                .iter()
                .filter_map(|(k, s)| match s {
                    Slot::Ready { expires, object } => {
                        Some((k.clone(), *expires, object.body.len()))
                    }
                    Slot::Pending(_) => None,
                })
                .min_by_key(|(_, expires, _)| *expires);
            let Some((k, _, n)) = oldest else { break };
            slots.remove(&k);
            total -= n;
        }
        slots.insert(
            key.to_string(),
            Slot::Ready {
                object: object.clone(),
                expires: now + *ttl,
            },
        );
    }
}

/// The answer to `GET /stream/{id}` for an HLS channel: its playlist, rewritten.
pub(super) async fn channel(ctx: &RequestContext<'_>, ch: &Arc<Channel>) -> Reply {
    ctx.shared
        .stats
        .hls_requests
        .fetch_add(1, Ordering::Relaxed);
    playlist(ctx, ch, ch.url()).await
}

/// `GET|HEAD /r/{token}[.ext]`.
pub(super) async fn resource(ctx: &RequestContext<'_>, name: &str) -> Reply {
    ctx.shared
        .stats
        .hls_requests
        .fetch_add(1, Ordering::Relaxed);
    let sealed = name.split_once('.').map_or(name, |(t, _)| t);
    let token = match ctx.shared.tokens.open(sealed, token::now_secs()) {
        Ok(t) => t,
        Err(e) => {
            log!(Debug, "{}: refused token: {e}", ctx.peer);
            let reason = match e {
                TokenError::Expired => "link expired; reload the playlist",
                _ => "no such resource",
            };
            return Reply::error(404, reason);
        }
    };
    let catalog = ctx.shared.catalog();
    let Some(ch) = catalog.get(&token.channel) else {
        return Reply::error(404, "the channel of this link is gone");
    };
    let ch = ch.clone();
    match token.kind {
        Kind::Playlist => playlist(ctx, &ch, &token.url).await,
        kind => object(ctx, &ch, kind, &token.url).await,
    }
}

/// A playlist of `ch` at `url`, fetched (or shared) and rewritten for this client.
async fn playlist(ctx: &RequestContext<'_>, ch: &Arc<Channel>, url: &str) -> Reply {
    let fetched = ctx
        .shared
        .hls_cache
        .get(
            url,
            fetch(ctx.shared.client.clone(), ch.clone(), url.to_string(), true),
        )
        .await;
    let object = match fetched {
        Ok(o) => o,
        Err(f) => return failure_reply(ctx, ch, url, f),
    };
    let base = ctx.public_base();
    let keys = &ctx.shared.tokens;
    let expires = token::expiry(token::now_secs(), ctx.shared.config.token_ttl);
    let mut out = Vec::with_capacity(object.body.len() + object.body.len() / 2);
    let rewritten = hls::rewrite(&object.body, &object.url, &mut out, |t| {
        let sealed = keys.seal(&Token {
            channel: ch.id.clone(),
            kind: t.kind,
            url: t.uri.as_str().to_string(),
            expires,
        })?;
        Ok::<_, TokenError>(format!("{base}/r/{sealed}.{}", extension(t.kind, t.uri)))
    });
    let summary = match rewritten {
        Ok(s) => s,
        Err(e) => {
            let reason = match e {
                RewriteError::NotPlaylist => "upstream did not send an HLS playlist".to_string(),
                e => format!("upstream playlist refused: {e}"),
            };
            log!(Warn, "channel {} ({}): {url}: {reason}", ch.id, ch.name());
            return Reply::error(502, &reason);
        }
    };
    let mut reply = memory_reply(ctx, Bytes::from(out), "application/vnd.apple.mpegurl");
    let cache = if summary.endlist {
        "max-age=10"
    } else {
        "no-cache"
    };
    reply.header("Cache-Control", cache);
    reply
}

/// A segment, key, map, part or data file of `ch`.
async fn object(ctx: &RequestContext<'_>, ch: &Arc<Channel>, kind: Kind, url: &str) -> Reply {
    let range = ctx.head.header("range").and_then(ByteRange::parse);
    let cache = &ctx.shared.hls_cache;
    // A range of an object not held is asked of the upstream (byte-range segments may be
    // slices of one large file); `bytes=0-` (VLC asks it of everything) is the whole object.
    let whole = range.is_none_or(|r| r.resolve(u64::MAX) == Some((0, u64::MAX - 1)));
    let shared = match cache.peek(url) {
        Some(o) => Some(Ok(o)),
        None if whole => Some(
            cache
                .get(
                    url,
                    fetch(
                        ctx.shared.client.clone(),
                        ch.clone(),
                        url.to_string(),
                        false,
                    ),
                )
                .await,
        ),
        None => None,
    };
    match shared {
        Some(Ok(o)) => {
            let ct = content_type(kind, &o.url, o.content_type.as_deref());
            let mut reply = memory_reply(ctx, o.body.clone(), ct);
            reply.header("Cache-Control", "max-age=60");
            reply
        }
        Some(Err(Failure::Upstream { status, reason })) => {
            log!(Warn, "channel {} ({}): {url}: {reason}", ch.id, ch.name());
            Reply::error(status, &reason)
        }
        Some(Err(Failure::TooLarge)) | None => direct(ctx, ch, kind, url, range).await,
    }
}

/// Relays an object from its own upstream request (large objects, byte ranges).
async fn direct(
    ctx: &RequestContext<'_>,
    ch: &Arc<Channel>,
    kind: Kind,
    url: &str,
    range: Option<ByteRange>,
) -> Reply {
    let req = upstream::Request {
        method: upstream::Method::Get,
        url,
        headers: &ch.headers,
        range,
    };
    ctx.shared.hls_cache.fetches.fetch_add(1, Ordering::Relaxed);
    match ctx.shared.client.request(&req).await {
        Ok(resp) => {
            let ct = content_type(kind, &resp.url, resp.head.header_str("content-type"));
            relay_reply(ctx, ch, resp, range, ct.to_string(), None)
        }
        Err(e) => failure_reply(ctx, ch, url, upstream_failure(e)),
    }
}

fn failure_reply(ctx: &RequestContext<'_>, ch: &Channel, url: &str, f: Failure) -> Reply {
    let (status, reason) = match f {
        Failure::TooLarge => (502, "upstream playlist too large".to_string()),
        Failure::Upstream { status, reason } => (status, reason),
    };
    log!(
        Warn,
        "channel {} ({}) for {}: {}: {reason}",
        ch.id,
        ch.name(),
        ctx.peer,
        redact(url)
    );
    Reply::error(status, &reason)
}

/// A URL for logs: scheme and host only (provider URLs carry credentials).
fn redact(url: &str) -> String {
    match Uri::parse(url) {
        Ok(u) => format!(
            "{}://{}/…",
            u.scheme().unwrap_or("?"),
            u.host().unwrap_or("?")
        ),
        Err(_) => "(bad url)".into(),
    }
}

fn upstream_failure(e: UpstreamError) -> Failure {
    match e {
        UpstreamError::TooLarge { .. } => Failure::TooLarge,
        e => Failure::Upstream {
            status: e.status(),
            reason: e.to_string(),
        },
    }
}

/// Fetches `url` with the channel's headers into memory. Playlists may be up to
/// [`hls::MAX_PLAYLIST_BYTES`]; other objects up to [`MAX_SHARED_OBJECT_BYTES`].
async fn fetch(
    client: Client,
    ch: Arc<Channel>,
    url: String,
    playlist: bool,
) -> Result<(Object, Duration), Failure> {
    let req = upstream::Request {
        method: upstream::Method::Get,
        url: &url,
        headers: &ch.headers,
        range: None,
    };
    let mut resp = client.request(&req).await.map_err(upstream_failure)?;
    if resp.status() != 200 {
        return Err(Failure::Upstream {
            status: 502,
            reason: format!("upstream answered {} {}", resp.status(), resp.head.reason()),
        });
    }
    let limit = if playlist {
        hls::MAX_PLAYLIST_BYTES
    } else {
        MAX_SHARED_OBJECT_BYTES
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Failure::TooLarge);
    }
    let body = resp
        .body
        .read_to_end(limit)
        .await
        .map_err(upstream_failure)?;
    let ttl = if playlist {
        playlist_ttl(&body)
    } else {
        OBJECT_TTL
    };
    let content_type = resp.head.header_str("content-type").map(str::to_string);
    Ok((
        Object {
            body,
            url: resp.url,
            content_type,
        },
        ttl,
    ))
}

/// How long a playlist may be shared: a live media playlist for half its target duration
/// (viewers still see every update in time), a master or finished playlist longer.
fn playlist_ttl(body: &[u8]) -> Duration {
    let find = |needle: &[u8]| memchr::memmem::find(body, needle);
    if find(b"#EXT-X-STREAM-INF").is_some() {
        return MASTER_TTL;
    }
    if find(b"#EXT-X-ENDLIST").is_some() {
        return VOD_PLAYLIST_TTL;
    }
    let target = find(b"#EXT-X-TARGETDURATION:").and_then(|at| {
        let rest = &body[at + b"#EXT-X-TARGETDURATION:".len()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        std::str::from_utf8(&rest[..digits])
            .ok()?
            .parse::<u64>()
            .ok()
    });
    match target {
        Some(secs) if secs > 0 => Duration::from_millis(secs.saturating_mul(500)),
        _ => LIVE_PLAYLIST_TTL_FALLBACK,
    }
}

/// The extension of a relay URL: the upstream's when it is a known media extension, else the
/// kind's usual one. Playlists are always `m3u8` (players decide by it).
fn extension(kind: Kind, uri: &Uri) -> &'static str {
    const KNOWN: &[&str] = &[
        "ts", "m4s", "mp4", "m4a", "m4v", "aac", "ac3", "ec3", "mp3", "vtt", "webvtt", "key",
        "json", "jpg", "jpeg", "png", "cmfv", "cmfa", "cmft", "mpegts",
    ];
    if kind == Kind::Playlist {
        return "m3u8";
    }
    let ext = crate::catalog::url_extension(uri.path()).map(str::to_ascii_lowercase);
    match ext.as_deref().and_then(|e| KNOWN.iter().find(|k| **k == e)) {
        Some(k) => k,
        None => kind.default_ext(),
    }
}

/// The `Content-Type` of an object: the upstream's when it names a real media type, else one
/// from the URL's extension, else the kind's usual one.
fn content_type(kind: Kind, url: &Uri, upstream: Option<&str>) -> &'static str {
    /// Upstream types kept as they are.
    const KNOWN: &[&str] = &[
        "video/mp2t",
        "video/mp4",
        "audio/mp4",
        "audio/aac",
        "audio/mpeg",
        "text/vtt",
        "video/iso.segment",
        "application/json",
    ];
    if kind == Kind::Key {
        return kind.default_content_type();
    }
    let essence = upstream
        .and_then(|ct| ct.split(';').next())
        .map(|e| e.trim().to_ascii_lowercase());
    if let Some(known) = KNOWN.iter().find(|k| essence.as_deref() == Some(**k)) {
        return known;
    }
    match extension(kind, url) {
        "ts" | "mpegts" => "video/mp2t",
        "mp4" | "m4s" | "m4v" | "cmfv" => "video/mp4",
        "m4a" | "cmfa" => "audio/mp4",
        "aac" => "audio/aac",
        "ac3" => "audio/ac3",
        "ec3" => "audio/eac3",
        "mp3" => "audio/mpeg",
        "vtt" | "webvtt" | "cmft" => "text/vtt",
        "json" => "application/json",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        _ => kind.default_content_type(),
    }
}

/// An answer from bytes in memory, honouring `Range` exactly (VLC asks `bytes=0-` even of
/// playlists): 206 with `Content-Range`, or 416.
fn memory_reply(ctx: &RequestContext<'_>, body: Bytes, content_type: &'static str) -> Reply {
    let len = body.len() as u64;
    let range = ctx.head.header("range").and_then(ByteRange::parse);
    let mut reply = match range.map(|r| r.resolve(len)) {
        None => Reply::bytes(200, content_type, body),
        Some(Some((first, last))) => {
            let mut r = Reply::bytes(
                206,
                content_type,
                body.slice(first as usize..=last as usize),
            );
            r.header(
                "Content-Range",
                crate::proto::http::content_range(first, last, Some(len)),
            );
            r
        }
        Some(None) => return super::unsatisfiable(len),
    };
    reply.header("Accept-Ranges", "bytes");
    reply.header("Access-Control-Allow-Origin", "*");
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_share_times() {
        assert_eq!(
            playlist_ttl(b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n"),
            Duration::from_secs(3)
        );
        assert_eq!(
            playlist_ttl(b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n"),
            MASTER_TTL
        );
        assert_eq!(
            playlist_ttl(b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-ENDLIST\n"),
            VOD_PLAYLIST_TTL
        );
        assert_eq!(playlist_ttl(b"#EXTM3U\n"), LIVE_PLAYLIST_TTL_FALLBACK);
    }

    #[test]
    fn extensions_and_types() {
        let u = |s: &str| Uri::parse(s).unwrap();
        assert_eq!(extension(Kind::Playlist, &u("http://h/x.php?a=1")), "m3u8");
        assert_eq!(extension(Kind::Segment, &u("http://h/seg1.TS?a=1")), "ts");
        assert_eq!(extension(Kind::Segment, &u("http://h/seg1.php")), "ts");
        assert_eq!(extension(Kind::Map, &u("http://h/init")), "mp4");
        assert_eq!(extension(Kind::Part, &u("http://h/p1.m4s")), "m4s");
        assert_eq!(
            content_type(Kind::Segment, &u("http://h/a.php"), Some("text/html")),
            "video/mp2t"
        );
        assert_eq!(
            content_type(Kind::Segment, &u("http://h/a.m4s"), None),
            "video/mp4"
        );
        assert_eq!(
            content_type(Kind::Key, &u("http://h/k.key"), Some("text/plain")),
            "application/octet-stream"
        );
        assert_eq!(
            content_type(Kind::Segment, &u("http://h/a"), Some("video/MP2T; x=1")),
            "video/mp2t"
        );
    }

    #[test]
    fn redacted_urls_keep_only_the_host() {
        assert_eq!(
            redact("http://user:pw@prov.example:8080/live/u/p/1.ts"),
            "http://prov.example/…"
        );
    }
}
