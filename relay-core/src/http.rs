//! Sans-IO HTTP/1.1 on httparse: request and response heads with named limits, chunked transfer
//! decoding, `Range` / `Content-Range`, and head serialisation.
//!
//! Nothing here touches a socket. Parsers take bytes and answer `Ok(None)` (need more input),
//! `Ok(Some(..))` (complete) or `Err(HttpError)` (the peer sent something we refuse).
//!
//! Heads are zero-copy: httparse runs over the caller's buffer, the head is split off with
//! `split_to(n).freeze()`, and the parsed head keeps index ranges into that frozen [`Bytes`].
//!
//! Framing is strict where a lenient reading could let two parsers disagree (request smuggling):
//! a request with both `Transfer-Encoding` and `Content-Length` is refused, as is one with a
//! transfer coding we cannot decode; chunked framing requires CRLF line ends.

use bytes::{Buf, Bytes, BytesMut};
use std::fmt::Write as _;
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

/// Index ranges of one header field (name, value) in the frozen head.
type FieldIndices = (Range<usize>, Range<usize>);

/// The header fields of a parsed head: the frozen head bytes and where each field lies in them.
#[derive(Debug, Clone)]
struct Fields {
    /// The whole head (start line, fields, blank line) as split off the read buffer.
    buf: Bytes,
    /// Name and value ranges into `buf`, in order of arrival. Values are trimmed by httparse.
    list: Vec<FieldIndices>,
}

impl Fields {
    fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.list
            .iter()
            .map(|(name, value)| (str_at(&self.buf, name), bytes_at(&self.buf, value)))
    }

    fn get(&self, name: &str) -> Option<&[u8]> {
        self.all(name).next()
    }

    /// Values of every field called `name`.
    fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The non-empty elements of the comma-separated lists in every field called `name`.
    fn elements<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        self.all(name)
            .flat_map(|v| v.split(|&b| b == b','))
            .map(trim_ows)
            .filter(|e| !e.is_empty())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.elements(name)
            .any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// Connection persistence from `Connection` and the version alone (RFC 9112 §9.3).
    fn persistent(&self, version: Version) -> bool {
        if self.has_token("connection", "close") {
            return false;
        }
        match version {
            Version::Http11 => true,
            Version::Http10 => self.has_token("connection", "keep-alive"),
        }
    }

    /// The `Content-Length`, if any: every value (comma lists included) must be digits only and
    /// all must agree.
    fn content_length(&self) -> Result<Option<u64>, HttpError> {
        let mut found = None;
        for value in self.all("content-length") {
            for element in value.split(|&b| b == b',') {
                let n = parse_u64(trim_ows(element)).ok_or(HttpError::BadContentLength)?;
                if found.is_some_and(|f| f != n) {
                    return Err(HttpError::BadContentLength);
                }
                found = Some(n);
            }
        }
        Ok(found)
    }

    /// Whether the last transfer coding is `chunked` (exactly, no parameters).
    fn chunked_last(&self) -> bool {
        self.elements("transfer-encoding")
            .last()
            .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"))
    }
}

/// A parsed request head. Zero-copy: index pairs into the frozen head bytes.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The frozen head and its header field indices.
    fields: Fields,
    /// The method token (ASCII, guaranteed by httparse).
    method: Range<usize>,
    /// The request target (checked to be ASCII by the parser).
    target: Range<usize>,
    /// 1.0 or 1.1; other versions are refused while parsing.
    version: Version,
}

impl RequestHead {
    /// Parses a request head from the front of `buf`. On success the head bytes are split off
    /// `buf` (what follows, e.g. a pipelined request or a body, stays in `buf`). `Ok(None)` means
    /// more bytes are needed; it is an error once `buf` holds more than [`MAX_HEAD_BYTES`] without
    /// a complete head. Leading empty lines (RFC 9112 §2.2) are skipped and removed from `buf`
    /// even when the answer is `Ok(None)`, so they never count against the limits.
    ///
    /// Every line must fit [`MAX_LINE_BYTES`] (checked on partial input too), at most
    /// [`MAX_HEADERS`] fields are accepted, and the target must be ASCII. A bare LF line end is
    /// accepted (RFC 9112 §2.2 allows it); a bare CR, obs-fold, whitespace before a colon and
    /// invalid bytes in names or values are [`HttpError::Malformed`].
    pub fn parse(buf: &mut BytesMut) -> Result<Option<RequestHead>, HttpError> {
        skip_empty_lines(buf);
        let window = head_window(buf);
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut slots);
        let len = match req.parse(window) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return partial(buf.len(), window),
            Err(e) => return Err(request_error(e, window)),
        };
        check_lines(window.get(..len).unwrap_or(window))?;
        let target = req.path.unwrap_or_default();
        if !target.is_ascii() {
            return Err(HttpError::Malformed);
        }
        let method = range_of(window, req.method.unwrap_or_default().as_bytes());
        let target = range_of(window, target.as_bytes());
        let version = version_of(req.version);
        let list = field_indices(window, req.headers);
        Ok(Some(RequestHead {
            fields: Fields {
                buf: buf.split_to(len).freeze(),
                list,
            },
            method,
            target,
            version,
        }))
    }

    /// The method token, e.g. `GET`.
    pub fn method(&self) -> &str {
        str_at(&self.fields.buf, &self.method)
    }

    /// The request target as sent, e.g. `/stream/abc?x=1`.
    pub fn target(&self) -> &str {
        str_at(&self.fields.buf, &self.target)
    }

    /// The target's path (before `?`). For an absolute-form target (`http://host/p?q`) this is
    /// the path of that URI (`/` when it has none); the asterisk-form gives `*`. An
    /// authority-form target (`host:port`, as for `CONNECT`) has no path and is returned whole.
    pub fn path(&self) -> &str {
        match self.split_target().0 {
            "" => "/",
            path => path,
        }
    }

    /// The target's query (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.split_target().1
    }

    /// The target's (path, query), the path possibly empty for an absolute-form target.
    fn split_target(&self) -> (&str, Option<&str>) {
        let target = self.target();
        let rest = absolute_form_rest(target).unwrap_or(target);
        match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        }
    }

    /// The request's HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// First header of this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.fields.get(name)
    }

    /// First header of this name, if it is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// All headers in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter()
    }

    /// Whether the connection may stay open after this exchange (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub fn keep_alive(&self) -> bool {
        self.fields.persistent(self.version)
    }

    /// The request body framing (RFC 9112 §6.3): `Transfer-Encoding: chunked` or
    /// `Content-Length` (several equal values, or a list of them, count as one); conflicting or
    /// invalid lengths are [`HttpError::BadContentLength`]; no framing headers means
    /// [`BodyKind::Empty`].
    ///
    /// Smuggling-safe choices: a request carrying both `Transfer-Encoding` and `Content-Length`
    /// is [`HttpError::Malformed`] (RFC 9112 §6.3 allows treating it as an error), and so is an
    /// HTTP/1.0 request with `Transfer-Encoding` (§6.1: faulty framing). `Transfer-Encoding`
    /// other than exactly `chunked` (another coding, even followed by `chunked`, which we could
    /// not decode) is [`HttpError::UnsupportedTransferEncoding`].
    pub fn body_kind(&self) -> Result<BodyKind, HttpError> {
        let fields = &self.fields;
        if fields.contains("transfer-encoding") {
            if fields.contains("content-length") || self.version == Version::Http10 {
                return Err(HttpError::Malformed);
            }
            let mut codings = fields.elements("transfer-encoding");
            return match (codings.next(), codings.next()) {
                (Some(c), None) if c.eq_ignore_ascii_case(b"chunked") => Ok(BodyKind::Chunked),
                _ => Err(HttpError::UnsupportedTransferEncoding),
            };
        }
        Ok(match fields.content_length()? {
            Some(n) => BodyKind::Length(n),
            None => BodyKind::Empty,
        })
    }
}

/// A parsed response head.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// The frozen head and its header field indices.
    fields: Fields,
    /// The three-digit status, 100 to 999.
    status: u16,
    /// 1.0 or 1.1; other versions are refused while parsing.
    version: Version,
    /// The reason phrase (empty when absent or not ASCII).
    reason: Range<usize>,
}

impl ResponseHead {
    /// As [`RequestHead::parse`], for a response. Interim 1xx responses other than 101 are
    /// consumed and skipped (they are removed from `buf` even if the final head is still
    /// partial). A status below 100 is [`HttpError::Malformed`].
    pub fn parse(buf: &mut BytesMut) -> Result<Option<ResponseHead>, HttpError> {
        loop {
            let head = Self::parse_one(buf)?;
            if !head
                .as_ref()
                .is_some_and(|h| h.status < 200 && h.status != 101)
            {
                return Ok(head);
            }
        }
    }

    fn parse_one(buf: &mut BytesMut) -> Result<Option<ResponseHead>, HttpError> {
        skip_empty_lines(buf);
        let window = head_window(buf);
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut res = httparse::Response::new(&mut slots);
        let len = match res.parse(window) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return partial(buf.len(), window),
            Err(e) => return Err(response_error(e, window)),
        };
        check_lines(window.get(..len).unwrap_or(window))?;
        let status = res.code.unwrap_or_default();
        if status < 100 {
            return Err(HttpError::Malformed);
        }
        let reason = range_of(window, res.reason.unwrap_or_default().as_bytes());
        let version = version_of(res.version);
        let list = field_indices(window, res.headers);
        Ok(Some(ResponseHead {
            fields: Fields {
                buf: buf.split_to(len).freeze(),
                list,
            },
            status,
            version,
            reason,
        }))
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response's HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The reason phrase as sent (empty when absent, or when it held non-ASCII bytes).
    pub fn reason(&self) -> &str {
        str_at(&self.fields.buf, &self.reason)
    }

    /// First header of this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.fields.get(name)
    }

    /// First header of this name, if it is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// All headers in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter()
    }

    /// Whether the connection may be reused after the body.
    ///
    /// Besides `Connection` and the version (as for requests), this is `false` for a 101, for a
    /// body whose end only the close can mark (judged as for a non-`HEAD` request, which errs on
    /// the side of closing), and for framing RFC 9112 says to close after: `Transfer-Encoding`
    /// together with `Content-Length`, or in an HTTP/1.0 response.
    pub fn keep_alive(&self) -> bool {
        let fields = &self.fields;
        let suspicious = fields.contains("transfer-encoding")
            && (fields.contains("content-length") || self.version == Version::Http10);
        fields.persistent(self.version)
            && self.status != 101
            && !suspicious
            && matches!(
                self.body_kind(false),
                Ok(BodyKind::Empty | BodyKind::Length(_) | BodyKind::Chunked)
            )
    }

    /// Body framing per RFC 9112 §6.3, given whether the request was `HEAD`.
    ///
    /// `HEAD`, 1xx, 204 and 304 have no body. `Transfer-Encoding` wins over `Content-Length`;
    /// if its last coding is not `chunked` (or the response is HTTP/1.0), the body runs until
    /// the close. Without either header the body is close-delimited too.
    pub fn body_kind(&self, request_was_head: bool) -> Result<BodyKind, HttpError> {
        if request_was_head || self.status < 200 || self.status == 204 || self.status == 304 {
            return Ok(BodyKind::Empty);
        }
        let fields = &self.fields;
        if fields.contains("transfer-encoding") {
            return Ok(
                if self.version == Version::Http11 && fields.chunked_last() {
                    BodyKind::Chunked
                } else {
                    BodyKind::CloseDelimited
                },
            );
        }
        Ok(match fields.content_length()? {
            Some(n) => BodyKind::Length(n),
            None => BodyKind::CloseDelimited,
        })
    }
}

/// Drops empty lines (CRLF or LF) from the front of `buf`.
fn skip_empty_lines(buf: &mut BytesMut) {
    loop {
        if buf.starts_with(b"\r\n") {
            buf.advance(2);
        } else if buf.starts_with(b"\n") {
            buf.advance(1);
        } else {
            return;
        }
    }
}

/// The part of `buf` a head may occupy: httparse never scans past [`MAX_HEAD_BYTES`].
fn head_window(buf: &[u8]) -> &[u8] {
    buf.get(..MAX_HEAD_BYTES).unwrap_or(buf)
}

/// The answer for an incomplete head: an error once a limit is already exceeded.
fn partial<T>(buffered: usize, window: &[u8]) -> Result<Option<T>, HttpError> {
    check_lines(window)?;
    if buffered > MAX_HEAD_BYTES {
        return Err(HttpError::HeadTooLarge);
    }
    Ok(None)
}

/// Checks every line of `head` (the last may be incomplete) against [`MAX_LINE_BYTES`], line
/// ends (LF or CRLF) excluded.
fn check_lines(head: &[u8]) -> Result<(), HttpError> {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', head).chain([head.len()]) {
        let mut len = end - start;
        if len > 0 && head[end - 1] == b'\r' {
            len -= 1;
        }
        if len > MAX_LINE_BYTES {
            return Err(HttpError::LineTooLong);
        }
        start = end + 1;
    }
    Ok(())
}

/// Maps an httparse error on a request; a version error names a well-formed but other version
/// (`HTTP/2.0`) when the version token starts with `HTTP/` and a digit.
fn request_error(e: httparse::Error, window: &[u8]) -> HttpError {
    let line = first_line(window);
    let version = line.splitn(3, |&b| b == b' ').nth(2).unwrap_or_default();
    parse_error(e, version)
}

/// As [`request_error`], for a response (the version starts the status line).
fn response_error(e: httparse::Error, window: &[u8]) -> HttpError {
    parse_error(e, first_line(window))
}

fn parse_error(e: httparse::Error, version: &[u8]) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders,
        httparse::Error::Version
            if version.starts_with(b"HTTP/") && version.get(5).is_some_and(u8::is_ascii_digit) =>
        {
            HttpError::UnsupportedVersion
        }
        _ => HttpError::Malformed,
    }
}

fn first_line(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == b'\n').next().unwrap_or_default()
}

fn version_of(minor: Option<u8>) -> Version {
    match minor {
        Some(0) => Version::Http10,
        _ => Version::Http11,
    }
}

fn field_indices(base: &[u8], headers: &[httparse::Header<'_>]) -> Vec<FieldIndices> {
    headers
        .iter()
        .map(|h| (range_of(base, h.name.as_bytes()), range_of(base, h.value)))
        .collect()
}

/// Where `part` (a sub-slice httparse returned) lies in `base`; `0..0` for an empty or foreign
/// slice (httparse returns a static `""` for a reason phrase it could not use).
fn range_of(base: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr().addr().wrapping_sub(base.as_ptr().addr());
    match start.checked_add(part.len()) {
        Some(end) if !part.is_empty() && end <= base.len() => start..end,
        _ => 0..0,
    }
}

fn bytes_at<'a>(buf: &'a [u8], range: &Range<usize>) -> &'a [u8] {
    buf.get(range.clone()).unwrap_or_default()
}

/// The text at `range`; the parsers only record ranges of ASCII text.
fn str_at<'a>(buf: &'a [u8], range: &Range<usize>) -> &'a str {
    std::str::from_utf8(bytes_at(buf, range)).unwrap_or_default()
}

/// For an absolute-form target (`scheme://authority/path?query`), the part from the path on.
fn absolute_form_rest(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    let mut chars = scheme.chars();
    let valid_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return None;
    }
    let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
    rest.get(path_start..)
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

/// Where the chunked decoder is in the framing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum ChunkState {
    /// In the hex digits of a chunk size (`digits`: at least one seen).
    #[default]
    Size,
    /// After the size, in optional whitespace before `;` or CR.
    SizeWs,
    /// In chunk extensions (ignored) up to CR.
    Ext,
    /// CR of the chunk-size line seen, LF expected.
    SizeLf,
    /// In chunk data, this many bytes left (never 0).
    Data(u64),
    /// Chunk data complete, CR expected.
    DataCr,
    /// CR after chunk data seen, LF expected.
    DataLf,
    /// At the start of a trailer line or of the final empty line.
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// CR seen, LF expected; `true` when it ends the final empty line.
    TrailerLf(bool),
    /// Last chunk, trailers and final CRLF consumed.
    Done,
}

/// Incremental `Transfer-Encoding: chunked` decoder; any split of the input works.
///
/// Strict framing: every line ends in CRLF (a bare CR or LF is [`HttpError::BadChunk`]), chunk
/// sizes are hex without leading whitespace, optionally followed by whitespace and
/// `;extensions` (ignored). The chunk-size line is bounded by [`MAX_CHUNK_LINE_BYTES`] and the
/// trailer fields (skipped, lines with their CRLF counted) by [`MAX_TRAILER_BYTES`].
#[derive(Debug, Clone, Default)]
pub struct ChunkedDecoder {
    /// Position in the framing grammar.
    state: ChunkState,
    /// Size of the chunk whose size line is being read.
    size: u64,
    /// Whether the current size line has at least one hex digit.
    digits: bool,
    /// Bytes of the current chunk-size line so far (CRLF excluded).
    line: usize,
    /// Bytes of trailer field lines so far.
    trailer: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes as much of `input` as possible. `consumed == 0 && !done` means more input is
    /// needed. Call repeatedly, advancing the input by `consumed` each time.
    ///
    /// One call returns at most one run of data: it consumes the framing before it, the data
    /// available (up to the chunk's end), and the framing after it up to where the next chunk's
    /// data starts, so `done` comes with the last data when the input holds it. A call may
    /// consume only framing (`data` empty, `consumed > 0`); `consumed` is 0 only when `input`
    /// is empty or the body is already done. Bytes after the end of the body are never
    /// consumed. Empty `data` is `0..0`.
    pub fn decode(&mut self, input: &[u8]) -> Result<Step, HttpError> {
        let mut pos = 0;
        let mut data = 0..0;
        while let Some(&byte) = input.get(pos) {
            match self.state {
                ChunkState::Done => break,
                ChunkState::Data(left) => {
                    if !data.is_empty() {
                        break;
                    }
                    let available = input.len() - pos;
                    let n = usize::try_from(left).map_or(available, |left| left.min(available));
                    data = pos..pos + n;
                    pos += n;
                    // n <= left, both non-zero.
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        ChunkState::DataCr
                    } else {
                        ChunkState::Data(left)
                    };
                }
                _ => {
                    self.framing(byte)?;
                    pos += 1;
                }
            }
        }
        Ok(Step {
            consumed: pos,
            data,
            done: self.is_done(),
        })
    }

    /// Advances the framing state by one byte (never called in `Data` or `Done`).
    fn framing(&mut self, b: u8) -> Result<(), HttpError> {
        use ChunkState as S;
        if matches!(self.state, S::Size | S::SizeWs | S::Ext) && b != b'\r' {
            self.line += 1;
            if self.line > MAX_CHUNK_LINE_BYTES {
                return Err(HttpError::BadChunk);
            }
        }
        if matches!(self.state, S::TrailerLine | S::TrailerLf(false))
            || (self.state == S::TrailerStart && b != b'\r')
        {
            self.trailer += 1;
            if self.trailer > MAX_TRAILER_BYTES {
                return Err(HttpError::BadChunk);
            }
        }
        if self.state == S::Size
            && let Some(digit) = char::from(b).to_digit(16)
        {
            self.size = self
                .size
                .checked_mul(16)
                .and_then(|s| s.checked_add(u64::from(digit)))
                .ok_or(HttpError::BadChunk)?;
            self.digits = true;
            return Ok(());
        }
        self.state = match (self.state, b) {
            (S::Size, b' ' | b'\t') if self.digits => S::SizeWs,
            (S::SizeWs, b' ' | b'\t') => S::SizeWs,
            (S::Size | S::SizeWs, b';') if self.digits => S::Ext,
            (S::Size | S::SizeWs | S::Ext, b'\r') if self.digits => S::SizeLf,
            (S::Ext, _) if is_field_text(b) => S::Ext,
            (S::SizeLf, b'\n') => {
                let size = self.size;
                self.size = 0;
                self.digits = false;
                self.line = 0;
                if size == 0 {
                    S::TrailerStart
                } else {
                    S::Data(size)
                }
            }
            (S::DataCr, b'\r') => S::DataLf,
            (S::DataLf, b'\n') => S::Size,
            (S::TrailerStart, b'\r') => S::TrailerLf(true),
            // A field line; a leading SP or HTAB would be obs-fold.
            (S::TrailerStart, _) if is_field_text(b) && b != b' ' && b != b'\t' => S::TrailerLine,
            (S::TrailerLine, b'\r') => S::TrailerLf(false),
            (S::TrailerLine, _) if is_field_text(b) => S::TrailerLine,
            (S::TrailerLf(false), b'\n') => S::TrailerStart,
            (S::TrailerLf(true), b'\n') => S::Done,
            _ => return Err(HttpError::BadChunk),
        };
        Ok(())
    }

    /// Whether the terminating chunk and trailers were seen.
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }
}

/// HTAB, SP, visible ASCII or obs-text: what a field line or chunk extension may hold.
fn is_field_text(b: u8) -> bool {
    b == b'\t' || (b >= b' ' && b != 0x7f)
}

/// Appends `data` as one chunk (`{len:x}\r\n{data}\r\n`). Empty data writes nothing, since an
/// empty chunk would end the body; end it with [`LAST_CHUNK`].
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk with no trailers: ends a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

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

/// The standard reason phrase of a status code (`"Unknown"` for unregistered codes).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "Unknown",
    }
}

/// Serialises a request or response head. Header values containing CR or LF are refused
/// (header injection); names must be tokens.
#[derive(Debug, Clone)]
pub struct HeadWriter {
    /// The head written so far, start line first.
    buf: Vec<u8>,
}

impl HeadWriter {
    /// `HTTP/1.1 {status} {reason}\r\n`. A status outside 100..=999 cannot be written as three
    /// digits and is written as 500.
    pub fn response(status: u16) -> Self {
        let status = if (100..=999).contains(&status) {
            status
        } else {
            500
        };
        let mut line = String::with_capacity(256);
        // Writing to a String cannot fail.
        let _ = write!(line, "HTTP/1.1 {status} {}\r\n", reason_phrase(status));
        HeadWriter {
            buf: line.into_bytes(),
        }
    }

    /// `{method} {target} HTTP/1.1\r\n`.
    ///
    /// Never writes a broken request line: bytes of `method` that are not token characters are
    /// dropped (an empty result becomes `GET`), and control bytes, space and non-ASCII bytes of
    /// `target` are percent-encoded (`%0D`, `%20`, ...). An empty target becomes `/`.
    pub fn request(method: &str, target: &str) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend(method.bytes().filter(|&b| is_tchar(b)));
        if buf.is_empty() {
            buf.extend_from_slice(b"GET");
        }
        buf.push(b' ');
        if target.is_empty() {
            buf.push(b'/');
        }
        for b in target.bytes() {
            if b <= b' ' || b >= 0x7f {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                buf.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            } else {
                buf.push(b);
            }
        }
        buf.extend_from_slice(b" HTTP/1.1\r\n");
        HeadWriter { buf }
    }

    /// Appends one header field. A value with CR, LF or NUL, or a name that is not a token, is
    /// skipped (never written) and reported with `false`. Other control bytes (all but HTAB)
    /// are refused too, since a strict peer would reject the whole head for them.
    pub fn header(&mut self, name: &str, value: impl AsRef<[u8]>) -> bool {
        let value = value.as_ref();
        let name_ok = !name.is_empty() && name.bytes().all(is_tchar);
        let value_ok = value.iter().all(|&b| is_field_text(b));
        if !(name_ok && value_ok) {
            return false;
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value);
        self.buf.extend_from_slice(b"\r\n");
        true
    }

    /// Ends the head with the blank line and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(b"\r\n");
        self.buf
    }
}

/// An RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn req(input: &[u8]) -> Result<Option<RequestHead>, HttpError> {
        RequestHead::parse(&mut BytesMut::from(input))
    }

    fn req_ok(input: &[u8]) -> RequestHead {
        req(input)
            .expect("valid request")
            .expect("complete request")
    }

    fn res(input: &[u8]) -> Result<Option<ResponseHead>, HttpError> {
        ResponseHead::parse(&mut BytesMut::from(input))
    }

    fn res_ok(input: &[u8]) -> ResponseHead {
        res(input)
            .expect("valid response")
            .expect("complete response")
    }

    /// A complete request head of exactly `len` bytes whose lines are all short.
    fn request_of_len(len: usize) -> Vec<u8> {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        let mut n = 0;
        // Each field line "X-Fill-NN: v...v\r\n" is at most 1000 bytes.
        while len - head.len() - 2 > 1000 {
            head.extend_from_slice(format!("X-Fill-{n:02}: {}\r\n", "v".repeat(980)).as_bytes());
            n += 1;
        }
        let room = len - head.len() - 2;
        let prefix = format!("X-Fill-{n:02}: ");
        head.extend_from_slice(prefix.as_bytes());
        head.extend(std::iter::repeat_n(b'v', room - prefix.len() - 2));
        head.extend_from_slice(b"\r\n\r\n");
        assert_eq!(head.len(), len);
        head
    }

    /// A request whose only header line is `len` bytes long (CRLF excluded).
    fn request_with_line(len: usize) -> Vec<u8> {
        let mut head = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
        head.extend(std::iter::repeat_n(b'a', len - "X-Long: ".len()));
        head.extend_from_slice(b"\r\n\r\n");
        head
    }

    fn decode_all(d: &mut ChunkedDecoder, input: &[u8]) -> Result<(Vec<u8>, usize), HttpError> {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let s = d.decode(&input[pos..])?;
            out.extend_from_slice(&input[pos..][s.data.clone()]);
            pos += s.consumed;
            if s.done || s.consumed == 0 {
                break;
            }
        }
        Ok((out, pos))
    }

    fn decode_split(input: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, bool, usize), HttpError> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut consumed = 0;
        let mut start = 0;
        for &cut in cuts.iter().chain([&input.len()]) {
            let (piece, n) = decode_all(&mut d, &input[start..cut])?;
            out.extend_from_slice(&piece);
            consumed += n;
            start = cut;
        }
        Ok((out, d.is_done(), consumed))
    }

    // ---- errors ----

    #[test]
    fn error_statuses_and_messages() {
        use HttpError::*;
        let all = [
            (HeadTooLarge, 431),
            (TooManyHeaders, 431),
            (LineTooLong, 431),
            (Malformed, 400),
            (BadContentLength, 400),
            (BadChunk, 400),
            (UnsupportedVersion, 505),
            (UnsupportedTransferEncoding, 501),
        ];
        for (e, status) in all {
            assert_eq!(e.status(), status, "{e:?}");
            let text = e.to_string();
            assert!(!text.is_empty() && text == text.to_lowercase(), "{text}");
        }
    }

    // ---- request heads ----

    #[test]
    fn request_fields() {
        let mut buf = BytesMut::from(
            &b"GET /stream/abc?x=1&y HTTP/1.1\r\nHost: relay\r\nX-Empty:\r\nX-Bin: \xff\r\n\r\nBODY"[..],
        );
        let head = RequestHead::parse(&mut buf).unwrap().unwrap();
        assert_eq!(&buf[..], b"BODY");
        assert_eq!(head.method(), "GET");
        assert_eq!(head.target(), "/stream/abc?x=1&y");
        assert_eq!(head.path(), "/stream/abc");
        assert_eq!(head.query(), Some("x=1&y"));
        assert_eq!(head.version(), Version::Http11);
        assert_eq!(head.header("HOST"), Some(&b"relay"[..]));
        assert_eq!(head.header_str("host"), Some("relay"));
        assert_eq!(head.header("x-empty"), Some(&b""[..]));
        assert_eq!(head.header("x-bin"), Some(&b"\xff"[..]));
        assert_eq!(head.header_str("x-bin"), None);
        assert_eq!(head.header("missing"), None);
        let names: Vec<_> = head.headers().map(|(n, _)| n).collect();
        assert_eq!(names, ["Host", "X-Empty", "X-Bin"]);
    }

    #[test]
    fn request_trims_value_whitespace() {
        let head = req_ok(b"GET / HTTP/1.1\r\nHost: \t relay \t\r\n\r\n");
        assert_eq!(head.header("host"), Some(&b"relay"[..]));
    }

    #[test]
    fn pipelined_requests() {
        let mut buf = BytesMut::from(
            &b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\nHo"[..],
        );
        let a = RequestHead::parse(&mut buf).unwrap().unwrap();
        let b = RequestHead::parse(&mut buf).unwrap().unwrap();
        assert_eq!((a.method(), a.path()), ("GET", "/a"));
        assert_eq!((b.method(), b.path()), ("HEAD", "/b"));
        assert!(RequestHead::parse(&mut buf).unwrap().is_none());
        buf.extend_from_slice(b"st: y\r\n\r\n");
        let c = RequestHead::parse(&mut buf).unwrap().unwrap();
        assert_eq!((c.path(), c.header_str("host")), ("/c", Some("y")));
        assert!(buf.is_empty());
        // Each head keeps its own bytes.
        assert_eq!(a.header_str("host"), Some("x"));
    }

    #[test]
    fn request_partial_at_every_split() {
        let full = b"POST /api/streams?x=1 HTTP/1.1\r\nHost: relay\r\nContent-Length: 2\r\n\r\n{}";
        let head_len = full.len() - 2;
        for i in 0..head_len {
            let mut buf = BytesMut::from(&full[..i]);
            assert!(RequestHead::parse(&mut buf).unwrap().is_none(), "split {i}");
            assert_eq!(buf.len(), i);
            buf.extend_from_slice(&full[i..]);
            let head = RequestHead::parse(&mut buf).unwrap().unwrap();
            assert_eq!(head.body_kind(), Ok(BodyKind::Length(2)));
            assert_eq!(&buf[..], b"{}");
        }
        // And byte by byte into one buffer.
        let mut buf = BytesMut::new();
        let mut got = None;
        for &b in &full[..] {
            buf.extend_from_slice(&[b]);
            if got.is_none() {
                got = RequestHead::parse(&mut buf).unwrap();
            }
        }
        assert_eq!(got.unwrap().target(), "/api/streams?x=1");
        assert_eq!(&buf[..], b"{}");
    }

    #[test]
    fn leading_empty_lines_skipped() {
        let head = req_ok(b"\r\n\n\r\nGET / HTTP/1.1\r\n\r\n");
        assert_eq!(head.target(), "/");
        let mut buf = BytesMut::from(&b"\r\n\r\n"[..]);
        assert!(RequestHead::parse(&mut buf).unwrap().is_none());
        assert!(buf.is_empty(), "empty lines are dropped");
        let mut buf = BytesMut::from(&b"\r"[..]);
        assert!(RequestHead::parse(&mut buf).unwrap().is_none());
        assert_eq!(
            req(b"\rGET / HTTP/1.1\r\n\r\n").unwrap_err(),
            HttpError::Malformed
        );
    }

    #[test]
    fn bare_lf_line_ends_accepted() {
        let head = req_ok(b"GET / HTTP/1.1\nHost: x\n\n");
        assert_eq!(head.header_str("host"), Some("x"));
    }

    #[test]
    fn malformed_requests() {
        let cases: &[&[u8]] = &[
            b"GET / HTTP/1.1\rHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHo(st: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n",
            b"GET / HTTP/1.1\r\n: x\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET /\r\n\r\n",
            b"GET / XTTP/1.1\r\n\r\n",
            b"GET / HTTP/x.1\r\n\r\n",
            b"GET / HTTP/1.1x\r\n\r\n",
            "GET /caf\u{e9} HTTP/1.1\r\n\r\n".as_bytes(),
            b"GET /\xff HTTP/1.1\r\n\r\n",
        ];
        for case in cases {
            assert_eq!(
                req(case).unwrap_err(),
                HttpError::Malformed,
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn unsupported_versions() {
        for case in [
            &b"GET / HTTP/2.0\r\n\r\n"[..],
            b"GET / HTTP/1.2\r\n\r\n",
            b"GET / HTTP/0.9\r\n\r\n",
            b"GET / HTTP/2",
            b"GET / HTTP/3.0",
        ] {
            assert_eq!(req(case).unwrap_err(), HttpError::UnsupportedVersion);
        }
        let head = req_ok(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(head.version(), Version::Http10);
    }

    #[test]
    fn head_size_limit_boundaries() {
        let exact = request_of_len(MAX_HEAD_BYTES);
        assert!(req(&exact).unwrap().is_some());
        // Exactly at the limit with trailing body bytes still parses.
        let mut with_body = exact.clone();
        with_body.extend_from_slice(b"body");
        let mut buf = BytesMut::from(&with_body[..]);
        assert!(RequestHead::parse(&mut buf).unwrap().is_some());
        assert_eq!(&buf[..], b"body");

        let over = request_of_len(MAX_HEAD_BYTES + 1);
        assert_eq!(req(&over).unwrap_err(), HttpError::HeadTooLarge);
        // Partial input: MAX_HEAD_BYTES without the end is still waiting, one more is too much.
        assert!(req(&over[..MAX_HEAD_BYTES]).unwrap().is_none());
        assert_eq!(
            req(&over[..MAX_HEAD_BYTES + 1]).unwrap_err(),
            HttpError::HeadTooLarge
        );
    }

    #[test]
    fn line_limit_boundaries() {
        assert!(req(&request_with_line(MAX_LINE_BYTES)).unwrap().is_some());
        assert_eq!(
            req(&request_with_line(MAX_LINE_BYTES + 1)).unwrap_err(),
            HttpError::LineTooLong
        );
        // Partial: a line of MAX_LINE_BYTES plus its CR is fine, one more byte is not.
        let ok = request_with_line(MAX_LINE_BYTES);
        let line_end = ok.len() - 3; // the CR of the long line
        assert!(req(&ok[..line_end + 1]).unwrap().is_none());
        let long = request_with_line(MAX_LINE_BYTES + 1);
        assert_eq!(
            req(&long[..line_end + 1]).unwrap_err(),
            HttpError::LineTooLong
        );
        // An over-long request line.
        let mut line = b"GET /".to_vec();
        line.extend(std::iter::repeat_n(b'a', MAX_LINE_BYTES));
        assert_eq!(req(&line).unwrap_err(), HttpError::LineTooLong);
        line.extend_from_slice(b" HTTP/1.1\r\n\r\n");
        assert_eq!(req(&line).unwrap_err(), HttpError::LineTooLong);
        // Body bytes after a complete head are not lines of the head.
        let mut buf = b"GET / HTTP/1.1\r\n\r\n".to_vec();
        buf.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES * 3));
        assert!(req(&buf).unwrap().is_some());
    }

    #[test]
    fn header_count_boundaries() {
        let build = |n: usize| {
            let mut head = b"GET / HTTP/1.1\r\n".to_vec();
            for i in 0..n {
                head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
            }
            head.extend_from_slice(b"\r\n");
            head
        };
        assert_eq!(req_ok(&build(MAX_HEADERS)).headers().count(), MAX_HEADERS);
        assert_eq!(
            req(&build(MAX_HEADERS + 1)).unwrap_err(),
            HttpError::TooManyHeaders
        );
    }

    #[test]
    fn request_keep_alive() {
        let ka = |s: &[u8]| req_ok(s).keep_alive();
        assert!(ka(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nConnection: keep-alive, CLOSE\r\n\r\n"
        ));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nConnection: te\r\nConnection: Close\r\n\r\n"
        ));
        assert!(ka(b"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: foo ,keep-alive\r\n\r\n"));
        assert!(!ka(
            b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"
        ));
    }

    #[test]
    fn request_body_kind() {
        let kind = |fields: &str| {
            req_ok(format!("POST / HTTP/1.1\r\n{fields}\r\n").as_bytes()).body_kind()
        };
        use BodyKind::*;
        use HttpError::*;
        assert_eq!(kind(""), Ok(Empty));
        assert_eq!(kind("Content-Length: 0\r\n"), Ok(Length(0)));
        assert_eq!(kind("Content-Length: 5\r\n"), Ok(Length(5)));
        assert_eq!(kind("Content-Length: 5, 5\r\n"), Ok(Length(5)));
        assert_eq!(
            kind("Content-Length: 5\r\ncontent-length: 5\r\n"),
            Ok(Length(5))
        );
        assert_eq!(
            kind("Content-Length: 18446744073709551615\r\n"),
            Ok(Length(u64::MAX))
        );
        for bad in [
            "5, 6",
            "5,",
            "",
            "+5",
            "-1",
            "0x5",
            "5 5",
            "18446744073709551616",
        ] {
            assert_eq!(
                kind(&format!("Content-Length: {bad}\r\n")),
                Err(BadContentLength),
                "{bad}"
            );
        }
        assert_eq!(
            kind("Content-Length: 5\r\nContent-Length: 6\r\n"),
            Err(BadContentLength)
        );
        assert_eq!(kind("Transfer-Encoding: chunked\r\n"), Ok(Chunked));
        assert_eq!(kind("Transfer-Encoding: Chunked \r\n"), Ok(Chunked));
        for te in [
            "gzip",
            "gzip, chunked",
            "chunked, gzip",
            "chunked, chunked",
            "chunked;x=1",
            "",
        ] {
            assert_eq!(
                kind(&format!("Transfer-Encoding: {te}\r\n")),
                Err(UnsupportedTransferEncoding),
                "{te}"
            );
        }
        assert_eq!(
            kind("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
            Err(UnsupportedTransferEncoding)
        );
        assert_eq!(
            kind("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
            Err(Malformed)
        );
        let old = req_ok(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(old.body_kind(), Err(Malformed));
    }

    #[test]
    fn request_target_forms() {
        let parts = |target: &str| {
            let head = req_ok(format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes());
            (head.path().to_owned(), head.query().map(str::to_owned))
        };
        let p = |path: &str, query: Option<&str>| (path.to_owned(), query.map(str::to_owned));
        assert_eq!(parts("/"), p("/", None));
        assert_eq!(parts("/a/b?x=1?y"), p("/a/b", Some("x=1?y")));
        assert_eq!(parts("/a?"), p("/a", Some("")));
        assert_eq!(parts("*"), p("*", None));
        assert_eq!(parts("http://host:80/p/q?r=1"), p("/p/q", Some("r=1")));
        assert_eq!(parts("http://host"), p("/", None));
        assert_eq!(parts("HTTPS://host?x"), p("/", Some("x")));
        assert_eq!(
            parts("http://u@host/?a=http://b"),
            p("/", Some("a=http://b"))
        );
        assert_eq!(parts("/p?u=http://x/y"), p("/p", Some("u=http://x/y")));
        assert_eq!(parts("example.com:443"), p("example.com:443", None));
    }

    // ---- response heads ----

    #[test]
    fn response_fields() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-1/10\r\nContent-Length: 2\r\n\r\nab"[..],
        );
        let head = ResponseHead::parse(&mut buf).unwrap().unwrap();
        assert_eq!(head.status(), 206);
        assert_eq!(head.reason(), "Partial Content");
        assert_eq!(head.version(), Version::Http11);
        assert_eq!(head.header_str("content-range"), Some("bytes 0-1/10"));
        assert_eq!(head.header("CONTENT-LENGTH"), Some(&b"2"[..]));
        assert_eq!(head.headers().count(), 2);
        assert_eq!(head.body_kind(false), Ok(BodyKind::Length(2)));
        assert_eq!(&buf[..], b"ab");
        assert_eq!(res_ok(b"HTTP/1.0 200\r\n\r\n").reason(), "");
        assert_eq!(res_ok(b"HTTP/1.1 200 \xe9t\xe9\r\n\r\n").reason(), "");
        assert_eq!(res_ok(b"HTTP/1.1 599 Custom\r\n\r\n").status(), 599);
    }

    #[test]
    fn response_partial_at_every_split() {
        let full = b"\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for i in 0..full.len() {
            let mut buf = BytesMut::from(&full[..i]);
            assert!(
                ResponseHead::parse(&mut buf).unwrap().is_none(),
                "split {i}"
            );
            buf.extend_from_slice(&full[i..]);
            let head = ResponseHead::parse(&mut buf).unwrap().unwrap();
            assert_eq!(head.status(), 200);
            assert_eq!(head.body_kind(false), Ok(BodyKind::Chunked));
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn interim_responses_skipped() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\n"[..],
        );
        assert_eq!(
            ResponseHead::parse(&mut buf).unwrap().unwrap().status(),
            404
        );
        // 101 is final.
        let mut buf =
            BytesMut::from(&b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nraw"[..]);
        let head = ResponseHead::parse(&mut buf).unwrap().unwrap();
        assert_eq!(head.status(), 101);
        assert!(!head.keep_alive());
        assert_eq!(&buf[..], b"raw");
        // A lone interim response is consumed while waiting for the final one.
        let mut buf = BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2"[..]);
        assert!(ResponseHead::parse(&mut buf).unwrap().is_none());
        assert_eq!(&buf[..], b"HTTP/1.1 2");
    }

    #[test]
    fn bad_responses() {
        use HttpError::*;
        assert_eq!(res(b"HTTP/1.1 099 Low\r\n\r\n").unwrap_err(), Malformed);
        assert_eq!(res(b"HTTP/1.1 20 OK\r\n\r\n").unwrap_err(), Malformed);
        assert_eq!(res(b"ICY 200 OK\r\n\r\n").unwrap_err(), Malformed);
        assert_eq!(
            res(b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n").unwrap_err(),
            Malformed
        );
        assert_eq!(
            res(b"HTTP/1.1 200 OK\r\nA : b\r\n\r\n").unwrap_err(),
            Malformed
        );
        assert_eq!(
            res(b"HTTP/1.1 200 OK\rA: b\r\n\r\n").unwrap_err(),
            Malformed
        );
        assert_eq!(
            res(b"HTTP/2 200 OK\r\n\r\n").unwrap_err(),
            UnsupportedVersion
        );
        assert_eq!(
            res(b"HTTP/2.0 200 OK\r\n\r\n").unwrap_err(),
            UnsupportedVersion
        );
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(res(&many).unwrap_err(), TooManyHeaders);
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'v', MAX_LINE_BYTES));
        assert_eq!(res(&long).unwrap_err(), LineTooLong);
        let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
        while huge.len() <= MAX_HEAD_BYTES {
            huge.extend_from_slice(format!("X-Fill: {}\r\n", "v".repeat(1000)).as_bytes());
        }
        assert_eq!(res(&huge).unwrap_err(), HeadTooLarge);
    }

    #[test]
    fn response_body_kind() {
        let kind = |status_line: &str, fields: &str, head: bool| {
            res_ok(format!("{status_line}\r\n{fields}\r\n").as_bytes()).body_kind(head)
        };
        use BodyKind::*;
        let ok = "HTTP/1.1 200 OK";
        assert_eq!(kind(ok, "Content-Length: 10\r\n", true), Ok(Empty));
        assert_eq!(
            kind("HTTP/1.1 204 No Content", "Content-Length: x\r\n", false),
            Ok(Empty)
        );
        assert_eq!(
            kind("HTTP/1.1 304 Not Modified", "Content-Length: 5\r\n", false),
            Ok(Empty)
        );
        assert_eq!(kind("HTTP/1.1 101 Switching", "", false), Ok(Empty));
        assert_eq!(kind(ok, "Content-Length: 10\r\n", false), Ok(Length(10)));
        assert_eq!(kind(ok, "Content-Length: 7, 7\r\n", false), Ok(Length(7)));
        assert_eq!(
            kind(ok, "Content-Length: 1\r\nContent-Length: 2\r\n", false),
            Err(HttpError::BadContentLength)
        );
        assert_eq!(kind(ok, "", false), Ok(CloseDelimited));
        assert_eq!(
            kind(ok, "Transfer-Encoding: chunked\r\n", false),
            Ok(Chunked)
        );
        assert_eq!(
            kind(ok, "Transfer-Encoding: gzip, chunked\r\n", false),
            Ok(Chunked)
        );
        assert_eq!(
            kind(ok, "Transfer-Encoding: chunked, gzip\r\n", false),
            Ok(CloseDelimited)
        );
        assert_eq!(
            kind(ok, "Transfer-Encoding: gzip\r\n", false),
            Ok(CloseDelimited)
        );
        assert_eq!(
            kind(
                ok,
                "Transfer-Encoding: chunked\r\nContent-Length: x\r\n",
                false
            ),
            Ok(Chunked)
        );
        assert_eq!(
            kind("HTTP/1.0 200 OK", "Transfer-Encoding: chunked\r\n", false),
            Ok(CloseDelimited)
        );
    }

    #[test]
    fn response_keep_alive() {
        let ka = |s: &[u8]| res_ok(s).keep_alive();
        assert!(ka(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"));
        assert!(ka(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
        assert!(ka(b"HTTP/1.1 204 No Content\r\n\r\n"));
        assert!(!ka(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n"
        ));
        assert!(!ka(b"HTTP/1.1 200 OK\r\n\r\n"));
        assert!(!ka(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"));
        assert!(!ka(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"
        ));
        assert!(!ka(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n"));
        assert!(ka(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n"
        ));
        assert!(!ka(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
    }

    // ---- chunked ----

    const CHUNKED: &[u8] =
        b"5\r\nhello\r\n1;ext=\"a b\";x\r\n,\r\n9 \t;y\r\n world!!!\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\nNEXT";

    #[test]
    fn chunked_whole() {
        let mut d = ChunkedDecoder::new();
        let (out, consumed) = decode_all(&mut d, CHUNKED).unwrap();
        assert_eq!(out, b"hello, world!!!");
        assert_eq!(&CHUNKED[consumed..], b"NEXT");
        assert!(d.is_done());
        // Done stays done and consumes nothing more.
        let s = d.decode(b"NEXT").unwrap();
        assert_eq!(
            s,
            Step {
                consumed: 0,
                data: 0..0,
                done: true
            }
        );
    }

    #[test]
    fn chunked_single_step_reports_done_with_data() {
        let mut d = ChunkedDecoder::new();
        let s = d.decode(b"5\r\nhello\r\n0\r\n\r\n").unwrap();
        assert_eq!(
            s,
            Step {
                consumed: 15,
                data: 3..8,
                done: true
            }
        );
        let mut d = ChunkedDecoder::new();
        let s = d.decode(b"5\r\n").unwrap();
        assert_eq!(
            s,
            Step {
                consumed: 3,
                data: 0..0,
                done: false
            }
        );
        assert_eq!(
            d.decode(b"").unwrap(),
            Step {
                consumed: 0,
                data: 0..0,
                done: false
            }
        );
    }

    #[test]
    fn chunked_every_split_and_byte_at_a_time() {
        let body = &CHUNKED[..CHUNKED.len() - 4];
        for i in 0..=body.len() {
            for j in i..=body.len() {
                let (out, done, consumed) = decode_split(body, &[i, j]).unwrap();
                assert_eq!(out, b"hello, world!!!", "split {i} {j}");
                assert!(done);
                assert_eq!(consumed, body.len());
            }
        }
        let cuts: Vec<usize> = (1..CHUNKED.len()).collect();
        let (out, done, consumed) = decode_split(CHUNKED, &cuts).unwrap();
        assert_eq!((out.as_slice(), done), (&b"hello, world!!!"[..], true));
        assert_eq!(consumed, CHUNKED.len() - 4);
    }

    #[test]
    fn chunked_sizes() {
        let ok = |input: &[u8]| decode_all(&mut ChunkedDecoder::new(), input).map(|r| r.0);
        assert_eq!(ok(b"A\r\n0123456789\r\n0\r\n\r\n").unwrap(), b"0123456789");
        assert_eq!(ok(b"a\r\n0123456789\r\n00\r\n\r\n").unwrap(), b"0123456789");
        assert_eq!(
            ok(b"0000000000000000000002\r\nab\r\n0\r\n\r\n").unwrap(),
            b"ab"
        );
        // The largest size is accepted (the data is then simply not there yet).
        let mut d = ChunkedDecoder::new();
        let s = d.decode(b"ffffffffffffffff\r\nab").unwrap();
        assert_eq!((s.consumed, s.data, s.done), (20, 18..20, false));
        assert_eq!(ok(b"10000000000000000\r\n"), Err(HttpError::BadChunk));
    }

    #[test]
    fn bad_chunks() {
        let cases: &[&[u8]] = &[
            b"\r\n",
            b"x\r\n",
            b" 5\r\nhello\r\n0\r\n\r\n",
            b"-5\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\rhello",
            b"5 x\r\n",
            b";ext\r\n",
            b"5;a\nb\r\n",
            b"5;a\0\r\n",
            b"5\r\nhelloX\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"5\r\nhello\r\r",
            b"0\r\nX: y\n\r\n",
            b"0\r\nX: y\r\r\n",
            b"0\r\n folded\r\n\r\n",
            b"0\r\nX: a\0\r\n\r\n",
            b"0\r\n\n",
            b"0\r\n\rx",
        ];
        for case in cases {
            assert_eq!(
                decode_all(&mut ChunkedDecoder::new(), case).map(|r| r.0),
                Err(HttpError::BadChunk),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn chunk_line_limit_boundaries() {
        let line = |len: usize| {
            let mut line = b"1;".to_vec();
            line.extend(std::iter::repeat_n(b'e', len - 2));
            line.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
            line
        };
        let ok = decode_all(&mut ChunkedDecoder::new(), &line(MAX_CHUNK_LINE_BYTES));
        assert_eq!(ok.unwrap().0, b"x");
        let long = line(MAX_CHUNK_LINE_BYTES + 1);
        assert_eq!(
            decode_all(&mut ChunkedDecoder::new(), &long),
            Err(HttpError::BadChunk)
        );
        // Detected before the line ends.
        assert_eq!(
            decode_all(
                &mut ChunkedDecoder::new(),
                &long[..MAX_CHUNK_LINE_BYTES + 1]
            ),
            Err(HttpError::BadChunk)
        );
        // The size line limit restarts on every chunk.
        let mut many = Vec::new();
        for _ in 0..3 {
            many.extend_from_slice(&line(MAX_CHUNK_LINE_BYTES)[..MAX_CHUNK_LINE_BYTES + 5]);
        }
        many.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(
            decode_all(&mut ChunkedDecoder::new(), &many).unwrap().0,
            b"xxx"
        );
    }

    #[test]
    fn trailer_limit_boundaries() {
        let with_trailer = |len: usize| {
            // One field line of `len` bytes, CRLF included.
            let mut body = b"0\r\nX: ".to_vec();
            body.extend(std::iter::repeat_n(b't', len - 5));
            body.extend_from_slice(b"\r\n\r\n");
            body
        };
        let mut d = ChunkedDecoder::new();
        assert!(decode_all(&mut d, &with_trailer(MAX_TRAILER_BYTES)).is_ok());
        assert!(d.is_done());
        assert_eq!(
            decode_all(
                &mut ChunkedDecoder::new(),
                &with_trailer(MAX_TRAILER_BYTES + 1)
            ),
            Err(HttpError::BadChunk)
        );
        // Many short lines count together.
        let mut lines = b"0\r\n".to_vec();
        for _ in 0..MAX_TRAILER_BYTES / 8 {
            lines.extend_from_slice(b"A: 1234\r\n");
        }
        lines.extend_from_slice(b"\r\n");
        assert_eq!(
            decode_all(&mut ChunkedDecoder::new(), &lines),
            Err(HttpError::BadChunk)
        );
    }

    #[test]
    fn write_chunk_round_trip() {
        let mut out = Vec::new();
        write_chunk(&mut out, b"");
        assert!(out.is_empty());
        write_chunk(&mut out, &[7; 300]);
        assert!(out.starts_with(b"12c\r\n"));
        out.extend_from_slice(LAST_CHUNK);
        let (data, consumed) = decode_all(&mut ChunkedDecoder::new(), &out).unwrap();
        assert_eq!((data, consumed), (vec![7; 300], out.len()));
    }

    // ---- ranges ----

    #[test]
    fn range_parse() {
        use ByteRange::*;
        let p = |s: &str| ByteRange::parse(s.as_bytes());
        assert_eq!(p("bytes=0-499"), Some(FromTo(0, 499)));
        assert_eq!(p("bytes=5-5"), Some(FromTo(5, 5)));
        assert_eq!(p("bytes=9500-"), Some(From(9500)));
        assert_eq!(p("bytes=-500"), Some(Suffix(500)));
        assert_eq!(p("Bytes=1-2"), Some(FromTo(1, 2)));
        assert_eq!(p(" BYTES = 1- \t"), Some(From(1)));
        assert_eq!(p("bytes=1-2, "), Some(FromTo(1, 2)));
        assert_eq!(p("bytes=18446744073709551615-"), Some(From(u64::MAX)));
        for bad in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=-0",
            "bytes=5-3",
            "bytes=0-1,2-3",
            "bytes=0-1,-5",
            "bytes=a-b",
            "bytes=1 -2",
            "bytes=1- 2",
            "bytes=+1-2",
            "bytes=1-2-3",
            "items=0-1",
            "bytes 0-1",
            "byte=0-1",
            "bytes=18446744073709551616-",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn range_resolve() {
        use ByteRange::*;
        assert_eq!(FromTo(0, 499).resolve(1000), Some((0, 499)));
        assert_eq!(FromTo(500, 5000).resolve(1000), Some((500, 999)));
        assert_eq!(FromTo(999, 999).resolve(1000), Some((999, 999)));
        assert_eq!(FromTo(1000, 2000).resolve(1000), None);
        assert_eq!(FromTo(5, 3).resolve(1000), None);
        assert_eq!(From(0).resolve(1000), Some((0, 999)));
        assert_eq!(From(999).resolve(1000), Some((999, 999)));
        assert_eq!(From(1000).resolve(1000), None);
        assert_eq!(Suffix(1).resolve(1000), Some((999, 999)));
        assert_eq!(Suffix(500).resolve(1000), Some((500, 999)));
        assert_eq!(Suffix(5000).resolve(1000), Some((0, 999)));
        assert_eq!(Suffix(0).resolve(1000), None);
        for r in [FromTo(0, 0), From(0), Suffix(1)] {
            assert_eq!(r.resolve(0), None, "{r:?}");
            assert_eq!(r.resolve(1), Some((0, 0)), "{r:?}");
        }
        assert_eq!(From(5).resolve(u64::MAX), Some((5, u64::MAX - 1)));
    }

    #[test]
    fn range_to_header() {
        assert_eq!(ByteRange::FromTo(1, 2).to_header(), "bytes=1-2");
        assert_eq!(ByteRange::From(7).to_header(), "bytes=7-");
        assert_eq!(ByteRange::Suffix(9).to_header(), "bytes=-9");
    }

    #[test]
    fn content_range_write_and_parse() {
        use ContentRange::*;
        assert_eq!(content_range(0, 499, Some(1000)), "bytes 0-499/1000");
        assert_eq!(content_range(5, 9, None), "bytes 5-9/*");
        assert_eq!(content_range_unsatisfied(1000), "bytes */1000");
        let p = |s: &str| parse_content_range(s.as_bytes());
        assert_eq!(
            p(&content_range(0, 499, Some(1000))),
            Some(Satisfied {
                first: 0,
                last: 499,
                total: Some(1000)
            })
        );
        assert_eq!(
            p(&content_range(5, 9, None)),
            Some(Satisfied {
                first: 5,
                last: 9,
                total: None
            })
        );
        assert_eq!(
            p(&content_range_unsatisfied(0)),
            Some(Unsatisfied { total: 0 })
        );
        assert_eq!(
            p(" BYTES\t 0-0/1 "),
            Some(Satisfied {
                first: 0,
                last: 0,
                total: Some(1)
            })
        );
        for bad in [
            "",
            "bytes",
            "bytes 0-499",
            "bytes 5-4/10",
            "bytes 0-10/10",
            "bytes 0-0/0",
            "bytes */*",
            "bytes */",
            "bytes -5/10",
            "bytes 0-/10",
            "bytes=0-1/2",
            "items 0-1/2",
            "bytes 0 - 1/2",
            "bytes 0-1/2x",
            "bytes 0-18446744073709551616/*",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    // ---- reason phrases and head writing ----

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase(200), "OK");
        assert_eq!(reason_phrase(206), "Partial Content");
        assert_eq!(reason_phrase(416), "Range Not Satisfiable");
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
        assert_eq!(reason_phrase(511), "Network Authentication Required");
        for unknown in [0, 99, 199, 299, 418, 512, 600, 999, u16::MAX] {
            assert_eq!(reason_phrase(unknown), "Unknown", "{unknown}");
        }
        for status in 100..=511 {
            assert!(!reason_phrase(status).is_empty());
        }
    }

    #[test]
    fn head_writer_response() {
        let mut w = HeadWriter::response(206);
        assert!(w.header("Content-Range", "bytes 0-1/2"));
        assert!(w.header("X-Bytes", b"\tv\x80"));
        assert!(w.header("Empty", ""));
        let head = w.finish();
        assert_eq!(
            head,
            b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-1/2\r\nX-Bytes: \tv\x80\r\nEmpty: \r\n\r\n"
        );
        let parsed = res_ok(&head);
        assert_eq!(parsed.status(), 206);
        assert_eq!(parsed.header("empty"), Some(&b""[..]));
        assert!(
            HeadWriter::response(299)
                .finish()
                .starts_with(b"HTTP/1.1 299 Unknown\r\n")
        );
        assert!(
            HeadWriter::response(42)
                .finish()
                .starts_with(b"HTTP/1.1 500 Internal")
        );
        assert!(
            HeadWriter::response(1000)
                .finish()
                .starts_with(b"HTTP/1.1 500 ")
        );
    }

    #[test]
    fn head_writer_refuses_injection() {
        let mut w = HeadWriter::request("GET", "/");
        for (name, value) in [
            ("X-A", &b"a\r\nInjected: 1"[..]),
            ("X-A", b"a\rb"),
            ("X-A", b"a\nb"),
            ("X-A", b"a\0b"),
            ("X-A", b"a\x1bb"),
            ("X-A", b"a\x7fb"),
            ("", b"v"),
            ("X A", b"v"),
            ("X:A", b"v"),
            ("X\r\nA", b"v"),
            ("Caf\u{e9}", b"v"),
        ] {
            assert!(!w.header(name, value), "{name:?}");
        }
        assert!(w.header("X-Ok", "fine"));
        assert_eq!(w.finish(), b"GET / HTTP/1.1\r\nX-Ok: fine\r\n\r\n");
    }

    #[test]
    fn head_writer_request_line() {
        let head = HeadWriter::request("GET", "/a b\r\nX: y\0/caf\u{e9}?q=1").finish();
        assert_eq!(
            head,
            b"GET /a%20b%0D%0AX:%20y%00/caf%C3%A9?q=1 HTTP/1.1\r\n\r\n"
        );
        assert_eq!(req_ok(&head).path(), "/a%20b%0D%0AX:%20y%00/caf%C3%A9");
        assert_eq!(
            HeadWriter::request("HEAD", "").finish(),
            b"HEAD / HTTP/1.1\r\n\r\n"
        );
        assert_eq!(
            HeadWriter::request("GE T\r\n", "/").finish(),
            b"GET / HTTP/1.1\r\n\r\n"
        );
        assert_eq!(
            HeadWriter::request(" ", "/").finish(),
            b"GET / HTTP/1.1\r\n\r\n"
        );
    }

    // ---- properties ----

    /// Encodes `data` in chunks of the given sizes (cycled), with optional extensions on each
    /// size line and optional trailer fields.
    fn encode(data: &[u8], sizes: &[usize], ext: bool, trailers: &[String]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = data;
        let mut sizes = sizes.iter().cycle();
        while !rest.is_empty() {
            let n = sizes.next().copied().unwrap_or(rest.len()).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            if ext {
                out.extend_from_slice(format!("{n:X} ;name=\"v\"\r\n").as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            } else {
                write_chunk(&mut out, chunk);
            }
            rest = tail;
        }
        out.extend_from_slice(b"0\r\n");
        for t in trailers {
            out.extend_from_slice(t.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn arb_range() -> impl Strategy<Value = ByteRange> {
        prop_oneof![
            (any::<u64>(), any::<u64>()).prop_map(|(a, b)| ByteRange::FromTo(a.min(b), a.max(b))),
            any::<u64>().prop_map(ByteRange::From),
            (1..=u64::MAX).prop_map(ByteRange::Suffix),
        ]
    }

    proptest! {
        #[test]
        fn chunked_round_trip(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            sizes in proptest::collection::vec(1usize..300, 1..20),
            ext in any::<bool>(),
            trailers in proptest::collection::vec("[A-Za-z-]{1,10}: [ -~]{0,20}", 0..3),
            mut cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let mut encoded = encode(&data, &sizes, ext, &trailers);
            let body_len = encoded.len();
            encoded.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
            let mut cuts: Vec<usize> = cuts.drain(..).map(|i| i.index(encoded.len() + 1)).collect();
            cuts.sort_unstable();
            let (out, done, consumed) = decode_split(&encoded, &cuts).unwrap();
            prop_assert_eq!(out, data);
            prop_assert!(done);
            prop_assert_eq!(consumed, body_len);
        }

        #[test]
        fn chunked_never_panics(input in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_all(&mut ChunkedDecoder::new(), &input);
        }

        #[test]
        fn request_parse_never_panics(
            prefix in "(GET|POST|HEAD) [ -~]{0,30} HTTP/1\\.[01]\r\n([A-Za-z-]{1,12}: [ -~]{0,30}\r\n){0,4}",
            tail in proptest::collection::vec(any::<u8>(), 0..200),
            raw in any::<bool>(),
        ) {
            let input = if raw { tail.clone() } else { [prefix.as_bytes(), &tail].concat() };
            let mut buf = BytesMut::from(&input[..]);
            while let Ok(Some(head)) = RequestHead::parse(&mut buf) {
                let _ = (head.method(), head.target(), head.path(), head.query(), head.version());
                let _ = (head.keep_alive(), head.body_kind(), head.header_str("host"));
                prop_assert_eq!(head.headers().count(), head.fields.list.len());
            }
        }

        #[test]
        fn response_parse_never_panics(
            prefix in "HTTP/1\\.[01] [0-9]{3}[ -~]{0,10}\r\n([A-Za-z-]{1,12}: [ -~]{0,30}\r\n){0,4}",
            tail in proptest::collection::vec(any::<u8>(), 0..200),
            head_request in any::<bool>(),
        ) {
            let input = [prefix.as_bytes(), &tail].concat();
            let mut buf = BytesMut::from(&input[..]);
            while let Ok(Some(head)) = ResponseHead::parse(&mut buf) {
                let _ = (head.status(), head.reason(), head.keep_alive(), head.body_kind(head_request));
                prop_assert!(head.status() >= 100);
            }
        }

        #[test]
        fn range_round_trip(range in arb_range()) {
            prop_assert_eq!(ByteRange::parse(range.to_header().as_bytes()), Some(range));
        }

        #[test]
        fn range_parse_is_canonical(input in "[bytesBYTES =,0-9-]{0,20}") {
            if let Some(range) = ByteRange::parse(input.as_bytes()) {
                prop_assert_eq!(ByteRange::parse(range.to_header().as_bytes()), Some(range));
            }
        }

        #[test]
        fn range_resolves_inside(range in arb_range(), len in any::<u64>()) {
            if let Some((first, last)) = range.resolve(len) {
                prop_assert!(first <= last && last < len);
                let cr = content_range(first, last, Some(len));
                prop_assert_eq!(
                    parse_content_range(cr.as_bytes()),
                    Some(ContentRange::Satisfied { first, last, total: Some(len) })
                );
            }
        }

        #[test]
        fn content_range_parse_never_panics(input in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_content_range(&input);
            let _ = ByteRange::parse(&input);
        }
    }
}
