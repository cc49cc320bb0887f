//! Tests of the HTTP codec.

use super::*;
use bytes::BytesMut;
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
    let kind =
        |fields: &str| req_ok(format!("POST / HTTP/1.1\r\n{fields}\r\n").as_bytes()).body_kind();
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
    let full =
        b"\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
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
    let mut buf = BytesMut::from(&b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nraw"[..]);
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

#[test]
fn cuts_take_the_range_out_of_pieces() {
    let mut cut = Cut {
        skip: 5,
        limit: Some(4),
    };
    assert_eq!(cut.take(3), 3..3);
    assert_eq!(cut.take(4), 2..4);
    assert!(!cut.done());
    assert_eq!(cut.take(10), 0..2);
    assert!(cut.done());
    assert_eq!(cut.take(10), 0..0);
    let mut all = Cut::default();
    assert_eq!(all.take(7), 0..7);
    assert!(!all.done());
}
