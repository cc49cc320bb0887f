//! Ingests a large generated XMLTV guide (never held in memory: generated piece by piece) into
//! a guide index and prints parse speed, peak RSS growth and index size against kept text.
//!
//! `cargo run --release -p relay-benches --bin xmltv-measure [MB [WANTED_PERCENT]]`
//! (defaults: 200 MB, 10 % of the programmes on catalog channels).

use relay_benches::GuideGen;
use relay_core::guide::{BuildOptions, Builder, CatalogChannel};
use relay_core::proto::xmltv::{All, Reader, Step};
use std::time::Instant;

/// Programmes per channel (30 minutes each: three weeks).
const PER_CHANNEL: usize = 1000;
/// Bytes generated and fed per step, like a network read.
const CHUNK: usize = 64 * 1024;

/// A `kB` line of /proc/self/status, in bytes.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// CPU seconds (user + system) this process used, from /proc/self/stat (100 ticks a second).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<u64>() as f64 / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mb: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let percent: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    // About 230 bytes per programme.
    let channels = (mb << 20) / (PER_CHANNEL * 230);
    let every = 100 / percent.clamp(1, 100);
    let catalog: Vec<CatalogChannel> = (0..channels)
        .filter(|i| i % every == 0)
        .map(|i| CatalogChannel {
            channel_id: format!("id{i}"),
            tvg_id: format!("CH{i}.example"),
            tvg_name: String::new(),
            name: format!("Channel {i}"),
            shift_hours: 0.0,
        })
        .collect();

    // The generator alone, to take its cost out of the figures below.
    let mut chunk = Vec::with_capacity(CHUNK * 2);
    let mut guide_gen = GuideGen::new(channels, PER_CHANNEL);
    let c0 = cpu_secs();
    loop {
        chunk.clear();
        if !guide_gen.fill(&mut chunk, CHUNK) {
            break;
        }
    }
    let gen_cpu = cpu_secs() - c0;

    // Reader alone, every programme parsed.
    let mut guide_gen = GuideGen::new(channels, PER_CHANNEL);
    let mut reader = Reader::new();
    let (mut bytes, mut n) = (0usize, 0usize);
    let mut gen_time = std::time::Duration::ZERO;
    let t = Instant::now();
    let c0 = cpu_secs();
    loop {
        chunk.clear();
        let g = Instant::now();
        let more = guide_gen.fill(&mut chunk, CHUNK);
        gen_time += g.elapsed();
        bytes += chunk.len();
        reader.feed(&chunk);
        if !more {
            reader.finish();
        }
        loop {
            match reader.next(&mut All).expect("generated guide reads") {
                Step::Programme(_) => n += 1,
                Step::Channel(_) => {}
                Step::NeedMore | Step::End => break,
            }
        }
        if !more {
            break;
        }
    }
    let all_secs = (t.elapsed() - gen_time).as_secs_f64();
    let all_cpu = cpu_secs() - c0 - gen_cpu;
    println!(
        "guide: {:.1} MB, {} channels, {n} programmes",
        bytes as f64 / 1e6,
        channels
    );
    println!(
        "parse, every programme kept: {:.0} MB/s of CPU time ({:.2} s), {:.0} MB/s wall ({:.2} s)",
        bytes as f64 / 1e6 / all_cpu,
        all_cpu,
        bytes as f64 / 1e6 / all_secs,
        all_secs
    );
    drop(reader);

    // Builder: catalog channels only, peak RSS growth measured around it.
    // Reset the peak-RSS mark (Linux: writing 5 to clear_refs) so VmHWM measures this phase.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = status_kb("VmRSS:");
    let mut guide_gen = GuideGen::new(channels, PER_CHANNEL);
    let mut builder = Builder::new(
        &catalog,
        BuildOptions {
            from: i64::MIN / 2,
            to: i64::MAX / 2,
            normalised: true,
        },
    );
    let mut reader = Reader::new();
    let mut gen_time = std::time::Duration::ZERO;
    let t = Instant::now();
    let c0 = cpu_secs();
    loop {
        chunk.clear();
        let g = Instant::now();
        let more = guide_gen.fill(&mut chunk, CHUNK);
        gen_time += g.elapsed();
        reader.feed(&chunk);
        if !more {
            reader.finish();
        }
        let ended = builder.ingest(&mut reader).expect("generated guide reads");
        if !more {
            assert!(ended);
            break;
        }
    }
    let stats = reader.stats();
    let guide = builder.finish();
    let build_secs = (t.elapsed() - gen_time).as_secs_f64();
    let build_cpu = cpu_secs() - c0 - gen_cpu;
    let hwm_after = status_kb("VmHWM:");
    let s = guide.stats();
    println!(
        "ingest, {} % wanted ({} catalog channels): {:.0} MB/s of CPU time ({:.2} s), {:.0} MB/s wall ({:.2} s), {} programmes kept, {} skipped unparsed",
        percent,
        catalog.len(),
        bytes as f64 / 1e6 / build_cpu,
        build_cpu,
        bytes as f64 / 1e6 / build_secs,
        build_secs,
        s.programmes,
        stats.skipped
    );
    println!(
        "peak RSS growth: {:.1} MB (VmRSS before {:.1} MB, VmHWM after {:.1} MB)",
        hwm_after.saturating_sub(rss_before) as f64 / 1e6,
        rss_before as f64 / 1e6,
        hwm_after as f64 / 1e6
    );
    println!(
        "index: {:.1} MB for {:.1} MB of kept programme text = {:.2}x",
        s.index_bytes as f64 / 1e6,
        s.text_bytes as f64 / 1e6,
        s.index_bytes as f64 / s.text_bytes.max(1) as f64
    );
    let t = Instant::now();
    let hits = guide.search("champions", i64::MIN / 2, i64::MAX / 2, 50);
    println!(
        "search \"champions\" over all kept programmes: {} hits (limit 50) in {:.1} ms",
        hits.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
}
