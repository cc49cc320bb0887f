//! Request and response heads: zero-copy parsing into index ranges over the frozen head.

use super::{
    BodyKind, HttpError, MAX_HEAD_BYTES, MAX_HEADERS, MAX_LINE_BYTES, Version, parse_u64, trim_ows,
};
use bytes::{Buf, Bytes, BytesMut};
use std::ops::Range;

/// Index ranges of one header field (name, value) in the frozen head.
type FieldIndices = (Range<usize>, Range<usize>);

/// The header fields of a parsed head: the frozen head bytes and where each field lies in them.
#[derive(Debug, Clone)]
pub(super) struct Fields {
    /// The whole head (start line, fields, blank line) as split off the read buffer.
    buf: Bytes,
    /// Name and value ranges into `buf`, in order of arrival. Values are trimmed by httparse.
    pub(super) list: Vec<FieldIndices>,
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
    pub(super) fields: Fields,
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
