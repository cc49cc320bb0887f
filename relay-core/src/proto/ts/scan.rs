//! MPEG-TS framing for fan-out, sans-IO: [`Aligner`] cuts arbitrary byte pieces into runs of
//! whole 188-byte packets (resynchronising on the `0x47` sync byte), and [`Scanner`] reads just
//! enough of each packet (PAT, PMT, adaptation field, the start of video PES payloads) to say
//! where a viewer may start watching: a PAT, then a PMT, then a keyframe.
//!
//! Nothing here panics on any input: every read is bounds-checked.

use bytes::{Bytes, BytesMut};

/// Size of one transport stream packet.
pub const PACKET: usize = 188;
/// The sync byte every packet starts with.
pub const SYNC: u8 = 0x47;
/// The PID of the program association table.
const PID_PAT: u16 = 0;
/// Most PMT PIDs remembered from one PAT (a multi-program transport stream).
pub const MAX_PROGRAMS: usize = 16;
/// Most elementary streams remembered per transport stream.
pub const MAX_STREAMS: usize = 32;

/// Cuts a byte stream into runs of whole packets. A piece that starts aligned is passed on
/// without a copy (`Bytes::slice`); only a packet straddling two pieces is copied (at most 187
/// bytes of carry).
#[derive(Debug, Default)]
pub struct Aligner {
    carry: BytesMut,
    /// Bytes discarded while resynchronising.
    dropped: u64,
}

impl Aligner {
    pub fn new() -> Aligner {
        Aligner::default()
    }

    /// Bytes discarded so far while looking for sync.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets a partial packet (an upstream switch: the next piece starts a new stream).
    pub fn reset(&mut self) {
        self.carry.clear();
    }

    /// Feeds one piece; appends runs of whole, sync-checked packets to `out`.
    pub fn push(&mut self, mut data: Bytes, out: &mut Vec<Bytes>) {
        if !self.carry.is_empty() {
            let need = PACKET - self.carry.len();
            let take = need.min(data.len());
            self.carry.extend_from_slice(&data[..take]);
            let _ = data.split_to(take);
            if self.carry.len() < PACKET {
                return;
            }
            let packet = std::mem::take(&mut self.carry).freeze();
            if data.first().is_none_or(|&b| b == SYNC) {
                out.push(packet);
            } else {
                // The packet after this one is not where it should be: the carry was not a
                // packet either. Drop it and hunt for sync in what follows.
                self.dropped += PACKET as u64;
            }
        }
        loop {
            // Find sync: a 0x47 whose successor packet (if present) also starts with 0x47.
            let mut start = 0;
            while start < data.len() {
                if data[start] == SYNC && data.get(start + PACKET).is_none_or(|&b| b == SYNC) {
                    break;
                }
                start += 1;
            }
            if start > 0 {
                self.dropped += start as u64;
                let _ = data.split_to(start);
            }
            if data.is_empty() {
                return;
            }
            // Whole packets while each next one keeps sync.
            let mut n = PACKET;
            while n + PACKET <= data.len() && data[n] == SYNC {
                n += PACKET;
            }
            if n <= data.len() && (n == data.len() || data[n] == SYNC) {
                out.push(data.split_to(n));
                if data.is_empty() {
                    return;
                }
                if data.len() < PACKET {
                    if data[0] == SYNC {
                        self.carry.extend_from_slice(&data);
                    } else {
                        self.dropped += data.len() as u64;
                    }
                    return;
                }
                continue;
            }
            // Fewer than a packet left (n - PACKET whole packets before it).
            let whole = n - PACKET;
            if whole > 0 {
                out.push(data.split_to(whole));
            }
            if data.len() < PACKET {
                self.carry.extend_from_slice(&data);
                return;
            }
            // Sync lost inside the piece: skip one byte and hunt again.
            self.dropped += 1;
            let _ = data.split_to(1);
        }
    }
}

/// Whether a body's first bytes are MPEG-TS: two sync bytes a packet apart within the first
/// packet (or one sync byte first when less arrived).
pub fn looks_like_ts(first: &[u8]) -> bool {
    if first.len() <= PACKET {
        return first.first() == Some(&SYNC);
    }
    (0..PACKET).any(|i| first[i] == SYNC && first.get(i + PACKET).is_none_or(|&b| b == SYNC))
}

/// What one packet means for joining.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketInfo {
    /// The packet starts a PAT section: a candidate start for a joining viewer.
    pub pat: bool,
    /// The packet starts a keyframe, and a PAT and a PMT came since the previous PAT: the
    /// stream can be decoded from that PAT on.
    pub random_access: bool,
}

/// Follows PAT → PMT → elementary stream types and spots keyframes.
#[derive(Debug, Default)]
pub struct Scanner {
    pmt_pids: Vec<u16>,
    /// (pid, stream_type) of the elementary streams in the PMTs.
    streams: Vec<(u16, u8)>,
    pat_seen: bool,
    pmt_since_pat: bool,
}

/// Stream types that carry video (ISO 13818-1 table 2-34 and common registrations).
fn video_codec(stream_type: u8) -> Option<Codec> {
    match stream_type {
        0x1b | 0x20 => Some(Codec::H264),
        0x24 | 0x25 => Some(Codec::Hevc),
        0x01 | 0x02 | 0x10 | 0x42 | 0xd1 | 0x33 | 0xea => Some(Codec::Other),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    H264,
    Hevc,
    Other,
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner::default()
    }

    /// Reads one packet (must be [`PACKET`] bytes starting with [`SYNC`]; anything else is
    /// ignored).
    pub fn packet(&mut self, p: &[u8]) -> PacketInfo {
        let mut info = PacketInfo::default();
        if p.len() != PACKET || p[0] != SYNC {
            return info;
        }
        let pusi = p[1] & 0x40 != 0;
        let pid = (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
        let afc = (p[3] >> 4) & 0x3;
        let (rai, payload) = match afc {
            0b01 => (false, &p[4..]),
            0b10 => (rai_flag(p), &p[PACKET..]),
            0b11 => {
                let len = usize::from(p[4]);
                let start = 5 + len;
                (rai_flag(p), p.get(start..).unwrap_or(&[]))
            }
            _ => return info,
        };
        if pid == PID_PAT {
            if pusi {
                if let Some(section) = section(payload) {
                    self.read_pat(section);
                }
                info.pat = true;
                self.pat_seen = true;
                self.pmt_since_pat = false;
            }
            return info;
        }
        if self.pmt_pids.contains(&pid) {
            if pusi {
                if let Some(section) = section(payload) {
                    self.read_pmt(section);
                }
                if self.pat_seen {
                    self.pmt_since_pat = true;
                }
            }
            return info;
        }
        if !pusi || !self.pat_seen || !self.pmt_since_pat {
            return info;
        }
        let codec = self
            .streams
            .iter()
            .find(|(s, _)| *s == pid)
            .map(|&(_, t)| t);
        let Some(stream_type) = codec else {
            return info;
        };
        let has_video = self.streams.iter().any(|&(_, t)| video_codec(t).is_some());
        let key = match video_codec(stream_type) {
            Some(codec) => rai || pes_starts_keyframe(payload, codec),
            // An audio-only program: every PES start is a place to begin.
            None => !has_video,
        };
        if key {
            info.random_access = true;
            // One join point per PAT: the next keyframe needs a fresh PAT and PMT.
            self.pat_seen = false;
            self.pmt_since_pat = false;
        }
        info
    }

    fn read_pat(&mut self, s: &[u8]) {
        // table_id 0; entries start after the 8-byte section header, CRC excluded.
        if s.first() != Some(&0x00) {
            return;
        }
        let Some(entries) = section_body(s, 8) else {
            return;
        };
        self.pmt_pids.clear();
        for e in entries.chunks_exact(4) {
            let program = u16::from_be_bytes([e[0], e[1]]);
            let pid = (u16::from(e[2] & 0x1f) << 8) | u16::from(e[3]);
            if program != 0 && self.pmt_pids.len() < MAX_PROGRAMS && !self.pmt_pids.contains(&pid) {
                self.pmt_pids.push(pid);
            }
        }
    }

    fn read_pmt(&mut self, s: &[u8]) {
        if s.first() != Some(&0x02) {
            return;
        }
        let Some(body) = section_body(s, 8) else {
            return;
        };
        // PCR PID (2), program_info_length (2), descriptors, then the streams.
        let Some(&[_, _, hi, lo]) = body.get(..4) else {
            return;
        };
        let info_len = (usize::from(hi & 0x0f) << 8) | usize::from(lo);
        let mut rest = body.get(4 + info_len..).unwrap_or(&[]);
        while let Some(&[stream_type, p1, p2, l1, l2]) = rest.get(..5) {
            let pid = (u16::from(p1 & 0x1f) << 8) | u16::from(p2);
            if !self.streams.iter().any(|(s, _)| *s == pid) {
                if self.streams.len() >= MAX_STREAMS {
                    self.streams.remove(0);
                }
                self.streams.push((pid, stream_type));
            } else if let Some(e) = self.streams.iter_mut().find(|(s, _)| *s == pid) {
                e.1 = stream_type;
            }
            let es_len = (usize::from(l1 & 0x0f) << 8) | usize::from(l2);
            rest = rest.get(5 + es_len..).unwrap_or(&[]);
        }
    }
}

fn rai_flag(p: &[u8]) -> bool {
    // adaptation_field_length > 0 and the random_access_indicator bit of its flags byte.
    p[4] > 0 && p[5] & 0x40 != 0
}

/// The section that starts in this payload (after the pointer field), as far as it is present.
fn section(payload: &[u8]) -> Option<&[u8]> {
    let pointer = usize::from(*payload.first()?);
    payload.get(1 + pointer..)
}

/// The bytes of a section after its `header` bytes, up to its CRC; `None` if not all present.
fn section_body(s: &[u8], header: usize) -> Option<&[u8]> {
    let &[_, l1, l2] = s.get(..3)? else {
        return None;
    };
    let len = (usize::from(l1 & 0x0f) << 8) | usize::from(l2);
    let end = (3 + len).checked_sub(4)?;
    s.get(header..end)
}

/// Whether a PES payload that starts in this packet begins a keyframe: an H.264 IDR or SPS, an
/// HEVC IRAP picture or parameter set, seen in this packet's part of the payload.
fn pes_starts_keyframe(payload: &[u8], codec: Codec) -> bool {
    // PES header: 00 00 01, stream id, length (2), flags (2), header data length, header data.
    let Some(&[0, 0, 1, _, _, _, _, _, hlen]) = payload.get(..9) else {
        return false;
    };
    let es = payload.get(9 + usize::from(hlen)..).unwrap_or(&[]);
    let mut i = 0;
    while let Some(pos) = memchr::memmem::find(&es[i..], &[0, 0, 1]) {
        let at = i + pos + 3;
        let Some(&nal) = es.get(at) else {
            return false;
        };
        match codec {
            Codec::H264 => {
                if matches!(nal & 0x1f, 5 | 7) {
                    return true;
                }
            }
            Codec::Hevc => {
                if matches!((nal >> 1) & 0x3f, 16..=21 | 32..=34) {
                    return true;
                }
            }
            Codec::Other => return false,
        }
        i = at;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A tiny program: PAT (PMT on 0x1000), PMT (H.264 on 0x100, audio on 0x101), then per
    /// GOP a keyframe packet with RAI and `gop - 1` plain video packets, and one audio packet.
    fn stream(gops: usize, gop: usize) -> (Vec<u8>, Vec<usize>) {
        let mut out = Vec::new();
        let mut ra = Vec::new();
        for g in 0..gops {
            ra.push(out.len());
            out.extend(pat());
            out.extend(pmt());
            out.extend(video(true, g as u8));
            for i in 1..gop {
                out.extend(video(false, i as u8));
            }
            out.extend(audio());
        }
        (out, ra)
    }

    fn psi(pid: u16, section: &[u8]) -> Vec<u8> {
        let mut p = vec![SYNC, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0x00];
        p.extend_from_slice(section);
        p.resize(PACKET, 0xff);
        p
    }

    fn pat() -> Vec<u8> {
        // table 0, length 13: tsid(2) ver(1) sec(1) last(1) program 1 -> PMT 0x1000, CRC(4).
        psi(
            0,
            &[
                0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0x00, 0, 0, 0, 0,
            ],
        )
    }

    fn pmt() -> Vec<u8> {
        // table 2, program 1, PCR 0x100, no program info, H.264 0x100, AAC 0x101, CRC.
        psi(
            0x1000,
            &[
                0x02, 0xb0, 23, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0,
                0x00, 0x0f, 0xe1, 0x01, 0xf0, 0x00, 0, 0, 0, 0,
            ],
        )
    }

    fn video(key: bool, n: u8) -> Vec<u8> {
        if key {
            let mut p = vec![SYNC, 0x41, 0x00, 0x30, 1, 0x40];
            p.extend_from_slice(&[0, 0, 1, 0xe0, 0, 0, 0x80, 0, 0, 0, 0, 0, 1, 0x09]);
            p.resize(PACKET, n);
            p
        } else {
            let mut p = vec![SYNC, 0x01, 0x00, 0x10];
            p.resize(PACKET, n);
            p
        }
    }

    fn audio() -> Vec<u8> {
        let mut p = vec![SYNC, 0x41, 0x01, 0x30, 1, 0x40];
        p.extend_from_slice(&[0, 0, 1, 0xc0, 0, 0, 0x80, 0, 0]);
        p.resize(PACKET, 0xaa);
        p
    }

    fn join_points(data: &[u8]) -> Vec<usize> {
        let mut s = Scanner::new();
        let mut pat_at = None;
        let mut out = Vec::new();
        for (i, p) in data.chunks(PACKET).enumerate() {
            let info = s.packet(p);
            if info.pat {
                pat_at = Some(i * PACKET);
            }
            if info.random_access {
                out.extend(pat_at.take());
            }
        }
        out
    }

    #[test]
    fn finds_pat_pmt_keyframe() {
        let (data, ra) = stream(4, 5);
        assert_eq!(join_points(&data), ra);
    }

    #[test]
    fn idr_without_rai_counts_and_plain_pes_does_not() {
        let mut data = pat();
        data.extend(pmt());
        let mut idr = vec![SYNC, 0x41, 0x00, 0x10];
        idr.extend_from_slice(&[0, 0, 1, 0xe0, 0, 0, 0x80, 0, 0, 0, 0, 0, 1, 0x65]);
        idr.resize(PACKET, 0);
        let mut p_frame = idr.clone();
        p_frame[17] = 0x41;
        data.extend(p_frame);
        assert!(join_points(&data).is_empty());
        data.extend(idr);
        assert_eq!(join_points(&data), [0]);
    }

    #[test]
    fn aligner_passes_aligned_pieces_whole() {
        let (data, _) = stream(2, 3);
        let mut a = Aligner::new();
        let mut out = Vec::new();
        a.push(Bytes::from(data.clone()), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0], data);
    }

    #[test]
    fn aligner_resyncs_after_garbage() {
        let (data, _) = stream(3, 3);
        let mut input = b"HTTP junk".to_vec();
        input.extend_from_slice(&data[..500]);
        input.extend_from_slice(&[0x47, 1, 2]);
        input.extend_from_slice(&data[(500 / PACKET + 1) * PACKET..]);
        let mut a = Aligner::new();
        let mut out = Vec::new();
        a.push(Bytes::from(input), &mut out);
        let got: Vec<u8> = out.concat();
        assert_eq!(got.len() % PACKET, 0);
        for p in got.chunks(PACKET) {
            assert_eq!(p[0], SYNC);
            assert!(data.chunks(PACKET).any(|q| q == p));
        }
        assert!(a.dropped() > 0);
    }

    proptest! {
        #[test]
        fn aligner_is_transparent_for_any_split(cuts in proptest::collection::vec(0usize..3000, 0..20)) {
            let (data, _) = stream(5, 4);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % data.len()).collect();
            cuts.sort_unstable();
            let mut a = Aligner::new();
            let mut out = Vec::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain([data.len()]) {
                a.push(Bytes::copy_from_slice(&data[prev..c.max(prev)]), &mut out);
                prev = c.max(prev);
            }
            for run in &out {
                prop_assert_eq!(run.len() % PACKET, 0);
            }
            prop_assert_eq!(out.concat(), data);
            prop_assert_eq!(a.dropped(), 0);
        }

        #[test]
        fn aligner_and_scanner_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2000), bias in any::<bool>()) {
            let mut input = input;
            if bias {
                for i in (0..input.len()).step_by(PACKET) {
                    input[i] = SYNC;
                }
            }
            let mut a = Aligner::new();
            let mut out = Vec::new();
            a.push(Bytes::from(input), &mut out);
            let mut s = Scanner::new();
            for run in out {
                prop_assert_eq!(run.len() % PACKET, 0);
                for p in run.chunks(PACKET) {
                    s.packet(p);
                }
            }
        }
    }
}
