//! One upstream for many viewers of a live TS channel.
//!
//! A reader task per channel pulls the upstream body, cuts it into refcounted [`Bytes`] chunks of
//! whole 188-byte packets (a new chunk at every PAT, so a chunk can be a place to start), and
//! pushes a handle of each chunk onto every viewer's queue: no per-viewer copy. Each viewer's
//! connection drains its queue with vectored writes.
//!
//! - **Join**: a new viewer starts at the latest random-access point (PAT, PMT, keyframe; see
//!   [`ts::Scanner`]) from a cache of the chunks since that point, so players start at once and
//!   clean. Before the first such point it starts at the beginning of the upstream body, like the
//!   first viewer (while that is within [`START_CACHE_MAX_BYTES`]), else at the live edge; a
//!   body that is not TS is always joined at the live edge.
//! - **Lag**: a viewer whose queue would pass its bound (`viewer-queue`) is skipped forward: its
//!   queue is emptied and it resumes at the next random-access point. With `slow-viewer = drop`
//!   it is disconnected instead. It never holds up the reader or the other viewers. A viewer
//!   alone on its channel is the exception: the reader waits for it (end-to-end backpressure, as
//!   in a pass-through), so it never loses bytes.
//! - **Linger**: after the last viewer leaves, the upstream stays open for `share-linger` (a
//!   viewer zapping back starts at once), then closes. A lingering channel gives its provider
//!   slot to anyone who needs it.
//! - **Switching**: the reader owns its upstream through [`Feed`], which can take a new upstream
//!   mid-stream ([`Feed::switch`]): the partial packet is dropped and every viewer resumes at the
//!   next random-access point of the new upstream, so the output stays decodable. Failover and
//!   scheduled switching will call it; today the hook ([`Feed::next_upstream`]) offers none.

use crate::events::{Event, Events};
use crate::proto::ts::{self, Aligner, PACKET, Scanner};
use crate::server::stopped;
use crate::slots::{ClientKey, Slot};
use crate::upstream::{self, UpstreamError};
use bytes::{Buf, Bytes};
use std::collections::{HashMap, VecDeque};
use std::io::IoSlice;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, timeout, timeout_at};

/// Most bytes of chunks kept for joining viewers (from the latest random-access point). A GOP
/// longer than this makes joiners wait for the next random-access point instead.
pub const JOIN_CACHE_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Most bytes from the start of the upstream body kept for joiners before the first
/// random-access point (beyond, they join at the live edge rather than far behind it).
pub const START_CACHE_MAX_BYTES: usize = 1024 * 1024;
/// The reader gathers upstream reads into one publication until it has this many bytes ...
pub const BATCH_BYTES: usize = 32 * 1024;
/// ... or this much time passed since the first of them: fewer, larger wake-ups per viewer.
pub const BATCH_DELAY: Duration = Duration::from_millis(20);
/// Most chunks handed to one vectored write.
pub const MAX_IOV: usize = 64;
/// Chunk slots a drained viewer queue keeps (more are freed after a join or a burst).
const IDLE_QUEUE_SLOTS: usize = 4;
/// Chunks of the join cache taken per write.
const BACKLOG_BATCH: usize = 8;

fn snapshot_of(cache: &VecDeque<Bytes>) -> Arc<[Bytes]> {
    cache.iter().cloned().collect()
}

/// What a viewer does when it falls behind its queue bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowViewer {
    /// Skip forward to the next random-access point.
    Skip,
    /// Disconnect it.
    Drop,
}

/// Settings of the fan-out.
#[derive(Debug, Clone, Copy)]
pub struct FanoutOptions {
    /// Most bytes queued for one viewer.
    pub viewer_queue: usize,
    pub slow_viewer: SlowViewer,
    /// Time the upstream stays open after the last viewer left.
    pub linger: Duration,
}

/// How a shared channel (or one viewer of it) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The upstream body ended cleanly.
    Complete,
    /// The upstream failed; viewers must see a cut.
    Cut(String),
    /// The viewer fell behind with `slow-viewer = drop`.
    Dropped,
    /// The provider slot was reclaimed (the client zapped elsewhere) or the engine stops.
    Stopped,
}

/// What a joining viewer learns once the channel's upstream answered.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The upstream's (or the channel kind's) `Content-Type`.
    pub content_type: String,
}

/// The start state of a shared channel.
#[derive(Debug, Clone)]
pub enum Start {
    Pending,
    Ready(Arc<Ready>),
    /// The upstream answered but the body is not a shareable live stream: open your own.
    NotShared,
    /// The upstream failed; the reply every waiting viewer gets.
    Failed {
        status: u16,
        reason: String,
    },
}

/// All shared channels, by channel id.
#[derive(Debug, Default)]
pub struct Hub {
    channels: Mutex<HashMap<String, Arc<Fanout>>>,
    /// Shared upstream connections open now.
    pub upstreams: AtomicU64,
    /// Viewers of shared channels now.
    pub viewers: AtomicU64,
    /// Times a slow viewer was skipped forward or dropped, since start.
    pub skips: AtomicU64,
    /// Where upstream open/close/switch events go.
    events: Arc<Events>,
}

/// One shared channel.
#[derive(Debug)]
pub struct Fanout {
    id: String,
    /// The channel's name, for logs.
    name: String,
    start: watch::Sender<Start>,
    state: Mutex<State>,
    /// Woken when the viewer count drops to zero (the reader starts its linger).
    idle: Notify,
    /// Woken when a viewer joins (a reader holding back for a lone viewer resumes).
    joined: Notify,
}

#[derive(Debug, Default)]
struct State {
    viewers: Vec<Arc<Queue>>,
    /// Chunks since the latest random-access point (valid when `cache_ok`).
    cache: VecDeque<Bytes>,
    cache_bytes: usize,
    cache_ok: bool,
    /// The cache as one shared list for joiners, built on the first join after it changed:
    /// a thousand viewers joining hold one list, not a thousand copies.
    snapshot: Option<Arc<[Bytes]>>,
    /// Chunks since the latest PAT (a random-access point once a keyframe follows).
    pending: VecDeque<Bytes>,
    pending_bytes: usize,
    pending_ok: bool,
    /// A random-access point was seen (joiners and laggards may wait for the next one).
    seen_ra: bool,
    idle_since: Option<Instant>,
    ended: Option<End>,
    /// The provider slot, for its viewer accounting (set once the reader runs).
    slot: Option<Arc<Slot>>,
}

/// One viewer's bounded queue.
#[derive(Debug)]
struct Queue {
    inner: Mutex<QueueState>,
    wake: Notify,
    /// Signalled by the writer whenever it takes chunks (the reader waits on it for a lone
    /// viewer).
    taken: Notify,
    client: ClientKey,
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The outcome of [`Hub::join`].
#[derive(Debug)]
pub enum Join {
    /// The channel exists (running or starting): wait with [`Viewer::ready`].
    Viewer(Viewer),
    /// This viewer starts the channel: open the upstream, then [`Starter::run`] or drop.
    Start(Starter, Viewer),
}

impl Hub {
    /// A hub reporting its upstreams' [events](crate::events) to `events`.
    pub fn with_events(events: Arc<Events>) -> Hub {
        Hub {
            events,
            ..Hub::default()
        }
    }

    /// The running channel `id`, if its upstream is open.
    pub fn ready(&self, id: &str) -> Option<Arc<Ready>> {
        let ch = lock(&self.channels).get(id).cloned()?;
        match &*ch.start.borrow() {
            Start::Ready(r) if lock(&ch.state).ended.is_none() => Some(r.clone()),
            _ => None,
        }
    }

    /// Adds a viewer of channel `id` from `client`, starting the channel if needed.
    pub fn join(
        self: &Arc<Self>,
        id: &str,
        name: &str,
        client: ClientKey,
        opts: FanoutOptions,
    ) -> Join {
        let mut channels = lock(&self.channels);
        if let Some(ch) = channels.get(id) {
            let usable = !matches!(&*ch.start.borrow(), Start::NotShared | Start::Failed { .. })
                && lock(&ch.state).ended.is_none();
            if usable {
                let viewer = Viewer::new(self.clone(), ch.clone(), client, opts);
                return Join::Viewer(viewer);
            }
        }
        let ch = Arc::new(Fanout {
            id: id.to_string(),
            name: name.to_string(),
            start: watch::channel(Start::Pending).0,
            // Until the first random-access point, the stream's start is where joiners begin:
            // a viewer arriving a moment after the first gets the same bytes.
            state: Mutex::new(State {
                cache_ok: true,
                ..State::default()
            }),
            idle: Notify::new(),
            joined: Notify::new(),
        });
        channels.insert(id.to_string(), ch.clone());
        drop(channels);
        let viewer = Viewer::new(self.clone(), ch.clone(), client, opts);
        let starter = Starter {
            hub: self.clone(),
            ch,
            client,
            done: false,
        };
        Join::Start(starter, viewer)
    }

    fn remove(&self, ch: &Arc<Fanout>) {
        let mut channels = lock(&self.channels);
        if channels.get(&ch.id).is_some_and(|c| Arc::ptr_eq(c, ch)) {
            channels.remove(&ch.id);
        }
    }
}

/// The right (and duty) to start a shared channel. Dropped without [`Starter::run`]: waiting
/// viewers are told to open their own upstream.
#[derive(Debug)]
pub struct Starter {
    hub: Arc<Hub>,
    ch: Arc<Fanout>,
    client: ClientKey,
    done: bool,
}

impl Starter {
    /// The upstream failed: every waiting viewer gets this answer.
    pub fn fail(mut self, status: u16, reason: &str) {
        self.finish(Start::Failed {
            status,
            reason: reason.to_string(),
        });
    }

    fn finish(&mut self, start: Start) {
        self.done = true;
        self.hub.remove(&self.ch);
        lock(&self.ch.state).ended = Some(End::Stopped);
        self.ch.start.send_replace(start);
    }

    /// Starts the reader on `body` (holding `slot`) and lets viewers in.
    pub fn run(
        mut self,
        body: upstream::Body,
        slot: Slot,
        ready: Ready,
        opts: FanoutOptions,
        shutdown: watch::Receiver<bool>,
    ) {
        self.done = true;
        let slot = Arc::new(slot);
        {
            // Viewers that joined while the upstream was being opened are counted now; the
            // starter's client was counted when the slot was taken.
            let mut st = lock(&self.ch.state);
            for q in &st.viewers {
                slot.join(q.client);
            }
            slot.leave(self.client);
            st.slot = Some(slot.clone());
        }
        // Before any viewer can learn that the channel runs.
        self.hub.events.emit(&Event::UpstreamOpened {
            channel: &self.ch.id,
            shared: true,
        });
        self.ch.start.send_replace(Start::Ready(Arc::new(ready)));
        let feed = Feed::new(body);
        let hub = self.hub.clone();
        let ch = self.ch.clone();
        hub.upstreams.fetch_add(1, Ordering::Relaxed);
        // Ends the channel for its viewers however the reader stops (even by a panic or a
        // runtime shutdown, or never starting), so no viewer waits forever and the upstream's
        // close is reported.
        let guard = EndGuard {
            hub,
            ch,
            end: End::Stopped,
            why: STOPPED,
        };
        tokio::spawn(async move {
            let mut guard = guard;
            (guard.end, guard.why) =
                reader(&guard.hub, &guard.ch, feed, &slot, opts, shutdown).await;
            crate::log!(
                Debug,
                "shared channel {} ended: {:?}",
                guard.ch.id,
                guard.end
            );
            drop(guard);
            drop(slot);
        });
    }
}

/// Why a reader stopped with [`End::Stopped`] (for [`Event::UpstreamClosed`]).
const STOPPED: &str = "stopped";
const NO_VIEWERS: &str = "no viewers";
const SLOT_RECLAIMED: &str = "slot reclaimed";

/// Ends a shared channel when dropped.
struct EndGuard {
    hub: Arc<Hub>,
    ch: Arc<Fanout>,
    end: End,
    /// Why, when `end` is [`End::Stopped`].
    why: &'static str,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.hub.remove(&self.ch);
        let end = std::mem::replace(&mut self.end, End::Stopped);
        if self.hub.events.enabled() {
            let cut;
            let reason = match &end {
                End::Complete => "complete",
                End::Cut(why) => {
                    cut = format!("cut: {why}");
                    &cut
                }
                End::Dropped | End::Stopped => self.why,
            };
            self.hub.events.emit(&Event::UpstreamClosed {
                channel: &self.ch.id,
                shared: true,
                reason,
            });
        }
        self.ch.end(end);
        self.hub.upstreams.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Starter {
    fn drop(&mut self) {
        if !self.done {
            self.finish(Start::NotShared);
        }
    }
}

/// The upstream a reader pulls from, switchable mid-stream.
#[derive(Debug)]
pub struct Feed {
    body: upstream::Body,
    aligner: Aligner,
    /// Decided on the first bytes: the body is not MPEG-TS (a radio stream on a channel without
    /// extension, say), so it is passed on as it comes, joined at the live edge.
    raw: Option<bool>,
    /// Set by [`Feed::switch`]: every viewer resumes at the next random-access point.
    switched: bool,
    /// How the body ended inside a batch, reported on the next call.
    ended: Option<Result<(), UpstreamError>>,
}

impl Feed {
    pub fn new(body: upstream::Body) -> Feed {
        Feed {
            body,
            aligner: Aligner::new(),
            raw: None,
            switched: false,
            ended: None,
        }
    }

    /// Continues from another upstream body: drops the partial packet of the old one; viewers
    /// skip to the next random-access point so nobody sees a broken picture.
    pub fn switch(&mut self, body: upstream::Body) {
        self.body = body;
        self.aligner.reset();
        self.raw = None;
        self.switched = true;
        self.ended = None;
    }

    /// The next upstream to switch to when this one ends or fails (failover, schedules). None yet.
    pub fn next_upstream(&mut self) -> Option<upstream::Body> {
        None
    }

    fn push(&mut self, piece: Bytes, out: &mut Vec<Bytes>) {
        let raw = *self.raw.get_or_insert_with(|| !looks_like_ts(&piece));
        if raw {
            out.push(piece);
        } else {
            self.aligner.push(piece, out);
        }
    }

    /// Reads one batch of pieces (see [`BATCH_BYTES`], [`BATCH_DELAY`]). `Ok(false)`: the body
    /// ended. `Body::chunk` only awaits socket reads, so a batch cut short loses nothing.
    async fn batch(&mut self, out: &mut Vec<Bytes>) -> Result<bool, UpstreamError> {
        if let Some(ended) = self.ended.take() {
            return ended.map(|()| false);
        }
        let Some(first) = self.body.chunk().await? else {
            return Ok(false);
        };
        let mut bytes = first.len();
        self.push(first, out);
        let deadline = Instant::now() + BATCH_DELAY;
        while bytes < BATCH_BYTES {
            match timeout_at(deadline, self.body.chunk()).await {
                Ok(Ok(Some(piece))) => {
                    bytes += piece.len();
                    self.push(piece, out);
                }
                // The end or an error is reported on the next call.
                Ok(Ok(None)) => {
                    self.ended = Some(Ok(()));
                    break;
                }
                Ok(Err(e)) => {
                    self.ended = Some(Err(e));
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(true)
    }
}

/// Whether a body's first bytes are MPEG-TS: two sync bytes a packet apart within the first
/// packet (or one sync byte first when less arrived).
fn looks_like_ts(first: &[u8]) -> bool {
    if first.len() <= PACKET {
        return first.first() == Some(&ts::SYNC);
    }
    (0..PACKET)
        .any(|i| first[i] == ts::SYNC && first.get(i + PACKET).is_none_or(|&b| b == ts::SYNC))
}

/// The reader task: upstream → chunks → viewers, until the upstream ends, the linger after the
/// last viewer passes, the slot is reclaimed, or the engine stops (which the `&str` tells).
async fn reader(
    hub: &Hub,
    ch: &Fanout,
    mut feed: Feed,
    slot: &Slot,
    opts: FanoutOptions,
    mut shutdown: watch::Receiver<bool>,
) -> (End, &'static str) {
    let mut scanner = Scanner::new();
    let mut runs = Vec::new();
    let mut chunks = Vec::new();
    loop {
        // A lone viewer gets end-to-end backpressure like a pass-through: the upstream is not
        // read while its queue is half full (skipping forward is for not holding up others).
        if let Some(q) = ch.lone_viewer_behind(opts.viewer_queue / 2) {
            tokio::select! {
                _ = q.taken.notified() => {}
                _ = ch.joined.notified() => {}
                _ = slot.revoked() => return (End::Stopped, SLOT_RECLAIMED),
                _ = stopped(&mut shutdown) => return (End::Stopped, STOPPED),
            }
            continue;
        }
        runs.clear();
        let more = tokio::select! {
            r = feed.batch(&mut runs) => r,
            _ = ch.lingered(opts.linger) => return (End::Stopped, NO_VIEWERS),
            _ = slot.revoked() => return (End::Stopped, SLOT_RECLAIMED),
            _ = stopped(&mut shutdown) => return (End::Stopped, STOPPED),
        };
        match more {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                if let Some(body) = feed.next_upstream() {
                    feed.switch(body);
                    hub.events
                        .emit(&Event::UpstreamSwitched { channel: &ch.id });
                    continue;
                }
                let end = match more {
                    Err(e) => End::Cut(e.to_string()),
                    _ => End::Complete,
                };
                return (end, "");
            }
        }
        chunks.clear();
        let switched = std::mem::take(&mut feed.switched);
        if switched {
            // Another upstream: its tables may differ.
            scanner = Scanner::new();
        }
        for run in runs.drain(..) {
            cut(&mut scanner, run, &mut chunks);
        }
        let raw = feed.raw == Some(true);
        let behind = ch.publish(&chunks, switched, raw, opts);
        if behind > 0 {
            hub.skips.fetch_add(behind, Ordering::Relaxed);
        }
    }
}

/// A chunk and what it holds: starts with a PAT, contains the keyframe that makes the latest
/// PAT a random-access point.
type Piece = (Bytes, bool, bool);

/// Cuts a run of whole packets at every PAT.
fn cut(scanner: &mut Scanner, mut run: Bytes, out: &mut Vec<Piece>) {
    // `run` loses its front at every cut; `at` is where it now starts in the original run.
    let mut at = 0;
    let mut pat_start = false;
    let mut ra = false;
    let n = run.len() / PACKET;
    for i in 0..n {
        let here = i * PACKET;
        let info = match run.get(here - at..here - at + PACKET) {
            Some(p) => scanner.packet(p),
            None => break,
        };
        if info.pat {
            if here > at {
                out.push((run.split_to(here - at), pat_start, ra));
                at = here;
            }
            pat_start = true;
            ra = false;
        }
        if info.random_access {
            ra = true;
        }
    }
    if !run.is_empty() {
        out.push((run, pat_start, ra));
    }
}

impl Fanout {
    /// The only viewer, when there is exactly one and it has more than `bytes` queued.
    fn lone_viewer_behind(&self, bytes: usize) -> Option<Arc<Queue>> {
        let st = lock(&self.state);
        let [q] = st.viewers.as_slice() else {
            return None;
        };
        let qs = lock(&q.inner);
        (qs.bytes + qs.backlog_bytes > bytes && qs.end.is_none()).then(|| q.clone())
    }

    /// Resolves once no viewer has been watching for `linger`.
    async fn lingered(&self, linger: Duration) {
        loop {
            let since = lock(&self.state).idle_since;
            match since {
                Some(t) => {
                    tokio::time::sleep_until(t + linger).await;
                    if lock(&self.state).idle_since == Some(t) {
                        return;
                    }
                }
                None => self.idle.notified().await,
            }
        }
    }

    /// Queues chunks for every viewer; returns how many times a viewer fell behind. `raw`: the
    /// body is not TS, so there is no place to join but the live edge (no cache).
    fn publish(&self, chunks: &[Piece], switched: bool, raw: bool, opts: FanoutOptions) -> u64 {
        let mut behind = 0;
        let mut st = lock(&self.state);
        let st = &mut *st;
        st.snapshot = None;
        if raw && st.cache_ok {
            st.cache.clear();
            st.cache_ok = false;
        }
        if switched {
            st.cache.clear();
            st.cache_ok = false;
            st.pending.clear();
            st.pending_ok = false;
            for v in &st.viewers {
                let mut q = lock(&v.inner);
                q.waiting = st.seen_ra;
            }
        }
        for (chunk, pat, ra) in chunks {
            if *pat {
                st.pending.clear();
                st.pending_bytes = 0;
                st.pending_ok = true;
            }
            if st.pending_ok {
                st.pending.push_back(chunk.clone());
                st.pending_bytes += chunk.len();
                if st.pending_bytes > JOIN_CACHE_MAX_BYTES {
                    st.pending.clear();
                    st.pending_ok = false;
                }
            }
            if st.cache_ok {
                st.cache.push_back(chunk.clone());
                st.cache_bytes += chunk.len();
                let max = if st.seen_ra {
                    JOIN_CACHE_MAX_BYTES
                } else {
                    START_CACHE_MAX_BYTES
                };
                if st.cache_bytes > max {
                    st.cache.clear();
                    st.cache_ok = false;
                }
            }
            let any = !st.seen_ra;
            // A lone viewer is held back by the reader instead (see `reader`): never skipped.
            let lone = st.viewers.len() == 1;
            for v in &st.viewers {
                behind += u64::from(v.push(chunk, any, lone, opts));
            }
            if *ra && st.pending_ok {
                // The first random-access point keeps a cache that still holds the stream from
                // its start (tables such as the SDT may come before the first PAT): joiners in
                // the first group of pictures get exactly what the first viewer got.
                if st.seen_ra || !st.cache_ok {
                    st.cache.clone_from(&st.pending);
                    st.cache_bytes = st.pending_bytes;
                }
                st.cache_ok = true;
                st.seen_ra = true;
                st.snapshot = None;
                let mut snapshot = None;
                for v in &st.viewers {
                    if v.waiting() {
                        let snap = snapshot.get_or_insert_with(|| snapshot_of(&st.cache));
                        v.resume(snap, st.cache_bytes, opts);
                    }
                }
            }
        }
        behind
    }

    fn end(&self, end: End) {
        let mut st = lock(&self.state);
        st.ended = Some(end.clone());
        st.slot = None;
        st.cache.clear();
        st.pending.clear();
        for v in &st.viewers {
            let mut q = lock(&v.inner);
            if q.end.is_none() {
                q.end = Some(end.clone());
            }
            drop(q);
            v.wake.notify_one();
        }
    }
}

impl Queue {
    /// Queues a chunk. `any`: a waiting viewer may resume here (no random-access point known).
    /// `lone`: the only viewer, whose lag the reader bounds by waiting.
    /// Returns whether the viewer was skipped forward or dropped.
    fn push(&self, chunk: &Bytes, any: bool, lone: bool, opts: FanoutOptions) -> bool {
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

    fn waiting(&self) -> bool {
        lock(&self.inner).waiting
    }

    /// A random-access point was confirmed: a waiting viewer starts from the cache.
    fn resume(&self, cache: &Arc<[Bytes]>, bytes: usize, opts: FanoutOptions) {
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
    fn new(hub: Arc<Hub>, ch: Arc<Fanout>, client: ClientKey, opts: FanoutOptions) -> Viewer {
        let q = Arc::new(Queue {
            inner: Mutex::default(),
            wake: Notify::new(),
            taken: Notify::new(),
            client,
        });
        {
            let mut guard = lock(&ch.state);
            let st = &mut *guard;
            {
                let mut qs = lock(&q.inner);
                if st.cache_ok && st.cache_bytes <= opts.viewer_queue && !st.cache.is_empty() {
                    let cache = &st.cache;
                    let snap = st.snapshot.get_or_insert_with(|| snapshot_of(cache));
                    qs.backlog = Some((snap.clone(), 0));
                    qs.backlog_bytes = st.cache_bytes;
                } else {
                    // No usable cache: wait for the next random-access point, or take the live
                    // edge if the channel has shown none yet.
                    qs.waiting = st.seen_ra;
                }
            }
            st.viewers.push(q.clone());
            st.idle_since = None;
            if let Some(slot) = &st.slot {
                slot.join(client);
            }
        }
        hub.viewers.fetch_add(1, Ordering::Relaxed);
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
        shutdown: &mut watch::Receiver<bool>,
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
                        _ = stopped(shutdown) => return (sent, Ok(End::Stopped)),
                    }
                    continue;
                }
            }
            // Wait for room, then write without awaiting: the slice array never lives across
            // an await, so it is not part of this (per-viewer) future.
            let ready = tokio::select! {
                w = timeout(stall, stream.writable()) => w,
                _ = stopped(shutdown) => return (sent, Ok(End::Stopped)),
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
        self.hub.viewers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The fan-out without sockets, for benchmarks: `viewers` queues fed by [`Self::publish`] and
/// emptied by [`Self::drain`] as their writers would.
#[doc(hidden)]
#[derive(Debug)]
pub struct BenchFanout {
    ch: Fanout,
    scanner: Mutex<Scanner>,
    opts: FanoutOptions,
}

#[doc(hidden)]
impl BenchFanout {
    pub fn new(viewers: usize, viewer_queue: usize) -> BenchFanout {
        let ch = Fanout {
            id: String::new(),
            name: String::new(),
            start: watch::channel(Start::Pending).0,
            state: Mutex::new(State::default()),
            idle: Notify::new(),
            joined: Notify::new(),
        };
        let client = ClientKey::new(std::net::Ipv4Addr::LOCALHOST.into(), None);
        lock(&ch.state).viewers = (0..viewers)
            .map(|_| {
                Arc::new(Queue {
                    inner: Mutex::default(),
                    wake: Notify::new(),
                    taken: Notify::new(),
                    client,
                })
            })
            .collect();
        BenchFanout {
            ch,
            scanner: Mutex::new(Scanner::new()),
            opts: FanoutOptions {
                viewer_queue,
                slow_viewer: SlowViewer::Skip,
                linger: Duration::ZERO,
            },
        }
    }

    /// Cuts a run of whole packets and queues it for every viewer.
    pub fn publish(&self, run: Bytes) {
        let mut pieces = Vec::new();
        cut(&mut lock(&self.scanner), run, &mut pieces);
        let _ = self.ch.publish(&pieces, false, false, self.opts);
    }

    /// Like [`Self::publish`], as the first run of a switched upstream ([`Feed::switch`]).
    pub fn publish_switched(&self, run: Bytes) {
        let mut pieces = Vec::new();
        let mut scanner = lock(&self.scanner);
        *scanner = Scanner::new();
        cut(&mut scanner, run, &mut pieces);
        let _ = self.ch.publish(&pieces, true, false, self.opts);
    }

    /// Empties every queue; returns the bytes taken.
    pub fn drain(&self) -> usize {
        let st = lock(&self.ch.state);
        let mut total = 0;
        for q in &st.viewers {
            let mut q = lock(&q.inner);
            total += q.bytes + q.backlog_bytes;
            q.chunks.clear();
            q.bytes = 0;
            q.backlog = None;
            q.backlog_bytes = 0;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(head: &[u8]) -> Vec<u8> {
        let mut p = head.to_vec();
        p.resize(PACKET, 0xff);
        p
    }

    /// PAT, PMT (H.264 on 0x100), a keyframe with `random_access_indicator`, two more packets.
    fn gop() -> Vec<u8> {
        let pat = [
            0x47, 0x40, 0x00, 0x10, 0x00, 0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0x00, 0, 0,
            0, 0,
        ];
        let pmt = [
            0x47, 0x50, 0x00, 0x10, 0x00, 0x02, 0xb0, 18, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0, 0x00,
            0x1b, 0xe1, 0x00, 0xf0, 0x00, 0, 0, 0, 0,
        ];
        let key = [
            0x47, 0x41, 0x00, 0x30, 1, 0x40, 0, 0, 1, 0xe0, 0, 0, 0x80, 0, 0, 0, 0, 0, 1, 0x09,
        ];
        [packet(&pat), packet(&pmt), packet(&key), middle()].concat()
    }

    /// Packets from the middle of a picture.
    fn middle() -> Vec<u8> {
        [
            packet(&[0x47, 0x01, 0x00, 0x10]),
            packet(&[0x47, 0x01, 0x00, 0x11]),
        ]
        .concat()
    }

    #[test]
    fn cut_starts_a_chunk_at_every_pat_and_marks_random_access() {
        let mut scanner = Scanner::new();
        let mut out = Vec::new();
        let run = [middle(), gop(), gop()].concat();
        cut(&mut scanner, Bytes::from(run.clone()), &mut out);
        let lens: Vec<usize> = out.iter().map(|(c, _, _)| c.len()).collect();
        assert_eq!(lens, [2 * PACKET, 5 * PACKET, 5 * PACKET]);
        let flags: Vec<(bool, bool)> = out.iter().map(|&(_, p, r)| (p, r)).collect();
        assert_eq!(flags, [(false, false), (true, true), (true, true)]);
        assert_eq!(
            out.iter()
                .flat_map(|(c, _, _)| c.to_vec())
                .collect::<Vec<_>>(),
            run
        );
    }

    #[test]
    fn a_switched_upstream_resumes_viewers_at_its_first_random_access_point() {
        let fan = BenchFanout::new(2, 1 << 20);
        fan.publish(Bytes::from(gop()));
        assert_eq!(fan.drain(), 2 * gop().len());
        // The next upstream starts inside a picture: nobody gets that.
        fan.publish_switched(Bytes::from(middle()));
        assert_eq!(fan.drain(), 0);
        // Its first PAT, PMT and keyframe: everybody resumes there.
        fan.publish(Bytes::from(gop()));
        assert_eq!(fan.drain(), 2 * gop().len());
        fan.publish(Bytes::from(middle()));
        assert_eq!(fan.drain(), 2 * middle().len());
    }

    #[test]
    fn a_slow_viewer_among_others_skips_to_the_next_random_access_point() {
        // Two viewers, a queue bound of two groups: the third group overflows both (neither
        // drains), so both skip and resume at the following random-access point.
        let fan = BenchFanout::new(2, 2 * gop().len());
        fan.publish(Bytes::from(gop()));
        fan.publish(Bytes::from(gop()));
        fan.publish(Bytes::from(middle()));
        assert_eq!(fan.drain(), 0, "both skipped");
        fan.publish(Bytes::from(middle()));
        assert_eq!(fan.drain(), 0, "waiting for a random-access point");
        fan.publish(Bytes::from(gop()));
        assert_eq!(fan.drain(), 2 * gop().len());
    }
}
