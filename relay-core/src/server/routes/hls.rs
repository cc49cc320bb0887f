//! HLS channels: the channel's playlist at `/stream/{id}.m3u8`, every sub-resource (variant
//! playlist, segment, key, init map, part) at `/r/{token}.{ext}`.
//!
//! Playlists are rewritten per request (the public URL may differ per client) from upstream bytes
//! shared through the [object cache](crate::relay::objects): concurrent requests for one
//! upstream URL make one upstream fetch, and the result is kept briefly (a live playlist for half
//! its target duration, a segment or key for [`OBJECT_TTL`]). Objects too large to share, and
//! byte ranges of objects not already held, are relayed straight from their own upstream
//! request.

use crate::catalog::Channel;
use crate::log;
use crate::media;
use crate::proto::hls::{self, Kind, RewriteError, Summary};
use crate::proto::http::ByteRange;
use crate::proto::uri::redact;
use crate::relay::objects::{Failure, Object};
use crate::server::context::RequestContext;
use crate::server::reply::{Relayed, Reply, memory_reply, relay_reply, warn_channel};
use crate::stats;
use crate::token::{self, Token, TokenError};
use crate::upstream::{self, Client, UpstreamError};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// Largest segment, key or map shared between viewers through memory; larger ones are relayed
/// to each viewer from its own upstream request.
pub const MAX_SHARED_OBJECT_BYTES: usize = 32 * 1024 * 1024;
/// How long a fetched segment, key, map or part stays shared after its fetch (also its
/// `Cache-Control: max-age`).
pub const OBJECT_TTL: Duration = Duration::from_secs(30);
/// How long a multivariant (master) playlist stays shared.
pub const MASTER_TTL: Duration = Duration::from_secs(10);
/// How long a finished (VOD, `#EXT-X-ENDLIST`) media playlist stays shared (also its
/// `Cache-Control: max-age`).
pub const VOD_PLAYLIST_TTL: Duration = Duration::from_secs(60);
/// The share time of a live media playlist without `#EXT-X-TARGETDURATION`.
pub const LIVE_PLAYLIST_TTL_FALLBACK: Duration = Duration::from_secs(1);

/// The answer to `GET /stream/{id}` for an HLS channel: its playlist, rewritten.
pub(in crate::server) async fn channel(ctx: &RequestContext<'_>, ch: &Arc<Channel>) -> Reply {
    stats::inc(&ctx.shared.stats.hls_requests);
    playlist(ctx, ch, ch.url()).await
}

/// `GET|HEAD /r/{token}[.ext]`.
pub(in crate::server) async fn resource(ctx: &RequestContext<'_>, name: &str) -> Reply {
    stats::inc(&ctx.shared.stats.hls_requests);
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
            fetch(ctx.shared.client(), ch.clone(), url.to_string(), true),
        )
        .await;
    let object = match fetched {
        Ok(o) => o,
        Err(f) => return failure_reply(ctx, ch, url, f),
    };
    let base = ctx.public_base();
    let keys = &ctx.shared.tokens;
    let expires = token::expiry(token::now_secs(), ctx.shared.config().token_ttl);
    // Tokens are the same for a whole expiry period, so the rewrite for this public base and
    // period is made once per upstream fetch and served from memory after.
    let memo = format!("{expires} {} {base}", ch.id);
    let rewritten = object.derived(&memo, |object| {
        stats::inc(&ctx.shared.stats.hls_playlist_rewrites);
        let mut out = Vec::with_capacity(object.body.len() + object.body.len() / 2);
        hls::rewrite(&object.body, &object.url, &mut out, |t| {
            let sealed = keys.seal(&Token {
                channel: ch.id.clone(),
                kind: t.kind,
                url: t.uri.as_str().to_string(),
                expires,
            })?;
            let ext = media::hls_extension(t.kind, t.uri.path());
            Ok::<_, TokenError>(format!("{base}/r/{sealed}.{ext}"))
        })?;
        Ok(Bytes::from(out))
    });
    let out = match rewritten {
        Ok(out) => out,
        Err(e) => {
            let reason = match e {
                RewriteError::NotPlaylist => "upstream did not send an HLS playlist".to_string(),
                e => format!("upstream playlist refused: {e}"),
            };
            log!(
                Warn,
                "channel {} ({}): {}: {reason}",
                ch.id,
                ch.name(),
                redact(url)
            );
            return Reply::error(502, &reason);
        }
    };
    let range = ctx.head.header("range").and_then(ByteRange::parse);
    let endlist = object.finished;
    let mut reply = memory_reply(range, out, "application/vnd.apple.mpegurl");
    let cache = if endlist {
        format!("max-age={}", VOD_PLAYLIST_TTL.as_secs())
    } else {
        "no-cache".to_string()
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
                    fetch(ctx.shared.client(), ch.clone(), url.to_string(), false),
                )
                .await,
        ),
        None => None,
    };
    match shared {
        Some(Ok(o)) => {
            let ct = media::hls_type(kind, o.url.path(), o.content_type.as_deref());
            let mut reply = memory_reply(range, o.body.clone(), ct);
            reply.header("Cache-Control", format!("max-age={}", OBJECT_TTL.as_secs()));
            reply
        }
        Some(Err(f @ Failure::Upstream { .. })) => failure_reply(ctx, ch, url, f),
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
    ctx.shared.hls_cache.count_fetch();
    match ctx.shared.client().request(&req).await {
        Ok(resp) => {
            let ct = media::hls_type(kind, resp.url.path(), resp.head.header_str("content-type"));
            let to = Relayed {
                channel: ch,
                peer: ctx.peer,
                head_only: ctx.head_only(),
            };
            relay_reply(to, resp, range, ct.to_string(), None)
        }
        Err(e) => failure_reply(ctx, ch, url, upstream_failure(e)),
    }
}

/// The answer (and log line, with the URL redacted) for a fetch that gave no object.
fn failure_reply(ctx: &RequestContext<'_>, ch: &Channel, url: &str, f: Failure) -> Reply {
    let (status, reason) = match f {
        Failure::TooLarge => (502, "upstream playlist too large".to_string()),
        Failure::Upstream { status, reason } => (status, reason),
    };
    warn_channel(ch, ctx.peer, format_args!("{}: {reason}", redact(url)));
    Reply::error(status, &reason)
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
    // A body that is no playlist is refused when rewritten, per request.
    let summary = playlist
        .then(|| hls::summarize(&body, &resp.url).ok())
        .flatten();
    let ttl = match (&summary, playlist) {
        (Some(s), _) => playlist_ttl(s),
        (None, true) => LIVE_PLAYLIST_TTL_FALLBACK,
        (None, false) => OBJECT_TTL,
    };
    let content_type = resp.head.header_str("content-type").map(str::to_string);
    let mut object = Object::new(body, resp.url, content_type);
    object.finished = summary.is_some_and(|s| s.endlist);
    Ok((object, ttl))
}

/// How long a playlist may be shared: a live media playlist for half its target duration
/// (viewers still see every update in time), a master or finished playlist longer.
fn playlist_ttl(summary: &Summary) -> Duration {
    if summary.master {
        return MASTER_TTL;
    }
    if summary.endlist {
        return VOD_PLAYLIST_TTL;
    }
    match summary.target_duration {
        Some(target) if !target.is_zero() => target / 2,
        _ => LIVE_PLAYLIST_TTL_FALLBACK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::uri::Uri;

    fn ttl(body: &str) -> Duration {
        let base = Uri::parse("http://h/p.m3u8").unwrap();
        playlist_ttl(&hls::summarize(body.as_bytes(), &base).unwrap())
    }

    #[test]
    fn playlist_share_times() {
        assert_eq!(
            ttl("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n"),
            Duration::from_secs(3)
        );
        assert_eq!(
            ttl("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n"),
            MASTER_TTL
        );
        assert_eq!(
            ttl("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-ENDLIST\n"),
            VOD_PLAYLIST_TTL
        );
        assert_eq!(ttl("#EXTM3U\n"), LIVE_PLAYLIST_TTL_FALLBACK);
        // A tag named in a comment is no tag (the old scan matched inside comments).
        assert_eq!(
            ttl("#EXTM3U\n# no #EXT-X-ENDLIST yet\n#EXT-X-TARGETDURATION:4\n"),
            Duration::from_secs(2)
        );
    }
}
