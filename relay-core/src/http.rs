//! Sans-IO HTTP/1.1 on httparse: request and response heads with named limits, chunked transfer
//! decoding, `Range` / `Content-Range`, and head serialisation.
//!
//! Nothing here touches a socket. Parsers take bytes and answer `Ok(None)` (need more input),
//! `Ok(Some(..))` (complete) or `Err(HttpError)` (the peer sent something we refuse).

use bytes::{Bytes, BytesMut};
use std::ops::Range;

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
        todo!()
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = f;
        todo!()
    }
}

impl std::error::Error for HttpError {}

/// HTTP version of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
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

/// A parsed request head. Zero-copy: index pairs into the frozen head bytes.
#[derive(Debug, Clone)]
pub struct RequestHead {
    buf: Bytes,
    method: Range<usize>,
    target: Range<usize>,
    version: Version,
    headers: Vec<(Range<usize>, Range<usize>)>,
}

impl RequestHead {
    /// Parses a request head from the front of `buf`. On success the head bytes are split off
    /// `buf` (what follows, e.g. a pipelined request or a body, stays in `buf`). `Ok(None)` means
    /// more bytes are needed; it is an error once `buf` holds more than [`MAX_HEAD_BYTES`] without
    /// a complete head. Leading empty lines (RFC 9112 §2.2) are skipped.
    pub fn parse(buf: &mut BytesMut) -> Result<Option<RequestHead>, HttpError> {
        let _ = buf;
        todo!()
    }
    /// The method token, e.g. `GET`.
    pub fn method(&self) -> &str {
        todo!()
    }
    /// The request target as sent, e.g. `/stream/abc?x=1`.
    pub fn target(&self) -> &str {
        todo!()
    }
    /// The target's path (before `?`).
    pub fn path(&self) -> &str {
        todo!()
    }
    /// The target's query (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        todo!()
    }
    pub fn version(&self) -> Version {
        self.version
    }
    /// First header of this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        let _ = name;
        todo!()
    }
    /// First header of this name, if it is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        let _ = name;
        todo!()
    }
    /// All headers in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        std::iter::empty()
    }
    /// Whether the connection may stay open after this exchange (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub fn keep_alive(&self) -> bool {
        todo!()
    }
    /// The request body framing (RFC 9112 §6.3): chunked wins over length; conflicting or
    /// invalid lengths are an error; no framing headers means [`BodyKind::Empty`].
    pub fn body_kind(&self) -> Result<BodyKind, HttpError> {
        todo!()
    }
}

/// A parsed response head.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    buf: Bytes,
    status: u16,
    version: Version,
    reason: Range<usize>,
    headers: Vec<(Range<usize>, Range<usize>)>,
}

impl ResponseHead {
    /// As [`RequestHead::parse`], for a response. Interim 1xx responses other than 101 are
    /// consumed and skipped.
    pub fn parse(buf: &mut BytesMut) -> Result<Option<ResponseHead>, HttpError> {
        let _ = buf;
        todo!()
    }
    pub fn status(&self) -> u16 {
        self.status
    }
    pub fn version(&self) -> Version {
        self.version
    }
    pub fn reason(&self) -> &str {
        todo!()
    }
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        let _ = name;
        todo!()
    }
    pub fn header_str(&self, name: &str) -> Option<&str> {
        let _ = name;
        todo!()
    }
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        std::iter::empty()
    }
    /// Whether the connection may be reused after the body.
    pub fn keep_alive(&self) -> bool {
        todo!()
    }
    /// Body framing per RFC 9112 §6.3, given whether the request was `HEAD`.
    pub fn body_kind(&self, request_was_head: bool) -> Result<BodyKind, HttpError> {
        let _ = request_was_head;
        todo!()
    }
}

/// One step of [`ChunkedDecoder::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Bytes of the input consumed by this step (framing and data).
    pub consumed: usize,
    /// Body data inside `input[..consumed]` (may be empty).
    pub data: Range<usize>,
    /// The last chunk and the trailers have been consumed: the body is complete.
    pub done: bool,
}

/// Incremental `Transfer-Encoding: chunked` decoder; any split of the input works.
#[derive(Debug, Clone, Default)]
pub struct ChunkedDecoder {
    _state: (),
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        Self::default()
    }
    /// Decodes as much of `input` as possible. `consumed == 0 && !done` means more input is
    /// needed. Call repeatedly, advancing the input by `consumed` each time.
    pub fn decode(&mut self, input: &[u8]) -> Result<Step, HttpError> {
        let _ = input;
        todo!()
    }
    /// Whether the terminating chunk and trailers were seen.
    pub fn is_done(&self) -> bool {
        todo!()
    }
}

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
    pub fn parse(value: &[u8]) -> Option<ByteRange> {
        let _ = value;
        todo!()
    }
    /// The inclusive `(first, last)` byte positions of this range in a representation of
    /// `len` bytes, or `None` when unsatisfiable (answer 416 with `bytes */len`).
    pub fn resolve(self, len: u64) -> Option<(u64, u64)> {
        let _ = len;
        todo!()
    }
    /// The value to send upstream in a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`).
    pub fn to_header(self) -> String {
        todo!()
    }
}

/// `Content-Range` value for a satisfied range: `bytes first-last/total` (`*` when unknown).
pub fn content_range(first: u64, last: u64, total: Option<u64>) -> String {
    let _ = (first, last, total);
    todo!()
}

/// `Content-Range` value for a 416 answer: `bytes */total`.
pub fn content_range_unsatisfied(total: u64) -> String {
    let _ = total;
    todo!()
}

/// Parses a `Content-Range` value of a 206 (`bytes a-b/len` or `bytes a-b/*`) or of a 416
/// (`bytes */len`, returned as `first > last`... see the implementation's docs).
pub fn parse_content_range(value: &[u8]) -> Option<ContentRange> {
    let _ = value;
    todo!()
}

/// A parsed `Content-Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes first-last/total`; total `None` for `*`.
    Satisfied { first: u64, last: u64, total: Option<u64> },
    /// `bytes */total`.
    Unsatisfied { total: u64 },
}

/// The standard reason phrase of a status code (`"Unknown"` for unregistered codes).
pub fn reason_phrase(status: u16) -> &'static str {
    let _ = status;
    todo!()
}

/// Serialises a request or response head. Header values containing CR or LF are refused
/// (header injection); names must be tokens.
#[derive(Debug, Clone)]
pub struct HeadWriter {
    buf: Vec<u8>,
}

impl HeadWriter {
    /// `HTTP/1.1 {status} {reason}\r\n`.
    pub fn response(status: u16) -> Self {
        let _ = status;
        todo!()
    }
    /// `{method} {target} HTTP/1.1\r\n`.
    pub fn request(method: &str, target: &str) -> Self {
        let _ = (method, target);
        todo!()
    }
    /// Appends one header field. A value with CR, LF or NUL, or a name that is not a token, is
    /// skipped (never written) and reported with `false`.
    pub fn header(&mut self, name: &str, value: impl AsRef<[u8]>) -> bool {
        let _ = (name, value.as_ref());
        todo!()
    }
    /// Ends the head with the blank line and returns the bytes.
    pub fn finish(self) -> Vec<u8> {
        let _ = self.buf;
        todo!()
    }
}
