//! Program-specific information: the PAT and PMT sections (ISO/IEC 13818-1 §2.4.4), read and
//! written, sans-IO.
//!
//! - [`Sections`] reassembles the sections carried on one PID from packet payloads: the
//!   pointer_field, sections spanning several packets, several sections in one packet, stuffing,
//!   a continuity gap that spoils a half-read section.
//! - [`Pat`] and [`Pmt`] parse a whole section (table id, syntax bit, lengths, CRC32/MPEG-2) and
//!   write one back with a fresh CRC; [`packetize`] cuts a section into packets.
//! - [`StreamKind`] and [`CodecKey`] classify a PMT entry by stream type and, where the type alone
//!   does not say (`0x06` PES private data), by its ES info descriptors, which are otherwise kept
//!   as bytes.

use super::scan::{PACKET, SYNC};
use bytes::BufMut;
use std::fmt;

/// Largest PAT or PMT section in bytes, header and CRC included (section_length ≤ 1021).
pub const MAX_SECTION: usize = 1024;
/// Most programs read from one PAT section (a section of [`MAX_SECTION`] holds at most 253).
pub const MAX_PROGRAMS: usize = 253;
/// Most elementary streams read from one PMT section.
pub const MAX_PMT_STREAMS: usize = 64;
/// table_id of a PAT section.
pub const TABLE_PAT: u8 = 0x00;
/// table_id of a PMT section.
pub const TABLE_PMT: u8 = 0x02;

/// Why a section was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsiError {
    /// Fewer bytes than the section header and CRC, or than section_length says.
    Short,
    /// Not the table this parser reads.
    Table,
    /// section_syntax_indicator is 0 (PAT and PMT always use the long form).
    Syntax,
    /// section_length larger than [`MAX_SECTION`] allows, or inner lengths overrun it.
    Length,
    /// The CRC32 does not match.
    Crc,
    /// More entries than [`MAX_PROGRAMS`] / [`MAX_PMT_STREAMS`].
    TooMany,
    /// Written output would exceed [`MAX_SECTION`].
    TooLarge,
}

impl fmt::Display for PsiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PsiError::Short => "PSI section truncated",
            PsiError::Table => "PSI section has an unexpected table_id",
            PsiError::Syntax => "PSI section lacks the section syntax indicator",
            PsiError::Length => "PSI section length is out of range",
            PsiError::Crc => "PSI section CRC32 mismatch",
            PsiError::TooMany => "PSI section lists too many entries",
            PsiError::TooLarge => "PSI section would exceed 1024 bytes",
        })
    }
}

impl std::error::Error for PsiError {}

/// CRC-32/MPEG-2 (polynomial 0x04C11DB7, initial value all ones, no reflection, no final xor)
/// as a 256-entry table built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 24;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04c1_1db7
            } else {
                c << 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// The CRC-32/MPEG-2 of `data`. A whole section (CRC included) gives 0.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c = (c << 8) ^ CRC_TABLE[usize::from((c >> 24) as u8 ^ b)];
    }
    c
}

/// A checked long-form section: its fixed header fields and the body up to the CRC.
struct LongSection<'a> {
    /// table_id_extension (transport_stream_id for a PAT, program_number for a PMT).
    ext: u16,
    version: u8,
    current: bool,
    body: &'a [u8],
}

/// Reads the fixed 8-byte header of a long-form section and checks its length and CRC.
fn long_section(s: &[u8], table: u8) -> Result<LongSection<'_>, PsiError> {
    let &[table_id, l1, l2, e1, e2, v, _, _] = s.get(..8).ok_or(PsiError::Short)? else {
        return Err(PsiError::Short);
    };
    if table_id != table {
        return Err(PsiError::Table);
    }
    if l1 & 0x80 == 0 {
        return Err(PsiError::Syntax);
    }
    let len = (usize::from(l1 & 0x0f) << 8) | usize::from(l2);
    if len + 3 > MAX_SECTION || len < 9 {
        return Err(PsiError::Length);
    }
    let whole = s.get(..3 + len).ok_or(PsiError::Short)?;
    if crc32(whole) != 0 {
        return Err(PsiError::Crc);
    }
    Ok(LongSection {
        ext: u16::from_be_bytes([e1, e2]),
        version: (v >> 1) & 0x1f,
        current: v & 1 != 0,
        body: &whole[8..whole.len() - 4],
    })
}

/// Starts a long-form section: header with a placeholder length, to be closed by [`close`].
fn open(out: &mut Vec<u8>, table: u8, ext: u16, version: u8, current: bool) {
    out.extend_from_slice(&[table, 0xb0, 0x00]);
    out.extend_from_slice(&ext.to_be_bytes());
    out.push(0xc0 | ((version & 0x1f) << 1) | u8::from(current));
    out.extend_from_slice(&[0, 0]);
}

/// Fills in section_length and appends the CRC of the section that starts at `start`.
fn close(out: &mut Vec<u8>, start: usize) -> Result<(), PsiError> {
    let len = out.len() - start + 4 - 3;
    if len + 3 > MAX_SECTION {
        out.truncate(start);
        return Err(PsiError::TooLarge);
    }
    out[start + 1] = 0xb0 | (len >> 8) as u8;
    out[start + 2] = len as u8;
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// One PAT entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program {
    /// program_number (0 names the network PID, not a program).
    pub number: u16,
    /// The PID of the program's PMT (or of the NIT for number 0).
    pub pid: u16,
}

/// A program association table section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pat {
    /// transport_stream_id.
    pub transport_stream_id: u16,
    /// version_number (5 bits).
    pub version: u8,
    /// current_next_indicator: the table applies now (not the next one announced).
    pub current: bool,
    /// The entries, in section order.
    pub programs: Vec<Program>,
}

impl Pat {
    /// Parses a whole PAT section (from table_id to CRC; trailing bytes are ignored).
    pub fn parse(s: &[u8]) -> Result<Pat, PsiError> {
        let LongSection {
            ext: tsid,
            version,
            current,
            body,
        } = long_section(s, TABLE_PAT)?;
        if body.len() % 4 != 0 {
            return Err(PsiError::Length);
        }
        if body.len() / 4 > MAX_PROGRAMS {
            return Err(PsiError::TooMany);
        }
        let programs = body
            .chunks_exact(4)
            .map(|e| Program {
                number: u16::from_be_bytes([e[0], e[1]]),
                pid: (u16::from(e[2] & 0x1f) << 8) | u16::from(e[3]),
            })
            .collect();
        Ok(Pat {
            transport_stream_id: tsid,
            version,
            current,
            programs,
        })
    }

    /// The first real program (number ≠ 0), or the one numbered `number` when given.
    pub fn program(&self, number: Option<u16>) -> Option<Program> {
        self.programs
            .iter()
            .copied()
            .find(|p| p.number != 0 && number.is_none_or(|n| n == p.number))
    }

    /// Appends the section (one section, number 0 of 0) with its CRC.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), PsiError> {
        if self.programs.len() > MAX_PROGRAMS {
            return Err(PsiError::TooMany);
        }
        let start = out.len();
        open(
            out,
            TABLE_PAT,
            self.transport_stream_id,
            self.version,
            self.current,
        );
        for p in &self.programs {
            out.extend_from_slice(&p.number.to_be_bytes());
            out.extend_from_slice(&(0xe000 | (p.pid & 0x1fff)).to_be_bytes());
        }
        close(out, start)
    }
}

/// One elementary stream of a PMT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmtStream {
    /// stream_type (ISO/IEC 13818-1 table 2-34 and registered values).
    pub stream_type: u8,
    /// elementary_PID.
    pub pid: u16,
    /// The ES info descriptors, verbatim (language, codec and registration descriptors...).
    pub es_info: Vec<u8>,
}

impl PmtStream {
    /// What this stream carries.
    pub fn kind(&self) -> StreamKind {
        StreamKind::of(self.stream_type, &self.es_info)
    }

    /// What identifies its codec (see [`CodecKey`]).
    pub fn codec(&self) -> CodecKey {
        CodecKey::of(self.stream_type, &self.es_info)
    }
}

/// A program map table section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pmt {
    /// program_number.
    pub program_number: u16,
    /// version_number (5 bits).
    pub version: u8,
    /// current_next_indicator.
    pub current: bool,
    /// PCR_PID (0x1FFF: the program has no PCR).
    pub pcr_pid: u16,
    /// The program info descriptors, verbatim.
    pub program_info: Vec<u8>,
    /// The elementary streams, in section order.
    pub streams: Vec<PmtStream>,
}

/// A 12-bit descriptor-loop length (the top 2 bits must be 0).
fn loop_len(hi: u8, lo: u8) -> usize {
    (usize::from(hi & 0x0f) << 8) | usize::from(lo)
}

impl Pmt {
    /// Parses a whole PMT section (from table_id to CRC; trailing bytes are ignored).
    pub fn parse(s: &[u8]) -> Result<Pmt, PsiError> {
        let LongSection {
            ext: program_number,
            version,
            current,
            body,
        } = long_section(s, TABLE_PMT)?;
        let &[p1, p2, i1, i2] = body.get(..4).ok_or(PsiError::Short)? else {
            return Err(PsiError::Short);
        };
        let pcr_pid = (u16::from(p1 & 0x1f) << 8) | u16::from(p2);
        let info_len = loop_len(i1, i2);
        let program_info = body.get(4..4 + info_len).ok_or(PsiError::Length)?.to_vec();
        let mut rest = &body[4 + info_len..];
        let mut streams = Vec::new();
        while !rest.is_empty() {
            let &[stream_type, e1, e2, l1, l2] = rest.get(..5).ok_or(PsiError::Length)? else {
                return Err(PsiError::Length);
            };
            let es_len = loop_len(l1, l2);
            let es_info = rest.get(5..5 + es_len).ok_or(PsiError::Length)?.to_vec();
            if streams.len() == MAX_PMT_STREAMS {
                return Err(PsiError::TooMany);
            }
            streams.push(PmtStream {
                stream_type,
                pid: (u16::from(e1 & 0x1f) << 8) | u16::from(e2),
                es_info,
            });
            rest = &rest[5 + es_len..];
        }
        Ok(Pmt {
            program_number,
            version,
            current,
            pcr_pid,
            program_info,
            streams,
        })
    }

    /// Appends the section with its CRC.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), PsiError> {
        if self.streams.len() > MAX_PMT_STREAMS {
            return Err(PsiError::TooMany);
        }
        if self.program_info.len() > 0x3ff || self.streams.iter().any(|s| s.es_info.len() > 0x3ff) {
            return Err(PsiError::TooLarge);
        }
        let start = out.len();
        open(
            out,
            TABLE_PMT,
            self.program_number,
            self.version,
            self.current,
        );
        out.extend_from_slice(&(0xe000 | (self.pcr_pid & 0x1fff)).to_be_bytes());
        out.extend_from_slice(&(0xf000 | self.program_info.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.program_info);
        for s in &self.streams {
            out.push(s.stream_type);
            out.extend_from_slice(&(0xe000 | (s.pid & 0x1fff)).to_be_bytes());
            out.extend_from_slice(&(0xf000 | s.es_info.len() as u16).to_be_bytes());
            out.extend_from_slice(&s.es_info);
        }
        close(out, start)
    }
}

/// What an elementary stream carries, as far as splicing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// Video in PES packets; resumes at a random-access point after a switch.
    Video(VideoCodec),
    /// Audio in PES packets; resumes at any PES start.
    Audio,
    /// DVB subtitles or teletext in PES packets.
    Subtitle,
    /// Other PES data (ID3/KLV metadata, unknown private streams).
    Data,
    /// Carried in sections, not PES (SCTE-35 cues, DSM-CC, private sections): their times are
    /// not PES timestamps, so a splicer cannot keep them consistent and leaves them out.
    Sections,
}

/// Video codecs whose random-access points can be recognised in the elementary stream itself
/// (not only by the random_access_indicator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// MPEG-1/MPEG-2 video: a sequence header starts a GOP.
    Mpeg2,
    /// H.264/AVC: an IDR slice or an SPS.
    H264,
    /// H.265/HEVC: an IRAP picture or a parameter set.
    Hevc,
    /// Anything else: the random_access_indicator only.
    Other,
}

/// Descriptor tags that decide what a `0x06` (PES private data) stream is.
mod tag {
    pub const REGISTRATION: u8 = 0x05;
    pub const TELETEXT_VBI: u8 = 0x46;
    pub const TELETEXT: u8 = 0x56;
    pub const SUBTITLING: u8 = 0x59;
    pub const AC3: u8 = 0x6a;
    pub const EAC3: u8 = 0x7a;
    pub const DTS: u8 = 0x7b;
    pub const AAC: u8 = 0x7c;
    pub const EXTENSION: u8 = 0x7f;
}

/// Iterates (tag, body) over a descriptor loop, stopping at the first one that overruns.
fn descriptors(mut b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let &[t, l] = b.get(..2)? else {
            return None;
        };
        let body = b.get(2..2 + usize::from(l))?;
        b = &b[2 + usize::from(l)..];
        Some((t, body))
    })
}

/// format_identifier values of registration descriptors that name an audio codec.
const AUDIO_REGISTRATIONS: [&[u8; 4]; 8] = [
    b"AC-3", b"EAC3", b"AC-4", b"DTS1", b"DTS2", b"DTS3", b"Opus", b"BSSD",
];

impl StreamKind {
    /// Classifies a PMT entry.
    pub fn of(stream_type: u8, es_info: &[u8]) -> StreamKind {
        match stream_type {
            0x01 | 0x02 => StreamKind::Video(VideoCodec::Mpeg2),
            0x1b | 0x20 => StreamKind::Video(VideoCodec::H264),
            0x24 | 0x25 => StreamKind::Video(VideoCodec::Hevc),
            0x10 | 0x33 | 0x42 | 0xd1 | 0xea => StreamKind::Video(VideoCodec::Other),
            0x03 | 0x04 | 0x0f | 0x11 | 0x1c | 0x81 | 0x83 | 0x84 | 0x85 | 0x87 => {
                StreamKind::Audio
            }
            0x05 | 0x0a..=0x0d | 0x16 | 0x86 => StreamKind::Sections,
            0x06 => {
                for (t, body) in descriptors(es_info) {
                    match t {
                        tag::AC3 | tag::EAC3 | tag::DTS | tag::AAC => return StreamKind::Audio,
                        // AC-4 and other audio in the DVB extension descriptor.
                        tag::EXTENSION if body.first().is_some_and(|&e| e == 0x15) => {
                            return StreamKind::Audio;
                        }
                        tag::SUBTITLING | tag::TELETEXT | tag::TELETEXT_VBI => {
                            return StreamKind::Subtitle;
                        }
                        tag::REGISTRATION
                            if body.get(..4).is_some_and(|f| {
                                AUDIO_REGISTRATIONS.iter().any(|r| &r[..] == f)
                            }) =>
                        {
                            return StreamKind::Audio;
                        }
                        _ => {}
                    }
                }
                StreamKind::Data
            }
            _ => StreamKind::Data,
        }
    }
}

/// What makes two streams "the same codec" for a decoder: the stream type plus, for the types
/// that need one, the first codec-naming descriptor (its tag, or a registration's
/// format_identifier, or an extension descriptor's tag_extension). Languages and other
/// descriptors do not count, so a new source in another language keeps the output PMT as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodecKey {
    /// stream_type.
    pub stream_type: u8,
    /// The codec-naming descriptor, or 0.
    pub descriptor: u32,
}

impl CodecKey {
    /// The key of a PMT entry.
    pub fn of(stream_type: u8, es_info: &[u8]) -> CodecKey {
        let mut descriptor = 0;
        for (t, body) in descriptors(es_info) {
            match t {
                tag::AC3
                | tag::EAC3
                | tag::DTS
                | tag::AAC
                | tag::SUBTITLING
                | tag::TELETEXT
                | tag::TELETEXT_VBI => descriptor = u32::from(t),
                tag::EXTENSION => {
                    descriptor = 0x7f00 | u32::from(body.first().copied().unwrap_or(0));
                }
                tag::REGISTRATION => {
                    if let Some(&[a, b, c, d]) = body.get(..4) {
                        descriptor = u32::from_be_bytes([a, b, c, d]);
                    }
                }
                _ => continue,
            }
            break;
        }
        CodecKey {
            stream_type,
            descriptor,
        }
    }
}

/// Reassembles the PSI sections of one PID from its packets.
///
/// Sans-IO: [`Sections::push`] takes one packet's header bits and payload and calls back with
/// every section completed by it. A section longer than [`MAX_SECTION`] or spoilt by a
/// continuity gap is dropped; the next payload_unit_start resynchronises.
#[derive(Debug, Default)]
pub struct Sections {
    /// The section being collected (empty when none).
    buf: Vec<u8>,
    /// Its total length once its first 3 bytes are known.
    want: Option<usize>,
    /// The continuity counter of the last packet, to spot a lost packet mid-section.
    last_cc: Option<u8>,
    /// Sections dropped (too long, cut by a gap).
    dropped: u64,
}

impl Sections {
    /// An empty reassembler.
    pub fn new() -> Sections {
        Sections::default()
    }

    /// Sections dropped so far (too long, or cut by a lost packet).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets a half-read section (the source changed).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.want = None;
        self.last_cc = None;
    }

    /// Feeds one packet's payload (`pusi`: payload_unit_start_indicator, `cc`: its continuity
    /// counter); `section` is called with each whole section (table_id to CRC, unchecked).
    pub fn push(&mut self, pusi: bool, cc: u8, payload: &[u8], mut section: impl FnMut(&[u8])) {
        let gap = self.last_cc.is_some_and(|last| (last + 1) & 0x0f != cc);
        let repeat = self.last_cc == Some(cc);
        self.last_cc = Some(cc);
        if repeat && !pusi {
            // A duplicate continuation packet (§2.4.3.3): its bytes were already taken. (A
            // repeated start is read again: at worst the same section twice.)
            return;
        }
        if gap && !self.buf.is_empty() {
            self.dropped += 1;
            self.buf.clear();
            self.want = None;
        }
        let mut rest = payload;
        if pusi {
            let Some((&pointer, after)) = rest.split_first() else {
                return;
            };
            let pointer = usize::from(pointer);
            let Some(tail) = after.get(..pointer) else {
                // The pointer runs past the packet: nothing here can be trusted.
                self.buf.clear();
                self.want = None;
                return;
            };
            if !self.buf.is_empty() {
                self.take(tail, &mut section);
            }
            if !self.buf.is_empty() {
                // The previous section did not end where the pointer says a new one starts.
                self.dropped += 1;
                self.buf.clear();
                self.want = None;
            }
            rest = &after[pointer..];
            // Sections back to back until stuffing (0xFF) or the end of the payload.
            while rest.first().is_some_and(|&b| b != 0xff) {
                let used = self.take(rest, &mut section);
                rest = &rest[used..];
                if !self.buf.is_empty() {
                    break;
                }
            }
        } else if !self.buf.is_empty() {
            self.take(rest, &mut section);
        }
    }

    /// Appends from `data` to the section being collected; returns how many bytes it used.
    fn take(&mut self, data: &[u8], section: &mut impl FnMut(&[u8])) -> usize {
        let mut used = 0;
        if self.want.is_none() {
            let need = 3usize.saturating_sub(self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..need]);
            used = need;
            if self.buf.len() < 3 {
                return used;
            }
            let len = 3 + ((usize::from(self.buf[1] & 0x0f) << 8) | usize::from(self.buf[2]));
            if len > MAX_SECTION {
                self.dropped += 1;
                self.buf.clear();
                return data.len();
            }
            self.want = Some(len);
        }
        let want = self.want.unwrap_or(0);
        let need = want.saturating_sub(self.buf.len()).min(data.len() - used);
        self.buf.extend_from_slice(&data[used..used + need]);
        used += need;
        if self.buf.len() == want {
            section(&self.buf);
            self.buf.clear();
            self.want = None;
        }
        used
    }
}

/// Cuts one section into packets on `pid`: the first with payload_unit_start and a
/// pointer_field of 0, the last padded with 0xFF; continuity counters from `*cc` on (it is left
/// at the last one used).
pub fn packetize(pid: u16, section: &[u8], cc: &mut u8, out: &mut impl BufMut) {
    let mut rest = section;
    let mut first = true;
    while first || !rest.is_empty() {
        let mut p = [0xffu8; PACKET];
        p[0] = SYNC;
        p[1] = (u8::from(first) << 6) | ((pid >> 8) as u8 & 0x1f);
        p[2] = pid as u8;
        *cc = (*cc + 1) & 0x0f;
        p[3] = 0x10 | *cc;
        let mut at = 4;
        if first {
            p[4] = 0;
            at = 5;
        }
        let n = rest.len().min(PACKET - at);
        p[at..at + n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
        first = false;
        out.put_slice(&p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_pmt(streams: usize) -> Pmt {
        Pmt {
            program_number: 1,
            version: 3,
            current: true,
            pcr_pid: 0x100,
            program_info: vec![0x05, 4, b'C', b'U', b'E', b'I'],
            streams: (0..streams)
                .map(|i| PmtStream {
                    stream_type: if i == 0 { 0x1b } else { 0x0f },
                    pid: 0x100 + i as u16,
                    es_info: if i == 0 {
                        Vec::new()
                    } else {
                        vec![0x0a, 4, b'e', b'n', b'g', 0]
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn crc_matches_the_mpeg2_check_value() {
        // The CRC-32/MPEG-2 check value of "123456789".
        assert_eq!(crc32(b"123456789"), 0x0376_e6e7);
    }

    #[test]
    fn crc_of_an_ffmpeg_pat() {
        // PAT as written by ffmpeg's mpegts muxer: tsid 1, program 1 on PMT 0x1000.
        let pat = [
            0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1,
            0x04, 0xb2,
        ];
        let p = Pat::parse(&pat).unwrap();
        assert_eq!(p.transport_stream_id, 1);
        assert_eq!(
            p.programs,
            [Program {
                number: 1,
                pid: 0x1000
            }]
        );
        let mut out = Vec::new();
        p.write(&mut out).unwrap();
        assert_eq!(out, pat);
    }

    #[test]
    fn pmt_round_trips_and_checks() {
        let pmt = sample_pmt(3);
        let mut s = Vec::new();
        pmt.write(&mut s).unwrap();
        assert_eq!(crc32(&s), 0);
        assert_eq!(Pmt::parse(&s).unwrap(), pmt);
        let mut bad = s.clone();
        bad[12] ^= 1;
        assert_eq!(Pmt::parse(&bad), Err(PsiError::Crc));
        assert_eq!(Pat::parse(&s), Err(PsiError::Table));
        assert_eq!(Pmt::parse(&s[..s.len() - 1]), Err(PsiError::Short));
    }

    #[test]
    fn too_large_sections_are_refused() {
        let mut pmt = sample_pmt(1);
        pmt.program_info = vec![0; 1010];
        assert_eq!(pmt.write(&mut Vec::new()), Err(PsiError::TooLarge));
        pmt.program_info.clear();
        pmt.streams = (0..65).map(|_| pmt.streams[0].clone()).collect();
        assert_eq!(pmt.write(&mut Vec::new()), Err(PsiError::TooMany));
    }

    #[test]
    fn kinds_and_codecs() {
        assert_eq!(
            StreamKind::of(0x1b, &[]),
            StreamKind::Video(VideoCodec::H264)
        );
        assert_eq!(StreamKind::of(0x0f, &[]), StreamKind::Audio);
        assert_eq!(StreamKind::of(0x86, &[]), StreamKind::Sections);
        assert_eq!(StreamKind::of(0x06, &[0x6a, 1, 0]), StreamKind::Audio);
        assert_eq!(
            StreamKind::of(
                0x06,
                &[
                    0x0a, 4, b'd', b'e', b'u', 0, 0x59, 8, 0, 0, 0, 0, 0, 0, 0, 0
                ]
            ),
            StreamKind::Subtitle
        );
        assert_eq!(
            StreamKind::of(0x06, &[0x05, 4, b'O', b'p', b'u', b's']),
            StreamKind::Audio
        );
        assert_eq!(StreamKind::of(0x06, &[]), StreamKind::Data);
        // Languages do not change the codec; the codec descriptor does.
        let eng = CodecKey::of(0x06, &[0x0a, 4, b'e', b'n', b'g', 0, 0x6a, 1, 0]);
        let fra = CodecKey::of(0x06, &[0x0a, 4, b'f', b'r', b'a', 0, 0x6a, 1, 0]);
        let eac3 = CodecKey::of(0x06, &[0x7a, 1, 0]);
        assert_eq!(eng, fra);
        assert_ne!(eng, eac3);
    }

    /// Cuts a PSI stream (sections back to back, first pointer 0) into packets with `at_most`
    /// payload bytes each, with new sections starting mid-packet via the pointer field.
    fn carry(sections: &[Vec<u8>], at_most: usize) -> Vec<(bool, Vec<u8>)> {
        let mut stream = Vec::new();
        let mut starts = Vec::new();
        for s in sections {
            starts.push(stream.len());
            stream.extend_from_slice(s);
        }
        let mut packets = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            let end = (at + at_most).min(stream.len());
            let first_start = starts.iter().copied().find(|&s| s >= at && s < end);
            let mut payload = Vec::new();
            match first_start {
                Some(s) => {
                    payload.push((s - at) as u8);
                    payload.extend_from_slice(&stream[at..end]);
                }
                None => payload.extend_from_slice(&stream[at..end]),
            }
            packets.push((first_start.is_some(), payload));
            at = end;
        }
        packets
    }

    #[test]
    fn sections_across_packets_and_back_to_back() {
        let mut a = Vec::new();
        sample_pmt(40).write(&mut a).unwrap();
        let mut b = Vec::new();
        sample_pmt(2).write(&mut b).unwrap();
        let sections = vec![a.clone(), b.clone(), b.clone(), a.clone()];
        for at_most in [20, 100, 183] {
            let mut got = Vec::new();
            let mut s = Sections::new();
            for (i, (pusi, payload)) in carry(&sections, at_most).into_iter().enumerate() {
                s.push(pusi, i as u8 & 0x0f, &payload, |x| got.push(x.to_vec()));
            }
            assert_eq!(got, sections, "{at_most}");
        }
    }

    #[test]
    fn a_lost_packet_drops_the_half_read_section() {
        let mut a = Vec::new();
        sample_pmt(40).write(&mut a).unwrap();
        let packets = carry(&[a.clone(), a.clone()], 183);
        let mut got = Vec::new();
        let mut s = Sections::new();
        for (i, (pusi, payload)) in packets.iter().enumerate() {
            if i == 1 {
                continue;
            }
            s.push(*pusi, i as u8, payload, |x| got.push(x.to_vec()));
        }
        assert_eq!(got, [a]);
        assert_eq!(s.dropped(), 1);
    }

    #[test]
    fn packetize_then_reassemble() {
        let mut sec = Vec::new();
        sample_pmt(50).write(&mut sec).unwrap();
        let mut out = Vec::new();
        let mut cc = 15;
        packetize(0x1000, &sec, &mut cc, &mut out);
        assert_eq!(out.len() % PACKET, 0);
        assert!(out.len() / PACKET > 1);
        let mut s = Sections::new();
        let mut got = Vec::new();
        for p in out.chunks(PACKET) {
            let h = super::super::packet::Header::parse(p).unwrap();
            assert_eq!(h.pid, 0x1000);
            s.push(h.pusi, h.cc, h.payload(p), |x| got.push(x.to_vec()));
        }
        assert_eq!(got, [sec]);
        assert_eq!(cc, (out.len() / PACKET - 1) as u8);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1100)) {
            let _ = Pat::parse(&data);
            let _ = Pmt::parse(&data);
            let _ = StreamKind::of(0x06, &data);
            let _ = CodecKey::of(0x06, &data);
        }

        #[test]
        fn reassembler_never_panics(
            packets in proptest::collection::vec((any::<bool>(), 0u8..16, proptest::collection::vec(any::<u8>(), 0..184)), 0..30)
        ) {
            let mut s = Sections::new();
            for (pusi, cc, payload) in packets {
                s.push(pusi, cc, &payload, |x| assert!(x.len() <= MAX_SECTION));
            }
        }

        #[test]
        fn written_pmts_parse_back(
            version in 0u8..32,
            pcr in 0u16..0x1fff,
            streams in proptest::collection::vec((any::<u8>(), 0u16..0x1fff, proptest::collection::vec(any::<u8>(), 0..20)), 0..20),
        ) {
            let pmt = Pmt {
                program_number: 7,
                version,
                current: true,
                pcr_pid: pcr,
                program_info: Vec::new(),
                streams: streams.into_iter().map(|(t, pid, es_info)| PmtStream { stream_type: t, pid, es_info }).collect(),
            };
            let mut s = Vec::new();
            pmt.write(&mut s).unwrap();
            prop_assert_eq!(Pmt::parse(&s).unwrap(), pmt);
        }
    }
}
