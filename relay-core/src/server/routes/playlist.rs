//! `GET /playlist.m3u8`: the catalog as extended M3U, every URL pointing at the relay.

use crate::catalog::{Catalog, Channel};
use crate::media::{ChannelKind, url_extension};
use crate::proto::m3u;
use crate::server::context::RequestContext;
use crate::server::reply::{Pieces, Reply};
use bytes::Bytes;
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

/// Bytes of playlist written per piece of the body.
pub const PLAYLIST_PIECE_BYTES: usize = 64 * 1024;
/// A playlist up to this size is sent whole with a `Content-Length`; a larger one is written
/// piece by piece while it is sent (chunked), so a 100,000-channel catalog is never one 25 MB
/// string in memory.
pub const PLAYLIST_SIZED_MAX_BYTES: usize = 1024 * 1024;

/// `GET /playlist.m3u8`.
pub(in crate::server) fn playlist(ctx: &RequestContext<'_>) -> Reply {
    let catalog = ctx.shared.catalog();
    let mut header = Vec::new();
    m3u::write_header(&mut header, catalog.header_attrs());
    let mut pieces = PlaylistPieces {
        header: Some(header),
        channels: filtered(ctx, &catalog),
        next: 0,
        base: ctx.public_base(),
        made: Vec::new(),
    };
    let (mut made, mut bytes) = (Vec::new(), 0);
    let mut reply = loop {
        match pieces.next_piece() {
            Some(piece) => {
                bytes += piece.len();
                made.push(piece);
                if bytes > PLAYLIST_SIZED_MAX_BYTES {
                    made.reverse();
                    pieces.made = made;
                    break Reply::pieces("audio/x-mpegurl", Box::new(pieces));
                }
            }
            None => break Reply::bytes(200, "audio/x-mpegurl", made.concat().into()),
        }
    };
    reply.header("Cache-Control", "no-cache");
    reply
}

/// The playlist's body, made [`PLAYLIST_PIECE_BYTES`] at a time.
#[derive(Debug)]
struct PlaylistPieces {
    /// `#EXTM3U` with the catalog's header attributes, until written.
    header: Option<Vec<u8>>,
    channels: Vec<Arc<Channel>>,
    /// The next channel to write.
    next: usize,
    base: String,
    /// Pieces made before the body was known to be large, sent first (in reverse order, so the
    /// next one pops off the end).
    made: Vec<Bytes>,
}

impl Pieces for PlaylistPieces {
    fn next_piece(&mut self) -> Option<Bytes> {
        if let Some(piece) = self.made.pop() {
            return Some(piece);
        }
        let opts = m3u::WriteOptions {
            request_options: false,
        };
        let mut out = self
            .header
            .take()
            .unwrap_or_else(|| Vec::with_capacity(PLAYLIST_PIECE_BYTES + 1024));
        if out.is_empty() && self.next >= self.channels.len() {
            return None;
        }
        while out.len() < PLAYLIST_PIECE_BYTES
            && let Some(ch) = self.channels.get(self.next)
        {
            m3u::write_entry(&mut out, &ch.entry, &stream_url(&self.base, ch), opts);
            self.next += 1;
        }
        Some(Bytes::from(out))
    }
}
