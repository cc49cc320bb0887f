//! Viewer and upstream events over real sockets: two viewers of a shared channel and a file
//! relayed to one viewer report connects, disconnects and upstreams in order; `HEAD` is no
//! viewer; a removed sink hears nothing.

mod common;

use common::*;
use relay_core::events::Event;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An event as the test keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Connected {
        channel: String,
        peer: SocketAddr,
        shared: bool,
    },
    Disconnected {
        channel: String,
        peer: SocketAddr,
        shared: bool,
        bytes: u64,
        reason: String,
    },
    Opened {
        channel: String,
        shared: bool,
    },
    Closed {
        channel: String,
        shared: bool,
        reason: String,
    },
    Switched,
}

impl From<&Event<'_>> for Seen {
    fn from(e: &Event<'_>) -> Seen {
        match *e {
            Event::ViewerConnected {
                channel,
                peer,
                shared,
            } => Seen::Connected {
                channel: channel.into(),
                peer,
                shared,
            },
            Event::ViewerDisconnected {
                channel,
                peer,
                shared,
                bytes,
                reason,
            } => Seen::Disconnected {
                channel: channel.into(),
                peer,
                shared,
                bytes,
                reason: reason.into(),
            },
            Event::UpstreamOpened { channel, shared } => Seen::Opened {
                channel: channel.into(),
                shared,
            },
            Event::UpstreamClosed {
                channel,
                shared,
                reason,
            } => Seen::Closed {
                channel: channel.into(),
                shared,
                reason: reason.into(),
            },
            Event::UpstreamSwitched { .. } => Seen::Switched,
        }
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A live TS origin that sends packets until its client goes; counts connections.
async fn endless_origin() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let ok =
                    b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nConnection: close\r\n\r\n";
                if stream.write_all(ok).await.is_err() {
                    return;
                }
                let packets = ts_packets(64);
                loop {
                    if stream.write_all(&packets).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            });
        }
    });
    (addr, count)
}

/// Opens a viewer of `path` and reads its head and at least `min` body bytes. Returns the
/// connection, its local address (the relay's `peer`) and the body bytes read.
async fn viewer_with(relay: SocketAddr, path: &str, min: usize) -> (TcpStream, SocketAddr, usize) {
    let (mut stream, status, mut body) = open_viewer(relay, path, "events", None).await;
    assert_eq!(status, 200);
    let local = stream.local_addr().unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    while body.len() < min {
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf))
            .await
            .expect("bytes within 20s (a safety net)")
            .unwrap();
        assert!(n > 0, "the stream ended early");
        body.extend_from_slice(&buf[..n]);
    }
    (stream, local, body.len())
}

/// Hangs up with a reset, as a player closing mid-stream.
fn hang_up(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
}

/// A whole request on its own connection; returns its local address and the response.
async fn fetch(relay: SocketAddr, method: &str, path: &str) -> (SocketAddr, Response) {
    let mut stream = TcpStream::connect(relay).await.unwrap();
    let local = stream.local_addr().unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut out))
        .await
        .expect("an answer within 20s (a safety net)")
        .unwrap();
    (local, parse_response(&out, End::Closed).unwrap())
}

/// Polls until `cond` holds on the events seen (a safety net of 10 s, never a speed check).
async fn eventually(log: &Log, what: &str, cond: impl Fn(&[Seen]) -> bool) {
    for _ in 0..1000 {
        if cond(&log.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not within 10s; events: {:#?}", log.lock().unwrap());
}

fn position(events: &[Seen], what: &str, pred: impl Fn(&Seen) -> bool) -> usize {
    let hits: Vec<usize> = (0..events.len()).filter(|&i| pred(&events[i])).collect();
    assert_eq!(hits.len(), 1, "exactly one {what}: {events:#?}");
    hits[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_and_upstreams_are_reported_in_order() {
    let (live, connections) = endless_origin().await;
    let origin = Origin::start().await;
    let movie = Arc::new(file_bytes(300_000, 7));
    origin.route(
        "/movie.mp4",
        Behavior::File {
            data: movie.clone(),
            content_type: "video/mp4",
        },
    );
    let m3u = format!(
        "#EXTM3U\n#EXTINF:-1,News\nhttp://{live}/news.ts\n#EXTINF:-1,Movie\n{}\n",
        origin.url("/movie.mp4")
    );
    let mut config = test_config();
    // The shared upstream closes soon after its last viewer left.
    config.set("share-linger", "100ms").unwrap();
    let relay = Relay::start_with(config, &m3u).await;
    let log: Log = Arc::default();
    let sink_log = log.clone();
    relay.shared.events.set(Some(Arc::new(move |e: &Event<'_>| {
        sink_log.lock().unwrap().push(e.into())
    })));
    let news = relay.id("News");
    let film = relay.id("Movie");

    // Two viewers of the live channel share one upstream.
    let path = format!("/stream/{news}.ts");
    let (v1, p1, read1) = viewer_with(relay.addr, &path, 32 * 1024).await;
    let (v2, p2, read2) = viewer_with(relay.addr, &path, 32 * 1024).await;
    assert_eq!(connections.load(Ordering::SeqCst), 1, "one upstream");
    hang_up(v1);
    let gone = |p: SocketAddr| {
        move |ev: &[Seen]| {
            ev.iter()
                .any(|e| matches!(e, Seen::Disconnected { peer, .. } if *peer == p))
        }
    };
    eventually(&log, "the first viewer's disconnect", gone(p1)).await;
    hang_up(v2);
    let closed = |ev: &[Seen]| ev.iter().any(|e| matches!(e, Seen::Closed { .. }));
    eventually(&log, "the shared upstream's close", closed).await;

    // A file, relayed to one viewer (not shared).
    let (p3, resp) = fetch(relay.addr, "GET", &format!("/stream/{film}.mp4")).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, *movie);
    // A HEAD is not a viewer.
    let (_, head) = fetch(relay.addr, "HEAD", &format!("/stream/{film}.mp4")).await;
    assert_eq!(head.status, 200);

    let ev = log.lock().unwrap().clone();
    // The shared channel: its upstream opened before anyone watched and closed after both
    // left (they left before the linger passed); each viewer connected before it disconnected.
    let (ch, shared) = (news.as_str(), true);
    let opened = position(&ev, "shared open", |e| {
        *e == Seen::Opened {
            channel: ch.into(),
            shared,
        }
    });
    let closed = position(
        &ev,
        "shared close",
        |e| matches!(e, Seen::Closed { channel, shared: true, reason } if channel == ch && reason == "no viewers"),
    );
    let mut viewers = Vec::new();
    for (p, read) in [(p1, read1), (p2, read2)] {
        let c = position(&ev, "connect", |e| {
            *e == Seen::Connected {
                channel: ch.into(),
                peer: p,
                shared,
            }
        });
        let d = position(&ev, "disconnect", |e| {
            matches!(e, Seen::Disconnected { channel, peer, shared: true, bytes, reason }
                if channel == ch && *peer == p && *bytes >= read as u64 && reason == "client left")
        });
        assert!(opened < c && c < d && d < closed, "order: {ev:#?}");
        viewers.push((c, d));
    }
    assert!(viewers[0].0 < viewers[1].0, "the first viewer came first");

    // The file: its own upstream around its one viewer, every byte counted.
    let (ch, shared) = (film.as_str(), false);
    let file_events: Vec<&Seen> = ev
        .iter()
        .filter(|e| match e {
            Seen::Connected { channel, .. }
            | Seen::Disconnected { channel, .. }
            | Seen::Opened { channel, .. }
            | Seen::Closed { channel, .. } => channel == ch,
            Seen::Switched => false,
        })
        .collect();
    let expected = [
        Seen::Opened {
            channel: ch.into(),
            shared,
        },
        Seen::Connected {
            channel: ch.into(),
            peer: p3,
            shared,
        },
        Seen::Disconnected {
            channel: ch.into(),
            peer: p3,
            shared,
            bytes: movie.len() as u64,
            reason: "complete".into(),
        },
        Seen::Closed {
            channel: ch.into(),
            shared,
            reason: "complete".into(),
        },
    ];
    assert_eq!(file_events, expected.iter().collect::<Vec<_>>());
    assert_eq!(
        ev.len(),
        6 + 4,
        "nothing else (no HEAD, no switch): {ev:#?}"
    );

    // Without a sink, nothing is reported.
    relay.shared.events.set(None);
    let (_, resp) = fetch(relay.addr, "GET", &format!("/stream/{film}.mp4")).await;
    assert_eq!(resp.status, 200);
    assert_eq!(log.lock().unwrap().len(), 10);
    relay.stop().await;
}
