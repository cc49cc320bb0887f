//! HTTPS upstreams: rustls with the ring provider against an in-process TLS origin whose
//! certificate is signed by a test CA (fixtures made once with openssl, valid for 100 years).

mod common;

use common::*;
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
    let m3u = format!(
        "#EXTINF:-1,ByName\nhttps://localhost:{}/live.ts\n#EXTINF:-1,ByIp\nhttps://127.0.0.1:{}/live.ts\n",
        addr.port(),
        addr.port()
    );
    let relay = Relay::start_with_client(config, client, &m3u).await;
    for name in ["ByName", "ByIp"] {
        let resp = relay.get(&format!("/stream/{}.ts", relay.id(name))).await;
        assert_eq!(resp.status, 200, "{name}: {}", resp.text());
        assert!(resp.body == *body, "{name}: body differs");
    }
    relay.stop().await;
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
