//! The upstream HTTP/1.1 client: DNS, TCP connect with timeouts and socket options (socket2),
//! HTTPS with rustls (ring provider) and the webpki roots, bounded redirects with the final URL
//! recorded, per-channel headers, and a body reader that tells a complete body from a cut one.
//!
//! One connection per request for now (`Connection: close`); the keep-alive pool comes with HLS.

use crate::proto::http::{
    BodyKind, ByteRange, ChunkedDecoder, HeadWriter, HttpError, ResponseHead,
};
use crate::proto::uri::Uri;
use bytes::{Buf, Bytes, BytesMut};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 8;
/// Bytes reserved for each read from an upstream socket.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;
/// The least time one address of a host gets to accept a connection.
pub const CONNECT_ATTEMPT_MIN: Duration = Duration::from_millis(500);
/// TCP keepalive idle time on upstream sockets (dead peers are noticed on long live streams).
pub const TCP_KEEPALIVE: Duration = Duration::from_secs(30);
/// Idle keep-alive connections kept per upstream host (scheme, host, port).
pub const POOL_MAX_IDLE_PER_HOST: usize = 8;
/// An idle pooled connection older than this is closed instead of reused (servers close theirs
/// after 5–60 s; reusing one they are closing wastes a round trip).
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// The phase of an upstream exchange that timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// DNS, TCP and TLS.
    Connect,
    /// Sending the request and receiving the whole response head.
    Response,
    /// Waiting for more body bytes.
    Body,
}

/// Why an upstream exchange failed. [`UpstreamError::status`] maps it to the answer a client gets.
#[derive(Debug)]
pub enum UpstreamError {
    /// The URL is not a usable absolute http(s) URL.
    BadUrl(String),
    /// A scheme other than http or https (also after a redirect).
    UnsupportedScheme(String),
    /// The host name did not resolve.
    Resolve { host: String, source: io::Error },
    /// No address of the host accepted a connection.
    Connect { host: String, source: io::Error },
    /// The TLS handshake failed (certificate, protocol).
    Tls { host: String, source: io::Error },
    /// A phase took longer than its configured timeout.
    Timeout(Phase),
    /// The upstream sent a head or body framing we refuse.
    Protocol(HttpError),
    /// More than [`MAX_REDIRECTS`] redirects.
    TooManyRedirects,
    /// The connection closed before the response head was complete.
    ClosedBeforeHead,
    /// The body ended before its framing said it would: a cut stream, never a complete one.
    Cut { received: u64 },
    /// A body was larger than the caller's limit.
    TooLarge { limit: usize },
    /// Any other socket error.
    Io(io::Error),
}

impl UpstreamError {
    /// The status a client gets when this happens before the first byte of a response: 504 for
    /// timeouts, 502 for everything else.
    pub fn status(&self) -> u16 {
        match self {
            UpstreamError::Timeout(_) => 504,
            _ => 502,
        }
    }
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::BadUrl(u) => write!(f, "upstream URL {u:?} is not a valid http(s) URL"),
            UpstreamError::UnsupportedScheme(s) => {
                write!(f, "upstream scheme {s:?} is not supported")
            }
            UpstreamError::Resolve { host, source } => {
                write!(f, "upstream host {host} did not resolve: {source}")
            }
            UpstreamError::Connect { host, source } => {
                write!(f, "upstream {host} refused the connection: {source}")
            }
            UpstreamError::Tls { host, source } => {
                write!(f, "upstream TLS with {host} failed: {source}")
            }
            UpstreamError::Timeout(Phase::Connect) => f.write_str("upstream connect timed out"),
            UpstreamError::Timeout(Phase::Response) => f.write_str("upstream response timed out"),
            UpstreamError::Timeout(Phase::Body) => f.write_str("upstream body stalled"),
            UpstreamError::Protocol(e) => write!(f, "upstream sent an invalid response: {e}"),
            UpstreamError::TooManyRedirects => {
                write!(f, "upstream redirected more than {MAX_REDIRECTS} times")
            }
            UpstreamError::ClosedBeforeHead => {
                f.write_str("upstream closed the connection before a response")
            }
            UpstreamError::Cut { received } => {
                write!(f, "upstream body cut after {received} bytes")
            }
            UpstreamError::TooLarge { limit } => {
                write!(f, "upstream body larger than {limit} bytes")
            }
            UpstreamError::Io(e) => write!(f, "upstream I/O error: {e}"),
        }
    }
}

impl std::error::Error for UpstreamError {}

impl From<HttpError> for UpstreamError {
    fn from(e: HttpError) -> Self {
        UpstreamError::Protocol(e)
    }
}

/// Request method; the relay only ever reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
        }
    }
}

/// One upstream request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: Method,
    /// Absolute http(s) URL (from the catalog; never from a client).
    pub url: &'a str,
    /// Extra headers (the channel's); a `User-Agent` here replaces the default.
    pub headers: &'a [(String, String)],
    /// Byte range to ask for.
    pub range: Option<ByteRange>,
}

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    pub idle_timeout: Duration,
    pub user_agent: String,
}

impl ClientOptions {
    /// The client settings of an engine configuration.
    pub fn from_config(c: &crate::config::Config) -> Self {
        ClientOptions {
            connect_timeout: c.upstream_connect_timeout,
            response_timeout: c.upstream_response_timeout,
            idle_timeout: c.upstream_idle_timeout,
            user_agent: c.user_agent.clone(),
        }
    }
}

/// The upstream client; cheap to clone, shared by all connections.
#[derive(Clone)]
pub struct Client {
    tls: tokio_rustls::TlsConnector,
    opts: Arc<ClientOptions>,
    /// Idle keep-alive connections, shared by every clone.
    pool: Arc<Pool>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// The default TLS settings: rustls with the ring provider, TLS 1.2 and 1.3, webpki roots.
pub fn default_tls_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    tls_config_with_roots(roots)
}

/// TLS settings trusting exactly `roots` (tests use a private root).
pub fn tls_config_with_roots(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

impl Client {
    pub fn new(opts: ClientOptions) -> Client {
        Client::with_tls(opts, default_tls_config())
    }

    pub fn with_tls(opts: ClientOptions, tls: Arc<rustls::ClientConfig>) -> Client {
        Client {
            tls: tokio_rustls::TlsConnector::from(tls),
            opts: Arc::new(opts),
            pool: Arc::default(),
        }
    }

    /// Sends the request, following redirects (at most [`MAX_REDIRECTS`]); returns once the
    /// final response head is in. Any status is a successful exchange here; the caller decides.
    pub async fn request(&self, req: &Request<'_>) -> Result<Response, UpstreamError> {
        let mut url = parse_http_url(req.url)?;
        for redirects in 0..=MAX_REDIRECTS {
            let (head, body) = self.exchange(&url, req).await?;
            let location = match head.status() {
                301 | 302 | 303 | 307 | 308 => head.header_str("location").map(str::to_owned),
                _ => None,
            };
            let Some(location) = location else {
                return Ok(Response {
                    head,
                    url,
                    redirects,
                    body,
                });
            };
            drop(body);
            let next = url
                .join(location.trim())
                .map_err(|_| UpstreamError::BadUrl(location.clone()))?;
            crate::log!(Debug, "upstream redirect {} -> {}", head.status(), next);
            url = check_http_url(next)?;
        }
        Err(UpstreamError::TooManyRedirects)
    }

    async fn exchange(
        &self,
        url: &Uri,
        req: &Request<'_>,
    ) -> Result<(ResponseHead, Body), UpstreamError> {
        let key = PoolKey {
            tls: url.scheme() == Some("https"),
            host: url.host().unwrap_or_default().to_string(),
            port: url.port_or_default().unwrap_or(80),
        };
        if let Some(stream) = self.pool.take(&key) {
            match self.send(stream, &key, url, req).await {
                // A connection the server closed while it sat idle: try a fresh one.
                Err(UpstreamError::Io(_) | UpstreamError::ClosedBeforeHead) => {
                    crate::log!(Debug, "upstream {}: pooled connection was stale", key.host);
                }
                other => return other,
            }
        }
        let stream = timeout(
            self.opts.connect_timeout,
            self.connect(&key.host, key.port, key.tls),
        )
        .await
        .map_err(|_| UpstreamError::Timeout(Phase::Connect))??;
        self.send(stream, &key, url, req).await
    }

    /// Sends one request on `stream` and reads the response head.
    async fn send(
        &self,
        mut stream: Stream,
        key: &PoolKey,
        url: &Uri,
        req: &Request<'_>,
    ) -> Result<(ResponseHead, Body), UpstreamError> {
        let head_bytes = self.request_head(url, req);
        let mut buf = BytesMut::with_capacity(READ_CHUNK_BYTES);
        let head = timeout(self.opts.response_timeout, async {
            stream
                .write_all(&head_bytes)
                .await
                .map_err(UpstreamError::Io)?;
            loop {
                icy_to_http(&mut buf);
                if let Some(head) = ResponseHead::parse(&mut buf)? {
                    return Ok(head);
                }
                reserve(&mut buf);
                if stream.read_buf(&mut buf).await.map_err(UpstreamError::Io)? == 0 {
                    return Err(UpstreamError::ClosedBeforeHead);
                }
            }
        })
        .await
        .map_err(|_| UpstreamError::Timeout(Phase::Response))??;
        let kind = head.body_kind(req.method == Method::Head)?;
        let mut body = Body::new(stream, buf, kind, self.opts.idle_timeout);
        let framed = matches!(
            kind,
            BodyKind::Empty | BodyKind::Length(_) | BodyKind::Chunked
        );
        if framed && head.keep_alive() {
            body.reuse = Some((self.pool.clone(), key.clone()));
            body.release();
        }
        Ok((head, body))
    }

    fn request_head(&self, url: &Uri, req: &Request<'_>) -> Vec<u8> {
        let mut w = HeadWriter::request(req.method.as_str(), &url.request_target());
        let host = url.host().unwrap_or_default();
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        match url.port() {
            Some(p) => w.header("Host", format!("{host}:{p}")),
            None => w.header("Host", host),
        };
        let has = |name: &str| {
            req.headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        if !has("user-agent") {
            w.header("User-Agent", &self.opts.user_agent);
        }
        if !has("accept") {
            w.header("Accept", "*/*");
        }
        for (name, value) in req.headers {
            if !is_hop_or_framing(name) {
                w.header(name, value);
            }
        }
        if let Some(userinfo) = url.userinfo().filter(|_| !has("authorization")) {
            let raw = crate::proto::uri::percent_decode(userinfo.as_bytes(), false);
            w.header(
                "Authorization",
                format!("Basic {}", crate::proto::base64::encode(&raw)),
            );
        }
        if let Some(range) = req.range {
            w.header("Range", range.to_header());
        }
        w.header("Accept-Encoding", "identity");
        w.finish()
    }

    async fn connect(&self, host: &str, port: u16, tls: bool) -> Result<Stream, UpstreamError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| UpstreamError::Resolve {
                host: host.to_string(),
                source,
            })?
            .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no addresses");
        let mut tcp = None;
        // A black-holed address (typically a broken IPv6 route) must not eat the whole connect
        // budget: each address gets its share, at least CONNECT_ATTEMPT_MIN.
        let n = u32::try_from(addrs.len()).unwrap_or(u32::MAX).max(1);
        let share = (self.opts.connect_timeout / n).max(CONNECT_ATTEMPT_MIN);
        for addr in addrs {
            match timeout(share, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    tcp = Some(s);
                    break;
                }
                Ok(Err(e)) => last = e,
                Err(_) => {
                    last = io::Error::new(io::ErrorKind::TimedOut, format!("{addr} timed out"))
                }
            }
        }
        if tcp.is_none() && last.kind() == io::ErrorKind::TimedOut {
            return Err(UpstreamError::Timeout(Phase::Connect));
        }
        let tcp = tcp.ok_or_else(|| UpstreamError::Connect {
            host: host.to_string(),
            source: last,
        })?;
        configure_socket(&tcp);
        if !tls {
            return Ok(Stream::Plain(tcp));
        }
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|_| UpstreamError::BadUrl(host.to_string()))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|source| UpstreamError::Tls {
                host: host.to_string(),
                source,
            })?;
        Ok(Stream::Tls(Box::new(tls)))
    }
}

/// Headers the client writes itself; a channel cannot override them.
fn is_hop_or_framing(name: &str) -> bool {
    const OWN: &[&str] = &[
        "host",
        "connection",
        "content-length",
        "transfer-encoding",
        "te",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        "range",
        "accept-encoding",
    ];
    OWN.iter().any(|h| h.eq_ignore_ascii_case(name))
}

fn configure_socket(tcp: &TcpStream) {
    let _ = tcp.set_nodelay(true);
    let sock = socket2::SockRef::from(tcp);
    let _ = sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE));
}

fn parse_http_url(url: &str) -> Result<Uri, UpstreamError> {
    let uri = Uri::parse(url).map_err(|_| UpstreamError::BadUrl(url.to_string()))?;
    check_http_url(uri)
}

/// Accepts an absolute http(s) URI with a host.
fn check_http_url(uri: Uri) -> Result<Uri, UpstreamError> {
    match uri.scheme() {
        Some("http" | "https") if uri.host().is_some_and(|h| !h.is_empty()) => Ok(uri),
        Some("http" | "https") | None => Err(UpstreamError::BadUrl(uri.to_string())),
        Some(other) => Err(UpstreamError::UnsupportedScheme(other.to_string())),
    }
}

/// SHOUTcast/Icecast servers (radio entries in IPTV lists) answer `ICY 200 OK`; read that as
/// the HTTP/1.0 response it is.
fn icy_to_http(buf: &mut BytesMut) {
    if buf.starts_with(b"ICY ") {
        let mut fixed = BytesMut::with_capacity(buf.len() + 5);
        fixed.extend_from_slice(b"HTTP/1.0");
        fixed.extend_from_slice(&buf[3..]);
        *buf = fixed;
    }
}

fn reserve(buf: &mut BytesMut) {
    if buf.capacity() - buf.len() < READ_CHUNK_BYTES / 4 {
        buf.reserve(READ_CHUNK_BYTES);
    }
}

/// A final upstream response: its head, the URL it came from after redirects, and the body.
#[derive(Debug)]
pub struct Response {
    pub head: ResponseHead,
    /// The URL that answered, after redirects: relative references resolve against this.
    pub url: Uri,
    /// Redirects followed to get here.
    pub redirects: usize,
    pub body: Body,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status()
    }
    /// The body length when the upstream framed it with `Content-Length`.
    pub fn content_length(&self) -> Option<u64> {
        match self.body.kind() {
            BodyKind::Length(n) => Some(n),
            BodyKind::Empty => Some(0),
            _ => None,
        }
    }
}

/// A response body being read. Dropping it closes the upstream connection.
#[derive(Debug)]
pub struct Body {
    stream: Stream,
    buf: BytesMut,
    kind: BodyKind,
    /// Bytes still due for a `Content-Length` body.
    remaining: u64,
    decoder: ChunkedDecoder,
    received: u64,
    idle_timeout: Duration,
    done: bool,
    /// Where the connection goes once the body is complete, when the upstream keeps it alive.
    reuse: Option<(Arc<Pool>, PoolKey)>,
}

impl Body {
    fn new(stream: Stream, buf: BytesMut, kind: BodyKind, idle_timeout: Duration) -> Body {
        let remaining = match kind {
            BodyKind::Length(n) => n,
            _ => 0,
        };
        let done = matches!(kind, BodyKind::Empty | BodyKind::Length(0));
        Body {
            stream,
            buf,
            kind,
            remaining,
            decoder: ChunkedDecoder::new(),
            received: 0,
            idle_timeout,
            done,
            reuse: None,
        }
    }

    /// Hands the connection to the pool once the body is complete and nothing extra arrived.
    fn release(&mut self) {
        if !self.done || !self.buf.is_empty() {
            return;
        }
        if let Some((pool, key)) = self.reuse.take() {
            pool.put(key, std::mem::replace(&mut self.stream, Stream::Gone));
        }
    }

    /// How the upstream framed the body.
    pub fn kind(&self) -> BodyKind {
        self.kind
    }

    /// Body bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next piece of the body as it arrives; `Ok(None)` once it is complete. A body that ends
    /// before its framing says (short `Content-Length`, unfinished chunked) is
    /// [`UpstreamError::Cut`]; a close-delimited body ends cleanly at close.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        if self.done {
            return Ok(None);
        }
        let data = match self.kind {
            BodyKind::Empty => None,
            BodyKind::Length(_) => {
                if self.buf.is_empty() && self.fill().await? == 0 {
                    return Err(UpstreamError::Cut {
                        received: self.received,
                    });
                }
                let n = self
                    .buf
                    .len()
                    .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                self.remaining -= n as u64;
                if self.remaining == 0 {
                    self.done = true;
                }
                Some(self.buf.split_to(n).freeze())
            }
            BodyKind::CloseDelimited => {
                if self.buf.is_empty() && self.fill().await? == 0 {
                    self.done = true;
                    None
                } else {
                    Some(self.buf.split().freeze())
                }
            }
            BodyKind::Chunked => loop {
                if !self.buf.is_empty() {
                    let step = self.decoder.decode(&self.buf)?;
                    if step.done {
                        self.done = true;
                    }
                    if !step.data.is_empty() {
                        let frame = self.buf.split_to(step.consumed).freeze();
                        break Some(frame.slice(step.data));
                    }
                    self.buf.advance(step.consumed);
                    if self.done {
                        break None;
                    }
                    if step.consumed > 0 {
                        continue;
                    }
                }
                if self.fill().await? == 0 {
                    return Err(UpstreamError::Cut {
                        received: self.received,
                    });
                }
            },
        };
        if data.is_none() {
            self.done = true;
        }
        if let Some(d) = &data {
            self.received += d.len() as u64;
        }
        self.release();
        Ok(data)
    }

    /// Hands over a plain-TCP body whose bytes need no decoding (`Content-Length` or
    /// close-delimited), so the relay can move it with `splice(2)`. TLS and chunked bodies, and
    /// bodies already finished, come back as `Err(self)`.
    // The body comes back by value so the caller reads it as before; it moves once per stream.
    #[allow(clippy::result_large_err)]
    pub fn into_plain(self) -> Result<PlainBody, Body> {
        let plain = matches!(self.stream, Stream::Plain(_))
            && matches!(self.kind, BodyKind::Length(_) | BodyKind::CloseDelimited)
            && !self.done;
        if !plain {
            return Err(self);
        }
        let Body {
            stream,
            mut buf,
            kind,
            remaining,
            decoder,
            received,
            idle_timeout,
            done,
            reuse,
        } = self;
        let stream = match stream {
            Stream::Plain(s) => s,
            // Checked above; never taken.
            tls => {
                return Err(Body {
                    stream: tls,
                    buf,
                    kind,
                    remaining,
                    decoder,
                    received,
                    idle_timeout,
                    done,
                    reuse,
                });
            }
        };
        let remaining = match kind {
            BodyKind::Length(_) => {
                let keep = buf
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                buf.truncate(keep);
                Some(remaining - keep as u64)
            }
            _ => None,
        };
        Ok(PlainBody {
            stream,
            buffered: buf,
            remaining,
        })
    }

    /// Reads the whole body into memory, refusing more than `limit` bytes.
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Bytes, UpstreamError> {
        let mut out = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            if out.len() + chunk.len() > limit {
                return Err(UpstreamError::TooLarge { limit });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    async fn fill(&mut self) -> Result<usize, UpstreamError> {
        reserve(&mut self.buf);
        timeout(self.idle_timeout, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| UpstreamError::Timeout(Phase::Body))?
            .map_err(UpstreamError::Io)
    }
}

/// A plain-TCP response body taken out of a [`Body`] with [`Body::into_plain`].
#[derive(Debug)]
pub struct PlainBody {
    /// The upstream socket, positioned after `buffered`.
    pub stream: TcpStream,
    /// Body bytes already read along with the head.
    pub buffered: BytesMut,
    /// Body bytes still to come from the socket after `buffered`; `None`: until close.
    pub remaining: Option<u64>,
}

/// An upstream connection, plain or TLS.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// Handed back to the pool; a body in this state is complete and never reads again.
    Gone,
}

impl Stream {
    /// True when an idle connection is still open with nothing unread: the server neither
    /// closed it nor sent anything (a TLS close_notify counts as something).
    fn idle_and_open(&self) -> bool {
        let tcp = match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
            Stream::Gone => return false,
        };
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        matches!(
            socket2::SockRef::from(tcp).peek(&mut probe),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        )
    }
}

/// Where a pooled connection leads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    tls: bool,
    host: String,
    port: u16,
}

/// Idle keep-alive connections, newest last, at most [`POOL_MAX_IDLE_PER_HOST`] per key.
#[derive(Debug, Default)]
struct Pool {
    idle: std::sync::Mutex<std::collections::HashMap<PoolKey, Vec<(Stream, Instant)>>>,
}

impl Pool {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<PoolKey, Vec<(Stream, Instant)>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The newest idle connection for `key` that is still usable.
    fn take(&self, key: &PoolKey) -> Option<Stream> {
        let mut idle = self.lock();
        let list = idle.get_mut(key)?;
        while let Some((stream, since)) = list.pop() {
            if since.elapsed() < POOL_IDLE_TIMEOUT && stream.idle_and_open() {
                return Some(stream);
            }
        }
        None
    }

    fn put(&self, key: PoolKey, stream: Stream) {
        let mut idle = self.lock();
        idle.retain(|_, list| {
            list.retain(|(_, since)| since.elapsed() < POOL_IDLE_TIMEOUT);
            !list.is_empty()
        });
        let list = idle.entry(key).or_default();
        if list.len() >= POOL_MAX_IDLE_PER_HOST {
            list.remove(0);
        }
        list.push((stream, Instant::now()));
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "connection returned to the pool",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icy_status_lines_read_as_http10() {
        let mut buf = BytesMut::from(&b"ICY 200 OK\r\nicy-name: Radio\r\n\r\nAUDIO"[..]);
        icy_to_http(&mut buf);
        let head = ResponseHead::parse(&mut buf).unwrap().unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.header_str("icy-name"), Some("Radio"));
        assert_eq!(head.body_kind(false).unwrap(), BodyKind::CloseDelimited);
        assert_eq!(&buf[..], b"AUDIO");
        let mut partial = BytesMut::from(&b"HTTP/1.1 200 OK\r\n"[..]);
        icy_to_http(&mut partial);
        assert_eq!(&partial[..], b"HTTP/1.1 200 OK\r\n");
    }

    #[test]
    fn channel_headers_cannot_override_framing() {
        assert!(is_hop_or_framing("Content-Length"));
        assert!(is_hop_or_framing("HOST"));
        assert!(!is_hop_or_framing("Referer"));
    }
}
