//! One viewer of a shared channel: its bounded queue and the writer that drains it.

use super::{End, Fanout, FanoutOptions, Hub, MAX_IOV, Start};
use crate::config::SlowViewer;
use crate::shutdown::Shutdown;
use crate::slots::ClientKey;
use crate::stats;
use crate::sync::lock;
use bytes::{Buf, Bytes};
use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{Instant, timeout};

/// Chunk slots a drained viewer queue keeps (more are freed after a join or a burst).
const IDLE_QUEUE_SLOTS: usize = 4;
/// Chunks of the join cache taken per write.
const BACKLOG_BATCH: usize = 8;

/// One viewer's bounded queue.
#[derive(Debug)]
pub(super) struct Queue {
    inner: Mutex<QueueState>,
    wake: Notify,
    /// Signalled by the writer whenever it takes chunks (the reader waits on it for a lone
    /// viewer).
    taken: Notify,
    pub(super) client: ClientKey,
}

#[derive(Debug, Default)]
struct QueueState {
    /// The join cache still to send (shared with other joiners), and the next index in it.
    backlog: Option<(Arc<[Bytes]>, usize)>,
    backlog_bytes: usize,
    chunks: VecDeque<Bytes>,
    bytes: usize,
    /// Emptied after falling behind (or joined with no usable cache): wait for a random-access
    /// point.
    waiting: bool,
    /// Times skipped forward.
    skips: u64,
    end: Option<End>,
}

impl Queue {
    pub(super) fn new(client: ClientKey) -> Queue {
        Queue {
            inner: Mutex::default(),
            wake: Notify::new(),
            taken: Notify::new(),
            client,
        }
    }

    /// More than `bytes` queued, and not ended.
    pub(super) fn behind(&self, bytes: usize) -> bool {
        let q = lock(&self.inner);
        q.bytes + q.backlog_bytes > bytes && q.end.is_none()
    }

    /// After an upstream switch: resume only at the new upstream's next random-access point
    /// (when the channel has shown one; else at once).
    pub(super) fn wait_for_random_access(&self, seen: bool) {
        lock(&self.inner).waiting = seen;
    }

    /// The channel ended: the writer sends what is queued, then stops with `end`.
    pub(super) fn end(&self, end: &End) {
        let mut q = lock(&self.inner);
        if q.end.is_none() {
            q.end = Some(end.clone());
        }
        drop(q);
        self.wake.notify_one();
    }

    /// Empties the queue as a writer would (benchmarks); returns the bytes taken.
    pub(super) fn drain(&self) -> usize {
        let mut q = lock(&self.inner);
        let total = q.bytes + q.backlog_bytes;
        q.chunks.clear();
        q.bytes = 0;
        q.backlog = None;
        q.backlog_bytes = 0;
        total
    }

    /// Wakes a reader holding back for this (lone) viewer.
    pub(super) async fn taken(&self) {
        self.taken.notified().await
    }

    /// Queues a chunk. `any`: a waiting viewer may resume here (no random-access point known).
    /// `lone`: the only viewer, whose lag the reader bounds by waiting.
    /// Returns whether the viewer was skipped forward or dropped.
    pub(super) fn push(&self, chunk: &Bytes, any: bool, lone: bool, opts: FanoutOptions) -> bool {
        let mut q = lock(&self.inner);
        if q.end.is_some() {
            return false;
        }
        if q.waiting {
            if !any {
                return false;
            }
            q.waiting = false;
        }
        let mut fell_behind = false;
        if !lone && q.bytes + q.backlog_bytes + chunk.len() > opts.viewer_queue {
            fell_behind = true;
            match opts.slow_viewer {
                SlowViewer::Drop => q.end = Some(End::Dropped),
                SlowViewer::Skip => {
                    q.chunks.clear();
                    q.bytes = 0;
                    q.backlog = None;
                    q.backlog_bytes = 0;
                    q.waiting = true;
                    q.skips += 1;
                    return true;
                }
            }
        } else {
            q.bytes += chunk.len();
            q.chunks.push_back(chunk.clone());
        }
        // The writer waits only with nothing queued; a spare wake-up is harmless.
        let wake = q.chunks.len() == 1 || q.end.is_some();
        drop(q);
        if wake {
            self.wake.notify_one();
        }
        fell_behind
    }

    pub(super) fn waiting(&self) -> bool {
        lock(&self.inner).waiting
    }

    /// A random-access point was confirmed: a waiting viewer starts from the cache.
    pub(super) fn resume(&self, cache: &Arc<[Bytes]>, bytes: usize, opts: FanoutOptions) {
        let mut q = lock(&self.inner);
        if !q.waiting || q.end.is_some() || bytes > opts.viewer_queue {
            return;
        }
        q.waiting = false;
        q.backlog = Some((cache.clone(), 0));
        q.backlog_bytes = bytes;
        drop(q);
        self.wake.notify_one();
    }
}

/// One viewer of a shared channel. Dropping it leaves the channel.
#[derive(Debug)]
pub struct Viewer {
    hub: Arc<Hub>,
    ch: Arc<Fanout>,
    q: Arc<Queue>,
    client: ClientKey,
}

impl Viewer {
    pub(super) fn new(
        hub: Arc<Hub>,
        ch: Arc<Fanout>,
        client: ClientKey,
        opts: FanoutOptions,
    ) -> Viewer {
        let q = Arc::new(Queue::new(client));
        {
            let mut guard = lock(&ch.state);
            let st = &mut *guard;
            {
                let mut qs = lock(&q.inner);
                match st.join.start(opts.viewer_queue) {
                    Some((start, bytes)) => {
                        qs.backlog = Some((start, 0));
                        qs.backlog_bytes = bytes;
                    }
                    // No usable cache: wait for the next random-access point, or take the live
                    // edge if the channel has shown none yet.
                    None => qs.waiting = st.join.seen_random_access(),
                }
            }
            if !st.viewers.is_empty() {
                st.last_join = Some(Instant::now());
            }
            st.viewers.push(q.clone());
            st.idle_since = None;
            if let Some(slot) = &st.slot {
                slot.join(client);
            }
        }
        stats::inc(&hub.stats.shared_viewers);
        ch.joined.notify_one();
        Viewer { hub, ch, q, client }
    }

    /// Waits until the channel's upstream answered.
    pub async fn ready(&self) -> Start {
        let mut rx = self.ch.start.subscribe();
        let r = rx.wait_for(|s| !matches!(s, Start::Pending)).await;
        match r {
            Ok(s) => s.clone(),
            Err(_) => Start::NotShared,
        }
    }

    /// The channel's id.
    pub fn channel(&self) -> &str {
        &self.ch.id
    }

    /// The channel's name.
    pub fn channel_name(&self) -> &str {
        &self.ch.name
    }

    /// Times this viewer was skipped forward.
    pub fn skips(&self) -> u64 {
        lock(&self.q.inner).skips
    }

    /// Writes the channel to `stream` until it ends, the viewer fails to keep up (with
    /// `slow-viewer = drop`) or goes away, or the engine stops. Returns the bytes written and how
    /// it ended (`Err`: the client went away).
    pub async fn run(
        &self,
        stream: &mut TcpStream,
        stall: Duration,
        shutdown: &mut Shutdown,
    ) -> (u64, Result<End, std::io::Error>) {
        let mut batch: VecDeque<Bytes> = VecDeque::new();
        let mut sent = 0u64;
        loop {
            if batch.is_empty() {
                // A join (the cache) or a burst grows the deques; give the room back once
                // drained, as a viewer at the live edge needs a few slots.
                if batch.capacity() > IDLE_QUEUE_SLOTS {
                    batch.shrink_to(IDLE_QUEUE_SLOTS);
                }
                let end = {
                    let mut q = lock(&self.q.inner);
                    if q.end == Some(End::Dropped) {
                        return (sent, Ok(End::Dropped));
                    }
                    if let Some((backlog, at)) = q.backlog.take() {
                        // The join cache first, a few chunks at a time.
                        let end = backlog.len().min(at + BACKLOG_BATCH);
                        let taken = backlog.get(at..end).unwrap_or_default();
                        let n: usize = taken.iter().map(Bytes::len).sum();
                        batch.extend(taken.iter().cloned());
                        q.backlog_bytes = q.backlog_bytes.saturating_sub(n);
                        if end < backlog.len() {
                            q.backlog = Some((backlog, end));
                        } else {
                            q.backlog_bytes = 0;
                        }
                    }
                    if batch.is_empty() {
                        std::mem::swap(&mut batch, &mut q.chunks);
                        q.bytes = 0;
                    }
                    q.end.clone()
                };
                self.q.taken.notify_one();
                if batch.is_empty() {
                    if let Some(end) = end {
                        return (sent, Ok(end));
                    }
                    tokio::select! {
                        _ = self.q.wake.notified() => {}
                        _ = shutdown.cut() => return (sent, Ok(End::Stopped)),
                        _ = crate::relay::hangup::hung_up(stream) => {
                            return (sent, Err(crate::relay::hangup::hung_up_error()));
                        }
                    }
                    continue;
                }
            }
            // Wait for room, then write without awaiting: the slice array never lives across
            // an await, so it is not part of this (per-viewer) future.
            let ready = tokio::select! {
                w = timeout(stall, stream.writable()) => w,
                _ = shutdown.cut() => return (sent, Ok(End::Stopped)),
            };
            match ready {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return (sent, Err(e)),
                Err(_) => return (sent, Err(std::io::ErrorKind::TimedOut.into())),
            }
            let mut written = {
                let mut slices = [IoSlice::new(&[]); MAX_IOV];
                let n = batch.len().min(MAX_IOV);
                for (slot, chunk) in slices.iter_mut().zip(batch.iter()) {
                    *slot = IoSlice::new(chunk);
                }
                match stream.try_write_vectored(&slices[..n]) {
                    Ok(0) => return (sent, Err(std::io::ErrorKind::WriteZero.into())),
                    Ok(w) => w,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return (sent, Err(e)),
                }
            };
            sent += written as u64;
            while written > 0 {
                let Some(front) = batch.front_mut() else {
                    break;
                };
                if written >= front.len() {
                    written -= front.len();
                    batch.pop_front();
                } else {
                    front.advance(written);
                    written = 0;
                }
            }
        }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let idle = {
            let mut st = lock(&self.ch.state);
            st.viewers.retain(|q| !Arc::ptr_eq(q, &self.q));
            if let Some(slot) = &st.slot {
                slot.leave(self.client);
            }
            if st.viewers.is_empty() {
                st.idle_since = Some(Instant::now());
                true
            } else {
                false
            }
        };
        // A reader holding back for this viewer must not wait for it any more.
        self.q.taken.notify_one();
        if idle {
            self.ch.idle.notify_one();
        }
        stats::dec(&self.hub.stats.shared_viewers);
    }
}
