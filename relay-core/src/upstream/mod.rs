//! The upstream HTTP/1.1 client, in rooms:
//!
//! - `client`: requests with the channel's headers, bounded redirects with the final URL
//!   recorded, the keep-alive `pool` (a request that fails on a reused connection before its
//!   head is sent again once on a fresh one).
//! - `connect`: DNS, TCP with timeouts and socket options (socket2), HTTPS with rustls (ring
//!   provider) and the webpki roots.
//! - `body`: a body reader that tells a complete body from a cut one, and the plain-TCP hand-off
//!   for `splice(2)`.
//!
//! Errors ([`UpstreamError`]) say which side failed ([`UpstreamError::side`]) and whether trying
//! again may help ([`UpstreamError::retry`]), so failover decides on them, never on strings.

mod body;
mod client;
mod connect;
mod pool;

pub use body::{Body, PlainBody};
pub use client::{Client, ClientOptions, default_tls_config, tls_config_with_roots};

use crate::proto::http::BodyKind;
use crate::proto::http::{ByteRange, HttpError, ResponseHead};
use crate::proto::uri::Uri;
use std::io;
use std::time::Duration;

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 8;
/// Bytes reserved for each read from an upstream socket.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;
/// The smallest read a body starts with and shrinks back to: a live stream at a few Mbit/s
/// arrives in pieces of a few KiB, and every open upstream holds its read buffer (a thousand
/// shared channels must not hold a thousand 64 KiB blocks). Reads that fill the buffer double it,
/// up to [`READ_CHUNK_BYTES`].
pub const READ_MIN_BYTES: usize = 8 * 1024;
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

/// Which side of an exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The upstream server (or the network to it) failed or answered something we refuse.
    Upstream,
    /// Our own input: a catalog URL that is not a usable http(s) URL.
    Local,
}

/// Whether trying the exchange again may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Never: the same request fails the same way (a bad URL, a body over our limit).
    Never,
    /// Perhaps later or elsewhere: a transient failure (refused or timed-out connection, cut
    /// body, a server closing mid-answer). Failover moves to an alternate, or retries with
    /// back-off.
    Later,
}

impl UpstreamError {
    /// Which side failed.
    pub fn side(&self) -> Side {
        match self {
            UpstreamError::BadUrl(_) | UpstreamError::UnsupportedScheme(_) => Side::Local,
            _ => Side::Upstream,
        }
    }

    /// Whether trying again may help.
    pub fn retry(&self) -> Retry {
        match self {
            UpstreamError::BadUrl(_)
            | UpstreamError::UnsupportedScheme(_)
            | UpstreamError::TooLarge { .. } => Retry::Never,
            UpstreamError::Resolve { .. }
            | UpstreamError::Connect { .. }
            | UpstreamError::Tls { .. }
            | UpstreamError::Timeout(_)
            | UpstreamError::Protocol(_)
            | UpstreamError::TooManyRedirects
            | UpstreamError::ClosedBeforeHead
            | UpstreamError::Cut { .. }
            | UpstreamError::Io(_) => Retry::Later,
        }
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
