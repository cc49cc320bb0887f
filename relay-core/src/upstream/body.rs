//! Response bodies: framed reads that tell complete from cut, and the plain-TCP hand-off.

use super::connect::Stream;
use super::pool::{Pool, PoolKey};
use super::{Phase, READ_CHUNK_BYTES, UpstreamError};
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
                if self.buf.is_empty() && self.fill().await? == 0 {
                    return Err(UpstreamError::Cut {
                        received: self.received,
                    });
                }
                let n = self
                    .buf
                    .len()
                    .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                self.remaining -= n as u64;
                if self.remaining == 0 {
                    self.done = true;
                }
                Some(self.buf.split_to(n).freeze())
            }
            BodyKind::CloseDelimited => {
                if self.buf.is_empty() && self.fill().await? == 0 {
                    self.done = true;
                    None
                } else {
                    Some(self.buf.split().freeze())
                }
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

    async fn fill(&mut self) -> Result<usize, UpstreamError> {
        reserve(&mut self.buf);
        timeout(self.idle_timeout, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| UpstreamError::Timeout(Phase::Body))?
            .map_err(UpstreamError::Io)
    }
}

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

/// Makes room for the next read (a quarter of [`READ_CHUNK_BYTES`] at least).
pub(super) fn reserve(buf: &mut BytesMut) {
    if buf.capacity() - buf.len() < READ_CHUNK_BYTES / 4 {
        buf.reserve(READ_CHUNK_BYTES);
    }
}
