//! What every route may look at: the request, the client, the shared state, and what is derived
//! from them (the public base URL, query parameters).

use super::Shared;
use crate::proto::http::RequestHead;
use crate::shutdown::Shutdown;
use std::net::SocketAddr;

/// Everything a route handler may look at.
pub(super) struct RequestContext<'a> {
    pub(super) shared: &'a Shared,
    pub(super) head: &'a RequestHead,
    pub(super) peer: SocketAddr,
    /// The address the client connected to (used for the public URL when nothing better is known).
    pub(super) local: Option<SocketAddr>,
    /// The engine's stop signal (handed to tasks a request starts, such as a shared reader).
    pub(super) shutdown: &'a Shutdown,
}

impl RequestContext<'_> {
    /// The base of URLs written for this client: `public-url` if set; else, when listening on an
    /// unspecified address, `http://{Host header}`; else `http://{bound address}`.
    pub(super) fn public_base(&self) -> String {
        if let Some(url) = &self.shared.config().public_url {
            return url.clone();
        }
        let host = self
            .head
            .header_str("host")
            .filter(|h| valid_host_header(h));
        if let Some(host) = host.filter(|_| self.shared.config().listen.ip().is_unspecified()) {
            return format!("http://{host}");
        }
        // The address this connection reached: the bound address, even when port 0 was asked.
        let addr = self.local.unwrap_or(self.shared.config().listen);
        format!("http://{addr}")
    }

    /// The first value of a query parameter, decoded.
    pub(super) fn query_param(&self, name: &str) -> Option<String> {
        query_param(self.head.query()?, name)
    }

    /// The request is a `HEAD`.
    pub(super) fn head_only(&self) -> bool {
        self.head.method() == "HEAD"
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
    use crate::proto::uri::percent_decode;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k.as_bytes(), true);
        (k == name.as_bytes())
            .then(|| String::from_utf8_lossy(&percent_decode(v.as_bytes(), true)).into_owned())
    })
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
}
