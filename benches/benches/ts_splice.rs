//! MPEG-TS splicer throughput in bytes per second of input: one live source straight through
//! (PID, counter and table rewriting, PES holding), the same with a switch between two sources
//! (different PIDs and clocks, timestamps rewritten) every second of video, and a slate looped.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use relay_core::proto::ts::PACKET;
use relay_core::proto::ts::splice::{Slate, SourceEnd, SpliceOptions, Splicer};
use relay_core::proto::ts::synth::SynthSource;
use std::hint::black_box;

/// Packets per push (about 12 kB, a typical upstream read).
const PIECE: usize = 64;

/// About 10 MB of 25 fps video with AAC audio: 1 000 frames of 6 kB (keyframes 18 kB).
fn source(tag: u8, video_pid: u16, start: u64) -> Vec<u8> {
    SynthSource {
        tag,
        video_pid,
        audio_pid: Some(video_pid + 1),
        pmt_pid: 0x1000 + u16::from(tag),
        start,
        frames: 1000,
        frame_bytes: 6000,
        audio_bytes: 400,
        ..SynthSource::default()
    }
    .generate()
}

fn splice(c: &mut Criterion) {
    let a = source(1, 0x100, 126_000);
    let b = source(2, 0x200, 9_000_000);
    let mut group = c.benchmark_group("ts_splice");
    group.throughput(Throughput::Bytes(a.len() as u64));
    group.bench_function("one_source", |bench| {
        bench.iter_batched_ref(
            || {
                (
                    Splicer::new(SpliceOptions::default()),
                    Vec::with_capacity(a.len()),
                )
            },
            |(s, out)| {
                for piece in a.chunks(PIECE * PACKET) {
                    s.push(piece, out);
                }
                s.flush(out);
                black_box(out.len())
            },
            BatchSize::LargeInput,
        )
    });
    // A and B alternate every 25 frames' worth of packets, each cut mid-stream.
    let second = a.len() / PACKET / 40 * PACKET;
    let parts: Vec<&[u8]> = a
        .chunks(second)
        .zip(b.chunks(second))
        .enumerate()
        .map(|(i, (x, y))| if i % 2 == 0 { x } else { y })
        .collect();
    let total: usize = parts.iter().map(|p| p.len()).sum();
    // Once, untimed: the parts really are spliced in (those holding a keyframe after their
    // tables: most of them).
    {
        let (mut s, mut out) = (Splicer::default(), Vec::new());
        for part in &parts {
            s.push(part, &mut out);
            s.switch(SourceEnd::Cut, &mut out);
        }
        let n = s.stats().splices as usize;
        assert!(
            n * 4 >= parts.len() * 3,
            "{n} of {}: {:?}",
            parts.len(),
            s.stats()
        );
    }
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("switch_every_second", |bench| {
        bench.iter_batched_ref(
            || {
                (
                    Splicer::new(SpliceOptions::default()),
                    Vec::with_capacity(total),
                )
            },
            |(s, out)| {
                for part in &parts {
                    for piece in part.chunks(PIECE * PACKET) {
                        s.push(piece, out);
                    }
                    s.switch(SourceEnd::Cut, out);
                }
                s.flush(out);
                black_box(s.stats().splices)
            },
            BatchSize::LargeInput,
        )
    });
    let slate = SynthSource {
        frames: 50,
        ..SynthSource::default()
    }
    .generate();
    let loops = 40;
    group.throughput(Throughput::Bytes((slate.len() * loops) as u64));
    group.bench_function("slate_loop", |bench| {
        bench.iter_batched_ref(
            || {
                (
                    Splicer::default(),
                    Slate::new(),
                    Vec::with_capacity(slate.len() * loops),
                )
            },
            |(s, l, out)| {
                for _ in 0..loops * (slate.len() / PACKET) / PIECE {
                    l.play(&slate, PIECE, s, out);
                }
                s.flush(out);
                black_box(out.len())
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, splice);
criterion_main!(benches);
