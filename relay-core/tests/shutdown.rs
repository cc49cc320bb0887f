//! Stopping: the listener closes and idle connections close at once, while streams play on for
//! the shutdown grace and are then cut (a reset, never a clean end).

mod common;

use common::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn streams_play_on_through_the_grace_and_idle_connections_close_at_once() {
    let origin = Origin::start().await;
    origin.route(
        "/live",
        Behavior::Live {
            data: Arc::new(ts_packets(200_000)),
            piece: 188 * 10,
            pause: Duration::from_millis(10),
        },
    );
    let mut config = test_config();
    config.set("shutdown-grace", "2s").unwrap();
    let m3u = format!("#EXTM3U\n#EXTINF:-1,Live\n{}\n", origin.url("/live"));
    let relay = Relay::start_with(config, &m3u).await;
    let addr = relay.addr;
    let path = format!("/stream/{}.ts", relay.id("Live"));
    let (mut viewer, status, _) = open_viewer(addr, &path, "player", None).await;
    assert_eq!(status, 200);
    // A keep-alive client between requests.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    let mut head = vec![0u8; 4096];
    assert!(idle.read(&mut head).await.unwrap() > 0);

    let stopping = tokio::spawn(relay.stop());
    // The idle connection is closed at once (well before the grace is over) ...
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(_))),
        "the idle connection closed: {closed:?}"
    );
    // ... no new connection is taken ...
    assert!(TcpStream::connect(addr).await.is_err());
    // ... and the stream goes on during the grace: more packets arrive after the stop began.
    let mut after = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(10), viewer.read(&mut buf)).await {
            Ok(Ok(0)) => break "closed",
            Ok(Ok(n)) => after += n,
            Ok(Err(_)) => break "reset",
            Err(_) => break "hung",
        }
    };
    assert!(after > 188 * 100, "only {after} bytes after the stop began");
    assert_eq!(
        end, "reset",
        "a live stream cut at the end of the grace is reset"
    );
    stopping.await.unwrap();
}
