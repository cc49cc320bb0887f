//! IPTV extended-M3U playlists: a streaming, tolerant parser and a writer.
//!
//! Real playlists are messy: BOMs, CRLF, missing quotes, commas inside names, non-UTF-8 bytes,
//! per-entry request options in four different dialects. The parser accepts all of it, never
//! panics, and keeps what it does not understand so a write after a parse loses nothing.

/// Longest line the parser accepts; a longer line is skipped (and counted in
/// [`Playlist::skipped_lines`]), never buffered without bound.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most attributes kept on one `#EXTINF` or `#EXTM3U` line; further ones are dropped.
pub const MAX_ATTRS: usize = 64;

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
        let _ = name;
        todo!()
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
        let _ = name;
        todo!()
    }
    /// `group-title`, else `#EXTGRP`.
    pub fn group(&self) -> Option<&str> {
        todo!()
    }
    /// The HTTP headers the relay must send upstream for this entry, merged from all request
    /// options (later options win for the same header, case-insensitively), with canonical names
    /// (`User-Agent`, `Referer`, `Origin`, `Cookie`, ...). VLC keys map: `http-user-agent` →
    /// `User-Agent`, `http-referrer`/`http-referer` → `Referer`, `http-origin` → `Origin`,
    /// `http-cookie` → `Cookie`. Values with CR/LF/NUL are dropped.
    pub fn upstream_headers(&self) -> Vec<(String, String)> {
        todo!()
    }
}

/// Streaming parser: feed bytes as they arrive, take entries as they complete.
#[derive(Debug, Default)]
pub struct Parser {
    _state: (),
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }
    /// Feeds a chunk (any split, even inside a line or a UTF-8 sequence) and appends completed
    /// entries to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Entry>) {
        let _ = (chunk, out);
        todo!()
    }
    /// Ends the input and returns the playlist header (attrs, skipped count); remaining entries
    /// are appended to `out`.
    pub fn finish(self, out: &mut Vec<Entry>) -> Playlist {
        let _ = out;
        todo!()
    }
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
/// lines, URL) at a time. Attribute values are written in double quotes; a `"` in a value is
/// replaced by `'` (M3U has no escape). `url` overrides the entry's URL (e.g. the relay URL).
pub fn write_header(out: &mut Vec<u8>, header_attrs: &[(String, String)]) {
    let _ = (out, header_attrs);
    todo!()
}

/// Writes one entry; see [`write_header`].
pub fn write_entry(out: &mut Vec<u8>, entry: &Entry, url: &str, opts: WriteOptions) {
    let _ = (out, entry, url, opts);
    todo!()
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
