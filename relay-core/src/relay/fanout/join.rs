//! Where a joining viewer starts: the sans-IO join cache of one shared channel.
//!
//! The reader hands every chunk to [`JoinCache::push`] with what it holds (a PAT at its start, the
//! keyframe that makes the latest PAT a random-access point). The cache keeps the chunks since
//! the latest random-access point, so a viewer joining now gets PAT, PMT and a keyframe first
//! and plays at once and clean. Until the channel's first random-access point it keeps the
//! stream from its start instead (tables such as the SDT may come before the first PAT), so a
//! viewer arriving a moment after the first gets exactly the same bytes.

use super::{JOIN_CACHE_MAX_BYTES, START_CACHE_MAX_BYTES};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;

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
    pub(super) fn new() -> JoinCache {
        JoinCache {
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
            self.cache.clear();
            self.cache_ok = false;
        }
        self.snapshot = None;
    }

    /// The reader moved to another upstream: nothing cached belongs to it.
    pub(super) fn switched(&mut self) {
        self.cache.clear();
        self.cache_ok = false;
        self.pending.clear();
        self.pending_ok = false;
        self.snapshot = None;
    }

    /// Records one chunk: `pat` if it starts with a PAT, `ra` if it holds the keyframe that makes
    /// the latest PAT a random-access point.
    pub(super) fn push(&mut self, chunk: &Bytes, pat: bool, ra: bool) -> Pushed {
        self.snapshot = None;
        let any = !self.seen_ra;
        if pat {
            self.pending.clear();
            self.pending_bytes = 0;
            self.pending_ok = true;
        }
        if self.pending_ok {
            self.pending.push_back(chunk.clone());
            self.pending_bytes += chunk.len();
            if self.pending_bytes > JOIN_CACHE_MAX_BYTES {
                self.pending.clear();
                self.pending_ok = false;
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
                self.cache.clear();
                self.cache_ok = false;
            }
        }
        let random_access = ra && self.pending_ok;
        if random_access {
            // The first random-access point keeps a cache that still holds the stream from its
            // start: joiners in the first group of pictures get exactly what the first viewer
            // got.
            if self.seen_ra || !self.cache_ok {
                self.cache.clone_from(&self.pending);
                self.cache_bytes = self.pending_bytes;
            }
            self.cache_ok = true;
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
        self.cache.clear();
        self.pending.clear();
        self.snapshot = None;
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
        let mut j = JoinCache::new();
        let sdt = chunk(188);
        assert_eq!(
            j.push(&sdt, false, false),
            Pushed {
                any: true,
                random_access: false
            }
        );
        let gop1 = chunk(376);
        assert!(j.push(&gop1, true, true).random_access);
        let (start, bytes) = j.start(usize::MAX).unwrap();
        assert_eq!((start.len(), bytes), (2, 564), "the stream from its start");
        let gop2 = chunk(564);
        let p = j.push(&gop2, true, true);
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
        let mut j = JoinCache::new();
        j.push(&chunk(188), true, true);
        j.switched();
        assert!(j.start(usize::MAX).is_none());
        assert!(j.seen_random_access());
        let p = j.push(&chunk(188), true, true);
        assert!(p.random_access);
        assert!(j.start(usize::MAX).is_some());
        j.raw();
        assert!(j.start(usize::MAX).is_none());
    }

    #[test]
    fn a_start_beyond_its_bound_is_dropped() {
        let mut j = JoinCache::new();
        j.push(&chunk(START_CACHE_MAX_BYTES + 1), false, false);
        assert!(j.start(usize::MAX).is_none());
    }
}
