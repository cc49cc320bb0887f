//! M3U parser and writer throughput on a 10,000-channel catalog.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use relay_core::proto::m3u::{self, Parser, WriteOptions};
use std::hint::black_box;

const CHANNELS: usize = 10_000;
const CHUNK: usize = 16 * 1024;

fn m3u(c: &mut Criterion) {
    let input = relay_benches::sample_playlist(CHANNELS);
    let playlist = m3u::parse(&input);
    assert_eq!(playlist.entries.len(), CHANNELS);
    let opts = WriteOptions {
        request_options: true,
    };

    let mut group = c.benchmark_group("m3u");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("m3u_parse", |b| b.iter(|| m3u::parse(black_box(&input))));
    group.bench_function("m3u_parse_chunked", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(CHANNELS),
            |entries| {
                let mut parser = Parser::new();
                for chunk in black_box(&input).chunks(CHUNK) {
                    parser.feed(chunk, entries);
                }
                parser.finish(entries)
            },
            BatchSize::SmallInput,
        )
    });
    group.throughput(Throughput::Bytes(m3u::write(&playlist, opts).len() as u64));
    group.bench_function("m3u_write", |b| {
        b.iter(|| m3u::write(black_box(&playlist), opts))
    });
    group.finish();
}

criterion_group!(benches, m3u);
criterion_main!(benches);
