//! Splices MPEG-TS files into one stream with `proto::ts::splice::Splicer`, as the fan-out reader
//! would across upstream switches; used by `tests/interop/ts_splice.sh` to let ffmpeg judge the
//! result.
//!
//! ```text
//! cargo run -p relay-core --example ts_splice -- [OPTIONS] OUT INPUT...
//!   INPUT        FILE[:FROM[:TO]][*LOOPS]  packets FROM..TO of FILE (default: all); a source
//!                that stops before its file's end is cut (its unfinished PES dropped); *LOOPS
//!                plays it LOOPS times in a row (a slate)
//!   --no-rewrite keep timestamps, flag discontinuities instead
//!   --no-hold    do not hold PES back (a cut may leave a truncated frame)
//!   --nulls N    N null packets (with the tables) between sources
//!   --piece N    read size in bytes (default 65536; any size, cut by the Aligner)
//! ```
//! Prints the splicer's counters to stderr.

use bytes::Bytes;
use relay_core::proto::ts::splice::{Slate, SourceEnd, SpliceOptions, Splicer};
use relay_core::proto::ts::{Aligner, PACKET};
use std::process::ExitCode;

struct Input {
    data: Vec<u8>,
    from: usize,
    to: Option<usize>,
    loops: usize,
}

fn parse_input(arg: &str) -> Result<Input, String> {
    let (spec, loops) = match arg.rsplit_once('*') {
        Some((s, n)) => (
            s,
            n.parse().map_err(|_| format!("bad loop count in {arg}"))?,
        ),
        None => (arg, 1),
    };
    let mut parts = spec.split(':');
    let file = parts.next().unwrap_or_default();
    let num = |p: Option<&str>| -> Result<Option<usize>, String> {
        p.filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("bad packet number {s} in {arg}"))
            })
            .transpose()
    };
    let from = num(parts.next())?.unwrap_or(0);
    let to = num(parts.next())?;
    let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    Ok(Input {
        data,
        from,
        to,
        loops,
    })
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut opts = SpliceOptions::default();
    let mut nulls = 0usize;
    let mut piece = 65536usize;
    let mut rest = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-rewrite" => opts.rewrite_timestamps = false,
            "--no-hold" => opts.hold_pes = false,
            "--nulls" | "--piece" => {
                let n: usize = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or(format!("{a} needs a number"))?;
                if a == "--nulls" {
                    nulls = n;
                } else {
                    piece = n.max(1);
                }
            }
            _ => rest.push(a),
        }
    }
    if rest.len() < 2 {
        return Err(
            "usage: ts_splice [--no-rewrite] [--no-hold] [--nulls N] [--piece N] OUT INPUT..."
                .into(),
        );
    }
    let out_path = rest.remove(0);
    let inputs = rest
        .iter()
        .map(|a| parse_input(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut splicer = Splicer::new(opts);
    let mut out = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let packets = input.data.len() / PACKET;
        let to = input.to.unwrap_or(packets).min(packets);
        let from = input.from.min(to);
        let body = &input.data[from * PACKET..to * PACKET];
        if i > 0 && nulls > 0 {
            splicer.keepalive(nulls, &mut out);
        }
        if input.loops > 1 {
            if from != 0 || to != packets {
                return Err("*LOOPS plays a whole file".into());
            }
            let mut slate = Slate::new();
            slate.play(body, packets * input.loops, &mut splicer, &mut out);
        } else {
            // Through the Aligner, in pieces of any size, as bytes come off a socket.
            let mut aligner = Aligner::new();
            let mut runs = Vec::new();
            for chunk in body.chunks(piece) {
                runs.clear();
                aligner.push(Bytes::copy_from_slice(chunk), &mut runs);
                for run in &runs {
                    splicer.push(run, &mut out);
                }
            }
        }
        let end = if to == packets {
            SourceEnd::Complete
        } else {
            SourceEnd::Cut
        };
        splicer.switch(end, &mut out);
    }
    splicer.flush(&mut out);
    std::fs::write(&out_path, &out).map_err(|e| format!("{out_path}: {e}"))?;
    eprintln!("{:?}", splicer.stats());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ts_splice: {e}");
            ExitCode::FAILURE
        }
    }
}
