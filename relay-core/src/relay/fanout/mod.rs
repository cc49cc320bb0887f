//! One upstream for many viewers of a live TS channel.
//!
//! A reader task per channel pulls the upstream body, cuts it into refcounted [`Bytes`] chunks of
//! whole 188-byte packets (a new chunk at every PAT, so a chunk can be a place to start), and
//! pushes a handle of each chunk onto every viewer's queue: no per-viewer copy. Each viewer's
//! connection drains its queue with vectored writes.
//!
//! - **Join** (`join`): a new viewer starts at the latest random-access point (PAT, PMT,
//!   keyframe; see [`Scanner`]) from a cache of the chunks since that point, so players start at once and
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

mod feed;
mod join;
mod viewer;

pub use feed::Feed;
pub use viewer::Viewer;

use crate::config::SlowViewer;
use crate::events::{Event, Events};
use crate::proto::ts::Scanner;
use crate::shutdown::Shutdown;
use crate::slots::{ClientKey, Slot};
use crate::stats::{self, Stats};
use crate::sync::lock;
use crate::upstream;
use bytes::Bytes;
use feed::{Piece, cut};
pub use join::JoinBudget;
use join::JoinCache;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use viewer::Queue;

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
/// A channel that a viewer joined (beside one already watching) this recently is *hot*: its
/// join cache may use all of `join-cache-bytes`, not only the cold channels' share.
pub const JOIN_HOT_WINDOW: Duration = Duration::from_secs(60);
/// The most a shared channel's reader takes in one read (the chunks of a read live until every
/// viewer has them): 16 KiB is 30 ms of a 4 Mbit/s channel.
pub const FEED_READ_BYTES: usize = 16 * 1024;
/// Most chunks handed to one vectored write.
pub const MAX_IOV: usize = 64;

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
    /// Where the shared upstreams, viewers and skips are counted.
    stats: Arc<Stats>,
    /// What the channels' join caches may hold together.
    budget: Arc<JoinBudget>,
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

#[derive(Debug)]
struct State {
    viewers: Vec<Arc<Queue>>,
    /// Where joiners start.
    join: JoinCache,
    idle_since: Option<Instant>,
    /// When a viewer last joined while the channel already had one: a channel being zapped to
    /// keeps its join cache first.
    last_join: Option<Instant>,
    ended: Option<End>,
    /// The provider slot, for its viewer accounting (set once the reader runs).
    slot: Option<Arc<Slot>>,
}

impl State {
    fn new(budget: Arc<JoinBudget>) -> State {
        State {
            viewers: Vec::new(),
            join: JoinCache::new(budget),
            idle_since: None,
            last_join: None,
            ended: None,
            slot: None,
        }
    }
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
    /// A hub counting into `stats` and reporting its upstreams' [events](crate::events) to
    /// `events`.
    pub fn new(stats: Arc<Stats>, events: Arc<Events>, join_cache_bytes: usize) -> Hub {
        Hub {
            channels: Mutex::default(),
            budget: Arc::new(JoinBudget::with_stats(join_cache_bytes, stats.clone())),
            stats,
            events,
        }
    }

    /// A new budget for the join caches (`join-cache-bytes`).
    pub fn set_join_cache_bytes(&self, bytes: usize) {
        self.budget.set_limit(bytes);
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
            state: Mutex::new(State::new(self.budget.clone())),
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
        shutdown: Shutdown,
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
        stats::inc(&hub.stats.shared_upstreams);
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
        stats::dec(&self.hub.stats.shared_upstreams);
    }
}

impl Drop for Starter {
    fn drop(&mut self) {
        if !self.done {
            self.finish(Start::NotShared);
        }
    }
}

/// The reader task: upstream → chunks → viewers, until the upstream ends, the linger after the
/// last viewer passes, the slot is reclaimed, or the engine stops (which the `&str` tells).
async fn reader(
    hub: &Hub,
    ch: &Fanout,
    mut feed: Feed,
    slot: &Slot,
    opts: FanoutOptions,
    mut shutdown: Shutdown,
) -> (End, &'static str) {
    let mut scanner = Scanner::new();
    let mut runs = Vec::new();
    let mut chunks = Vec::new();
    loop {
        // A lone viewer gets end-to-end backpressure like a pass-through: the upstream is not
        // read while its queue is half full (skipping forward is for not holding up others).
        if let Some(q) = ch.lone_viewer_behind(opts.viewer_queue / 2) {
            tokio::select! {
                _ = q.taken() => {}
                _ = ch.joined.notified() => {}
                _ = slot.revoked() => return (End::Stopped, SLOT_RECLAIMED),
                _ = shutdown.cut() => return (End::Stopped, STOPPED),
            }
            continue;
        }
        runs.clear();
        let more = tokio::select! {
            r = feed.batch(&mut runs, ch.batch_bytes()) => r,
            _ = ch.lingered(opts.linger) => return (End::Stopped, NO_VIEWERS),
            _ = slot.revoked() => return (End::Stopped, SLOT_RECLAIMED),
            _ = shutdown.cut() => return (End::Stopped, STOPPED),
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
        let switched = feed.take_switched();
        if switched {
            // Another upstream: its tables may differ.
            scanner = Scanner::new();
        }
        for run in runs.drain(..) {
            cut(&mut scanner, run, &mut chunks);
        }
        let raw = feed.is_raw();
        let behind = ch.publish(&chunks, switched, raw, opts);
        stats::add(&hub.stats.viewer_skips, behind);
    }
}

impl Fanout {
    /// How much the reader gathers before publishing: [`BATCH_BYTES`] for several viewers (one
    /// wake-up each per batch), one read for a single viewer.
    fn batch_bytes(&self) -> usize {
        if lock(&self.state).viewers.len() > 1 {
            BATCH_BYTES
        } else {
            0
        }
    }

    /// The only viewer, when there is exactly one and it has more than `bytes` queued.
    fn lone_viewer_behind(&self, bytes: usize) -> Option<Arc<Queue>> {
        let st = lock(&self.state);
        let [q] = st.viewers.as_slice() else {
            return None;
        };
        q.behind(bytes).then(|| q.clone())
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
        if raw {
            st.join.raw();
        }
        if switched {
            st.join.switched();
            let seen = st.join.seen_random_access();
            for v in &st.viewers {
                v.wait_for_random_access(seen);
            }
        }
        let hot = st.viewers.len() >= 2
            || st.last_join.is_some_and(|t| t.elapsed() < JOIN_HOT_WINDOW)
            || st.viewers.iter().any(|v| v.waiting());
        for (chunk, pat, ra) in chunks {
            let pushed = st.join.push(chunk, *pat, *ra, hot);
            // A lone viewer is held back by the reader instead (see `reader`): never skipped.
            let lone = st.viewers.len() == 1;
            for v in &st.viewers {
                behind += u64::from(v.push(chunk, pushed.any, lone, opts));
            }
            if pushed.random_access
                && st.viewers.iter().any(|v| v.waiting())
                && let Some((start, bytes)) = st.join.start(usize::MAX)
            {
                for v in &st.viewers {
                    if v.waiting() {
                        v.resume(&start, bytes, opts);
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
        st.join.clear();
        for v in &st.viewers {
            v.end(&end);
        }
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
            state: Mutex::new(State::new(Arc::new(JoinBudget::new(usize::MAX)))),
            idle: Notify::new(),
            joined: Notify::new(),
        };
        let client = ClientKey::new(std::net::Ipv4Addr::LOCALHOST.into(), None);
        lock(&ch.state).viewers = (0..viewers).map(|_| Arc::new(Queue::new(client))).collect();
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
        st.viewers.iter().map(|q| q.drain()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ts::PACKET;

    pub(super) fn packet(head: &[u8]) -> Vec<u8> {
        let mut p = head.to_vec();
        p.resize(PACKET, 0xff);
        p
    }

    /// PAT, PMT (H.264 on 0x100), a keyframe with `random_access_indicator`, two more packets.
    pub(super) fn gop() -> Vec<u8> {
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
    pub(super) fn middle() -> Vec<u8> {
        [
            packet(&[0x47, 0x01, 0x00, 0x10]),
            packet(&[0x47, 0x01, 0x00, 0x11]),
        ]
        .concat()
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
