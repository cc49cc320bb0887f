//! Request heads: arbitrary bytes as a pipelined stream, checked three ways.
//!
//! 1. Parsing never panics and every accessor of a parsed head works.
//! 2. Split consistency: feeding the bytes in two parts gives the same answer as feeding them
//!    at once, and a prefix of a valid head is never an error.
//! 3. Round trip: a parsed head re-serialised with `HeadWriter` parses back to the same
//!    method, target and fields (unless the re-serialised head outgrows a limit).

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use relay_core::proto::http::{HeadWriter, HttpError, MAX_HEAD_BYTES, RequestHead};

/// What a parse produced; lengths are what is left of the buffer, so runs over the same bytes
/// compare.
#[derive(Debug, PartialEq)]
enum Outcome {
    Head(String, String, Vec<(String, Vec<u8>)>, usize),
    Partial,
    Error(HttpError),
}

fn summary(head: &RequestHead) -> (String, String, Vec<(String, Vec<u8>)>) {
    let fields = head
        .headers()
        .map(|(n, v)| (n.to_owned(), v.to_vec()))
        .collect();
    (head.method().to_owned(), head.target().to_owned(), fields)
}

fn outcome(buf: &mut BytesMut) -> Outcome {
    match RequestHead::parse(buf) {
        Ok(Some(head)) => {
            let (method, target, fields) = summary(&head);
            Outcome::Head(method, target, fields, buf.len())
        }
        Ok(None) => Outcome::Partial,
        Err(e) => Outcome::Error(e),
    }
}

fn exercise(head: &RequestHead) {
    assert!(!head.method().is_empty());
    assert!(head.target().is_ascii() && !head.target().is_empty());
    assert!(!head.path().is_empty());
    let _ = (
        head.query(),
        head.version(),
        head.keep_alive(),
        head.body_kind(),
    );
    let _ = (head.header("host"), head.header_str("content-length"));
    if let Some(range) = head.header("range") {
        let _ = relay_core::proto::http::ByteRange::parse(range).map(|r| r.resolve(1000));
    }
}

fn round_trip(head: &RequestHead) {
    let mut writer = HeadWriter::request(head.method(), head.target());
    for (name, value) in head.headers() {
        assert!(writer.header(name, value), "parsed field refused: {name}");
    }
    let bytes = writer.finish();
    let mut buf = BytesMut::from(&bytes[..]);
    match RequestHead::parse(&mut buf) {
        Ok(Some(again)) => {
            assert_eq!(summary(&again), summary(head));
            assert!(buf.is_empty());
        }
        Err(HttpError::HeadTooLarge | HttpError::LineTooLong) => {}
        other => panic!("re-serialised head did not parse: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    // 1. The whole input as a pipelined stream.
    let mut buf = BytesMut::from(data);
    while let Ok(Some(head)) = RequestHead::parse(&mut buf) {
        exercise(&head);
        round_trip(&head);
    }

    // 2. Split consistency at a point chosen by the input.
    let whole = outcome(&mut BytesMut::from(data));
    if let Outcome::Head(.., left) = &whole {
        let blank = data
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        assert!(data.len() - left <= blank + MAX_HEAD_BYTES);
    }
    let split = data
        .first()
        .map_or(0, |&b| usize::from(b) * data.len() / 256);
    let mut buf = BytesMut::from(&data[..split]);
    match outcome(&mut buf) {
        Outcome::Partial => {
            buf.extend_from_slice(&data[split..]);
            assert_eq!(outcome(&mut buf), whole);
        }
        Outcome::Error(_) => assert!(matches!(whole, Outcome::Error(_)), "{whole:?}"),
        Outcome::Head(method, target, fields, left) => {
            let left = left + data.len() - split;
            assert_eq!(Outcome::Head(method, target, fields, left), whole);
        }
    }
});
