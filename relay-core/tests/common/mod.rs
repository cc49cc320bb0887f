//! Test support: an in-process origin server, a raw HTTP client, TS packet generation, and a
//! relay started on 127.0.0.1:0. Real sockets everywhere; nothing is mocked.
#![allow(dead_code)]

use bytes::BytesMut;
use relay_core::catalog::{Catalog, Source};
use relay_core::config::Config;
use relay_core::proto::http::{ByteRange, RequestHead};
use relay_core::server::{self, Shared};
use relay_core::shutdown::{self, Trigger};
use relay_core::upstream::{Client, ClientOptions};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `n` MPEG-TS packets (188 bytes, sync byte, PID 0x100, continuity counter, patterned payload).
pub fn ts_packets(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 188);
    for i in 0..n {
        out.extend_from_slice(&[0x47, 0x01, 0x00, 0x10 | (i as u8 & 0x0f)]);
        out.extend((0..184).map(|j| (i.wrapping_mul(31) + j) as u8));
    }
    out
}

/// Deterministic pseudo-random bytes (xorshift), for file bodies.
pub fn file_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// What the origin does for one path.
#[derive(Clone)]
pub enum Behavior {
    /// A file with full Range support (206/416), `Accept-Ranges: bytes`, HEAD.
    File {
        data: Arc<Vec<u8>>,
        content_type: &'static str,
    },
    /// A file served whole with Content-Length, ignoring Range.
    FileNoRanges { data: Arc<Vec<u8>> },
    /// A body with no framing, sent in pieces, then the connection closes (a live stream).
    Live {
        data: Arc<Vec<u8>>,
        piece: usize,
        pause: Duration,
    },
    /// A chunked body in pieces of `piece` bytes; `finish: false` closes before the last chunk.
    Chunked {
        data: Arc<Vec<u8>>,
        piece: usize,
        finish: bool,
    },
    /// Declares `Content-Length: declared` but sends `data` and closes.
    ShortBody { data: Arc<Vec<u8>>, declared: usize },
    /// Any status with a small body.
    Status { status: u16, body: &'static str },
    /// A redirect to `location`.
    Redirect { status: u16, location: String },
    /// Answers only when every header matches, else 403.
    Gated {
        headers: Vec<(&'static str, &'static str)>,
        data: Arc<Vec<u8>>,
    },
    /// Accepts and reads the request but never answers.
    Stall,
    /// Sends these bytes as the whole answer, then closes.
    Raw(&'static str),
    /// A sized answer on a connection kept open for further requests (HTTP/1.1 keep-alive).
    /// A connection that already answered `per_connection` requests is closed unanswered at
    /// the next one, as a server closing an idle connection just as a request arrives.
    KeepAlive {
        data: Arc<Vec<u8>>,
        content_type: &'static str,
        per_connection: usize,
    },
}

/// A request as the origin saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The in-process origin.
pub struct Origin {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub connections: Arc<AtomicUsize>,
    routes: Arc<Mutex<HashMap<String, Behavior>>>,
}

impl Origin {
    pub async fn start() -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let routes: Arc<Mutex<HashMap<String, Behavior>>> = Arc::default();
        let (s, c, r) = (seen.clone(), connections.clone(), routes.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(origin_connection(stream, s.clone(), r.clone()));
            }
        });
        Origin {
            addr,
            seen,
            connections,
            routes,
        }
    }

    pub fn route(&self, path: &str, behavior: Behavior) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), behavior);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

async fn origin_connection(
    mut stream: TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    routes: Arc<Mutex<HashMap<String, Behavior>>>,
) {
    let mut buf = BytesMut::new();
    let mut answered = 0;
    loop {
        let head = loop {
            if let Ok(Some(head)) = RequestHead::parse(&mut buf) {
                break head;
            }
            if stream.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
        };
        let req = Seen {
            method: head.method().to_string(),
            path: head.path().to_string(),
            headers: head
                .headers()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v).into_owned()))
                .collect(),
        };
        seen.lock().unwrap().push(req.clone());
        let behavior = routes.lock().unwrap().get(&req.path).cloned();
        let is_head = req.method == "HEAD";
        let Some(behavior) = behavior else {
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n").await;
            return;
        };
        if let Behavior::KeepAlive {
            data,
            content_type,
            per_connection,
        } = &behavior
        {
            if answered == *per_connection {
                return;
            }
            answered += 1;
            let h = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                data.len()
            );
            if stream.write_all(h.as_bytes()).await.is_err()
                || (!is_head && stream.write_all(data).await.is_err())
            {
                return;
            }
            if head.keep_alive() {
                continue;
            }
            return;
        }
        answer(&mut stream, &req, behavior, is_head).await;
        let _ = stream.shutdown().await;
        return;
    }
}

/// Answers one request with a closing behaviour.
async fn answer(stream: &mut TcpStream, req: &Seen, behavior: Behavior, is_head: bool) {
    let send = |head: String| head.into_bytes();
    match behavior {
        Behavior::File { data, content_type } => {
            let len = data.len() as u64;
            let range = req
                .header("range")
                .and_then(|r| ByteRange::parse(r.as_bytes()));
            let (status, first, last) = match range {
                None => (200, 0, len.saturating_sub(1)),
                Some(r) => match r.resolve(len) {
                    Some((a, b)) => (206, a, b),
                    None => {
                        let h = format!(
                            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        );
                        let _ = stream.write_all(&send(h)).await;
                        return;
                    }
                },
            };
            let body_len = if len == 0 { 0 } else { last - first + 1 };
            let mut h = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nAccept-Ranges: bytes\r\nContent-Length: {body_len}\r\nETag: \"v1\"\r\nConnection: close\r\n"
            );
            if status == 206 {
                h.push_str(&format!("Content-Range: bytes {first}-{last}/{len}\r\n"));
            }
            h.push_str("\r\n");
            let _ = stream.write_all(&send(h)).await;
            if !is_head && body_len > 0 {
                let _ = stream
                    .write_all(&data[first as usize..=last as usize])
                    .await;
            }
        }
        Behavior::FileNoRanges { data } => {
            let h = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                data.len()
            );
            let _ = stream.write_all(&send(h)).await;
            if !is_head {
                let _ = stream.write_all(&data).await;
            }
        }
        Behavior::Live { data, piece, pause } => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
                .await;
            if is_head {
                return;
            }
            for part in data.chunks(piece) {
                if stream.write_all(part).await.is_err() {
                    return;
                }
                tokio::time::sleep(pause).await;
            }
        }
        Behavior::Chunked {
            data,
            piece,
            finish,
        } => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                .await;
            for part in data.chunks(piece) {
                let mut frame = format!("{:x};ext=1\r\n", part.len()).into_bytes();
                frame.extend_from_slice(part);
                frame.extend_from_slice(b"\r\n");
                if stream.write_all(&frame).await.is_err() {
                    return;
                }
            }
            if finish {
                let _ = stream.write_all(b"0\r\nX-Trailer: 1\r\n\r\n").await;
            }
        }
        Behavior::ShortBody { data, declared } => {
            let h = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(&send(h)).await;
            let _ = stream.write_all(&data).await;
        }
        Behavior::Status { status, body } => {
            let h = format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(&send(h)).await;
        }
        Behavior::Redirect { status, location } => {
            let h = format!(
                "HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(&send(h)).await;
        }
        Behavior::Gated { headers, data } => {
            let ok = headers.iter().all(|(k, v)| req.header(k) == Some(v));
            let h = if ok {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    data.len()
                )
            } else {
                "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string()
            };
            let _ = stream.write_all(&send(h)).await;
            if ok && !is_head {
                let _ = stream.write_all(&data).await;
            }
        }
        Behavior::Raw(bytes) => {
            let _ = stream.write_all(bytes.as_bytes()).await;
        }
        Behavior::Stall => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Behavior::KeepAlive { .. } => unreachable!("answered by the connection loop"),
    }
}

/// A relay served on 127.0.0.1:0 inside the test's runtime.
pub struct Relay {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    stop: Trigger,
    task: tokio::task::JoinHandle<()>,
}

/// Settings suited to tests: short timeouts so error paths are quick.
pub fn test_config() -> Config {
    let mut c = Config::default();
    c.set("listen", "127.0.0.1:0").unwrap();
    c.set("upstream-connect-timeout", "2s").unwrap();
    c.set("upstream-response-timeout", "1s").unwrap();
    c.set("upstream-idle-timeout", "2s").unwrap();
    c.set("head-timeout", "1s").unwrap();
    c.set("shutdown-grace", "1s").unwrap();
    c
}

impl Relay {
    pub async fn start(m3u: &str) -> Relay {
        Relay::start_with(test_config(), m3u).await
    }

    pub async fn start_with(config: Config, m3u: &str) -> Relay {
        let client = Client::new(ClientOptions::from_config(&config));
        Relay::start_with_client(config, client, m3u).await
    }

    /// A relay whose upstream client is given (e.g. one trusting a test CA).
    pub async fn start_with_client(config: Config, client: Client, m3u: &str) -> Relay {
        let shared = Arc::new(Shared::new(config, client));
        let playlist = relay_core::proto::m3u::parse(m3u.as_bytes());
        shared.set_catalog(Catalog::from_sources(&[Source::new(0, "test", playlist)]));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, _) = shutdown::channel();
        let task = tokio::spawn(server::serve(listener, shared.clone(), stop.clone()));
        Relay {
            addr,
            shared,
            stop,
            task,
        }
    }

    /// The id of the channel with this name.
    pub fn id(&self, name: &str) -> String {
        let catalog = self.shared.catalog();
        let ch = catalog.channels().iter().find(|c| c.name() == name);
        ch.unwrap_or_else(|| panic!("no channel {name}")).id.clone()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n"
        ))
        .await
    }

    pub async fn request(&self, raw: &str) -> Response {
        raw_request(self.addr, raw.as_bytes()).await
    }

    pub async fn stop(self) {
        self.stop.drain();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// How a response's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The peer closed normally (FIN).
    Closed,
    /// The peer reset the connection.
    Reset,
}

/// A response read by the raw client: the head as parsed by httparse, the raw bytes after it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub end: End,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends raw bytes, reads until the server closes, and splits the first response off.
pub async fn raw_request(addr: SocketAddr, raw: &[u8]) -> Response {
    let (bytes, end) = raw_exchange(addr, raw).await;
    parse_response(&bytes, end).expect("a response head")
}

/// Sends raw bytes and reads everything until close or reset.
pub async fn raw_exchange(addr: SocketAddr, raw: &[u8]) -> (Vec<u8>, End) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf)).await {
            Ok(Ok(0)) => break End::Closed,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => break End::Reset,
            Err(_) => panic!("no answer within 20s; got {} bytes", out.len()),
        }
    };
    (out, end)
}

/// Parses one response head at the front of `bytes`; the rest is the body.
pub fn parse_response(bytes: &[u8], end: End) -> Option<Response> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return None,
    };
    Some(Response {
        status: resp.code.unwrap_or(0),
        headers: resp
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: bytes[n..].to_vec(),
        end,
    })
}

/// A viewer: connects, sends a GET with this User-Agent, reads the head and at least one body
/// byte. Returns the stream, the status and the body bytes read so far.
pub async fn open_viewer(
    relay: SocketAddr,
    path: &str,
    agent: &str,
    recv_buffer: Option<u32>,
) -> (TcpStream, u16, Vec<u8>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(n) = recv_buffer {
        socket.set_recv_buffer_size(n).unwrap();
    }
    let mut stream = socket.connect(relay).await.unwrap();
    // Like ffmpeg, mpv and VLC: `Range: bytes=0-` on a live stream.
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: relay\r\nUser-Agent: {agent}\r\nRange: bytes=0-\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf))
            .await
            .expect("an answer within 20s")
            .unwrap_or(0);
        got.extend_from_slice(&buf[..n]);
        if let Some(resp) = parse_response(&got, End::Closed) {
            if resp.status != 200 || !resp.body.is_empty() || n == 0 {
                return (stream, resp.status, resp.body);
            }
        } else if n == 0 {
            panic!("closed before a head");
        }
    }
}
