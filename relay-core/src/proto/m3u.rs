//! IPTV extended-M3U playlists: a streaming, tolerant parser and a writer.
//!
//! Real playlists are messy: BOMs, CRLF, missing quotes, commas inside names, non-UTF-8 bytes,
//! per-entry request options in four different dialects. The parser accepts all of it, never
//! panics, and keeps what it does not understand so a write after a parse loses nothing.
//!
//! # How lines are read
//!
//! - Lines end at LF, CR LF or a lone CR. A UTF-8 byte-order mark opening the input is skipped.
//! - Each line is decoded on its own: as UTF-8 when it is valid UTF-8, otherwise as
//!   Windows-1252 (the superset of Latin-1 that legacy playlists are written in; the five bytes
//!   it leaves undefined map to the C1 controls of the same value). A line is never rejected
//!   for its encoding.
//! - Lines are trimmed of ASCII whitespace; blank lines are ignored; tag names are matched
//!   ASCII case-insensitively.
//! - A line longer than [`MAX_LINE_BYTES`] is skipped and counted in
//!   [`Playlist::skipped_lines`]; the parser never buffers more than that.
//!
//! # How entries are built
//!
//! Tags and options gather into a pending entry that the next URL line (any other non-`#`
//! line) completes, so `#EXTVLCOPT`, `#EXTGRP` or comments written before `#EXTINF` belong to the
//! entry that follows. An `#EXTINF` followed by another `#EXTINF` before any URL is dropped with
//! everything gathered for it (counted as skipped), and so is whatever is pending at the end of
//! input. A URL line without `#EXTINF` still makes an entry (duration `-1`, empty name). A URL
//! line whose URL part (before `|`) is empty is stray text: skipped. Only the first `#EXTM3U`
//! line gives header attributes; later ones (concatenated playlists repeat it) are ignored.
//!
//! `#EXTINF:<duration> key="v" key2='v2' key3=v3,<title>`:
//! - the duration is the first token; missing, it is `-1`;
//! - values may be double-quoted, single-quoted, or bare (a bare value ends at whitespace, `,`
//!   or `"`); an unterminated quoted value ends at the next `,` (or the end of the line);
//! - the title is the trimmed text after the first comma outside a quoted value;
//! - without such a comma, the title is the text from the first word that is not `key=value`
//!   to the end of the line (attributes after that word are part of the title), or empty;
//! - a word that is not `key=value` before the title comma is dropped;
//! - keys are kept as written and looked up ASCII case-insensitively; an empty key is dropped;
//!   at most [`MAX_ATTRS`] attributes are kept.
//!
//! # Round trips
//!
//! For any input, `parse(&write(&parse(x), opts))` equals `parse(x)` except for
//! `skipped_lines` (with `request_options: true`, and as long as no rewritten line grows past
//! [`MAX_LINE_BYTES`]: quoting bare values and re-encoding Windows-1252 text as UTF-8 lengthen
//! lines). Lines are rewritten in canonical form (upper-case tags, quoted values, one `#EXTINF`
//! layout), so a second write is byte-identical to the first.

use super::json;
use memchr::{memchr, memchr2, memchr3};
use std::borrow::Cow;
use std::mem;

/// Longest line the parser accepts; a longer line is skipped (and counted in
/// [`Playlist::skipped_lines`]), never buffered without bound.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most attributes kept on one `#EXTINF` or `#EXTM3U` line; further ones are dropped.
pub const MAX_ATTRS: usize = 64;

/// The UTF-8 byte-order mark, skipped at the start of the input.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A parsed playlist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Playlist {
    /// `#EXTM3U` attributes in order (`url-tvg`, `x-tvg-url`, `tvg-shift`, `catchup`, unknown ones).
    pub header_attrs: Vec<(String, String)>,
    /// Entries in order.
    pub entries: Vec<Entry>,
    /// Lines skipped as over-long or meaningless (stray text).
    pub skipped_lines: usize,
}

impl Playlist {
    /// A header attribute by name (ASCII case-insensitive).
    pub fn header_attr(&self, name: &str) -> Option<&str> {
        find_attr(&self.header_attrs, name)
    }
}

/// One channel or item of a playlist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The `#EXTINF` duration as written (`-1`, `0`, `10.5`); `-1` when there was no `#EXTINF`.
    pub duration: String,
    /// `#EXTINF` attributes in order: `tvg-id`, `tvg-name`, `tvg-logo`, `tvg-chno`, `group-title`,
    /// catch-up attributes (`catchup`, `catchup-days`, `catchup-source`, ...), unknown ones too.
    pub attrs: Vec<(String, String)>,
    /// The title after the first top-level comma of `#EXTINF` (commas inside it kept).
    pub name: String,
    /// `#EXTGRP:` value, if present.
    pub extgrp: Option<String>,
    /// The stream URL with any `|Header=...` suffix removed, whitespace trimmed.
    pub url: String,
    /// Request options, each kept as written for round trips, in order of appearance:
    /// `#EXTVLCOPT:`, `#KODIPROP:`, `#EXTHTTP:` lines and the `|...` URL suffix.
    pub options: Vec<RequestOption>,
    /// Other lines between `#EXTINF` and the URL, verbatim (e.g. unknown `#EXT...` tags).
    /// Unknown lines just before the `#EXTINF` land here too; all are trimmed.
    pub extra_lines: Vec<String>,
}

/// A per-entry request option as written in the playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOption {
    /// `#EXTVLCOPT:key=value` (e.g. `http-user-agent`, `http-referrer`, `http-origin`).
    VlcOpt { key: String, value: String },
    /// `#KODIPROP:key=value` (e.g. `inputstream.adaptive.stream_headers`).
    KodiProp { key: String, value: String },
    /// `#EXTHTTP:{json}` raw JSON text.
    ExtHttp(String),
    /// The `|User-Agent=...&Referer=...` suffix of the URL, raw (without the `|`).
    UrlSuffix(String),
}

impl Entry {
    /// An `#EXTINF` attribute by name (ASCII case-insensitive).
    pub fn attr(&self, name: &str) -> Option<&str> {
        find_attr(&self.attrs, name)
    }
    /// `group-title`, else `#EXTGRP` (an empty or blank `group-title` counts as absent).
    pub fn group(&self) -> Option<&str> {
        self.attr("group-title")
            .filter(|g| !g.trim().is_empty())
            .or(self.extgrp.as_deref())
    }
    /// The HTTP headers the relay must send upstream for this entry, merged from all request
    /// options (later options win for the same header, case-insensitively), with canonical names
    /// (`User-Agent`, `Referer`, `Origin`, `Cookie`, ...). VLC keys map: `http-user-agent` →
    /// `User-Agent`, `http-referrer`/`http-referer` → `Referer`, `http-origin` → `Origin`,
    /// `http-cookie` → `Cookie`. Values with CR/LF/NUL are dropped.
    ///
    /// `#KODIPROP:inputstream.adaptive.{stream,manifest,common}_headers` and the URL suffix are
    /// `Name=value&Name2=value2` lists, percent-decoded the way Kodi does (`+` is a space);
    /// `#EXTHTTP:` is a flat JSON object. Other VLC and Kodi keys are ignored. Names that are not
    /// HTTP tokens are dropped; values are trimmed of surrounding whitespace.
    pub fn upstream_headers(&self) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        for opt in &self.options {
            match opt {
                RequestOption::VlcOpt { key, value } => {
                    if let Some(name) = vlc_header_name(key.trim_ascii()) {
                        set_header(&mut headers, name, value);
                    }
                }
                RequestOption::KodiProp { key, value } => {
                    let key = key.trim_ascii();
                    if KODI_HEADER_PROPS
                        .iter()
                        .any(|p| key.eq_ignore_ascii_case(p))
                    {
                        set_form_headers(&mut headers, value);
                    }
                }
                RequestOption::ExtHttp(raw) => {
                    for (name, value) in json::parse_flat_object(raw).unwrap_or_default() {
                        set_header(
                            &mut headers,
                            canonical_header_name(name.trim_ascii()),
                            &value,
                        );
                    }
                }
                RequestOption::UrlSuffix(suffix) => set_form_headers(&mut headers, suffix),
            }
        }
        headers
    }
}

fn find_attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Kodi properties whose value is a `Name=value&...` header list.
const KODI_HEADER_PROPS: [&str; 3] = [
    "inputstream.adaptive.stream_headers",
    "inputstream.adaptive.manifest_headers",
    "inputstream.adaptive.common_headers",
];

fn vlc_header_name(key: &str) -> Option<&'static str> {
    const MAP: [(&str, &str); 5] = [
        ("http-user-agent", "User-Agent"),
        ("http-referrer", "Referer"),
        ("http-referer", "Referer"),
        ("http-origin", "Origin"),
        ("http-cookie", "Cookie"),
    ];
    MAP.iter()
        .find(|(k, _)| key.eq_ignore_ascii_case(k))
        .map(|&(_, name)| name)
}

/// The usual spelling of the common request headers; other names are kept as written.
fn canonical_header_name(name: &str) -> &str {
    const MAP: [(&str, &str); 5] = [
        ("user-agent", "User-Agent"),
        ("referer", "Referer"),
        ("referrer", "Referer"),
        ("origin", "Origin"),
        ("cookie", "Cookie"),
    ];
    MAP.iter()
        .find(|(k, _)| name.eq_ignore_ascii_case(k))
        .map_or(name, |&(_, canonical)| canonical)
}

/// Applies a percent-encoded `Name=value&Name2=value2` list.
fn set_form_headers(headers: &mut Vec<(String, String)>, list: &str) {
    for pair in list.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name);
        set_header(
            headers,
            canonical_header_name(name.trim_ascii()),
            &percent_decode(value),
        );
    }
}

/// Sets `name: value`, replacing an earlier header of the same name (ASCII case-insensitive);
/// ignores names that are not HTTP tokens and values that could split the request head.
fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    if !is_http_token(name) || memchr3(b'\r', b'\n', 0, value.as_bytes()).is_some() {
        return;
    }
    let header = (name.to_owned(), value.trim_ascii().to_owned());
    match headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(slot) => *slot = header,
        None => headers.push(header),
    }
}

/// RFC 9110 `token`: one or more of `!#$%&'*+-.^_`|~`, digits and letters.
fn is_http_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Decodes `%XX` escapes and `+` (as a space), Kodi style, with [`super::uri::percent_decode`]
/// (a `%` not followed by two hex digits is kept as is); bytes that do not form UTF-8 become
/// U+FFFD.
fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&super::uri::percent_decode(s.as_bytes(), true)).into_owned()
}

/// Streaming parser: feed bytes as they arrive, take entries as they complete.
#[derive(Debug, Default)]
pub struct Parser {
    /// The start of a line whose end has not arrived yet; never longer than [`MAX_LINE_BYTES`],
    /// so a hostile source cannot make the parser buffer without bound.
    partial: Vec<u8>,
    /// The current line outgrew [`MAX_LINE_BYTES`]: its remaining bytes are dropped up to its
    /// end, which then counts one skipped line.
    overlong: bool,
    /// The last chunk ended with CR: an LF opening the next chunk belongs to that CR LF and
    /// must not end a second (empty) line.
    after_cr: bool,
    /// At least one line has ended; only the first line may start with a BOM.
    started: bool,
    /// The first `#EXTM3U` line has been read; later ones (concatenated playlists) are ignored.
    seen_header: bool,
    /// Attributes of the first `#EXTM3U` line.
    header_attrs: Vec<(String, String)>,
    /// What has been gathered for the entry the next URL line will complete.
    pending: Entry,
    /// `pending` has had its `#EXTINF`.
    pending_extinf: bool,
    /// Lines skipped so far.
    skipped_lines: usize,
}

impl Parser {
    /// A parser at the start of a playlist.
    pub fn new() -> Self {
        Self::default()
    }
    /// Feeds a chunk (any split, even inside a line or a UTF-8 sequence) and appends completed
    /// entries to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Entry>) {
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            rest = rest.strip_prefix(b"\n").unwrap_or(rest);
        }
        while let Some(i) = memchr2(b'\n', b'\r', rest) {
            self.end_line(&rest[..i], out);
            let cr = rest[i] == b'\r';
            rest = &rest[i + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.extend_partial(rest);
    }
    /// Ends the input and returns the playlist header (attrs, skipped count); remaining entries
    /// are appended to `out`.
    pub fn finish(mut self, out: &mut Vec<Entry>) -> Playlist {
        if self.overlong || !self.partial.is_empty() {
            self.end_line(&[], out);
        }
        if self.pending_extinf || self.pending != Entry::default() {
            self.skipped_lines += 1;
        }
        Playlist {
            header_attrs: self.header_attrs,
            entries: Vec::new(),
            skipped_lines: self.skipped_lines,
        }
    }

    /// Keeps the start of an unfinished line, or gives up on it once it is too long.
    fn extend_partial(&mut self, bytes: &[u8]) {
        if self.overlong {
            return;
        }
        if self.partial.len() + bytes.len() > MAX_LINE_BYTES {
            self.overlong = true;
            self.partial.clear();
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// Ends the current line, whose last bytes (terminator excluded) are `tail`.
    fn end_line(&mut self, tail: &[u8], out: &mut Vec<Entry>) {
        let first = !mem::replace(&mut self.started, true);
        if mem::take(&mut self.overlong) {
            self.skipped_lines += 1;
        } else if self.partial.is_empty() {
            self.line(tail, first, out);
        } else {
            let mut line = mem::take(&mut self.partial);
            line.extend_from_slice(tail);
            self.line(&line, first, out);
            line.clear();
            self.partial = line;
        }
    }

    fn line(&mut self, bytes: &[u8], first: bool, out: &mut Vec<Entry>) {
        if bytes.len() > MAX_LINE_BYTES {
            self.skipped_lines += 1;
            return;
        }
        let bytes = if first {
            bytes.strip_prefix(BOM).unwrap_or(bytes)
        } else {
            bytes
        };
        let text = decode_line(bytes);
        let line = text.trim_ascii();
        if line.is_empty() {
            return;
        }
        if line.starts_with('#') {
            self.tag(line);
        } else if let Some(entry) = self.url_line(line) {
            out.push(entry);
        }
    }

    fn tag(&mut self, line: &str) {
        if let Some(rest) = strip_tag(line, "#EXTINF:") {
            if mem::replace(&mut self.pending_extinf, true) {
                // The previous #EXTINF never got its URL.
                self.pending = Entry::default();
                self.skipped_lines += 1;
            }
            let (duration, attrs, name) = parse_extinf(rest);
            self.pending.duration = duration.to_owned();
            self.pending.attrs = attrs;
            self.pending.name = name.to_owned();
        } else if let Some(rest) = strip_tag(line, "#EXTGRP:") {
            let group = rest.trim_ascii();
            if !group.is_empty() {
                self.pending.extgrp = Some(group.to_owned());
            }
        } else if let Some(rest) = strip_tag(line, "#EXTVLCOPT:") {
            let (key, value) = split_option(rest);
            self.pending
                .options
                .push(RequestOption::VlcOpt { key, value });
        } else if let Some(rest) = strip_tag(line, "#KODIPROP:") {
            let (key, value) = split_option(rest);
            self.pending
                .options
                .push(RequestOption::KodiProp { key, value });
        } else if let Some(rest) = strip_tag(line, "#EXTHTTP:") {
            self.pending
                .options
                .push(RequestOption::ExtHttp(rest.to_owned()));
        } else if let Some(rest) = strip_tag(line, "#EXTM3U")
            .filter(|r| r.is_empty() || r.starts_with(|c: char| c.is_ascii_whitespace()))
        {
            if !mem::replace(&mut self.seen_header, true) {
                parse_attrs(rest, &mut self.header_attrs, false);
            }
        } else {
            self.pending.extra_lines.push(line.to_owned());
        }
    }

    /// Completes the pending entry with a (trimmed, non-blank) URL line.
    fn url_line(&mut self, line: &str) -> Option<Entry> {
        let (url, suffix) = match line.split_once('|') {
            Some((url, suffix)) => (url.trim_ascii_end(), suffix),
            None => (line, ""),
        };
        if url.is_empty() {
            self.skipped_lines += 1;
            return None;
        }
        let mut entry = mem::take(&mut self.pending);
        if !mem::take(&mut self.pending_extinf) {
            entry.duration = "-1".to_owned();
        }
        entry.url = url.to_owned();
        if !suffix.is_empty() {
            entry
                .options
                .push(RequestOption::UrlSuffix(suffix.to_owned()));
        }
        Some(entry)
    }
}

/// Decodes one line: UTF-8 if valid, else Windows-1252.
fn decode_line(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| windows_1252(b)).collect()),
    }
}

fn windows_1252(b: u8) -> char {
    /// 0x80..=0x9F; the five bytes Windows-1252 leaves undefined map to the C1 controls.
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}',
        '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}',
        '\u{178}',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// `line` without its tag `tag` (matched ASCII case-insensitively).
fn strip_tag<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    let head = line.get(..tag.len())?;
    head.eq_ignore_ascii_case(tag).then(|| &line[tag.len()..])
}

/// `key=value` of an option line; without `=`, the whole text is the key.
fn split_option(s: &str) -> (String, String) {
    let (key, value) = s.split_once('=').unwrap_or((s, ""));
    (key.to_owned(), value.to_owned())
}

/// Splits the text after `#EXTINF:` into duration, attributes and title.
fn parse_extinf(s: &str) -> (&str, Vec<(String, String)>, &str) {
    let s = s.trim_ascii_start();
    let end = find_byte(s, |b| b.is_ascii_whitespace() || b == b',');
    let token = &s[..end];
    // A token with `=` is an attribute glued to the duration (`-1tvg-id="x"`) or standing in
    // for a missing one: keep its leading number only.
    let duration_len = if token.contains('=') {
        find_byte(token, |b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.'))
    } else {
        token.len()
    };
    let (duration, rest) = s.split_at(duration_len);
    let mut attrs = Vec::new();
    let title = parse_attrs(rest, &mut attrs, true);
    (
        if duration.is_empty() { "-1" } else { duration },
        attrs,
        title,
    )
}

/// Parses `key=value` attributes of `s` into `attrs` (see the module docs for the syntax).
/// With `titled`, returns the title; without, commas are separators and no title is looked for.
fn parse_attrs<'a>(mut s: &'a str, attrs: &mut Vec<(String, String)>, titled: bool) -> &'a str {
    // Where the first word that is not `key=value` started, and how many attributes preceded it.
    let mut bare: Option<(&'a str, usize)> = None;
    loop {
        s = s.trim_ascii_start();
        match s.as_bytes().first() {
            None => break,
            Some(b',') if titled => return s[1..].trim_ascii(),
            Some(b',') => {
                s = &s[1..];
                continue;
            }
            Some(_) => {}
        }
        let start = s;
        let key_end = find_byte(s, |b| b == b'=' || b == b',' || b.is_ascii_whitespace());
        let key = &s[..key_end];
        s = &s[key_end..];
        let Some(after_eq) = s.strip_prefix('=') else {
            bare.get_or_insert((start, attrs.len()));
            continue;
        };
        let value;
        (value, s) = split_value(after_eq);
        if !key.is_empty() && attrs.len() < MAX_ATTRS {
            attrs.push((key.to_owned(), value.to_owned()));
        }
    }
    match bare {
        Some((start, n)) if titled => {
            attrs.truncate(n);
            start.trim_ascii()
        }
        _ => "",
    }
}

/// Splits an attribute value off the start of `s` (just after `=`): `(value, rest)`.
fn split_value(s: &str) -> (&str, &str) {
    match s.as_bytes().first() {
        Some(&quote @ (b'"' | b'\'')) => {
            let body = &s[1..];
            match memchr(quote, body.as_bytes()) {
                Some(i) => (&body[..i], &body[i + 1..]),
                // Unterminated: the value ends where the title would begin.
                None => body.split_at(body.find(',').unwrap_or(body.len())),
            }
        }
        _ => s.split_at(find_byte(s, |b| {
            b.is_ascii_whitespace() || b == b',' || b == b'"'
        })),
    }
}

/// Offset of the first byte of `s` for which `stop` holds, else `s.len()`; faster than a
/// search by `char`. The offset is a char boundary if `stop` treats all non-ASCII bytes alike
/// (all stop or none does): the first non-ASCII byte reached starts a char.
fn find_byte(s: &str, stop: impl Fn(u8) -> bool) -> usize {
    s.bytes().position(stop).unwrap_or(s.len())
}

/// Parses a whole playlist in memory.
pub fn parse(input: &[u8]) -> Playlist {
    let mut p = Parser::new();
    let mut entries = Vec::new();
    p.feed(input, &mut entries);
    let mut pl = p.finish(&mut entries);
    pl.entries = entries;
    pl
}

/// What the writer emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Write `#EXTVLCOPT`/`#KODIPROP`/`#EXTHTTP` lines and the `|...` suffix (true for round
    /// trips; the relay's own playlist sets false because the relay applies them itself).
    pub request_options: bool,
}

/// Writes `#EXTM3U` with `header_attrs`, then one entry (`#EXTINF`, `#EXTGRP`, options, extra
/// lines, URL) at a time. `url` overrides the entry's URL (e.g. the relay URL).
///
/// Attribute values are written in double quotes. M3U has no escape, so a value holding `"` is
/// written in single quotes instead, or, if it holds `'` as well, with each `"` replaced by `'`.
/// CR and LF in any written field become spaces: a field never starts a line of its own.
pub fn write_header(out: &mut Vec<u8>, header_attrs: &[(String, String)]) {
    out.extend_from_slice(b"#EXTM3U");
    for (key, value) in header_attrs {
        write_attr(out, key, value);
    }
    out.push(b'\n');
}

/// Writes one entry; see [`write_header`]. An empty duration is written as `-1`; an extra line
/// that does not start with `#` is written after a `#` so it cannot become a URL line.
pub fn write_entry(out: &mut Vec<u8>, entry: &Entry, url: &str, opts: WriteOptions) {
    out.extend_from_slice(b"#EXTINF:");
    let duration = if entry.duration.is_empty() {
        "-1"
    } else {
        &entry.duration
    };
    write_field(out, duration);
    for (key, value) in &entry.attrs {
        write_attr(out, key, value);
    }
    out.push(b',');
    write_line_end(out, &entry.name);
    if let Some(group) = &entry.extgrp {
        out.extend_from_slice(b"#EXTGRP:");
        write_line_end(out, group);
    }
    if opts.request_options {
        for opt in &entry.options {
            let (tag, key, value) = match opt {
                RequestOption::VlcOpt { key, value } => ("#EXTVLCOPT:", key, value),
                RequestOption::KodiProp { key, value } => ("#KODIPROP:", key, value),
                RequestOption::ExtHttp(raw) => {
                    out.extend_from_slice(b"#EXTHTTP:");
                    write_line_end(out, raw);
                    continue;
                }
                RequestOption::UrlSuffix(_) => continue,
            };
            out.extend_from_slice(tag.as_bytes());
            write_field(out, key);
            out.push(b'=');
            write_line_end(out, value);
        }
    }
    for line in &entry.extra_lines {
        if !line.starts_with('#') {
            out.push(b'#');
        }
        write_line_end(out, line);
    }
    write_field(out, url);
    if opts.request_options {
        for opt in &entry.options {
            if let RequestOption::UrlSuffix(suffix) = opt {
                out.push(b'|');
                write_field(out, suffix);
            }
        }
    }
    out.push(b'\n');
}

/// Writes a whole playlist with its own URLs.
pub fn write(playlist: &Playlist, opts: WriteOptions) -> Vec<u8> {
    let mut out = Vec::new();
    write_header(&mut out, &playlist.header_attrs);
    for e in &playlist.entries {
        write_entry(&mut out, e, &e.url, opts);
    }
    out
}

/// ` key="value"` (see [`write_header`] for the quoting).
fn write_attr(out: &mut Vec<u8>, key: &str, value: &str) {
    out.push(b' ');
    write_field(out, key);
    out.push(b'=');
    let has_double = value.contains('"');
    if has_double && !value.contains('\'') {
        out.push(b'\'');
        write_field(out, value);
        out.push(b'\'');
    } else if has_double {
        out.push(b'"');
        write_field(out, &value.replace('"', "'"));
        out.push(b'"');
    } else {
        out.push(b'"');
        write_field(out, value);
        out.push(b'"');
    }
}

/// `field` then the line end.
fn write_line_end(out: &mut Vec<u8>, field: &str) {
    write_field(out, field);
    out.push(b'\n');
}

/// `field` with CR and LF replaced by spaces.
fn write_field(out: &mut Vec<u8>, field: &str) {
    let bytes = field.as_bytes();
    if memchr2(b'\r', b'\n', bytes).is_none() {
        out.extend_from_slice(bytes);
    } else {
        out.extend(bytes.iter().map(|&b| match b {
            b'\r' | b'\n' => b' ',
            _ => b,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ROUND_TRIP: WriteOptions = WriteOptions {
        request_options: true,
    };

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|&(k, v)| (k.into(), v.into())).collect()
    }

    fn vlc(key: &str, value: &str) -> RequestOption {
        RequestOption::VlcOpt {
            key: key.into(),
            value: value.into(),
        }
    }

    fn kodi(key: &str, value: &str) -> RequestOption {
        RequestOption::KodiProp {
            key: key.into(),
            value: value.into(),
        }
    }

    /// Parses `input` fed in pieces cut at the (sorted) offsets `cuts`.
    fn parse_split(input: &[u8], cuts: &[usize]) -> Playlist {
        let mut parser = Parser::new();
        let mut entries = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain([&input.len()]) {
            parser.feed(&input[start..cut], &mut entries);
            start = cut;
        }
        let mut playlist = parser.finish(&mut entries);
        playlist.entries = entries;
        playlist
    }

    /// Checks the round-trip properties of the module docs on `input`; returns its parse.
    fn assert_round_trip(input: &[u8]) -> Playlist {
        let parsed = parse(input);
        let written = write(&parsed, ROUND_TRIP);
        let mut reparsed = parse(&written);
        assert_eq!(reparsed.skipped_lines, 0);
        reparsed.skipped_lines = parsed.skipped_lines;
        assert_eq!(
            reparsed,
            parsed,
            "written:\n{}",
            String::from_utf8_lossy(&written)
        );
        assert_eq!(write(&reparsed, ROUND_TRIP), written);
        parsed
    }

    const MESSY: &[u8] = b"\xEF\xBB\xBF#EXTM3U url-tvg=\"http://epg/a.xml.gz\" x-tvg-url='http://epg/b.xml' tvg-shift=2, catchup=\"append\" custom=\"a, b\"\r\n\
\r\n\
#EXTINF:-1 tvg-id=\"cnn.us\" tvg-name=\"CNN, Intl\" tvg-logo=http://logo/cnn.png group-title='News',CNN, International HD\r\n\
http://up/cnn.ts\r\n\
   \r\n\
#EXTINF:-1,Plain\r\n\
http://up/plain\r\n\
#EXTINF:-1 tvg-id=\"x\" ,Spaced  \r\n\
   http://up/x.m3u8   \r\n";

    #[test]
    fn messy_sample() {
        let p = assert_round_trip(MESSY);
        assert_eq!(
            p.header_attrs,
            pairs(&[
                ("url-tvg", "http://epg/a.xml.gz"),
                ("x-tvg-url", "http://epg/b.xml"),
                ("tvg-shift", "2"),
                ("catchup", "append"),
                ("custom", "a, b"),
            ])
        );
        assert_eq!(p.header_attr("URL-TVG"), Some("http://epg/a.xml.gz"));
        assert_eq!(p.header_attr("missing"), None);
        assert_eq!(p.skipped_lines, 0);
        assert_eq!(
            p.entries,
            vec![
                Entry {
                    duration: "-1".into(),
                    attrs: pairs(&[
                        ("tvg-id", "cnn.us"),
                        ("tvg-name", "CNN, Intl"),
                        ("tvg-logo", "http://logo/cnn.png"),
                        ("group-title", "News"),
                    ]),
                    name: "CNN, International HD".into(),
                    url: "http://up/cnn.ts".into(),
                    ..Entry::default()
                },
                Entry {
                    duration: "-1".into(),
                    name: "Plain".into(),
                    url: "http://up/plain".into(),
                    ..Entry::default()
                },
                Entry {
                    duration: "-1".into(),
                    attrs: pairs(&[("tvg-id", "x")]),
                    name: "Spaced".into(),
                    url: "http://up/x.m3u8".into(),
                    ..Entry::default()
                },
            ]
        );
    }

    #[test]
    fn non_utf8_lines_are_windows_1252() {
        let p = assert_round_trip(
            b"#EXTINF:-1 tvg-name=\"Caf\xe9\",Caf\xe9 \x80 \x93q\x94\nhttp://x/\xe9\n\
              #EXTINF:-1,Caf\xc3\xa9 \xf0\x9f\x98\x80\nhttp://y\n",
        );
        assert_eq!(p.entries[0].attr("tvg-name"), Some("Café"));
        assert_eq!(p.entries[0].name, "Café € \u{201c}q\u{201d}");
        assert_eq!(p.entries[0].url, "http://x/é");
        assert_eq!(p.entries[1].name, "Café 😀");
    }

    #[test]
    fn request_options_and_headers() {
        let p = assert_round_trip(
            b"#EXTM3U\n\
              #EXTVLCOPT:http-user-agent=VLC/3\n\
              #EXTINF:-1 tvg-id=\"a\",A\n\
              #EXTVLCOPT:http-referrer=http://ref/\n\
              #EXTVLCOPT:network-caching=1000\n\
              #KODIPROP:inputstream.adaptive.manifest_type=hls\n\
              #KODIPROP:inputstream.adaptive.stream_headers=User-Agent=Kodi%2F20&Cookie=a%3Db+c\n\
              #EXTHTTP:{\"cookie\":\"from-json\",\"X-Token\":\"t1\"}\n\
              #EXTGRP:Sports\n\
              http://up/a.m3u8|user-agent=Suffix%20UA&Referer=http%3A%2F%2Fs%2F\n",
        );
        let e = &p.entries[0];
        assert_eq!(
            e.options,
            vec![
                vlc("http-user-agent", "VLC/3"),
                vlc("http-referrer", "http://ref/"),
                vlc("network-caching", "1000"),
                kodi("inputstream.adaptive.manifest_type", "hls"),
                kodi(
                    "inputstream.adaptive.stream_headers",
                    "User-Agent=Kodi%2F20&Cookie=a%3Db+c"
                ),
                RequestOption::ExtHttp(r#"{"cookie":"from-json","X-Token":"t1"}"#.into()),
                RequestOption::UrlSuffix("user-agent=Suffix%20UA&Referer=http%3A%2F%2Fs%2F".into()),
            ]
        );
        assert_eq!(e.url, "http://up/a.m3u8");
        assert_eq!(e.extgrp.as_deref(), Some("Sports"));
        assert_eq!(e.group(), Some("Sports"));
        assert_eq!(
            e.upstream_headers(),
            pairs(&[
                ("User-Agent", "Suffix UA"),
                ("Referer", "http://s/"),
                ("Cookie", "from-json"),
                ("X-Token", "t1"),
            ])
        );
    }

    #[test]
    fn header_sources_each_on_their_own() {
        let headers = |options: Vec<RequestOption>| {
            Entry {
                options,
                ..Entry::default()
            }
            .upstream_headers()
        };
        assert_eq!(
            headers(vec![
                vlc("HTTP-Referer", "r1"),
                vlc("http-origin", "o"),
                vlc("http-cookie", "c"),
            ]),
            pairs(&[("Referer", "r1"), ("Origin", "o"), ("Cookie", "c")])
        );
        assert_eq!(
            headers(vec![kodi(
                "inputstream.adaptive.manifest_headers",
                "referrer=a%20b&x-custom=1&&novalue"
            )]),
            pairs(&[("Referer", "a b"), ("x-custom", "1"), ("novalue", "")])
        );
        assert_eq!(
            headers(vec![RequestOption::UrlSuffix("Origin=o%&a%20b=1".into())]),
            pairs(&[("Origin", "o%")])
        );
        // Invalid JSON is ignored; numbers come through as text.
        assert_eq!(
            headers(vec![
                RequestOption::ExtHttp("{not json".into()),
                RequestOption::ExtHttp(r#"{"X-Num": 5, "Nested": {"a":"b"}}"#.into()),
                RequestOption::ExtHttp(r#"{"X-Num": 5}"#.into()),
            ]),
            pairs(&[("X-Num", "5")])
        );
    }

    #[test]
    fn unsafe_headers_are_dropped() {
        let e = Entry {
            options: vec![
                vlc("http-user-agent", "good"),
                RequestOption::ExtHttp(
                    r#"{"Bad Name":"x","User-Agent":"a\r\nInjected: 1","X-Nul":"a\u0000b","X-Good":"  v  ","":"e"}"#
                        .into(),
                ),
                RequestOption::UrlSuffix("Bad%20Name=1&X-A=%0d%0aEvil&Cookie=%00".into()),
            ],
            ..Entry::default()
        };
        assert_eq!(
            e.upstream_headers(),
            pairs(&[("User-Agent", "good"), ("X-Good", "v")])
        );
    }

    #[test]
    fn entries_without_extinf_and_stray_lines() {
        let p = assert_round_trip(
            b"http://bare/1\n\
              #EXTINF:-1,Lost\n\
              #EXTVLCOPT:http-user-agent=lost-too\n\
              #EXTINF:-1,Kept\n\
              # a comment\n\
              #EXT-X-UNKNOWN:1\n\
              http://kept\n\
              |User-Agent=stray\n\
              #EXTM3U late=\"ignored\"\n\
              #EXTINF:-1,Dangling\n",
        );
        assert_eq!(
            p.entries,
            vec![
                Entry {
                    duration: "-1".into(),
                    url: "http://bare/1".into(),
                    ..Entry::default()
                },
                Entry {
                    duration: "-1".into(),
                    name: "Kept".into(),
                    url: "http://kept".into(),
                    extra_lines: vec!["# a comment".into(), "#EXT-X-UNKNOWN:1".into()],
                    ..Entry::default()
                },
            ]
        );
        // Lost (and its option), the stray `|` line and Dangling.
        assert_eq!(p.skipped_lines, 3);
        assert_eq!(p.header_attrs, pairs(&[("late", "ignored")]));
    }

    #[test]
    fn line_endings_are_equivalent() {
        let lf = "#EXTM3U\n#EXTINF:-1,A\nhttp://a\n\n#EXTINF:-1,B\nhttp://b\n";
        let want = parse(lf.as_bytes());
        assert_eq!(want.entries.len(), 2);
        for ending in ["\r\n", "\r"] {
            assert_eq!(parse(lf.replace('\n', ending).as_bytes()), want);
        }
        let mixed = "#EXTM3U\r#EXTINF:-1,A\r\nhttp://a\n\r\n#EXTINF:-1,B\rhttp://b";
        assert_eq!(parse(mixed.as_bytes()), want);
    }

    #[test]
    fn split_feeding_matches_one_feed() {
        let mut input = MESSY.to_vec();
        input.extend_from_slice(
            b"#EXTVLCOPT:http-user-agent=X\r#EXTINF:-1,Caf\xe9\r\nhttp://x|Referer=r\r\
              #EXTINF:-1,\xf0\x9f\x98\x80 \xc3\xa9\nhttp://y",
        );
        let want = parse(&input);
        assert_eq!(want.entries.len(), 5);
        for cut in 0..=input.len() {
            assert_eq!(parse_split(&input, &[cut]), want, "cut at {cut}");
        }
        let every_byte: Vec<usize> = (0..=input.len()).collect();
        assert_eq!(parse_split(&input, &every_byte), want);
    }

    #[test]
    fn overlong_lines_are_skipped_with_bounded_buffer() {
        let longest = format!("#{}", "x".repeat(MAX_LINE_BYTES - 1));
        let too_long = format!("http://{}", "y".repeat(MAX_LINE_BYTES));
        let input = format!(
            "#EXTINF:-1,A\n{longest}\nhttp://a\n#EXTINF:-1,B\n{too_long}\nhttp://b\n{too_long}"
        );
        let one_feed = parse(input.as_bytes());
        assert_eq!(one_feed.skipped_lines, 2);
        assert_eq!(one_feed.entries.len(), 2);
        assert_eq!(one_feed.entries[0].extra_lines, vec![longest]);
        assert_eq!(one_feed.entries[1].name, "B");
        assert_eq!(one_feed.entries[1].url, "http://b");

        let mut parser = Parser::new();
        let mut entries = Vec::new();
        for chunk in input.as_bytes().chunks(1000) {
            parser.feed(chunk, &mut entries);
            assert!(parser.partial.len() <= MAX_LINE_BYTES);
        }
        let mut chunked = parser.finish(&mut entries);
        chunked.entries = entries;
        assert_eq!(chunked, one_feed);
    }

    /// Parses `line` followed by a URL and checks the entry's duration, attributes and title.
    fn check_extinf(line: &str, duration: &str, attrs: &[(&str, &str)], name: &str) {
        let p = assert_round_trip(format!("{line}\nhttp://u\n").as_bytes());
        let e = &p.entries[0];
        assert_eq!(
            (e.duration.as_str(), &e.attrs, e.name.as_str()),
            (duration, &pairs(attrs), name),
            "{line}"
        );
    }

    #[test]
    fn extinf_variants() {
        check_extinf("#EXTINF:-1,Name", "-1", &[], "Name");
        check_extinf(
            "#EXTINF:0 tvg-id=\"x\" ,Name",
            "0",
            &[("tvg-id", "x")],
            "Name",
        );
        check_extinf("#EXTINF: 10.5 ,", "10.5", &[], "");
        check_extinf("#EXTINF:-1", "-1", &[], "");
        check_extinf("#EXTINF:,N", "-1", &[], "N");
        // Missing comma: no title, or the text from the first word that is not key=value.
        let attrs = [("tvg-id", "x"), ("tvg-name", "A")];
        check_extinf("#EXTINF:-1 tvg-id=\"x\" tvg-name=\"A\"", "-1", &attrs, "");
        let line = "#EXTINF:-1 tvg-id=\"x\" CNN  International tvg-logo=\"l\"";
        check_extinf(line, "-1", &attrs[..1], "CNN  International tvg-logo=\"l\"");
        // Quoting: none, single, double, unterminated.
        check_extinf(
            "#EXTINF:-1 tvg-id=cnn.us,Name",
            "-1",
            &[("tvg-id", "cnn.us")],
            "Name",
        );
        check_extinf("#EXTINF:-1 a=b\"c\",T", "-1", &[("a", "b")], "T");
        let attrs = [("a", "it\"s"), ("b", "it's")];
        check_extinf("#EXTINF:-1 a='it\"s' b=\"it's\",T", "-1", &attrs, "T");
        let attrs = [("tvg-logo", "http://a/b.png")];
        check_extinf(
            "#EXTINF:-1 tvg-logo=\"http://a/b.png,CNN",
            "-1",
            &attrs,
            "CNN",
        );
        check_extinf(
            "#EXTINF:-1 tvg-name=\"open",
            "-1",
            &[("tvg-name", "open")],
            "",
        );
        // Glued or missing duration.
        check_extinf("#EXTINF:-1tvg-id=\"x\",N", "-1", &[("tvg-id", "x")], "N");
        check_extinf("#EXTINF:tvg-id=\"x\",N", "-1", &[("tvg-id", "x")], "N");
        // Keys as written; stray words and empty keys dropped; commas after the first kept.
        check_extinf("#extinf:-1 TVG-ID=\"x\",N", "-1", &[("TVG-ID", "x")], "N");
        check_extinf("#EXTINF:-1 stray a=\"1\",T", "-1", &[("a", "1")], "T");
        check_extinf("#EXTINF:-1 =\"x\" a=\"\",T", "-1", &[("a", "")], "T");
        let attrs = [("a", "1"), ("b", "2")];
        check_extinf("#EXTINF:-1 a=\"1\"b=\"2\",T,U", "-1", &attrs, "T,U");
    }

    #[test]
    fn lookups() {
        let p = parse(
            b"#EXTINF:-1 TVG-Name=\"N\" group-title=\" \",A\n#EXTGRP:G\nhttp://a\n\
              #EXTINF:-1 group-title=\"News\",B\n#EXTGRP:G\nhttp://b\n#EXTINF:-1,C\nhttp://c\n",
        );
        assert_eq!(p.entries[0].attr("tvg-name"), Some("N"));
        assert_eq!(p.entries[0].group(), Some("G"));
        assert_eq!(p.entries[1].group(), Some("News"));
        assert_eq!(p.entries[2].group(), None);
    }

    #[test]
    fn attrs_are_capped() {
        let attrs: String = (0..MAX_ATTRS + 10)
            .map(|i| format!(" a{i}=\"{i}\""))
            .collect();
        let p =
            assert_round_trip(format!("#EXTM3U{attrs}\n#EXTINF:-1{attrs},T\nhttp://u").as_bytes());
        assert_eq!(p.header_attrs.len(), MAX_ATTRS);
        assert_eq!(p.entries[0].attrs.len(), MAX_ATTRS);
        assert_eq!(p.entries[0].name, "T");
    }

    #[test]
    fn writer_output() {
        let entry = Entry {
            duration: "-1".into(),
            attrs: pairs(&[
                ("tvg-id", "a\"b"),
                ("tvg-name", "x\"y'z"),
                ("group-title", "News\r\n#EXTINF:-1,Evil"),
            ]),
            name: "Na,me\nhttp://evil".into(),
            extgrp: Some("G".into()),
            url: "http://up".into(),
            options: vec![
                vlc("http-user-agent", "UA"),
                RequestOption::UrlSuffix("Referer=r".into()),
                kodi("k", "v\rx"),
                RequestOption::ExtHttp(r#"{"a":"b"}"#.into()),
            ],
            extra_lines: vec!["#EXT-X-FOO".into(), "not a comment".into()],
        };
        let mut out = Vec::new();
        write_header(&mut out, &pairs(&[("url-tvg", "http://e")]));
        write_entry(&mut out, &entry, "http://relay/stream/1", ROUND_TRIP);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "#EXTM3U url-tvg=\"http://e\"\n\
             #EXTINF:-1 tvg-id='a\"b' tvg-name=\"x'y'z\" group-title=\"News  #EXTINF:-1,Evil\",Na,me http://evil\n\
             #EXTGRP:G\n\
             #EXTVLCOPT:http-user-agent=UA\n\
             #KODIPROP:k=v x\n\
             #EXTHTTP:{\"a\":\"b\"}\n\
             #EXT-X-FOO\n\
             #not a comment\n\
             http://relay/stream/1|Referer=r\n"
        );
        let p = parse(&out);
        assert_eq!(p.entries.len(), 1);
        assert_eq!(
            p.entries[0].attr("group-title"),
            Some("News  #EXTINF:-1,Evil")
        );

        let mut plain = Vec::new();
        let no_options = WriteOptions {
            request_options: false,
        };
        write_entry(&mut plain, &Entry::default(), "http://u", no_options);
        write_entry(&mut plain, &entry, "http://relay/stream/1", no_options);
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            "#EXTINF:-1,\nhttp://u\n\
             #EXTINF:-1 tvg-id='a\"b' tvg-name=\"x'y'z\" group-title=\"News  #EXTINF:-1,Evil\",Na,me http://evil\n\
             #EXTGRP:G\n#EXT-X-FOO\n#not a comment\nhttp://relay/stream/1\n"
        );
    }

    #[derive(Debug, Clone, Copy)]
    enum Quote {
        Double,
        Single,
        Bare,
    }

    /// An attribute: key, value, and how the value is quoted in the text.
    fn attr() -> impl Strategy<Value = (String, String, Quote)> {
        let key = prop::sample::select(
            &[
                "tvg-id",
                "tvg-name",
                "tvg-logo",
                "tvg-chno",
                "group-title",
                "catchup-source",
                "X-Custom",
            ][..],
        );
        prop_oneof![
            (key.clone(), "[^\"\r\n]{0,16}").prop_map(|(k, v)| (k.into(), v, Quote::Double)),
            (key.clone(), "[^'\r\n]{0,16}").prop_map(|(k, v)| (k.into(), v, Quote::Single)),
            (key, "[A-Za-z0-9._:/-][^\\s,\"]{0,16}").prop_map(|(k, v)| (k.into(), v, Quote::Bare)),
        ]
    }

    fn attrs_text(attrs: &[(String, String, Quote)]) -> String {
        attrs
            .iter()
            .map(|(k, v, q)| match q {
                Quote::Double => format!(" {k}=\"{v}\""),
                Quote::Single => format!(" {k}='{v}'"),
                Quote::Bare => format!(" {k}={v}"),
            })
            .collect()
    }

    fn json_object(members: &[(String, String)]) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_str(&mut out, k);
            out.push(':');
            json::write_str(&mut out, v);
        }
        out.push('}');
        out
    }

    /// A request option line, with the option it must parse to.
    fn option_line() -> impl Strategy<Value = (String, RequestOption)> {
        let value = "[^\r\n]{0,16}".prop_map(|v| v.trim_ascii_end().to_owned());
        prop_oneof![
            ("[a-z-]{1,16}", value.clone())
                .prop_map(|(k, v)| (format!("#EXTVLCOPT:{k}={v}"), vlc(&k, &v))),
            ("[a-z._]{1,24}", value)
                .prop_map(|(k, v)| (format!("#kodiprop:{k}={v}"), kodi(&k, &v))),
            prop::collection::vec(("[^\r\n]{0,6}", "[^\r\n]{0,10}"), 0..3).prop_map(|m| {
                let raw = json_object(&m);
                (format!("#EXTHTTP:{raw}"), RequestOption::ExtHttp(raw))
            }),
        ]
    }

    prop_compose! {
        /// An entry as playlist lines, with the entry it must parse to.
        fn entry()(
            blanks in prop::collection::vec(prop::sample::select(&["", "  ", "\t "][..]), 0..2),
            before in prop::collection::vec(option_line(), 0..2),
            extinf in prop::option::weighted(0.9, (
                prop::sample::select(&["-1", "0", "10.5", "-1.000000"][..]),
                prop::collection::vec(attr(), 0..5),
                "[^\r\n]{0,24}",
            )),
            extgrp in prop::option::of("[^\r\n]{0,12}"),
            after in prop::collection::vec(option_line(), 0..3),
            extra in prop::collection::vec(
                (prop::sample::select(&["#EXT-X-FOO:", "# ", "#PLAYLIST:"][..]), "[^\r\n]{0,12}"),
                0..2,
            ),
            url in "https?://[a-z0-9.-]{1,16}(:[0-9]{1,5})?/[A-Za-z0-9/._~%-]{0,32}(\\?[A-Za-z0-9=&%._-]{0,24})?",
            suffix in prop::option::of("[A-Za-z0-9=&%+._-]{1,32}"),
        ) -> (Vec<String>, Entry) {
            let mut lines: Vec<String> = blanks.iter().map(|b| b.to_string()).collect();
            let mut want = Entry { duration: "-1".into(), ..Entry::default() };
            for (line, opt) in before {
                lines.push(line);
                want.options.push(opt);
            }
            if let Some((duration, attrs, name)) = extinf {
                lines.push(format!("#EXTINF:{duration}{},{name}", attrs_text(&attrs)));
                want.duration = duration.into();
                want.attrs = attrs.into_iter().map(|(k, v, _)| (k, v)).collect();
                want.name = name.trim_ascii().into();
            }
            if let Some(group) = extgrp {
                lines.push(format!("#EXTGRP:{group}"));
                want.extgrp = Some(group.trim_ascii().to_owned()).filter(|g| !g.is_empty());
            }
            for (line, opt) in after {
                lines.push(line);
                want.options.push(opt);
            }
            for (tag, text) in extra {
                let line = format!("{tag}{text}");
                want.extra_lines.push(line.trim_ascii().into());
                lines.push(line);
            }
            match suffix {
                Some(suffix) => {
                    lines.push(format!("{url}|{suffix}"));
                    want.options.push(RequestOption::UrlSuffix(suffix));
                }
                None => lines.push(url.clone()),
            }
            want.url = url;
            (lines, want)
        }
    }

    prop_compose! {
        /// A playlist as bytes, with the playlist it must parse to.
        fn playlist()(
            bom in any::<bool>(),
            header in prop::option::of(prop::collection::vec(attr(), 0..4)),
            entries in prop::collection::vec(entry(), 0..8),
            endings in prop::collection::vec(prop::sample::select(&["\n", "\r\n", "\r"][..]), 64),
        ) -> (Vec<u8>, Playlist) {
            let mut lines = Vec::new();
            let mut want = Playlist::default();
            if let Some(attrs) = header {
                lines.push(format!("#EXTM3U{}", attrs_text(&attrs)));
                want.header_attrs = attrs.into_iter().map(|(k, v, _)| (k, v)).collect();
            }
            for (entry_lines, entry) in entries {
                lines.extend(entry_lines);
                want.entries.push(entry);
            }
            let mut text = if bom { BOM.to_vec() } else { Vec::new() };
            for (line, ending) in lines.iter().zip(endings.iter().cycle()) {
                text.extend_from_slice(line.as_bytes());
                text.extend_from_slice(ending.as_bytes());
            }
            (text, want)
        }
    }

    /// Pieces of playlists, valid and broken, for inputs no generator of valid playlists makes.
    const FRAGMENTS: &[&[u8]] = &[
        b"#EXTM3U",
        b"#EXTINF:",
        b"#extinf:",
        b"#EXTGRP:",
        b"#EXTVLCOPT:",
        b"#KODIPROP:",
        b"#EXTHTTP:",
        b"#",
        b"# ",
        b"-1",
        b"10.5",
        b" ",
        b"\t",
        b",",
        b"=",
        b"\"",
        b"'",
        b"|",
        b"&",
        b"%2",
        b"+",
        b"tvg-id",
        b"group-title",
        b"a",
        b"\xc3\xa9",
        b"\xe9",
        b"\xf0\x9f\x98",
        b"\x80",
        b"\xEF\xBB\xBF",
        b"\n",
        b"\r",
        b"\r\n",
        b"http://x/",
        b"{\"a\":\"b\"}",
        b"\0",
        b"\x0c",
    ];

    fn cut_points(input: &[u8], cuts: &[prop::sample::Index]) -> Vec<usize> {
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        cuts.sort_unstable();
        cuts
    }

    proptest! {
        #[test]
        fn generated_playlists_parse_as_built(
            (text, want) in playlist(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let parsed = parse(&text);
            prop_assert_eq!(&parsed, &want);
            prop_assert_eq!(&parse_split(&text, &cut_points(&text, &cuts)), &want);
            let written = write(&parsed, ROUND_TRIP);
            prop_assert_eq!(&parse(&written), &parsed);
            prop_assert_eq!(write(&parse(&written), ROUND_TRIP), written);
        }

        #[test]
        fn any_input_round_trips(
            pieces in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..120),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let input = pieces.concat();
            let parsed = parse(&input);
            prop_assert_eq!(&parse_split(&input, &cut_points(&input, &cuts)), &parsed);
            let written = write(&parsed, ROUND_TRIP);
            let mut reparsed = parse(&written);
            prop_assert_eq!(reparsed.skipped_lines, 0);
            reparsed.skipped_lines = parsed.skipped_lines;
            prop_assert_eq!(&reparsed, &parsed);
            prop_assert_eq!(write(&reparsed, ROUND_TRIP), written);
        }

        #[test]
        fn arbitrary_bytes_round_trip(input in prop::collection::vec(any::<u8>(), 0..512)) {
            let parsed = parse(&input);
            let mut reparsed = parse(&write(&parsed, ROUND_TRIP));
            reparsed.skipped_lines = parsed.skipped_lines;
            prop_assert_eq!(reparsed, parsed);
        }
    }
}
