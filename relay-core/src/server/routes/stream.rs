//! `GET|HEAD /stream/{id}[.ext]` for TS and file channels: a shared channel's viewer, or an
//! upstream of its own (provider slots, ranges), or the HLS route for HLS channels.

use super::hls;
use crate::catalog::Channel;
use crate::config::Share;
use crate::log;
use crate::media::{self, ChannelKind};
use crate::proto::http::{BodyKind, ByteRange};
use crate::relay::fanout::{self, Join, Start};
use crate::relay::session::Stream;
use crate::server::context::RequestContext;
use crate::server::reply::{Relayed, Reply, ReplyBody, relay_reply, warn_channel};
use crate::slots::{ClientKey, NO_SLOT_RETRY_AFTER_SECS, NoSlot, Slot};
use crate::upstream;
use std::sync::Arc;

/// `GET|HEAD /stream/{id}[.ext]`.
pub(in crate::server) async fn stream(ctx: &RequestContext<'_>, name: &str) -> Reply {
    let id = name.split_once('.').map_or(name, |(id, _)| id);
    let catalog = ctx.shared.catalog();
    let Some(ch) = catalog.get(id) else {
        return Reply::error(404, "no such channel");
    };
    if ch.kind == ChannelKind::Hls {
        return Box::pin(hls::channel(ctx, ch)).await;
    }
    let range = ctx.head.header("range").and_then(ByteRange::parse);
    let head_only = ctx.head_only();
    let client = ClientKey::new(ctx.peer.ip(), ctx.head.header("user-agent"));
    let share = channel_share(ch).unwrap_or(ctx.shared.config().share);
    // Players (ffmpeg, mpv, VLC, Kodi) ask live streams for `Range: bytes=0-`: the whole body,
    // which a shared channel answers with a plain 200 as RFC 9110 allows.
    let whole = matches!(range, None | Some(ByteRange::From(0)));
    if ch.kind == ChannelKind::Ts && whole && share != Share::Never {
        if head_only {
            // A running shared channel answers HEAD without touching the upstream.
            if let Some(ready) = ctx.shared.hub.ready(&ch.id) {
                return shared_reply(&ready.content_type);
            }
        } else {
            match shared_route(ctx, ch, client).await {
                Ok(reply) => return reply,
                Err(None) => {}
                Err(Some((resp, slot))) => return channel_reply(ctx, ch, range, resp, slot),
            }
        }
    }
    let slots = &ctx.shared.slots;
    let slot = if head_only {
        slots.try_acquire(ch.source, &ch.id, client).await
    } else {
        slots.acquire(ch.source, &ch.id, client).await
    };
    let slot = match slot {
        Ok(slot) => slot,
        // A HEAD on a live channel of a full source: the live answer's head, no upstream.
        Err(_) if head_only && ch.kind == ChannelKind::Ts && whole => {
            return shared_reply(&media::stream_type(ch.kind, ch.url(), None));
        }
        Err(e) => return no_slot(ctx, ch, &e),
    };
    let resp = match open_upstream(ctx, ch, range).await {
        Ok(resp) => resp,
        Err(reply) => return reply,
    };
    let resp = match Box::pin(checked(ctx, ch, resp)).await {
        Checked::Stream(resp) => *resp,
        Checked::Hls => {
            drop(slot);
            return Box::pin(hls::channel(ctx, ch)).await;
        }
        Checked::Refused(reply) => return reply,
    };
    channel_reply(ctx, ch, range, resp, slot)
}

/// What the first bytes of a TS channel's answer showed.
enum Checked {
    /// A stream (MPEG-TS, or another media body such as a radio stream): relay it.
    Stream(Box<upstream::Response>),
    /// An HLS playlist: the channel is HLS whatever its URL says.
    Hls,
    /// A web page or other document where a stream should be: this answer instead.
    Refused(Reply),
}

/// Bytes looked at before a TS channel's answer is trusted: two packets and a sync byte.
pub const SNIFF_BYTES: usize = 2 * 188 + 1;

/// Looks at the first bytes of a TS channel's successful answer before any of it reaches a
/// viewer: an HTML "account expired" page is a 502 with that reason, never `200 video/mp2t`; an
/// HLS playlist behind an extensionless URL is served as HLS.
async fn checked(ctx: &RequestContext<'_>, ch: &Channel, mut resp: upstream::Response) -> Checked {
    if ch.kind != ChannelKind::Ts || !matches!(resp.status(), 200 | 206) {
        return Checked::Stream(Box::new(resp));
    }
    let wait = ctx.shared.config().upstream_response_timeout;
    let first = match tokio::time::timeout(wait, resp.body.first_bytes(SNIFF_BYTES)).await {
        Ok(Ok(first)) => media::sniff(first),
        // Slow or failing: the relay loop reports it like any body.
        Ok(Err(_)) | Err(_) => return Checked::Stream(Box::new(resp)),
    };
    let declared = resp
        .head
        .header_str("content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    match first {
        media::Sniffed::HlsPlaylist => Checked::Hls,
        media::Sniffed::Text => refuse(
            ctx,
            ch,
            "upstream sent a document (an HTML or JSON page), not a stream: the account may have expired or be blocked",
        ),
        _ if declared.starts_with("text/html") => refuse(
            ctx,
            ch,
            "upstream sent a web page (text/html), not a stream: the account may have expired or be blocked",
        ),
        _ => Checked::Stream(Box::new(resp)),
    }
}

fn refuse(ctx: &RequestContext<'_>, ch: &Channel, reason: &str) -> Checked {
    warn_channel(ch, ctx.peer, reason);
    Checked::Refused(Reply::error(502, reason))
}

/// A channel's own sharing rule: the `relay-share="auto|always|never"` attribute of its entry.
fn channel_share(ch: &Channel) -> Option<Share> {
    match ch.entry.attr("relay-share")?.trim() {
        "auto" => Some(Share::Auto),
        "always" => Some(Share::Always),
        "never" => Some(Share::Never),
        _ => None,
    }
}

/// A 503 naming why, with `Retry-After`.
fn unavailable(reason: &str) -> Reply {
    let mut r = Reply::error(503, reason);
    r.header("Retry-After", NO_SLOT_RETRY_AFTER_SECS.to_string());
    r
}

/// The answer when a source has no free provider connection.
fn no_slot(ctx: &RequestContext<'_>, ch: &Channel, e: &NoSlot) -> Reply {
    warn_channel(ch, ctx.peer, e);
    unavailable(&e.to_string())
}

/// Sends the upstream request; an error becomes the client's answer.
async fn open_upstream(
    ctx: &RequestContext<'_>,
    ch: &Channel,
    range: Option<ByteRange>,
) -> Result<upstream::Response, Reply> {
    let req = upstream::Request {
        method: upstream::Method::Get,
        url: ch.url(),
        headers: &ch.headers,
        range,
    };
    // Boxed: the exchange's state (connect, TLS, head) is large and only the opener needs it;
    // viewers joining a shared channel wait in a small route future.
    Box::pin(ctx.shared.client().request(&req))
        .await
        .map_err(|e| {
            warn_channel(ch, ctx.peer, &e);
            Reply::error(e.status(), &e.to_string())
        })
}

/// The head of a shared channel's answer (GET and HEAD alike).
fn shared_reply(content_type: &str) -> Reply {
    let mut r = Reply::status(200).closing();
    r.header("Content-Type", content_type);
    r.header("Access-Control-Allow-Origin", "*");
    r.header("Cache-Control", "no-cache, no-store");
    r
}

/// A viewer of a live TS channel joins its shared upstream, starting it if needed. `Err(None)`:
/// not shared after all (open an own upstream); `Err(Some(..))`: this viewer opened the upstream
/// and it is not a shareable live body, relay it alone.
async fn shared_route(
    ctx: &RequestContext<'_>,
    ch: &Arc<Channel>,
    client: ClientKey,
) -> Result<Reply, Option<(upstream::Response, Slot)>> {
    let shared = ctx.shared;
    let opts = shared.fanout_options();
    let viewer = match shared.hub.join(&ch.id, ch.name(), client, opts) {
        Join::Viewer(viewer) => viewer,
        Join::Start(starter, viewer) => {
            let slot = match shared.slots.acquire(ch.source, &ch.id, client).await {
                Ok(slot) => slot,
                Err(e) => {
                    let reply = no_slot(ctx, ch, &e);
                    starter.fail(503, &e.to_string());
                    return Ok(reply);
                }
            };
            let resp = match open_upstream(ctx, ch, None).await {
                Ok(resp) => resp,
                Err(reply) => {
                    starter.fail(reply.status, &reply.reason());
                    return Ok(reply);
                }
            };
            let resp = match Box::pin(checked(ctx, ch, resp)).await {
                Checked::Stream(resp) => *resp,
                Checked::Hls => {
                    // Waiting viewers ask again and reach the HLS route too.
                    drop(starter);
                    drop(slot);
                    return Ok(Box::pin(hls::channel(ctx, ch)).await);
                }
                Checked::Refused(reply) => {
                    starter.fail(reply.status, &reply.reason());
                    return Ok(reply);
                }
            };
            let live = match resp.body.kind() {
                BodyKind::CloseDelimited | BodyKind::Chunked => true,
                BodyKind::Length(_) => {
                    channel_share(ch).unwrap_or(shared.config().share) == Share::Always
                }
                BodyKind::Empty => false,
            };
            if resp.status() != 200 || !live {
                // Waiting viewers open their own (the starter's Drop tells them).
                drop(starter);
                return Err(Some((resp, slot)));
            }
            let ready = fanout::Ready {
                content_type: media::stream_type(
                    ch.kind,
                    ch.url(),
                    resp.head.header_str("content-type"),
                ),
            };
            log!(
                Info,
                "channel {} ({}): shared upstream opened for {}",
                ch.id,
                ch.name(),
                ctx.peer
            );
            starter.run(resp.body, slot, ready, opts, ctx.shutdown.clone());
            viewer
        }
    };
    match viewer.ready().await {
        Start::Ready(ready) => {
            let mut reply = shared_reply(&ready.content_type);
            reply.body = ReplyBody::Stream(Stream::Shared(Box::new(viewer)));
            Ok(reply)
        }
        Start::Failed {
            status: 503,
            reason,
        } => Ok(unavailable(&reason)),
        Start::Failed { status, reason } => Ok(Reply::error(status, &reason)),
        Start::NotShared | Start::Pending => Err(None),
    }
}

/// The answer for a channel's upstream response relayed to one viewer, holding `slot`.
fn channel_reply(
    ctx: &RequestContext<'_>,
    ch: &Arc<Channel>,
    range: Option<ByteRange>,
    resp: upstream::Response,
    slot: Slot,
) -> Reply {
    let content_type = media::stream_type(ch.kind, ch.url(), resp.head.header_str("content-type"));
    let to = Relayed {
        channel: ch,
        peer: ctx.peer,
        head_only: ctx.head_only(),
    };
    let mut reply = relay_reply(to, resp, range, content_type, Some(slot));
    if let ReplyBody::Stream(Stream::Pass(plan)) = &mut reply.body {
        plan.viewer = true;
    }
    if reply.status < 300 && ch.kind == ChannelKind::Ts {
        reply.header("Cache-Control", "no-cache, no-store");
    }
    reply
}
