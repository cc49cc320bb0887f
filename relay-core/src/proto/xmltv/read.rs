//! The streaming reader: framing of top-level elements, selection, quick-xml parsing of the
//! kept ones.

use super::text::{Transcoder, escape_into, resolve_ref, unescape_into};
use super::time::parse_time;
use super::{
    Channel, Credit, EpisodeNum, Extra, Icon, Programme, Rating, ReadStats, Select, Step, Text,
    Url, XmltvError,
};
use crate::proto::gzip::{self, GzipDecoder};
use memchr::{memchr, memchr3, memmem};
use quick_xml::events::{BytesStart, Event};

/// Largest `<channel>` or `<programme>` element kept (start tag to end tag); a larger one is
/// skipped and counted in [`ReadStats::oversized`], never buffered whole.
pub const MAX_ELEMENT_BYTES: usize = 4 << 20;
/// Longest text or attribute value kept (a 1.5 MB `data:` icon, say); a longer one is dropped
/// with its field and counted in [`ReadStats::oversized`].
pub const MAX_VALUE_BYTES: usize = 64 << 10;
/// Most children kept per channel or programme (titles, categories, credits, extras...).
pub const MAX_CHILDREN: usize = 512;
/// Deepest nesting kept inside an extra element; deeper content is dropped.
pub const MAX_DEPTH: usize = 16;
/// Consumed bytes at the front of the buffer that trigger compaction (so the buffer is not
/// shifted on every small step).
const COMPACT_BYTES: usize = 64 << 10;

/// Where the bytes come from.
#[derive(Debug)]
enum Source {
    /// Fewer than two bytes seen: plain or gzip is not known yet.
    Sniff(Vec<u8>),
    Plain,
    Gzip(Box<GzipDecoder>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Programme,
}

impl Kind {
    fn name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"channel",
            Kind::Programme => b"programme",
        }
    }
}

/// The framing scanner's state. Offsets index `Reader::buf`.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Between elements, at `Reader::pos`.
    Top,
    /// Inside markup skipped up to `until` (comment, PI, CDATA, end tag); `scan` is where the
    /// search resumes.
    Skip { until: &'static [u8], scan: usize },
    /// Inside `<!DOCTYPE`, possibly inside its `[...]` internal subset.
    Doctype { scan: usize, subset: bool },
    /// Looking for the `>` of a start tag opened at `at`; `quote` is the open quote, if any.
    /// When `keep` is false the tag is oversized and `kind` says what to skip after it.
    StartTag {
        at: usize,
        scan: usize,
        quote: u8,
        keep: bool,
        kind: Option<Kind>,
    },
    /// Inside a channel or programme that started at `start`, looking for its end tag from
    /// `scan`; when `keep` is false it is skipped (declined, or oversized).
    Element {
        kind: Kind,
        start: usize,
        scan: usize,
        keep: bool,
    },
}

// Moved once per item, straight into `next`'s return value: boxing would cost an allocation per item.
#[allow(clippy::large_enum_variant)]
enum Advance {
    Step(Step),
    Again,
    NeedMore,
}

enum Pull {
    More,
    Wait,
    Eof,
}

/// The streaming XMLTV reader. See the [module docs](super).
#[derive(Debug)]
pub struct Reader {
    source: Source,
    text: Transcoder,
    /// Decoded UTF-8 XML not yet consumed (from the lowest offset the state still needs).
    buf: Vec<u8>,
    /// Scan position in `Top`.
    pos: usize,
    state: State,
    /// `finish` was called.
    finished: bool,
    /// The transcoder's held bytes were flushed after the last input.
    flushed: bool,
    done: bool,
    error: Option<XmltvError>,
    saw_tv: bool,
    saw_tv_end: bool,
    stats: ReadStats,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

impl Reader {
    /// A reader expecting the first bytes of a guide.
    pub fn new() -> Self {
        Reader {
            source: Source::Sniff(Vec::new()),
            text: Transcoder::default(),
            buf: Vec::new(),
            pos: 0,
            state: State::Top,
            finished: false,
            flushed: false,
            done: false,
            error: None,
            saw_tv: false,
            saw_tv_end: false,
            stats: ReadStats::default(),
        }
    }

    /// What the reader met so far.
    pub fn stats(&self) -> ReadStats {
        let mut s = self.stats;
        s.encoding = self.text.encoding();
        s.recoded_bytes = self.text.recoded;
        s
    }

    /// Bytes the reader holds in its buffer now (decoded XML not yet consumed, plus the pending
    /// compressed input): what bounded memory means, to check it.
    pub fn buffered_bytes(&self) -> usize {
        self.buf.capacity()
            + match &self.source {
                Source::Sniff(held) => held.capacity(),
                Source::Plain => 0,
                Source::Gzip(d) => d.buffered_bytes(),
            }
    }

    /// Appends a chunk of the guide (plain or gzip bytes as they come). Drain with
    /// [`next`](Self::next) until [`Step::NeedMore`] before feeding again, so memory stays
    /// bounded. Bytes fed after [`finish`](Self::finish) are ignored.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.finished {
            return;
        }
        self.stats.bytes_in += chunk.len() as u64;
        self.compact();
        match &mut self.source {
            Source::Sniff(held) => {
                held.extend_from_slice(chunk);
                if held.len() >= 2 {
                    let held = std::mem::take(held);
                    self.choose_source(&held);
                }
            }
            Source::Plain => self.push_plain(chunk),
            Source::Gzip(d) => d.feed(chunk),
        }
    }

    /// Marks the end of the input.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        if let Source::Sniff(held) = &mut self.source {
            let held = std::mem::take(held);
            self.choose_source(&held);
        }
        if let Source::Gzip(d) = &mut self.source {
            d.finish();
        }
        self.finished = true;
    }

    fn choose_source(&mut self, held: &[u8]) {
        if gzip::is_gzip(held) {
            let mut d = Box::new(GzipDecoder::new());
            d.feed(held);
            self.stats.gzip = true;
            self.source = Source::Gzip(d);
        } else {
            self.source = Source::Plain;
            self.push_plain(held);
        }
    }

    fn push_plain(&mut self, bytes: &[u8]) {
        let before = self.buf.len();
        self.text.push(bytes, &mut self.buf);
        self.stats.bytes_xml += (self.buf.len() - before) as u64;
    }

    /// The next channel or selected programme, [`Step::NeedMore`] when the input fed so far is
    /// consumed, [`Step::End`] after a clean end. An error comes once the input is over (or the
    /// gzip layer fails) and is returned again by every later call.
    pub fn next(&mut self, select: &mut impl Select) -> Result<Step, XmltvError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.done {
            return Ok(Step::End);
        }
        loop {
            match self.advance(select) {
                Advance::Step(step) => return Ok(step),
                Advance::Again => {}
                Advance::NeedMore => match self.pull() {
                    Err(e) => {
                        self.error = Some(e);
                        return Err(e);
                    }
                    Ok(Pull::More) => {}
                    Ok(Pull::Wait) => {
                        self.compact();
                        return Ok(Step::NeedMore);
                    }
                    Ok(Pull::Eof) => return self.end(),
                },
            }
        }
    }

    fn end(&mut self) -> Result<Step, XmltvError> {
        self.done = true;
        let open = !matches!(self.state, State::Top);
        let error = if !self.saw_tv {
            Some(XmltvError::NotXmltv)
        } else if open || !self.saw_tv_end {
            Some(XmltvError::Truncated)
        } else {
            None
        };
        self.buf = Vec::new();
        match error {
            Some(e) => {
                self.error = Some(e);
                Err(e)
            }
            None => Ok(Step::End),
        }
    }

    /// Brings more decoded bytes into `buf`.
    fn pull(&mut self) -> Result<Pull, XmltvError> {
        self.compact();
        let before = self.buf.len();
        if let Source::Gzip(d) = &mut self.source {
            let bytes = d.decode().map_err(XmltvError::Gzip)?;
            if !bytes.is_empty() {
                self.text.push(bytes, &mut self.buf);
                self.stats.bytes_xml += (self.buf.len() - before) as u64;
                return Ok(Pull::More);
            }
        }
        if !self.finished {
            return Ok(Pull::Wait);
        }
        if !self.flushed {
            self.flushed = true;
            self.text.finish(&mut self.buf);
            self.stats.bytes_xml += (self.buf.len() - before) as u64;
            if self.buf.len() > before {
                return Ok(Pull::More);
            }
        }
        Ok(Pull::Eof)
    }

    /// Drops consumed bytes from the front of `buf` and rebases the offsets.
    fn compact(&mut self) {
        let low = match self.state {
            State::Top => self.pos,
            State::Skip { scan, .. } | State::Doctype { scan, .. } => scan,
            State::StartTag { at, scan, keep, .. } => {
                if keep {
                    at
                } else {
                    scan
                }
            }
            State::Element {
                start, scan, keep, ..
            } => {
                if keep {
                    start
                } else {
                    scan
                }
            }
        }
        .min(self.buf.len());
        if low == 0 || (low < self.buf.len() && low < COMPACT_BYTES) {
            return;
        }
        self.buf.drain(..low);
        if self.buf.capacity() > (4 * self.buf.len()).max(1 << 20) {
            // After a large element: give the memory back.
            self.buf.shrink_to(2 * self.buf.len());
        }
        let rebase = |x: &mut usize| *x = x.saturating_sub(low);
        rebase(&mut self.pos);
        match &mut self.state {
            State::Top => {}
            State::Skip { scan, .. } | State::Doctype { scan, .. } => rebase(scan),
            State::StartTag { at, scan, .. } => {
                rebase(at);
                rebase(scan);
            }
            State::Element { start, scan, .. } => {
                rebase(start);
                rebase(scan);
            }
        }
    }

    fn advance(&mut self, select: &mut impl Select) -> Advance {
        let buf = &self.buf;
        match self.state {
            State::Top => {
                let Some(i) = memchr(b'<', &buf[self.pos..]) else {
                    self.pos = buf.len();
                    return Advance::NeedMore;
                };
                let at = self.pos + i;
                self.pos = at;
                let rest = &buf[at..];
                if rest.len() < 2 {
                    return Advance::NeedMore;
                }
                self.state = match rest[1] {
                    b'?' => State::Skip {
                        until: b"?>",
                        scan: at + 2,
                    },
                    b'!' if rest.starts_with(b"<!--") => State::Skip {
                        until: b"-->",
                        scan: at + 4,
                    },
                    b'!' if rest.starts_with(b"<![CDATA[") => State::Skip {
                        until: b"]]>",
                        scan: at + 9,
                    },
                    b'!' if is_bang_prefix(rest) => return Advance::NeedMore,
                    b'!' => State::Doctype {
                        scan: at + 2,
                        subset: false,
                    },
                    b'/' => {
                        if rest.len() < 5 {
                            return Advance::NeedMore;
                        }
                        if &rest[2..4] == b"tv"
                            && (rest[4] == b'>' || rest[4].is_ascii_whitespace())
                        {
                            self.saw_tv_end = true;
                        }
                        State::Skip {
                            until: b">",
                            scan: at + 2,
                        }
                    }
                    c if c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80 => {
                        State::StartTag {
                            at,
                            scan: at + 1,
                            quote: 0,
                            keep: true,
                            kind: None,
                        }
                    }
                    _ => {
                        // A stray `<` in text.
                        self.pos = at + 1;
                        State::Top
                    }
                };
                Advance::Again
            }
            State::Skip { until, scan } => match memmem::find(&buf[scan..], until) {
                Some(k) => {
                    self.pos = scan + k + until.len();
                    self.state = State::Top;
                    Advance::Again
                }
                None => {
                    let scan = scan.max(buf.len().saturating_sub(until.len() - 1));
                    self.state = State::Skip { until, scan };
                    Advance::NeedMore
                }
            },
            State::Doctype {
                mut scan,
                mut subset,
            } => {
                while let Some(k) = memchr3(b'[', b']', b'>', &buf[scan..]) {
                    let i = scan + k;
                    scan = i + 1;
                    match buf[i] {
                        b'[' => subset = true,
                        b']' => subset = false,
                        _ if !subset => {
                            self.pos = i + 1;
                            self.state = State::Top;
                            return Advance::Again;
                        }
                        _ => {}
                    }
                }
                self.state = State::Doctype {
                    scan: buf.len(),
                    subset,
                };
                Advance::NeedMore
            }
            State::StartTag {
                at,
                scan,
                quote,
                mut keep,
                mut kind,
            } => {
                let (found, scan, quote) = scan_tag(buf, scan, quote);
                if let Some(e) = found {
                    if keep {
                        return self.start_tag(at, e, select);
                    }
                    let self_closing = buf[e - 1] == b'/';
                    self.pos = e + 1;
                    self.state = match kind {
                        Some(kind) if !self_closing => State::Element {
                            kind,
                            start: e + 1,
                            scan: e + 1,
                            keep: false,
                        },
                        _ => State::Top,
                    };
                    return Advance::Again;
                }
                if keep && buf.len() - at > MAX_ELEMENT_BYTES {
                    keep = false;
                    kind = element_kind(&buf[at + 1..]);
                    if kind.is_some() {
                        self.stats.oversized += 1;
                    }
                }
                self.state = State::StartTag {
                    at,
                    scan,
                    quote,
                    keep,
                    kind,
                };
                Advance::NeedMore
            }
            State::Element {
                kind,
                start,
                scan,
                mut keep,
            } => match find_end(buf, scan, kind.name()) {
                Ok(end) => {
                    self.pos = end;
                    self.state = State::Top;
                    if keep && end - start > MAX_ELEMENT_BYTES {
                        self.stats.oversized += 1;
                        keep = false;
                    }
                    if !keep {
                        return Advance::Again;
                    }
                    parse(kind, &self.buf[start..end], &mut self.stats)
                }
                Err(mut resume) => {
                    if keep && buf.len() - start > MAX_ELEMENT_BYTES {
                        keep = false;
                        self.stats.oversized += 1;
                    }
                    if !keep && buf.len() - resume > MAX_ELEMENT_BYTES {
                        // An endless comment or CDATA inside a skipped element: step over it
                        // blindly rather than hold it.
                        resume = buf.len() - 16;
                    }
                    self.state = State::Element {
                        kind,
                        start,
                        scan: resume,
                        keep,
                    };
                    Advance::NeedMore
                }
            },
        }
    }

    /// A complete start tag `buf[at..=e]` (`<` to `>`).
    fn start_tag(&mut self, at: usize, e: usize, select: &mut impl Select) -> Advance {
        self.pos = e + 1;
        self.state = State::Top;
        let Ok(tag) = std::str::from_utf8(&self.buf[at + 1..e]) else {
            return Advance::Again;
        };
        let self_closing = tag.ends_with('/');
        let inner = tag.strip_suffix('/').unwrap_or(tag);
        let name_len = inner
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(inner.len());
        let kind = match &inner[..name_len] {
            "tv" => {
                self.saw_tv = true;
                return Advance::Again;
            }
            "channel" => Kind::Channel,
            "programme" => {
                let head = BytesStart::from_content(inner, name_len);
                let mut channel = None;
                let mut start = None;
                let mut stop = None;
                for attr in head.attributes().with_checks(false).flatten() {
                    match attr.key.as_ref() {
                        "channel" => channel = Some(attr.value),
                        "start" => start = Some(attr.value),
                        "stop" => stop = Some(attr.value),
                        _ => {}
                    }
                }
                let start = start.and_then(|s| parse_time(&s));
                let (Some(channel), Some(start)) = (channel, start) else {
                    self.stats.bad_programmes += 1;
                    return self.skip_element(Kind::Programme, self_closing, e);
                };
                let mut bad = 0;
                let channel = unescape(&channel, &mut bad);
                let stop = stop.and_then(|s| parse_time(&s));
                if !select.programme(&channel, start, stop) {
                    self.stats.skipped += 1;
                    return self.skip_element(Kind::Programme, self_closing, e);
                }
                Kind::Programme
            }
            _ => return Advance::Again,
        };
        if self_closing {
            return parse(kind, &self.buf[at..=e], &mut self.stats);
        }
        self.state = State::Element {
            kind,
            start: at,
            scan: e + 1,
            keep: true,
        };
        Advance::Again
    }

    fn skip_element(&mut self, kind: Kind, self_closing: bool, e: usize) -> Advance {
        if !self_closing {
            self.state = State::Element {
                kind,
                start: e + 1,
                scan: e + 1,
                keep: false,
            };
        }
        Advance::Again
    }
}

/// Parses a complete kept element into its step.
fn parse(kind: Kind, xml: &[u8], stats: &mut ReadStats) -> Advance {
    let mut p = Parser::new(xml);
    let step = match kind {
        Kind::Channel => p.channel().map(|c| {
            stats.channels += 1;
            Step::Channel(c)
        }),
        Kind::Programme => p.programme().map(|prog| {
            stats.programmes += 1;
            Step::Programme(prog)
        }),
    };
    stats.bad_entities += p.bad_entities;
    stats.malformed += u64::from(p.malformed);
    stats.oversized += p.oversized;
    stats.bad_stops += p.bad_stops;
    if step.is_none() && kind == Kind::Programme {
        stats.bad_programmes += 1;
    }
    step.map_or(Advance::Again, Advance::Step)
}

/// Whether `rest` (starting `<!`) is too short to tell a comment or CDATA from a doctype.
fn is_bang_prefix(rest: &[u8]) -> bool {
    rest.len() < 9 && (b"<!--".starts_with(rest) || b"<![CDATA[".starts_with(rest))
}

/// Scans a start tag for its closing `>` from `i` with `quote` open: the `>` found (if any),
/// where to resume, and the quote then open.
fn scan_tag(buf: &[u8], mut i: usize, quote: u8) -> (Option<usize>, usize, u8) {
    if quote != 0 {
        match memchr(quote, &buf[i..]) {
            Some(k) => i += k + 1,
            None => return (None, buf.len(), quote),
        }
    }
    loop {
        match memchr3(b'>', b'"', b'\'', &buf[i..]) {
            Some(k) if buf[i + k] == b'>' => return (Some(i + k), i + k, 0),
            Some(k) => {
                let q = buf[i + k];
                i += k + 1;
                match memchr(q, &buf[i..]) {
                    Some(j) => i += j + 1,
                    None => return (None, buf.len(), q),
                }
            }
            None => return (None, buf.len(), 0),
        }
    }
}

/// Which element a start tag's name (bytes after `<`) opens.
fn element_kind(name: &[u8]) -> Option<Kind> {
    let end = name
        .iter()
        .position(|c| c.is_ascii_whitespace() || *c == b'/' || *c == b'>')
        .unwrap_or(name.len());
    match &name[..end] {
        b"channel" => Some(Kind::Channel),
        b"programme" => Some(Kind::Programme),
        _ => None,
    }
}

/// Finds the end of the element whose end tag is `</name>`, scanning from `i` and stepping over
/// comments and CDATA sections: `Ok(offset after the end tag)`, or `Err(where to resume)`.
fn find_end(buf: &[u8], mut i: usize, name: &[u8]) -> Result<usize, usize> {
    loop {
        let Some(k) = memchr(b'<', &buf[i..]) else {
            return Err(buf.len());
        };
        i += k;
        let rest = &buf[i..];
        if rest.len() < 2 {
            return Err(i);
        }
        match rest[1] {
            b'/' => {
                let n = name.len();
                if rest.len() < n + 3 {
                    return Err(i);
                }
                if &rest[2..2 + n] == name
                    && matches!(rest[2 + n], b'>' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    return match memchr(b'>', &rest[2 + n..]) {
                        Some(j) => Ok(i + 2 + n + j + 1),
                        None => Err(i),
                    };
                }
                i += 2;
            }
            b'!' => {
                let (open, close): (usize, &[u8]) = if rest.starts_with(b"<!--") {
                    (4, b"-->")
                } else if rest.starts_with(b"<![CDATA[") {
                    (9, b"]]>")
                } else if is_bang_prefix(rest) {
                    return Err(i);
                } else {
                    i += 2;
                    continue;
                };
                match memmem::find(&rest[open..], close) {
                    Some(j) => i += open + j + close.len(),
                    None => return Err(i),
                }
            }
            _ => i += 1,
        }
    }
}

/// Whether `s` is an XML name (what canonical XML may use for elements and attributes).
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    let start = |c: char| c.is_alphabetic() || c == '_' || c == ':';
    chars.next().is_some_and(start)
        && chars.all(|c| start(c) || c.is_alphanumeric() || matches!(c, '-' | '.' | '\u{B7}'))
}

fn unescape(raw: &str, bad: &mut u64) -> String {
    let mut s = String::with_capacity(raw.len());
    unescape_into(raw, &mut s, bad);
    s
}

fn trim(mut s: String) -> String {
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let end = s.trim_end_matches(is_ws).len();
    s.truncate(end);
    let start = s.len() - s.trim_start_matches(is_ws).len();
    if start > 0 {
        s.drain(..start);
    }
    s
}

/// Parses one complete channel or programme element with quick-xml.
struct Parser<'a> {
    r: quick_xml::Reader<&'a [u8]>,
    bad_entities: u64,
    bad_stops: u64,
    oversized: u64,
    malformed: bool,
    children: usize,
}

impl<'a> Parser<'a> {
    /// `xml` is UTF-8 (the transcoder's output); quick-xml checks each event again.
    fn new(xml: &'a [u8]) -> Self {
        let mut r = quick_xml::Reader::from_reader(xml);
        let c = r.config_mut();
        // A mismatched end tag stops the element there (counted as malformed): nesting
        // guessed past it would differ from what a second reading of our output sees.
        c.check_end_names = true;
        c.allow_unmatched_ends = false;
        c.allow_dangling_amp = true;
        Parser {
            r,
            bad_entities: 0,
            bad_stops: 0,
            oversized: 0,
            malformed: false,
            children: 0,
        }
    }

    /// The next event, `None` at the end or on an error (counted as malformed).
    fn event(&mut self) -> Option<Event<'a>> {
        if self.malformed {
            return None;
        }
        match self.r.read_event() {
            Ok(Event::Eof) => None,
            Ok(e) => Some(e),
            Err(_) => {
                self.malformed = true;
                None
            }
        }
    }

    /// Whether one more child fits; counts the ones that do not.
    fn room(&mut self) -> bool {
        self.children += 1;
        if self.children > MAX_CHILDREN {
            self.oversized += 1;
            return false;
        }
        true
    }

    fn value(&mut self, s: String) -> Option<String> {
        if s.len() > MAX_VALUE_BYTES {
            self.oversized += 1;
            return None;
        }
        Some(s)
    }

    /// The element's attributes as (name, unescaped value).
    fn attrs(&mut self, e: &BytesStart<'_>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for attr in e.attributes().with_checks(false) {
            let Ok(attr) = attr else {
                self.malformed = true;
                break;
            };
            let key = attr.key.as_ref().to_owned();
            let value = unescape(&attr.value, &mut self.bad_entities);
            if let Some(value) = self.value(value) {
                out.push((key, value));
            }
        }
        out
    }

    fn attr(&mut self, e: &BytesStart<'_>, name: &str) -> Option<String> {
        for attr in e.attributes().with_checks(false) {
            let Ok(attr) = attr else {
                self.malformed = true;
                return None;
            };
            if attr.key.as_ref() == name {
                let value = unescape(&attr.value, &mut self.bad_entities);
                return self.value(value);
            }
        }
        None
    }

    fn push_ref(&mut self, name: &str, out: &mut String) {
        match resolve_ref(name) {
            Some(c) => out.push(c),
            None => {
                self.bad_entities += 1;
                out.push('&');
                out.push_str(name);
                out.push(';');
            }
        }
    }

    /// The text of the element just opened (nested elements' text included), through its end.
    fn text(&mut self) -> String {
        let mut out = String::new();
        let mut depth = 0usize;
        while let Some(ev) = self.event() {
            match ev {
                Event::Text(t) => unescape_into(&t, &mut out, &mut self.bad_entities),
                Event::GeneralRef(r) => self.push_ref(&r, &mut out),
                Event::CData(c) => out.push_str(&c),
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => break,
                Event::End(_) => depth -= 1,
                _ => {}
            }
        }
        trim(out)
    }

    /// Text and canonical child elements of a mixed-content element, through its end.
    fn mixed(&mut self) -> (String, String) {
        let mut text = String::new();
        let mut extra = Vec::new();
        while let Some(ev) = self.event() {
            match ev {
                Event::Text(t) => unescape_into(&t, &mut text, &mut self.bad_entities),
                Event::GeneralRef(r) => self.push_ref(&r, &mut text),
                Event::CData(c) => text.push_str(&c),
                Event::Start(e) => self.canonical(&e, false, &mut extra),
                Event::Empty(e) => self.canonical(&e, true, &mut extra),
                Event::End(_) => break,
                _ => {}
            }
        }
        (trim(text), String::from_utf8_lossy(&extra).into_owned())
    }

    /// Consumes the rest of the element just opened.
    fn skip(&mut self) {
        let mut depth = 0usize;
        while let Some(ev) = self.event() {
            match ev {
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => break,
                Event::End(_) => depth -= 1,
                _ => {}
            }
        }
    }

    fn open_tag(&mut self, e: &BytesStart<'_>, empty: bool, out: &mut Vec<u8>) -> String {
        let name = e.name().as_ref().to_owned();
        out.push(b'<');
        out.extend_from_slice(name.as_bytes());
        for (k, v) in self.attrs(e) {
            if !is_name(&k) {
                continue;
            }
            out.push(b' ');
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"=\"");
            escape_into(&v, true, out);
            out.push(b'"');
        }
        out.extend_from_slice(if empty { b"/>" } else { b">" });
        name
    }

    /// Writes the element just read as `e` (and, unless `empty`, everything through its end)
    /// as canonical XML.
    /// An element whose name is not an XML name ends the parse there (malformed).
    fn canonical(&mut self, e: &BytesStart<'_>, empty: bool, out: &mut Vec<u8>) {
        if !is_name(e.name().as_ref()) {
            self.malformed = true;
            return;
        }
        let name = self.open_tag(e, empty, out);
        if empty {
            return;
        }
        let mut stack = vec![name];
        let mut text = String::new();
        while let Some(ev) = self.event() {
            match ev {
                Event::Start(s) | Event::Empty(s) if !is_name(s.name().as_ref()) => {
                    self.malformed = true;
                }
                Event::Start(_) if stack.len() >= MAX_DEPTH => {
                    self.oversized += 1;
                    self.skip();
                }
                Event::Start(s) => {
                    let name = self.open_tag(&s, false, out);
                    stack.push(name);
                }
                Event::Empty(s) => {
                    self.open_tag(&s, true, out);
                }
                Event::End(_) => {
                    let name = stack.pop().unwrap_or_default();
                    out.extend_from_slice(b"</");
                    out.extend_from_slice(name.as_bytes());
                    out.push(b'>');
                    if stack.is_empty() {
                        return;
                    }
                }
                Event::Text(t) => {
                    text.clear();
                    unescape_into(&t, &mut text, &mut self.bad_entities);
                    escape_into(&text, false, out);
                }
                Event::GeneralRef(r) => {
                    text.clear();
                    self.push_ref(&r, &mut text);
                    escape_into(&text, false, out);
                }
                Event::CData(c) => escape_into(&c, false, out),
                _ => {}
            }
        }
        while let Some(name) = stack.pop() {
            out.extend_from_slice(b"</");
            out.extend_from_slice(name.as_bytes());
            out.push(b'>');
        }
    }

    fn extra(&mut self, e: &BytesStart<'_>, empty: bool) -> Option<Extra> {
        if !is_name(e.name().as_ref()) {
            self.malformed = true;
            return None;
        }
        let mut xml = Vec::new();
        self.canonical(e, empty, &mut xml);
        let xml = self.value(String::from_utf8_lossy(&xml).into_owned())?;
        Some(Extra {
            name: e.name().as_ref().to_owned(),
            xml,
        })
    }

    fn text_field(&mut self, e: &BytesStart<'_>, empty: bool) -> Option<Text> {
        let lang = self.attr(e, "lang");
        let value = if empty { String::new() } else { self.text() };
        Some(Text {
            value: self.value(value)?,
            lang,
        })
    }

    fn icon(&mut self, e: &BytesStart<'_>, empty: bool) -> Option<Icon> {
        let mut icon = Icon::default();
        for (k, v) in self.attrs(e) {
            match k.as_str() {
                "src" => icon.src = v,
                "width" => icon.width = Some(v),
                "height" => icon.height = Some(v),
                _ => {}
            }
        }
        if !empty {
            self.skip();
        }
        (!icon.src.is_empty()).then_some(icon)
    }

    /// Reads children until the element's end, calling `child` for each (start, empty).
    fn children(&mut self, mut child: impl FnMut(&mut Self, &BytesStart<'a>, bool)) {
        while let Some(ev) = self.event() {
            match ev {
                Event::Start(e) => child(self, &e, false),
                Event::Empty(e) => child(self, &e, true),
                Event::End(_) => break,
                _ => {}
            }
        }
    }

    fn channel(&mut self) -> Option<Channel> {
        let (head, empty) = match self.event()? {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            _ => return None,
        };
        let mut c = Channel {
            id: self.attr(&head, "id")?,
            ..Channel::default()
        };
        if empty {
            return Some(c);
        }
        self.children(|p, e, empty| {
            if !p.room() {
                if !empty {
                    p.skip();
                }
                return;
            }
            match e.name().as_ref() {
                "display-name" => c.display_names.extend(p.text_field(e, empty)),
                "icon" => c.icons.extend(p.icon(e, empty)),
                "url" => {
                    let system = p.attr(e, "system");
                    let value = if empty { String::new() } else { p.text() };
                    if let Some(value) = p.value(value) {
                        c.urls.push(Url { value, system });
                    }
                }
                _ => c.extras.extend(p.extra(e, empty)),
            }
        });
        Some(c)
    }

    fn programme(&mut self) -> Option<Programme> {
        let (head, empty) = match self.event()? {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            _ => return None,
        };
        let mut prog = Programme::default();
        let mut start = None;
        let mut channel = None;
        for (k, v) in self.attrs(&head) {
            match k.as_str() {
                "channel" => channel = Some(v),
                "start" => start = parse_time(&v),
                "stop" => {
                    prog.stop = parse_time(&v);
                    if prog.stop.is_none() {
                        self.bad_stops += 1;
                    }
                }
                _ => prog.attrs.push((k, v)),
            }
        }
        prog.channel = channel?;
        prog.start = start?;
        if empty {
            return Some(prog);
        }
        self.children(|p, e, empty| {
            if !p.room() {
                if !empty {
                    p.skip();
                }
                return;
            }
            match e.name().as_ref() {
                "title" => prog.titles.extend(p.text_field(e, empty)),
                "sub-title" => prog.sub_titles.extend(p.text_field(e, empty)),
                "desc" => prog.descs.extend(p.text_field(e, empty)),
                "category" => prog.categories.extend(p.text_field(e, empty)),
                "date" => {
                    let v = if empty { String::new() } else { p.text() };
                    if prog.date.is_none() {
                        prog.date = p.value(v);
                    }
                }
                "icon" => prog.icons.extend(p.icon(e, empty)),
                "episode-num" => {
                    let system = p.attr(e, "system");
                    let value = if empty { String::new() } else { p.text() };
                    if let Some(value) = p.value(value) {
                        prog.episode_nums.push(EpisodeNum { value, system });
                    }
                }
                "rating" => {
                    let mut r = Rating {
                        system: p.attr(e, "system"),
                        ..Rating::default()
                    };
                    if !empty {
                        p.children(|p, e, empty| match e.name().as_ref() {
                            "value" if !empty => {
                                let v = p.text();
                                r.value = p.value(v).unwrap_or_default();
                            }
                            "icon" => r.icons.extend(p.icon(e, empty)),
                            _ if !empty => p.skip(),
                            _ => {}
                        });
                    }
                    prog.ratings.push(r);
                }
                "credits" if !empty => p.children(|p, e, empty| {
                    let mut credit = Credit {
                        kind: e.name().as_ref().to_owned(),
                        role: p.attr(e, "role"),
                        guest: p.attr(e, "guest"),
                        ..Credit::default()
                    };
                    if !empty {
                        let (name, extra) = p.mixed();
                        credit.name = p.value(name).unwrap_or_default();
                        credit.extra = p.value(extra).unwrap_or_default();
                    }
                    if p.room() {
                        prog.credits.push(credit);
                    }
                }),
                "credits" => {}
                _ => prog.extras.extend(p.extra(e, empty)),
            }
        });
        Some(prog)
    }
}

/// Everything [`read_all`] read.
#[derive(Debug, Clone)]
pub struct ReadAll {
    /// Channel definitions in order.
    pub channels: Vec<Channel>,
    /// Selected programmes in order.
    pub programmes: Vec<Programme>,
    /// What the reader met.
    pub stats: ReadStats,
    /// How the input ended (what was read before an error is kept above).
    pub result: Result<(), XmltvError>,
}

/// Reads a whole guide held in memory (plain or gzip).
pub fn read_all(input: &[u8], select: &mut impl Select) -> ReadAll {
    let mut reader = Reader::new();
    reader.feed(input);
    reader.finish();
    let mut all = ReadAll {
        channels: Vec::new(),
        programmes: Vec::new(),
        stats: ReadStats::default(),
        result: Ok(()),
    };
    all.result = loop {
        match reader.next(select) {
            Ok(Step::Channel(c)) => all.channels.push(c),
            Ok(Step::Programme(p)) => all.programmes.push(p),
            Ok(Step::NeedMore) => continue,
            Ok(Step::End) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    all.stats = reader.stats();
    all
}
