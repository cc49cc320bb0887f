//! RFC 3986 URI references: parsing, reference resolution (§5.2), dot-segment removal, and
//! percent-encoding. No general-purpose URL crate: IPTV needs exactly this and no more.

use std::ops::Range;

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
        let _ = f;
        todo!()
    }
}
impl std::error::Error for UriError {}

/// Longest URI we accept.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// A parsed URI reference (absolute or relative). Tolerant of what real playlists contain:
/// surrounding whitespace is trimmed, and bytes not allowed in a URI (space, non-ASCII, `"<>\^`{|}`)
/// are percent-encoded on parse, so `as_str()` is always a valid URI reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    s: String,
    scheme: Option<Range<usize>>,
    authority: Option<Range<usize>>,
    path: Range<usize>,
    query: Option<Range<usize>>,
    fragment: Option<Range<usize>>,
}

impl Uri {
    pub fn parse(input: &str) -> Result<Uri, UriError> {
        let _ = input;
        todo!()
    }
    /// The whole reference as a string.
    pub fn as_str(&self) -> &str {
        &self.s
    }
    /// Lower-cased by the parser.
    pub fn scheme(&self) -> Option<&str> {
        todo!()
    }
    pub fn authority(&self) -> Option<&str> {
        todo!()
    }
    /// The userinfo part of the authority (before `@`), if any.
    pub fn userinfo(&self) -> Option<&str> {
        todo!()
    }
    /// The host without brackets (`::1` for `[::1]`), lower-cased.
    pub fn host(&self) -> Option<&str> {
        todo!()
    }
    /// The explicit port, if any (`None` when absent or empty).
    pub fn port(&self) -> Option<u16> {
        todo!()
    }
    /// The explicit port, else the scheme's default (80 for http, 443 for https).
    pub fn port_or_default(&self) -> Option<u16> {
        todo!()
    }
    pub fn path(&self) -> &str {
        todo!()
    }
    pub fn query(&self) -> Option<&str> {
        todo!()
    }
    pub fn fragment(&self) -> Option<&str> {
        todo!()
    }
    /// Has a scheme.
    pub fn is_absolute(&self) -> bool {
        self.scheme.is_some()
    }
    /// The origin-form request target: path (or `/` when empty) plus `?query`, no fragment.
    pub fn request_target(&self) -> String {
        todo!()
    }
    /// RFC 3986 §5.2.2 (strict): resolves `reference` against `self` as the base URI.
    /// The base should be absolute; the result has no fragment unless the reference has one.
    pub fn resolve(&self, reference: &Uri) -> Uri {
        let _ = reference;
        todo!()
    }
    /// Convenience: parse `reference` and resolve it against `self`.
    pub fn join(&self, reference: &str) -> Result<Uri, UriError> {
        Ok(self.resolve(&Uri::parse(reference)?))
    }
}

impl std::fmt::Display for Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.s)
    }
}

/// RFC 3986 §5.2.4.
pub fn remove_dot_segments(path: &str) -> String {
    let _ = path;
    todo!()
}

/// Percent-encodes every byte that is not unreserved (`A-Za-z0-9-._~`): for query values and
/// path segments built by the relay.
pub fn percent_encode(input: &[u8]) -> String {
    let _ = input;
    todo!()
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are. When `plus_as_space`, `+`
/// becomes a space (form encoding, as in query strings).
pub fn percent_decode(input: &[u8], plus_as_space: bool) -> Vec<u8> {
    let _ = (input, plus_as_space);
    todo!()
}
