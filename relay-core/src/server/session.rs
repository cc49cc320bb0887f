//! One client connection, as an HTTP session: read a request head (with the head and idle
//! timeouts), let the router answer it, write the answer's head, hand a stream body to the relay
//! driver, close with a linger or a reset, and loop while keep-alive allows. Pipelined requests
//! are answered in order because each is read only after the previous answer is written.

use super::context::RequestContext;
use super::reply::{Reply, ReplyBody};
use super::router::route;
use super::{
    CLIENT_STALL_TIMEOUT, LINGER_BUFFER_BYTES, LINGER_MAX_BYTES, LINGER_TIMEOUT,
    MAX_REQUEST_BODY_BYTES, READ_BUFFER_BYTES, Shared,
};
use crate::config::Config;
use crate::log;
use crate::proto::http::{BodyKind, HeadWriter, RequestHead};
use crate::relay::session as relay_session;
use crate::shutdown::Shutdown;
use crate::stats;
use bytes::{Buf, BytesMut};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at};

/// One client connection: read a head, answer, repeat while keep-alive holds.
pub(super) async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    mut shutdown: Shutdown,
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
        let Some((body, framing, head_only)) = answered else {
            return;
        };
        let keep_alive = framing.keep_alive;
        match body {
            ReplyBody::Empty => {}
            ReplyBody::Bytes(_) | ReplyBody::Pieces(_) if head_only => {}
            ReplyBody::Bytes(b) => {
                if stream.write_all(&b).await.is_err() {
                    return;
                }
            }
            ReplyBody::Pieces(pieces) => {
                let chunked = framing.chunked;
                if Box::pin(write_pieces(&mut stream, pieces, chunked))
                    .await
                    .is_err()
                {
                    reset(&stream);
                    return;
                }
            }
            ReplyBody::Stream(_) if head_only => {}
            ReplyBody::Stream(body) => {
                // A stream holds its connection for long: give back the read buffer.
                if buf.is_empty() {
                    buf = BytesMut::new();
                }
                // Boxed, like the route: the connection's own future stays small.
                let ctx = shared.relay_context();
                let end = Box::pin(relay_session::run(
                    &mut stream,
                    body,
                    peer,
                    ctx,
                    &mut shutdown,
                ))
                .await;
                if !end.clean() {
                    reset(&stream);
                    return;
                }
            }
        }
        if !keep_alive || shutdown.is_draining() {
            Box::pin(linger_close(stream)).await;
            return;
        }
    }
}

/// [`read_request`] until the engine drains (`None`).
async fn next_request(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    shared: &Shared,
    first: bool,
    shutdown: &mut Shutdown,
) -> Option<Result<Option<RequestHead>, Reply>> {
    let config = shared.config();
    tokio::select! {
        read = read_request(stream, buf, &config, first) => Some(read),
        _ = shutdown.draining() => None,
    }
}

/// Answers a request that could not be read (the reply closes the connection).
async fn reject(mut stream: TcpStream, reply: Reply) {
    let _ = write_reply_head(&mut stream, &reply, false, false).await;
    if stream.write_all(&reply.body_bytes()).await.is_ok() {
        linger_close(stream).await;
    }
}

/// How a reply's head said its body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Framing {
    /// `Transfer-Encoding: chunked` (a body made while sent, to an HTTP/1.1 client).
    chunked: bool,
    /// The connection stays open after the body.
    keep_alive: bool,
}

/// Writes a body made piece by piece, each piece as one chunk when `chunked` (then the last
/// chunk), else as it is (the connection closes after it).
async fn write_pieces(
    stream: &mut TcpStream,
    mut pieces: Box<dyn super::reply::Pieces>,
    chunked: bool,
) -> std::io::Result<()> {
    let mut framed = Vec::new();
    while let Some(piece) = pieces.next_piece() {
        let bytes: &[u8] = if chunked {
            framed.clear();
            crate::proto::http::write_chunk(&mut framed, &piece);
            &framed
        } else {
            &piece
        };
        match timeout(CLIENT_STALL_TIMEOUT, stream.write_all(bytes)).await {
            Ok(r) => r?,
            Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
        }
    }
    if chunked {
        stream.write_all(crate::proto::http::LAST_CHUNK).await?;
    }
    Ok(())
}

/// Routes one request and writes the answer's head. Returns the body still to send, how it is
/// framed (whether the connection stays open after it), and whether the request was a `HEAD`;
/// `None` when the client went away.
async fn answer(
    stream: &mut TcpStream,
    shared: &Shared,
    head: RequestHead,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    shutdown: &Shutdown,
) -> Option<(ReplyBody, Framing, bool)> {
    stats::inc(&shared.stats.requests_total);
    let ctx = RequestContext {
        shared,
        head: &head,
        peer,
        local,
        shutdown,
    };
    let mut reply = route(&ctx).await;
    let keep_alive = head.keep_alive() && !reply.close && !shutdown.is_draining();
    let head_only = head.method() == "HEAD";
    log!(
        Debug,
        "{peer} {} {} -> {}",
        head.method(),
        head.target(),
        reply.status
    );
    let chunked_ok = head.version() == crate::proto::http::Version::Http11;
    let framing = write_reply_head(stream, &reply, keep_alive, chunked_ok)
        .await
        .ok()?;
    let body = std::mem::replace(&mut reply.body, ReplyBody::Empty);
    Some((body, framing, head_only))
}

/// Closes after a final answer without losing it: shut down our side (FIN), then discard what
/// the client still sends for a moment. Closing with unread input makes the kernel send a reset,
/// which can destroy the answer before the client reads it.
pub(super) async fn linger_close(mut stream: TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    // On the heap: an array here would make every connection's future larger.
    let mut sink = vec![0u8; LINGER_BUFFER_BYTES];
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

/// Aborts the connection with a TCP reset so the client sees an error, never a clean end of a
/// body that was not delivered.
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// Writes the head of `reply`; returns how its body is framed. `chunked_ok`: the client speaks
/// HTTP/1.1.
async fn write_reply_head(
    stream: &mut TcpStream,
    reply: &Reply,
    keep_alive: bool,
    chunked_ok: bool,
) -> std::io::Result<Framing> {
    let mut w = HeadWriter::response(reply.status);
    w.header("Server", concat!("relay/", env!("CARGO_PKG_VERSION")));
    for (name, value) in &reply.headers {
        w.header(name, value);
    }
    if let Some(n) = reply.length {
        w.header("Content-Length", n.to_string());
    }
    let chunked = chunked_ok && matches!(reply.body, ReplyBody::Pieces(_));
    if chunked {
        w.header("Transfer-Encoding", "chunked");
    }
    // Without a length or chunks the body ends at close, so the connection cannot be kept.
    let framed = reply.length.is_some() || chunked || matches!(reply.body, ReplyBody::Empty);
    let framing = Framing {
        chunked,
        keep_alive: keep_alive && framed,
    };
    let connection = if framing.keep_alive {
        "keep-alive"
    } else {
        "close"
    };
    w.header("Connection", connection);
    stream.write_all(&w.finish()).await?;
    Ok(framing)
}

#[cfg(test)]
mod task_size {
    use super::*;
    use crate::relay::fanout::{Hub, Join};
    use crate::slots::ClientKey;
    use crate::upstream::{self, Client};
    use std::sync::Arc;
    use tokio::net::TcpListener;

    /// A viewer's connection lives as long as it watches: its future must stay small (the
    /// target is under 4 KiB of relay memory per viewer). Large states belong in boxed futures.
    #[tokio::test]
    async fn stream_tasks_stay_small() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let config = Config::default();
        let client = Client::new(upstream::ClientOptions::from_config(&config));
        let shared = Shared::new(config, client);
        let (_trigger, shutdown) = crate::shutdown::channel();
        let mut s = TcpStream::connect(addr).await.unwrap();
        let c = connection(
            TcpStream::connect(addr).await.unwrap(),
            addr,
            &shared,
            shutdown.clone(),
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
        let mut rx = shutdown.clone();
        let stream = relay_session::Stream::Shared(Box::new(viewer));
        let w = relay_session::run(&mut s, stream, addr, shared.relay_context(), &mut rx);
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
            shutdown: &shutdown,
        };
        let r = route(&ctx);
        let routing = std::mem::size_of_val(&r);
        drop(r);
        assert!(conn <= 1024, "connection future is {conn} bytes");
        assert!(watch <= 1024, "stream driver future is {watch} bytes");
        assert!(routing <= 1536, "route future is {routing} bytes");
    }
}
