//! The stream driver: one client's body, from an upstream (its own, or a shared channel's) to
//! its socket, and the one epilogue every stream ends with (counters, events, the log line).
//!
//! The server hands it a [`Stream`] (what a route decided the client gets) once the response
//! head is written, with a narrow [`Context`]; it never sees the server's state.

use super::fanout::{self, Viewer};
use super::pass::{Pass, PassEnd};
use super::pool::BufferPool;
use crate::catalog::Channel;
use crate::config::RelayPath;
use crate::events::{Events, ViewerEvents};
use crate::log;
use crate::proto::http::Cut;
use crate::shutdown::Shutdown;
use crate::slots::Slot;
use crate::stats::{self, Stats};
use crate::upstream::{self, UpstreamError};
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// What the driver needs, and nothing more.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Where bytes and active streams are counted.
    pub stats: &'a Stats,
    /// Where viewer events go.
    pub events: &'a Events,
    /// Buffers of the copy loop.
    pub buffers: &'a BufferPool,
    /// Paths and timeouts.
    pub options: Options,
}

/// How streams are moved.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Pass-through path: splice where possible, or always the copy loop.
    pub path: RelayPath,
    /// Longest silence inside an upstream body.
    pub upstream_idle: Duration,
    /// A client that takes no bytes for this long is dropped.
    pub client_stall: Duration,
}

/// What a client gets after the response head.
#[derive(Debug)]
pub enum Stream {
    /// One upstream body, to this client alone.
    Pass(Box<Plan>),
    /// A shared channel, as one of its viewers.
    Shared(Box<Viewer>),
}

/// One upstream body for one client: which part of it, and what it holds.
#[derive(Debug)]
pub struct Plan {
    /// The upstream body.
    pub body: upstream::Body,
    /// The part the client asked for (a range the upstream ignored is cut here).
    pub cut: Cut,
    /// The channel, for the log and events.
    pub channel: Arc<Channel>,
    /// The client's address.
    pub peer: SocketAddr,
    /// The provider slot this upstream connection holds (none for HLS sub-resources, which
    /// sources do not count); released when the stream ends.
    pub slot: Option<Slot>,
    /// A viewer of a channel's stream, whose start and end are [events](crate::events) (an HLS
    /// sub-resource is not).
    pub viewer: bool,
}

/// How a stream ended.
#[derive(Debug)]
pub enum End {
    /// Everything due was sent (or the close-delimited upstream ended).
    Complete,
    /// The client went away or stopped reading.
    ClientGone,
    /// The upstream failed mid-body; the client must see a cut, not an end.
    Upstream(UpstreamError),
    /// The engine is stopping, or the provider slot went to the client's next channel.
    Shutdown,
}

impl End {
    /// The client got a complete body; anything else must reach it as a cut (a reset).
    pub fn clean(&self) -> bool {
        matches!(self, End::Complete)
    }
}

/// Sends `stream` to `socket` until it ends; returns how.
pub async fn run(
    socket: &mut TcpStream,
    stream: Stream,
    peer: SocketAddr,
    ctx: Context<'_>,
    shutdown: &mut Shutdown,
) -> End {
    match stream {
        // Boxed: a pass-through's state is larger than a shared viewer's, and this future is
        // allocated per viewer; shared viewers must not pay for it.
        Stream::Pass(plan) => Box::pin(pass(socket, *plan, &ctx, shutdown)).await,
        Stream::Shared(viewer) => shared(socket, peer, &viewer, &ctx, shutdown).await,
    }
}

/// Relays one upstream body as it arrives: a plain-TCP body through
/// [`relay::pass`](super::pass) (`splice(2)` on Linux, else the pooled copy loop), a TLS or
/// chunked one chunk by chunk. Backpressure either way: the next upstream read happens only
/// after the client took the previous bytes.
async fn pass(
    socket: &mut TcpStream,
    plan: Plan,
    ctx: &Context<'_>,
    shutdown: &mut Shutdown,
) -> End {
    let started = Instant::now();
    let mut sent: u64 = 0;
    let Plan {
        body,
        cut,
        channel: ch,
        peer,
        slot,
        viewer,
    } = plan;
    let events = viewer.then(|| ViewerEvents::connected(ctx.events, &ch.id, peer, false));
    stats::inc(&ctx.stats.streams_active);
    let (end, path) = match body.into_plain() {
        Ok(plain) => {
            let pass = Pass {
                body: plain,
                cut,
                splice: ctx.options.path != RelayPath::Copy,
                idle: ctx.options.upstream_idle,
                stall: ctx.options.client_stall,
                pool: ctx.buffers,
            };
            let path = if pass.splice && cfg!(target_os = "linux") {
                "splice"
            } else {
                "copy"
            };
            let end = tokio::select! {
                end = pass.run(socket, &mut sent) => match end {
                    PassEnd::Complete => End::Complete,
                    PassEnd::ClientGone => End::ClientGone,
                    PassEnd::Upstream(e) => End::Upstream(e),
                },
                _ = shutdown.cut() => End::Shutdown,
                _ = revoked(&slot) => End::Shutdown,
            };
            (end, path)
        }
        Err(body) => {
            let end = chunks(socket, body, cut, &slot, &mut sent, ctx, shutdown).await;
            (end, "chunks")
        }
    };
    drop(slot);
    let how = match &end {
        End::Complete => "complete".to_string(),
        End::ClientGone => "client left".to_string(),
        End::Upstream(e) => format!("cut: {e}"),
        End::Shutdown => "stopped".to_string(),
    };
    let warn = matches!(end, End::Upstream(_));
    let ended = Ended {
        id: &ch.id,
        name: ch.name(),
        peer,
        sent,
        started,
        how: &how,
        warn,
    };
    ended.report(ctx, path, events);
    end
}

/// Resolves once `slot` was reclaimed for another channel; never without a slot.
async fn revoked(slot: &Option<Slot>) {
    match slot {
        Some(slot) => slot.revoked().await,
        None => std::future::pending().await,
    }
}

/// The chunk loop for bodies that need decoding (TLS, chunked): each decoded piece is cut and
/// written before the next is read.
async fn chunks(
    socket: &mut TcpStream,
    mut body: upstream::Body,
    mut cut: Cut,
    slot: &Option<Slot>,
    sent: &mut u64,
    ctx: &Context<'_>,
    shutdown: &mut Shutdown,
) -> End {
    loop {
        let next = tokio::select! {
            next = body.chunk() => next,
            _ = shutdown.cut() => return End::Shutdown,
            _ = revoked(slot) => return End::Shutdown,
            _ = super::hangup::hung_up(socket) => return End::ClientGone,
        };
        let data: Bytes = match next {
            Ok(Some(data)) => data,
            Ok(None) if cut.limit.is_some_and(|l| l > 0) => {
                return End::Upstream(UpstreamError::Cut {
                    received: body.received(),
                });
            }
            Ok(None) => return End::Complete,
            Err(e) => return End::Upstream(e),
        };
        let data = data.slice(cut.take(data.len()));
        if !data.is_empty() {
            match timeout(ctx.options.client_stall, socket.write_all(&data)).await {
                Ok(Ok(())) => {}
                _ => return End::ClientGone,
            }
            *sent += data.len() as u64;
        }
        if cut.done() {
            return End::Complete;
        }
    }
}

/// Writes a shared channel to one viewer until it ends (see [`Viewer::run`]).
async fn shared(
    socket: &mut TcpStream,
    peer: SocketAddr,
    viewer: &Viewer,
    ctx: &Context<'_>,
    shutdown: &mut Shutdown,
) -> End {
    let events = ViewerEvents::connected(ctx.events, viewer.channel(), peer, true);
    stats::inc(&ctx.stats.streams_active);
    let started = Instant::now();
    let (sent, end) = viewer.run(socket, ctx.options.client_stall, shutdown).await;
    let how = match &end {
        Ok(fanout::End::Complete) => "complete".to_string(),
        Ok(fanout::End::Cut(why)) => format!("cut: {why}"),
        Ok(fanout::End::Dropped) => "dropped (too slow)".to_string(),
        Ok(fanout::End::Stopped) => "stopped".to_string(),
        Err(_) => "client left".to_string(),
    };
    let path = format!("shared, {} skips", viewer.skips());
    let ended = Ended {
        id: viewer.channel(),
        name: viewer.channel_name(),
        peer,
        sent,
        started,
        how: &how,
        warn: matches!(end, Ok(fanout::End::Cut(_))),
    };
    ended.report(ctx, &path, Some(events));
    match end {
        Ok(fanout::End::Complete) => End::Complete,
        // The client must see a cut, never a clean end.
        Ok(fanout::End::Cut(_)) => End::ClientGone,
        Ok(_) => End::Shutdown,
        Err(_) => End::ClientGone,
    }
}

/// A stream that ended: what the epilogue reports.
struct Ended<'a> {
    id: &'a str,
    name: &'a str,
    peer: SocketAddr,
    sent: u64,
    started: Instant,
    how: &'a str,
    /// Log at WARN (the upstream failed) rather than INFO.
    warn: bool,
}

impl Ended<'_> {
    /// The one end of every stream: the counters, the viewer's disconnect event, the log line.
    fn report(&self, ctx: &Context<'_>, path: &str, events: Option<ViewerEvents<'_>>) {
        stats::dec(&ctx.stats.streams_active);
        stats::add(&ctx.stats.bytes_relayed, self.sent);
        if let Some(events) = events {
            events.disconnected(self.sent, self.how);
        }
        let level = if self.warn {
            log::Level::Warn
        } else {
            log::Level::Info
        };
        if log::enabled(level) {
            log::emit(
                level,
                format_args!(
                    "stream {} ({}) to {}: {} bytes in {:.1}s ({path}), {}",
                    self.id,
                    self.name,
                    self.peer,
                    self.sent,
                    self.started.elapsed().as_secs_f64(),
                    self.how,
                ),
            );
        }
    }
}
