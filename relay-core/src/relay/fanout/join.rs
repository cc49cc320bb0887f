//! Where a joining viewer starts: the sans-IO join cache of one shared channel.
//!
//! The reader hands every chunk to [`JoinCache::push`] with what it holds (a PAT at its start, the
//! keyframe that makes the latest PAT a random-access point). The cache keeps the chunks since
//! the latest random-access point, so a viewer joining now gets PAT, PMT and a keyframe first
//! and plays at once and clean. Until the channel's first random-access point it keeps the
//! stream from its start instead (tables such as the SDT may come before the first PAT), so a
//! viewer arriving a moment after the first gets exactly the same bytes.
//!
//! Every channel's cache draws on one [`JoinBudget`] (`join-cache-bytes`): a thousand channels
//! with one viewer each must not hold a group of pictures each. A channel that is not *hot*
//! (fewer than two viewers and no join for a while) may fill only part of the budget
//! ([`COLD_SHARE_PERCENT`]); a cache that does not fit is dropped and tried again at the next
//! picture group. A joiner of a channel without a cache waits for the next random-access point.

use super::{JOIN_CACHE_MAX_BYTES, START_CACHE_MAX_BYTES};
use crate::stats::Stats;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The share (in percent) of the budget channels that are not hot may hold together.
pub const COLD_SHARE_PERCENT: usize = 50;

/// The bytes all join caches of an engine may hold together.
#[derive(Debug, Default)]
pub struct JoinBudget {
    limit: AtomicUsize,
    /// Bytes held now; also the `join_cache_bytes` counter of the stats.
    stats: Arc<Stats>,
}

impl JoinBudget {
    /// A budget of `limit` bytes, counted in `stats`.
    pub fn with_stats(limit: usize, stats: Arc<Stats>) -> JoinBudget {
        JoinBudget {
            limit: AtomicUsize::new(limit),
            stats,
        }
    }

    /// A budget of `limit` bytes with stats of its own (tests, benchmarks).
    pub fn new(limit: usize) -> JoinBudget {
        JoinBudget::with_stats(limit, Arc::default())
    }

    /// A new limit (held caches above it shrink as they move on).
    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// Bytes held by all caches now.
    pub fn held(&self) -> usize {
        self.stats.join_cache_bytes.load(Ordering::Relaxed) as usize
    }

    /// Takes `n` bytes if they fit (a cold channel only within its share).
    fn charge(&self, n: usize, hot: bool) -> bool {
        let limit = self.limit.load(Ordering::Relaxed);
        let limit = if hot {
            limit
        } else {
            limit / 100 * COLD_SHARE_PERCENT
        };
        let n = n as u64;
        self.stats
            .join_cache_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                (held + n <= limit as u64).then_some(held + n)
            })
            .is_ok()
    }

    fn release(&self, n: usize) {
        self.stats
            .join_cache_bytes
            .fetch_sub(n as u64, Ordering::Relaxed);
    }
}

/// The join cache.
#[derive(Debug)]
pub(super) struct JoinCache {
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
    /// Where `cache` and `pending` are charged.
    budget: Arc<JoinBudget>,
    /// Bytes charged to the budget now (`cache_bytes + pending_bytes`).
    charged: usize,
}

/// What [`JoinCache::push`] learnt from a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pushed {
    /// No random-access point was known before this chunk: a waiting viewer may resume here.
    pub any: bool,
    /// This chunk completed a random-access point: waiting viewers start from the cache.
    pub random_access: bool,
}

impl JoinCache {
    /// A cache at the start of a stream: joiners get it from its first byte.
    pub(super) fn new(budget: Arc<JoinBudget>) -> JoinCache {
        JoinCache {
            budget,
            charged: 0,
            cache: VecDeque::new(),
            cache_bytes: 0,
            cache_ok: true,
            snapshot: None,
            pending: VecDeque::new(),
            pending_bytes: 0,
            pending_ok: false,
            seen_ra: false,
        }
    }

    /// A random-access point has been seen.
    pub(super) fn seen_random_access(&self) -> bool {
        self.seen_ra
    }

    /// The body is not TS: there is no place to join but the live edge.
    pub(super) fn raw(&mut self) {
        if self.cache_ok {
            self.drop_cache();
        }
        self.snapshot = None;
    }

    /// The reader moved to another upstream: nothing cached belongs to it.
    pub(super) fn switched(&mut self) {
        self.drop_cache();
        self.drop_pending();
        self.snapshot = None;
    }

    fn drop_cache(&mut self) {
        self.cache.clear();
        self.cache_ok = false;
        self.cache_bytes = 0;
        self.settle();
    }

    fn drop_pending(&mut self) {
        self.pending.clear();
        self.pending_ok = false;
        self.pending_bytes = 0;
        self.settle();
    }

    /// Brings the budget to what is held now (only ever gives back).
    fn settle(&mut self) {
        let held = self.cache_bytes + self.pending_bytes;
        if held < self.charged {
            self.budget.release(self.charged - held);
            self.charged = held;
        }
    }

    /// Records one chunk: `pat` if it starts with a PAT, `ra` if it holds the keyframe that makes
    /// the latest PAT a random-access point. `hot`: the channel has several viewers or a recent
    /// join (it may use the whole budget).
    pub(super) fn push(&mut self, chunk: &Bytes, pat: bool, ra: bool, hot: bool) -> Pushed {
        self.snapshot = None;
        let any = !self.seen_ra;
        if pat {
            self.drop_pending();
            self.pending_ok = true;
        }
        let want = chunk.len() * (usize::from(self.pending_ok) + usize::from(self.cache_ok));
        if want > 0 && !self.budget.charge(want, hot) {
            // No room: this channel keeps nothing until its next picture group.
            self.drop_cache();
            self.drop_pending();
        } else {
            self.charged += want;
        }
        if self.pending_ok {
            self.pending.push_back(chunk.clone());
            self.pending_bytes += chunk.len();
            if self.pending_bytes > JOIN_CACHE_MAX_BYTES {
                self.drop_pending();
            }
        }
        if self.cache_ok {
            self.cache.push_back(chunk.clone());
            self.cache_bytes += chunk.len();
            let max = if self.seen_ra {
                JOIN_CACHE_MAX_BYTES
            } else {
                START_CACHE_MAX_BYTES
            };
            if self.cache_bytes > max {
                self.drop_cache();
            }
        }
        let random_access = ra && self.pending_ok;
        if random_access {
            // The first random-access point keeps a cache that still holds the stream from its
            // start: joiners in the first group of pictures get exactly what the first viewer
            // got.
            if self.seen_ra || !self.cache_ok {
                // The new cache shares the pending chunks: charged once more, as they are
                // counted in both (a conservative count).
                self.drop_cache();
                if self.budget.charge(self.pending_bytes, hot) {
                    self.charged += self.pending_bytes;
                    self.cache.clone_from(&self.pending);
                    self.cache_bytes = self.pending_bytes;
                    self.cache_ok = true;
                }
            } else {
                self.cache_ok = true;
            }
            self.seen_ra = true;
        }
        Pushed { any, random_access }
    }

    /// Where a joiner starts: the cached chunks (shared) and their bytes, when there are some and
    /// they fit in `max_bytes`.
    pub(super) fn start(&mut self, max_bytes: usize) -> Option<(Arc<[Bytes]>, usize)> {
        if !self.cache_ok || self.cache_bytes > max_bytes || self.cache.is_empty() {
            return None;
        }
        let cache = &self.cache;
        let snap = self
            .snapshot
            .get_or_insert_with(|| cache.iter().cloned().collect());
        Some((snap.clone(), self.cache_bytes))
    }

    /// Forgets everything (the channel ended).
    pub(super) fn clear(&mut self) {
        self.drop_cache();
        self.drop_pending();
        self.snapshot = None;
    }
}

impl Drop for JoinCache {
    fn drop(&mut self) {
        self.budget.release(self.charged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(n: usize) -> Bytes {
        Bytes::from(vec![0x47; n])
    }

    #[test]
    fn joiners_get_the_start_until_a_random_access_point_then_the_latest_one() {
        let mut j = JoinCache::new(Arc::new(JoinBudget::new(usize::MAX)));
        let sdt = chunk(188);
        assert_eq!(
            j.push(&sdt, false, false, true),
            Pushed {
                any: true,
                random_access: false
            }
        );
        let gop1 = chunk(376);
        assert!(j.push(&gop1, true, true, true).random_access);
        let (start, bytes) = j.start(usize::MAX).unwrap();
        assert_eq!((start.len(), bytes), (2, 564), "the stream from its start");
        let gop2 = chunk(564);
        let p = j.push(&gop2, true, true, true);
        assert!(p.random_access && !p.any);
        let (start, bytes) = j.start(usize::MAX).unwrap();
        assert_eq!(
            (start.len(), bytes),
            (1, 564),
            "the latest random-access point"
        );
        assert!(j.start(100).is_none(), "too large for the viewer's queue");
    }

    #[test]
    fn a_switch_or_a_raw_body_leaves_nothing_to_join() {
        let mut j = JoinCache::new(Arc::new(JoinBudget::new(usize::MAX)));
        j.push(&chunk(188), true, true, true);
        j.switched();
        assert!(j.start(usize::MAX).is_none());
        assert!(j.seen_random_access());
        let p = j.push(&chunk(188), true, true, true);
        assert!(p.random_access);
        assert!(j.start(usize::MAX).is_some());
        j.raw();
        assert!(j.start(usize::MAX).is_none());
    }

    #[test]
    fn a_start_beyond_its_bound_is_dropped() {
        let mut j = JoinCache::new(Arc::new(JoinBudget::new(usize::MAX)));
        j.push(&chunk(START_CACHE_MAX_BYTES + 1), false, false, true);
        assert!(j.start(usize::MAX).is_none());
    }

    #[test]
    fn caches_share_one_budget_and_cold_channels_only_part_of_it() {
        // Half of 1000 bytes for cold channels: two 188-byte chunks fit, a third does not.
        let budget = Arc::new(JoinBudget::new(1000));
        let mut hot = JoinCache::new(budget.clone());
        let mut cold = JoinCache::new(budget.clone());
        for _ in 0..2 {
            cold.push(&chunk(188), false, false, false);
        }
        assert!(cold.start(usize::MAX).is_some());
        assert_eq!(budget.held(), 2 * 188);
        cold.push(&chunk(188), false, false, false);
        assert!(cold.start(usize::MAX).is_none(), "over its share: dropped");
        assert_eq!(budget.held(), 0);
        // A hot channel may use it all (five chunks), then drops too when full.
        for _ in 0..5 {
            hot.push(&chunk(188), false, false, true);
        }
        assert!(hot.start(usize::MAX).is_some());
        assert_eq!(budget.held(), 5 * 188);
        hot.push(&chunk(188), false, false, true);
        assert!(hot.start(usize::MAX).is_none());
        assert_eq!(budget.held(), 0);
        // What a channel holds goes back when it ends.
        let mut again = JoinCache::new(budget.clone());
        again.push(&chunk(188), true, true, true);
        assert!(budget.held() > 0);
        drop(again);
        assert_eq!(budget.held(), 0);
    }
}
