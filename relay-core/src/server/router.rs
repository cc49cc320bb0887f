//! The router: which route answers a request, and what every route may look at.

use super::context::RequestContext;
use super::reply::Reply;
use super::routes::{api, hls, playlist, stream};

/// Picks the route for a request and returns its answer.
pub(super) async fn route(ctx: &RequestContext<'_>) -> Reply {
    let method = ctx.head.method();
    if method != "GET" && method != "HEAD" {
        let mut reply = Reply::error(405, "only GET and HEAD are supported");
        reply.header("Allow", "GET, HEAD");
        return reply;
    }
    let path = ctx.head.path();
    match path {
        "/" => Reply::text(
            200,
            "relay is running: the playlist is at /playlist.m3u8, the channel list at /api/channels\n",
        ),
        "/health" => api::health(ctx),
        "/playlist.m3u8" | "/playlist.m3u" => playlist::playlist(ctx),
        "/api/channels" => api::channels(ctx),
        "/api/groups" => api::groups(ctx),
        _ => {
            let leaf = |prefix: &str| {
                path.strip_prefix(prefix)
                    .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            };
            if let Some(rest) = leaf("/stream/") {
                stream::stream(ctx, rest).await
            } else if let Some(rest) = leaf("/r/") {
                // Boxed: HLS answers are short-lived and their state would swell every
                // connection future, including long-lived stream viewers'.
                Box::pin(hls::resource(ctx, rest)).await
            } else {
                Reply::error(404, "no such route")
            }
        }
    }
}
