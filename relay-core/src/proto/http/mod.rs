//! Sans-IO HTTP/1.1 on httparse: request and response heads with named limits, chunked transfer
//! decoding, `Range` / `Content-Range`, and head serialisation.
//!
//! Nothing here touches a socket. Parsers take bytes and answer `Ok(None)` (need more input),
//! `Ok(Some(..))` (complete) or `Err(HttpError)` (the peer sent something we refuse).
//!
//! Heads are zero-copy: httparse runs over the caller's buffer, the head is split off with
//! `split_to(n).freeze()`, and the parsed head keeps index ranges into that frozen `Bytes`.
//!
//! Framing is strict where a lenient reading could let two parsers disagree (request smuggling):
//! a request with both `Transfer-Encoding` and `Content-Length` is refused, as is one with a
//! transfer coding we cannot decode; chunked framing requires CRLF line ends.

mod chunked;
mod head;
mod range;
#[cfg(test)]
mod tests;
mod write;

pub use chunked::{ChunkedDecoder, LAST_CHUNK, Step, write_chunk};
pub use head::{RequestHead, ResponseHead};
pub use range::{
    ByteRange, ContentRange, Cut, content_range, content_range_unsatisfied, parse_content_range,
};
pub use write::{HeadWriter, reason_phrase};

/// Largest request or response head we accept, request/status line and all headers included.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header fields in one head.
pub const MAX_HEADERS: usize = 64;
/// Longest single line in a head (request line, status line or one header field).
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// Longest chunk-size line (size plus extensions) in a chunked body.
pub const MAX_CHUNK_LINE_BYTES: usize = 1024;
/// Most bytes of trailer fields after the last chunk.
pub const MAX_TRAILER_BYTES: usize = 8 * 1024;

/// Why a head or body framing was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// The head exceeded [`MAX_HEAD_BYTES`]: 431 for requests.
    HeadTooLarge,
    /// More than [`MAX_HEADERS`] header fields: 431 for requests.
    TooManyHeaders,
    /// A line exceeded [`MAX_LINE_BYTES`]: 431 (414 for an over-long request line is also fine).
    LineTooLong,
    /// Syntax the parser rejects (bad token, bad header name, bare CR, ...): 400.
    Malformed,
    /// An HTTP version other than 1.0/1.1: 505.
    UnsupportedVersion,
    /// `Content-Length` invalid, or several that disagree: 400.
    BadContentLength,
    /// `Transfer-Encoding` other than a final `chunked`: 501 for requests, a failed upstream for responses.
    UnsupportedTransferEncoding,
    /// Chunked framing broken (bad size, missing CRLF, over-long chunk line or trailers).
    BadChunk,
}

impl HttpError {
    /// The status to answer a client with when its request caused this error.
    pub fn status(self) -> u16 {
        match self {
            HttpError::HeadTooLarge | HttpError::TooManyHeaders | HttpError::LineTooLong => 431,
            HttpError::Malformed | HttpError::BadContentLength | HttpError::BadChunk => 400,
            HttpError::UnsupportedVersion => 505,
            HttpError::UnsupportedTransferEncoding => 501,
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HttpError::HeadTooLarge => "head too large",
            HttpError::TooManyHeaders => "too many headers",
            HttpError::LineTooLong => "line too long",
            HttpError::Malformed => "malformed message head",
            HttpError::UnsupportedVersion => "unsupported http version",
            HttpError::BadContentLength => "bad content-length",
            HttpError::UnsupportedTransferEncoding => "unsupported transfer-encoding",
            HttpError::BadChunk => "bad chunked encoding",
        })
    }
}

impl std::error::Error for HttpError {}

/// HTTP version of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1`.
    Http11,
}

/// How a message body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body at all.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes (responses only).
    CloseDelimited,
}

/// Removes optional whitespace (SP, HTAB) from both ends.
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Decimal digits only (no sign, no whitespace), without overflow.
fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// HTAB, SP, visible ASCII or obs-text: what a field line or chunk extension may hold.
fn is_field_text(b: u8) -> bool {
    b == b'\t' || (b >= b' ' && b != 0x7f)
}
