//! Response bodies: framed reads that tell complete from cut, and the plain-TCP hand-off.

use super::connect::Stream;
use super::pool::{Pool, PoolKey};
use super::{Phase, READ_CHUNK_BYTES, READ_MIN_BYTES, UpstreamError};
use crate::proto::http::{BodyKind, ChunkedDecoder};
use bytes::{Buf, Bytes, BytesMut};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// A response body being read. Dropping it closes the upstream connection.
#[derive(Debug)]
pub struct Body {
    stream: Stream,
    buf: BytesMut,
    kind: BodyKind,
    /// Bytes still due for a `Content-Length` body.
    remaining: u64,
    decoder: ChunkedDecoder,
    received: u64,
    idle_timeout: Duration,
    done: bool,
    /// The size of the next read: grows while reads fill it, shrinks while they do not.
    read_size: usize,
    /// The most `read_size` grows to.
    max_read: usize,
    /// Reads of a plain body go through the per-thread scratch and leave at their exact size
    /// (set by [`Body::limit_reads`]).
    exact_reads: bool,
    /// Reads in a row that used under a quarter of `read_size`.
    small_reads: u8,
    /// Where the connection goes once the body is complete, when the upstream keeps it alive.
    pub(super) reuse: Option<(Arc<Pool>, PoolKey)>,
}

impl Body {
    pub(super) fn new(
        stream: Stream,
        buf: BytesMut,
        kind: BodyKind,
        idle_timeout: Duration,
    ) -> Body {
        let remaining = match kind {
            BodyKind::Length(n) => n,
            _ => 0,
        };
        let done = matches!(kind, BodyKind::Empty | BodyKind::Length(0));
        Body {
            stream,
            buf,
            kind,
            remaining,
            decoder: ChunkedDecoder::new(),
            received: 0,
            idle_timeout,
            done,
            read_size: READ_MIN_BYTES,
            max_read: READ_CHUNK_BYTES,
            exact_reads: false,
            small_reads: 0,
            reuse: None,
        }
    }

    /// Hands the connection to the pool once the body is complete and nothing extra arrived.
    pub(super) fn release(&mut self) {
        if !self.done || !self.buf.is_empty() {
            return;
        }
        if let Some((pool, key)) = self.reuse.take() {
            pool.put(key, std::mem::replace(&mut self.stream, Stream::Gone));
        }
    }

    /// Caps the read size at `bytes` (at least [`READ_MIN_BYTES`], at most [`READ_CHUNK_BYTES`]):
    /// a shared live channel holds what one read took until its viewers have it, so it reads
    /// less at a time than a file download.
    pub fn limit_reads(&mut self, bytes: usize) {
        self.max_read = bytes.clamp(READ_MIN_BYTES, READ_CHUNK_BYTES);
        self.read_size = self.read_size.min(self.max_read);
        self.exact_reads = true;
    }

    /// The body's first bytes, read ahead up to `n` (fewer when the body is shorter or ends
    /// first), without consuming them: what a stream route looks at to tell MPEG-TS from an HTML
    /// error page or an HLS playlist. Chunked bodies give what is already decoded: nothing (they
    /// are not looked into).
    pub async fn first_bytes(&mut self, n: usize) -> Result<&[u8], UpstreamError> {
        let want = match self.kind {
            BodyKind::Length(_) => n.min(usize::try_from(self.remaining).unwrap_or(usize::MAX)),
            BodyKind::CloseDelimited => n,
            BodyKind::Empty | BodyKind::Chunked => return Ok(&[]),
        };
        while self.buf.len() < want && !self.done {
            if self.fill().await? == 0 {
                break;
            }
        }
        Ok(&self.buf[..self.buf.len().min(want)])
    }

    /// How the upstream framed the body.
    pub fn kind(&self) -> BodyKind {
        self.kind
    }

    /// Body bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next piece of the body as it arrives; `Ok(None)` once it is complete. A body that ends
    /// before its framing says (short `Content-Length`, unfinished chunked) is
    /// [`UpstreamError::Cut`]; a close-delimited body ends cleanly at close.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        if self.done {
            return Ok(None);
        }
        let data = match self.kind {
            BodyKind::Empty => None,
            BodyKind::Length(_) => {
                let due = usize::try_from(self.remaining).unwrap_or(usize::MAX);
                let Some(piece) = self.piece(due).await? else {
                    return Err(UpstreamError::Cut {
                        received: self.received,
                    });
                };
                self.remaining -= piece.len() as u64;
                if self.remaining == 0 {
                    self.done = true;
                }
                Some(piece)
            }
            BodyKind::CloseDelimited => {
                let piece = self.piece(usize::MAX).await?;
                if piece.is_none() {
                    self.done = true;
                }
                piece
            }
            BodyKind::Chunked => loop {
                if !self.buf.is_empty() {
                    let step = self.decoder.decode(&self.buf)?;
                    if step.done {
                        self.done = true;
                    }
                    if !step.data.is_empty() {
                        let frame = self.buf.split_to(step.consumed).freeze();
                        break Some(frame.slice(step.data));
                    }
                    self.buf.advance(step.consumed);
                    if self.done {
                        break None;
                    }
                    if step.consumed > 0 {
                        continue;
                    }
                }
                if self.fill().await? == 0 {
                    return Err(UpstreamError::Cut {
                        received: self.received,
                    });
                }
            },
        };
        if data.is_none() {
            self.done = true;
        }
        if let Some(d) = &data {
            self.received += d.len() as u64;
        }
        self.release();
        Ok(data)
    }

    /// Hands over a plain-TCP body whose bytes need no decoding (`Content-Length` or
    /// close-delimited), so the relay can move it with `splice(2)`. TLS and chunked bodies, and
    /// bodies already finished, come back as `Err(self)`.
    // The body comes back by value so the caller reads it as before; it moves once per stream.
    #[allow(clippy::result_large_err)]
    pub fn into_plain(self) -> Result<PlainBody, Body> {
        let plain = matches!(self.stream, Stream::Plain(_))
            && matches!(self.kind, BodyKind::Length(_) | BodyKind::CloseDelimited)
            && !self.done;
        if !plain {
            return Err(self);
        }
        let Body {
            stream,
            mut buf,
            kind,
            remaining,
            decoder,
            received,
            idle_timeout,
            done,
            read_size,
            max_read,
            exact_reads,
            small_reads,
            reuse,
        } = self;
        let stream = match stream {
            Stream::Plain(s) => s,
            // Checked above; never taken.
            tls => {
                return Err(Body {
                    stream: tls,
                    buf,
                    kind,
                    remaining,
                    decoder,
                    received,
                    idle_timeout,
                    done,
                    read_size,
                    max_read,
                    exact_reads,
                    small_reads,
                    reuse,
                });
            }
        };
        let remaining = match kind {
            BodyKind::Length(_) => {
                let keep = buf
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                buf.truncate(keep);
                Some(remaining - keep as u64)
            }
            _ => None,
        };
        Ok(PlainBody {
            stream,
            buffered: buf,
            remaining,
        })
    }

    /// Reads the whole body into memory, refusing more than `limit` bytes.
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Bytes, UpstreamError> {
        let mut out = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            if out.len() + chunk.len() > limit {
                return Err(UpstreamError::TooLarge { limit });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    /// The next piece of an unframed or sized body, at most `max` bytes: what is buffered, else
    /// one read; `None` at the end of the stream. With `limit_reads` on a plain socket the read
    /// goes through a per-thread scratch buffer and leaves as a piece of its exact size, so an
    /// idle body holds no buffer at all.
    async fn piece(&mut self, max: usize) -> Result<Option<Bytes>, UpstreamError> {
        if !self.buf.is_empty() {
            let n = self.buf.len().min(max);
            return Ok(Some(self.buf.split_to(n).freeze()));
        }
        if let (true, Stream::Plain(tcp)) = (self.exact_reads, &self.stream) {
            let deadline = tokio::time::Instant::now() + self.idle_timeout;
            let max = max.min(self.max_read);
            loop {
                tokio::time::timeout_at(deadline, tcp.readable())
                    .await
                    .map_err(|_| UpstreamError::Timeout(Phase::Body))?
                    .map_err(UpstreamError::Io)?;
                let read = SCRATCH.with(|scratch| {
                    let mut scratch = scratch.borrow_mut();
                    let n = max.min(scratch.len());
                    tcp.try_read(&mut scratch[..n])
                        .map(|got| Bytes::copy_from_slice(&scratch[..got]))
                });
                match read {
                    Ok(piece) if piece.is_empty() => return Ok(None),
                    Ok(piece) => return Ok(Some(piece)),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(UpstreamError::Io(e)),
                }
            }
        }
        if self.fill().await? == 0 {
            return Ok(None);
        }
        let n = self.buf.len().min(max);
        Ok(Some(self.buf.split_to(n).freeze()))
    }

    async fn fill(&mut self) -> Result<usize, UpstreamError> {
        if self.buf.capacity() - self.buf.len() < self.read_size / 2 {
            self.buf.reserve(self.read_size);
        }
        let room = self.buf.capacity() - self.buf.len();
        let n = timeout(self.idle_timeout, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| UpstreamError::Timeout(Phase::Body))?
            .map_err(UpstreamError::Io)?;
        // Adapt, as hyper's read strategy does: a read that filled a whole read's room asks for
        // more next time (one that filled the tail of a buffer says nothing); a run of small
        // ones gives memory back.
        if n >= room && room >= self.read_size {
            self.read_size = (self.read_size * 2).min(self.max_read);
            self.small_reads = 0;
        } else if n < self.read_size / 4 {
            self.small_reads += 1;
            if self.small_reads >= SMALL_READS_TO_SHRINK {
                self.read_size = (self.read_size / 2).max(READ_MIN_BYTES);
                self.small_reads = 0;
            }
        } else {
            self.small_reads = 0;
        }
        Ok(n)
    }
}

thread_local! {
    /// Where exact-size reads land first (see [`Body::limit_reads`]): one per worker thread.
    static SCRATCH: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0u8; READ_CHUNK_BYTES].into_boxed_slice());
}

/// Small reads in a row after which a body's read size halves.
const SMALL_READS_TO_SHRINK: u8 = 8;

/// A plain-TCP response body taken out of a [`Body`] with [`Body::into_plain`].
#[derive(Debug)]
pub struct PlainBody {
    /// The upstream socket, positioned after `buffered`.
    pub stream: TcpStream,
    /// Body bytes already read along with the head.
    pub buffered: BytesMut,
    /// Body bytes still to come from the socket after `buffered`; `None`: until close.
    pub remaining: Option<u64>,
}

/// Makes room for the next read of a response head (a quarter of [`READ_MIN_BYTES`] at least):
/// heads are small, and the buffer goes on to hold the body.
pub(super) fn reserve(buf: &mut BytesMut) {
    if buf.capacity() - buf.len() < READ_MIN_BYTES / 4 {
        buf.reserve(READ_MIN_BYTES);
    }
}
