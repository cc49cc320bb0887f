//! MPEG-TS alignment and random-access scanning never panic, and alignment is transparent: the
//! input cut at any point gives the same whole, sync-checked packets as at once.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use relay_core::proto::ts::{Aligner, PACKET, SYNC, Scanner};

fn align(pieces: &[&[u8]]) -> (Vec<u8>, u64) {
    let mut aligner = Aligner::new();
    let mut runs = Vec::new();
    for piece in pieces {
        aligner.push(Bytes::copy_from_slice(piece), &mut runs);
    }
    let mut out = Vec::new();
    for run in &runs {
        assert_eq!(run.len() % PACKET, 0, "runs are whole packets");
        for p in run.chunks(PACKET) {
            assert_eq!(p[0], SYNC, "every packet starts with the sync byte");
        }
        out.extend_from_slice(run);
    }
    (out, aligner.dropped())
}

fuzz_target!(|data: &[u8]| {
    let (whole, _) = align(&[data]);
    let mut scanner = Scanner::new();
    for p in whole.chunks(PACKET) {
        let _ = scanner.packet(p);
    }
    // Well-formed input (sync every 188 bytes) aligns identically however it is cut.
    let aligned = data.len() / PACKET * PACKET;
    if aligned > 0 && data[..aligned].chunks(PACKET).all(|p| p[0] == SYNC) {
        let split = usize::from(data[1]) * aligned / 256;
        let (parts, dropped) = align(&[&data[..split], &data[split..aligned]]);
        assert_eq!(dropped, 0);
        assert_eq!(parts, &data[..aligned]);
    }
});
