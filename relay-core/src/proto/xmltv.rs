//! XMLTV guides: a streaming, tolerant reader in bounded memory, and a writer whose output
//! validates against the XMLTV DTD.
//!
//! # Reading
//!
//! [`Reader`] is sans-IO: [`feed`](Reader::feed) it byte chunks as they arrive (plain or gzip,
//! detected by the magic bytes `1f 8b`, never by a name), call [`finish`](Reader::finish) at the
//! end, and pull [`Step`]s with [`next`](Reader::next) after each feed until it answers
//! [`Step::NeedMore`]. Memory stays bounded: the reader holds one top-level element at most
//! ([`MAX_ELEMENT_BYTES`]), one decompression step ([`gzip::DECODE_STEP`](super::gzip::DECODE_STEP))
//! and whatever the caller fed but did not drain yet.
//!
//! The caller filters early: each `<programme>` start tag is shown to a [`Select`] (channel id,
//! start, stop) before its body is parsed; a programme it declines is skipped by scanning for its
//! end tag, never stored or decoded. Channel definitions are always returned (matching needs their
//! display names, and they precede programmes in the DTD's order).
//!
//! How real files are survived:
//! - Structure: top-level elements are framed by a byte scanner (aware of comments and CDATA)
//!   and each complete `<channel>` or `<programme>` is parsed by quick-xml. Anything else at the
//!   top level (unknown elements, text, doctype, processing instructions) is skipped; unknown
//!   wrappers are looked into, so programmes are found wherever they sit. A malformed element
//!   (a mismatched end tag, a tag name that is no XML name) is kept as far as it parsed and
//!   counted; lines of any length are fine (lines mean nothing here).
//! - Encodings: see [`Encoding`]. The input is decoded to UTF-8 before parsing; nothing is
//!   ever rejected for its bytes. Characters XML 1.0 forbids and the C1 controls are dropped
//!   on the way in (and never resolved from `&#...;`), so what is read can always be written.
//! - Entities: XML's five and numeric references are resolved; any other (`&nbsp;`, a bare `&`)
//!   is kept as literal text and counted in [`ReadStats::bad_entities`].
//! - Times: see [`parse_time`]; a bad or missing `start` skips the programme (counted), a bad
//!   `stop` is dropped (counted) and the programme kept with `stop: None`.
//! - Leaf text (titles, descriptions, ...) is trimmed of surrounding whitespace. Values longer
//!   than [`MAX_VALUE_BYTES`] are dropped; more than [`MAX_CHILDREN`] children are dropped.
//! - Child elements the model has no field for are kept in [`Programme::extras`] /
//!   [`Channel::extras`] as canonical XML (attributes and text re-escaped, comments dropped, every
//!   element closed), so the writer reproduces them and its output stays well-formed.
//!
//! # Writing
//!
//! [`write_header`], [`write_channel`], [`write_programme`], [`write_footer`] append to a
//! `Vec<u8>`, one element at a time, so a guide can be streamed out. Times are written in full
//! (`YYYYMMDDhhmmss +0000`), children in the DTD's order, only elements and attributes the DTD
//! knows (others are dropped), text escaped and stripped of characters XML forbids.

mod read;
mod text;
mod time;
mod write;

pub use read::{
    MAX_CHILDREN, MAX_DEPTH, MAX_ELEMENT_BYTES, MAX_VALUE_BYTES, ReadAll, Reader, read_all,
};
pub use text::{Encoding, MAX_DECL_BYTES, MAX_ENTITY_NAME, escape_into};
pub use time::{MAX_TIME, MIN_TIME, format_time, parse_time};
pub use write::{write_channel, write_footer, write_header, write_programme};

use std::fmt;

/// A text value with its optional `lang` attribute (titles, descriptions, display names, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    /// The text, references resolved, trimmed.
    pub value: String,
    /// The `lang` attribute as written (`en`, `fr`), if any.
    pub lang: Option<String>,
}

/// An `<icon>`: an image URL with optional size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Icon {
    /// The `src` URL (an icon without one is dropped).
    pub src: String,
    /// `width` as written.
    pub width: Option<String>,
    /// `height` as written.
    pub height: Option<String>,
}

/// A channel's `<url>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Url {
    /// The URL text.
    pub value: String,
    /// The `system` attribute, if any.
    pub system: Option<String>,
}

/// A `<channel>` definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Channel {
    /// The `id` that programmes name in their `channel` attribute.
    pub id: String,
    /// `<display-name>`s in order.
    pub display_names: Vec<Text>,
    /// `<icon>`s in order.
    pub icons: Vec<Icon>,
    /// `<url>`s in order.
    pub urls: Vec<Url>,
    /// Other children as canonical XML (e.g. `<lcn>`), in order; the writer drops them (the DTD
    /// allows none).
    pub extras: Vec<Extra>,
}

/// An `<episode-num>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpisodeNum {
    /// The number as written (`1.4.`, `S02E05`).
    pub value: String,
    /// The `system` attribute (`xmltv_ns`, `onscreen`, `dd_progid`), if any.
    pub system: Option<String>,
}

/// A `<rating>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rating {
    /// The `<value>` text.
    pub value: String,
    /// The `system` attribute (`MPAA`, `VCHIP`, `FSK`), if any.
    pub system: Option<String>,
    /// `<icon>`s inside the rating.
    pub icons: Vec<Icon>,
}

/// One person in `<credits>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credit {
    /// The element name: `director`, `actor`, `writer`, `adapter`, `producer`, `composer`,
    /// `editor`, `presenter`, `commentator`, `guest` (others are kept, the writer drops them).
    pub kind: String,
    /// The person's name (the element's text).
    pub name: String,
    /// `role` (actors), if any.
    pub role: Option<String>,
    /// `guest` (`yes`/`no`, actors), if any.
    pub guest: Option<String>,
    /// Child elements (`<image>`, `<url>`) as canonical XML, concatenated.
    pub extra: String,
}

/// A child element kept as canonical XML because the model has no field for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// The element name (`video`, `new`, `star-rating`, ...).
    pub name: String,
    /// The whole element, e.g. `<previously-shown start="20240101000000 +0000"/>`.
    pub xml: String,
}

/// A `<programme>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Programme {
    /// The `channel` attribute: the [`Channel::id`] it airs on.
    pub channel: String,
    /// Start, Unix seconds UTC.
    pub start: i64,
    /// Stop, Unix seconds UTC; many guides omit it.
    pub stop: Option<i64>,
    /// `<title>`s (usually one per language).
    pub titles: Vec<Text>,
    /// `<sub-title>`s.
    pub sub_titles: Vec<Text>,
    /// `<desc>`s.
    pub descs: Vec<Text>,
    /// `<credits>` members in order.
    pub credits: Vec<Credit>,
    /// `<date>` (production date) as written.
    pub date: Option<String>,
    /// `<category>`s.
    pub categories: Vec<Text>,
    /// `<icon>`s.
    pub icons: Vec<Icon>,
    /// `<episode-num>`s.
    pub episode_nums: Vec<EpisodeNum>,
    /// `<rating>`s.
    pub ratings: Vec<Rating>,
    /// Other attributes of `<programme>` (`pdc-start`, `vps-start`, `showview`, `videoplus`,
    /// `clumpidx`, unknown ones) as (name, value), in order.
    pub attrs: Vec<(String, String)>,
    /// Other children (`video`, `audio`, `new`, `previously-shown`, `premiere`, `subtitles`,
    /// `star-rating`, `review`, `image`, `keyword`, `length`, `url`, `country`, `language`,
    /// unknown ones) as canonical XML, in order.
    pub extras: Vec<Extra>,
}

impl Programme {
    /// The first title, or `""`.
    pub fn title(&self) -> &str {
        self.titles.first().map_or("", |t| t.value.as_str())
    }

    /// Bytes of text this programme holds: every string field, attribute names and values
    /// included (what "the kept programmes' text" means when a guide index is measured).
    pub fn text_bytes(&self) -> usize {
        fn t(v: &[Text]) -> usize {
            v.iter()
                .map(|t| t.value.len() + t.lang.as_ref().map_or(0, String::len))
                .sum()
        }
        fn o(v: &Option<String>) -> usize {
            v.as_ref().map_or(0, String::len)
        }
        fn icons(v: &[Icon]) -> usize {
            v.iter()
                .map(|i| i.src.len() + o(&i.width) + o(&i.height))
                .sum()
        }
        self.channel.len()
            + t(&self.titles)
            + t(&self.sub_titles)
            + t(&self.descs)
            + self
                .credits
                .iter()
                .map(|c| c.kind.len() + c.name.len() + o(&c.role) + o(&c.guest) + c.extra.len())
                .sum::<usize>()
            + o(&self.date)
            + t(&self.categories)
            + icons(&self.icons)
            + self
                .episode_nums
                .iter()
                .map(|e| e.value.len() + o(&e.system))
                .sum::<usize>()
            + self
                .ratings
                .iter()
                .map(|r| r.value.len() + o(&r.system) + icons(&r.icons))
                .sum::<usize>()
            + self
                .attrs
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
            + self
                .extras
                .iter()
                .map(|e| e.name.len() + e.xml.len())
                .sum::<usize>()
    }
}

/// What [`Reader::next`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A channel definition.
    Channel(Channel),
    /// A programme the [`Select`] accepted.
    Programme(Programme),
    /// Everything fed so far is consumed: feed more (or finish).
    NeedMore,
    /// The input is over and ended cleanly.
    End,
}

/// Why a guide could not be read to its end. Items returned before the error stay valid; the
/// caller decides whether a partial guide is worth keeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmltvError {
    /// The gzip layer failed.
    Gzip(super::gzip::GzipError),
    /// The input ended inside an element, or before `</tv>` (a cut download).
    Truncated,
    /// The input had no `<tv>` element (an HTML error page, JSON, an empty body).
    NotXmltv,
}

impl fmt::Display for XmltvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmltvError::Gzip(e) => write!(f, "XMLTV: {e}"),
            XmltvError::Truncated => f.write_str("XMLTV: input ends before </tv>"),
            XmltvError::NotXmltv => f.write_str("XMLTV: no <tv> element in the input"),
        }
    }
}

impl std::error::Error for XmltvError {}

/// Decides, from a programme's start tag alone, whether the reader parses it or skips it.
pub trait Select {
    /// `channel` is the programme's `channel` attribute; `start`/`stop` are Unix seconds.
    fn programme(&mut self, channel: &str, start: i64, stop: Option<i64>) -> bool;
}

impl<F: FnMut(&str, i64, Option<i64>) -> bool> Select for F {
    fn programme(&mut self, channel: &str, start: i64, stop: Option<i64>) -> bool {
        self(channel, start, stop)
    }
}

/// A [`Select`] that keeps every programme.
#[derive(Debug, Clone, Copy, Default)]
pub struct All;

impl Select for All {
    fn programme(&mut self, _: &str, _: i64, _: Option<i64>) -> bool {
        true
    }
}

/// Whether a programme airs at some point of `[from, to)`: its `[start, stop)` overlaps the
/// window; without a stop it must start inside it.
pub fn in_window(start: i64, stop: Option<i64>, from: i64, to: i64) -> bool {
    start < to && stop.map_or(start >= from, |stop| stop > from)
}

/// Counters of what a [`Reader`] met. Dirty input is counted here, never an error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Bytes fed (compressed bytes when the input is gzip).
    pub bytes_in: u64,
    /// Bytes of XML after decompression and decoding to UTF-8.
    pub bytes_xml: u64,
    /// Whether the input was gzip.
    pub gzip: bool,
    /// The declared encoding.
    pub encoding: Encoding,
    /// Channel definitions returned.
    pub channels: u64,
    /// Programmes returned (accepted by the [`Select`]).
    pub programmes: u64,
    /// Programmes the [`Select`] declined (skipped unparsed).
    pub skipped: u64,
    /// Programmes dropped for a missing or unreadable `start` or `channel`.
    pub bad_programmes: u64,
    /// `stop` attributes that could not be read (the programme is kept without one).
    pub bad_stops: u64,
    /// Entity references that could not be resolved, and stray `&`.
    pub bad_entities: u64,
    /// Bytes that were not valid in the declared UTF-8 and were read as Windows-1252.
    pub recoded_bytes: u64,
    /// Elements that quick-xml found malformed (kept as far as they parsed).
    pub malformed: u64,
    /// Elements over [`MAX_ELEMENT_BYTES`] (skipped), values over [`MAX_VALUE_BYTES`] and
    /// children over [`MAX_CHILDREN`] (dropped).
    pub oversized: u64,
}

#[cfg(test)]
mod tests;
