//! The listener, the client connection loop, the router and the route handlers.
//!
//! [`serve`] runs on any tokio runtime: the [`Engine`](crate::engine::Engine) drives it on its own
//! runtime, tests can drive it on theirs. A connection reads one request head at a time (with the
//! head and idle timeouts), answers it, and loops while keep-alive allows; pipelined requests are
//! answered in order because each is read only after the previous answer is written.

use crate::catalog::{Catalog, Channel, ChannelKind, url_extension};
use crate::config::{Config, RelayPath, Share};
use crate::events::{Events, ViewerEvents};
use crate::proto::http::{
    BodyKind, ByteRange, ContentRange, HeadWriter, HttpError, RequestHead, content_range,
    content_range_unsatisfied, parse_content_range,
};
use crate::proto::{json, m3u};
use crate::relay::fanout::{self, FanoutOptions, Hub, Join, Start};
use crate::relay::pass::PassEnd;
use crate::relay::pool::BufferPool;
use crate::slots::{ClientKey, NO_SLOT_RETRY_AFTER_SECS, Slot, Slots};
use crate::upstream::{self, Client, UpstreamError};
use crate::{log, token};

mod hls;
use bytes::{Buf, Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, timeout_at};

/// Largest request body the relay reads (and discards); larger ones get 413. No route of this
/// version takes a body, so this only keeps keep-alive connections in step.
pub const MAX_REQUEST_BODY_BYTES: u64 = 64 * 1024;
/// Initial capacity of a connection's read buffer, and its growth step (player request heads are a
/// few hundred bytes; every viewer holds one while it connects).
pub const READ_BUFFER_BYTES: usize = 1024;
/// A client that accepts no bytes for this long while being sent a stream is disconnected, so a
/// vanished player does not hold an upstream connection (and a provider slot) forever.
pub const CLIENT_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a closing connection keeps reading (and discarding) what the client still sends.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
/// Most bytes discarded while lingering.
pub const LINGER_MAX_BYTES: usize = 64 * 1024;
/// Pause after an accept error (e.g. out of file descriptors) before accepting again.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What every connection shares: settings, the catalog, the upstream client and counters.
#[derive(Debug)]
pub struct Shared {
    /// Settings as given; never changed after the engine starts.
    pub config: Config,
    /// The current catalog. Readers clone the `Arc` and keep a consistent snapshot for the whole
    /// request while a reload swaps in a new one.
    catalog: RwLock<Arc<Catalog>>,
    /// The upstream client (TLS settings, timeouts, default User-Agent).
    pub client: Client,
    /// Counters for `/health` and, later, `/stats`.
    pub stats: Stats,
    /// Seals and opens the tokens of HLS sub-resource URLs.
    pub tokens: token::Keys,
    /// HLS playlists, segments and keys shared between viewers.
    hls_cache: Arc<hls::Cache>,
    /// Shared channels (one upstream, many viewers).
    pub hub: Arc<Hub>,
    /// Provider connection slots per source.
    pub slots: Arc<Slots>,
    /// Buffers of the copy loop.
    pub buffers: BufferPool,
    /// The embedder's event sink (viewers and upstreams of streams), shared with the hub.
    pub events: Arc<Events>,
}

/// Process-wide counters, updated with relaxed atomics.
#[derive(Debug)]
pub struct Stats {
    pub started: Instant,
    pub connections_total: AtomicU64,
    pub connections_active: AtomicU64,
    pub requests_total: AtomicU64,
    pub streams_active: AtomicU64,
    pub bytes_relayed: AtomicU64,
    /// HLS playlist and sub-resource requests answered.
    pub hls_requests: AtomicU64,
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
        }
    }
}

impl Shared {
    /// Shared state with token keys from `token-secret`, or random ones (see [`Shared::with_keys`]).
    pub fn new(config: Config, client: Client) -> Shared {
        let keys = match &config.token_secret {
            Some(secret) => token::Keys::from_secret(secret.0.as_bytes()),
            None => token::Keys::random(),
        };
        Shared::with_keys(config, client, keys)
    }

    /// Shared state sealing tokens with `keys`.
    pub fn with_keys(config: Config, client: Client, keys: token::Keys) -> Shared {
        let hls_cache = Arc::new(hls::Cache::new(config.hls_cache_bytes));
        let default_limit = Some(config.source_max_connections).filter(|&n| n > 0);
        let slots = Slots::new(config.catalog_max_connections.clone(), default_limit);
        let events = Arc::new(Events::default());
        Shared {
            config,
            catalog: RwLock::new(Arc::new(Catalog::default())),
            client,
            stats: Stats::default(),
            tokens: keys,
            hls_cache,
            hub: Arc::new(Hub::with_events(events.clone())),
            slots: Arc::new(slots),
            buffers: BufferPool::new(),
            events,
        }
    }

    fn fanout_options(&self) -> FanoutOptions {
        FanoutOptions {
            viewer_queue: self.config.viewer_queue,
            slow_viewer: self.config.slow_viewer,
            linger: self.config.share_linger,
        }
    }

    /// A snapshot of the current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The counters as JSON object members (no braces), for `/health` and
    /// [`Engine::stats_json`](crate::engine::Engine::stats_json).
    pub fn counters_json(&self) -> String {
        let stats = &self.stats;
        let hub = &self.hub;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "\"channels\":{},\"uptime_s\":{},\"connections_total\":{},\"connections_active\":{},\"requests_total\":{},\"streams_active\":{},\"bytes_relayed\":{},\"shared_viewers\":{},\"shared_upstreams\":{},\"viewer_skips\":{},\"hls_requests\":{},\"hls_upstream_fetches\":{},\"hls_cache_bytes\":{}",
            self.catalog().len(),
            stats.started.elapsed().as_secs(),
            n(&stats.connections_total),
            n(&stats.connections_active),
            n(&stats.requests_total),
            n(&stats.streams_active),
            n(&stats.bytes_relayed),
            n(&hub.viewers),
            n(&hub.upstreams),
            n(&hub.skips),
            n(&stats.hls_requests),
            self.hls_cache.fetches(),
            self.hls_cache.held_bytes(),
        )
    }

    /// Replaces the catalog; requests in flight keep the snapshot they started with.
    pub fn set_catalog(&self, catalog: Catalog) {
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(catalog);
    }
}

/// Accepts connections until `shutdown` turns true, then lets open connections finish for the
/// configured grace period and cuts the rest.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let mut stop = shutdown.clone();
    let permits = Arc::new(Semaphore::new(shared.config.max_connections));
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        log!(Warn, "connection from {peer} refused: {} connections open", shared.config.max_connections);
                        // Not counted against the cap: it lives at most LINGER_TIMEOUT.
                        tokio::spawn(async move {
                            let mut stream = stream;
                            if stream.write_all(TOO_MANY_CONNECTIONS).await.is_ok() {
                                linger_close(stream).await;
                            }
                        });
                        continue;
                    };
                    let shared = shared.clone();
                    let shutdown = shutdown.clone();
                    tasks.spawn(async move {
                        shared.stats.connections_total.fetch_add(1, Ordering::Relaxed);
                        shared.stats.connections_active.fetch_add(1, Ordering::Relaxed);
                        connection(stream, peer, &shared, shutdown).await;
                        shared.stats.connections_active.fetch_sub(1, Ordering::Relaxed);
                        drop(permit);
                    });
                }
                Err(e) => {
                    log!(Warn, "accept failed: {e}");
                    sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    let grace = shared.config.shutdown_grace;
    let drained = timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        log!(
            Warn,
            "cutting {} connections still open after {grace:?}",
            tasks.len()
        );
        tasks.shutdown().await;
    }
}

/// Resolves once shutdown has been signalled (or the engine is gone).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|&stop| stop).await;
}

const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\nRetry-After: 5\r\nConnection: close\r\n\r\ntoo many connections\n";

/// One client connection: read a head, answer, repeat while keep-alive holds.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().ok();
    let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
    let mut first = true;
    loop {
        // Boxed, like every long wait of this loop: the task of a long stream stays small.
        let next = Box::pin(next_request(
            &mut stream,
            &mut buf,
            shared,
            first,
            &mut shutdown,
        ));
        let Some(head) = next.await else {
            return;
        };
        first = false;
        let head = match head {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(reply) => {
                log!(
                    Debug,
                    "{peer}: bad request: {} {}",
                    reply.status,
                    reply.reason()
                );
                Box::pin(reject(stream, reply)).await;
                return;
            }
        };
        // Boxed: routing (upstream connect, TLS, ...) and the head's write live on the heap only
        // while they run, so the task of a long stream stays small.
        let answered = Box::pin(answer(&mut stream, shared, head, peer, local, &shutdown)).await;
        let Some((body, keep_alive, head_only)) = answered else {
            return;
        };
        match body {
            ReplyBody::Empty => {}
            ReplyBody::Bytes(_) if head_only => {}
            ReplyBody::Bytes(b) => {
                if stream.write_all(&b).await.is_err() {
                    return;
                }
            }
            ReplyBody::Relay(_) | ReplyBody::Shared(_) if head_only => {}
            ReplyBody::Relay(plan) => {
                // A stream holds its connection for long: give back the read buffer.
                if buf.is_empty() {
                    buf = BytesMut::new();
                }
                // Boxed, like the route: the connection's own future stays small.
                let outcome = Box::pin(relay(&mut stream, *plan, shared, &mut shutdown)).await;
                if !outcome.clean() {
                    reset(&stream);
                    return;
                }
            }
            ReplyBody::Shared(viewer) => {
                if buf.is_empty() {
                    buf = BytesMut::new();
                }
                let outcome = Box::pin(watch_shared(
                    &mut stream,
                    peer,
                    &viewer,
                    shared,
                    &mut shutdown,
                ))
                .await;
                drop(viewer);
                if !outcome.clean() {
                    reset(&stream);
                    return;
                }
            }
        }
        if !keep_alive {
            Box::pin(linger_close(stream)).await;
            return;
        }
    }
}

/// [`read_request`] until the engine stops (`None`).
async fn next_request(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    shared: &Shared,
    first: bool,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Result<Option<RequestHead>, Reply>> {
    tokio::select! {
        read = read_request(stream, buf, &shared.config, first) => Some(read),
        _ = stopped(shutdown) => None,
    }
}

/// Answers a request that could not be read (the reply closes the connection).
async fn reject(mut stream: TcpStream, reply: Reply) {
    let _ = write_reply_head(&mut stream, &reply, false).await;
    if stream.write_all(&reply.body_bytes()).await.is_ok() {
        linger_close(stream).await;
    }
}

/// Routes one request and writes the answer's head. Returns the body still to send, whether the
/// connection stays open after it, and whether the request was a `HEAD`; `None` when the client
/// went away.
async fn answer(
    stream: &mut TcpStream,
    shared: &Shared,
    head: RequestHead,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    shutdown: &watch::Receiver<bool>,
) -> Option<(ReplyBody, bool, bool)> {
    shared.stats.requests_total.fetch_add(1, Ordering::Relaxed);
    let ctx = RequestContext {
        shared,
        head: &head,
        peer,
        local,
        shutdown,
    };
    let mut reply = route(&ctx).await;
    let keep_alive = head.keep_alive() && !reply.close;
    let head_only = head.method() == "HEAD";
    log!(
        Debug,
        "{peer} {} {} -> {}",
        head.method(),
        head.target(),
        reply.status
    );
    write_reply_head(stream, &reply, keep_alive).await.ok()?;
    let body = std::mem::replace(&mut reply.body, ReplyBody::Empty);
    Some((body, keep_alive, head_only))
}

/// Closes after a final answer without losing it: shut down our side (FIN), then discard what
/// the client still sends for a moment. Closing with unread input makes the kernel send a reset,
/// which can destroy the answer before the client reads it.
async fn linger_close(mut stream: TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    // On the heap: an array here would make every connection's future 4 KiB larger.
    let mut sink = vec![0u8; 4096];
    let mut left = LINGER_MAX_BYTES;
    let _ = timeout(LINGER_TIMEOUT, async {
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

/// Reads the next request head and any (small) body. `Ok(None)`: the client closed or went idle,
/// nothing to answer. `Err(reply)`: answer with it and close.
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    config: &Config,
    first: bool,
) -> Result<Option<RequestHead>, Reply> {
    // The first request must arrive within the head timeout; later ones may wait the idle
    // timeout, but once a head has begun it must complete within the head timeout.
    let idle = if first {
        config.head_timeout
    } else {
        config.idle_timeout
    };
    let mut deadline = tokio::time::Instant::now()
        + if buf.is_empty() {
            idle
        } else {
            config.head_timeout
        };
    let mut started = !buf.is_empty();
    let head = loop {
        match RequestHead::parse(buf) {
            Ok(Some(head)) => break head,
            Ok(None) => {}
            Err(e) => return Err(Reply::http_error(e)),
        }
        if buf.capacity() - buf.len() < READ_BUFFER_BYTES / 2 {
            buf.reserve(READ_BUFFER_BYTES);
        }
        match timeout_at(deadline, stream.read_buf(buf)).await {
            Err(_) if started => {
                return Err(Reply::error(408, "request head not received in time").closing());
            }
            Err(_) | Ok(Err(_)) => return Ok(None),
            Ok(Ok(0)) => return Ok(None),
            Ok(Ok(_)) => {
                if !started {
                    started = true;
                    deadline = tokio::time::Instant::now() + config.head_timeout;
                }
            }
        }
    };
    match head.body_kind() {
        Ok(BodyKind::Empty) => {}
        Ok(BodyKind::Length(n)) if n > MAX_REQUEST_BODY_BYTES => {
            return Err(Reply::error(413, "request body too large").closing());
        }
        Ok(BodyKind::Length(n)) => {
            let mut left = n;
            while left > 0 {
                if buf.is_empty() {
                    match timeout_at(deadline, stream.read_buf(buf)).await {
                        Ok(Ok(n)) if n > 0 => {}
                        _ => return Ok(None),
                    }
                }
                let take = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                buf.advance(take);
                left -= take as u64;
            }
        }
        Ok(BodyKind::Chunked) | Ok(BodyKind::CloseDelimited) => {
            return Err(Reply::error(411, "chunked request bodies are not accepted").closing());
        }
        Err(e) => return Err(Reply::http_error(e)),
    }
    Ok(Some(head))
}

/// Everything a route handler may look at.
struct RequestContext<'a> {
    shared: &'a Shared,
    head: &'a RequestHead,
    peer: SocketAddr,
    /// The address the client connected to (used for the public URL when nothing better is known).
    local: Option<SocketAddr>,
    /// The engine's stop signal (handed to tasks a request starts, such as a shared reader).
    shutdown: &'a watch::Receiver<bool>,
}

impl RequestContext<'_> {
    /// The base of URLs written for this client: `public-url` if set; else, when listening on an
    /// unspecified address, `http://{Host header}`; else `http://{bound address}`.
    fn public_base(&self) -> String {
        if let Some(url) = &self.shared.config.public_url {
            return url.clone();
        }
        let host = self
            .head
            .header_str("host")
            .filter(|h| valid_host_header(h));
        if let Some(host) = host.filter(|_| self.shared.config.listen.ip().is_unspecified()) {
            return format!("http://{host}");
        }
        // The address this connection reached: the bound address, even when port 0 was asked.
        let addr = self.local.unwrap_or(self.shared.config.listen);
        format!("http://{addr}")
    }

    fn query_param(&self, name: &str) -> Option<String> {
        query_param(self.head.query()?, name)
    }
}

/// A `Host` header we are willing to echo into URLs: a host name, IPv4, or bracketed IPv6 with
/// an optional port; nothing that could smuggle a path or another URL.
fn valid_host_header(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
}

/// The first value of `name` in a query string, percent-decoded (`+` as space).
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = crate::proto::uri::percent_decode(k.as_bytes(), true);
        (k == name.as_bytes()).then(|| {
            String::from_utf8_lossy(&crate::proto::uri::percent_decode(v.as_bytes(), true))
                .into_owned()
        })
    })
}

async fn route(ctx: &RequestContext<'_>) -> Reply {
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
        "/health" => health(ctx),
        "/playlist.m3u8" | "/playlist.m3u" => playlist(ctx),
        "/api/channels" => channels_json(ctx),
        "/api/groups" => groups_json(ctx),
        _ => {
            let leaf = |prefix: &str| {
                path.strip_prefix(prefix)
                    .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            };
            if let Some(rest) = leaf("/stream/") {
                stream_route(ctx, rest).await
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

fn health(ctx: &RequestContext<'_>) -> Reply {
    let body = format!(
        "{{\"status\":\"ok\",\"version\":\"{}\",{}}}\n",
        env!("CARGO_PKG_VERSION"),
        ctx.shared.counters_json()
    );
    Reply::bytes(200, "application/json", body.into())
}

/// The URL of a channel on this relay: `/stream/{id}` with an extension players recognise.
fn stream_url(base: &str, ch: &Channel) -> String {
    let ext = match ch.kind {
        ChannelKind::Ts => "ts",
        ChannelKind::Hls => "m3u8",
        ChannelKind::File => url_extension(ch.url()).unwrap_or("bin"),
    };
    format!("{base}/stream/{}.{ext}", ch.id)
}

fn filtered(ctx: &RequestContext<'_>, catalog: &Catalog) -> Vec<Arc<Channel>> {
    let q = ctx.query_param("q");
    let group = ctx.query_param("group");
    catalog
        .search(q.as_deref(), group.as_deref())
        .cloned()
        .collect()
}

fn playlist(ctx: &RequestContext<'_>) -> Reply {
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

fn channels_json(ctx: &RequestContext<'_>) -> Reply {
    let catalog = ctx.shared.catalog();
    let base = ctx.public_base();
    let channels = filtered(ctx, &catalog);
    let mut out = String::with_capacity(64 + channels.len() * 256);
    out.push_str(&format!("{{\"count\":{},\"channels\":[", channels.len()));
    for (i, ch) in channels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        json::write_str(&mut out, &ch.id);
        out.push_str(",\"name\":");
        json::write_str(&mut out, ch.name());
        let fields = [
            ("group", ch.group()),
            ("tvg_id", ch.entry.attr("tvg-id")),
            ("logo", ch.entry.attr("tvg-logo")),
            ("chno", ch.entry.attr("tvg-chno")),
        ];
        for (key, value) in fields {
            out.push_str(&format!(",\"{key}\":"));
            match value {
                Some(v) => json::write_str(&mut out, v),
                None => out.push_str("null"),
            }
        }
        out.push_str(",\"kind\":");
        json::write_str(&mut out, ch.kind.as_str());
        out.push_str(",\"url\":");
        json::write_str(&mut out, &stream_url(&base, ch));
        out.push('}');
    }
    out.push_str("]}\n");
    Reply::bytes(200, "application/json", out.into())
}

/// `{"count":N,"groups":[{"name":..,"channels":n}]}` in order of first appearance.
fn groups_json(ctx: &RequestContext<'_>) -> Reply {
    let catalog = ctx.shared.catalog();
    let groups = catalog.groups();
    let mut out = format!("{{\"count\":{},\"groups\":[", groups.len());
    for (i, (name, n)) in groups.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        json::write_str(&mut out, name);
        out.push_str(&format!(",\"channels\":{n}}}"));
    }
    out.push_str("]}\n");
    Reply::bytes(200, "application/json", out.into())
}

/// `GET|HEAD /stream/{id}[.ext]`.
async fn stream_route(ctx: &RequestContext<'_>, name: &str) -> Reply {
    let id = name.split_once('.').map_or(name, |(id, _)| id);
    let catalog = ctx.shared.catalog();
    let Some(ch) = catalog.get(id) else {
        return Reply::error(404, "no such channel");
    };
    if ch.kind == ChannelKind::Hls {
        return Box::pin(hls::channel(ctx, ch)).await;
    }
    let range = ctx.head.header("range").and_then(ByteRange::parse);
    let head_only = ctx.head.method() == "HEAD";
    let client = ClientKey::new(ctx.peer.ip(), ctx.head.header("user-agent"));
    let share = channel_share(ch).unwrap_or(ctx.shared.config.share);
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
            return shared_reply(&content_type(ch, None));
        }
        Err(e) => return no_slot(ctx, ch, &e),
    };
    let resp = match open_upstream(ctx, ch, range).await {
        Ok(resp) => resp,
        Err(reply) => return reply,
    };
    channel_reply(ctx, ch, range, resp, slot)
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

/// The answer when a source has no free provider connection.
fn no_slot(ctx: &RequestContext<'_>, ch: &Channel, e: &crate::slots::NoSlot) -> Reply {
    log!(
        Warn,
        "channel {} ({}) for {}: {e}",
        ch.id,
        ch.name(),
        ctx.peer
    );
    let mut r = Reply::error(503, &e.to_string());
    r.header("Retry-After", NO_SLOT_RETRY_AFTER_SECS.to_string());
    r
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
    Box::pin(ctx.shared.client.request(&req))
        .await
        .map_err(|e| {
            log!(
                Warn,
                "channel {} ({}) for {}: {e}",
                ch.id,
                ch.name(),
                ctx.peer
            );
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
            let live = match resp.body.kind() {
                BodyKind::CloseDelimited | BodyKind::Chunked => true,
                BodyKind::Length(_) => {
                    channel_share(ch).unwrap_or(shared.config.share) == Share::Always
                }
                BodyKind::Empty => false,
            };
            if resp.status() != 200 || !live {
                // Waiting viewers open their own (the starter's Drop tells them).
                drop(starter);
                return Err(Some((resp, slot)));
            }
            let ready = fanout::Ready {
                content_type: content_type(ch, resp.head.header_str("content-type")),
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
            reply.body = ReplyBody::Shared(Box::new(viewer));
            Ok(reply)
        }
        Start::Failed { status, reason } => {
            let mut reply = Reply::error(status, &reason);
            if status == 503 {
                reply.header("Retry-After", NO_SLOT_RETRY_AFTER_SECS.to_string());
            }
            Ok(reply)
        }
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
    let content_type = content_type(ch, resp.head.header_str("content-type"));
    let mut reply = relay_reply(ctx, ch, resp, range, content_type, Some(slot));
    if let ReplyBody::Relay(plan) = &mut reply.body {
        plan.viewer = true;
    }
    if reply.status < 300 && ch.kind == ChannelKind::Ts {
        reply.header("Cache-Control", "no-cache, no-store");
    }
    reply
}

/// The answer that relays an upstream response to the client: the status, length and range
/// headers worked out from the upstream's (cutting a range out of a full body when the upstream
/// ignored it), and the body as a [`RelayPlan`] holding `slot` (if the source counts this
/// connection). Upstream errors become 502 or 416. For HEAD the plan (upstream connection and
/// slot) is dropped here, before the head is written.
fn relay_reply(
    ctx: &RequestContext<'_>,
    ch: &Arc<Channel>,
    resp: upstream::Response,
    range: Option<ByteRange>,
    content_type: String,
    slot: Option<Slot>,
) -> Reply {
    let upstream_len = resp.content_length();
    let mut plan = RelayPlan {
        body: resp.body,
        skip: 0,
        limit: None,
        channel: ch.clone(),
        peer: ctx.peer,
        slot,
        viewer: false,
    };
    let status = resp.head.status();
    let mut reply = match status {
        200 => {
            match (range, upstream_len) {
                (Some(range), Some(len)) => match range.resolve(len) {
                    Some((first, last)) => {
                        // The upstream ignored the range: cut it out of the full body ourselves.
                        let n = last - first + 1;
                        plan.skip = first;
                        plan.limit = Some(n);
                        let mut r = Reply::status(206);
                        r.header("Content-Range", content_range(first, last, Some(len)));
                        r.length(n);
                        r
                    }
                    None => return unsatisfiable(len),
                },
                (_, Some(len)) => {
                    plan.limit = Some(len);
                    let mut r = Reply::status(200);
                    r.length(len);
                    r
                }
                (_, None) => Reply::status(200).closing(),
            }
        }
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
            plan.limit = Some(len);
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
            log!(
                Warn,
                "channel {} ({}) for {}: {reason}",
                ch.id,
                ch.name(),
                ctx.peer
            );
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
    if ctx.head.method() != "HEAD" {
        reply.body = ReplyBody::Relay(Box::new(plan));
    }
    reply
}

fn unsatisfiable(total: u64) -> Reply {
    let mut r = Reply::error(416, "range not satisfiable");
    r.header("Content-Range", content_range_unsatisfied(total));
    r
}

/// The `Content-Type` for a relayed stream: the upstream's when it names a real media type,
/// else one from the channel kind and URL extension (many IPTV servers send
/// `application/octet-stream` or even `text/html` for TS).
fn content_type(ch: &Channel, upstream: Option<&str>) -> String {
    if let Some(ct) = upstream.map(str::trim) {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let specific = (essence.starts_with("video/") || essence.starts_with("audio/"))
            && !essence.contains(char::is_whitespace);
        if specific {
            return ct.to_string();
        }
    }
    let by_ext = match url_extension(ch.url())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("mp4" | "m4v") => "video/mp4",
        Some("mkv") => "video/x-matroska",
        Some("webm") => "video/webm",
        Some("avi") => "video/x-msvideo",
        Some("mov") => "video/quicktime",
        Some("wmv") => "video/x-ms-wmv",
        Some("flv") => "video/x-flv",
        Some("mpg" | "mpeg") => "video/mpeg",
        Some("mp3") => "audio/mpeg",
        Some("aac") => "audio/aac",
        Some("m4a") => "audio/mp4",
        Some("flac") => "audio/flac",
        Some("ogg") => "audio/ogg",
        Some("ts") => "video/mp2t",
        _ if ch.kind == ChannelKind::Ts => "video/mp2t",
        _ => "application/octet-stream",
    };
    by_ext.to_string()
}

/// How a relayed body is cut: skip the first `skip` bytes (ranges the upstream ignored), then
/// send at most `limit`.
struct RelayPlan {
    body: upstream::Body,
    skip: u64,
    limit: Option<u64>,
    channel: Arc<Channel>,
    peer: SocketAddr,
    /// The provider slot this upstream connection holds (none for HLS sub-resources, which
    /// sources do not count); released with the plan.
    slot: Option<Slot>,
    /// A viewer of a channel's stream, whose start and end are [events](crate::events) (an HLS
    /// sub-resource is not).
    viewer: bool,
}

/// How a relay ended.
enum RelayEnd {
    /// Everything due was sent (or the close-delimited upstream ended).
    Complete,
    /// The client went away or stopped reading.
    ClientGone,
    /// The upstream failed mid-body; the client must see a cut, not an end.
    Upstream(UpstreamError),
    /// The engine is stopping, or the provider slot went to the client's next channel.
    Shutdown,
}

impl RelayEnd {
    fn clean(&self) -> bool {
        matches!(self, RelayEnd::Complete)
    }
}

/// Relays the upstream body to the client as it arrives: a plain-TCP body through
/// [`relay::pass`](crate::relay::pass) (`splice(2)` on Linux, else the pooled copy loop), a TLS
/// or chunked one chunk by chunk. Backpressure either way: the next upstream read happens only
/// after the client took the previous bytes.
async fn relay(
    stream: &mut TcpStream,
    plan: RelayPlan,
    shared: &Shared,
    shutdown: &mut watch::Receiver<bool>,
) -> RelayEnd {
    let stats = &shared.stats;
    stats.streams_active.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let mut sent: u64 = 0;
    let RelayPlan {
        body,
        skip,
        limit,
        channel: ch,
        peer,
        slot,
        viewer,
    } = plan;
    let events = viewer.then(|| ViewerEvents::connected(&shared.events, &ch.id, peer, false));
    let (end, path) = match body.into_plain() {
        Ok(plain) => {
            let pass = crate::relay::pass::Pass {
                body: plain,
                skip,
                limit,
                splice: shared.config.relay_path != RelayPath::Copy,
                idle: shared.config.upstream_idle_timeout,
                stall: CLIENT_STALL_TIMEOUT,
                pool: &shared.buffers,
            };
            let path = if pass.splice && cfg!(target_os = "linux") {
                "splice"
            } else {
                "copy"
            };
            let end = tokio::select! {
                end = pass.run(stream, &mut sent) => match end {
                    PassEnd::Complete => RelayEnd::Complete,
                    PassEnd::ClientGone => RelayEnd::ClientGone,
                    PassEnd::Upstream(e) => RelayEnd::Upstream(e),
                },
                _ = stopped(shutdown) => RelayEnd::Shutdown,
                _ = revoked(&slot) => RelayEnd::Shutdown,
            };
            (end, path)
        }
        Err(body) => {
            let end = relay_chunks(stream, body, skip, limit, &slot, &mut sent, shutdown).await;
            (end, "chunks")
        }
    };
    drop(slot);
    stats.streams_active.fetch_sub(1, Ordering::Relaxed);
    stats.bytes_relayed.fetch_add(sent, Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    let how = match &end {
        RelayEnd::Complete => "complete".to_string(),
        RelayEnd::ClientGone => "client left".to_string(),
        RelayEnd::Upstream(e) => format!("cut: {e}"),
        RelayEnd::Shutdown => "stopped".to_string(),
    };
    if let Some(events) = events {
        events.disconnected(sent, &how);
    }
    let level = if matches!(end, RelayEnd::Upstream(_)) {
        log::Level::Warn
    } else {
        log::Level::Info
    };
    if log::enabled(level) {
        log::emit(
            level,
            format_args!(
                "stream {} ({}) to {peer}: {sent} bytes in {secs:.1}s ({path}), {how}",
                ch.id,
                ch.name(),
            ),
        );
    }
    end
}

/// Resolves once `slot` was reclaimed for another channel; never without a slot.
async fn revoked(slot: &Option<Slot>) {
    match slot {
        Some(slot) => slot.revoked().await,
        None => std::future::pending().await,
    }
}

/// The chunk loop for bodies that need decoding (TLS, chunked): each decoded piece is cut by
/// skip/limit and written before the next is read.
async fn relay_chunks(
    stream: &mut TcpStream,
    mut body: upstream::Body,
    mut skip: u64,
    mut limit: Option<u64>,
    slot: &Option<Slot>,
    sent: &mut u64,
    shutdown: &mut watch::Receiver<bool>,
) -> RelayEnd {
    loop {
        let next = tokio::select! {
            next = body.chunk() => next,
            _ = stopped(shutdown) => return RelayEnd::Shutdown,
            _ = revoked(slot) => return RelayEnd::Shutdown,
        };
        let mut data: Bytes = match next {
            Ok(Some(data)) => data,
            Ok(None) if limit.is_some_and(|l| l > 0) => {
                return RelayEnd::Upstream(UpstreamError::Cut {
                    received: body.received(),
                });
            }
            Ok(None) => return RelayEnd::Complete,
            Err(e) => return RelayEnd::Upstream(e),
        };
        if skip > 0 {
            let n = skip.min(data.len() as u64);
            data.advance(n as usize);
            skip -= n;
        }
        if let Some(limit) = limit.as_mut() {
            let n = (*limit).min(data.len() as u64);
            data.truncate(n as usize);
            *limit -= n;
        }
        if !data.is_empty() {
            match timeout(CLIENT_STALL_TIMEOUT, stream.write_all(&data)).await {
                Ok(Ok(())) => {}
                _ => return RelayEnd::ClientGone,
            }
            *sent += data.len() as u64;
        }
        if limit == Some(0) {
            return RelayEnd::Complete;
        }
    }
}

/// Writes a shared channel to one viewer until it ends (see [`fanout::Viewer::run`]).
async fn watch_shared(
    stream: &mut TcpStream,
    peer: SocketAddr,
    viewer: &fanout::Viewer,
    shared: &Shared,
    shutdown: &mut watch::Receiver<bool>,
) -> RelayEnd {
    let stats = &shared.stats;
    stats.streams_active.fetch_add(1, Ordering::Relaxed);
    let events = ViewerEvents::connected(&shared.events, viewer.channel(), peer, true);
    let started = Instant::now();
    let (sent, end) = viewer.run(stream, CLIENT_STALL_TIMEOUT, shutdown).await;
    stats.streams_active.fetch_sub(1, Ordering::Relaxed);
    stats.bytes_relayed.fetch_add(sent, Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    let skips = viewer.skips();
    let how = match &end {
        Ok(fanout::End::Complete) => "complete".to_string(),
        Ok(fanout::End::Cut(why)) => format!("cut: {why}"),
        Ok(fanout::End::Dropped) => "dropped (too slow)".to_string(),
        Ok(fanout::End::Stopped) => "stopped".to_string(),
        Err(_) => "client left".to_string(),
    };
    events.disconnected(sent, &how);
    let level = if matches!(end, Ok(fanout::End::Cut(_))) {
        log::Level::Warn
    } else {
        log::Level::Info
    };
    if log::enabled(level) {
        log::emit(
            level,
            format_args!(
                "stream {} ({}) to {peer}: {sent} bytes in {secs:.1}s (shared, {skips} skips), {how}",
                viewer.channel(),
                viewer.channel_name(),
            ),
        );
    }
    match end {
        Ok(fanout::End::Complete) => RelayEnd::Complete,
        // The client must see a cut, never a clean end.
        Ok(fanout::End::Cut(_)) => RelayEnd::ClientGone,
        Ok(_) => RelayEnd::Shutdown,
        Err(_) => RelayEnd::ClientGone,
    }
}

/// Aborts the connection with a TCP reset so the client sees an error, never a clean end of a
/// body that was not delivered.
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// A response being prepared.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, Vec<u8>)>,
    length: Option<u64>,
    body: ReplyBody,
    /// Close the connection after this reply.
    close: bool,
}

enum ReplyBody {
    Empty,
    Bytes(Bytes),
    Relay(Box<RelayPlan>),
    Shared(Box<fanout::Viewer>),
}

impl Reply {
    fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            length: None,
            body: ReplyBody::Empty,
            close: false,
        }
    }

    fn bytes(status: u16, content_type: &'static str, body: Bytes) -> Reply {
        let mut r = Reply::status(status);
        r.header("Content-Type", content_type);
        r.length(body.len() as u64);
        r.body = ReplyBody::Bytes(body);
        r
    }

    fn text(status: u16, text: &str) -> Reply {
        Reply::bytes(
            status,
            "text/plain; charset=utf-8",
            Bytes::copy_from_slice(text.as_bytes()),
        )
    }

    /// An error answer: the reason as plain text, one line.
    fn error(status: u16, reason: &str) -> Reply {
        Reply::text(status, &format!("{reason}\n"))
    }

    fn http_error(e: HttpError) -> Reply {
        Reply::error(e.status(), &e.to_string()).closing()
    }

    fn closing(mut self) -> Reply {
        self.close = true;
        self
    }

    fn header(&mut self, name: &'static str, value: impl Into<Vec<u8>>) {
        self.headers.push((name, value.into()));
    }

    fn length(&mut self, n: u64) {
        self.length = Some(n);
    }

    fn reason(&self) -> String {
        match &self.body {
            ReplyBody::Bytes(b) => String::from_utf8_lossy(b).trim().to_string(),
            _ => String::new(),
        }
    }

    fn body_bytes(&self) -> Bytes {
        match &self.body {
            ReplyBody::Bytes(b) => b.clone(),
            _ => Bytes::new(),
        }
    }
}

async fn write_reply_head(
    stream: &mut TcpStream,
    reply: &Reply,
    keep_alive: bool,
) -> std::io::Result<()> {
    let mut w = HeadWriter::response(reply.status);
    w.header("Server", concat!("relay/", env!("CARGO_PKG_VERSION")));
    for (name, value) in &reply.headers {
        w.header(name, value);
    }
    if let Some(n) = reply.length {
        w.header("Content-Length", n.to_string());
    }
    // Without a length the body ends at close, so the connection cannot be kept.
    let keep = keep_alive && (reply.length.is_some() || matches!(reply.body, ReplyBody::Empty));
    w.header("Connection", if keep { "keep-alive" } else { "close" });
    stream.write_all(&w.finish()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_decode() {
        assert_eq!(
            query_param("q=news+24&group=UK%20TV", "q").as_deref(),
            Some("news 24")
        );
        assert_eq!(
            query_param("q=news+24&group=UK%20TV", "group").as_deref(),
            Some("UK TV")
        );
        assert_eq!(query_param("flag&q=", "q").as_deref(), Some(""));
        assert_eq!(query_param("a=1", "q"), None);
    }

    #[test]
    fn host_headers_are_checked() {
        assert!(valid_host_header("192.168.1.2:8080"));
        assert!(valid_host_header("[::1]:8080"));
        assert!(valid_host_header("tv.local"));
        assert!(!valid_host_header("evil.com/x"));
        assert!(!valid_host_header("a b"));
        assert!(!valid_host_header(""));
    }

    #[test]
    fn extensions() {
        assert_eq!(url_extension("http://h/a/movie.MKV?x=1"), Some("MKV"));
        assert_eq!(url_extension("http://h/a/live/123"), None);
        assert_eq!(url_extension("http://h/a.b/c"), None);
        assert_eq!(url_extension("http://provider.com"), None);
        assert_eq!(url_extension("http://h/x.ts|User-Agent=a.b"), Some("ts"));
    }
}
#[cfg(test)]
mod task_size {
    use super::*;

    /// A viewer's connection lives as long as it watches: its future must stay small (the
    /// target is under 4 KiB of relay memory per viewer). Large states belong in boxed futures.
    #[tokio::test]
    async fn stream_tasks_stay_small() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let config = Config::default();
        let client = Client::new(upstream::ClientOptions::from_config(&config));
        let shared = Shared::new(config, client);
        let (_tx, mut rx) = watch::channel(false);
        let mut s = TcpStream::connect(addr).await.unwrap();
        let c = connection(
            TcpStream::connect(addr).await.unwrap(),
            addr,
            &shared,
            rx.clone(),
        );
        let conn = std::mem::size_of_val(&c);
        drop(c);
        let hub = Arc::new(Hub::default());
        let Join::Start(_starter, viewer) = hub.join(
            "x",
            "X",
            ClientKey::new(addr.ip(), None),
            shared.fanout_options(),
        ) else {
            panic!("a new channel starts");
        };
        let w = watch_shared(&mut s, addr, &viewer, &shared, &mut rx);
        let watch = std::mem::size_of_val(&w);
        drop(w);
        let head = RequestHead::parse(&mut BytesMut::from(&b"GET /x HTTP/1.1\r\n\r\n"[..]))
            .unwrap()
            .unwrap();
        let ctx = RequestContext {
            shared: &shared,
            head: &head,
            peer: addr,
            local: None,
            shutdown: &rx,
        };
        let r = route(&ctx);
        let routing = std::mem::size_of_val(&r);
        drop(r);
        assert!(conn <= 1024, "connection future is {conn} bytes");
        assert!(watch <= 1024, "watch_shared future is {watch} bytes");
        assert!(routing <= 1536, "route future is {routing} bytes");
    }
}
