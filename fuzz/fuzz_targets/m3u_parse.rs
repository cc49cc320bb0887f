//! M3U catalog parsing never panics, whole or fed in two chunks (split inside a line or a UTF-8
//! sequence as the input decides).

#![no_main]

use libfuzzer_sys::fuzz_target;
use relay_core::proto::m3u;

fuzz_target!(|data: &[u8]| {
    let _ = m3u::parse(data);

    let split = data
        .first()
        .map_or(0, |&b| usize::from(b) * data.len() / 256);
    let mut parser = m3u::Parser::new();
    let mut entries = Vec::new();
    parser.feed(&data[..split], &mut entries);
    parser.feed(&data[split..], &mut entries);
    let _ = parser.finish(&mut entries);
});
