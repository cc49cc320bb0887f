//! Pass-through of one plain-TCP upstream body to one client: `splice(2)` on Linux, else a copy
//! loop over a pooled buffer. A [`Cut`] takes out a byte range the upstream did not honour.

use super::pool::BufferPool;
use crate::proto::http::Cut;
use crate::upstream::{Phase, PlainBody, UpstreamError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// How a pass-through ended.
#[derive(Debug)]
pub enum PassEnd {
    /// Everything due was delivered.
    Complete,
    /// The client went away or stalled.
    ClientGone,
    /// The upstream failed or ended early.
    Upstream(UpstreamError),
}

/// One pass-through job.
#[derive(Debug)]
pub struct Pass<'a> {
    pub body: PlainBody,
    /// The part of the body the client gets.
    pub cut: Cut,
    /// Use `splice(2)` (Linux only; ignored elsewhere).
    pub splice: bool,
    pub idle: Duration,
    pub stall: Duration,
    pub pool: &'a BufferPool,
}

impl Pass<'_> {
    /// Runs the job; `sent` counts the bytes delivered so far (also when it fails).
    pub async fn run(mut self, client: &mut TcpStream, sent: &mut u64) -> PassEnd {
        let mut received = 0u64;
        // Bytes that came with the head.
        let mut head = std::mem::take(&mut self.body.buffered);
        received += head.len() as u64;
        let due = self.cut.take(head.len());
        head.truncate(due.end);
        let _ = head.split_to(due.start);
        if !head.is_empty() {
            if timeout(self.stall, client.write_all(&head))
                .await
                .is_err_or_err()
            {
                return PassEnd::ClientGone;
            }
            *sent += head.len() as u64;
        }
        drop(head);
        // What the socket still owes, and what of it the client wants.
        let owed = self.body.remaining;
        let want = match (self.cut.limit, owed) {
            (Some(l), _) => Some(l),
            (None, Some(o)) => Some(o.saturating_sub(self.cut.skip)),
            (None, None) => None,
        };
        if want == Some(0) {
            return PassEnd::Complete;
        }
        // Skip what the client did not ask for (a range the upstream ignored): read and drop.
        if self.cut.skip > 0 {
            let mut buf = self.pool.get();
            while self.cut.skip > 0 {
                let n = buf
                    .len()
                    .min(usize::try_from(self.cut.skip).unwrap_or(usize::MAX));
                match timeout(self.idle, self.body.stream.read(&mut buf[..n])).await {
                    Err(_) => return PassEnd::Upstream(UpstreamError::Timeout(Phase::Body)),
                    Ok(Err(e)) => return PassEnd::Upstream(UpstreamError::Io(e)),
                    Ok(Ok(0)) => return PassEnd::Upstream(UpstreamError::Cut { received }),
                    Ok(Ok(n)) => {
                        self.cut.skip -= n as u64;
                        received += n as u64;
                    }
                }
            }
        }
        #[cfg(target_os = "linux")]
        if self.splice
            && let Ok(pipe) = super::splice::Pipe::new()
        {
            let before = *sent;
            let r = super::splice::relay(
                &pipe,
                &self.body.stream,
                client,
                want,
                self.idle,
                self.stall,
                sent,
            )
            .await;
            use super::splice::SpliceError;
            return match r {
                Ok(()) => PassEnd::Complete,
                Err(SpliceError::Client(_)) => PassEnd::ClientGone,
                Err(SpliceError::UpstreamIdle) => {
                    PassEnd::Upstream(UpstreamError::Timeout(Phase::Body))
                }
                Err(SpliceError::UpstreamCut) => PassEnd::Upstream(UpstreamError::Cut {
                    received: received + (*sent - before),
                }),
                Err(SpliceError::Upstream(e)) => PassEnd::Upstream(UpstreamError::Io(e)),
            };
        }
        // No pipe (fd pressure): fall through to the copy loop.
        self.copy(client, want, received, sent).await
    }

    /// The copy loop: read into a pooled buffer, write it out, repeat.
    async fn copy(
        &mut self,
        client: &mut TcpStream,
        mut want: Option<u64>,
        mut received: u64,
        sent: &mut u64,
    ) -> PassEnd {
        let mut buf = self.pool.get();
        loop {
            let n = want.map_or(buf.len(), |w| {
                buf.len().min(usize::try_from(w).unwrap_or(usize::MAX))
            });
            if n == 0 {
                return PassEnd::Complete;
            }
            let read = tokio::select! {
                r = timeout(self.idle, self.body.stream.read(&mut buf[..n])) => r,
                _ = super::hangup::hung_up(client) => return PassEnd::ClientGone,
            };
            let got = match read {
                Err(_) => return PassEnd::Upstream(UpstreamError::Timeout(Phase::Body)),
                Ok(Err(e)) => return PassEnd::Upstream(UpstreamError::Io(e)),
                Ok(Ok(0)) if want.is_some() => {
                    return PassEnd::Upstream(UpstreamError::Cut { received });
                }
                Ok(Ok(0)) => return PassEnd::Complete,
                Ok(Ok(got)) => got,
            };
            received += got as u64;
            if timeout(self.stall, client.write_all(&buf[..got]))
                .await
                .is_err_or_err()
            {
                return PassEnd::ClientGone;
            }
            *sent += got as u64;
            if let Some(w) = want.as_mut() {
                *w -= got as u64;
            }
        }
    }
}

/// `true` for a timed-out or failed I/O result.
trait Failed {
    fn is_err_or_err(&self) -> bool;
}

impl<T, E> Failed for Result<std::io::Result<T>, E> {
    fn is_err_or_err(&self) -> bool {
        !matches!(self, Ok(Ok(_)))
    }
}
