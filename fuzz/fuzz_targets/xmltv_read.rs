//! XMLTV reader: never panics on any bytes, plain or gzip; reads the same whole, fed in two
//! chunks, or one byte at a time; what it reads, written back, reads back the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use relay_core::proto::xmltv::{self, All, Reader, Step};

/// Everything a reader yields, feeding `data` in pieces cut at `cuts`.
fn read(data: &[u8], cuts: &[usize]) -> (Vec<xmltv::Channel>, Vec<xmltv::Programme>) {
    let mut r = Reader::new();
    let (mut channels, mut programmes) = (Vec::new(), Vec::new());
    let mut drain = |r: &mut Reader| loop {
        match r.next(&mut All) {
            Ok(Step::Channel(c)) => channels.push(c),
            Ok(Step::Programme(p)) => programmes.push(p),
            Ok(Step::NeedMore) | Ok(Step::End) | Err(_) => return,
        }
    };
    let mut at = 0;
    for &cut in cuts {
        let cut = cut.clamp(at, data.len());
        r.feed(&data[at..cut]);
        drain(&mut r);
        at = cut;
    }
    r.feed(&data[at..]);
    r.finish();
    drain(&mut r);
    (channels, programmes)
}

fuzz_target!(|data: &[u8]| {
    let whole = read(data, &[]);
    let split = data.first().map_or(0, |&b| usize::from(b) * data.len() / 256);
    assert_eq!(read(data, &[split]), whole, "two chunks");
    if data.len() <= 512 {
        let every: Vec<usize> = (1..data.len()).collect();
        assert_eq!(read(data, &every), whole, "byte by byte");
    }

    let mut out = Vec::new();
    xmltv::write_header(&mut out, "fuzz");
    for c in &whole.0 {
        xmltv::write_channel(&mut out, c);
    }
    for p in &whole.1 {
        xmltv::write_programme(&mut out, p);
    }
    xmltv::write_footer(&mut out);
    let again = xmltv::read_all(&out, &mut All);
    assert!(again.result.is_ok(), "written guide reads cleanly: {:?}", again.result);
    // A second write of what was read back is byte-identical (the writer's output is a fixed point).
    let mut out2 = Vec::new();
    xmltv::write_header(&mut out2, "fuzz");
    for c in &again.channels {
        xmltv::write_channel(&mut out2, c);
    }
    for p in &again.programmes {
        xmltv::write_programme(&mut out2, p);
    }
    xmltv::write_footer(&mut out2);
    assert_eq!(out, out2, "write is a fixed point");
});
