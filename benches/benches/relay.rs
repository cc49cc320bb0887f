//! Data-plane throughput in bytes per second: TS alignment + random-access scanning, fan-out of a
//! chunk to many viewer queues, and one stream through the pass-through paths (splice and the
//! copy loop) over loopback sockets.

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use relay_core::proto::ts::{Aligner, PACKET, Scanner};
use relay_core::relay::fanout::BenchFanout;
use relay_core::relay::pass::{Pass, PassEnd};
use relay_core::relay::pool::BufferPool;
use relay_core::upstream::PlainBody;
use std::hint::black_box;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes per upstream read in the TS and fan-out benches (a typical live read).
const PIECE: usize = 16 * 1024;
/// Bytes per pass-through iteration.
const STREAM: usize = 32 * 1024 * 1024;

fn ts(c: &mut Criterion) {
    let data = relay_benches::live_ts(500, 500);
    let mut group = c.benchmark_group("relay");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("ts_align_scan", |b| {
        b.iter_batched_ref(
            || {
                let pieces: Vec<Bytes> =
                    data.chunks(PIECE + 7).map(Bytes::copy_from_slice).collect();
                (pieces, Vec::with_capacity(4))
            },
            |(pieces, runs)| {
                let mut aligner = Aligner::new();
                let mut scanner = Scanner::new();
                let mut ra = 0;
                for piece in pieces.drain(..) {
                    runs.clear();
                    aligner.push(piece, runs);
                    for run in runs.iter() {
                        for p in run.chunks(PACKET) {
                            ra += usize::from(scanner.packet(p).random_access);
                        }
                    }
                }
                black_box(ra)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn fanout(c: &mut Criterion) {
    let data = Bytes::from(relay_benches::live_ts(20, 500));
    let runs: Vec<Bytes> = (0..data.len() / (PIECE / PACKET * PACKET))
        .map(|i| data.slice(i * (PIECE / PACKET * PACKET)..(i + 1) * (PIECE / PACKET * PACKET)))
        .collect();
    let mut group = c.benchmark_group("relay");
    for viewers in [1usize, 100, 1000] {
        let fan = BenchFanout::new(viewers, 64 * 1024 * 1024);
        // Bytes delivered to viewers (each gets a reference to every chunk).
        group.throughput(Throughput::Bytes((data.len() * viewers) as u64));
        group.bench_function(format!("fanout_{viewers}_viewers"), |b| {
            b.iter(|| {
                for run in &runs {
                    fan.publish(run.clone());
                }
                black_box(fan.drain())
            })
        });
    }
    group.finish();
}

/// One stream of [`STREAM`] bytes: origin socket → relay pass → client socket, read to the end.
async fn pass_once(splice: bool, pool: &BufferPool, payload: &'static [u8]) -> u64 {
    let origin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (oa, fa) = (origin.local_addr().unwrap(), front.local_addr().unwrap());
    let writer = tokio::spawn(async move {
        let (mut s, _) = origin.accept().await.unwrap();
        let _ = s.write_all(payload).await;
    });
    let reader = tokio::spawn(async move {
        let mut s = TcpStream::connect(fa).await.unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut n = 0u64;
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return n,
                Ok(k) => n += k as u64,
            }
        }
    });
    let upstream = TcpStream::connect(oa).await.unwrap();
    let (mut client, _) = front.accept().await.unwrap();
    let pass = Pass {
        body: PlainBody {
            stream: upstream,
            buffered: BytesMut::new(),
            remaining: Some(payload.len() as u64),
        },
        cut: relay_core::proto::http::Cut::default(),
        splice,
        idle: Duration::from_secs(10),
        stall: Duration::from_secs(10),
        pool,
    };
    let mut sent = 0;
    let end = pass.run(&mut client, &mut sent).await;
    assert!(matches!(end, PassEnd::Complete), "{end:?}");
    drop(client);
    writer.await.unwrap();
    reader.await.unwrap()
}

fn pass(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let payload: &'static [u8] = Box::leak(vec![0x5au8; STREAM].into_boxed_slice());
    let pool = BufferPool::new();
    let mut group = c.benchmark_group("relay");
    group.throughput(Throughput::Bytes(STREAM as u64));
    group.sample_size(20);
    for (name, splice) in [("pass_copy_loop", false), ("pass_splice", true)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let n = rt.block_on(pass_once(splice, &pool, payload));
                assert_eq!(n, STREAM as u64);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ts, fanout, pass);
criterion_main!(benches);
