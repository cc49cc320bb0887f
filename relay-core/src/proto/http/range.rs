//! `Range` requests and `Content-Range` answers.

use super::{parse_u64, trim_ows};
use std::ops::Range;

/// A single byte range from a `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-b` (inclusive).
    FromTo(u64, u64),
    /// `bytes=a-`.
    From(u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Parses a `Range` value. `None` for anything that is not one well-formed `bytes` range
    /// (multiple ranges, other units, bad syntax): RFC 9110 lets a server ignore such a header.
    ///
    /// The unit is case-insensitive; whitespace is allowed around the value, around `=` and
    /// around the range (and empty list elements, `bytes=0-1,`, are ignored), but not inside
    /// it. `a-b` needs `a <= b`, `-n` needs `n > 0`.
    pub fn parse(value: &[u8]) -> Option<ByteRange> {
        let (unit, set) = split_once(value, b'=')?;
        if !trim_ows(unit).eq_ignore_ascii_case(b"bytes") {
            return None;
        }
        let mut specs = set
            .split(|&b| b == b',')
            .map(trim_ows)
            .filter(|s| !s.is_empty());
        let spec = specs.next()?;
        if specs.next().is_some() {
            return None;
        }
        let (first, last) = split_once(spec, b'-')?;
        match (first.is_empty(), last.is_empty()) {
            (true, true) => None,
            (true, false) => parse_u64(last).filter(|&n| n > 0).map(ByteRange::Suffix),
            (false, true) => parse_u64(first).map(ByteRange::From),
            (false, false) => {
                let (first, last) = (parse_u64(first)?, parse_u64(last)?);
                (first <= last).then_some(ByteRange::FromTo(first, last))
            }
        }
    }

    /// The inclusive `(first, last)` byte positions of this range in a representation of
    /// `len` bytes, or `None` when unsatisfiable (answer 416 with `bytes */len`).
    pub fn resolve(self, len: u64) -> Option<(u64, u64)> {
        let end = len.checked_sub(1)?;
        match self {
            ByteRange::FromTo(first, last) if first <= last && first < len => {
                Some((first, last.min(end)))
            }
            ByteRange::From(first) if first < len => Some((first, end)),
            ByteRange::Suffix(n) if n > 0 => Some((len - n.min(len), end)),
            _ => None,
        }
    }

    /// The value to send upstream in a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`).
    pub fn to_header(self) -> String {
        match self {
            ByteRange::FromTo(first, last) => format!("bytes={first}-{last}"),
            ByteRange::From(first) => format!("bytes={first}-"),
            ByteRange::Suffix(n) => format!("bytes=-{n}"),
        }
    }
}

/// Splits at the first `sep`, which belongs to neither part.
fn split_once(bytes: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = memchr::memchr(sep, bytes)?;
    Some((&bytes[..i], &bytes[i + 1..]))
}

/// `Content-Range` value for a satisfied range: `bytes first-last/total` (`*` when unknown).
pub fn content_range(first: u64, last: u64, total: Option<u64>) -> String {
    match total {
        Some(total) => format!("bytes {first}-{last}/{total}"),
        None => format!("bytes {first}-{last}/*"),
    }
}

/// `Content-Range` value for a 416 answer: `bytes */total`.
pub fn content_range_unsatisfied(total: u64) -> String {
    format!("bytes */{total}")
}

/// Parses a `Content-Range` value of a 206 (`bytes a-b/len` or `bytes a-b/*`) into
/// [`ContentRange::Satisfied`], or of a 416 (`bytes */len`) into [`ContentRange::Unsatisfied`].
///
/// The unit is case-insensitive and followed by one or more SP/HTAB; surrounding whitespace is
/// ignored. `None` when malformed, when `last < first`, or when `last >= len`.
pub fn parse_content_range(value: &[u8]) -> Option<ContentRange> {
    let value = trim_ows(value);
    let space = memchr::memchr2(b' ', b'\t', value)?;
    let (unit, rest) = value.split_at(space);
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return None;
    }
    let (range, total) = split_once(trim_ows(rest), b'/')?;
    if range == b"*" {
        return parse_u64(total).map(|total| ContentRange::Unsatisfied { total });
    }
    let (first, last) = split_once(range, b'-')?;
    let (first, last) = (parse_u64(first)?, parse_u64(last)?);
    let total = match total {
        b"*" => None,
        digits => Some(parse_u64(digits)?),
    };
    (first <= last && total.is_none_or(|total| last < total)).then_some(ContentRange::Satisfied {
        first,
        last,
        total,
    })
}

/// A parsed `Content-Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes first-last/total`; total `None` for `*`.
    Satisfied {
        /// First byte position, inclusive.
        first: u64,
        /// Last byte position, inclusive.
        last: u64,
        /// Length of the whole representation, `None` when unknown (`*`).
        total: Option<u64>,
    },
    /// `bytes */total`.
    Unsatisfied {
        /// Length of the whole representation.
        total: u64,
    },
}

/// Cuts a byte range out of a body that arrives in pieces: the first `skip` bytes are dropped,
/// then at most `limit` bytes pass (`None`: all the rest). Used where an upstream ignored a
/// `Range` request and the relay answers the range itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cut {
    /// Body bytes still to drop.
    pub skip: u64,
    /// Body bytes still to pass after the skip (`None`: no end).
    pub limit: Option<u64>,
}

impl Cut {
    /// The part of the next `len` body bytes that is due, as a range into them; the cut moves
    /// past all `len`.
    pub fn take(&mut self, len: usize) -> Range<usize> {
        let skip = usize::try_from(self.skip).unwrap_or(usize::MAX).min(len);
        self.skip -= skip as u64;
        let mut end = len;
        if let Some(limit) = self.limit.as_mut() {
            end = skip
                + usize::try_from(*limit)
                    .unwrap_or(usize::MAX)
                    .min(len - skip);
            *limit -= (end - skip) as u64;
        }
        skip..end
    }

    /// Everything due has passed.
    pub fn done(&self) -> bool {
        self.limit == Some(0)
    }
}
