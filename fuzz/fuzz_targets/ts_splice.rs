//! The MPEG-TS splicer never panics and always writes valid structure, whatever it is fed:
//!
//! - raw mode: the input, cut into up to three sources and fed in pieces with switches,
//!   keepalives and gaps in between, under any options; the output is whole packets with
//!   sync, continuing counters and valid PAT/PMT sections;
//! - synthetic mode: two well-formed sources whose shape (PIDs, codecs, start times, PCR delay,
//!   GOP, sizes, cut and join points) comes from the input; the output passes the full check
//!   (whole frames, keyframe starts, monotonic PTS/DTS/PCR) — and, with bytes of the sources
//!   flipped by the rest of the input, the structural one.

#![no_main]

use libfuzzer_sys::fuzz_target;
use relay_core::proto::ts::splice::{SourceEnd, SpliceOptions, Splicer};
use relay_core::proto::ts::synth::{Expect, SynthSource, check, check_structure};
use relay_core::proto::ts::PACKET;

fn byte(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

fn u16_at(data: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([byte(data, i), byte(data, i + 1)])
}

fn options(flags: u8) -> SpliceOptions {
    SpliceOptions {
        rewrite_timestamps: flags & 1 == 0,
        hold_pes: flags & 2 == 0,
        lookahead_ticks: if flags & 4 == 0 { 45_000 } else { 0 },
        ..SpliceOptions::default()
    }
}

fn raw(data: &[u8]) {
    let (head, body) = data.split_at(data.len().min(8));
    let mut s = Splicer::new(options(byte(head, 0)));
    let mut out = Vec::new();
    // Cut points and piece sizes on packet boundaries, unless bit 3 / bit 7 asks otherwise.
    let align = |n: usize| {
        if byte(head, 0) & 8 == 0 {
            n / PACKET * PACKET
        } else {
            n
        }
    };
    let cuts = [
        align(usize::from(byte(head, 1)) * body.len() / 256),
        align(usize::from(byte(head, 2)) * body.len() / 256),
    ];
    let (a, b) = (cuts[0].min(cuts[1]), cuts[0].max(cuts[1]));
    let p3 = byte(head, 3);
    let piece = (usize::from(p3 & 0x3f) + 1) * PACKET + usize::from(p3 >> 7);
    for (n, src) in [&body[..a], &body[a..b], &body[b..]]
        .into_iter()
        .enumerate()
    {
        for chunk in src.chunks(piece) {
            // Whole packets only, as the Aligner hands them over (and a tail, to be dropped).
            s.push(chunk, &mut out);
        }
        let op = byte(head, 4 + n);
        match op % 4 {
            0 => s.switch(SourceEnd::Cut, &mut out),
            1 => s.switch(SourceEnd::Complete, &mut out),
            2 => {
                s.switch(SourceEnd::Cut, &mut out);
                s.keepalive(usize::from(op >> 4), &mut out);
                s.extend_gap(u64::from(op) * 900);
            }
            _ => s.keepalive(1, &mut out),
        }
    }
    s.flush(&mut out);
    if let Err(e) = check_structure(&out) {
        panic!("raw: {e}");
    }
}

fn source(data: &[u8], at: usize, tag: u8) -> SynthSource {
    let pid = |i: usize| 0x20 + u16_at(data, at + i) % 0x1fc0;
    let (pmt, video) = (pid(0), pid(2));
    let video = if video == pmt { video ^ 1 } else { video };
    let audio = pid(4);
    let flags = byte(data, at + 6);
    SynthSource {
        tag,
        pmt_pid: pmt,
        video_pid: video,
        video_type: if flags & 1 == 0 { 0x1b } else { 0x24 },
        audio_pid: (flags & 2 == 0 && audio != pmt && audio != video).then_some(audio),
        pcr_pid: (flags & 4 != 0).then_some(0x1ff2),
        start: u64::from(u16_at(data, at + 7)) << 17,
        pcr_delay: u64::from(byte(data, at + 9)) * 1000,
        frames: 5 + usize::from(byte(data, at + 10) % 40),
        gop: 1 + usize::from(byte(data, at + 11) % 15),
        frame_bytes: 100 + usize::from(byte(data, at + 12)) * 10,
        audio_bytes: 20 + usize::from(byte(data, at + 13)) * 2,
        rai: flags & 8 == 0,
        dts: flags & 16 != 0,
        audio_late: u64::from(byte(data, at + 14)) * 300,
        ..SynthSource::default()
    }
}

fn synthetic(data: &[u8]) {
    let a = source(data, 1, 1).generate();
    let b = source(data, 16, 2).generate();
    let na = a.len() / PACKET;
    let nb = b.len() / PACKET;
    let cut = usize::from(byte(data, 31)) * na / 256;
    let join = usize::from(byte(data, 32)) * nb / 256;
    let opts = options(byte(data, 33));
    let flips = data.get(34..).unwrap_or(&[]);
    let (mut a, mut b) = (a, b);
    for f in flips.chunks(3) {
        let at = usize::from(u16_at(f, 0));
        let v = byte(f, 2);
        if at % 2 == 0 {
            let i = at / 2 % a.len();
            a[i] = v;
        } else {
            let i = at / 2 % b.len();
            b[i] = v;
        }
    }
    let mut s = Splicer::new(opts);
    let mut out = Vec::new();
    s.push(&a[..cut * PACKET], &mut out);
    s.switch(
        if cut == na {
            SourceEnd::Complete
        } else {
            SourceEnd::Cut
        },
        &mut out,
    );
    s.push(&b[join * PACKET..], &mut out);
    s.switch(SourceEnd::Complete, &mut out);
    s.flush(&mut out);
    if flips.is_empty() {
        let expect = Expect {
            whole_pes: opts.hold_pes,
            monotonic: opts.rewrite_timestamps,
            markers: true,
        };
        if let Err(e) = check(&out, expect) {
            panic!("synthetic: {e}");
        }
    } else if let Err(e) = check_structure(&out) {
        panic!("synthetic, flipped: {e}");
    }
}

fuzz_target!(|data: &[u8]| {
    match data.first() {
        Some(&m) if m & 0x80 != 0 => synthetic(data),
        _ => raw(data),
    }
});
