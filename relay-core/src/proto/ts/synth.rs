//! Synthetic MPEG-TS for tests, benchmarks and fuzzing: a [`SynthSource`] writes a small but
//! well-formed program (PAT, PMT with H.264 or HEVC video and AAC audio, PES packets with
//! PTS/DTS, PCR in adaptation fields, IDR access units with SPS/PPS), and [`check`] reads any
//! stream back and verifies what a splicer promises: whole packets, continuity counters,
//! valid tables, PES only on listed PIDs, whole frames, keyframe starts, monotonic clocks.
//!
//! Every frame's elementary stream data carries a marker (`SYN`, the source tag, kind, key flag,
//! index, length) so the checker can tell which source and frame each output PES came from and
//! whether it arrived whole.

use super::packet::{self, Header, PID_NULL, PID_PAT, TS_MOD, pcr_diff, ts_add, ts_diff};
use super::pes;
use super::psi::{self, Pat, Pmt, PmtStream, Program, Sections, StreamKind};
use super::scan::{PACKET, SYNC};
use std::collections::HashMap;

/// The marker that starts the identifying bytes of every synthetic frame.
pub const MARKER: &[u8; 3] = b"SYN";
/// Bytes of a frame marker: `SYN`, tag, kind (0 video, 1 audio), key, index (4), length (4).
pub const MARKER_LEN: usize = 14;

/// Describes one synthetic source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSource {
    /// Written into every frame marker: which source a frame came from.
    pub tag: u8,
    /// program_number and transport_stream_id.
    pub program: u16,
    /// PMT PID.
    pub pmt_pid: u16,
    /// Video PID.
    pub video_pid: u16,
    /// Video stream_type: 0x1B (H.264) or 0x24 (HEVC).
    pub video_type: u8,
    /// Audio PID (AAC, stream_type 0x0F), if any.
    pub audio_pid: Option<u16>,
    /// A separate PCR PID; None puts the PCR on the video PID.
    pub pcr_pid: Option<u16>,
    /// PTS of the first video frame (90 kHz; may be near the 2^33 wrap).
    pub start: u64,
    /// How far the PCR runs behind the video DTS (90 kHz).
    pub pcr_delay: u64,
    /// Video frames.
    pub frames: usize,
    /// Frames per GOP (a keyframe and tables every `gop` frames).
    pub gop: usize,
    /// Video frame duration (90 kHz).
    pub frame_ticks: u64,
    /// Video frame size in bytes (keyframes are three times larger; sizes vary a little).
    pub frame_bytes: usize,
    /// Audio PES duration (90 kHz).
    pub audio_ticks: u64,
    /// Audio PES size in bytes.
    pub audio_bytes: usize,
    /// Set random_access_indicator on keyframes (else only the IDR NAL says so).
    pub rai: bool,
    /// Send the PES with DTS and PTS (PTS one frame later), as with B-frames.
    pub dts: bool,
    /// How late (90 kHz) audio is sent after the video of the same time, as muxers that pack
    /// audio in large PES do.
    pub audio_late: u64,
}

impl Default for SynthSource {
    fn default() -> Self {
        SynthSource {
            tag: 0,
            program: 1,
            pmt_pid: 0x1000,
            video_pid: 0x100,
            video_type: 0x1b,
            audio_pid: Some(0x101),
            pcr_pid: None,
            start: 126_000,
            pcr_delay: 63_000,
            frames: 50,
            gop: 25,
            frame_ticks: 3600,
            frame_bytes: 1500,
            audio_ticks: 1920,
            audio_bytes: 200,
            rai: true,
            dts: false,
            audio_late: 0,
        }
    }
}

/// Builds one packet: PID, start flag, counter, adaptation field (flags, PCR) when asked, the
/// payload, and adaptation-field stuffing when the payload is short.
fn ts_packet(
    pid: u16,
    pusi: bool,
    cc: u8,
    flags: u8,
    pcr: Option<u64>,
    payload: &[u8],
) -> [u8; PACKET] {
    let mut p = [0xffu8; PACKET];
    p[0] = SYNC;
    p[1] = (u8::from(pusi) << 6) | ((pid >> 8) as u8 & 0x1f);
    p[2] = pid as u8;
    let content = if pcr.is_some() {
        7
    } else if flags != 0 {
        1
    } else {
        0
    };
    let room = PACKET - 4;
    let payload = &payload[..payload
        .len()
        .min(room - if content > 0 { 1 + content } else { 0 })];
    let af_total = room - payload.len();
    if af_total == 0 {
        p[3] = 0x10 | (cc & 0x0f);
        p[4..].copy_from_slice(payload);
        return p;
    }
    p[3] = if payload.is_empty() { 0x20 } else { 0x30 } | (cc & 0x0f);
    p[4] = (af_total - 1) as u8;
    if af_total > 1 {
        p[5] = flags | if pcr.is_some() { 0x10 } else { 0 };
        if let Some(pcr) = pcr {
            packet::write_pcr(&mut p[6..12], pcr);
        }
    }
    p[4 + af_total..].copy_from_slice(payload);
    p
}

/// Capacity of a packet's payload when its adaptation field has `content` bytes after the
/// length byte (0 = none).
fn capacity(content: usize) -> usize {
    if content == 0 {
        PACKET - 4
    } else {
        PACKET - 5 - content
    }
}

/// Per-PID continuity counters of a generator.
#[derive(Default)]
struct Counters(HashMap<u16, u8>);

impl Counters {
    fn next(&mut self, pid: u16) -> u8 {
        let c = self.0.entry(pid).or_insert(15);
        *c = (*c + 1) & 0x0f;
        *c
    }

    fn section(&mut self, out: &mut Vec<u8>, pid: u16, section: &[u8]) {
        let c = self.0.entry(pid).or_insert(15);
        psi::packetize(pid, section, c, out);
    }
}

/// Appends a PES split into packets; the first carries `flags` and `pcr` in its adaptation field.
fn pes_packets(
    out: &mut Vec<u8>,
    cc: &mut Counters,
    pid: u16,
    pes: &[u8],
    flags: u8,
    pcr: Option<u64>,
) {
    let content = if pcr.is_some() {
        7
    } else if flags != 0 {
        1
    } else {
        0
    };
    let first = capacity(content).min(pes.len());
    out.extend_from_slice(&ts_packet(
        pid,
        true,
        cc.next(pid),
        flags,
        pcr,
        &pes[..first],
    ));
    for chunk in pes[first..].chunks(PACKET - 4) {
        out.extend_from_slice(&ts_packet(pid, false, cc.next(pid), 0, None, chunk));
    }
}

/// A PES header with PTS (and DTS), stream id `sid`, PES_packet_length from `data` when
/// `bounded`.
fn pes_bytes(sid: u8, pts: u64, dts: Option<u64>, data: &[u8], bounded: bool) -> Vec<u8> {
    let hlen = if dts.is_some() { 10 } else { 5 };
    let mut p = vec![
        0,
        0,
        1,
        sid,
        0,
        0,
        0x80,
        if dts.is_some() { 0xc0 } else { 0x80 },
        hlen,
    ];
    let mut t = [if dts.is_some() { 0x31 } else { 0x21 }, 0, 0, 0, 0];
    pes::write_timestamp(&mut t, pts);
    p.extend_from_slice(&t);
    if let Some(d) = dts {
        let mut t = [0x11, 0, 0, 0, 0];
        pes::write_timestamp(&mut t, d);
        p.extend_from_slice(&t);
    }
    p.extend_from_slice(data);
    if bounded {
        let len = (p.len() - 6).min(0xffff) as u16;
        p[4..6].copy_from_slice(&len.to_be_bytes());
    }
    p
}

/// Elementary stream bytes of one frame: start-code prefixed NALs (AUD, and SPS/PPS/IDR for a
/// keyframe, else a non-IDR slice), the marker, then filler, `len` bytes in all.
fn frame(video_type: u8, tag: u8, kind: u8, key: bool, index: u32, len: usize) -> Vec<u8> {
    let mut es = Vec::with_capacity(len);
    if kind == 0 {
        let hevc = video_type == 0x24;
        match (hevc, key) {
            (false, true) => es.extend_from_slice(&[
                0, 0, 0, 1, 0x09, 0x10, 0, 0, 0, 1, 0x67, 0x64, 0, 0, 0, 1, 0x68, 0xee, 0, 0, 1,
                0x65, 0x88,
            ]),
            (false, false) => es.extend_from_slice(&[0, 0, 0, 1, 0x09, 0x30, 0, 0, 1, 0x41, 0x9a]),
            (true, true) => es.extend_from_slice(&[
                0, 0, 0, 1, 0x46, 0x01, 0x10, 0, 0, 0, 1, 0x40, 0x01, 0, 0, 1, 0x26, 0x01,
            ]),
            (true, false) => {
                es.extend_from_slice(&[0, 0, 0, 1, 0x46, 0x01, 0x30, 0, 0, 1, 0x02, 0x01])
            }
        }
    } else {
        // An ADTS-like header start (sync word) before the marker.
        es.extend_from_slice(&[0xff, 0xf1]);
    }
    es.extend_from_slice(MARKER);
    es.extend_from_slice(&[tag, kind, u8::from(key)]);
    es.extend_from_slice(&index.to_be_bytes());
    let len = len.max(es.len() + 4);
    es.extend_from_slice(&(len as u32).to_be_bytes());
    es.resize(len, 0xa5);
    es
}

impl SynthSource {
    /// The PMT this source sends.
    pub fn pmt(&self) -> Pmt {
        let mut streams = vec![PmtStream {
            stream_type: self.video_type,
            pid: self.video_pid,
            es_info: Vec::new(),
        }];
        if let Some(a) = self.audio_pid {
            streams.push(PmtStream {
                stream_type: 0x0f,
                pid: a,
                es_info: vec![0x0a, 4, b'e', b'n', b'g', 0],
            });
        }
        Pmt {
            program_number: self.program,
            version: 0,
            current: true,
            pcr_pid: self.pcr_pid.unwrap_or(self.video_pid),
            program_info: Vec::new(),
            streams,
        }
    }

    /// The whole stream.
    pub fn generate(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cc = Counters::default();
        let mut pat = Vec::new();
        let _ = Pat {
            transport_stream_id: self.program,
            version: 0,
            current: true,
            programs: vec![Program {
                number: self.program,
                pid: self.pmt_pid,
            }],
        }
        .write(&mut pat);
        let mut pmt = Vec::new();
        let _ = self.pmt().write(&mut pmt);
        let gop = self.gop.max(1);
        let mut audio_index = 0u32;
        let mut audio_t = 0u64;
        for f in 0..self.frames {
            let t = f as u64 * self.frame_ticks;
            let dts = ts_add(self.start, t as i64);
            let key = f % gop == 0;
            if key {
                cc.section(&mut out, PID_PAT, &pat);
                cc.section(&mut out, self.pmt_pid, &pmt);
            }
            if let Some(apid) = self.audio_pid {
                while audio_t + self.audio_late <= t {
                    let apts = ts_add(self.start, audio_t as i64);
                    let data = frame(0, self.tag, 1, true, audio_index, self.audio_bytes);
                    let pes = pes_bytes(0xc0, apts, None, &data, true);
                    pes_packets(&mut out, &mut cc, apid, &pes, 0, None);
                    audio_index += 1;
                    audio_t += self.audio_ticks.max(1);
                }
            }
            let pcr = (ts_add(dts, -(self.pcr_delay as i64)) * 300) % packet::PCR_MOD;
            if let Some(pp) = self.pcr_pid {
                out.extend_from_slice(&ts_packet(
                    pp,
                    false,
                    cc.0.get(&pp).copied().unwrap_or(0),
                    0,
                    Some(pcr),
                    &[],
                ));
            }
            let size = if key {
                self.frame_bytes * 3
            } else {
                self.frame_bytes + (f * 37) % 200
            };
            let data = frame(self.video_type, self.tag, 0, key, f as u32, size);
            let (pts, d) = if self.dts {
                (ts_add(dts, self.frame_ticks as i64), Some(dts))
            } else {
                (dts, None)
            };
            let pes = pes_bytes(0xe0, pts, d, &data, false);
            let flags = if key && self.rai { 0x40 } else { 0 };
            let pcr_here = self.pcr_pid.is_none().then_some(pcr);
            pes_packets(&mut out, &mut cc, self.video_pid, &pes, flags, pcr_here);
        }
        // The audio still due at the end, as a muxer flushes it.
        if let Some(apid) = self.audio_pid {
            while audio_t < self.frames as u64 * self.frame_ticks {
                let apts = ts_add(self.start, audio_t as i64);
                let data = frame(0, self.tag, 1, true, audio_index, self.audio_bytes);
                let pes = pes_bytes(0xc0, apts, None, &data, true);
                pes_packets(&mut out, &mut cc, apid, &pes, 0, None);
                audio_index += 1;
                audio_t += self.audio_ticks.max(1);
            }
        }
        out
    }
}

/// What [`check`] requires beyond the always-checked structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// Every PES arrives whole (its marker's length matches).
    pub whole_pes: bool,
    /// DTS/PTS rise strictly per PID and the PCR rises strictly.
    pub monotonic: bool,
    /// Every PES must carry a synthetic marker.
    pub markers: bool,
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            whole_pes: true,
            monotonic: true,
            markers: true,
        }
    }
}

/// One PES as the checker saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenPes {
    /// Output PID.
    pub pid: u16,
    /// Marker fields (0 when there is no marker).
    pub tag: u8,
    /// 0 video, 1 audio.
    pub kind: u8,
    /// A keyframe.
    pub key: bool,
    /// Frame index within its source.
    pub index: u32,
    /// PTS.
    pub pts: Option<u64>,
    /// DTS (or PTS).
    pub decode: Option<u64>,
    /// Index of its first packet in the stream.
    pub at_packet: usize,
}

/// What [`check`] found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Packets read.
    pub packets: usize,
    /// Null packets among them.
    pub nulls: usize,
    /// Every PES, in order of completion.
    pub pes: Vec<SeenPes>,
    /// PCRs on the PCR PID, in order.
    pub pcrs: Vec<u64>,
    /// The PMT PID.
    pub pmt_pid: Option<u16>,
    /// Distinct PMT versions in order of appearance.
    pub pmt_versions: Vec<u8>,
    /// The last PMT.
    pub pmt: Option<Pmt>,
    /// PIDs on which a discontinuity_indicator was seen, with the packet index.
    pub discontinuities: Vec<(u16, usize)>,
    /// Packets on PAT and PMT PIDs.
    pub psi_packets: usize,
}

/// Reads a stream and checks it; the first violation is the error.
pub fn check(ts: &[u8], expect: Expect) -> Result<Report, String> {
    if !ts.len().is_multiple_of(PACKET) {
        return Err(format!(
            "{} bytes is not a whole number of packets",
            ts.len()
        ));
    }
    let mut r = Report::default();
    let mut cc: HashMap<u16, u8> = HashMap::new();
    let mut pat_sections = Sections::new();
    let mut pmt_sections = Sections::new();
    let mut pmt_bytes: HashMap<u8, Vec<u8>> = HashMap::new();
    let mut open: HashMap<u16, (usize, Vec<u8>)> = HashMap::new();
    let mut last_decode: HashMap<u16, u64> = HashMap::new();
    let mut last_pts: HashMap<u16, u64> = HashMap::new();
    let mut last_tag: HashMap<u16, u8> = HashMap::new();
    let mut err = None;
    for (i, p) in ts.chunks(PACKET).enumerate() {
        r.packets += 1;
        let h = Header::parse(p).map_err(|e| format!("packet {i}: {e}"))?;
        if h.pid == PID_NULL {
            r.nulls += 1;
            continue;
        }
        if h.discontinuity {
            r.discontinuities.push((h.pid, i));
        }
        if let Some(&prev) = cc.get(&h.pid) {
            let want = if h.has_payload {
                (prev + 1) & 0x0f
            } else {
                prev
            };
            if h.cc != want {
                return Err(format!(
                    "packet {i}: PID {:#x} continuity counter {} after {prev}",
                    h.pid, h.cc
                ));
            }
        }
        cc.insert(h.pid, h.cc);
        let payload = h.payload(p);
        if h.pid == PID_PAT {
            r.psi_packets += 1;
            let mut found = Vec::new();
            pat_sections.push(h.pusi, h.cc, payload, |s| found.push(s.to_vec()));
            for s in found {
                let pat = Pat::parse(&s).map_err(|e| format!("packet {i}: PAT: {e}"))?;
                let pid = pat
                    .program(None)
                    .ok_or(format!("packet {i}: PAT without program"))?
                    .pid;
                if r.pmt_pid.is_some_and(|q| q != pid) {
                    return Err(format!("packet {i}: PMT PID changed"));
                }
                r.pmt_pid = Some(pid);
            }
            continue;
        }
        if Some(h.pid) == r.pmt_pid {
            r.psi_packets += 1;
            let mut found = Vec::new();
            pmt_sections.push(h.pusi, h.cc, payload, |s| found.push(s.to_vec()));
            for s in found {
                let pmt = Pmt::parse(&s).map_err(|e| format!("packet {i}: PMT: {e}"))?;
                if let Some(b) = pmt_bytes.get(&pmt.version)
                    && *b != s
                    && r.pmt_versions.last() == Some(&pmt.version)
                {
                    return Err(format!("packet {i}: PMT changed without a new version"));
                }
                if r.pmt_versions.last() != Some(&pmt.version) {
                    r.pmt_versions.push(pmt.version);
                }
                pmt_bytes.insert(pmt.version, s.clone());
                r.pmt = Some(pmt);
            }
            continue;
        }
        let Some(pmt) = &r.pmt else {
            return Err(format!("packet {i}: PID {:#x} before any PMT", h.pid));
        };
        let listed = pmt.streams.iter().find(|s| s.pid == h.pid);
        if listed.is_none() && h.pid != pmt.pcr_pid {
            return Err(format!("packet {i}: PID {:#x} is not in the PMT", h.pid));
        }
        if h.pid == pmt.pcr_pid
            && let Some(pcr) = h.pcr
        {
            if expect.monotonic
                && let Some(&last) = r.pcrs.last()
                && pcr_diff(pcr, last) <= 0
            {
                return Err(format!("packet {i}: PCR {pcr} after {last}"));
            }
            r.pcrs.push(pcr);
        }
        let Some(stream) = listed else { continue };
        let video = matches!(stream.kind(), StreamKind::Video(_));
        if h.pusi && h.has_payload {
            if let Some((at, data)) = open.remove(&h.pid) {
                let seen = finish(h.pid, at, &data, expect)?;
                if err.is_none() {
                    err = order(
                        &seen,
                        video,
                        expect,
                        &mut last_decode,
                        &mut last_pts,
                        &mut last_tag,
                    )
                    .err();
                }
                r.pes.push(seen);
            }
            open.insert(h.pid, (i, payload.to_vec()));
        } else if h.has_payload {
            match open.get_mut(&h.pid) {
                Some((_, data)) => data.extend_from_slice(payload),
                None => {
                    return Err(format!(
                        "packet {i}: PID {:#x} payload before any PES start",
                        h.pid
                    ));
                }
            }
        }
        if let Some(e) = err.take() {
            return Err(e);
        }
    }
    let mut rest: Vec<_> = open.into_iter().collect();
    rest.sort_by_key(|(_, (at, _))| *at);
    for (pid, (at, data)) in rest {
        let video = r
            .pmt
            .as_ref()
            .and_then(|m| m.streams.iter().find(|s| s.pid == pid))
            .is_some_and(|s| matches!(s.kind(), StreamKind::Video(_)));
        let seen = finish(pid, at, &data, expect)?;
        order(
            &seen,
            video,
            expect,
            &mut last_decode,
            &mut last_pts,
            &mut last_tag,
        )?;
        r.pes.push(seen);
    }
    Ok(r)
}

/// Structure only, for output made from arbitrary input: whole packets with sync, readable
/// headers, continuity counters continuing on every PID, every PAT and PMT section on the PIDs
/// the PAT names valid (CRC included).
pub fn check_structure(ts: &[u8]) -> Result<(), String> {
    if !ts.len().is_multiple_of(PACKET) {
        return Err(format!(
            "{} bytes is not a whole number of packets",
            ts.len()
        ));
    }
    let mut cc: HashMap<u16, u8> = HashMap::new();
    let mut pat = Sections::new();
    let mut pmt = Sections::new();
    let mut pmt_pid = None;
    for (i, p) in ts.chunks(PACKET).enumerate() {
        let h = Header::parse(p).map_err(|e| format!("packet {i}: {e}"))?;
        if h.pid == PID_NULL {
            continue;
        }
        if let Some(&prev) = cc.get(&h.pid) {
            let want = if h.has_payload {
                (prev + 1) & 0x0f
            } else {
                prev
            };
            if h.cc != want {
                return Err(format!(
                    "packet {i}: PID {:#x} counter {} after {prev}",
                    h.pid, h.cc
                ));
            }
        }
        cc.insert(h.pid, h.cc);
        let mut found = Vec::new();
        if h.pid == PID_PAT {
            pat.push(h.pusi, h.cc, h.payload(p), |s| found.push(s.to_vec()));
            for s in &found {
                let t = Pat::parse(s).map_err(|e| format!("packet {i}: PAT: {e}"))?;
                pmt_pid = t.program(None).map(|p| p.pid);
            }
        } else if Some(h.pid) == pmt_pid {
            pmt.push(h.pusi, h.cc, h.payload(p), |s| found.push(s.to_vec()));
            for s in &found {
                Pmt::parse(s).map_err(|e| format!("packet {i}: PMT: {e}"))?;
            }
        }
    }
    Ok(())
}

/// Reads one reassembled PES.
fn finish(pid: u16, at: usize, data: &[u8], expect: Expect) -> Result<SeenPes, String> {
    let h = pes::parse(data).map_err(|e| format!("PES on {pid:#x} at packet {at}: {e}"))?;
    let es = data.get(h.data_at..).unwrap_or(&[]);
    let mut seen = SeenPes {
        pid,
        tag: 0,
        kind: 0,
        key: false,
        index: 0,
        pts: h.pts,
        decode: h.decode_time(),
        at_packet: at,
    };
    if h.length != 0 && data.len() != 6 + usize::from(h.length) && expect.whole_pes {
        return Err(format!(
            "PES on {pid:#x} at packet {at}: {} bytes, PES_packet_length says {}",
            data.len(),
            6 + usize::from(h.length)
        ));
    }
    match memchr::memmem::find(es, MARKER) {
        Some(m) if es.len() >= m + MARKER_LEN => {
            let mk = &es[m..m + MARKER_LEN];
            seen.tag = mk[3];
            seen.kind = mk[4];
            seen.key = mk[5] != 0;
            seen.index = u32::from_be_bytes([mk[6], mk[7], mk[8], mk[9]]);
            let len = u32::from_be_bytes([mk[10], mk[11], mk[12], mk[13]]) as usize;
            if expect.whole_pes && es.len() != len {
                return Err(format!(
                    "PES on {pid:#x} at packet {at} (tag {} frame {}): {} bytes of {len}",
                    seen.tag,
                    seen.index,
                    es.len()
                ));
            }
        }
        _ if expect.markers => return Err(format!("PES on {pid:#x} at packet {at}: no marker")),
        _ => {}
    }
    Ok(seen)
}

/// Checks one PES against the ones before it on its PID.
fn order(
    seen: &SeenPes,
    video: bool,
    expect: Expect,
    last_decode: &mut HashMap<u16, u64>,
    last_pts: &mut HashMap<u16, u64>,
    last_tag: &mut HashMap<u16, u8>,
) -> Result<(), String> {
    let pid = seen.pid;
    if video && expect.markers && last_tag.get(&pid) != Some(&seen.tag) && !seen.key {
        return Err(format!(
            "video on {pid:#x} at packet {} starts (tag {}) with a non-keyframe",
            seen.at_packet, seen.tag
        ));
    }
    last_tag.insert(pid, seen.tag);
    if expect.monotonic {
        if let (Some(d), Some(&l)) = (seen.decode, last_decode.get(&pid))
            && ts_diff(d, l) <= 0
        {
            return Err(format!(
                "PID {pid:#x} at packet {}: decode time {d} after {l}",
                seen.at_packet
            ));
        }
        if let (Some(p), Some(&l)) = (seen.pts, last_pts.get(&pid))
            && ts_diff(p, l) <= 0
        {
            return Err(format!(
                "PID {pid:#x} at packet {}: PTS {p} after {l}",
                seen.at_packet
            ));
        }
    }
    if let Some(d) = seen.decode {
        last_decode.insert(pid, d);
    }
    if let Some(p) = seen.pts {
        last_pts.insert(pid, p);
    }
    Ok(())
}

/// The largest synthetic PTS value used by tests near the wrap.
pub const NEAR_WRAP: u64 = TS_MOD - 90_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synthetic_source_passes_its_own_check() {
        for s in [
            SynthSource::default(),
            SynthSource {
                video_type: 0x24,
                pcr_pid: Some(0x1ff),
                dts: true,
                start: NEAR_WRAP,
                ..SynthSource::default()
            },
            SynthSource {
                audio_pid: None,
                frame_bytes: 100,
                rai: false,
                ..SynthSource::default()
            },
        ] {
            let ts = s.generate();
            let r = check(&ts, Expect::default()).unwrap();
            let video: Vec<_> = r.pes.iter().filter(|p| p.kind == 0).collect();
            assert_eq!(video.len(), s.frames);
            assert_eq!(
                video.iter().filter(|p| p.key).count(),
                s.frames.div_ceil(s.gop)
            );
            assert_eq!(r.pcrs.len(), s.frames);
            if s.audio_pid.is_some() {
                assert!(r.pes.iter().any(|p| p.kind == 1));
            }
        }
    }

    #[test]
    fn the_checker_catches_faults() {
        let ts = SynthSource::default().generate();
        // A lost packet: continuity.
        let mut lost = ts.clone();
        lost.drain(40 * PACKET..41 * PACKET);
        assert!(
            check(&lost, Expect::default())
                .unwrap_err()
                .contains("continuity")
        );
        // Truncated frame: the checker sees a short PES.
        let mut short = ts.clone();
        let video: Vec<(usize, bool)> = (0..short.len() / PACKET)
            .filter_map(|i| {
                let h = Header::parse(&short[i * PACKET..(i + 1) * PACKET]).unwrap();
                (h.pid == 0x100).then_some((i, h.pusi))
            })
            .collect();
        let second = video.iter().skip(1).position(|v| v.1).unwrap() + 1;
        // Drop the last packet of the first frame and renumber the counters after it.
        let last_of_first = video[second - 1].0;
        short.drain(last_of_first * PACKET..(last_of_first + 1) * PACKET);
        let mut fixed = Vec::new();
        let mut c: HashMap<u16, u8> = HashMap::new();
        for p in short.chunks(PACKET) {
            let mut q = p.to_vec();
            let h = Header::parse(p).unwrap();
            let n = c.entry(h.pid).or_insert(15);
            if h.has_payload {
                *n = (*n + 1) & 15;
            }
            packet::set_cc(&mut q, *n);
            fixed.extend_from_slice(&q);
        }
        let e = check(&fixed, Expect::default()).unwrap_err();
        assert!(e.contains("bytes of"), "{e}");
    }
}
