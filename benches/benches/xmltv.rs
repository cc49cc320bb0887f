//! XMLTV reader and guide index throughput on a generated 20 MB guide (~90,000 programmes).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use relay_core::guide::{BuildOptions, Builder, CatalogChannel};
use relay_core::proto::xmltv::{self, All, Reader, Step};
use std::hint::black_box;
use std::io::Write;

const CHANNELS: usize = 90;
const PER_CHANNEL: usize = 1000;
const CHUNK: usize = 64 * 1024;

/// Feeds `input` in network-sized chunks and counts what comes out.
fn read(input: &[u8], select: &mut impl xmltv::Select) -> usize {
    let mut r = Reader::new();
    let mut n = 0;
    let mut chunks = input.chunks(CHUNK).peekable();
    while let Some(chunk) = chunks.next() {
        r.feed(chunk);
        if chunks.peek().is_none() {
            r.finish();
        }
        loop {
            match r.next(select).expect("sample guide reads") {
                Step::Programme(p) => n += black_box(p).titles.len(),
                Step::Channel(_) => {}
                Step::NeedMore | Step::End => break,
            }
        }
    }
    n
}

fn xmltv(c: &mut Criterion) {
    let input = relay_benches::sample_guide(CHANNELS, PER_CHANNEL);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&input).unwrap();
    let gz = gz.finish().unwrap();
    let catalog: Vec<CatalogChannel> = (0..CHANNELS)
        .step_by(10)
        .map(|i| CatalogChannel {
            channel_id: format!("id{i}"),
            tvg_id: format!("ch{i}.example"),
            name: format!("Channel {i}"),
            ..CatalogChannel::default()
        })
        .collect();
    let wanted: std::collections::HashSet<String> = (0..CHANNELS)
        .step_by(10)
        .map(|i| format!("ch{i}.example"))
        .collect();
    let opts = BuildOptions {
        from: i64::MIN / 2,
        to: i64::MAX / 2,
        normalised: true,
    };

    let mut group = c.benchmark_group("xmltv");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("read_all_programmes", |b| {
        b.iter(|| read(black_box(&input), &mut All))
    });
    group.bench_function("read_gzip_all_programmes", |b| {
        b.iter(|| read(black_box(&gz), &mut All))
    });
    group.bench_function("read_select_10pct", |b| {
        b.iter(|| {
            read(
                black_box(&input),
                &mut |ch: &str, _: i64, _: Option<i64>| wanted.contains(ch),
            )
        })
    });
    group.bench_function("guide_build_10pct", |b| {
        b.iter_batched_ref(
            || Builder::new(&catalog, opts),
            |builder| {
                let mut r = Reader::new();
                for chunk in input.chunks(CHUNK) {
                    r.feed(chunk);
                    builder.ingest(&mut r).unwrap();
                }
                r.finish();
                builder.ingest(&mut r).unwrap()
            },
            BatchSize::LargeInput,
        )
    });

    let all = xmltv::read_all(&input, &mut All);
    let mut written = Vec::new();
    for p in &all.programmes {
        xmltv::write_programme(&mut written, p);
    }
    group.throughput(Throughput::Bytes(written.len() as u64));
    group.bench_function("write_programmes", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(written.len()),
            |out| {
                for p in &all.programmes {
                    xmltv::write_programme(out, black_box(p));
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, xmltv);
criterion_main!(benches);
