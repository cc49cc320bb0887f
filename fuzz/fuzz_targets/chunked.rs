//! Chunked transfer decoding.
//!
//! 1. Arbitrary bytes decoded at once, byte by byte, and in three parts at input-chosen points
//!    agree: same data, same end, same bytes consumed, and an error in one is an error in all.
//! 2. Round trip: the input's tail encoded as chunks of input-chosen sizes (with `write_chunk`,
//!    and with extensions and trailers) decodes back to itself, whatever the split.

#![no_main]

use libfuzzer_sys::fuzz_target;
use relay_core::proto::http::{ChunkedDecoder, HttpError, LAST_CHUNK, write_chunk};

/// The decoded data, whether the body ended, and the bytes consumed.
type Decoded = (Vec<u8>, bool, usize);

/// Feeds `input` in the pieces given by the ascending `cuts`, each piece in a caller loop.
fn decode(input: &[u8], cuts: &[usize]) -> Result<Decoded, HttpError> {
    let mut decoder = ChunkedDecoder::new();
    let mut out = Vec::new();
    let mut consumed = 0;
    let mut start = 0;
    for &cut in cuts.iter().chain([&input.len()]) {
        let piece = &input[start..cut];
        let mut pos = 0;
        loop {
            let step = decoder.decode(&piece[pos..])?;
            assert!(step.consumed <= piece.len() - pos);
            assert!(step.data.end <= step.consumed);
            out.extend_from_slice(&piece[pos..][step.data]);
            pos += step.consumed;
            assert_eq!(step.done, decoder.is_done());
            if step.done || step.consumed == 0 {
                break;
            }
        }
        consumed += pos;
        start = cut;
    }
    Ok((out, decoder.is_done(), consumed))
}

fn same(a: &Result<Decoded, HttpError>, b: &Result<Decoded, HttpError>) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("split changed the outcome: {a:?} vs {b:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    // 1. Split independence on arbitrary input.
    let whole = decode(data, &[]);
    let bytewise: Vec<usize> = (1..data.len()).collect();
    same(&whole, &decode(data, &bytewise));
    let (a, b) = match data {
        [.., x, y] => (
            usize::from(*x) * data.len() / 256,
            usize::from(*y) * data.len() / 256,
        ),
        _ => (0, 0),
    };
    same(&whole, &decode(data, &[a.min(b), a.max(b)]));

    // 2. Encode, then decode. The first byte picks chunk sizes and framing options.
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    let size = usize::from(mode & 0x3f) + 1;
    let mut encoded = Vec::new();
    for (i, chunk) in payload.chunks(size).enumerate() {
        if mode & 0x40 != 0 && i % 2 == 1 {
            encoded.extend_from_slice(format!("{:X} ; ext=\"v\"\r\n", chunk.len()).as_bytes());
            encoded.extend_from_slice(chunk);
            encoded.extend_from_slice(b"\r\n");
        } else {
            write_chunk(&mut encoded, chunk);
        }
    }
    if mode & 0x80 != 0 {
        encoded.extend_from_slice(b"0\r\nX-Trailer: yes\r\n\r\n");
    } else {
        encoded.extend_from_slice(LAST_CHUNK);
    }
    let body_len = encoded.len();
    encoded.extend_from_slice(b"next message");
    let expected = Ok((payload.to_vec(), true, body_len));
    let cut = usize::from(mode) * encoded.len() / 256;
    assert_eq!(decode(&encoded, &[]), expected);
    assert_eq!(decode(&encoded, &[cut]), expected);
    let bytewise: Vec<usize> = (1..encoded.len()).collect();
    assert_eq!(decode(&encoded, &bytewise), expected);
});
