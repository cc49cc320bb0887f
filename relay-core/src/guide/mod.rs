//! The guide index: programmes of the catalog's channels, kept compact in memory, with now/next
//! and event search.
//!
//! # Building
//!
//! A [`Builder`] starts from the catalog, as a list of [`CatalogChannel`]s (the lead's catalog
//! knows them; the guide only needs ids, `tvg-id`, `tvg-name`, name and `tvg-shift`). It is then
//! fed one or more XMLTV sources through [`Builder::ingest`], which drives a
//! [`proto::xmltv::Reader`](crate::proto::xmltv::Reader) with the builder as its
//! [`Select`]: programmes of guide channels no catalog channel wants, or outside the window,
//! are skipped unparsed. [`Builder::finish`] sorts, fills missing stops and freezes the
//! [`Guide`].
//!
//! # Matching
//!
//! Each catalog channel takes the guide channel found first by, in order of priority:
//! 1. `tvg-id` equal to the guide channel id, case-insensitively (also for programmes whose
//!    channel has no `<channel>` definition);
//! 2. a `<display-name>` equal to `tvg-name` or to the channel name (case-insensitive, trimmed);
//! 3. when [`BuildOptions::normalised`] is on, the same with both sides [`normalise`]d
//!    (accents folded, `HD`/`FHD`/`UHD`/`SD` suffix dropped, punctuation and spaces removed).
//!
//! A better match found later (a `tvg-id` match after a name match) replaces a worse one. One
//! guide channel may serve several catalog channels (SD and HD variants), each with its own
//! shift. Guide channels no catalog channel takes are counted ([`GuideStats::unmatched`]) and
//! the first [`MAX_UNMATCHED_LISTED`] listed for a debug log.
//!
//! # Times
//!
//! Programmes are stored in the guide's own times; a catalog channel's `tvg-shift` (hours,
//! fractional or negative) is applied on the way out, so two catalog channels sharing one guide
//! channel can be shifted differently. Sources for the same guide channel id are merged; a
//! second programme with the same start on the same channel is dropped as a duplicate. A
//! missing stop becomes the next programme's start.
//!
//! # Memory
//!
//! A kept programme is a 24-byte record plus one blob of its fields in a shared arena, strings
//! up to [`store::INTERN_MAX_BYTES`] interned (titles, categories, names, languages repeat).
//! [`GuideStats::index_bytes`] against [`GuideStats::text_bytes`] tells the overhead.

mod fold;
mod store;

pub use fold::{fold, fold_into, normalise};
pub use store::{INTERN_MAX_BYTES, MAX_ARENA_BYTES};

use crate::proto::xmltv::{Channel, Programme, Reader, Select, Step, XmltvError, in_window};
use std::collections::HashMap;
use store::{Rec, Store};

/// How many unmatched guide channel ids [`GuideStats::unmatched_ids`] lists.
pub const MAX_UNMATCHED_LISTED: usize = 1000;
/// Most terms a search query is split into; further words are ignored.
pub const MAX_QUERY_TERMS: usize = 8;
/// Largest `tvg-shift` honoured, in hours either way; larger values are clamped.
pub const MAX_SHIFT_HOURS: f64 = 24.0;

/// One catalog channel as the guide needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogChannel {
    /// The catalog's stable channel id: what lookups and hits name.
    pub channel_id: String,
    /// `tvg-id`, empty when the playlist has none.
    pub tvg_id: String,
    /// `tvg-name`, empty when none.
    pub tvg_name: String,
    /// The channel name (the `#EXTINF` title).
    pub name: String,
    /// `tvg-shift` in hours (the entry's, else the playlist header's), e.g. `1`, `-0.5`.
    pub shift_hours: f64,
}

/// How a [`Builder`] keeps programmes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildOptions {
    /// Keep programmes airing in `[from, to)` (Unix seconds, guide times widened by the largest
    /// shift).
    pub from: i64,
    /// See `from`.
    pub to: i64,
    /// Also match names in their [`normalise`]d form.
    pub normalised: bool,
}

impl BuildOptions {
    /// The default window around `now`: one day back, seven days ahead; normalised matching on.
    pub fn around(now: i64) -> Self {
        BuildOptions {
            from: now - 86_400,
            to: now + 7 * 86_400,
            normalised: true,
        }
    }
}

/// Counters of a build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuideStats {
    /// Distinct guide channel ids met (defined or named by programmes).
    pub guide_channels: usize,
    /// Guide channels no catalog channel took.
    pub unmatched: usize,
    /// The first [`MAX_UNMATCHED_LISTED`] of them.
    pub unmatched_ids: Vec<String>,
    /// Catalog channels with a guide channel.
    pub catalog_matched: usize,
    /// Catalog channels without one.
    pub catalog_unmatched: usize,
    /// Programmes kept in the index.
    pub programmes: usize,
    /// Programmes dropped as duplicates (same channel and start).
    pub duplicates: usize,
    /// Programmes dropped because the arena reached [`MAX_ARENA_BYTES`].
    pub dropped_full: usize,
    /// Missing stops filled with the next programme's start.
    pub stops_filled: usize,
    /// Text held by the kept programmes (every string of [`Programme::text_bytes`]).
    pub text_bytes: usize,
    /// Heap bytes of the whole index (records, arena, channel and catalog tables).
    pub index_bytes: usize,
}

/// Where a catalog channel gets its guide.
#[derive(Debug, Clone)]
struct Link {
    channel_id: Box<str>,
    /// Guide channel index.
    gch: u32,
    shift: i64,
}

#[derive(Debug)]
struct GuideChannel {
    id: Box<str>,
    def: Option<Channel>,
    /// Records `[start, end)` after the build.
    range: (u32, u32),
}

/// A catalog channel during matching.
#[derive(Debug)]
struct Cat {
    channel_id: Box<str>,
    shift: i64,
    /// (priority, guide channel): lower priority wins.
    best: Option<(u8, u32)>,
}

/// The matching state; it is the reader's [`Select`].
#[derive(Debug)]
struct Matcher {
    cats: Vec<Cat>,
    by_tvg_id: HashMap<String, Vec<u32>>,
    by_name: HashMap<String, Vec<u32>>,
    by_norm: HashMap<String, Vec<u32>>,
    /// Guide channel id (exact) → index in `channels`, `None` when it matched nothing.
    ids: HashMap<Box<str>, Option<u32>>,
    channels: Vec<GuideChannel>,
    /// Catalog channels currently taking each guide channel.
    takers: Vec<u32>,
    opts: BuildOptions,
    /// The window widened by the largest shift.
    from: i64,
    to: i64,
}

fn lower(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Matcher {
    fn gch(&mut self, id: &str) -> u32 {
        if let Some(Some(g)) = self.ids.get(id) {
            return *g;
        }
        let g = self.channels.len() as u32;
        self.channels.push(GuideChannel {
            id: id.into(),
            def: None,
            range: (0, 0),
        });
        self.takers.push(0);
        self.ids.insert(id.into(), Some(g));
        g
    }

    fn offer(&mut self, cats: &[u32], prio: u8, g: u32) {
        for &c in cats {
            let cat = &mut self.cats[c as usize];
            if cat.best.is_some_and(|(p, _)| p <= prio) {
                continue;
            }
            if let Some((_, old)) = cat.best {
                self.takers[old as usize] -= 1;
            }
            cat.best = Some((prio, g));
            self.takers[g as usize] += 1;
        }
    }

    /// The catalog channels that would take guide channel `id` with `names`, by priority.
    fn candidates(&self, id: &str, names: &[&str]) -> Vec<(u8, Vec<u32>)> {
        let mut out = Vec::new();
        if let Some(c) = self.by_tvg_id.get(&lower(id)) {
            out.push((0, c.clone()));
        }
        for n in names {
            if let Some(c) = self.by_name.get(&lower(n)) {
                out.push((1, c.clone()));
            }
        }
        if self.opts.normalised {
            for n in names {
                let n = normalise(n);
                if let Some(c) = self.by_norm.get(&n).filter(|_| !n.is_empty()) {
                    out.push((2, c.clone()));
                }
            }
        }
        out
    }

    fn add_channel(&mut self, c: Channel) {
        let names: Vec<&str> = c.display_names.iter().map(|t| t.value.as_str()).collect();
        let found = self.candidates(&c.id, &names);
        if found.is_empty() {
            self.ids.entry(c.id.as_str().into()).or_insert(None);
            return;
        }
        let g = self.gch(&c.id);
        for (prio, cats) in found {
            self.offer(&cats, prio, g);
        }
        let ch = &mut self.channels[g as usize];
        if ch.def.is_none() {
            ch.def = Some(c);
        }
    }

    /// The guide channel a programme on `id` goes to, if any catalog channel takes it.
    fn wanted(&mut self, id: &str) -> Option<u32> {
        match self.ids.get(id) {
            Some(Some(g)) => return (self.takers[*g as usize] > 0).then_some(*g),
            Some(None) => return None,
            None => {}
        }
        // A channel without a definition: only its id can match.
        match self.by_tvg_id.get(&lower(id)).cloned() {
            Some(cats) => {
                let g = self.gch(id);
                self.offer(&cats, 0, g);
                (self.takers[g as usize] > 0).then_some(g)
            }
            None => {
                self.ids.insert(id.into(), None);
                None
            }
        }
    }
}

impl Select for Matcher {
    fn programme(&mut self, channel: &str, start: i64, stop: Option<i64>) -> bool {
        in_window(start, stop, self.from, self.to) && self.wanted(channel).is_some()
    }
}

/// Builds a [`Guide`]. See the [module docs](self).
#[derive(Debug)]
pub struct Builder {
    m: Matcher,
    store: Store,
    recs: Vec<Rec>,
    dropped_full: usize,
}

impl Builder {
    /// A builder for `catalog`.
    pub fn new(catalog: &[CatalogChannel], opts: BuildOptions) -> Self {
        let mut m = Matcher {
            cats: Vec::with_capacity(catalog.len()),
            by_tvg_id: HashMap::new(),
            by_name: HashMap::new(),
            by_norm: HashMap::new(),
            ids: HashMap::new(),
            channels: Vec::new(),
            takers: Vec::new(),
            opts,
            from: opts.from,
            to: opts.to,
        };
        let mut widest = 0;
        for (i, c) in catalog.iter().enumerate() {
            let i = i as u32;
            let hours = if c.shift_hours.is_finite() {
                c.shift_hours.clamp(-MAX_SHIFT_HOURS, MAX_SHIFT_HOURS)
            } else {
                0.0
            };
            let shift = (hours * 3600.0).round() as i64;
            widest = widest.max(shift.abs());
            m.cats.push(Cat {
                channel_id: c.channel_id.as_str().into(),
                shift,
                best: None,
            });
            let add = |map: &mut HashMap<String, Vec<u32>>, key: String| {
                if !key.is_empty() {
                    let v = map.entry(key).or_default();
                    if v.last() != Some(&i) {
                        v.push(i);
                    }
                }
            };
            add(&mut m.by_tvg_id, lower(&c.tvg_id));
            add(&mut m.by_name, lower(&c.tvg_name));
            add(&mut m.by_name, lower(&c.name));
            if opts.normalised {
                add(&mut m.by_norm, normalise(&c.tvg_name));
                add(&mut m.by_norm, normalise(&c.name));
            }
        }
        m.from = opts.from.saturating_sub(widest);
        m.to = opts.to.saturating_add(widest);
        Builder {
            m,
            store: Store::new(),
            recs: Vec::new(),
            dropped_full: 0,
        }
    }

    /// Drains `reader` (fed by the caller) into the index: `Ok(false)` when it needs more
    /// input, `Ok(true)` at its clean end. On an error the programmes read so far stay in the
    /// builder; a caller that wants all-or-nothing starts a new builder.
    pub fn ingest(&mut self, reader: &mut Reader) -> Result<bool, XmltvError> {
        loop {
            match reader.next(&mut self.m)? {
                Step::Channel(c) => self.add_channel(c),
                Step::Programme(p) => self.add_programme(&p),
                Step::NeedMore => return Ok(false),
                Step::End => return Ok(true),
            }
        }
    }

    /// Adds a channel definition (what [`ingest`](Self::ingest) does with each).
    pub fn add_channel(&mut self, c: Channel) {
        self.m.add_channel(c);
    }

    /// Adds a programme if a catalog channel takes its channel and it is in the window.
    pub fn add_programme(&mut self, p: &Programme) {
        if !self.m.programme(&p.channel, p.start, p.stop) {
            return;
        }
        let Some(g) = self.m.wanted(&p.channel) else {
            return;
        };
        let Some((blob, len)) = self.store.add(p) else {
            self.dropped_full += 1;
            return;
        };
        let dur = match p.stop {
            Some(stop) if stop >= p.start && stop - p.start < i64::from(Rec::NO_STOP) => {
                (stop - p.start) as u32
            }
            _ => Rec::NO_STOP,
        };
        self.recs.push(Rec {
            start: p.start,
            dur,
            ch: g,
            blob,
            len,
        });
    }

    /// Heap bytes held so far (to watch a build).
    pub fn heap_bytes(&self) -> usize {
        self.store.heap_bytes() + self.recs.capacity() * std::mem::size_of::<Rec>()
    }

    /// Sorts, deduplicates, fills missing stops and freezes the index.
    pub fn finish(self) -> Guide {
        let Builder {
            m,
            mut store,
            mut recs,
            dropped_full,
        } = self;
        let Matcher {
            cats,
            mut channels,
            takers,
            ids,
            ..
        } = m;
        let mut stats = GuideStats {
            dropped_full,
            ..GuideStats::default()
        };
        // Records of guide channels nobody takes any more (a better match came later) go.
        recs.retain(|r| takers[r.ch as usize] > 0);
        recs.sort_unstable_by_key(|r| (r.ch, r.start, r.blob));
        let before = recs.len();
        recs.dedup_by_key(|r| (r.ch, r.start));
        stats.duplicates = before - recs.len();
        for i in 0..recs.len() {
            if recs[i].dur == Rec::NO_STOP
                && let Some(next) = recs.get(i + 1).filter(|n| n.ch == recs[i].ch)
            {
                let gap = next.start - recs[i].start;
                if gap > 0 && gap < i64::from(Rec::NO_STOP) {
                    recs[i].dur = gap as u32;
                    stats.stops_filled += 1;
                }
            }
        }
        recs.shrink_to_fit();
        store.freeze();

        // Keep only taken guide channels, renumbered.
        let mut renumber = vec![u32::MAX; channels.len()];
        let mut kept = Vec::new();
        for (g, ch) in channels.drain(..).enumerate() {
            if takers[g] > 0 {
                renumber[g] = kept.len() as u32;
                kept.push(ch);
            } else if stats.unmatched_ids.len() < MAX_UNMATCHED_LISTED {
                stats.unmatched_ids.push(ch.id.to_string());
            }
        }
        for (id, g) in &ids {
            if g.is_none() && stats.unmatched_ids.len() < MAX_UNMATCHED_LISTED {
                stats.unmatched_ids.push(id.to_string());
            }
        }
        stats.unmatched_ids.sort();
        stats.guide_channels = ids.len();
        stats.unmatched = ids.len() - kept.len();
        for r in &mut recs {
            r.ch = renumber[r.ch as usize];
        }
        let mut start = 0;
        while start < recs.len() {
            let ch = recs[start].ch;
            let end = start + recs[start..].iter().take_while(|r| r.ch == ch).count();
            kept[ch as usize].range = (start as u32, end as u32);
            start = end;
        }

        let mut links: Vec<Link> = Vec::new();
        for c in cats {
            match c.best {
                Some((_, g)) => {
                    stats.catalog_matched += 1;
                    links.push(Link {
                        channel_id: c.channel_id,
                        gch: renumber[g as usize],
                        shift: c.shift,
                    });
                }
                None => stats.catalog_unmatched += 1,
            }
        }
        links.sort_by_key(|l| l.gch);
        let by_id: HashMap<Box<str>, u32> = links
            .iter()
            .enumerate()
            .map(|(i, l)| (l.channel_id.clone(), i as u32))
            .collect();

        stats.programmes = recs.len();
        stats.text_bytes = recs
            .iter()
            .map(|r| store::text_bytes(&store.arena, r) + kept[r.ch as usize].id.len())
            .sum();
        let mut guide = Guide {
            arena: store.arena,
            recs,
            channels: kept,
            links,
            by_id,
            stats,
        };
        guide.stats.index_bytes = guide.heap_bytes();
        guide
    }
}

/// A programme on one catalog channel: what [`Guide::programme`] rebuilds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgrammeId {
    rec: u32,
    link: u32,
}

/// A programme as now/next and search return it: times shifted for its catalog channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Airing<'a> {
    /// The catalog channel id.
    pub channel_id: &'a str,
    /// Start, Unix seconds.
    pub start: i64,
    /// Stop, Unix seconds (`None` only for a channel's last programme without one).
    pub stop: Option<i64>,
    /// The first title.
    pub title: &'a str,
    /// Handle for the full programme.
    pub id: ProgrammeId,
}

/// What a channel airs at an instant, and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NowNext<'a> {
    /// The programme airing now, if any.
    pub now: Option<Airing<'a>>,
    /// The next one to start.
    pub next: Option<Airing<'a>>,
}

/// The frozen guide index. See the [module docs](self).
#[derive(Debug)]
pub struct Guide {
    arena: Vec<u8>,
    /// Sorted by (guide channel, start).
    recs: Vec<Rec>,
    channels: Vec<GuideChannel>,
    /// Catalog channels with a guide channel, sorted by guide channel.
    links: Vec<Link>,
    by_id: HashMap<Box<str>, u32>,
    stats: GuideStats,
}

impl Guide {
    /// An empty guide (before the first build).
    pub fn empty() -> Guide {
        Builder::new(&[], BuildOptions::around(0)).finish()
    }

    /// Counters of the build.
    pub fn stats(&self) -> &GuideStats {
        &self.stats
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        let channels: usize = self
            .channels
            .iter()
            .map(|c| {
                c.id.len()
                    + c.def.as_ref().map_or(0, |d| {
                        std::mem::size_of::<Channel>()
                            + d.id.len()
                            + d.display_names
                                .iter()
                                .map(|t| t.value.len() + 32)
                                .sum::<usize>()
                            + d.icons.iter().map(|i| i.src.len() + 64).sum::<usize>()
                    })
            })
            .sum();
        let links: usize = self.links.iter().map(|l| l.channel_id.len()).sum();
        self.arena.capacity()
            + self.recs.capacity() * std::mem::size_of::<Rec>()
            + self.channels.capacity() * std::mem::size_of::<GuideChannel>()
            + channels
            + self.links.capacity() * std::mem::size_of::<Link>()
            + 2 * links
            + self.by_id.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1)
    }

    fn link(&self, channel_id: &str) -> Option<(u32, &Link)> {
        let i = *self.by_id.get(channel_id)?;
        Some((i, &self.links[i as usize]))
    }

    fn recs_of(&self, gch: u32) -> &[Rec] {
        let (a, b) = self.channels[gch as usize].range;
        &self.recs[a as usize..b as usize]
    }

    fn airing(&self, link_ix: u32, rec_ix: usize) -> Airing<'_> {
        let link = &self.links[link_ix as usize];
        let r = &self.recs[rec_ix];
        Airing {
            channel_id: &link.channel_id,
            start: r.start + link.shift,
            stop: r.stop().map(|s| s + link.shift),
            title: store::title(&self.arena, r),
            id: ProgrammeId {
                rec: rec_ix as u32,
                link: link_ix,
            },
        }
    }

    /// The guide channel id a catalog channel was matched to.
    pub fn guide_channel_id(&self, channel_id: &str) -> Option<&str> {
        let (_, l) = self.link(channel_id)?;
        Some(&self.channels[l.gch as usize].id)
    }

    /// The guide's `<channel>` definition for a catalog channel (display names, icons), if the
    /// guide had one.
    pub fn channel(&self, channel_id: &str) -> Option<&Channel> {
        let (_, l) = self.link(channel_id)?;
        self.channels[l.gch as usize].def.as_ref()
    }

    /// What `channel_id` airs at `now` and next (`None` for a channel without guide).
    pub fn now_next(&self, channel_id: &str, now: i64) -> Option<NowNext<'_>> {
        let (li, l) = self.link(channel_id)?;
        let recs = self.recs_of(l.gch);
        let base = self.channels[l.gch as usize].range.0 as usize;
        let t = now - l.shift;
        let i = recs.partition_point(|r| r.start <= t);
        let now = i
            .checked_sub(1)
            .filter(|&j| recs[j].stop().is_none_or(|s| s > t))
            .map(|j| self.airing(li, base + j));
        let next = (i < recs.len()).then(|| self.airing(li, base + i));
        Some(NowNext { now, next })
    }

    /// The full programme behind an id, times shifted for its catalog channel, `channel` set to
    /// the guide channel id.
    pub fn programme(&self, id: ProgrammeId) -> Option<Programme> {
        let r = self.recs.get(id.rec as usize)?;
        let l = self.links.get(id.link as usize)?;
        let mut p = store::decode(&self.arena, r);
        p.channel = self.channels[r.ch as usize].id.to_string();
        p.start = r.start + l.shift;
        p.stop = r.stop().map(|s| s + l.shift);
        Some(p)
    }

    /// Every programme of a catalog channel in start order, shifted (for writing `/epg.xml`).
    pub fn programmes<'a>(&'a self, channel_id: &str) -> impl Iterator<Item = Programme> + 'a {
        let (li, range) = match self.link(channel_id) {
            Some((li, l)) => (li, self.channels[l.gch as usize].range),
            None => (0, (0, 0)),
        };
        (range.0..range.1).filter_map(move |rec| self.programme(ProgrammeId { rec, link: li }))
    }

    /// Programmes airing in `[from, to)` whose title, sub-title, description or category
    /// contains every word of `query` (case- and accent-insensitive: "tele" finds "Télé"),
    /// ordered by start then channel, at most `limit`. An empty query matches everything (with
    /// `from == to == now`: what is on now).
    pub fn search(&self, query: &str, from: i64, to: i64, limit: usize) -> Vec<Airing<'_>> {
        self.search_by(query, from, to, limit, |_| true)
    }

    /// [`search`](Self::search) over the catalog channels `keep` accepts (a group, say).
    pub fn search_by(
        &self,
        query: &str,
        from: i64,
        to: i64,
        limit: usize,
        mut keep: impl FnMut(&str) -> bool,
    ) -> Vec<Airing<'_>> {
        let folded = fold(query);
        let terms: Vec<memchr::memmem::Finder<'_>> = folded
            .split_whitespace()
            .take(MAX_QUERY_TERMS)
            .map(memchr::memmem::Finder::new)
            .collect();
        let to = to.max(from.saturating_add(1));
        let mut hits = Vec::new();
        let mut scratch = String::new();
        // Catalog channels sharing a guide channel (consecutive in `links`) reuse its results.
        let mut memo: HashMap<usize, bool> = HashMap::new();
        let mut memo_gch = u32::MAX;
        for (li, l) in self.links.iter().enumerate() {
            if !keep(&l.channel_id) {
                continue;
            }
            let shared = self.links.get(li + 1).is_some_and(|n| n.gch == l.gch)
                || (li > 0 && self.links[li - 1].gch == l.gch);
            if l.gch != memo_gch {
                memo.clear();
                memo_gch = l.gch;
            }
            let recs = self.recs_of(l.gch);
            let base = self.channels[l.gch as usize].range.0 as usize;
            let (f, t) = (from - l.shift, to - l.shift);
            let mut i = recs.partition_point(|r| r.start < f);
            while i > 0 && recs[i - 1].end() > f {
                i -= 1;
            }
            for (j, r) in recs.iter().enumerate().skip(i) {
                if r.start >= t {
                    break;
                }
                if !in_window(r.start, r.stop(), f, t) {
                    continue;
                }
                let rec_ix = base + j;
                let mut check = || terms.is_empty() || self.matches(r, &terms, &mut scratch);
                let matched = if shared {
                    *memo.entry(rec_ix).or_insert_with(check)
                } else {
                    check()
                };
                if matched {
                    hits.push(self.airing(li as u32, rec_ix));
                }
            }
        }
        hits.sort_by(|a, b| (a.start, a.channel_id).cmp(&(b.start, b.channel_id)));
        hits.truncate(limit);
        hits
    }

    fn matches(&self, r: &Rec, terms: &[memchr::memmem::Finder<'_>], scratch: &mut String) -> bool {
        let mut found = 0u32;
        let all = (1u32 << terms.len()) - 1;
        let mut f = store::Fields::new(&self.arena, r);
        while let Some((tag, s)) = f.next_field() {
            if !matches!(
                tag,
                store::TITLE | store::SUB_TITLE | store::DESC | store::CATEGORY
            ) {
                continue;
            }
            scratch.clear();
            fold_into(s[1].unwrap_or(""), scratch);
            for (k, term) in terms.iter().enumerate() {
                if found & (1 << k) == 0 && term.find(scratch.as_bytes()).is_some() {
                    found |= 1 << k;
                }
            }
            if found == all {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests;
