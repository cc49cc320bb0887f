//! Zero-copy pass-through on Linux: upstream socket → pipe → client socket with `splice(2)`, so
//! body bytes never enter user space. The only module of relay-core with `unsafe` code; every
//! block says why it is sound.
//!
//! - Pipes are [`OwnedFd`]s (non-blocking, close-on-exec), sized with `F_SETPIPE_SZ`, one per
//!   relay and closed with it: a pipe that may still hold bytes is never reused.
//! - Readiness comes from tokio: each syscall runs inside `try_io`. When the closure answers
//!   `WouldBlock`, tokio clears the socket's readiness and the next `readable()`/`writable()`
//!   waits for an edge from the reactor. So only an `EAGAIN` that means "this socket is not
//!   ready" may reach tokio as `WouldBlock`.
//! - The readiness rule for filling the pipe: `splice(socket → pipe)` also answers `EAGAIN`
//!   when the pipe has no free buffer *slot*, and a pipe counts slots, not bytes (one per
//!   buffer, each often much less than a page: 64 KiB of small segments can fill a 256 KiB
//!   pipe). Into an empty pipe, whose slots are all free, `EAGAIN` can only mean the socket is
//!   empty, and it clears read readiness. Into a pipe that holds bytes, `EAGAIN` is ambiguous:
//!   it keeps the readiness and the loop drains the pipe first; once the pipe is empty, the
//!   next fill asks again and its answer is the socket's. Clearing on a full pipe would be data
//!   loss: the bytes already in the receive buffer would wait for an edge that only new data
//!   brings, and an upstream that has sent everything and keeps its connection open (HTTP
//!   keep-alive) sends none, so the body stalls until the idle timeout. The cost of the rule is
//!   at most one extra `splice` that finds the socket empty, once per emptied pipe.
//! - Draining happens only while the pipe holds bytes, so an `EAGAIN` from
//!   `splice(pipe → socket)` is always the client socket's and clears its write readiness.
//! - Splicing from the socket returns 0 at end of stream.
//! - Backpressure: at most one pipe of bytes is in flight; a slow client stops the reads.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Size asked for each relay's pipe (the kernel may round it, or refuse and keep its default).
pub const PIPE_BYTES: usize = 256 * 1024;

/// A pipe pair owned by one relay.
#[derive(Debug)]
pub struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// The pipe's capacity in bytes.
    size: usize,
}

impl Pipe {
    /// A non-blocking, close-on-exec pipe of about [`PIPE_BYTES`].
    pub fn new() -> io::Result<Pipe> {
        Pipe::with_size(PIPE_BYTES)
    }

    /// A pipe of about `bytes` (the kernel rounds up to a power of two pages, at least one page;
    /// [`size`](Pipe::size) tells what it gave). For tests: a one-page pipe has a single buffer
    /// slot, so it is full as soon as it holds any bytes.
    #[doc(hidden)]
    pub fn with_size(bytes: usize) -> io::Result<Pipe> {
        let mut fds: [libc::c_int; 2] = [-1, -1];
        // SAFETY: `fds` is a writable array of two c_ints, as pipe2(2) requires; it writes both
        // only on success.
        let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both fds are open and nothing else owns them; each is
        // wrapped exactly once and closed by its OwnedFd.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let want = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        // SAFETY: fcntl(F_SETPIPE_SZ) on a pipe fd we own, with an int argument; failure (e.g.
        // above /proc/sys/fs/pipe-max-size) leaves the pipe as it was.
        let set = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, want) };
        let size = if set > 0 {
            set as usize
        } else {
            // SAFETY: fcntl(F_GETPIPE_SZ) on a pipe fd we own takes no argument.
            let got = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_GETPIPE_SZ) };
            usize::try_from(got).ok().filter(|&n| n > 0).unwrap_or(4096)
        };
        Ok(Pipe { read, write, size })
    }

    /// The pipe's capacity.
    pub fn size(&self) -> usize {
        self.size
    }
}

/// One `splice(2)` call between two fds, non-blocking.
fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: both fds are open for the duration of the call (borrowed from owners the caller
    // holds); null offsets are required for pipes and sockets and mean "current position"; no
    // user memory is passed.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// A fill's answer for `try_io` when the pipe holds bytes: `EAGAIN` becomes `Ok(None)`, so
/// tokio keeps the socket's read readiness (the pipe may be what is full).
fn keep_ready(r: io::Result<usize>) -> io::Result<Option<usize>> {
    match r {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// Why a splice relay stopped early.
#[derive(Debug)]
pub enum SpliceError {
    /// The upstream sent nothing for the idle timeout.
    UpstreamIdle,
    /// The upstream ended before `amount` bytes.
    UpstreamCut,
    /// An upstream socket error.
    Upstream(io::Error),
    /// The client took nothing for the stall timeout, or its socket failed.
    Client(io::Error),
}

/// Moves `amount` bytes (`None`: until the upstream closes) from `src` to `dst` through `pipe`.
/// Returns the bytes delivered to `dst`; on error, `sent` holds how many got through.
pub async fn relay(
    pipe: &Pipe,
    src: &TcpStream,
    dst: &TcpStream,
    amount: Option<u64>,
    idle: Duration,
    stall: Duration,
    sent: &mut u64,
) -> Result<(), SpliceError> {
    let mut left = amount;
    let mut in_pipe = 0usize;
    let mut eof = false;
    loop {
        let room = pipe.size - in_pipe;
        let want = left.map_or(room, |l| room.min(usize::try_from(l).unwrap_or(usize::MAX)));
        if !eof && want > 0 {
            let (from, to) = (src.as_raw_fd(), pipe.write.as_raw_fd());
            let fill = if in_pipe == 0 {
                // Nothing to write: wait for the upstream. The pipe is empty, so `EAGAIN` is
                // the socket's and may clear its readiness.
                // Meanwhile a client that hangs up is noticed at once.
                let ready = tokio::select! {
                    r = timeout(idle, src.readable()) => r,
                    _ = super::hangup::hung_up(dst) => {
                        return Err(SpliceError::Client(super::hangup::hung_up_error()));
                    }
                };
                match ready {
                    Err(_) => return Err(SpliceError::UpstreamIdle),
                    Ok(Err(e)) => return Err(SpliceError::Upstream(e)),
                    Ok(Ok(())) => {}
                }
                src.try_io(Interest::READABLE, || splice(from, to, want).map(Some))
            } else {
                // The pipe holds bytes and may be out of slots: `EAGAIN` must keep the
                // readiness (see the module docs). Drain first either way.
                src.try_io(Interest::READABLE, || keep_ready(splice(from, to, want)))
            };
            match fill {
                Ok(Some(0)) => eof = true,
                Ok(Some(n)) => {
                    in_pipe += n;
                    if let Some(l) = left.as_mut() {
                        *l -= n as u64;
                    }
                }
                // The pipe is out of slots, or the socket is empty: readiness kept.
                Ok(None) => {}
                // The socket is empty (readiness cleared), or tokio already knew it.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(SpliceError::Upstream(e)),
            }
        }
        if in_pipe > 0 {
            match timeout(stall, dst.writable()).await {
                Err(_) => return Err(SpliceError::Client(io::ErrorKind::TimedOut.into())),
                Ok(Err(e)) => return Err(SpliceError::Client(e)),
                Ok(Ok(())) => {}
            }
            // The pipe holds bytes: `EAGAIN` is the client socket's and clears its readiness.
            let drain = dst.try_io(Interest::WRITABLE, || {
                splice(pipe.read.as_raw_fd(), dst.as_raw_fd(), in_pipe)
            });
            match drain {
                Ok(0) => return Err(SpliceError::Client(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    in_pipe -= n;
                    *sent += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(SpliceError::Client(e)),
            }
            continue;
        }
        if left == Some(0) {
            return Ok(());
        }
        if eof {
            return match left {
                None => Ok(()),
                Some(_) => Err(SpliceError::UpstreamCut),
            };
        }
    }
}
