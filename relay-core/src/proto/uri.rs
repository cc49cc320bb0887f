//! RFC 3986 URI references: parsing, reference resolution (§5.2), dot-segment removal, and
//! percent-encoding. No general-purpose URL crate: IPTV needs exactly this and no more.
//!
//! Parsing is tolerant, as playlists demand: bytes that may not appear in a URI reference are
//! percent-encoded instead of rejected. After that step the stored string is pure ASCII, which
//! every byte-index slice in this module relies on (each index is then a char boundary).

use std::ops::Range;

use memchr::{memchr, memchr2, memchr3};

/// Why a string is not a URI reference we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriError {
    /// Empty after trimming ASCII whitespace.
    Empty,
    /// Longer than [`MAX_URI_BYTES`].
    TooLong,
    /// A bad scheme, bad port, or unbalanced IPv6 brackets.
    Malformed,
}

impl std::fmt::Display for UriError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UriError::Empty => "empty URI",
            UriError::TooLong => "URI too long",
            UriError::Malformed => "malformed URI",
        })
    }
}
impl std::error::Error for UriError {}

/// Longest URI we accept.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// A parsed URI reference (absolute or relative). Tolerant of what real playlists contain:
/// surrounding whitespace is trimmed, and bytes not allowed in a URI (space, non-ASCII, `` "<>\^`{|} ``)
/// are percent-encoded on parse, so `as_str()` is always a valid URI reference.
///
/// Reserved characters are never touched, so a `[`, `]` outside the host or a second `#` stays as
/// written: the parse is still unambiguous and a re-parse yields the same components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// The encoded reference. Always ASCII, so the ranges below slice it on char boundaries.
    s: String,
    /// Scheme, without the `:`.
    scheme: Option<Range<usize>>,
    /// Authority, without the leading `//`.
    authority: Option<Range<usize>>,
    /// Host inside the authority, without IPv6 brackets; present exactly when `authority` is.
    host: Option<Range<usize>>,
    /// Explicit port, validated at parse time.
    port: Option<u16>,
    path: Range<usize>,
    /// Query, without the `?`.
    query: Option<Range<usize>>,
    /// Fragment, without the `#`.
    fragment: Option<Range<usize>>,
}

/// An authority borrowed from a parsed [`Uri`], carried over whole by reference resolution.
struct Authority<'a> {
    text: &'a str,
    /// The host's range relative to `text`.
    host: Range<usize>,
    port: Option<u16>,
}

impl Uri {
    /// Parses a URI reference (RFC 3986 §4.1), tolerantly:
    ///
    /// - surrounding ASCII whitespace is trimmed;
    /// - every byte that may not appear in a URI reference (controls, space, non-ASCII,
    ///   `` "<>\^`{|} ``) is percent-encoded with upper-case hex, and so is a `%` that does not start
    ///   a `%XX` escape; existing escapes and reserved characters are kept as written;
    /// - the scheme and the host are lower-cased (percent-escapes in the host are kept as written).
    ///
    /// A prefix before the first `:` that is not valid scheme syntax (`1abc:x`, `a_b:c`) makes the
    /// whole input a relative-path reference, since playlists do contain segment names with colons.
    /// It is [`UriError::Malformed`] only when followed by `//` (`ht tp://h/`, `://h`): that cannot
    /// sensibly be a relative reference. A port that is not all digits or exceeds `u16`, or an
    /// unbalanced or misplaced IPv6 bracket in the host, is also `Malformed`.
    ///
    /// # Errors
    ///
    /// [`UriError::Empty`] for blank input, [`UriError::TooLong`] when the encoded reference
    /// exceeds [`MAX_URI_BYTES`], [`UriError::Malformed`] as above.
    pub fn parse(input: &str) -> Result<Uri, UriError> {
        let t = input.trim_ascii();
        if t.is_empty() {
            return Err(UriError::Empty);
        }
        // Encoding never shrinks the input, so refuse early without encoding a huge string.
        if t.len() > MAX_URI_BYTES {
            return Err(UriError::TooLong);
        }
        let mut s = encode_reference(t);
        if s.len() > MAX_URI_BYTES {
            return Err(UriError::TooLong);
        }
        // Invariant from here on: `s` is ASCII, so any byte index is a char boundary.
        debug_assert!(s.is_ascii());
        let b = s.as_bytes();
        let len = b.len();

        let mut pos = 0;
        let mut scheme = None;
        if let Some(i) = b
            .iter()
            .position(|&c| matches!(c, b':' | b'/' | b'?' | b'#'))
            && b[i] == b':'
        {
            if is_scheme(&b[..i]) {
                scheme = Some(0..i);
                pos = i + 1;
            } else if b[i + 1..].starts_with(b"//") {
                return Err(UriError::Malformed);
            }
        }

        let (mut authority, mut host, mut port) = (None, None, None);
        if b[pos..].starts_with(b"//") {
            let start = pos + 2;
            let end = memchr3(b'/', b'?', b'#', &b[start..]).map_or(len, |i| start + i);
            let (h, p) = split_authority(&s[start..end])?;
            authority = Some(start..end);
            host = Some(start + h.start..start + h.end);
            port = p;
            pos = end;
        }

        let path_end = memchr2(b'?', b'#', &b[pos..]).map_or(len, |i| pos + i);
        let path = pos..path_end;
        pos = path_end;
        let mut query = None;
        if b.get(pos) == Some(&b'?') {
            let end = memchr(b'#', &b[pos + 1..]).map_or(len, |i| pos + 1 + i);
            query = Some(pos + 1..end);
            pos = end;
        }
        // Anything left starts with the `#`.
        let fragment = (pos < len).then(|| pos + 1..len);

        if let Some(r) = &scheme {
            s[r.clone()].make_ascii_lowercase();
        }
        if let Some(r) = &host {
            lowercase_outside_escapes(&mut s[r.clone()]);
        }
        Ok(Uri {
            s,
            scheme,
            authority,
            host,
            port,
            path,
            query,
            fragment,
        })
    }
    /// The whole reference as a string.
    pub fn as_str(&self) -> &str {
        &self.s
    }
    /// Lower-cased by the parser.
    pub fn scheme(&self) -> Option<&str> {
        self.part(self.scheme.as_ref())
    }
    /// The authority (`userinfo@host:port`), without the leading `//`.
    pub fn authority(&self) -> Option<&str> {
        self.part(self.authority.as_ref())
    }
    /// The userinfo part of the authority (before `@`), if any.
    pub fn userinfo(&self) -> Option<&str> {
        let a = self.authority()?;
        a.rfind('@').map(|i| &a[..i])
    }
    /// The host without brackets (`::1` for `[::1]`), lower-cased.
    pub fn host(&self) -> Option<&str> {
        self.part(self.host.as_ref())
    }
    /// The explicit port, if any (`None` when absent or empty).
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    /// The explicit port, else the scheme's default (80 for http, 443 for https).
    /// `ws` and `wss` default to 80 and 443 as well; other schemes have no default.
    pub fn port_or_default(&self) -> Option<u16> {
        self.port.or(match self.scheme()? {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        })
    }
    /// The path, possibly empty.
    pub fn path(&self) -> &str {
        &self.s[self.path.clone()]
    }
    /// The query, without the `?`.
    pub fn query(&self) -> Option<&str> {
        self.part(self.query.as_ref())
    }
    /// The fragment, without the `#`.
    pub fn fragment(&self) -> Option<&str> {
        self.part(self.fragment.as_ref())
    }
    /// Has a scheme.
    pub fn is_absolute(&self) -> bool {
        self.scheme.is_some()
    }
    /// The origin-form request target: path (or `/` when empty) plus `?query`, no fragment.
    pub fn request_target(&self) -> String {
        let path = match self.path() {
            "" => "/",
            p => p,
        };
        let query = self.query();
        let mut t = String::with_capacity(path.len() + query.map_or(0, |q| q.len() + 1));
        t.push_str(path);
        if let Some(q) = query {
            t.push('?');
            t.push_str(q);
        }
        t
    }
    /// RFC 3986 §5.2.2 (strict): resolves `reference` against `self` as the base URI.
    /// The base should be absolute; the result has no fragment unless the reference has one.
    ///
    /// The result is recomposed per §5.3. It is not checked against [`MAX_URI_BYTES`]. With a
    /// base that has no scheme the algorithm runs all the same; should the recomposed path be
    /// misread on a re-parse, it is prefixed as WHATWG URL does: `/.` before a path starting with
    /// `//` when there is no authority, `./` before a first segment containing `:` when there is
    /// neither scheme nor authority.
    pub fn resolve(&self, reference: &Uri) -> Uri {
        let (base, r) = (self, reference);
        let merged;
        let (authority, path, normalize, query) = if r.scheme.is_some() || r.authority.is_some() {
            (r.authority_parts(), r.path(), true, r.query())
        } else if r.path().is_empty() {
            let query = r.query().or(base.query());
            (base.authority_parts(), base.path(), false, query)
        } else if r.path().starts_with('/') {
            (base.authority_parts(), r.path(), true, r.query())
        } else {
            merged = merge(base, r.path());
            (base.authority_parts(), merged.as_str(), true, r.query())
        };
        let scheme = r.scheme().or(base.scheme());
        Uri::assemble(scheme, authority, path, normalize, query, r.fragment())
    }
    /// Convenience: parse `reference` and resolve it against `self`.
    ///
    /// # Errors
    ///
    /// Those of [`Uri::parse`] for `reference`.
    pub fn join(&self, reference: &str) -> Result<Uri, UriError> {
        Ok(self.resolve(&Uri::parse(reference)?))
    }

    fn part(&self, r: Option<&Range<usize>>) -> Option<&str> {
        r.map(|r| &self.s[r.clone()])
    }

    fn authority_parts(&self) -> Option<Authority<'_>> {
        let (a, h) = (self.authority.as_ref()?, self.host.as_ref()?);
        Some(Authority {
            text: &self.s[a.clone()],
            host: h.start - a.start..h.end - a.start,
            port: self.port,
        })
    }

    /// Recomposes components that come from parsed URIs (already encoded) per §5.3, running
    /// `remove_dot_segments` on the path when `normalize`.
    fn assemble(
        scheme: Option<&str>,
        authority: Option<Authority<'_>>,
        path: &str,
        normalize: bool,
        query: Option<&str>,
        fragment: Option<&str>,
    ) -> Uri {
        let len = |p: Option<&str>| p.map_or(0, str::len);
        let parts = [
            scheme,
            authority.as_ref().map(|a| a.text),
            Some(path),
            query,
            fragment,
        ];
        // Delimiters (`:`, `//`, `?`, `#`) and a possible `./` or `/.` prefix.
        let mut s = String::with_capacity(parts.into_iter().map(len).sum::<usize>() + 7);

        let scheme_r = scheme.map(|sc| {
            let r = push_part(&mut s, "", sc);
            s.push(':');
            r
        });
        let (mut authority_r, mut host, mut port) = (None, None, None);
        if let Some(a) = authority {
            let r = push_part(&mut s, "//", a.text);
            host = Some(r.start + a.host.start..r.start + a.host.end);
            port = a.port;
            authority_r = Some(r);
        }
        let path_start = s.len();
        if normalize {
            remove_dot_segments_into(path, &mut s);
        } else {
            s.push_str(path);
        }
        if authority_r.is_none() {
            let p = &s[path_start..];
            let first_segment = &p[..p.find('/').unwrap_or(p.len())];
            if p.starts_with("//") {
                s.insert_str(path_start, "/.");
            } else if scheme_r.is_none() && first_segment.contains(':') {
                s.insert_str(path_start, "./");
            }
        }
        let path = path_start..s.len();
        let query = query.map(|q| push_part(&mut s, "?", q));
        let fragment = fragment.map(|f| push_part(&mut s, "#", f));
        Uri {
            s,
            scheme: scheme_r,
            authority: authority_r,
            host,
            port,
            path,
            query,
            fragment,
        }
    }
}

impl std::fmt::Display for Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.s)
    }
}

/// RFC 3986 §5.2.4.
pub fn remove_dot_segments(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    remove_dot_segments_into(path, &mut out);
    out
}

/// §5.2.4 appending to `out`; the output buffer of the RFC is `out[start..]`.
fn remove_dot_segments_into(mut input: &str, out: &mut String) {
    let start = out.len();
    let pop = |out: &mut String| {
        let cut = out[start..].rfind('/').map_or(start, |i| start + i);
        out.truncate(cut);
    };
    while !input.is_empty() {
        if let Some(rest) = input
            .strip_prefix("../")
            .or_else(|| input.strip_prefix("./"))
        {
            // A
            input = rest;
        } else if input.starts_with("/./") || input == "/." {
            // B: replace the prefix with "/".
            input = &input[2..];
            if input.is_empty() {
                input = "/";
            }
        } else if input.starts_with("/../") || input == "/.." {
            // C: as B, and drop the last output segment.
            input = &input[3..];
            if input.is_empty() {
                input = "/";
            }
            pop(out);
        } else if input == "." || input == ".." {
            // D
            input = "";
        } else {
            // E: move the first segment, with its leading "/" if any.
            let end = memchr(b'/', &input.as_bytes()[1..]).map_or(input.len(), |i| i + 1);
            out.push_str(&input[..end]);
            input = &input[end..];
        }
    }
}

/// §5.2.3 for a relative-path `reference` (non-empty, not starting with `/`).
fn merge(base: &Uri, reference: &str) -> String {
    let bp = base.path();
    let dir = if base.authority.is_some() && bp.is_empty() {
        "/"
    } else {
        &bp[..bp.rfind('/').map_or(0, |i| i + 1)]
    };
    [dir, reference].concat()
}

/// Percent-encodes every byte that is not unreserved (`A-Za-z0-9-._~`): for query values and
/// path segments built by the relay.
pub fn percent_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len());
    for &c in input {
        if UNRESERVED[usize::from(c)] {
            out.push(char::from(c));
        } else {
            push_escape(&mut out, c);
        }
    }
    out
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are. When `plus_as_space`, `+`
/// becomes a space (form encoding, as in query strings).
pub fn percent_decode(input: &[u8], plus_as_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    loop {
        let next = if plus_as_space {
            memchr2(b'%', b'+', rest)
        } else {
            memchr(b'%', rest)
        };
        let Some(i) = next else {
            out.extend_from_slice(rest);
            return out;
        };
        out.extend_from_slice(&rest[..i]);
        match (rest[i], escape_at(rest, i)) {
            (b'%', Some(v)) => {
                out.push(v);
                rest = &rest[i + 3..];
                continue;
            }
            (b'+', _) => out.push(b' '),
            (c, _) => out.push(c),
        }
        rest = &rest[i + 1..];
    }
}

/// Bytes allowed verbatim in a URI reference: unreserved and reserved characters (`%` apart).
const URI_CHAR: [bool; 256] = byte_table(b"-._~:/?#[]@!$&'()*+,;=");
/// Unreserved characters (§2.3).
const UNRESERVED: [bool; 256] = byte_table(b"-._~");

const fn byte_table(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// Whether byte `i` of `b` must be percent-encoded in a URI reference.
fn needs_escape(b: &[u8], i: usize) -> bool {
    match b[i] {
        b'%' => escape_at(b, i).is_none(),
        c => !URI_CHAR[usize::from(c)],
    }
}

/// `t` with every byte not allowed in a URI reference percent-encoded. The result is ASCII.
fn encode_reference(t: &str) -> String {
    let b = t.as_bytes();
    let Some(first) = (0..b.len()).find(|&i| needs_escape(b, i)) else {
        return t.to_owned();
    };
    let mut out = String::with_capacity(t.len() + 16);
    // Every byte before `first` is ASCII, so `first` is a char boundary.
    out.push_str(&t[..first]);
    for i in first..b.len() {
        if needs_escape(b, i) {
            push_escape(&mut out, b[i]);
        } else {
            // Allowed bytes are all ASCII.
            out.push(char::from(b[i]));
        }
    }
    out
}

fn push_escape(out: &mut String, c: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(c >> 4)]));
    out.push(char::from(HEX[usize::from(c & 0xf)]));
}

/// The value of the `%XX` escape at `b[i]`, if well-formed.
fn escape_at(b: &[u8], i: usize) -> Option<u8> {
    let hex = |c: u8| char::from(c).to_digit(16);
    let hi = hex(*b.get(i + 1)?)?;
    let lo = hex(*b.get(i + 2)?)?;
    Some((hi << 4 | lo) as u8)
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`
fn is_scheme(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_alphabetic)
        && s.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// Splits an (encoded, ASCII) authority into the host's range, without brackets, and the port.
fn split_authority(a: &str) -> Result<(Range<usize>, Option<u16>), UriError> {
    let start = a.rfind('@').map_or(0, |i| i + 1);
    let hostport = &a[start..];
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let close = inner.find(']').ok_or(UriError::Malformed)?;
        if inner[..close].contains('[') {
            return Err(UriError::Malformed);
        }
        let port = match &inner[close + 1..] {
            "" => "",
            rest => rest.strip_prefix(':').ok_or(UriError::Malformed)?,
        };
        (start + 1..start + 1 + close, port)
    } else if hostport.contains(['[', ']']) {
        return Err(UriError::Malformed);
    } else {
        match hostport.find(':') {
            Some(i) => (start..start + i, &hostport[i + 1..]),
            None => (start..a.len(), ""),
        }
    };
    let port = match port {
        "" => None,
        p if p.bytes().all(|c| c.is_ascii_digit()) => {
            Some(p.parse().map_err(|_| UriError::Malformed)?)
        }
        _ => return Err(UriError::Malformed),
    };
    Ok((host, port))
}

/// ASCII-lower-cases `s` except the two hex digits of each `%XX` escape.
fn lowercase_outside_escapes(mut s: &mut str) {
    while let Some(i) = s.find('%') {
        let (head, tail) = s.split_at_mut(i);
        head.make_ascii_lowercase();
        // The parser only leaves well-formed escapes, all ASCII.
        let skip = tail.len().min(3);
        s = &mut tail[skip..];
    }
    s.make_ascii_lowercase();
}

fn push_part(s: &mut String, prefix: &str, part: &str) -> Range<usize> {
    s.push_str(prefix);
    let start = s.len();
    s.push_str(part);
    start..s.len()
}

/// A URL as logs may show it: scheme and host only, `http://host/…` (provider URLs carry
/// account credentials in their user info, path and query). Anything unparseable is
/// `(bad url)`.
pub fn redact(url: &str) -> String {
    match Uri::parse(url) {
        Ok(u) => match (u.scheme(), u.host().filter(|h| !h.is_empty())) {
            (Some(scheme), Some(host)) => format!("{scheme}://{host}/…"),
            _ => "(bad url)".into(),
        },
        Err(_) => "(bad url)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BASE: &str = "http://a/b/c/d;p?q";

    fn uri(s: &str) -> Uri {
        Uri::parse(s).unwrap()
    }

    /// The empty reference, which `Uri::parse` refuses as [`UriError::Empty`].
    fn empty_ref() -> Uri {
        Uri {
            s: String::new(),
            scheme: None,
            authority: None,
            host: None,
            port: None,
            path: 0..0,
            query: None,
            fragment: None,
        }
    }

    fn check_resolve(cases: &[(&str, &str)]) {
        let base = uri(BASE);
        for &(reference, expected) in cases {
            let r = if reference.is_empty() {
                empty_ref()
            } else {
                uri(reference)
            };
            let t = base.resolve(&r);
            assert_eq!(t.as_str(), expected, "resolving {reference:?}");
            assert_eq!(t, uri(expected), "components of {reference:?}");
        }
    }

    #[test]
    fn rfc3986_5_4_1_normal_examples() {
        check_resolve(&[
            ("g:h", "g:h"),
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("g#s", "http://a/b/c/g#s"),
            ("g?y#s", "http://a/b/c/g?y#s"),
            (";x", "http://a/b/c/;x"),
            ("g;x", "http://a/b/c/g;x"),
            ("g;x?y#s", "http://a/b/c/g;x?y#s"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../", "http://a/"),
            ("../../g", "http://a/g"),
        ]);
    }

    #[test]
    fn rfc3986_5_4_2_abnormal_examples() {
        check_resolve(&[
            ("../../../g", "http://a/g"),
            ("../../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            (".g", "http://a/b/c/.g"),
            ("g..", "http://a/b/c/g.."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("g?y/./x", "http://a/b/c/g?y/./x"),
            ("g?y/../x", "http://a/b/c/g?y/../x"),
            ("g#s/./x", "http://a/b/c/g#s/./x"),
            ("g#s/../x", "http://a/b/c/g#s/../x"),
            ("http:g", "http:g"),
        ]);
    }

    #[test]
    fn rfc3986_5_2_4_remove_dot_segments() {
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
        assert_eq!(remove_dot_segments(""), "");
        assert_eq!(remove_dot_segments("../.."), "");
        assert_eq!(remove_dot_segments("/.."), "/");
        assert_eq!(remove_dot_segments("/a/."), "/a/");
    }

    #[test]
    fn components() {
        let u = uri("HTTP://User:Pw@Example.COM:8080/Path/x.m3u8?a=1&B=2#Frag");
        assert_eq!(
            u.as_str(),
            "http://User:Pw@example.com:8080/Path/x.m3u8?a=1&B=2#Frag"
        );
        assert_eq!(u.scheme(), Some("http"));
        assert_eq!(u.authority(), Some("User:Pw@example.com:8080"));
        assert_eq!(u.userinfo(), Some("User:Pw"));
        assert_eq!(u.host(), Some("example.com"));
        assert_eq!(u.port(), Some(8080));
        assert_eq!(u.path(), "/Path/x.m3u8");
        assert_eq!(u.query(), Some("a=1&B=2"));
        assert_eq!(u.fragment(), Some("Frag"));
        assert!(u.is_absolute());
        assert_eq!(u.request_target(), "/Path/x.m3u8?a=1&B=2");
        assert_eq!(u.to_string(), u.as_str());
    }

    #[test]
    fn ipv6_literal() {
        let u = uri("http://[::1]:8080/x");
        assert_eq!(u.host(), Some("::1"));
        assert_eq!(u.authority(), Some("[::1]:8080"));
        assert_eq!(u.port(), Some(8080));
        assert_eq!(u.path(), "/x");
        let u = uri("https://[FE80::A%25Eth0]/");
        assert_eq!(u.host(), Some("fe80::a%25eth0"));
        assert_eq!(u.port_or_default(), Some(443));
        for bad in [
            "http://[::1/x",
            "http://::1]/x",
            "http://[[::1]/",
            "http://[::1]]/",
            "http://[::1]x/",
        ] {
            assert_eq!(Uri::parse(bad), Err(UriError::Malformed), "{bad}");
        }
    }

    #[test]
    fn userinfo_and_ports() {
        let u = uri("udp://@239.0.0.1:1234");
        assert_eq!(u.userinfo(), Some(""));
        assert_eq!(u.host(), Some("239.0.0.1"));
        assert_eq!(u.port_or_default(), Some(1234));
        assert_eq!(u.path(), "");
        assert_eq!(u.request_target(), "/");

        let u = uri("http://h:/x");
        assert_eq!((u.port(), u.port_or_default()), (None, Some(80)));
        assert_eq!(u.userinfo(), None);
        assert_eq!(uri("wss://h").port_or_default(), Some(443));
        assert_eq!(uri("ws://h").port_or_default(), Some(80));
        assert_eq!(uri("rtmp://h/live").port_or_default(), None);
        assert_eq!(uri("/x").port_or_default(), None);
        assert_eq!(uri("http://h:65535").port(), Some(65535));
        for bad in [
            "http://h:65536/",
            "http://h:8o/",
            "http://h:+80/",
            "http://a:b:1/",
        ] {
            assert_eq!(Uri::parse(bad), Err(UriError::Malformed), "{bad}");
        }
    }

    #[test]
    fn query_and_fragment_only() {
        let u = uri("?a=b");
        assert_eq!((u.path(), u.query(), u.fragment()), ("", Some("a=b"), None));
        assert!(!u.is_absolute());
        let u = uri("#t=10");
        assert_eq!(
            (u.path(), u.query(), u.fragment()),
            ("", None, Some("t=10"))
        );
        let u = uri("?");
        assert_eq!((u.query(), u.fragment()), (Some(""), None));
        assert_eq!(uri("x#a#b").fragment(), Some("a#b"));
    }

    #[test]
    fn scheme_edge_cases() {
        // Not scheme syntax: a relative path whose first segment holds a colon.
        for rel in ["1abc:x", "seg_10:00.ts", ":x", "%41:b"] {
            let u = uri(rel);
            assert_eq!((u.scheme(), u.path()), (None, rel));
        }
        let u = uri("2024-01-01 10:00.ts");
        assert_eq!((u.scheme(), u.path()), (None, "2024-01-01%2010:00.ts"));
        // ...unless it can only be a broken absolute URI.
        for bad in ["ht tp://h/", "1abc://h", "://h/x"] {
            assert_eq!(Uri::parse(bad), Err(UriError::Malformed), "{bad}");
        }
        let u = uri("Svc+Ext.1-a:opaque");
        assert_eq!((u.scheme(), u.path()), (Some("svc+ext.1-a"), "opaque"));
        let u = uri("file:///tmp/a.m3u");
        assert_eq!((u.host(), u.path()), (Some(""), "/tmp/a.m3u"));
    }

    #[test]
    fn playlist_inputs_are_encoded() {
        assert_eq!(uri("  http://h/a b.ts \r\n").as_str(), "http://h/a%20b.ts");
        assert_eq!(
            uri("http://h/канал.ts").as_str(),
            "http://h/%D0%BA%D0%B0%D0%BD%D0%B0%D0%BB.ts"
        );
        assert_eq!(
            uri("http://h/s.ts|User-Agent=x").as_str(),
            "http://h/s.ts%7CUser-Agent=x"
        );
        assert_eq!(
            uri("http://h/\"<>\\^`{}\t\x7f").as_str(),
            "http://h/%22%3C%3E%5C%5E%60%7B%7D%09%7F"
        );
        // Escapes and reserved characters are left alone; stray `%` are encoded.
        assert_eq!(
            uri("/a%2fb%C3%A9?x=%zz&y=%4").as_str(),
            "/a%2fb%C3%A9?x=%25zz&y=%254"
        );
        assert_eq!(uri("/!$&'()*+,;=:@[]").as_str(), "/!$&'()*+,;=:@[]");
        assert_eq!(
            uri("http://Ка.РФ/").host(),
            Some("%D0%9A%D0%B0.%D0%A0%D0%A4")
        );
    }

    #[test]
    fn limits() {
        assert_eq!(Uri::parse(""), Err(UriError::Empty));
        assert_eq!(Uri::parse(" \t\r\n"), Err(UriError::Empty));
        let max = format!("/{}", "a".repeat(MAX_URI_BYTES - 1));
        assert!(Uri::parse(&max).is_ok());
        assert_eq!(Uri::parse(&format!("{max}a")), Err(UriError::TooLong));
        // The limit applies after encoding.
        let spaced = format!("/{}x", " ".repeat(MAX_URI_BYTES / 3 + 1));
        assert_eq!(Uri::parse(&spaced), Err(UriError::TooLong));
        assert_eq!(UriError::TooLong.to_string(), "URI too long");
    }

    #[test]
    fn resolve_against_odd_bases() {
        // No authority: a "//" path must not turn into an authority.
        let t = uri("foo:/a/b").join("../..//c").unwrap();
        assert_eq!(t.as_str(), "foo:/.//c");
        assert_eq!(t, uri(t.as_str()));
        // No scheme: a first segment with a colon must not turn into a scheme.
        let t = uri("b").join("./a:b").unwrap();
        assert_eq!(t.as_str(), "./a:b");
        assert_eq!(t, uri(t.as_str()));
        assert_eq!(uri("x/y?q").join("z").unwrap().as_str(), "x/z");
        assert_eq!(uri("http://h").join("x").unwrap().as_str(), "http://h/x");
        assert_eq!(uri("#f").join(".").unwrap().as_str(), "");
        let t = uri("http://[::1]:81/a/b").join("c?d").unwrap();
        assert_eq!(t, uri("http://[::1]:81/a/c?d"));
        assert_eq!(t.host(), Some("::1"));
    }

    #[test]
    fn percent_coding() {
        assert_eq!(
            percent_encode(b"a b/c?d=e&f~g.h-i_j"),
            "a%20b%2Fc%3Fd%3De%26f~g.h-i_j"
        );
        assert_eq!(percent_encode("é".as_bytes()), "%C3%A9");
        assert_eq!(percent_decode(b"a%20b%2fc+d", false), b"a b/c+d");
        assert_eq!(percent_decode(b"a%20b+c", true), b"a b c");
        assert_eq!(percent_decode(b"%zz%4%", true), b"%zz%4%");
        assert_eq!(percent_decode(b"%C3%a9", false), "é".as_bytes());
    }

    /// Absolute bases with an authority and no dot segments.
    fn base_strategy() -> impl Strategy<Value = String> {
        "(http|https|rtsp)://(user@)?[a-z0-9.-]{0,8}(:[0-9]{1,4})?(/[a-z0-9;=%]{0,4}){0,4}(\\?[a-z=&/.]{0,6})?(#[a-z]{0,3})?"
    }

    /// Relative references rich in dot segments.
    fn reference_strategy() -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            Just(""),
            Just("."),
            Just(".."),
            Just("g"),
            Just("a:b"),
            Just(".x"),
            Just("%2E"),
            Just(" ")
        ];
        (
            "(/|//h)?",
            prop::collection::vec(segment, 0..8),
            "(\\?[./a]{0,4})?(#[./a]{0,4})?",
        )
            .prop_map(|(lead, segs, tail)| format!("{lead}{}{tail}", segs.join("/")))
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Uri::parse(&s);
        }

        #[test]
        fn parse_never_panics_uri_like(s in "[a-zA-Z0-9:/?#@\\[\\]%. ё|]{0,30}") {
            let _ = Uri::parse(&s);
        }

        #[test]
        fn parse_is_idempotent(s in prop_oneof![any::<String>(), "[a-z1:/?#@\\[\\]%. ё]{0,30}"]) {
            if let Ok(u) = Uri::parse(&s) {
                prop_assert!(u.as_str().is_ascii());
                prop_assert_eq!(Uri::parse(u.as_str()), Ok(u));
            }
        }

        #[test]
        fn resolution_is_absolute_without_dot_segments(
            base in base_strategy(),
            reference in reference_strategy(),
        ) {
            let base = uri(&base);
            let Ok(r) = Uri::parse(&reference) else { return Ok(()) };
            let t = base.resolve(&r);
            prop_assert!(t.is_absolute());
            // An absolute reference without authority may need the `/.` guard (`a:b/..//g`).
            if !r.is_absolute() {
                prop_assert!(!t.path().split('/').any(|s| s == "." || s == ".."), "{}", t);
            }
            prop_assert_eq!(Uri::parse(t.as_str()), Ok(t));
        }

        #[test]
        fn resolution_against_any_base_never_panics(base in "[a-z:/?#.]{1,12}", r in "[a-z:/?#.]{1,12}") {
            if let (Ok(base), Ok(r)) = (Uri::parse(&base), Uri::parse(&r)) {
                let t = base.resolve(&r);
                if !t.as_str().is_empty() {
                    prop_assert_eq!(Uri::parse(t.as_str()), Ok(t));
                }
            }
        }

        #[test]
        fn resolving_base_against_itself(base in base_strategy(), frag in "[a-z]{0,3}") {
            let base = uri(&base);
            prop_assert_eq!(base.join(base.as_str()), Ok(base.clone()));
            let t = base.join(&format!("#{frag}")).unwrap();
            prop_assert_eq!(t.fragment(), Some(frag.as_str()));
            prop_assert_eq!(
                (t.scheme(), t.authority(), t.path(), t.query()),
                (base.scheme(), base.authority(), base.path(), base.query())
            );
        }

        #[test]
        fn percent_round_trip(bytes in any::<Vec<u8>>(), plus in any::<bool>()) {
            let encoded = percent_encode(&bytes);
            prop_assert!(encoded.bytes().all(|c| UNRESERVED[usize::from(c)] || c == b'%'));
            prop_assert_eq!(percent_decode(encoded.as_bytes(), plus), bytes);
        }
    }

    #[test]
    fn redacted_urls_keep_only_the_host() {
        assert_eq!(
            redact("http://user:pw@prov.example:8080/live/u/p/1.ts?token=x"),
            "http://prov.example/…"
        );
        assert_eq!(redact("not a url at all"), "(bad url)");
    }
}
