//! The client: request heads, redirects, the keep-alive pool.

use super::body::{Body, reserve};
use super::connect::{Stream, connect};
use super::pool::{Pool, PoolKey};
use super::{MAX_REDIRECTS, Method, Phase, READ_MIN_BYTES, Request, Response, UpstreamError};
use crate::proto::http::{BodyKind, HeadWriter, ResponseHead};
use crate::proto::uri::Uri;
use bytes::BytesMut;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

/// Settings of a [`Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// This client with other settings: the same TLS configuration and connection pool.
    pub fn with_options(&self, opts: ClientOptions) -> Client {
        Client {
            tls: self.tls.clone(),
            opts: Arc::new(opts),
            pool: self.pool.clone(),
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
            connect(
                &self.tls,
                self.opts.connect_timeout,
                &key.host,
                key.port,
                key.tls,
            ),
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
        let mut buf = BytesMut::with_capacity(READ_MIN_BYTES);
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
