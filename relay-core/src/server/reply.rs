//! The answer a route returns: status, headers, length and a body (bytes, or a stream for the
//! relay driver), and the answers built from an upstream response or from bytes in memory.

use crate::catalog::Channel;
use crate::media::ChannelKind;
use crate::proto::http::{
    ByteRange, ContentRange, Cut, HttpError, content_range, content_range_unsatisfied,
    parse_content_range,
};
use crate::relay::session::{Plan, Stream};
use crate::slots::Slot;
use crate::upstream;
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;

/// A response being prepared.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: Vec<(&'static str, Vec<u8>)>,
    pub(super) length: Option<u64>,
    pub(super) body: ReplyBody,
    /// Close the connection after this reply.
    pub(super) close: bool,
}

/// What follows the head.
#[derive(Debug)]
pub(super) enum ReplyBody {
    Empty,
    Bytes(Bytes),
    /// A body made piece by piece while it is sent (a playlist of a large catalog), so it is
    /// never whole in memory: sent with chunked framing (close-delimited to HTTP/1.0 clients).
    Pieces(Box<dyn Pieces>),
    /// A stream body, moved by [`relay::session`](crate::relay::session).
    Stream(Stream),
}

/// A body made as it is sent.
pub(super) trait Pieces: Send + Sync + std::fmt::Debug {
    /// The next piece; `None` once the body is complete.
    fn next_piece(&mut self) -> Option<Bytes>;
}

impl Reply {
    pub(super) fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            length: None,
            body: ReplyBody::Empty,
            close: false,
        }
    }

    /// A 200 whose body is made while it is sent.
    pub(super) fn pieces(content_type: &'static str, body: Box<dyn Pieces>) -> Reply {
        let mut r = Reply::status(200);
        r.header("Content-Type", content_type);
        r.body = ReplyBody::Pieces(body);
        r
    }

    pub(super) fn bytes(status: u16, content_type: &'static str, body: Bytes) -> Reply {
        let mut r = Reply::status(status);
        r.header("Content-Type", content_type);
        r.length(body.len() as u64);
        r.body = ReplyBody::Bytes(body);
        r
    }

    pub(super) fn text(status: u16, text: &str) -> Reply {
        Reply::bytes(
            status,
            "text/plain; charset=utf-8",
            Bytes::copy_from_slice(text.as_bytes()),
        )
    }

    /// An error answer: the reason as plain text, one line.
    pub(super) fn error(status: u16, reason: &str) -> Reply {
        Reply::text(status, &format!("{reason}\n"))
    }

    pub(super) fn http_error(e: HttpError) -> Reply {
        Reply::error(e.status(), &e.to_string()).closing()
    }

    pub(super) fn closing(mut self) -> Reply {
        self.close = true;
        self
    }

    pub(super) fn header(&mut self, name: &'static str, value: impl Into<Vec<u8>>) {
        self.headers.push((name, value.into()));
    }

    pub(super) fn length(&mut self, n: u64) {
        self.length = Some(n);
    }

    /// The reason of an error answer (its body, trimmed).
    pub(super) fn reason(&self) -> String {
        match &self.body {
            ReplyBody::Bytes(b) => String::from_utf8_lossy(b).trim().to_string(),
            _ => String::new(),
        }
    }

    pub(super) fn body_bytes(&self) -> Bytes {
        match &self.body {
            ReplyBody::Bytes(b) => b.clone(),
            _ => Bytes::new(),
        }
    }
}

/// Logs (at WARN) why a channel's request for `peer` failed: one shape for every such line.
/// Repeats for one channel and reason are summarised (see [`crate::log::throttled`]): a provider
/// outage writes a line per interval, not one per viewer request.
pub(super) fn warn_channel(ch: &Channel, peer: SocketAddr, why: impl std::fmt::Display) {
    let why = why.to_string();
    crate::log::throttled(
        crate::log::Level::Warn,
        &format!("{} {why}", ch.id),
        format_args!("channel {} ({}) for {peer}: {why}", ch.id, ch.name()),
    );
}

/// `416` with `Content-Range: bytes */total`.
pub(super) fn unsatisfiable(total: u64) -> Reply {
    let mut r = Reply::error(416, "range not satisfiable");
    r.header("Content-Range", content_range_unsatisfied(total));
    r
}

/// An answer from bytes in memory, honouring `range` exactly (VLC asks `bytes=0-` even of
/// playlists): 206 with `Content-Range`, or 416.
pub(super) fn memory_reply(
    range: Option<ByteRange>,
    body: Bytes,
    content_type: &'static str,
) -> Reply {
    let len = body.len() as u64;
    let mut reply = match range.map(|r| r.resolve(len)) {
        None => Reply::bytes(200, content_type, body),
        Some(Some((first, last))) => {
            let mut r = Reply::bytes(
                206,
                content_type,
                body.slice(first as usize..=last as usize),
            );
            r.header("Content-Range", content_range(first, last, Some(len)));
            r
        }
        Some(None) => return unsatisfiable(len),
    };
    reply.header("Accept-Ranges", "bytes");
    reply.header("Access-Control-Allow-Origin", "*");
    reply
}

/// Who an upstream response is relayed to.
pub(super) struct Relayed<'a> {
    pub(super) channel: &'a Arc<Channel>,
    pub(super) peer: SocketAddr,
    /// The request was a `HEAD`: the upstream connection (and slot) go before the head is
    /// written.
    pub(super) head_only: bool,
}

/// The answer that relays an upstream response to the client: the status, length and range
/// headers worked out from the upstream's (cutting a range out of a full body when the upstream
/// ignored it), and the body as a [`Plan`] holding `slot` (if the source counts this
/// connection). Upstream errors become 502 or 416. For HEAD the plan (upstream connection and
/// slot) is dropped here, before the head is written.
pub(super) fn relay_reply(
    to: Relayed<'_>,
    resp: upstream::Response,
    range: Option<ByteRange>,
    content_type: String,
    slot: Option<Slot>,
) -> Reply {
    let ch = to.channel;
    let upstream_len = resp.content_length();
    let mut cut = Cut::default();
    let status = resp.head.status();
    let mut reply = match status {
        200 => match (range, upstream_len) {
            (Some(range), Some(len)) => match range.resolve(len) {
                Some((first, last)) => {
                    // The upstream ignored the range: cut it out of the full body ourselves.
                    let n = last - first + 1;
                    cut = Cut {
                        skip: first,
                        limit: Some(n),
                    };
                    let mut r = Reply::status(206);
                    r.header("Content-Range", content_range(first, last, Some(len)));
                    r.length(n);
                    r
                }
                None => return unsatisfiable(len),
            },
            (_, Some(len)) => {
                cut.limit = Some(len);
                let mut r = Reply::status(200);
                r.length(len);
                r
            }
            (_, None) => Reply::status(200).closing(),
        },
        206 => {
            let parsed = resp
                .head
                .header("content-range")
                .and_then(parse_content_range);
            let Some(ContentRange::Satisfied { first, last, total }) = parsed else {
                return Reply::error(502, "upstream sent 206 without a valid Content-Range");
            };
            let Some(len) = (last - first).checked_add(1) else {
                return Reply::error(502, "upstream sent an impossible Content-Range");
            };
            if upstream_len.is_some_and(|n| n != len) {
                return Reply::error(502, "upstream Content-Length disagrees with Content-Range");
            }
            cut.limit = Some(len);
            let mut r = Reply::status(206);
            r.header("Content-Range", content_range(first, last, total));
            r.length(len);
            r
        }
        416 => {
            match resp
                .head
                .header("content-range")
                .and_then(parse_content_range)
            {
                Some(ContentRange::Unsatisfied { total }) => return unsatisfiable(total),
                _ => return Reply::error(416, "range not satisfiable"),
            }
        }
        _ => {
            let reason = format!("upstream answered {status} {}", resp.head.reason());
            warn_channel(ch, to.peer, &reason);
            return Reply::error(502, &reason);
        }
    };
    reply.header("Content-Type", content_type);
    let ranges_work = reply.length.is_some() && ch.kind != ChannelKind::Ts;
    if ranges_work || resp.head.header_str("accept-ranges") == Some("bytes") {
        reply.header("Accept-Ranges", "bytes");
    }
    for name in ["Last-Modified", "ETag"] {
        if let Some(v) = resp.head.header(name) {
            reply.header(name, v);
        }
    }
    reply.header("Access-Control-Allow-Origin", "*");
    if !to.head_only {
        reply.body = ReplyBody::Stream(Stream::Pass(Box::new(Plan {
            body: resp.body,
            cut,
            channel: ch.clone(),
            peer: to.peer,
            slot,
            viewer: false,
        })));
    }
    reply
}
