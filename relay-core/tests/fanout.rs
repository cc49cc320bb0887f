//! Shared upstreams and provider slots, over real sockets: many viewers on one upstream
//! connection, joins at random-access points, slow viewers, linger, slot limits and zapping.

mod common;

use common::*;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const PACKET: usize = 188;

/// A TS stream of `gops` groups: PAT, PMT, a keyframe (RAI) and `gop` more video packets, one
/// audio packet. Every packet's payload carries its index, so any packet is unique. Returns the
/// bytes and the offsets of the random-access points (each PAT).
fn gop_stream(gops: usize, gop: usize) -> (Vec<u8>, HashSet<usize>) {
    let mut out = Vec::with_capacity(gops * (gop + 4) * PACKET);
    let mut ra = HashSet::new();
    let mut n: u32 = 0;
    let mut packet = |out: &mut Vec<u8>, head: &[u8]| {
        let start = out.len();
        out.extend_from_slice(head);
        out.resize(start + PACKET, 0xff);
        // A serial number near the end (inside payload or stuffing, never in a header field).
        out[start + PACKET - 4..start + PACKET].copy_from_slice(&n.to_be_bytes());
        n += 1;
    };
    for _ in 0..gops {
        ra.insert(out.len());
        packet(
            &mut out,
            &[
                0x47, 0x40, 0x00, 0x10, 0x00, 0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0x00,
                0, 0, 0, 0,
            ],
        );
        packet(
            &mut out,
            &[
                0x47, 0x50, 0x00, 0x10, 0x00, 0x02, 0xb0, 23, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0,
                0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00, 0x0f, 0xe1, 0x01, 0xf0, 0x00, 0, 0, 0, 0,
            ],
        );
        packet(
            &mut out,
            &[
                0x47, 0x41, 0x00, 0x30, 1, 0x40, 0, 0, 1, 0xe0, 0, 0, 0x80, 0, 0, 0, 0, 0, 1, 0x09,
            ],
        );
        for _ in 0..gop {
            packet(&mut out, &[0x47, 0x01, 0x00, 0x10]);
        }
        packet(
            &mut out,
            &[
                0x47, 0x41, 0x01, 0x30, 1, 0x40, 0, 0, 1, 0xc0, 0, 0, 0x80, 0, 0,
            ],
        );
    }
    (out, ra)
}

/// What the live origin sends on a path.
#[derive(Clone)]
enum Live {
    /// `first`, then (once `release` turns true) `rest`, then close.
    Gated {
        first: Arc<Vec<u8>>,
        rest: Arc<Vec<u8>>,
    },
    /// `data` over and over, a little at a time, until the client goes.
    Endless { data: Arc<Vec<u8>> },
    /// `first`, then (once released) `rest` in 16 KiB pieces, each sent only once the watching
    /// client's stream position (`position`) is within 32 KiB of what was sent: the pace of a
    /// live source, without a clock.
    Paced {
        first: Arc<Vec<u8>>,
        rest: Arc<Vec<u8>>,
        position: watch::Receiver<usize>,
    },
}

/// A live origin that counts connections (all, and open now).
struct LiveOrigin {
    addr: SocketAddr,
    total: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    release: watch::Sender<bool>,
}

impl LiveOrigin {
    async fn start(routes: Vec<(&'static str, Live)>) -> LiveOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let total = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let (release, rx) = watch::channel(false);
        let (t, o) = (total.clone(), open.clone());
        let routes = Arc::new(routes);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                t.fetch_add(1, Ordering::SeqCst);
                o.fetch_add(1, Ordering::SeqCst);
                let (o, rx, routes) = (o.clone(), rx.clone(), routes.clone());
                tokio::spawn(async move {
                    serve_live(stream, rx, &routes).await;
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        LiveOrigin {
            addr,
            total,
            open,
            release,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn serve_live(
    mut stream: TcpStream,
    mut release: watch::Receiver<bool>,
    routes: &[(&str, Live)],
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split_whitespace().nth(1).unwrap_or("");
    let Some((_, live)) = routes.iter().find(|(p, _)| *p == path) else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    let ok = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nConnection: close\r\n\r\n";
    if stream.write_all(ok).await.is_err() {
        return;
    }
    match live {
        Live::Gated { first, rest } => {
            for piece in first.chunks(5000) {
                if stream.write_all(piece).await.is_err() {
                    return;
                }
            }
            let _ = release.wait_for(|&r| r).await;
            for piece in rest.chunks(64 * 1024) {
                if stream.write_all(piece).await.is_err() {
                    return;
                }
            }
            let _ = stream.shutdown().await;
        }
        Live::Paced {
            first,
            rest,
            position,
        } => {
            if stream.write_all(first).await.is_err() {
                return;
            }
            let _ = release.wait_for(|&r| r).await;
            let mut sent = first.len();
            let mut position = position.clone();
            for piece in rest.chunks(16 * 1024) {
                let _ = position.wait_for(|&p| p + 32 * 1024 >= sent).await;
                if stream.write_all(piece).await.is_err() {
                    return;
                }
                sent += piece.len();
            }
            let _ = stream.shutdown().await;
        }
        Live::Endless { data } => loop {
            for piece in data.chunks(16 * PACKET) {
                if stream.write_all(piece).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        },
    }
}

/// Reads the rest of a viewer's stream until close or reset.
async fn read_rest(mut stream: TcpStream, mut body: Vec<u8>) -> (Vec<u8>, End) {
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await {
            Ok(Ok(0)) => break End::Closed,
            Ok(Ok(n)) => body.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => break End::Reset,
            Err(_) => panic!("stream still open after 30s ({} bytes)", body.len()),
        }
    };
    (body, end)
}

/// Polls `cond` until it holds (a safety net of 10 s, never a speed requirement).
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not within 10s");
}

fn m3u(entries: &[(&str, String)]) -> String {
    let mut s = String::from("#EXTM3U\n");
    for (name, url) in entries {
        s.push_str(&format!("#EXTINF:-1,{name}\n{url}\n"));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_viewers_share_one_upstream_and_join_at_random_access_points() {
    let (data, ra) = gop_stream(60, 20);
    let split = data.len() / 2 + 7 * PACKET + 50; // not on a GOP or packet boundary
    let origin = LiveOrigin::start(vec![(
        "/live/news",
        Live::Gated {
            first: Arc::new(data[..split].to_vec()),
            rest: Arc::new(data[split..].to_vec()),
        },
    )])
    .await;
    // The origin waits for all 200 viewers: a generous idle timeout (a safety net only).
    let mut config = test_config();
    config.set("upstream-idle-timeout", "60s").unwrap();
    let relay = Relay::start_with(config, &m3u(&[("News", origin.url("/live/news"))])).await;
    let path = format!("/stream/{}.ts", relay.id("News"));
    let mut viewers = Vec::new();
    for i in 0..200 {
        let (addr, path) = (relay.addr, path.clone());
        viewers.push(tokio::spawn(async move {
            let (stream, status, body) =
                open_viewer(addr, &path, &format!("viewer{i}"), None).await;
            assert_eq!(status, 200);
            (stream, body)
        }));
    }
    let mut open = Vec::new();
    for v in viewers {
        open.push(v.await.unwrap());
    }
    // Every viewer is in and has bytes; now let the origin finish the stream.
    origin.release.send_replace(true);
    let mut readers = Vec::new();
    for (stream, body) in open {
        readers.push(tokio::spawn(read_rest(stream, body)));
    }
    for r in readers {
        let (body, end) = r.await.unwrap();
        assert_eq!(end, End::Closed, "a clean upstream end is a clean close");
        assert!(!body.is_empty());
        assert_eq!(body.len() % PACKET, 0, "whole packets");
        let start = data.len() - body.len();
        assert_eq!(&data[start..], &body[..], "a suffix of the origin stream");
        assert!(
            ra.contains(&start),
            "starts at a random-access point (offset {start})"
        );
    }
    assert_eq!(
        origin.total.load(Ordering::SeqCst),
        1,
        "one upstream connection"
    );
    eventually("shared upstream closed", || {
        relay.shared.stats.shared_upstreams.load(Ordering::SeqCst) == 0
    })
    .await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_does_not_stop_the_others() {
    stalled_viewer("skip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_is_dropped_when_so_configured() {
    stalled_viewer("drop").await;
}

async fn stalled_viewer(slow_viewer: &str) {
    // 16 MiB: more than a stalled viewer's socket buffers and queue can hold.
    let (data, _) = gop_stream(2000, 40);
    let first = 3 * 44 * PACKET;
    let (position_tx, position) = watch::channel(0usize);
    let origin = LiveOrigin::start(vec![(
        "/live/sport",
        Live::Paced {
            first: Arc::new(data[..first].to_vec()),
            rest: Arc::new(data[first..].to_vec()),
            position,
        },
    )])
    .await;
    let mut config = test_config();
    config.set("viewer-queue", "64k").unwrap();
    config.set("upstream-idle-timeout", "60s").unwrap();
    config.set("slow-viewer", slow_viewer).unwrap();
    let relay = Relay::start_with(config, &m3u(&[("Sport", origin.url("/live/sport"))])).await;
    let path = format!("/stream/{}.ts", relay.id("Sport"));
    let (stalled, status, stalled_body) = open_viewer(relay.addr, &path, "stuck", Some(4096)).await;
    assert_eq!(status, 200);
    let (mut healthy, status, mut body) = open_viewer(relay.addr, &path, "fine", None).await;
    assert_eq!(status, 200);
    origin.release.send_replace(true);
    // The healthy viewer gets every byte to the end while the other reads nothing; the origin
    // keeps pace with the healthy one (a live source), never with the stalled one.
    while body.len() < PACKET {
        let mut b = [0u8; PACKET];
        let n = healthy.read(&mut b).await.unwrap();
        assert!(n > 0);
        body.extend_from_slice(&b[..n]);
    }
    let serial = u32::from_be_bytes(body[PACKET - 4..PACKET].try_into().unwrap()) as usize;
    let offset = serial * PACKET;
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        position_tx.send_replace(offset + body.len());
        match tokio::time::timeout(Duration::from_secs(30), healthy.read(&mut buf)).await {
            Ok(Ok(0)) => break End::Closed,
            Ok(Ok(n)) => body.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => break End::Reset,
            Err(_) => panic!("healthy viewer starved at {} bytes", body.len()),
        }
    };
    assert_eq!(end, End::Closed);
    assert_eq!(&data[offset..], &body[..], "every byte from its join point");
    // The stalled one was skipped forward (or dropped): whole packets of the stream, not all.
    let (stalled_body, stalled_end) = read_rest(stalled, stalled_body).await;
    if slow_viewer == "drop" {
        // Cut mid-write, maybe inside a packet: a reset, and what came before is contiguous.
        assert_eq!(stalled_end, End::Reset, "a dropped viewer sees a cut");
        let serial = u32::from_be_bytes(stalled_body[PACKET - 4..PACKET].try_into().unwrap());
        let at = serial as usize * PACKET;
        assert_eq!(
            &data[at..at + stalled_body.len()],
            &stalled_body[..],
            "no skip before"
        );
    } else {
        assert_eq!(stalled_body.len() % PACKET, 0);
    }
    let stalled_body = &stalled_body[..stalled_body.len() / PACKET * PACKET];
    assert!(
        stalled_body.len() < body.len(),
        "the stalled viewer was skipped forward"
    );
    assert!(relay.shared.stats.viewer_skips.load(Ordering::SeqCst) > 0);
    let packets: HashSet<&[u8]> = data.chunks(PACKET).collect();
    assert!(stalled_body.chunks(PACKET).all(|p| packets.contains(p)));
    assert_eq!(origin.total.load(Ordering::SeqCst), 1);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_slow_viewer_gets_every_byte() {
    // A live body faster than its viewer: alone, the viewer gets backpressure, never a skip.
    let (data, _) = gop_stream(400, 40);
    let origin = LiveOrigin::start(vec![(
        "/live/fast",
        Live::Gated {
            first: Arc::new(Vec::new()),
            rest: Arc::new(data.clone()),
        },
    )])
    .await;
    origin.release.send_replace(true);
    let mut config = test_config();
    config.set("viewer-queue", "16k").unwrap();
    let relay = Relay::start_with(config, &m3u(&[("Fast", origin.url("/live/fast"))])).await;
    let path = format!("/stream/{}.ts", relay.id("Fast"));
    let (mut viewer, status, mut body) = open_viewer(relay.addr, &path, "slow", Some(4096)).await;
    assert_eq!(status, 200);
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), viewer.read(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => body.extend_from_slice(&buf[..n]),
            other => panic!("{other:?} after {} bytes", body.len()),
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(body.len(), data.len());
    assert!(body == data, "every byte, in order");
    relay.stop().await;
}

#[tokio::test]
async fn the_upstream_closes_after_the_linger_and_is_reused_within_it() {
    let (data, _) = gop_stream(50, 10);
    let data = Arc::new(data);
    let origin = LiveOrigin::start(vec![("/live/a", Live::Endless { data: data.clone() })]).await;
    let list = m3u(&[("A", origin.url("/live/a"))]);

    // A long linger: a viewer coming back finds the upstream still open.
    let mut config = test_config();
    config.set("share-linger", "60s").unwrap();
    let relay = Relay::start_with(config, &list).await;
    let path = format!("/stream/{}.ts", relay.id("A"));
    let (first, _, _) = open_viewer(relay.addr, &path, "tv", None).await;
    drop(first);
    let (second, status, body) = open_viewer(relay.addr, &path, "tv", None).await;
    assert_eq!(status, 200);
    assert!(!body.is_empty());
    assert_eq!(
        origin.total.load(Ordering::SeqCst),
        1,
        "reused within the linger"
    );
    drop(second);
    relay.stop().await;

    // A short linger: the upstream goes once nobody watches.
    let mut config = test_config();
    config.set("share-linger", "100ms").unwrap();
    let relay = Relay::start_with(config, &list).await;
    let open_before = origin.open.load(Ordering::SeqCst);
    let (viewer, _, _) = open_viewer(relay.addr, &path, "tv", None).await;
    assert_eq!(
        relay.shared.stats.shared_upstreams.load(Ordering::SeqCst),
        1
    );
    drop(viewer);
    eventually("upstream closed after the linger", || {
        relay.shared.stats.shared_upstreams.load(Ordering::SeqCst) == 0
    })
    .await;
    eventually("origin saw the close", || {
        origin.open.load(Ordering::SeqCst) < open_before + 1
    })
    .await;
    relay.stop().await;
}

fn slot_config(share: &str) -> relay_core::config::Config {
    let mut config = test_config();
    config.set("source-max-connections", "1").unwrap();
    config.set("share", share).unwrap();
    config.set("share-linger", "60s").unwrap();
    config
}

#[tokio::test]
async fn a_full_source_answers_503_with_retry_after() {
    let (data, _) = gop_stream(50, 10);
    let data = Arc::new(data);
    let origin = LiveOrigin::start(vec![
        ("/live/a", Live::Endless { data: data.clone() }),
        ("/live/b", Live::Endless { data: data.clone() }),
    ])
    .await;
    for share in ["auto", "never"] {
        let list = m3u(&[("A", origin.url("/live/a")), ("B", origin.url("/live/b"))]);
        let relay = Relay::start_with(slot_config(share), &list).await;
        let a = format!("/stream/{}.ts", relay.id("A"));
        let b = format!("/stream/{}.ts", relay.id("B"));
        let (tv, status, _) = open_viewer(relay.addr, &a, "tv", None).await;
        assert_eq!(status, 200);
        let resp = relay
            .request(&format!(
                "GET {b} HTTP/1.1\r\nHost: r\r\nUser-Agent: phone\r\nConnection: close\r\n\r\n"
            ))
            .await;
        assert_eq!(resp.status, 503, "{share}");
        assert_eq!(
            resp.header("retry-after"),
            Some(
                relay_core::slots::NO_SLOT_RETRY_AFTER_SECS
                    .to_string()
                    .as_str()
            )
        );
        assert!(
            resp.text().contains("provider connections"),
            "{}",
            resp.text()
        );
        if share == "auto" {
            // Another viewer of the same shared channel costs no slot.
            let (phone, status, body) = open_viewer(relay.addr, &a, "phone", None).await;
            assert_eq!(status, 200);
            assert!(!body.is_empty());
            drop(phone);
        }
        drop(tv);
        relay.stop().await;
    }
}

#[tokio::test]
async fn zapping_on_a_one_connection_source_releases_the_old_channel_first() {
    let (data, _) = gop_stream(50, 10);
    let data = Arc::new(data);
    let origin = LiveOrigin::start(vec![
        ("/live/a", Live::Endless { data: data.clone() }),
        ("/live/b", Live::Endless { data: data.clone() }),
    ])
    .await;
    for share in ["auto", "never"] {
        let list = m3u(&[("A", origin.url("/live/a")), ("B", origin.url("/live/b"))]);
        let relay = Relay::start_with(slot_config(share), &list).await;
        let a = format!("/stream/{}.ts", relay.id("A"));
        let b = format!("/stream/{}.ts", relay.id("B"));
        let (on_a, status, body) = open_viewer(relay.addr, &a, "tv", None).await;
        assert_eq!(status, 200);
        // The player opens channel B before it closes A: A's slot goes to B.
        let (on_b, status, body_b) = open_viewer(relay.addr, &b, "tv", None).await;
        assert_eq!(status, 200, "{share}");
        assert!(!body_b.is_empty());
        // A's stream ended (the player was leaving it anyway).
        let (_, end) = read_rest(on_a, body).await;
        assert_eq!(end, End::Reset, "{share}");
        assert_eq!(relay.shared.slots.in_use(0), 1);
        drop(on_b);
        // After B, the player closed, zapping back to A on a fresh connection (B's shared
        // upstream lingers unwatched, so anyone may take its slot).
        let (back, status, _) = open_viewer(relay.addr, &a, "tv", None).await;
        assert_eq!(status, 200, "{share}");
        drop(back);
        relay.stop().await;
    }
}

#[tokio::test]
async fn head_answers_without_holding_a_slot() {
    let (data, _) = gop_stream(50, 10);
    let origin = LiveOrigin::start(vec![(
        "/live/a",
        Live::Endless {
            data: Arc::new(data),
        },
    )])
    .await;
    let relay = Relay::start_with(slot_config("auto"), &m3u(&[("A", origin.url("/live/a"))])).await;
    let a = format!("/stream/{}.ts", relay.id("A"));
    let head =
        format!("HEAD {a} HTTP/1.1\r\nHost: r\r\nUser-Agent: probe\r\nConnection: close\r\n\r\n");
    let resp = relay.request(&head).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("video/mp2t"));
    assert!(resp.body.is_empty());
    assert_eq!(relay.shared.slots.in_use(0), 0, "HEAD gave its slot back");
    // Another client can watch; HEAD on the running channel needs no upstream at all.
    let (tv, status, _) = open_viewer(relay.addr, &a, "tv", None).await;
    assert_eq!(status, 200);
    let resp = relay.request(&head).await;
    assert_eq!(resp.status, 200);
    assert_eq!(origin.total.load(Ordering::SeqCst), 2);
    drop(tv);
    relay.stop().await;
}

#[tokio::test]
async fn a_channel_can_opt_out_of_sharing() {
    let (data, _) = gop_stream(50, 10);
    let origin = LiveOrigin::start(vec![(
        "/live/a",
        Live::Endless {
            data: Arc::new(data),
        },
    )])
    .await;
    let list = format!(
        "#EXTM3U\n#EXTINF:-1 relay-share=\"never\",Solo\n{}\n",
        origin.url("/live/a")
    );
    let relay = Relay::start(&list).await;
    let path = format!("/stream/{}.ts", relay.id("Solo"));
    let (one, _, _) = open_viewer(relay.addr, &path, "a", None).await;
    let (two, _, _) = open_viewer(relay.addr, &path, "b", None).await;
    assert_eq!(
        origin.total.load(Ordering::SeqCst),
        2,
        "one upstream per viewer"
    );
    assert_eq!(
        relay.shared.stats.shared_upstreams.load(Ordering::SeqCst),
        0
    );
    drop((one, two));
    relay.stop().await;
}

#[tokio::test]
async fn head_on_a_full_source_never_ends_a_stream() {
    let (data, _) = gop_stream(50, 10);
    let origin = LiveOrigin::start(vec![(
        "/live/a",
        Live::Endless {
            data: Arc::new(data),
        },
    )])
    .await;
    let relay =
        Relay::start_with(slot_config("never"), &m3u(&[("A", origin.url("/live/a"))])).await;
    let a = format!("/stream/{}.ts", relay.id("A"));
    let (mut tv, status, _) = open_viewer(relay.addr, &a, "tv", None).await;
    assert_eq!(status, 200);
    // The same player probes the channel it watches: answered, and its stream goes on.
    let resp = relay
        .request(&format!(
            "HEAD {a} HTTP/1.1\r\nHost: r\r\nUser-Agent: tv\r\nConnection: close\r\n\r\n"
        ))
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("video/mp2t"));
    assert_eq!(
        origin.total.load(Ordering::SeqCst),
        1,
        "no upstream for the HEAD"
    );
    let mut buf = vec![0u8; 64 * 1024];
    let mut more = 0;
    while more < 100_000 {
        let n = tokio::time::timeout(Duration::from_secs(10), tv.read(&mut buf))
            .await
            .expect("the stream goes on")
            .unwrap();
        assert!(n > 0, "the stream goes on");
        more += n;
    }
    relay.stop().await;
}

#[tokio::test]
async fn join_caches_share_one_budget_and_lone_viewers_get_only_part_of_it() {
    let (data, _) = gop_stream(40, 30);
    let data = Arc::new(data);
    let names = ["A", "B", "C", "D"];
    let routes: Vec<(&str, Live)> = ["/live/a", "/live/b", "/live/c", "/live/d"]
        .into_iter()
        .map(|p| (p, Live::Endless { data: data.clone() }))
        .collect();
    let origin = LiveOrigin::start(routes).await;
    let mut config = test_config();
    // Room for about three groups of pictures (5.6 KB each) in all; half of it for channels
    // with one viewer: four such channels would hold four without the budget.
    config.set("join-cache-bytes", "16k").unwrap();
    let list = m3u(&[
        ("A", origin.url("/live/a")),
        ("B", origin.url("/live/b")),
        ("C", origin.url("/live/c")),
        ("D", origin.url("/live/d")),
    ]);
    let relay = Relay::start_with(config, &list).await;
    let held = |relay: &Relay| relay.shared.stats.join_cache_bytes.load(Ordering::SeqCst);
    let mut viewers = Vec::new();
    for name in names {
        let path = format!("/stream/{}.ts", relay.id(name));
        let (v, status, _) = open_viewer(relay.addr, &path, name, None).await;
        assert_eq!(status, 200);
        viewers.push(v);
    }
    // Four channels with one viewer each never hold more than the cold share.
    for _ in 0..50 {
        assert!(held(&relay) <= 8 * 1024, "{} bytes held", held(&relay));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A second viewer makes a channel hot; it still starts at a random-access point, and the
    // caches never pass the whole budget.
    let path = format!("/stream/{}.ts", relay.id("A"));
    let (mut second, status, mut body) = open_viewer(relay.addr, &path, "second", None).await;
    assert_eq!(status, 200);
    let mut buf = vec![0u8; 8192];
    while body.len() < 4 * PACKET {
        let n = second.read(&mut buf).await.unwrap();
        assert!(n > 0);
        body.extend_from_slice(&buf[..n]);
    }
    assert_eq!(body[0], 0x47);
    let mut cached = 0;
    for _ in 0..50 {
        assert!(held(&relay) <= 16 * 1024, "{} bytes held", held(&relay));
        cached = cached.max(held(&relay));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cached > 0, "the hot channel keeps a cache");
    drop((viewers, second));
    relay.stop().await;
}
