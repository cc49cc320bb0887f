//! Lossless HLS playlist rewriting (RFC 8216 and its second edition draft, LL-HLS, content
//! steering, interstitials).
//!
//! [`rewrite`] passes over a playlist line by line and hands every URI it names to a mapper,
//! which returns the string to put in its place (for the relay: a URL carrying a signed token).
//! Nothing else changes: unknown tags, comments, blank lines, line ends, a BOM and a last line
//! without newline come out byte for byte as they went in.
//!
//! What a URI is decides its [`Kind`], and the kind comes from the tag that names it, never from
//! a file extension:
//!
//! | where | kind |
//! |---|---|
//! | a URI line after `EXT-X-STREAM-INF` (tags and blank lines may come between) | [`Kind::Playlist`] |
//! | any other URI line | [`Kind::Segment`] |
//! | `URI` of `EXT-X-MEDIA`, `EXT-X-I-FRAME-STREAM-INF`, `EXT-X-IMAGE-STREAM-INF`, `EXT-X-RENDITION-REPORT` | [`Kind::Playlist`] |
//! | `URI` of `EXT-X-KEY`, `EXT-X-SESSION-KEY` | [`Kind::Key`] |
//! | `URI` of `EXT-X-MAP`; of `EXT-X-PRELOAD-HINT` with `TYPE=MAP` | [`Kind::Map`] |
//! | `URI` of `EXT-X-PART`; of `EXT-X-PRELOAD-HINT` with any other `TYPE` | [`Kind::Part`] |
//! | `URI` of `EXT-X-SESSION-DATA`; `X-ASSET-LIST` of `EXT-X-DATERANGE` | [`Kind::Data`] |
//! | `X-ASSET-URI` of `EXT-X-DATERANGE` | [`Kind::Playlist`] |
//! | `SERVER-URI` of `EXT-X-CONTENT-STEERING` | [`Kind::Steering`] |
//!
//! Lines end with LF, CRLF or a lone CR (as players split them: a lone CR is a line end for
//! hls.js, so treating it as one keeps a URI behind it from reaching the player unrewritten).
//! A line is blank when it holds only ASCII whitespace, a tag or comment when its first
//! non-whitespace byte is `#`, and a URI line otherwise. Tag and attribute names are matched
//! exactly and case-sensitively (`X-FOO-URI` is not `URI`, `#EXT-X-MEDIA-SEQUENCE` is not
//! `#EXT-X-MEDIA`). Attribute lists are `NAME=VALUE` pairs separated by commas; a quoted value may
//! hold commas and `=`, an unterminated quote runs to the end of the line, and an unquoted value
//! runs to the next comma (trailing whitespace not included).
//!
//! Only URIs that resolve (against the `base` given to [`rewrite`]) to `http` or `https` are
//! mapped. Any other scheme (`data:`, `skd://`, `file:`, ...) is left as written and the mapper
//! is not called. An attribute whose value is empty or blank has nothing to rewrite and stays.
//!
//! The pass is linear in the input: each line is scanned a bounded number of times with
//! `memchr`, and unchanged runs are copied to the output in bulk.

use std::convert::Infallible;
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use memchr::{memchr, memchr2, memchr3};

use super::uri::Uri;

/// Largest playlist the rewriter accepts.
pub const MAX_PLAYLIST_BYTES: usize = 16 * 1024 * 1024;
/// Longest line (a URI line or a tag line) the rewriter accepts.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Largest output one [`rewrite`] may append. Replacements are longer than the URIs they replace
/// (a token URL of ~120 bytes for a segment name of a few), so without this bound a playlist of
/// short URI lines could make the output some 60 times its input.
pub const MAX_OUTPUT_BYTES: usize = 4 * MAX_PLAYLIST_BYTES;

/// What a URI names, decided by the tag that references it (never by file extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A media or multivariant playlist (variant, rendition, I-frame, image, rendition report,
    /// interstitial asset).
    Playlist,
    /// A media segment.
    Segment,
    /// A decryption key.
    Key,
    /// A media initialization section (`EXT-X-MAP`).
    Map,
    /// An LL-HLS partial segment.
    Part,
    /// Session data or an interstitial asset list (JSON).
    Data,
    /// A content steering manifest (JSON).
    Steering,
}

impl Kind {
    /// Every kind, in code order.
    pub const ALL: [Kind; 7] = [
        Kind::Playlist,
        Kind::Segment,
        Kind::Key,
        Kind::Map,
        Kind::Part,
        Kind::Data,
        Kind::Steering,
    ];

    /// Stable one-byte code (used inside tokens; never reuse a value): Playlist=1, Segment=2,
    /// Key=3, Map=4, Part=5, Data=6, Steering=7.
    pub fn code(self) -> u8 {
        match self {
            Kind::Playlist => 1,
            Kind::Segment => 2,
            Kind::Key => 3,
            Kind::Map => 4,
            Kind::Part => 5,
            Kind::Data => 6,
            Kind::Steering => 7,
        }
    }

    /// The kind with this [`code`](Kind::code), if any.
    pub fn from_code(code: u8) -> Option<Kind> {
        Some(match code {
            1 => Kind::Playlist,
            2 => Kind::Segment,
            3 => Kind::Key,
            4 => Kind::Map,
            5 => Kind::Part,
            6 => Kind::Data,
            7 => Kind::Steering,
            _ => return None,
        })
    }

    /// Extension used when the upstream path has no usable one: m3u8, ts, key, mp4, m4s, json,
    /// json.
    pub fn default_ext(self) -> &'static str {
        match self {
            Kind::Playlist => "m3u8",
            Kind::Segment => "ts",
            Kind::Key => "key",
            Kind::Map => "mp4",
            Kind::Part => "m4s",
            Kind::Data | Kind::Steering => "json",
        }
    }

    /// Content-Type to answer with when the upstream gives none or a generic one.
    ///
    /// Parts answer `video/mp4`: LL-HLS parts are nearly always fMP4 (CMAF), and `video/mp4` is
    /// what Apple's tools serve them as; a TS part served by an upstream that names no type is
    /// still played, since players go by the playlist, not the type.
    pub fn default_content_type(self) -> &'static str {
        match self {
            Kind::Playlist => "application/vnd.apple.mpegurl",
            Kind::Segment => "video/mp2t",
            Kind::Key => "application/octet-stream",
            Kind::Map | Kind::Part => "video/mp4",
            Kind::Data | Kind::Steering => "application/json",
        }
    }
}

/// One URI the rewriter found.
#[derive(Debug)]
pub struct Target<'a> {
    /// What the URI names.
    pub kind: Kind,
    /// The URI resolved against the base (absolute, http or https).
    pub uri: &'a Uri,
    /// The URI exactly as written in the playlist (attribute value without quotes, or the line
    /// without its surrounding whitespace).
    pub raw: &'a str,
}

/// Facts about the playlist the rewriter learnt while passing over it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Has EXT-X-STREAM-INF / EXT-X-MEDIA / EXT-X-I-FRAME-STREAM-INF (a multivariant playlist).
    pub master: bool,
    /// EXT-X-TARGETDURATION, if present (the last one, should there be several).
    pub target_duration: Option<Duration>,
    /// EXT-X-ENDLIST present (VOD / finished event).
    pub endlist: bool,
    /// URIs handed to the mapper.
    pub uris: usize,
}

/// Why a playlist could not be rewritten.
#[derive(Debug, PartialEq, Eq)]
pub enum RewriteError<E> {
    /// Does not start with #EXTM3U (after an optional UTF-8 BOM and leading whitespace/blank
    /// lines).
    NotPlaylist,
    /// Bigger than [`MAX_PLAYLIST_BYTES`], or its rewrite would append more than
    /// [`MAX_OUTPUT_BYTES`].
    TooLarge,
    /// A line longer than [`MAX_LINE_BYTES`] (1-based line number).
    LineTooLong {
        /// 1-based line number.
        line: usize,
    },
    /// A URI that cannot be used (1-based line number): not valid UTF-8, not parseable or too
    /// long for [`Uri::parse`]; or the mapper's replacement for it cannot be written there
    /// (a CR or LF anywhere, a `"` in an attribute value, a `,` in an unquoted one).
    BadUri {
        /// 1-based line number.
        line: usize,
    },
    /// The mapper refused.
    Map(E),
}

impl<E: fmt::Display> fmt::Display for RewriteError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RewriteError::NotPlaylist => f.write_str("not an HLS playlist (no #EXTM3U)"),
            RewriteError::TooLarge => f.write_str("playlist too large"),
            RewriteError::LineTooLong { line } => write!(f, "line {line} too long"),
            RewriteError::BadUri { line } => write!(f, "bad URI on line {line}"),
            RewriteError::Map(e) => write!(f, "mapping a URI failed: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RewriteError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RewriteError::Map(e) => Some(e),
            _ => None,
        }
    }
}

/// Rewrites every URI of `input` through `map`, appending the result to `out`. Every byte that
/// is not a rewritten URI is copied unchanged (unknown tags, comments, blank lines, CRLF/LF, a
/// BOM, a last line without newline). `base` is the final upstream URL (after redirects) that
/// relative URIs resolve against.
///
/// The mapper's replacement is inserted as it is; it must not hold a line break, nor (in an
/// attribute value) a `"`, nor (in an unquoted attribute value) a `,`, which would change the
/// playlist's structure: such a replacement is refused with [`RewriteError::BadUri`].
///
/// # Errors
///
/// See [`RewriteError`]. The checks for size and `#EXTM3U` come first and append nothing; on a
/// later error `out` holds a partial output, which callers must discard (truncate `out` to its
/// length before the call).
pub fn rewrite<E>(
    input: &[u8],
    base: &Uri,
    out: &mut Vec<u8>,
    map: impl FnMut(&Target<'_>) -> Result<String, E>,
) -> Result<Summary, RewriteError<E>> {
    rewrite_into(input, base, out, false, map)
}

/// [`rewrite`], or with `dry` only the pass over the input (nothing is appended to `out`).
fn rewrite_into<E>(
    input: &[u8],
    base: &Uri,
    out: &mut Vec<u8>,
    dry: bool,
    map: impl FnMut(&Target<'_>) -> Result<String, E>,
) -> Result<Summary, RewriteError<E>> {
    if input.len() > MAX_PLAYLIST_BYTES {
        return Err(RewriteError::TooLarge);
    }
    let body = input.strip_prefix(BOM).unwrap_or(input);
    if !body.trim_ascii_start().starts_with(b"#EXTM3U") {
        return Err(RewriteError::NotPlaylist);
    }
    if !dry {
        out.reserve(input.len());
    }
    let out_start = out.len();
    let mut r = Rewriter {
        input,
        base,
        out,
        map,
        dry,
        copied: 0,
        out_start,
        line: 0,
        variant_next: false,
        attrs: Vec::new(),
        summary: Summary::default(),
    };
    // The BOM is copied with the first run; it must not make the first line a URI line.
    let mut pos = input.len() - body.len();
    while pos < input.len() {
        r.line += 1;
        let rest = &input[pos..];
        let (end, next) = match memchr2(b'\r', b'\n', rest) {
            None => (input.len(), input.len()),
            Some(i) if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') => {
                (pos + i, pos + i + 2)
            }
            Some(i) => (pos + i, pos + i + 1),
        };
        if end - pos > MAX_LINE_BYTES {
            return Err(RewriteError::LineTooLong { line: r.line });
        }
        r.line_at(pos, end)?;
        pos = next;
    }
    r.append(input.len(), "")?;
    Ok(r.summary)
}

/// What [`rewrite`] would learn of `input` (kind, target duration, end list), without writing
/// anything: the one scan callers use to decide how long a playlist may be shared.
///
/// # Errors
///
/// As [`rewrite`]'s, but never [`RewriteError::Map`].
pub fn summarize(input: &[u8], base: &Uri) -> Result<Summary, RewriteError<Infallible>> {
    let mut scratch = Vec::new();
    rewrite_into(input, base, &mut scratch, true, |_| Ok(String::new()))
}

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Which attributes of a tag hold URIs, and of what kind.
type UriAttrs = &'static [(&'static [u8], Kind)];

/// How a value is delimited in its attribute list, which decides what a replacement may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A whole URI line.
    Line,
    /// Between the quotes of an attribute value.
    Quoted,
    /// An unquoted attribute value (ends at the next comma).
    Unquoted,
}

/// One `NAME=VALUE` of an attribute list, as ranges into the input.
#[derive(Debug, Clone)]
struct Attr {
    name: Range<usize>,
    value: Range<usize>,
    quoted: bool,
}

/// The state of one [`rewrite`] pass.
struct Rewriter<'a, M> {
    input: &'a [u8],
    base: &'a Uri,
    out: &'a mut Vec<u8>,
    map: M,
    /// Only summarise: append nothing.
    dry: bool,
    /// Input before this offset is in `out` already (copied or replaced).
    copied: usize,
    /// Length of `out` before this pass, which [`MAX_OUTPUT_BYTES`] does not count.
    out_start: usize,
    /// 1-based number of the current line.
    line: usize,
    /// An `EXT-X-STREAM-INF` was seen and its URI line has not come yet.
    variant_next: bool,
    /// Scratch for the current tag's attribute list, reused across lines.
    attrs: Vec<Attr>,
    summary: Summary,
}

impl<M, E> Rewriter<'_, M>
where
    M: FnMut(&Target<'_>) -> Result<String, E>,
{
    /// Handles the line `input[start..end]` (without its line end).
    fn line_at(&mut self, start: usize, end: usize) -> Result<(), RewriteError<E>> {
        let line = &self.input[start..end];
        let trimmed = line.trim_ascii_start();
        let Some(&first) = trimmed.first() else {
            return Ok(()); // blank
        };
        let start = end - trimmed.len();
        if first == b'#' {
            return self.tag(start, end);
        }
        let end = start + trimmed.trim_ascii_end().len();
        let kind = if std::mem::take(&mut self.variant_next) {
            Kind::Playlist
        } else {
            Kind::Segment
        };
        self.uri(start..end, kind, Place::Line)
    }

    /// Handles a tag or comment line `input[start..end]` (starting with `#`).
    fn tag(&mut self, start: usize, end: usize) -> Result<(), RewriteError<E>> {
        let line = &self.input[start..end];
        if !line.starts_with(b"#EXT") {
            return Ok(()); // a comment
        }
        let (name, list) = match memchr(b':', line) {
            Some(i) => (&line[1..i], start + i + 1),
            None => (line[1..].trim_ascii_end(), end),
        };
        let attrs: UriAttrs = match name {
            b"EXT-X-STREAM-INF" => {
                self.summary.master = true;
                self.variant_next = true;
                return Ok(());
            }
            b"EXT-X-MEDIA" | b"EXT-X-I-FRAME-STREAM-INF" => {
                self.summary.master = true;
                &[(b"URI", Kind::Playlist)]
            }
            b"EXT-X-IMAGE-STREAM-INF" | b"EXT-X-RENDITION-REPORT" => &[(b"URI", Kind::Playlist)],
            b"EXT-X-KEY" | b"EXT-X-SESSION-KEY" => &[(b"URI", Kind::Key)],
            b"EXT-X-MAP" => &[(b"URI", Kind::Map)],
            b"EXT-X-PART" => &[(b"URI", Kind::Part)],
            b"EXT-X-SESSION-DATA" => &[(b"URI", Kind::Data)],
            b"EXT-X-CONTENT-STEERING" => &[(b"SERVER-URI", Kind::Steering)],
            b"EXT-X-DATERANGE" => &[
                (b"X-ASSET-URI", Kind::Playlist),
                (b"X-ASSET-LIST", Kind::Data),
            ],
            b"EXT-X-PRELOAD-HINT" => return self.preload_hint(list, end),
            b"EXT-X-TARGETDURATION" => {
                let value = std::str::from_utf8(self.input[list..end].trim_ascii()).ok();
                if let Some(d) = value.and_then(parse_duration) {
                    self.summary.target_duration = Some(d);
                }
                return Ok(());
            }
            b"EXT-X-ENDLIST" => {
                self.summary.endlist = true;
                return Ok(());
            }
            _ => return Ok(()),
        };
        self.parse_attrs(list, end);
        self.rewrite_attrs(|name| {
            attrs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|&(_, kind)| kind)
        })
    }

    /// `EXT-X-PRELOAD-HINT`: its `URI` is a [`Kind::Map`] when `TYPE=MAP`, else a
    /// [`Kind::Part`] (the one other type defined; an unknown type is still rewritten rather
    /// than handed to the player as the upstream's URL).
    fn preload_hint(&mut self, list: usize, end: usize) -> Result<(), RewriteError<E>> {
        self.parse_attrs(list, end);
        let input = self.input;
        let map = self
            .attrs
            .iter()
            .any(|a| &input[a.name.clone()] == b"TYPE" && &input[a.value.clone()] == b"MAP");
        let kind = if map { Kind::Map } else { Kind::Part };
        self.rewrite_attrs(|name| (name == b"URI").then_some(kind))
    }

    /// Maps the value of every attribute in `self.attrs` for which `kind_of(name)` names a kind.
    fn rewrite_attrs(
        &mut self,
        kind_of: impl Fn(&[u8]) -> Option<Kind>,
    ) -> Result<(), RewriteError<E>> {
        let attrs = std::mem::take(&mut self.attrs);
        let mut result = Ok(());
        for a in &attrs {
            if let Some(kind) = kind_of(&self.input[a.name.clone()]) {
                let place = if a.quoted {
                    Place::Quoted
                } else {
                    Place::Unquoted
                };
                result = self.uri(a.value.clone(), kind, place);
                if result.is_err() {
                    break;
                }
            }
        }
        self.attrs = attrs;
        result
    }

    /// Parses the attribute list `input[start..end]` into `self.attrs`.
    fn parse_attrs(&mut self, start: usize, end: usize) {
        self.attrs.clear();
        let b = &self.input[..end];
        let mut i = start;
        while i < end {
            while i < end && matches!(b[i], b' ' | b'\t') {
                i += 1;
            }
            let name_start = i;
            let Some(eq) = memchr2(b'=', b',', &b[i..]).map(|j| i + j) else {
                break; // a name without a value ends the list
            };
            if b[eq] == b',' {
                i = eq + 1; // a name without a value
                continue;
            }
            let name_end = name_start + b[name_start..eq].trim_ascii_end().len();
            i = eq + 1;
            while i < end && matches!(b[i], b' ' | b'\t') {
                i += 1;
            }
            let (value, quoted) = if b.get(i) == Some(&b'"') {
                let v = i + 1;
                let close = memchr(b'"', &b[v..]).map_or(end, |j| v + j);
                i = close;
                (v..close, true)
            } else {
                let comma = memchr(b',', &b[i..]).map_or(end, |j| i + j);
                let v_end = i + b[i..comma].trim_ascii_end().len();
                let v = i..v_end;
                i = comma;
                (v, false)
            };
            self.attrs.push(Attr {
                name: name_start..name_end,
                value,
                quoted,
            });
            // Skip whatever follows the value up to the next comma.
            i = memchr(b',', &b[i..]).map_or(end, |j| i + j + 1);
        }
    }

    /// Maps the URI written at `input[range]` if it is an http(s) one, replacing it in the output.
    fn uri(
        &mut self,
        range: Range<usize>,
        kind: Kind,
        place: Place,
    ) -> Result<(), RewriteError<E>> {
        let line = self.line;
        let bad = || RewriteError::BadUri { line };
        let raw = std::str::from_utf8(&self.input[range.clone()]).map_err(|_| bad())?;
        if raw.trim_ascii().is_empty() || has_other_scheme(raw) {
            return Ok(());
        }
        let uri = self.base.join(raw).map_err(|_| bad())?;
        if !matches!(uri.scheme(), Some("http" | "https")) {
            return Ok(());
        }
        let target = Target {
            kind,
            uri: &uri,
            raw,
        };
        let replacement = (self.map)(&target).map_err(RewriteError::Map)?;
        let r = replacement.as_bytes();
        let unfit = match place {
            Place::Line => memchr2(b'\r', b'\n', r).is_some(),
            Place::Quoted => memchr3(b'\r', b'\n', b'"', r).is_some(),
            Place::Unquoted => {
                memchr3(b'\r', b'\n', b'"', r).is_some() || memchr(b',', r).is_some()
            }
        };
        if unfit {
            return Err(bad());
        }
        self.append(range.start, &replacement)?;
        self.copied = range.end;
        self.summary.uris += 1;
        Ok(())
    }

    /// Appends the input from `self.copied` to `to`, then `replacement`, within
    /// [`MAX_OUTPUT_BYTES`].
    fn append(&mut self, to: usize, replacement: &str) -> Result<(), RewriteError<E>> {
        if self.dry {
            return Ok(());
        }
        let kept = &self.input[self.copied..to];
        if self.out.len() - self.out_start + kept.len() + replacement.len() > MAX_OUTPUT_BYTES {
            return Err(RewriteError::TooLarge);
        }
        self.out.extend_from_slice(kept);
        self.out.extend_from_slice(replacement.as_bytes());
        Ok(())
    }
}

/// `raw` starts with a scheme other than http or https (so it is left as written without
/// parsing it: `data:` URIs may be longer than a URI we would parse).
fn has_other_scheme(raw: &str) -> bool {
    let t = raw.trim_ascii_start().as_bytes();
    let Some(i) = t
        .iter()
        .position(|&c| matches!(c, b':' | b'/' | b'?' | b'#'))
    else {
        return false;
    };
    let scheme = &t[..i];
    t[i] == b':'
        && scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        && !scheme.eq_ignore_ascii_case(b"http")
        && !scheme.eq_ignore_ascii_case(b"https")
}

/// An `EXT-X-TARGETDURATION` value: whole seconds as the spec says, or decimal seconds as some
/// packagers write.
fn parse_duration(s: &str) -> Option<Duration> {
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    Duration::try_from_secs_f64(s.parse::<f64>().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the test mapper saw: kind, raw, resolved URI.
    type Seen = Vec<(Kind, String, String)>;

    /// Rewrites `input` with a mapper that records each target and answers
    /// `https://relay.test/r/N.EXT` (N counting from 0).
    fn rw(input: &str, base: &str) -> (String, Seen, Summary) {
        let base = Uri::parse(base).unwrap();
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let summary = rewrite(input.as_bytes(), &base, &mut out, |t| {
            seen.push((t.kind, t.raw.to_string(), t.uri.as_str().to_string()));
            Ok::<_, String>(format!(
                "https://relay.test/r/{}.{}",
                seen.len() - 1,
                t.kind.default_ext()
            ))
        })
        .unwrap();
        (String::from_utf8(out).unwrap(), seen, summary)
    }

    fn err(input: &[u8]) -> RewriteError<String> {
        let base = Uri::parse("http://origin.test/a/b.m3u8").unwrap();
        let mut out = Vec::new();
        rewrite(input, &base, &mut out, |t| Ok(format!("/r/{}", t.raw))).unwrap_err()
    }

    fn seen(v: &[(Kind, &str, &str)]) -> Seen {
        v.iter()
            .map(|&(k, raw, uri)| (k, raw.to_string(), uri.to_string()))
            .collect()
    }

    const BASE: &str = "https://origin.example.com/live/chan/master.m3u8?auth=xyz";

    #[test]
    fn kind_codes_are_stable() {
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(kind.code() as usize, i + 1);
            assert_eq!(Kind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(Kind::from_code(0), None);
        assert_eq!(Kind::from_code(8), None);
        assert_eq!(Kind::Part.default_ext(), "m4s");
        assert_eq!(
            Kind::Playlist.default_content_type(),
            "application/vnd.apple.mpegurl"
        );
    }

    #[test]
    fn master_playlist() {
        let input = r#"#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://key-id-1",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"
#EXT-X-SESSION-KEY:METHOD=AES-128,URI="keys/session.key"
#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="meta/title.json",LANGUAGE="en"
#EXT-X-SESSION-DATA:DATA-ID="com.example.lyrics",VALUE="la, la=la"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",LANGUAGE="en",NAME="English, URI=x",DEFAULT=YES,URI="audio/en/index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",LANGUAGE="fr",NAME="Français",URI="https://cdn2.example.net/audio/fr.m3u8?sig=a%2Fb&e=1"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"
#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=640x360,AUDIO="aac",CLOSED-CAPTIONS="cc"
video/360p.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2560000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="aac"

# the 720p variant lives elsewhere
../shared/720p.m3u8?token=abc
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,CODECS="avc1.4d401f",URI="video/iframes.m3u8"
#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=16000,RESOLUTION=320x180,CODECS="jpeg",URI="images/index.m3u8"
"#;
        let (out, got, summary) = rw(input, BASE);
        let want = r#"#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://key-id-1",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"
#EXT-X-SESSION-KEY:METHOD=AES-128,URI="https://relay.test/r/0.key"
#EXT-X-SESSION-DATA:DATA-ID="com.example.title",URI="https://relay.test/r/1.json",LANGUAGE="en"
#EXT-X-SESSION-DATA:DATA-ID="com.example.lyrics",VALUE="la, la=la"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",LANGUAGE="en",NAME="English, URI=x",DEFAULT=YES,URI="https://relay.test/r/2.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",LANGUAGE="fr",NAME="Français",URI="https://relay.test/r/3.m3u8"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"
#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=640x360,AUDIO="aac",CLOSED-CAPTIONS="cc"
https://relay.test/r/4.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2560000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="aac"

# the 720p variant lives elsewhere
https://relay.test/r/5.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,CODECS="avc1.4d401f",URI="https://relay.test/r/6.m3u8"
#EXT-X-IMAGE-STREAM-INF:BANDWIDTH=16000,RESOLUTION=320x180,CODECS="jpeg",URI="https://relay.test/r/7.m3u8"
"#;
        assert_eq!(out, want);
        let o = "https://origin.example.com/live";
        assert_eq!(
            got,
            seen(&[
                (
                    Kind::Key,
                    "keys/session.key",
                    &format!("{o}/chan/keys/session.key")
                ),
                (
                    Kind::Data,
                    "meta/title.json",
                    &format!("{o}/chan/meta/title.json")
                ),
                (
                    Kind::Playlist,
                    "audio/en/index.m3u8",
                    &format!("{o}/chan/audio/en/index.m3u8")
                ),
                (
                    Kind::Playlist,
                    "https://cdn2.example.net/audio/fr.m3u8?sig=a%2Fb&e=1",
                    "https://cdn2.example.net/audio/fr.m3u8?sig=a%2Fb&e=1"
                ),
                (
                    Kind::Playlist,
                    "video/360p.m3u8",
                    &format!("{o}/chan/video/360p.m3u8")
                ),
                (
                    Kind::Playlist,
                    "../shared/720p.m3u8?token=abc",
                    &format!("{o}/shared/720p.m3u8?token=abc")
                ),
                (
                    Kind::Playlist,
                    "video/iframes.m3u8",
                    &format!("{o}/chan/video/iframes.m3u8")
                ),
                (
                    Kind::Playlist,
                    "images/index.m3u8",
                    &format!("{o}/chan/images/index.m3u8")
                ),
            ])
        );
        assert_eq!(
            summary,
            Summary {
                master: true,
                target_duration: None,
                endlist: false,
                uris: 8
            }
        );
    }

    #[test]
    fn media_playlist_with_key_map_and_byteranges() {
        let input = "#EXTM3U\n\
#EXT-X-VERSION:7\n\
#EXT-X-TARGETDURATION:6\n\
#EXT-X-MEDIA-SEQUENCE:100\n\
#EXT-X-PLAYLIST-TYPE:VOD\n\
#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"720@0\"\n\
#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.example.com/k?id=7\",IV=0x0123456789ABCDEF0123456789ABCDEF\n\
#EXTINF:6.006,\n\
#EXT-X-BYTERANGE:1000000@720\n\
main.mp4\n\
#EXTINF:6.006,\n\
#EXT-X-BYTERANGE:1000000\n\
main.mp4\n\
#EXT-X-KEY:METHOD=NONE\n\
#EXTINF:3.5,no key\n\
/abs/seg3.m4s\n\
#EXT-X-ENDLIST\n";
        let (out, got, summary) = rw(input, "http://vod.example.com/movies/42/index.m3u8");
        let want = input
            .replace("\"init.mp4\"", "\"https://relay.test/r/0.mp4\"")
            .replace(
                "\"https://keys.example.com/k?id=7\"",
                "\"https://relay.test/r/1.key\"",
            )
            .replacen("\nmain.mp4\n", "\nhttps://relay.test/r/2.ts\n", 1)
            .replacen("\nmain.mp4\n", "\nhttps://relay.test/r/3.ts\n", 1)
            .replace("/abs/seg3.m4s", "https://relay.test/r/4.ts");
        assert_eq!(out, want);
        let m = "http://vod.example.com/movies/42";
        assert_eq!(
            got,
            seen(&[
                (Kind::Map, "init.mp4", &format!("{m}/init.mp4")),
                (
                    Kind::Key,
                    "https://keys.example.com/k?id=7",
                    "https://keys.example.com/k?id=7"
                ),
                (Kind::Segment, "main.mp4", &format!("{m}/main.mp4")),
                (Kind::Segment, "main.mp4", &format!("{m}/main.mp4")),
                (
                    Kind::Segment,
                    "/abs/seg3.m4s",
                    "http://vod.example.com/abs/seg3.m4s"
                ),
            ])
        );
        assert_eq!(
            summary,
            Summary {
                master: false,
                target_duration: Some(Duration::from_secs(6)),
                endlist: true,
                uris: 5
            }
        );
    }

    #[test]
    fn low_latency_playlist() {
        let input = "#EXTM3U\n\
#EXT-X-TARGETDURATION:4\n\
#EXT-X-VERSION:9\n\
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=24.0\n\
#EXT-X-PART-INF:PART-TARGET=0.333\n\
#EXT-X-MEDIA-SEQUENCE:266\n\
#EXT-X-MAP:URI=\"init.mp4\"\n\
#EXTINF:4.00008,\n\
fileSequence266.mp4\n\
#EXT-X-PART:DURATION=0.33334,URI=\"filePart267.0.mp4\",INDEPENDENT=YES\n\
#EXT-X-PART:DURATION=0.33334,URI=\"filePart267.1.mp4\",BYTERANGE=\"1000@0\"\n\
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"filePart267.2.mp4\"\n\
#EXT-X-PRELOAD-HINT:URI=\"init2.mp4\",TYPE=MAP\n\
#EXT-X-RENDITION-REPORT:URI=\"../1M/waitForMSN.php\",LAST-MSN=273,LAST-PART=2\n\
#EXT-X-RENDITION-REPORT:URI=\"../4M/waitForMSN.php?x=1\",LAST-MSN=273,LAST-PART=1\n";
        let (out, got, summary) = rw(input, "https://ll.example.com/2M/prog.m3u8?_HLS_msn=273");
        let kinds: Vec<Kind> = got.iter().map(|s| s.0).collect();
        assert_eq!(
            kinds,
            [
                Kind::Map,
                Kind::Segment,
                Kind::Part,
                Kind::Part,
                Kind::Part,
                Kind::Map,
                Kind::Playlist,
                Kind::Playlist
            ]
        );
        assert_eq!(got[6].2, "https://ll.example.com/1M/waitForMSN.php");
        assert_eq!(got[7].2, "https://ll.example.com/4M/waitForMSN.php?x=1");
        assert!(out.contains(
            "#EXT-X-PART:DURATION=0.33334,URI=\"https://relay.test/r/3.m4s\",BYTERANGE=\"1000@0\"\n"
        ));
        assert!(out.contains("#EXT-X-PRELOAD-HINT:URI=\"https://relay.test/r/5.mp4\",TYPE=MAP\n"));
        assert!(out.contains(
            "#EXT-X-RENDITION-REPORT:URI=\"https://relay.test/r/7.m3u8\",LAST-MSN=273,LAST-PART=1\n"
        ));
        assert_eq!(summary.target_duration, Some(Duration::from_secs(4)));
        assert!(!summary.endlist && !summary.master);
        assert_eq!(summary.uris, 8);
    }

    #[test]
    fn content_steering_and_interstitials() {
        let input = "#EXTM3U\n\
#EXT-X-CONTENT-STEERING:SERVER-URI=\"/steering?video=00012\",PATHWAY-ID=\"CDN-A\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=1000000,PATHWAY-ID=\"CDN-A\"\n\
https://a.example.com/1M.m3u8\n\
#EXT-X-DATERANGE:ID=\"ad1\",CLASS=\"com.apple.hls.interstitial\",START-DATE=\"2024-01-01T00:00:10Z\",DURATION=15.0,X-ASSET-URI=\"ads/ad1.m3u8\",X-RESTRICT=\"SKIP,JUMP\"\n\
#EXT-X-DATERANGE:ID=\"ad2\",CLASS=\"com.apple.hls.interstitial\",START-DATE=\"2024-01-01T00:00:20Z\",X-ASSET-LIST=\"https://ads.example.com/list.json?pod=2\"\n\
#EXT-X-DATERANGE:ID=\"x\",START-DATE=\"2024-01-01T00:00:30Z\",X-COM-EXAMPLE-URI=\"keep/me.m3u8\",URI=\"keep/too.m3u8\"\n";
        let (out, got, summary) = rw(input, "http://h.example/p/main.m3u8");
        assert_eq!(
            got,
            seen(&[
                (
                    Kind::Steering,
                    "/steering?video=00012",
                    "http://h.example/steering?video=00012"
                ),
                (
                    Kind::Playlist,
                    "https://a.example.com/1M.m3u8",
                    "https://a.example.com/1M.m3u8"
                ),
                (
                    Kind::Playlist,
                    "ads/ad1.m3u8",
                    "http://h.example/p/ads/ad1.m3u8"
                ),
                (
                    Kind::Data,
                    "https://ads.example.com/list.json?pod=2",
                    "https://ads.example.com/list.json?pod=2"
                ),
            ])
        );
        assert!(out.contains("SERVER-URI=\"https://relay.test/r/0.json\",PATHWAY-ID=\"CDN-A\"\n"));
        assert!(
            out.contains("X-ASSET-URI=\"https://relay.test/r/2.m3u8\",X-RESTRICT=\"SKIP,JUMP\"\n")
        );
        assert!(out.contains("X-COM-EXAMPLE-URI=\"keep/me.m3u8\",URI=\"keep/too.m3u8\"\n"));
        assert!(summary.master);
    }

    #[test]
    fn unknown_tags_comments_and_lookalikes_stay_verbatim() {
        let input = "#EXTM3U\n\
#EXT-X-FOO:URI=\"foo.ts\"\n\
#EXT-X-MEDIAX:URI=\"foo.m3u8\"\n\
#EXT-X-MEDIA-SEQUENCE:7\n\
# URI=\"comment.ts\"\n\
#EXTINF:10,title, with URI=\"x.ts\"\n\
#ext-x-key:METHOD=AES-128,URI=\"lower.key\"\n\
#EXT-X-KEY:METHOD=AES-128,X-URI=\"a.key\",URI-X=\"b.key\",XURI=c\n\
#EXT-X-MEDIA:TYPE=AUDIO,NAME=\"a,URI=evil.m3u8\",URI=\"real.m3u8\"\n";
        let (out, got, _) = rw(input, "http://h/p/m.m3u8");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, "real.m3u8");
        assert_eq!(
            out,
            input.replace("\"real.m3u8\"", "\"https://relay.test/r/0.m3u8\"")
        );
    }

    #[test]
    fn other_schemes_are_left_alone() {
        let long_data = format!("data:text/plain;base64,{}", "A".repeat(20_000));
        let input = format!(
            "#EXTM3U\n\
#EXT-X-KEY:METHOD=AES-128,URI=\"data:text/plain;base64,AAECAwQFBgcICQoLDA0ODw==\"\n\
#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://abc\",KEYFORMAT=\"com.apple.streamingkeydelivery\"\n\
#EXT-X-SESSION-DATA:DATA-ID=\"big\",URI=\"{long_data}\"\n\
#EXT-X-KEY:METHOD=AES-128,URI=\"\"\n\
ftp://files.example/seg.ts\n\
HTTPS://UP.example/Seg.ts\n"
        );
        let (out, got, summary) = rw(&input, "http://h/p/m.m3u8");
        assert_eq!(
            got,
            seen(&[(
                Kind::Segment,
                "HTTPS://UP.example/Seg.ts",
                "https://up.example/Seg.ts"
            )])
        );
        assert_eq!(
            out,
            input.replace("HTTPS://UP.example/Seg.ts", "https://relay.test/r/0.ts")
        );
        assert_eq!(summary.uris, 1);
    }

    #[test]
    fn line_ends_bom_whitespace_and_no_final_newline() {
        let input = "\u{feff}\r\n  #EXTM3U\r\n#EXTINF:4,\r\n  seg1.ts \t\r\n#EXTINF:4,\rseg2.ts\r\r\n#EXTINF:4,\nseg3.ts?a=b";
        let (out, got, _) = rw(input, "http://h/p/m.m3u8");
        assert_eq!(
            out,
            "\u{feff}\r\n  #EXTM3U\r\n#EXTINF:4,\r\n  https://relay.test/r/0.ts \t\r\n#EXTINF:4,\rhttps://relay.test/r/1.ts\r\r\n#EXTINF:4,\nhttps://relay.test/r/2.ts"
        );
        assert_eq!(got[0].1, "seg1.ts");
        assert_eq!(got[2].2, "http://h/p/seg3.ts?a=b");
        // A BOM alone before the header, and nothing after it.
        let (out, got, _) = rw("\u{feff}#EXTM3U", "http://h/");
        assert_eq!((out.as_str(), got.len()), ("\u{feff}#EXTM3U", 0));
    }

    #[test]
    fn unquoted_uri_values_and_variant_lines() {
        let input = "#EXTM3U\n\
#EXT-X-KEY:METHOD=AES-128,URI=key.bin ,IV=0x1\n\
#EXT-X-STREAM-INF:BANDWIDTH=1\n\
#EXT-X-FOO:BAR\n\
\n\
low.m3u8\n\
seg.ts\n";
        let (out, got, _) = rw(input, "http://h/p/m.m3u8");
        assert_eq!(
            out,
            "#EXTM3U\n\
#EXT-X-KEY:METHOD=AES-128,URI=https://relay.test/r/0.key ,IV=0x1\n\
#EXT-X-STREAM-INF:BANDWIDTH=1\n\
#EXT-X-FOO:BAR\n\
\n\
https://relay.test/r/1.m3u8\n\
https://relay.test/r/2.ts\n"
        );
        assert_eq!(got[0].1, "key.bin");
    }

    #[test]
    fn target_duration_forms() {
        let d = |s: &str| {
            rw(
                &format!("#EXTM3U\n#EXT-X-TARGETDURATION:{s}\n"),
                "http://h/",
            )
            .2
        };
        assert_eq!(d("10").target_duration, Some(Duration::from_secs(10)));
        assert_eq!(
            d(" 6.5 ").target_duration,
            Some(Duration::from_millis(6500))
        );
        assert_eq!(d("-1").target_duration, None);
        assert_eq!(d("NaN").target_duration, None);
        assert_eq!(d("1e300").target_duration, None);
        assert!(rw("#EXTM3U\n#EXT-X-ENDLIST \n", "http://h/").2.endlist);
    }

    #[test]
    fn errors() {
        assert_eq!(err(b""), RewriteError::NotPlaylist);
        assert_eq!(err(b"seg.ts\n#EXTM3U\n"), RewriteError::NotPlaylist);
        assert_eq!(err(b"<html>#EXTM3U"), RewriteError::NotPlaylist);
        assert_eq!(err(b"\xEF\xBB"), RewriteError::NotPlaylist);

        let mut big = b"#EXTM3U\n".to_vec();
        big.resize(MAX_PLAYLIST_BYTES + 1, b'\n');
        assert_eq!(err(&big), RewriteError::TooLarge);
        // Small input, output past MAX_OUTPUT_BYTES (counted from where `out` started): each
        // line `a\n` becomes 8192 bytes, after the 8 of the header.
        let lines = MAX_OUTPUT_BYTES / 8192;
        let base = Uri::parse("http://h/").unwrap();
        let long = "x".repeat(8191);
        let run = |lines: usize, out: &mut Vec<u8>| {
            let input = format!("#EXTM3U\n{}", "a\n".repeat(lines));
            rewrite(input.as_bytes(), &base, out, |_| Ok::<_, ()>(long.clone()))
        };
        let mut out = b"earlier".to_vec();
        assert_eq!(run(lines, &mut out), Err(RewriteError::TooLarge));
        assert!(out.len() <= MAX_OUTPUT_BYTES + 7);
        assert_eq!(run(lines - 1, &mut out).unwrap().uris, lines - 1);
        let mut long = b"#EXTM3U\n#EXTINF:1,\n".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_LINE_BYTES + 1));
        assert_eq!(err(&long), RewriteError::LineTooLong { line: 3 });
        long.truncate(long.len() - 1);
        assert!(matches!(err(&long), RewriteError::BadUri { line: 3 })); // over MAX_URI_BYTES

        assert_eq!(
            err(b"#EXTM3U\nok.ts\nbad\xFF.ts\n"),
            RewriteError::BadUri { line: 3 }
        );
        assert_eq!(
            err(b"#EXTM3U\r\n\r\nhttp://[::1/x\r\n"),
            RewriteError::BadUri { line: 3 }
        );
        assert_eq!(
            err(b"#EXTM3U\n#EXT-X-MAP:URI=\"ht tp://h/\"\n"),
            RewriteError::BadUri { line: 2 }
        );

        let base = Uri::parse("http://h/").unwrap();
        let mut out = Vec::new();
        let e = rewrite(b"#EXTM3U\na.ts\n", &base, &mut out, |_| Err("refused")).unwrap_err();
        assert_eq!(e, RewriteError::Map("refused"));
        assert_eq!(e.to_string(), "mapping a URI failed: refused");
        let bad = |input: &[u8], rep: &str| {
            let mut out = Vec::new();
            rewrite(input, &base, &mut out, |_| Ok::<_, String>(rep.into())).unwrap_err()
        };
        assert_eq!(
            bad(b"#EXTM3U\na.ts\n", "x\ny"),
            RewriteError::BadUri { line: 2 }
        );
        assert_eq!(
            bad(b"#EXTM3U\n#EXT-X-MAP:URI=\"a\"\n", "x\"y"),
            RewriteError::BadUri { line: 2 }
        );
        assert_eq!(
            bad(b"#EXTM3U\n#EXT-X-MAP:URI=a\n", "x,y"),
            RewriteError::BadUri { line: 2 }
        );
        let mut out = Vec::new();
        rewrite(b"#EXTM3U\na.ts\n", &base, &mut out, |_| {
            Ok::<_, String>("x\"y,z".into())
        })
        .unwrap();
        assert_eq!(out, b"#EXTM3U\nx\"y,z\n");
    }

    /// A piece of a generated playlist: bytes the rewriter must keep, or a URI it must map.
    #[derive(Debug, Clone)]
    enum Piece {
        Keep(String),
        Map(String),
    }
    use Piece::{Keep, Map};

    /// URIs that resolve to http(s) against an http base.
    fn http_uri() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9_]{1,8}\\.(ts|m4s|mp4|m3u8|key)",
            "(\\.\\./|/|\\./)?[a-z0-9]{1,6}/[a-z0-9]{1,6}\\.ts\\?[a-z]=[a-zA-Z0-9%]{0,6}(&b=c)?",
            "(http|https|HTTP)://[a-z]{1,6}\\.example(:8080)?/[a-z0-9/]{0,10}(\\?t=[a-z0-9]{1,5})?",
            "//cdn\\.example/[a-z]{1,5}\\.ts",
            "[a-zA-Z0-9._~!$&'()*+;=@%?][a-zA-Z0-9._~!$&'()*+;=@%/?-]{0,15}",
        ]
    }

    fn other_uri() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("data:text/plain;base64,AAEC".to_string()),
            "skd://key[0-9]{1,3}",
            Just("ftp://x.example/y".to_string()),
        ]
    }

    /// Attributes that are never URIs, some of them built to look like one.
    const DECOYS: &[&str] = &[
        "METHOD=AES-128",
        "X-URI=\"x.ts\"",
        "URI-X=\"y.ts\"",
        "XURI=z.ts",
        "SERVER-URIS=\"s\"",
        "NAME=\"a, URI=b.ts\"",
        "TYPE=PART",
        "BANDWIDTH=1000",
        "CODECS=\"avc1,mp4a\"",
        "IV=0x00",
        "FLAG",
    ];

    /// (tag, attribute) pairs whose value the rewriter maps.
    const URI_ATTRS: &[(&str, &str)] = &[
        ("EXT-X-KEY", "URI"),
        ("EXT-X-SESSION-KEY", "URI"),
        ("EXT-X-MAP", "URI"),
        ("EXT-X-PART", "URI"),
        ("EXT-X-MEDIA", "URI"),
        ("EXT-X-I-FRAME-STREAM-INF", "URI"),
        ("EXT-X-IMAGE-STREAM-INF", "URI"),
        ("EXT-X-RENDITION-REPORT", "URI"),
        ("EXT-X-PRELOAD-HINT", "URI"),
        ("EXT-X-SESSION-DATA", "URI"),
        ("EXT-X-CONTENT-STEERING", "SERVER-URI"),
        ("EXT-X-DATERANGE", "X-ASSET-URI"),
        ("EXT-X-DATERANGE", "X-ASSET-LIST"),
    ];

    /// Lines that hold no URI the rewriter maps.
    const PLAIN_LINES: &[&str] = &[
        "",
        "  ",
        "#",
        "# comment URI=\"c.ts\"",
        "#EXTINF:10.0,title, a=b URI=\"x\"",
        "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"a,b\"",
        "#EXT-X-UNKNOWN:URI=\"u.ts\",SERVER-URI=v",
        "#EXT-X-MEDIA-SEQUENCE:5",
        "#EXT-X-ENDLIST",
        "#EXT-X-TARGETDURATION:6",
        "#EXT-X-KEY:METHOD=NONE",
        "#EXT-X-MAP:URI=\"\"",
    ];

    fn decoys() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(DECOYS), 0..3)
            .prop_map(|d| d.iter().map(|a| format!("{a},")).collect::<String>())
    }

    fn line() -> impl Strategy<Value = Vec<Piece>> {
        let ws = || prop::sample::select(&["", " ", "\t"][..]);
        prop_oneof![
            3 => (ws(), http_uri(), ws())
                .prop_map(|(a, u, b)| vec![Keep(a.into()), Map(u), Keep(b.into())]),
            3 => (prop::sample::select(URI_ATTRS), decoys(), any::<bool>(), http_uri(), decoys())
                .prop_map(|((tag, attr), before, quoted, u, after)| {
                    let q = if quoted { "\"" } else { "" };
                    // An unquoted value ends at a comma: keep those URIs quoted.
                    let q = if u.contains(',') { "\"" } else { q };
                    vec![
                        Keep(format!("#{tag}:{before}{attr}={q}")),
                        Map(u),
                        Keep(format!("{q},{}", after.trim_end_matches(','))),
                    ]
                }),
            1 => (prop::sample::select(URI_ATTRS), other_uri())
                .prop_map(|((tag, attr), u)| vec![Keep(format!("#{tag}:{attr}=\"{u}\""))]),
            1 => other_uri().prop_map(|u| vec![Keep(u)]),
            3 => prop::sample::select(PLAIN_LINES).prop_map(|l| vec![Keep(l.into())]),
        ]
    }

    /// A generated playlist as pieces, with line ends (LF, CRLF, lone CR) and maybe a BOM.
    fn playlist() -> impl Strategy<Value = Vec<Piece>> {
        let end = || prop::sample::select(&["\n", "\r\n", "\r"][..]);
        (
            any::<bool>(),
            end(),
            prop::collection::vec((line(), end()), 0..30),
            any::<bool>(),
        )
            .prop_map(|(bom, header_end, lines, last_end)| {
                let bom = if bom { "\u{feff}" } else { "" };
                let mut pieces = vec![Keep(format!("{bom}#EXTM3U{header_end}"))];
                let n = lines.len();
                for (i, (line, end)) in lines.into_iter().enumerate() {
                    pieces.extend(line);
                    if i + 1 < n || last_end {
                        pieces.push(Keep(end.into()));
                    }
                }
                pieces
            })
    }

    fn text(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| match p {
                Keep(s) | Map(s) => s.as_str(),
            })
            .collect()
    }

    const PBASE: &str = "http://origin.test/live/a/index.m3u8?s=1";

    proptest! {
        #[test]
        fn only_uris_change(pieces in playlist()) {
            let input = text(&pieces);
            let base = Uri::parse(PBASE).unwrap();
            let mut raws = Vec::new();
            let mut out = Vec::new();
            let summary = rewrite(input.as_bytes(), &base, &mut out, |t| {
                raws.push(t.raw.to_string());
                Ok::<_, ()>(format!("<{}>", raws.len() - 1))
            })
            .unwrap();
            let mut want = String::new();
            let mut want_raws = Vec::new();
            for p in &pieces {
                match p {
                    Keep(s) => want.push_str(s),
                    Map(u) => {
                        want.push_str(&format!("<{}>", want_raws.len()));
                        want_raws.push(u.clone());
                    }
                }
            }
            prop_assert_eq!(&raws, &want_raws);
            prop_assert_eq!(summary.uris, want_raws.len());
            prop_assert_eq!(String::from_utf8(out).unwrap(), want);
        }

        #[test]
        fn every_uri_left_is_a_relay_url(pieces in playlist()) {
            let input = text(&pieces);
            let (out, first, summary) = rw(&input, PBASE);
            prop_assert_eq!(first.len(), summary.uris);
            let (again, second, _) = rw(&out, PBASE);
            prop_assert_eq!(second.len(), first.len());
            for (i, ((k1, _, _), (k2, raw, _))) in first.iter().zip(&second).enumerate() {
                prop_assert_eq!(k1, k2);
                prop_assert_eq!(raw, &format!("https://relay.test/r/{i}.{}", k1.default_ext()));
            }
            prop_assert_eq!(again, out);
        }

        #[test]
        fn identity_mapper_changes_nothing(pieces in playlist()) {
            let input = text(&pieces);
            let base = Uri::parse(PBASE).unwrap();
            let mut out = Vec::new();
            rewrite(input.as_bytes(), &base, &mut out, |t| Ok::<_, ()>(t.raw.to_string())).unwrap();
            prop_assert_eq!(out, input.as_bytes());
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..400)) {
            let mut input = b"#EXTM3U\n".to_vec();
            input.extend(body);
            let base = Uri::parse(PBASE).unwrap();
            let mut out = Vec::new();
            if rewrite(&input, &base, &mut out, |t| Ok::<_, ()>(t.raw.to_string())).is_ok() {
                prop_assert_eq!(out, input);
            }
        }
    }
}
