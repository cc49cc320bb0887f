//! Connecting: DNS, TCP (socket2 options), TLS; the connection type.

use super::{CONNECT_ATTEMPT_MIN, TCP_KEEPALIVE, UpstreamError};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Resolves `host`, connects to its addresses in turn (each gets its share of
/// `connect_timeout`, at least [`CONNECT_ATTEMPT_MIN`]) and, for `tls`, runs the handshake with
/// the host's name and certificate checks.
pub(super) async fn connect(
    tls_connector: &tokio_rustls::TlsConnector,
    connect_timeout: Duration,
    host: &str,
    port: u16,
    tls: bool,
) -> Result<Stream, UpstreamError> {
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
    let share = (connect_timeout / n).max(CONNECT_ATTEMPT_MIN);
    for addr in addrs {
        match timeout(share, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                tcp = Some(s);
                break;
            }
            Ok(Err(e)) => last = e,
            Err(_) => last = io::Error::new(io::ErrorKind::TimedOut, format!("{addr} timed out")),
        }
    }
    if tcp.is_none() && last.kind() == io::ErrorKind::TimedOut {
        return Err(UpstreamError::Timeout(super::Phase::Connect));
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
    let tls = tls_connector
        .connect(name, tcp)
        .await
        .map_err(|source| UpstreamError::Tls {
            host: host.to_string(),
            source,
        })?;
    Ok(Stream::Tls(Box::new(tls)))
}

pub(super) fn configure_socket(tcp: &TcpStream) {
    let _ = tcp.set_nodelay(true);
    let sock = socket2::SockRef::from(tcp);
    let _ = sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE));
}

/// An upstream connection, plain or TLS.
#[derive(Debug)]
pub(super) enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// Handed back to the pool; a body in this state is complete and never reads again.
    Gone,
}

impl Stream {
    /// True when an idle connection is still open with nothing unread: the server neither
    /// closed it nor sent anything (a TLS close_notify counts as something).
    pub(super) fn idle_and_open(&self) -> bool {
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
