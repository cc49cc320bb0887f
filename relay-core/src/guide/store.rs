//! The compact programme store: every kept programme as a small record plus one encoded blob in
//! a shared byte arena, short strings interned.
//!
//! A blob is a sequence of fields, each a tag byte followed by a fixed number of strings (see
//! [`arity`]). A string is a varint `v`: `0` is "absent"; odd `v` is an inline string of
//! `v >> 1` bytes that follow; even `v` points at an interned entry (`varint len`, bytes) at
//! arena offset `v >> 1` (offset 0 is a reserved byte, so no entry lives there).

use crate::proto::xmltv::{Credit, EpisodeNum, Extra, Icon, Programme, Rating, Text};
use std::collections::HashMap;

/// Longest string interned (titles, categories, languages, names repeat; descriptions rarely do).
pub const INTERN_MAX_BYTES: usize = 64;
/// Largest arena: offsets are `u32`. Programmes that would grow it further are dropped (and
/// counted by the builder).
pub const MAX_ARENA_BYTES: usize = u32::MAX as usize;

pub(super) const TITLE: u8 = 1;
pub(super) const SUB_TITLE: u8 = 2;
pub(super) const DESC: u8 = 3;
pub(super) const CATEGORY: u8 = 4;
const DATE: u8 = 5;
const EPISODE: u8 = 6;
const ICON: u8 = 7;
const RATING: u8 = 8;
const RATING_ICON: u8 = 9;
const CREDIT: u8 = 10;
const ATTR: u8 = 11;
const EXTRA: u8 = 12;

/// Strings per field of each tag.
pub(super) fn arity(tag: u8) -> usize {
    match tag {
        TITLE | SUB_TITLE | DESC | CATEGORY | EPISODE | RATING | ATTR | EXTRA => 2,
        DATE => 1,
        ICON | RATING_ICON => 3,
        CREDIT => 5,
        _ => 0,
    }
}

/// One kept programme: times and where its blob is. 24 bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rec {
    pub(super) start: i64,
    /// Seconds to the stop, `u32::MAX` when unknown.
    pub(super) dur: u32,
    /// The guide channel (index into the guide's channel table).
    pub(super) ch: u32,
    pub(super) blob: u32,
    pub(super) len: u32,
}

impl Rec {
    pub(super) const NO_STOP: u32 = u32::MAX;

    pub(super) fn stop(&self) -> Option<i64> {
        (self.dur != Self::NO_STOP).then(|| self.start + i64::from(self.dur))
    }

    /// The stop, or the start for a programme without one (an instant).
    pub(super) fn end(&self) -> i64 {
        self.stop().unwrap_or(self.start)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// The arena and its intern table (dropped when the store is frozen).
#[derive(Debug)]
pub(super) struct Store {
    pub(super) arena: Vec<u8>,
    /// Hash of an interned string → its entry offset. Collisions are stored inline.
    interned: HashMap<u64, u32>,
    blob: Vec<u8>,
}

fn hash(s: &str) -> u64 {
    // FNV-1a: short strings, no DoS concern (the worst case is a slower build).
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in s.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Store {
    pub(super) fn new() -> Self {
        Store {
            arena: vec![0],
            interned: HashMap::new(),
            blob: Vec::new(),
        }
    }

    /// Drops the build-only intern table and spare capacity.
    pub(super) fn freeze(&mut self) {
        self.interned = HashMap::new();
        self.blob = Vec::new();
        self.arena.shrink_to_fit();
    }

    /// Heap bytes held (the intern table counted while it exists).
    pub(super) fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.interned.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
            + self.blob.capacity()
    }

    fn string(&mut self, s: Option<&str>) {
        let Some(s) = s else {
            self.blob.push(0);
            return;
        };
        if s.len() <= INTERN_MAX_BYTES && !s.is_empty() {
            let h = hash(s);
            let offset = match self.interned.get(&h) {
                Some(&off) => Some(off).filter(|&off| self.entry(off as usize) == Some(s)),
                None if self.arena.len() < MAX_ARENA_BYTES - 128 => {
                    let off = self.arena.len() as u32;
                    put_varint(&mut self.arena, s.len() as u64);
                    self.arena.extend_from_slice(s.as_bytes());
                    self.interned.insert(h, off);
                    Some(off)
                }
                None => None,
            };
            if let Some(off) = offset {
                put_varint(&mut self.blob, u64::from(off) << 1);
                return;
            }
        }
        put_varint(&mut self.blob, ((s.len() as u64) << 1) | 1);
        self.blob.extend_from_slice(s.as_bytes());
    }

    fn entry(&self, off: usize) -> Option<&str> {
        let mut pos = off;
        let len = get_varint(&self.arena, &mut pos)? as usize;
        std::str::from_utf8(self.arena.get(pos..pos + len)?).ok()
    }

    fn text(&mut self, tag: u8, t: &[Text]) {
        for t in t {
            self.blob.push(tag);
            self.string(t.lang.as_deref());
            self.string(Some(&t.value));
        }
    }

    fn icon(&mut self, tag: u8, i: &Icon) {
        self.blob.push(tag);
        self.string(Some(&i.src));
        self.string(i.width.as_deref());
        self.string(i.height.as_deref());
    }

    /// Encodes `p` (times and channel are the caller's) and returns its blob's (offset, length),
    /// or `None` when the arena is full.
    pub(super) fn add(&mut self, p: &Programme) -> Option<(u32, u32)> {
        self.blob.clear();
        self.text(TITLE, &p.titles);
        self.text(SUB_TITLE, &p.sub_titles);
        self.text(DESC, &p.descs);
        self.text(CATEGORY, &p.categories);
        if let Some(d) = &p.date {
            self.blob.push(DATE);
            self.string(Some(d));
        }
        for e in &p.episode_nums {
            self.blob.push(EPISODE);
            self.string(e.system.as_deref());
            self.string(Some(&e.value));
        }
        for i in &p.icons {
            self.icon(ICON, i);
        }
        for r in &p.ratings {
            self.blob.push(RATING);
            self.string(r.system.as_deref());
            self.string(Some(&r.value));
            for i in &r.icons {
                self.icon(RATING_ICON, i);
            }
        }
        for c in &p.credits {
            self.blob.push(CREDIT);
            self.string(Some(&c.kind));
            self.string(Some(&c.name));
            self.string(c.role.as_deref());
            self.string(c.guest.as_deref());
            self.string(Some(&c.extra));
        }
        for (k, v) in &p.attrs {
            self.blob.push(ATTR);
            self.string(Some(k));
            self.string(Some(v));
        }
        for e in &p.extras {
            self.blob.push(EXTRA);
            self.string(Some(&e.name));
            self.string(Some(&e.xml));
        }
        if self.arena.len() + self.blob.len() > MAX_ARENA_BYTES {
            return None;
        }
        let off = self.arena.len() as u32;
        self.arena.extend_from_slice(&self.blob);
        Some((off, self.blob.len() as u32))
    }
}

/// Reads the fields of one blob.
pub(super) struct Fields<'a> {
    arena: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Fields<'a> {
    pub(super) fn new(arena: &'a [u8], rec: &Rec) -> Self {
        let pos = rec.blob as usize;
        Fields {
            arena,
            pos,
            end: (pos + rec.len as usize).min(arena.len()),
        }
    }

    /// The next field's tag and strings (absent strings as `None`; unused slots `None`).
    pub(super) fn next_field(&mut self) -> Option<(u8, [Option<&'a str>; 5])> {
        if self.pos >= self.end {
            return None;
        }
        let tag = self.arena[self.pos];
        self.pos += 1;
        let mut strs = [None; 5];
        for slot in strs.iter_mut().take(arity(tag)) {
            *slot = self.string()?;
        }
        Some((tag, strs))
    }

    fn string(&mut self) -> Option<Option<&'a str>> {
        let v = get_varint(self.arena, &mut self.pos)?;
        if v == 0 {
            return Some(None);
        }
        let (start, len) = if v & 1 == 1 {
            let len = (v >> 1) as usize;
            let start = self.pos;
            self.pos += len;
            (start, len)
        } else {
            let mut p = (v >> 1) as usize;
            let len = get_varint(self.arena, &mut p)? as usize;
            (p, len)
        };
        let bytes = self.arena.get(start..start + len)?;
        Some(Some(std::str::from_utf8(bytes).unwrap_or("")))
    }
}

/// The first title of a blob, or `""`.
pub(super) fn title<'a>(arena: &'a [u8], rec: &Rec) -> &'a str {
    let mut f = Fields::new(arena, rec);
    match f.next_field() {
        Some((TITLE, [_, Some(v), ..])) => v,
        _ => "",
    }
}

/// Bytes of the strings in a blob.
pub(super) fn text_bytes(arena: &[u8], rec: &Rec) -> usize {
    let mut f = Fields::new(arena, rec);
    let mut n = 0;
    while let Some((_, strs)) = f.next_field() {
        n += strs.iter().flatten().map(|s| s.len()).sum::<usize>();
    }
    n
}

/// Rebuilds the programme of a blob (channel, start and stop left for the caller).
pub(super) fn decode(arena: &[u8], rec: &Rec) -> Programme {
    let mut p = Programme::default();
    let mut f = Fields::new(arena, rec);
    let own = |s: Option<&str>| s.map(str::to_owned);
    let icon = |s: [Option<&str>; 5]| Icon {
        src: s[0].unwrap_or("").to_owned(),
        width: own(s[1]),
        height: own(s[2]),
    };
    while let Some((tag, s)) = f.next_field() {
        let text = || Text {
            value: s[1].unwrap_or("").to_owned(),
            lang: own(s[0]),
        };
        match tag {
            TITLE => p.titles.push(text()),
            SUB_TITLE => p.sub_titles.push(text()),
            DESC => p.descs.push(text()),
            CATEGORY => p.categories.push(text()),
            DATE => p.date = own(s[0]),
            EPISODE => p.episode_nums.push(EpisodeNum {
                value: s[1].unwrap_or("").to_owned(),
                system: own(s[0]),
            }),
            ICON => p.icons.push(icon(s)),
            RATING => p.ratings.push(Rating {
                value: s[1].unwrap_or("").to_owned(),
                system: own(s[0]),
                icons: Vec::new(),
            }),
            RATING_ICON => {
                if let Some(r) = p.ratings.last_mut() {
                    r.icons.push(icon(s));
                }
            }
            CREDIT => p.credits.push(Credit {
                kind: s[0].unwrap_or("").to_owned(),
                name: s[1].unwrap_or("").to_owned(),
                role: own(s[2]),
                guest: own(s[3]),
                extra: s[4].unwrap_or("").to_owned(),
            }),
            ATTR => p
                .attrs
                .push((s[0].unwrap_or("").to_owned(), s[1].unwrap_or("").to_owned())),
            EXTRA => p.extras.push(Extra {
                name: s[0].unwrap_or("").to_owned(),
                xml: s[1].unwrap_or("").to_owned(),
            }),
            _ => break,
        }
    }
    p
}
