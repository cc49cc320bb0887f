//! The `splice(2)` relay must not lose the upstream's read readiness when the pipe runs out of
//! buffer slots before it runs out of bytes.
//!
//! A pipe counts buffers (slots), not bytes: every splice from a socket takes at least one slot,
//! and a slot may hold far less than a page. When the slots are gone, `splice(socket → pipe)`
//! answers `EAGAIN` although the socket holds data. If that `EAGAIN` clears the socket's read
//! readiness, the bytes already in the receive buffer wait for a readiness edge that only new
//! data would bring; an upstream that has sent everything and keeps its connection open (an
//! HTTP keep-alive origin) brings none, and the body stalls short of its end.
//!
//! The test makes that state certain instead of likely:
//! - a one-page pipe has one slot, so it is full as soon as it holds any bytes;
//! - the upstream body is written in small segments by two threads taking turns, so neighbouring
//!   segments sit in different kernel pages (socket writes use a page fragment per thread) and
//!   one splice from the socket moves one segment, less than the pipe's size, and fills the pipe;
//! - the whole body is in the relay's receive buffer before the relay starts, and the upstream
//!   sends nothing after that (no FIN either), so no readiness edge can come later;
//! - the client reads nothing until the relay has filled the small downstream buffers and waits
//!   for the client; it then reads everything.
//!
//! A relay that keeps readiness right delivers the whole body; one that loses it waits for the
//! upstream until its idle timeout and ends short. Every wait is bounded, so a hang is a failure.
#![cfg(target_os = "linux")]

mod common;

use relay_core::relay::splice::{self, Pipe, SpliceError};
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Bytes per upstream write: well under a page, so one pipe slot holds one segment.
const SEGMENT: usize = 1000;
/// The body: many times what the shrunken downstream buffers hold.
const BODY: usize = 128 * 1024;
/// Receive buffer asked for the relay's upstream socket, so the whole body fits before the relay
/// reads (the kernel caps it at `net.core.rmem_max`).
const UPSTREAM_RCVBUF: u32 = 4 * 1024 * 1024;
/// Send buffer of the relay's client socket and receive buffer of the client (the kernel
/// raises both to its minimum): the downstream fills after a few KiB.
const DOWNSTREAM_BUF: u32 = 4096;
/// The relay's idle and stall timeouts: far longer than the fixed relay ever waits here.
const RELAY_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on every wait of the test itself.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The upstream: a blocking socket written by two threads in turn, one segment each.
struct Upstream {
    /// Keeps the connection open (no FIN) until the test ends.
    _stream: std::net::TcpStream,
    turns: [mpsc::Sender<Vec<u8>>; 2],
    done: mpsc::Receiver<()>,
}

impl Upstream {
    fn connect(addr: SocketAddr) -> Upstream {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let (done_tx, done) = mpsc::channel();
        let turns = [0, 1].map(|_| {
            let (tx, rx) = mpsc::channel::<Vec<u8>>();
            let (mut s, done_tx) = (stream.try_clone().unwrap(), done_tx.clone());
            std::thread::spawn(move || {
                for segment in rx {
                    s.write_all(&segment).unwrap();
                    done_tx.send(()).unwrap();
                }
            });
            tx
        });
        Upstream {
            _stream: stream,
            turns,
            done,
        }
    }

    /// Writes `body` in segments, alternating threads, each write finished before the next.
    fn send(&self, body: &[u8]) {
        for (i, segment) in body.chunks(SEGMENT).enumerate() {
            self.turns[i % 2].send(segment.to_vec()).unwrap();
            self.done
                .recv_timeout(TEST_TIMEOUT)
                .expect("an upstream write");
        }
    }
}

/// A listener on 127.0.0.1:0 whose accepted sockets get receive buffer `rcvbuf`.
fn listen(rcvbuf: Option<u32>) -> (TcpListener, SocketAddr) {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(n) = rcvbuf {
        // Set before listen: accepted sockets inherit it, and the window scale agrees.
        socket.set_recv_buffer_size(n).unwrap();
    }
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(8).unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Waits until `src` holds `n` bytes, without reading them.
async fn wait_buffered(src: &TcpStream, n: usize) {
    let mut buf = vec![0u8; n + 1];
    let deadline = Instant::now() + TEST_TIMEOUT;
    loop {
        let got = tokio::time::timeout(TEST_TIMEOUT, src.peek(&mut buf))
            .await
            .expect("upstream bytes")
            .unwrap();
        if got >= n {
            assert_eq!(got, n, "the upstream sent more than the body");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "setup: only {got} of {n} body bytes reached the relay's receive buffer"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The relay's result and the bytes it reports delivered.
type Outcome = (Result<(), SpliceError>, u64);

/// Runs one splice relay of `body` from an upstream that stops sending but keeps the connection
/// open (`close: false`) or closes it after the body (`close: true`, and the relay is told no
/// length). Returns the relay's outcome and what the client received.
async fn run(body: &[u8], close: bool) -> (Outcome, Vec<u8>) {
    // Upstream side: the relay's socket gets a big receive buffer.
    let (listener, addr) = listen(Some(UPSTREAM_RCVBUF));
    let upstream = Upstream::connect(addr);
    let (src, _) = listener.accept().await.unwrap();
    upstream.send(body);
    wait_buffered(&src, body.len()).await;
    let upstream = if close {
        drop(upstream);
        None
    } else {
        Some(upstream)
    };

    // Client side: small buffers both ways, so the relay blocks on the client early.
    let (listener, addr) = listen(None);
    let client = TcpSocket::new_v4().unwrap();
    client.set_recv_buffer_size(DOWNSTREAM_BUF).unwrap();
    let mut client = client.connect(addr).await.unwrap();
    let (dst, _) = listener.accept().await.unwrap();
    socket2::SockRef::from(&dst)
        .set_send_buffer_size(DOWNSTREAM_BUF as usize)
        .unwrap();
    tokio::time::timeout(TEST_TIMEOUT, dst.writable())
        .await
        .expect("a writable client socket")
        .unwrap();

    let pipe = Pipe::with_size(4096).unwrap();
    assert_eq!(pipe.size(), 4096, "setup: a one-page pipe");
    let amount = (!close).then_some(body.len() as u64);
    let relay = async move {
        let mut sent = 0;
        let r = splice::relay(
            &pipe,
            &src,
            &dst,
            amount,
            RELAY_TIMEOUT,
            RELAY_TIMEOUT,
            &mut sent,
        )
        .await;
        (r, sent)
    };
    // Unconstrained: a pending poll then means the relay waits for a socket, never that it
    // yielded to the scheduler.
    let mut relay: Pin<Box<_>> = Box::pin(tokio::task::unconstrained(relay));
    // The client reads nothing yet: the relay moves what the downstream holds, then waits.
    let first = std::future::poll_fn(|cx| Poll::Ready(relay.as_mut().poll(cx))).await;
    assert!(
        first.is_pending(),
        "setup: the relay finished without waiting for the client: {first:?}"
    );
    let relay = tokio::spawn(relay);

    // Now the client reads everything, to the end of the connection.
    let mut got = Vec::with_capacity(body.len());
    tokio::time::timeout(TEST_TIMEOUT, async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the client hung after {} bytes", got.len()));
    let outcome = tokio::time::timeout(TEST_TIMEOUT, relay)
        .await
        .expect("the relay ends")
        .unwrap();
    drop(upstream);
    (outcome, got)
}

#[tokio::test]
async fn relay_delivers_a_body_already_buffered_when_the_pipe_runs_out_of_slots() {
    let body = common::file_bytes(BODY, 11);
    let ((result, sent), got) = run(&body, false).await;
    assert!(
        result.is_ok(),
        "the relay stopped after {sent} of {BODY} bytes: {result:?} \
         (the upstream had sent everything and kept the connection open)"
    );
    assert_eq!(sent, BODY as u64);
    assert_eq!(got.len(), BODY, "client bytes");
    assert!(got == body, "the client got the body's bytes in order");
}

#[tokio::test]
async fn relay_reads_to_the_end_of_a_close_delimited_body_through_a_full_pipe() {
    let body = common::file_bytes(BODY, 12);
    let ((result, sent), got) = run(&body, true).await;
    assert!(result.is_ok(), "{result:?} after {sent} bytes");
    assert_eq!(sent, BODY as u64);
    assert!(
        got == body,
        "the client got the whole body ({} bytes)",
        got.len()
    );
}
