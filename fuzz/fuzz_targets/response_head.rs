//! Response heads: arbitrary bytes as a stream of responses, checked three ways.
//!
//! 1. Parsing never panics, interim 1xx responses (but 101) are never returned, and every
//!    accessor works, body framing for both `HEAD` and other requests included.
//! 2. Split consistency: feeding the bytes in two parts gives the same answer as feeding them
//!    at once (interim responses consumed by the first part are skipped either way).
//! 3. Round trip: a final head re-serialised with `HeadWriter` parses back to the same status
//!    and fields (unless the re-serialised head outgrows a limit).

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use relay_core::proto::http::{BodyKind, HeadWriter, HttpError, ResponseHead};

#[derive(Debug, PartialEq)]
enum Outcome {
    Head(u16, Vec<(String, Vec<u8>)>, usize),
    Partial(usize),
    Error(HttpError),
}

fn fields(head: &ResponseHead) -> Vec<(String, Vec<u8>)> {
    head.headers()
        .map(|(n, v)| (n.to_owned(), v.to_vec()))
        .collect()
}

/// Parses once; lengths are what is left of `buf`, so runs over the same bytes compare.
fn outcome(buf: &mut BytesMut) -> Outcome {
    match ResponseHead::parse(buf) {
        Ok(Some(head)) => Outcome::Head(head.status(), fields(&head), buf.len()),
        Ok(None) => Outcome::Partial(buf.len()),
        Err(e) => Outcome::Error(e),
    }
}

fn exercise(head: &ResponseHead) {
    let status = head.status();
    assert!(status >= 200 || status == 101, "interim {status} returned");
    let _ = (
        head.reason(),
        head.version(),
        head.header_str("content-type"),
    );
    if head.keep_alive() {
        assert!(matches!(
            head.body_kind(false),
            Ok(BodyKind::Empty | BodyKind::Length(_) | BodyKind::Chunked)
        ));
    }
    assert_eq!(head.body_kind(true), Ok(BodyKind::Empty));
    if let Some(value) = head.header("content-range") {
        let _ = relay_core::proto::http::parse_content_range(value);
    }
}

fn round_trip(head: &ResponseHead) {
    let mut writer = HeadWriter::response(head.status());
    for (name, value) in head.headers() {
        assert!(writer.header(name, value), "parsed field refused: {name}");
    }
    let bytes = writer.finish();
    let mut buf = BytesMut::from(&bytes[..]);
    match ResponseHead::parse(&mut buf) {
        Ok(Some(again)) => {
            assert_eq!(
                (again.status(), fields(&again)),
                (head.status(), fields(head))
            );
            assert!(buf.is_empty());
        }
        Err(HttpError::HeadTooLarge | HttpError::LineTooLong) => {}
        other => panic!("re-serialised head did not parse: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(head)) = ResponseHead::parse(&mut buf) {
        exercise(&head);
        round_trip(&head);
    }

    let whole = outcome(&mut BytesMut::from(data));
    let split = data
        .first()
        .map_or(0, |&b| usize::from(b) * data.len() / 256);
    let mut buf = BytesMut::from(&data[..split]);
    match outcome(&mut buf) {
        Outcome::Partial(_) => {
            buf.extend_from_slice(&data[split..]);
            assert_eq!(outcome(&mut buf), whole);
        }
        Outcome::Error(_) => assert!(matches!(whole, Outcome::Error(_)), "{whole:?}"),
        Outcome::Head(status, fields, left) => {
            assert_eq!(
                Outcome::Head(status, fields, left + data.len() - split),
                whole
            );
        }
    }
});
