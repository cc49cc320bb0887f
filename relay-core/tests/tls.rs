//! HTTPS upstreams: rustls with the ring provider against an in-process TLS origin whose
//! certificate is signed by a test CA (fixtures made once with openssl, valid for 100 years).

mod common;

use common::*;
use relay_core::catalog::{Catalog, Source};
use relay_core::server::{self, Shared};
use relay_core::upstream::{self, Client, ClientOptions};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CA: &[u8] = include_bytes!("fixtures/ca.pem");
const CERT: &[u8] = include_bytes!("fixtures/origin.pem");
const KEY: &[u8] = include_bytes!("fixtures/origin.key");

/// A TLS origin answering every request with `body` (Content-Length framed).
async fn tls_origin(body: Arc<Vec<u8>>) -> std::net::SocketAddr {
    let certs = vec![CertificateDer::from_pem_slice(CERT).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let h = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(h.as_bytes()).await;
                let _ = tls.write_all(&body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

fn test_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(CA).unwrap())
        .unwrap();
    roots
}

#[tokio::test]
async fn https_upstreams_are_relayed_byte_for_byte() {
    let body = Arc::new(ts_packets(3_000));
    let addr = tls_origin(body.clone()).await;
    let config = test_config();
    let opts = ClientOptions::from_config(&config);
    let client = Client::with_tls(opts, upstream::tls_config_with_roots(test_roots()));
    let shared = Arc::new(Shared::new(config, client));
    let m3u = format!(
        "#EXTINF:-1,ByName\nhttps://localhost:{}/live.ts\n#EXTINF:-1,ByIp\nhttps://127.0.0.1:{}/live.ts\n",
        addr.port(),
        addr.port()
    );
    let playlist = relay_core::m3u::parse(m3u.as_bytes());
    shared.set_catalog(Catalog::from_sources(&[Source {
        label: "tls".into(),
        playlist,
    }]));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_addr = listener.local_addr().unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(server::serve(listener, shared.clone(), rx));
    for ch in shared.catalog().channels() {
        let raw = format!(
            "GET /stream/{}.ts HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n",
            ch.id
        );
        let resp = raw_request(relay_addr, raw.as_bytes()).await;
        assert_eq!(resp.status, 200, "{}: {}", ch.name(), resp.text());
        assert!(resp.body == *body, "{}: body differs", ch.name());
    }
    let _ = stop.send(true);
    let _ = task.await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_502_with_the_reason() {
    let addr = tls_origin(Arc::new(ts_packets(10))).await;
    // The default client trusts only the public webpki roots, not the test CA.
    let m3u = format!(
        "#EXTINF:-1,Untrusted\nhttps://localhost:{}/x.ts\n",
        addr.port()
    );
    let relay = Relay::start(&m3u).await;
    let resp = relay
        .get(&format!("/stream/{}.ts", relay.id("Untrusted")))
        .await;
    assert_eq!(resp.status, 502);
    assert!(resp.text().contains("TLS"), "{}", resp.text());
    relay.stop().await;
}
