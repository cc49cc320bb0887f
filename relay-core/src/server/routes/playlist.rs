//! `GET /playlist.m3u8`: the catalog as extended M3U, every URL pointing at the relay.

use crate::catalog::{Catalog, Channel};
use crate::media::{ChannelKind, url_extension};
use crate::proto::m3u;
use crate::server::context::RequestContext;
use crate::server::reply::Reply;
use std::sync::Arc;

/// The URL of a channel on this relay: `/stream/{id}` with an extension players recognise.
pub(in crate::server) fn stream_url(base: &str, ch: &Channel) -> String {
    let ext = match ch.kind {
        ChannelKind::Ts => "ts",
        ChannelKind::Hls => "m3u8",
        ChannelKind::File => url_extension(ch.url()).unwrap_or("bin"),
    };
    format!("{base}/stream/{}.{ext}", ch.id)
}

/// The channels the request's `q` and `group` parameters select.
pub(in crate::server) fn filtered(
    ctx: &RequestContext<'_>,
    catalog: &Catalog,
) -> Vec<Arc<Channel>> {
    let q = ctx.query_param("q");
    let group = ctx.query_param("group");
    catalog
        .search(q.as_deref(), group.as_deref())
        .cloned()
        .collect()
}

/// `GET /playlist.m3u8`.
pub(in crate::server) fn playlist(ctx: &RequestContext<'_>) -> Reply {
    let catalog = ctx.shared.catalog();
    let base = ctx.public_base();
    let mut out = Vec::with_capacity(64 + catalog.len() * 256);
    m3u::write_header(&mut out, catalog.header_attrs());
    let opts = m3u::WriteOptions {
        request_options: false,
    };
    for ch in filtered(ctx, &catalog) {
        m3u::write_entry(&mut out, &ch.entry, &stream_url(&base, &ch), opts);
    }
    let mut reply = Reply::bytes(200, "audio/x-mpegurl", out.into());
    reply.header("Cache-Control", "no-cache");
    reply
}
