//! One continuous, valid MPEG-TS out of a succession of sources: failover to an alternate,
//! a scheduled switch, HLS segments served as one stream, a slate looped between events.
//!
//! [`Splicer`] is a sans-IO state machine. The caller feeds whole 188-byte packets of the
//! *current source* ([`Splicer::push`]), says when that source ends and another begins
//! ([`Splicer::switch`]), fills gaps ([`Splicer::keepalive`]), and appends what it is given to its
//! output. What a viewer receives:
//!
//! - **One program, fixed PIDs.** The PAT and PMT are the splicer's own: the output PMT PID is the
//!   first source's (or [`SpliceOptions::pmt_pid`]). Each elementary stream of a source is matched
//!   to an output *slot* by codec ([`CodecKey`]: stream type plus codec-naming descriptor) and
//!   order among that source's streams of the codec: the second AAC stream of any source goes to
//!   the same output PID. The first source keeps its PIDs; a stream with no slot yet (an extra
//!   audio language, or a new codec) gets a new slot and PID — its own PID when free, else the
//!   lowest free from [`PID_ALLOC_FIRST`] — and so a new PMT version; a slot the current source
//!   lacks is left out of the PMT. A codec change thus moves to another PID rather than changing
//!   a PID's stream type, which ffmpeg's demuxer does not follow (it would feed HEVC to its H.264
//!   decoder); a later source with the first codec returns to the first PID. At most
//!   [`MAX_SLOTS`] slots; streams beyond are dropped. Streams carried in sections rather than
//!   PES (SCTE-35, DSM-CC) and other PIDs (SDT, EIT, NIT, null packets) are not carried: their
//!   times could not be kept consistent.
//! - **Tables first.** PAT and PMT are sent before the first packet of every source, again where
//!   the source sends its PAT, and before a keyframe that had no tables shortly before it. The
//!   PMT keeps its exact bytes (same version_number, same CRC) while the codecs match
//!   ([`CodecKey`]: stream type plus codec-naming descriptor, languages aside); otherwise it gets
//!   the next version_number and a new CRC.
//! - **A clean start.** Nothing of a source is sent before a random-access point of its *anchor*
//!   stream (the first video stream, else the first audio): a PES start with
//!   random_access_indicator, an H.264 IDR/SPS, an HEVC IRAP, an MPEG-2 sequence header. Audio,
//!   subtitle and data streams resume with a PES kept from the last [`MAX_PRE_ROLL_PACKETS`]
//!   before the keyframe (sent after the tables, ahead of it): at a source's very start the one
//!   covering the keyframe's time, after a switch the earliest one that follows what their PID
//!   already sent (a cut source's audio ends before its video; this fills the gap); failing
//!   that, their next PES start that follows. Other video streams resume at their next
//!   random-access point. A new source is read [`SpliceOptions::lookahead_ticks`] past its
//!   keyframe, or until its audio has started a PES, before it starts.
//! - **No truncated frames.** With [`SpliceOptions::hold_pes`], audio and video packets are held
//!   until their PES is complete (PES_packet_length reached, or the next PES starts), at most
//!   [`MAX_HELD_PACKETS`]; when a source is cut ([`SourceEnd::Cut`]) its unfinished PES are
//!   dropped, so a decoder never sees half a frame. This costs one frame of latency.
//! - **Continuity counters** are rewritten per output PID and always continue; duplicate input
//!   packets (§2.4.3.3) are dropped.
//! - **One clock.** With [`SpliceOptions::rewrite_timestamps`], every PTS/DTS (mod 2^33) and
//!   PCR (mod 2^33·300) of a source after the first is shifted by one offset, chosen when the
//!   source's anchor reaches its random-access point, so that its first anchor DTS and PTS
//!   follow the last ones sent plus one frame (the last DTS step seen, else
//!   [`DEFAULT_FRAME_TICKS`]) plus [`SpliceOptions::min_gap_ticks`] plus any
//!   [`Splicer::extend_gap`], and its PCR follows the last PCR sent; it is raised by up to
//!   [`MAX_NUDGE_TICKS`] more when that lets the audio PES covering the keyframe follow the audio
//!   already sent (a loop whose audio runs a few ms longer than its video would otherwise lose a
//!   whole audio PES). If the first PCR after the
//!   start would still not follow (none was seen before it), the offset is raised once more: a
//!   forward jump, never a step back. Without rewriting, the first packet of every PID after a
//!   switch carries the discontinuity_indicator instead (in its adaptation field, or in an
//!   adaptation-only packet just before it).
//! - **Loops.** A slate looped from one file is a switch to the same source at each end
//!   ([`Slate`]).
//!
//! Feed the splicer whole packets (cut by [`super::Aligner`]); a piece that is not a whole
//! number of packets loses its tail, and a packet without sync or with a bad header is dropped.
//! Nothing here panics on any input.

use super::packet::{
    self, Header, NULL_PACKET, PCR_MOD, PID_MAX, PID_NULL, PID_PAT, TS_MOD, pcr_diff, ts_add,
    ts_diff,
};
use super::pes::{self, PesError, PesHeader};
use super::psi::{self, CodecKey, Pat, Pmt, PmtStream, Program, Sections, StreamKind};
use super::scan::PACKET;
use bytes::BufMut;
use std::collections::VecDeque;

/// Most output streams (slots) over a splicer's life, the PCR-only PID included.
pub const MAX_SLOTS: usize = 32;
/// Most packets held back while their PES completes (about 1.5 MB); beyond, the oldest is sent
/// even though its PES is unfinished.
pub const MAX_HELD_PACKETS: usize = 8192;
/// The frame duration assumed (90 kHz ticks: 40 ms) when a stream has not shown its own.
pub const DEFAULT_FRAME_TICKS: u64 = 3600;
/// The largest step between two PES of one stream believed as its frame duration (1 s).
pub const MAX_FRAME_TICKS: u64 = 90_000;
/// Where new output PIDs are allocated from when a stream's own PID is taken.
pub const PID_ALLOC_FIRST: u16 = 0x0100;
/// The output PMT PID when the first source's is not usable.
pub const PID_PMT_DEFAULT: u16 = 0x1000;
/// Most packets of non-anchor streams kept before a source's start, to resume them with the PES
/// that covers the keyframe's time (about 190 kB).
pub const MAX_PRE_ROLL_PACKETS: usize = 1024;
/// The most a new source's offset is raised (90 kHz ticks: 100 ms) so that an audio PES covering
/// its keyframe follows what its PID already sent, instead of being dropped.
pub const MAX_NUDGE_TICKS: u64 = 9000;
/// The default [`SpliceOptions::lookahead_ticks`]: 0.5 s.
pub const DEFAULT_LOOKAHEAD_TICKS: u64 = 45_000;
/// Tables are re-sent before an anchor keyframe unless they were sent within this many
/// packets before it.
pub const PSI_NEAR_KEYFRAME: usize = 64;

/// How the splicer behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpliceOptions {
    /// Shift each new source's PCR/PTS/DTS so the output has one continuous clock (default).
    /// Off: timestamps pass unchanged and each PID's first packet after a switch carries the
    /// discontinuity_indicator.
    pub rewrite_timestamps: bool,
    /// Hold audio and video packets until their PES is complete, so a cut source never leaves
    /// a truncated frame (default; costs one frame of latency).
    pub hold_pes: bool,
    /// The program to carry from multi-program sources (default: the first in each PAT).
    pub program: Option<u16>,
    /// The output PMT PID (default: the first source's).
    pub pmt_pid: Option<u16>,
    /// Extra 90 kHz ticks between the last timestamps of a source and the first of the next,
    /// beyond one frame duration (default 0).
    pub min_gap_ticks: u64,
    /// How far (90 kHz ticks of the anchor's decode time) a new source is read past its
    /// keyframe before it starts, until each audio stream has started a PES (default 0.5 s).
    /// Muxers send audio in PES of up to about half a second, often some frames after the video
    /// they go with; seeing that PES before the offset is chosen lets the offset be nudged
    /// ([`MAX_NUDGE_TICKS`]) so the PES is kept rather than dropped for starting a few ms too
    /// early (a hole of one PES). Costs up to this much delay, once per source. 0: start at
    /// once.
    pub lookahead_ticks: u64,
}

impl Default for SpliceOptions {
    fn default() -> Self {
        SpliceOptions {
            rewrite_timestamps: true,
            hold_pes: true,
            program: None,
            pmt_pid: None,
            min_gap_ticks: 0,
            lookahead_ticks: DEFAULT_LOOKAHEAD_TICKS,
        }
    }
}

/// How the current source ended, at [`Splicer::switch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEnd {
    /// Cleanly (end of a file or segment run): its last PES are complete and are sent.
    Complete,
    /// Mid-stream (failure, stall, a scheduled cut): its unfinished PES are dropped.
    Cut,
}

/// Counters, for logs and `/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpliceStats {
    /// Packets fed.
    pub packets_in: u64,
    /// Packets written (null packets included).
    pub packets_out: u64,
    /// Null packets written by [`Splicer::keepalive`].
    pub null_out: u64,
    /// Sources started after the first (a switch whose new source reached its random-access
    /// point).
    pub splices: u64,
    /// New output PMT versions (the first PMT included).
    pub pmt_versions: u64,
    /// Packets dropped as malformed (no sync, bad header, transport_error_indicator).
    pub dropped_invalid: u64,
    /// Packets of PIDs not carried (SI tables, null packets, streams in sections, other
    /// programs, scrambled packets).
    pub dropped_unmapped: u64,
    /// Packets dropped while a stream waited for its start (random-access point, next PES).
    pub dropped_waiting: u64,
    /// Duplicate packets dropped.
    pub dropped_duplicate: u64,
    /// Held packets of unfinished PES dropped when a source was cut.
    pub dropped_cut: u64,
    /// PES dropped because their header timestamps did not fit their first packet.
    pub split_headers: u64,
    /// Held packets sent before their PES completed ([`MAX_HELD_PACKETS`] reached).
    pub forced_releases: u64,
    /// Times the offset was raised at a new source's first PCR.
    pub pcr_bumps: u64,
}

/// What output streams are matched on across sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotKey {
    /// An elementary stream of this codec.
    Codec(CodecKey),
    /// The PID that carries only the PCR.
    Pcr,
}

/// One output stream: a PID and what was last sent on it.
#[derive(Debug, Clone)]
struct Slot {
    /// Matching key across sources: codec and order among the source's streams of that codec.
    key: SlotKey,
    ordinal: u8,
    /// The output PID.
    pid: u16,
    /// Last DTS (or PTS) sent, in output clock; drives the next source's offset and the
    /// "resume after what was sent" rule.
    last: Option<u64>,
    /// The last step between two decode times: the frame (or audio PES) duration.
    step: u64,
    /// Video: every PES is one frame of `step`. Otherwise PES vary in length (the last one
    /// of a source is often short), so their duration is estimated from their size.
    video: bool,
    /// Size of the last PES started (when PES_packet_length gives it).
    last_len: Option<usize>,
    /// (ticks, bytes) of the PES before it: the stream's ticks per byte.
    rate: Option<(u64, usize)>,
    /// Largest PTS sent (B-frames present later than they decode).
    max_pts: Option<u64>,
    /// The PES being received, still incomplete (held packets carry its id).
    open: Option<u64>,
    /// Bytes of the open PES still to come when PES_packet_length bounds it.
    remaining: Option<usize>,
    /// Without timestamp rewriting: the next packet must carry the discontinuity_indicator.
    need_di: bool,
    /// Something was sent on this slot.
    used: bool,
}

impl Slot {
    /// When what was last sent on this slot ends: its last decode time plus a frame for video;
    /// for audio and the rest, plus the last PES's size at the stream's ticks per byte, with a
    /// sixteenth more for safety (an overlap would step time back, a gap of a few ms does not).
    fn end(&self) -> Option<u64> {
        let last = self.last?;
        let dur = match (self.video, self.last_len, self.rate) {
            (false, Some(len), Some((ticks, bytes))) => {
                (ticks as u128 * len as u128 * 17 / (bytes as u128 * 16))
                    .min(MAX_FRAME_TICKS as u128) as u64
            }
            _ => self.step,
        };
        Some(ts_add(last, dur as i64))
    }
}

/// One carried stream of the current source.
#[derive(Debug, Clone)]
struct InStream {
    pid: u16,
    slot: usize,
    kind: StreamKind,
    stream_type: u8,
    es_info: Vec<u8>,
    /// Only the PCR is carried (the PMT's PCR_PID is not one of the streams).
    pcr_only: bool,
    /// Past its resume point; packets flow.
    running: bool,
    /// The last packet with payload, to recognise a duplicate.
    last_cc: Option<u8>,
    last: [u8; PACKET],
}

/// Where the current source is in its start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a PAT naming the program.
    Pat,
    /// Waiting for its PMT.
    Pmt,
    /// Tables known; waiting for the anchor's random-access point.
    Rap,
    /// Random-access point found; looking a few frames ahead before starting.
    Ahead,
    /// Started: packets flow.
    Live,
}

/// What the splicer knows of the current source.
#[derive(Debug)]
struct Source {
    phase: Phase,
    pat: Sections,
    pmt: Sections,
    pmt_pid: Option<u16>,
    program: u16,
    transport_stream_id: u16,
    /// The last PMT read (to skip repeats).
    table: Option<Pmt>,
    streams: Vec<InStream>,
    /// The input PCR PID, when the program has one.
    pcr_pid: Option<u16>,
    /// Index into `streams` of the stream whose random-access point starts the source.
    anchor: Option<usize>,
    /// The latest PCR seen before the start (constrains the offset).
    seen_pcr: Option<u64>,
    /// The first PCR after the start was checked against the last one sent.
    pcr_checked: bool,
    /// Packets (stream index, bytes) kept before the start: recent ones of streams other than
    /// the anchor, then from the anchor's random-access point on, everything.
    pre: VecDeque<(usize, [u8; PACKET])>,
    /// The anchor's random-access PES header and its index in `pre`, once found.
    rap: Option<PesHeader>,
    rap_at: usize,
    /// How far (90 kHz) the anchor's decode time went past the random-access point.
    ahead_ticks: u64,
    /// The first PCR at or after the random-access point (the first one the output will carry).
    first_pcr: Option<u64>,
}

impl Source {
    fn new() -> Source {
        Source {
            phase: Phase::Pat,
            pat: Sections::new(),
            pmt: Sections::new(),
            pmt_pid: None,
            program: 0,
            transport_stream_id: 0,
            table: None,
            streams: Vec::new(),
            pcr_pid: None,
            anchor: None,
            seen_pcr: None,
            pcr_checked: false,
            pre: VecDeque::new(),
            rap: None,
            rap_at: 0,
            ahead_ticks: 0,
            first_pcr: None,
        }
    }
}

/// A packet waiting to be sent.
#[derive(Debug, Clone)]
struct Held {
    p: [u8; PACKET],
    /// (slot, PES id) when the packet belongs to a PES that is being held.
    pes: Option<(usize, u64)>,
}

/// See the [module documentation](self).
#[derive(Debug)]
pub struct Splicer {
    opts: SpliceOptions,
    source: Source,
    slots: Vec<Slot>,
    /// Output program: set by the first source's tables.
    program_number: u16,
    transport_stream_id: u16,
    pmt_pid: Option<u16>,
    /// The output PMT as last sent, and the PAT + PMT packets (continuity counters are set when
    /// they are written).
    pmt: Option<Pmt>,
    psi: Vec<u8>,
    /// Continuity counter per output PID (last value sent).
    cc: Vec<(u16, u8)>,
    /// The 90 kHz offset added to the current source's timestamps.
    offset: u64,
    /// A source has started (the output has a program).
    started: bool,
    /// Gap added at the next source's start ([`Splicer::extend_gap`]).
    pending_gap: u64,
    /// The last PCR sent, 27 MHz, output clock.
    last_pcr: Option<u64>,
    /// Packets queued since the tables were.
    since_psi: usize,
    held: VecDeque<Held>,
    next_pes: u64,
    stats: SpliceStats,
}

impl Default for Splicer {
    fn default() -> Self {
        Splicer::new(SpliceOptions::default())
    }
}

impl Splicer {
    /// A splicer waiting for its first source.
    pub fn new(opts: SpliceOptions) -> Splicer {
        Splicer {
            opts,
            source: Source::new(),
            slots: Vec::new(),
            program_number: 1,
            transport_stream_id: 1,
            pmt_pid: None,
            pmt: None,
            psi: Vec::new(),
            cc: Vec::new(),
            offset: 0,
            started: false,
            pending_gap: 0,
            last_pcr: None,
            since_psi: 0,
            held: VecDeque::new(),
            next_pes: 0,
            stats: SpliceStats::default(),
        }
    }

    /// The options it was made with.
    pub fn options(&self) -> SpliceOptions {
        self.opts
    }

    /// Counters so far.
    pub fn stats(&self) -> SpliceStats {
        self.stats
    }

    /// The 90 kHz offset applied to the current source's timestamps (0 for the first source).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the current source has reached its start: its packets now reach the output.
    pub fn is_live(&self) -> bool {
        self.source.phase == Phase::Live
    }

    /// The output PMT as last sent (None before the first source starts).
    pub fn output_pmt(&self) -> Option<&Pmt> {
        self.pmt.as_ref()
    }

    /// Packets held back, waiting for their PES to complete.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Feeds whole packets of the current source; appends what may be sent to `out` (whole
    /// packets).
    pub fn push(&mut self, packets: &[u8], out: &mut impl BufMut) {
        for p in packets.chunks(PACKET) {
            self.packet(p);
            self.release(out);
        }
    }

    /// The current source has ended: what it left held is sent ([`SourceEnd::Complete`]) or
    /// its unfinished PES dropped ([`SourceEnd::Cut`]); the next packets pushed are a new
    /// source (possibly the same file again), which starts at its own tables and
    /// random-access point.
    pub fn switch(&mut self, end: SourceEnd, out: &mut impl BufMut) {
        if self.source.phase == Phase::Ahead {
            self.start_source();
        }
        if end == SourceEnd::Cut {
            let slots = &self.slots;
            let before = self.held.len();
            self.held
                .retain(|h| h.pes.is_none_or(|(s, id)| slots[s].open != Some(id)));
            self.stats.dropped_cut += (before - self.held.len()) as u64;
        }
        for s in &mut self.slots {
            s.open = None;
            s.remaining = None;
        }
        self.release(out);
        self.source = Source::new();
    }

    /// End of output: everything held is sent as it is (a source that was cut rather than
    /// finished should get [`Splicer::switch`] with [`SourceEnd::Cut`] first).
    pub fn flush(&mut self, out: &mut impl BufMut) {
        if self.source.phase == Phase::Ahead {
            self.start_source();
        }
        for s in &mut self.slots {
            s.open = None;
            s.remaining = None;
        }
        self.release(out);
    }

    /// Adds 90 kHz ticks to the gap before the next source's first timestamps (the time a viewer
    /// spent on [`Splicer::keepalive`] packets, so the clock keeps pace with the wall). No effect
    /// once that source has started.
    pub fn extend_gap(&mut self, ticks: u64) {
        if self.source.phase != Phase::Live {
            self.pending_gap = self.pending_gap.saturating_add(ticks).min(TS_MOD / 4);
        }
    }

    /// For a gap with no source: the tables (once a program exists) and `nulls` null packets,
    /// so players and tuners keep the connection.
    pub fn keepalive(&mut self, nulls: usize, out: &mut impl BufMut) {
        if self.started {
            self.queue_psi();
        }
        for _ in 0..nulls {
            self.hold(NULL_PACKET, None);
            self.release(out);
        }
        self.stats.null_out += nulls as u64;
        self.release(out);
    }

    // ------------------------------------------------------------------ input

    fn packet(&mut self, p: &[u8]) {
        self.stats.packets_in += 1;
        let h = match Header::parse(p) {
            Ok(h) if !h.error => h,
            _ => {
                self.stats.dropped_invalid += 1;
                return;
            }
        };
        if h.pid == PID_PAT {
            if h.has_payload {
                let mut found = Vec::new();
                self.source
                    .pat
                    .push(h.pusi, h.cc, h.payload(p), |s| found.push(s.to_vec()));
                for s in found {
                    self.on_pat(&s);
                }
            }
            return;
        }
        if Some(h.pid) == self.source.pmt_pid {
            if h.has_payload {
                let mut found = Vec::new();
                self.source
                    .pmt
                    .push(h.pusi, h.cc, h.payload(p), |s| found.push(s.to_vec()));
                for s in found {
                    self.on_pmt(&s);
                }
            }
            return;
        }
        match self.source.streams.iter().position(|s| s.pid == h.pid) {
            Some(i) => self.on_es(i, p, &h),
            None => self.stats.dropped_unmapped += 1,
        }
    }

    fn on_pat(&mut self, section: &[u8]) {
        let Ok(pat) = Pat::parse(section) else {
            return;
        };
        if !pat.current {
            return;
        }
        let Some(program) = pat.program(self.opts.program) else {
            return;
        };
        let src = &mut self.source;
        src.transport_stream_id = pat.transport_stream_id;
        if src.pmt_pid != Some(program.pid) || src.program != program.number {
            src.pmt_pid = Some(program.pid);
            src.program = program.number;
            src.pmt.reset();
            src.table = None;
        }
        match src.phase {
            Phase::Pat => src.phase = Phase::Pmt,
            Phase::Live => self.queue_psi(),
            Phase::Pmt | Phase::Rap | Phase::Ahead => {}
        }
    }

    fn on_pmt(&mut self, section: &[u8]) {
        let Ok(pmt) = Pmt::parse(section) else {
            return;
        };
        if pmt.program_number != self.source.program || !pmt.current {
            return;
        }
        if self.source.table.as_ref() == Some(&pmt) {
            return;
        }
        self.map_streams(&pmt);
        self.source.table = Some(pmt);
        match self.source.phase {
            Phase::Pmt | Phase::Rap | Phase::Ahead => self.source.phase = Phase::Rap,
            Phase::Live => {
                self.update_output_pmt();
                self.queue_psi();
            }
            Phase::Pat => {}
        }
    }

    /// Maps the source's streams onto slots (creating slots as needed), keeping the state of
    /// streams that were already mapped (a PMT update mid-source).
    fn map_streams(&mut self, pmt: &Pmt) {
        if self.pmt_pid.is_none() {
            let pid = self.opts.pmt_pid.or(self.source.pmt_pid);
            self.pmt_pid = Some(match pid {
                Some(p) if valid_pid(p) => p,
                _ => PID_PMT_DEFAULT,
            });
        }
        let old = std::mem::take(&mut self.source.streams);
        let mut streams: Vec<InStream> = Vec::new();
        let mut ordinals: Vec<(CodecKey, u8)> = Vec::new();
        let src_pmt_pid = self.source.pmt_pid;
        let pcr = (pmt.pcr_pid != PID_NULL).then_some(pmt.pcr_pid);
        for s in &pmt.streams {
            let kind = s.kind();
            if kind == StreamKind::Sections
                || !valid_pid(s.pid)
                || Some(s.pid) == src_pmt_pid
                || streams.iter().any(|x| x.pid == s.pid)
            {
                continue;
            }
            let codec = s.codec();
            let ordinal = match ordinals.iter_mut().find(|(c, _)| *c == codec) {
                Some((_, n)) => {
                    *n = n.saturating_add(1);
                    *n
                }
                None => {
                    ordinals.push((codec, 0));
                    0
                }
            };
            let Some(slot) = self.slot_for(
                SlotKey::Codec(codec),
                ordinal,
                s.pid,
                matches!(kind, StreamKind::Video(_)),
            ) else {
                continue;
            };
            streams.push(self.in_stream(&old, s, kind, slot, false));
        }
        if let Some(pcr) = pcr
            && valid_pid(pcr)
            && Some(pcr) != src_pmt_pid
            && !streams.iter().any(|x| x.pid == pcr)
            && let Some(slot) = self.slot_for(SlotKey::Pcr, 0, pcr, false)
        {
            let s = PmtStream {
                stream_type: 0,
                pid: pcr,
                es_info: Vec::new(),
            };
            streams.push(self.in_stream(&old, &s, StreamKind::Data, slot, true));
        }
        let first =
            |want: fn(StreamKind) -> bool| streams.iter().position(|s| !s.pcr_only && want(s.kind));
        self.source.anchor = first(|k| matches!(k, StreamKind::Video(_)))
            .or_else(|| first(|k| k == StreamKind::Audio))
            .or_else(|| first(|_| true));
        self.source.pcr_pid = pcr;
        self.source.streams = streams;
        // Stream indexes changed: what was kept before the start no longer matches.
        self.stats.dropped_waiting += self.source.pre.len() as u64;
        self.source.pre.clear();
        self.source.rap = None;
    }

    fn in_stream(
        &self,
        old: &[InStream],
        s: &PmtStream,
        kind: StreamKind,
        slot: usize,
        pcr_only: bool,
    ) -> InStream {
        if let Some(o) = old
            .iter()
            .find(|o| o.pid == s.pid && o.slot == slot && o.pcr_only == pcr_only)
        {
            let mut o = o.clone();
            o.kind = kind;
            o.stream_type = s.stream_type;
            o.es_info.clone_from(&s.es_info);
            return o;
        }
        InStream {
            pid: s.pid,
            slot,
            kind,
            stream_type: s.stream_type,
            es_info: s.es_info.clone(),
            pcr_only,
            running: false,
            last_cc: None,
            last: [0; PACKET],
        }
    }

    /// The slot for the `ordinal`-th stream with `key`, made (on `wanted` PID if free) when new.
    fn slot_for(&mut self, key: SlotKey, ordinal: u8, wanted: u16, video: bool) -> Option<usize> {
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| s.key == key && s.ordinal == ordinal)
        {
            return Some(i);
        }
        if self.slots.len() >= MAX_SLOTS {
            return None;
        }
        let taken =
            |p: u16, slots: &[Slot]| Some(p) == self.pmt_pid || slots.iter().any(|s| s.pid == p);
        let pid = if valid_pid(wanted) && !taken(wanted, &self.slots) {
            wanted
        } else {
            (PID_ALLOC_FIRST..PID_NULL).find(|&p| !taken(p, &self.slots))?
        };
        self.slots.push(Slot {
            key,
            ordinal,
            pid,
            last: None,
            step: DEFAULT_FRAME_TICKS,
            video,
            last_len: None,
            rate: None,
            max_pts: None,
            open: None,
            remaining: None,
            need_di: false,
            used: false,
        });
        Some(self.slots.len() - 1)
    }

    fn on_es(&mut self, i: usize, p: &[u8], h: &Header) {
        let mut pkt = [0u8; PACKET];
        pkt.copy_from_slice(p);
        {
            let st = &mut self.source.streams[i];
            if h.has_payload {
                if st.last_cc == Some(h.cc) && !h.discontinuity && st.last[4..] == pkt[4..] {
                    self.stats.dropped_duplicate += 1;
                    return;
                }
                st.last_cc = Some(h.cc);
                st.last = pkt;
            }
        }
        if h.scrambling != 0 {
            self.stats.dropped_unmapped += 1;
            return;
        }
        let is_pcr_pid = self.source.pcr_pid == Some(h.pid);
        match self.source.phase {
            Phase::Live => self.live(i, pkt, h),
            Phase::Ahead => {
                if is_pcr_pid && self.source.first_pcr.is_none() {
                    self.source.first_pcr = h.pcr;
                }
                self.source.pre.push_back((i, pkt));
                if self.source.anchor == Some(i)
                    && h.pusi
                    && let Ok(ph) = pes::parse(h.payload(&pkt))
                    && let (Some(d), Some(r)) = (
                        ph.decode_time(),
                        self.source.rap.and_then(|r| r.decode_time()),
                    )
                {
                    self.source.ahead_ticks = ts_diff(d, r).max(0) as u64;
                }
                if self.ahead_done() {
                    self.start_source();
                }
            }
            Phase::Rap => {
                if is_pcr_pid && let Some(pcr) = h.pcr {
                    self.source.seen_pcr = Some(pcr);
                }
                let st = &self.source.streams[i];
                let header = (h.pusi && h.has_payload && !st.pcr_only)
                    .then(|| pes::parse(h.payload(&pkt)).ok())
                    .flatten();
                let needs_time = self.opts.rewrite_timestamps && self.started;
                let rap = self.source.anchor == Some(i)
                    && header.is_some_and(|ph| {
                        resumes(st.kind, h, &pkt, &ph)
                            && (!needs_time || ph.decode_time().is_some())
                    });
                if rap {
                    // The start: look a few frames ahead before choosing the offset.
                    self.source.first_pcr = if is_pcr_pid { h.pcr } else { None };
                    self.source.rap = header;
                    self.source.rap_at = self.source.pre.len();
                    self.source.pre.push_back((i, pkt));
                    self.source.ahead_ticks = 0;
                    self.source.phase = Phase::Ahead;
                    if self.ahead_done() {
                        self.start_source();
                    }
                } else {
                    self.pre_roll(i, pkt, st.kind, is_pcr_pid || st.pcr_only);
                }
            }
            Phase::Pat | Phase::Pmt => self.stats.dropped_waiting += 1,
        }
    }

    /// A packet of a started source: streams not yet running wait for their resume point.
    fn live(&mut self, i: usize, pkt: [u8; PACKET], h: &Header) {
        let st = &self.source.streams[i];
        if st.pcr_only {
            self.on_pcr_only(i, pkt, h);
            return;
        }
        let (kind, slot) = (st.kind, st.slot);
        let header = (h.pusi && h.has_payload)
            .then(|| pes::parse(h.payload(&pkt)).ok())
            .flatten();
        let resume = header.is_some_and(|ph| resumes(kind, h, &pkt, &ph));
        if !self.source.streams[i].running {
            if !resume || !header.is_some_and(|ph| self.follows(slot, &ph)) {
                self.stats.dropped_waiting += 1;
                return;
            }
            self.source.streams[i].running = true;
        } else if resume && self.source.anchor == Some(i) && self.since_psi > PSI_NEAR_KEYFRAME {
            self.queue_psi();
        }
        self.forward(i, pkt, h);
    }

    /// Whether the look-ahead after the anchor's random-access point has seen enough: every
    /// audio stream has started a PES since (muxers send the audio covering a keyframe's time
    /// near it, if often some frames later), or the anchor went
    /// [`SpliceOptions::lookahead_ticks`] past it, or the buffer is full.
    fn ahead_done(&self) -> bool {
        let src = &self.source;
        if src.ahead_ticks >= self.opts.lookahead_ticks || src.pre.len() >= MAX_PRE_ROLL_PACKETS {
            return true;
        }
        src.streams.iter().enumerate().all(|(j, st)| {
            st.kind != StreamKind::Audio
                || src.anchor == Some(j)
                || pes_starts(&src.pre, j).iter().any(|(n, _)| *n > src.rap_at)
        })
    }

    /// Before the start: keeps recent packets of audio, subtitle and data streams (not the
    /// anchor, not the PCR carrier), so that at the start they can resume with the PES that
    /// covers the anchor keyframe's time rather than the first one after it in the bytes.
    fn pre_roll(&mut self, i: usize, pkt: [u8; PACKET], kind: StreamKind, carries_pcr: bool) {
        let keep =
            self.source.anchor != Some(i) && !carries_pcr && !matches!(kind, StreamKind::Video(_));
        if !keep {
            self.stats.dropped_waiting += 1;
            return;
        }
        if self.source.pre.len() >= MAX_PRE_ROLL_PACKETS {
            self.source.pre.pop_front();
            self.stats.dropped_waiting += 1;
        }
        self.source.pre.push_back((i, pkt));
    }

    /// The current source's anchor reached its random-access point and the look-ahead is done:
    /// choose the offset, send the tables, then the kept packets — of each stream before the
    /// keyframe, those from the earliest PES that follows what its PID sent (at the very start:
    /// the PES covering the keyframe's time) on; the keyframe; everything after it as a started
    /// source.
    fn start_source(&mut self) {
        let Some(anchor) = self.source.anchor else {
            return;
        };
        let ph = self.source.rap;
        let first = !self.started;
        if first {
            self.program_number = self.source.program;
            self.transport_stream_id = self.source.transport_stream_id;
        } else {
            self.stats.splices += 1;
        }
        if self.opts.rewrite_timestamps && !first {
            let slot = self.source.streams[anchor].slot;
            if let Some(ph) = ph {
                self.offset = self.choose_offset(slot, &ph);
            }
        }
        self.pending_gap = 0;
        for st in &mut self.source.streams {
            st.running = false;
        }
        if !self.opts.rewrite_timestamps && !first {
            for s in &mut self.slots {
                s.need_di = s.used;
            }
        }
        self.source.phase = Phase::Live;
        self.started = true;
        self.update_output_pmt();
        self.queue_psi();
        let pre = std::mem::take(&mut self.source.pre);
        let rap_at = self.source.rap_at;
        let anchor_pts = ph.and_then(|ph| ph.pts);
        // Where each stream resumes among the packets kept before the keyframe.
        let mut from: Vec<(usize, usize)> = Vec::new();
        for j in 0..self.source.streams.len() {
            let slot = self.source.streams[j].slot;
            let starts = pes_starts(&pre, j);
            // After a switch, the earliest that follows what the PID sent: the old source's
            // audio often ends (cut) well before its video, and the new one's audio from just
            // before its keyframe fills that gap. At the very start, the one covering the
            // keyframe.
            let c = if self.slots[slot].last.is_some() {
                0
            } else {
                covering(&starts, anchor_pts)
            };
            if let Some(&(n, _)) = starts[c.min(starts.len())..]
                .iter()
                .find(|(_, ph)| self.follows(slot, ph))
                && n < rap_at
            {
                from.push((j, n));
            }
        }
        for (n, (j, pkt)) in pre.into_iter().enumerate() {
            let Ok(h) = Header::parse(&pkt) else {
                continue;
            };
            if n > rap_at {
                self.live(j, pkt, &h);
                continue;
            }
            if n == rap_at {
                self.source.streams[j].running = true;
                self.forward(j, pkt, &h);
                continue;
            }
            match from.iter().find(|(k, _)| *k == j) {
                Some(&(_, first)) if n >= first => {
                    self.source.streams[j].running = true;
                    self.forward(j, pkt, &h);
                }
                _ => self.stats.dropped_waiting += 1,
            }
        }
    }

    /// Sends one packet of a running stream: PCR and PES timestamps onto the output clock, the
    /// PES it belongs to noted for holding, PID and continuity counter rewritten on the way out.
    fn forward(&mut self, i: usize, mut pkt: [u8; PACKET], h: &Header) {
        let st = &self.source.streams[i];
        let (kind, slot) = (st.kind, st.slot);
        let is_pcr_pid = self.source.pcr_pid == Some(h.pid);
        let at = h.payload_at.min(PACKET);
        // The PCR first: a raised offset must apply to this packet's PES too.
        if let Some(pcr) = h.pcr {
            self.shift_pcr(&mut pkt, pcr, is_pcr_pid);
        }
        // A PES start closes the previous one and is shifted onto the output clock.
        let holds = self.opts.hold_pes && matches!(kind, StreamKind::Video(_) | StreamKind::Audio);
        let mut payload_len = PACKET - at;
        if h.pusi && h.has_payload {
            self.slots[slot].open = None;
            self.slots[slot].remaining = None;
            match pes::parse(&pkt[at..]) {
                Ok(ph) => {
                    if self.opts.rewrite_timestamps && self.offset != 0 {
                        pes::shift(&mut pkt[at..], &ph, self.offset as i64);
                    }
                    if holds {
                        let id = self.next_pes;
                        self.next_pes += 1;
                        self.slots[slot].open = Some(id);
                        self.slots[slot].remaining = ph.total();
                    }
                }
                Err(PesError::Split) if self.opts.rewrite_timestamps && self.offset != 0 => {
                    // Its timestamps cannot be shifted: drop the PES, wait for the next start.
                    self.stats.split_headers += 1;
                    self.source.streams[i].running = false;
                    return;
                }
                Err(_) => payload_len = 0,
            }
        } else if !h.has_payload {
            payload_len = 0;
        }
        let pes = self.slots[slot].open.map(|id| (slot, id));
        if let Some(r) = self.slots[slot].remaining {
            let r = r.saturating_sub(payload_len);
            self.slots[slot].remaining = Some(r);
            if r == 0 {
                // PES_packet_length reached: complete with this packet.
                self.slots[slot].open = None;
                self.slots[slot].remaining = None;
            }
        }
        self.out_packet(slot, pkt, h, pes);
    }

    /// A packet of a PID that carries only the PCR: its adaptation field is kept, its payload
    /// (if any) dropped.
    fn on_pcr_only(&mut self, i: usize, mut pkt: [u8; PACKET], h: &Header) {
        let Some(pcr) = h.pcr else {
            self.stats.dropped_unmapped += 1;
            return;
        };
        if self.source.phase != Phase::Live {
            self.stats.dropped_waiting += 1;
            return;
        }
        self.source.streams[i].running = true;
        if h.has_payload {
            let len = usize::from(h.adaptation_len);
            pkt[3] = (pkt[3] & 0xcf) | 0x20;
            pkt[4] = (PACKET - 5) as u8;
            pkt[5 + len..].fill(0xff);
        }
        self.shift_pcr(&mut pkt, pcr, true);
        let slot = self.source.streams[i].slot;
        let h = Header::parse(&pkt).unwrap_or(*h);
        self.out_packet(slot, pkt, &h, None);
    }

    /// Shifts a PCR onto the output clock; on the PCR PID, checks the first one of a new source
    /// against the last sent (raising the offset if it would not follow) and remembers it.
    fn shift_pcr(&mut self, pkt: &mut [u8; PACKET], pcr: u64, on_pcr_pid: bool) {
        let rewrite = self.opts.rewrite_timestamps;
        let mut out = (pcr + if rewrite { self.offset * 300 } else { 0 }) % PCR_MOD;
        if on_pcr_pid && rewrite && !self.source.pcr_checked {
            self.source.pcr_checked = true;
            if let Some(last) = self.last_pcr {
                let d = pcr_diff(out, last);
                if d <= 0 {
                    let bump = (-d) / 300 + 1;
                    self.offset = ts_add(self.offset, bump);
                    out = (pcr + self.offset * 300) % PCR_MOD;
                    self.stats.pcr_bumps += 1;
                }
            }
        }
        if rewrite && self.offset != 0 {
            packet::write_pcr(&mut pkt[6..12], out);
        }
    }

    /// Records the times of a packet being written (output clock): a PES start's DTS/PTS as its
    /// slot's latest, a PCR on the PCR PID as the last PCR. Done at writing, not queueing, so a
    /// PES dropped at a cut does not count.
    fn note_written(&mut self, p: &[u8; PACKET], pid: u16) {
        let Ok(h) = Header::parse(p) else {
            return;
        };
        if let Some(pcr) = h.pcr
            && self.pmt.as_ref().is_some_and(|m| m.pcr_pid == pid)
        {
            self.last_pcr = Some(pcr);
        }
        if !(h.pusi && h.has_payload) {
            return;
        }
        let Some(s) = self
            .slots
            .iter_mut()
            .find(|s| s.pid == pid && s.key != SlotKey::Pcr)
        else {
            return;
        };
        let Ok(ph) = pes::parse(h.payload(p)) else {
            return;
        };
        if let Some(d) = ph.decode_time() {
            if let Some(last) = s.last {
                let step = ts_diff(d, last);
                if step > 0 && step as u64 <= MAX_FRAME_TICKS {
                    s.step = step as u64;
                    s.rate = s.last_len.filter(|&n| n > 0).map(|n| (step as u64, n));
                }
            }
            s.last = Some(d);
            s.last_len = ph.total();
        }
        if let Some(p) = ph.pts
            && s.max_pts.is_none_or(|m| ts_diff(p, m) > 0)
        {
            s.max_pts = Some(p);
        }
    }

    /// Whether a PES start (input clock) would follow what its slot already sent by at least one
    /// step. Without rewriting, times are not comparable across sources: any start will do.
    fn follows(&self, slot: usize, ph: &PesHeader) -> bool {
        if !self.opts.rewrite_timestamps {
            return true;
        }
        let Some(end) = self.slots[slot].end() else {
            return true;
        };
        let Some(d) = ph.decode_time() else {
            return false;
        };
        ts_diff(ts_add(d, self.offset as i64), end) >= 0
    }

    fn choose_offset(&self, slot: usize, ph: &PesHeader) -> u64 {
        let s = &self.slots[slot];
        let extra = (self.opts.min_gap_ticks.min(TS_MOD / 4) + self.pending_gap) as i64;
        let gap = s.step as i64 + extra;
        // Candidates for the offset (mod 2^33); the largest (latest) wins.
        let mut best: Option<u64> = None;
        let mut want = |c: u64| {
            if best.is_none_or(|b| ts_diff(c, b) > 0) {
                best = Some(c);
            }
        };
        let end = s.end().or_else(|| {
            // A slot with no past: follow the latest time any slot sent, plus a frame.
            self.slots
                .iter()
                .filter_map(|x| x.last)
                .reduce(|a, b| if ts_diff(b, a) > 0 { b } else { a })
                .map(|t| ts_add(t, DEFAULT_FRAME_TICKS as i64))
        });
        if let (Some(end), Some(d)) = (end, ph.decode_time()) {
            want(ts_add(end, extra - d as i64));
        }
        if let (Some(max), Some(p)) = (s.max_pts, ph.pts) {
            want(ts_add(max, gap - p as i64));
        }
        let pcr = self.source.first_pcr.or(self.source.seen_pcr);
        if let (Some(last), Some(pcr)) = (self.last_pcr, pcr) {
            want(ts_add(last / 300, 1 - (pcr / 300) as i64));
        }
        let Some(mut best) = best else {
            return self.offset;
        };
        // A pre-rolled audio (or subtitle) PES that covers the keyframe but would start just
        // before its PID's last one ends: a nudge of the whole source by a few ms saves dropping
        // it (a gap of a whole PES, often a third of a second of audio).
        for (j, st) in self.source.streams.iter().enumerate() {
            let s = &self.slots[st.slot];
            if s.video || self.source.anchor == Some(j) {
                continue;
            }
            let starts = pes_starts(&self.source.pre, j);
            let Some((_, cover)) = starts.get(covering(&starts, ph.pts)) else {
                continue;
            };
            if let (Some(end), Some(d)) = (s.end(), cover.decode_time()) {
                let c = ts_add(end, -(d as i64));
                let nudge = ts_diff(c, best);
                // Only when cheaper than what dropping it would cost (one PES duration).
                if nudge > 0 && nudge <= MAX_NUDGE_TICKS as i64 && nudge < s.step as i64 {
                    best = c;
                }
            }
        }
        best
    }

    // ------------------------------------------------------------------ output

    /// Builds the output PMT from the current source's streams; keeps the one last sent when the
    /// codecs and PIDs match, else makes the next version.
    fn update_output_pmt(&mut self) {
        let mut carried: Vec<&InStream> =
            self.source.streams.iter().filter(|s| !s.pcr_only).collect();
        carried.sort_by_key(|s| s.slot);
        let pcr_pid = self
            .source
            .pcr_pid
            .and_then(|p| self.source.streams.iter().find(|s| s.pid == p))
            .map_or(PID_NULL, |s| self.slots[s.slot].pid);
        let same = self.pmt.as_ref().is_some_and(|cur| {
            cur.pcr_pid == pcr_pid
                && cur.streams.len() == carried.len()
                && cur.streams.iter().zip(&carried).all(|(a, b)| {
                    a.pid == self.slots[b.slot].pid
                        && a.codec() == CodecKey::of(b.stream_type, &b.es_info)
                })
        });
        if same {
            return;
        }
        let version = match &self.pmt {
            Some(cur) => (cur.version + 1) & 0x1f,
            None => self.source.table.as_ref().map_or(0, |t| t.version),
        };
        let mut pmt = Pmt {
            program_number: self.program_number,
            version,
            current: true,
            pcr_pid,
            program_info: self
                .source
                .table
                .as_ref()
                .map(|t| t.program_info.clone())
                .unwrap_or_default(),
            streams: carried
                .iter()
                .map(|s| PmtStream {
                    stream_type: s.stream_type,
                    pid: self.slots[s.slot].pid,
                    es_info: s.es_info.clone(),
                })
                .collect(),
        };
        let pmt_pid = self.pmt_pid.unwrap_or(PID_PMT_DEFAULT);
        let pat = Pat {
            transport_stream_id: self.transport_stream_id,
            version: 0,
            current: true,
            programs: vec![Program {
                number: self.program_number,
                pid: pmt_pid,
            }],
        };
        let mut pat_section = Vec::new();
        let mut pmt_section = Vec::new();
        if pat.write(&mut pat_section).is_err() {
            return;
        }
        if pmt.write(&mut pmt_section).is_err() {
            // Too large with the source's descriptors: keep only what decoders need.
            pmt.program_info.clear();
            for s in &mut pmt.streams {
                s.es_info.clear();
            }
            pmt_section.clear();
            if pmt.write(&mut pmt_section).is_err() {
                return;
            }
        }
        self.psi.clear();
        let mut cc = 0;
        psi::packetize(PID_PAT, &pat_section, &mut cc, &mut self.psi);
        psi::packetize(pmt_pid, &pmt_section, &mut cc, &mut self.psi);
        self.pmt = Some(pmt);
        self.stats.pmt_versions += 1;
    }

    fn queue_psi(&mut self) {
        let psi = std::mem::take(&mut self.psi);
        for p in psi.chunks_exact(PACKET) {
            let mut b = [0u8; PACKET];
            b.copy_from_slice(p);
            self.hold(b, None);
        }
        self.psi = psi;
        self.since_psi = 0;
    }

    /// Queues an ES packet on its output PID, with a discontinuity_indicator when one is due.
    fn out_packet(
        &mut self,
        slot: usize,
        mut pkt: [u8; PACKET],
        h: &Header,
        pes: Option<(usize, u64)>,
    ) {
        let pid = self.slots[slot].pid;
        if self.slots[slot].need_di {
            self.slots[slot].need_di = false;
            if h.has_adaptation && h.adaptation_len > 0 {
                pkt[5] |= 0x80;
            } else {
                self.hold(packet::adaptation_only(pid, 0x80, 0), None);
            }
        }
        self.slots[slot].used = true;
        packet::set_pid(&mut pkt, pid);
        self.hold(pkt, pes);
    }

    fn hold(&mut self, p: [u8; PACKET], pes: Option<(usize, u64)>) {
        self.held.push_back(Held { p, pes });
        self.since_psi = self.since_psi.saturating_add(1);
    }

    /// Writes the held packets that may go: from the front, up to the first one whose PES is
    /// still open (all of them without holding); beyond [`MAX_HELD_PACKETS`], the oldest anyway.
    fn release(&mut self, out: &mut impl BufMut) {
        loop {
            let Some(front) = self.held.front() else {
                return;
            };
            let open = front
                .pes
                .is_some_and(|(s, id)| self.slots[s].open == Some(id));
            if open {
                if self.held.len() <= MAX_HELD_PACKETS {
                    return;
                }
                self.stats.forced_releases += 1;
            }
            let Some(h) = self.held.pop_front() else {
                return;
            };
            self.write(h.p, out);
        }
    }

    /// Sets the continuity counter for the packet's PID and writes it.
    fn write(&mut self, mut p: [u8; PACKET], out: &mut impl BufMut) {
        let pid = (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
        if pid != PID_NULL {
            let payload = p[3] & 0x10 != 0;
            let cc = match self.cc.iter_mut().find(|(q, _)| *q == pid) {
                Some((_, cc)) => {
                    if payload {
                        *cc = (*cc + 1) & 0x0f;
                    }
                    *cc
                }
                None => {
                    self.cc.push((pid, 0));
                    0
                }
            };
            packet::set_cc(&mut p, cc);
            self.note_written(&p, pid);
        }
        self.stats.packets_out += 1;
        out.put_slice(&p);
    }
}

/// (position, header) of each PES start of stream `j` among pre-rolled packets.
fn pes_starts(pre: &VecDeque<(usize, [u8; PACKET])>, j: usize) -> Vec<(usize, PesHeader)> {
    pre.iter()
        .enumerate()
        .filter(|(_, (k, _))| *k == j)
        .filter_map(|(n, (_, p))| {
            let h = Header::parse(p).ok()?;
            if !(h.pusi && h.has_payload) {
                return None;
            }
            pes::parse(h.payload(p)).ok().map(|ph| (n, ph))
        })
        .collect()
}

/// Index in `starts` of the PES that covers the anchor keyframe's PTS: the last one starting at
/// or before it (else the first; without a PTS, the last).
fn covering(starts: &[(usize, PesHeader)], anchor_pts: Option<u64>) -> usize {
    match anchor_pts {
        Some(t) => starts
            .iter()
            .rposition(|(_, ph)| ph.pts.is_some_and(|p| ts_diff(p, t) <= 0))
            .unwrap_or(0),
        None => starts.len().saturating_sub(1),
    }
}

/// Whether a PES start (header `ph` in packet `p` with header `h`) is where a stream of `kind`
/// may resume: any PES start, for video only a random-access point.
fn resumes(kind: StreamKind, h: &Header, p: &[u8; PACKET], ph: &PesHeader) -> bool {
    match kind {
        StreamKind::Video(codec) => {
            h.random_access
                || pes::starts_keyframe(p.get(h.payload_at + ph.data_at..).unwrap_or(&[]), codec)
        }
        _ => true,
    }
}

/// A PID an elementary stream or PMT may use.
fn valid_pid(pid: u16) -> bool {
    (0x0010..PID_MAX).contains(&pid)
}

/// Loops one TS file (a slate) through a [`Splicer`]: each pass after the first is a switch to
/// the same source, so timestamps and continuity counters run on across the loop.
#[derive(Debug, Default, Clone)]
pub struct Slate {
    /// Byte position of the next packet in the file.
    at: usize,
}

impl Slate {
    /// A slate at the start of its file.
    pub fn new() -> Slate {
        Slate::default()
    }

    /// Pushes the next `packets` packets of `file` (whole packets only; a trailing partial packet
    /// is ignored), wrapping to its start as often as needed.
    pub fn play(
        &mut self,
        file: &[u8],
        packets: usize,
        splicer: &mut Splicer,
        out: &mut impl BufMut,
    ) {
        let whole = file.len() / PACKET * PACKET;
        if whole == 0 {
            return;
        }
        let mut left = packets;
        while left > 0 {
            if self.at >= whole {
                self.at = 0;
                splicer.switch(SourceEnd::Complete, out);
            }
            let n = left.min((whole - self.at) / PACKET);
            splicer.push(&file[self.at..self.at + n * PACKET], out);
            self.at += n * PACKET;
            left -= n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::synth::{Expect, Report, SeenPes, SynthSource, check, check_structure};
    use super::*;
    use proptest::prelude::*;

    /// One source fed to the splicer: its packets `from..to` (packet indexes), then how it ends.
    struct Feed<'a> {
        ts: &'a [u8],
        from: usize,
        to: usize,
        end: SourceEnd,
    }

    fn whole(ts: &[u8], end: SourceEnd) -> Feed<'_> {
        Feed {
            ts,
            from: 0,
            to: ts.len() / PACKET,
            end,
        }
    }

    /// Runs the feeds through one splicer, `piece` packets per push, and flushes.
    fn run(feeds: &[Feed<'_>], opts: SpliceOptions, piece: usize) -> (Vec<u8>, Splicer) {
        let mut s = Splicer::new(opts);
        let mut out = Vec::new();
        for f in feeds {
            let n_packets = f.ts.len() / PACKET;
            let bytes = &f.ts[f.from.min(n_packets) * PACKET..f.to.min(n_packets) * PACKET];
            for chunk in bytes.chunks(piece.max(1) * PACKET) {
                s.push(chunk, &mut out);
            }
            s.switch(f.end, &mut out);
        }
        s.flush(&mut out);
        (out, s)
    }

    fn on(r: &Report, pid: u16) -> Vec<SeenPes> {
        r.pes.iter().filter(|p| p.pid == pid).copied().collect()
    }

    fn source_a() -> SynthSource {
        SynthSource {
            tag: 1,
            frames: 60,
            ..SynthSource::default()
        }
    }

    fn source_b() -> SynthSource {
        SynthSource {
            tag: 2,
            pmt_pid: 0x1100,
            video_pid: 0x200,
            audio_pid: Some(0x201),
            start: 9_000_000,
            pcr_delay: 120_000,
            frames: 60,
            ..SynthSource::default()
        }
    }

    /// The packet index of the `n`-th PES start on `pid` of a stream.
    fn pes_start(ts: &[u8], pid: u16, n: usize) -> usize {
        ts.chunks(PACKET)
            .enumerate()
            .filter(|(_, p)| Header::parse(p).is_ok_and(|h| h.pid == pid && h.pusi))
            .nth(n)
            .map(|(i, _)| i)
            .unwrap()
    }

    /// (pid, tag, index, pts, decode) of each PES, to compare streams.
    type Key = (u16, u8, u32, Option<u64>, Option<u64>);

    fn keys(pes: &[SeenPes]) -> Vec<Key> {
        pes.iter()
            .map(|p| (p.pid, p.tag, p.index, p.pts, p.decode))
            .collect()
    }

    #[test]
    fn one_source_passes_through_unchanged_in_time() {
        let a = source_a().generate();
        let (out, s) = run(
            &[whole(&a, SourceEnd::Complete)],
            SpliceOptions::default(),
            7,
        );
        let r = check(&out, Expect::default()).unwrap();
        let input = check(&a, Expect::default()).unwrap();
        assert_eq!(keys(&r.pes), keys(&input.pes));
        assert_eq!(r.pmt_pid, Some(0x1000));
        assert_eq!(r.pmt, Some(source_a().pmt()));
        assert_eq!(r.pcrs, input.pcrs);
        assert_eq!(s.offset(), 0);
        assert_eq!(s.stats().splices, 0);
        assert_eq!(s.held(), 0);
    }

    #[test]
    fn a_cut_mid_gop_switch_remaps_and_keeps_one_clock() {
        let a = source_a().generate();
        let b = SynthSource {
            pcr_delay: 63_000,
            ..source_b()
        }
        .generate();
        // A is cut inside frame 33 (mid-PES); B joins at its frame 10 (mid-GOP, mid-audio).
        let cut = pes_start(&a, 0x100, 33) + 3;
        let join = pes_start(&b, 0x200, 10) + 1;
        let feeds = [
            Feed {
                ts: &a,
                from: 0,
                to: cut,
                end: SourceEnd::Cut,
            },
            Feed {
                ts: &b,
                from: join,
                to: usize::MAX,
                end: SourceEnd::Complete,
            },
        ];
        let (out, s) = run(&feeds, SpliceOptions::default(), 5);
        let r = check(&out, Expect::default()).unwrap();
        // One program on A's PIDs, one PMT version (same codecs).
        assert_eq!(r.pmt_pid, Some(0x1000));
        assert_eq!(r.pmt_versions, [0]);
        assert!(r.pes.iter().all(|p| p.pid == 0x100 || p.pid == 0x101));
        let v = on(&r, 0x100);
        // A's frames 0..=32 whole (33 was cut and dropped), then B from its next keyframe (25).
        let a_frames: Vec<u32> = v.iter().filter(|p| p.tag == 1).map(|p| p.index).collect();
        let b_frames: Vec<u32> = v.iter().filter(|p| p.tag == 2).map(|p| p.index).collect();
        assert_eq!(a_frames, (0..33).collect::<Vec<_>>());
        assert_eq!(b_frames, (25..60).collect::<Vec<_>>());
        // B's first frame follows A's last by one frame.
        let last_a = v.iter().rfind(|p| p.tag == 1).unwrap().decode.unwrap();
        let first_b = v.iter().find(|p| p.tag == 2).unwrap().decode.unwrap();
        assert_eq!(packet::ts_diff(first_b, last_a), 3600);
        // Audio resumed after what was sent, and B's audio is present.
        assert!(on(&r, 0x101).iter().any(|p| p.tag == 2));
        assert_eq!(s.stats().splices, 1);
        assert!(s.stats().dropped_cut > 0);
        // Tables before B's first packet.
        let first_b_at = v.iter().find(|p| p.tag == 2).unwrap().at_packet;
        let tables: Vec<u16> = out[(first_b_at - 2) * PACKET..first_b_at * PACKET]
            .chunks(PACKET)
            .map(|p| Header::parse(p).unwrap().pid)
            .collect();
        assert_eq!(tables, [0, 0x1000]);
    }

    #[test]
    fn a_source_with_more_buffering_leaves_a_gap_instead_of_a_pcr_step_back() {
        // B's PCR runs 120 000 ticks behind its video, A's 63 000: with B's first DTS one frame
        // after A's last, B's PCR would step back 57 000 ticks. The offset keeps the PCR going
        // (one tick on) and the video gap becomes the difference in buffering.
        let a = source_a().generate();
        let b = source_b().generate();
        let cut = pes_start(&a, 0x100, 33) + 3;
        let feeds = [
            Feed {
                ts: &a,
                from: 0,
                to: cut,
                end: SourceEnd::Cut,
            },
            whole(&b, SourceEnd::Complete),
        ];
        let (out, _) = run(&feeds, SpliceOptions::default(), 5);
        let r = check(&out, Expect::default()).unwrap();
        let v = on(&r, 0x100);
        let last_a = v.iter().rfind(|p| p.tag == 1).unwrap();
        let first_b = v.iter().find(|p| p.tag == 2).unwrap();
        assert_eq!(last_a.index, 32);
        assert_eq!(
            packet::ts_diff(first_b.decode.unwrap(), last_a.decode.unwrap()),
            120_000 - 63_000 + 1
        );
        // A's last PCR (frame 32) and B's first, 300 (one 90 kHz tick) apart.
        let pcr_a = (last_a.decode.unwrap() - 63_000) * 300;
        let i = r.pcrs.iter().position(|&p| p == pcr_a).unwrap();
        assert_eq!(packet::pcr_diff(r.pcrs[i + 1], pcr_a), 300);
    }

    #[test]
    fn late_audio_is_looked_ahead_for() {
        // Audio in PES of 0.3 s sent 0.4 s after its video (as ffmpeg muxes AAC), exactly as
        // long as the video. Looped, the first audio PES (estimated to start a little before the
        // last one ends) arrives 10 frames after the keyframe: looking ahead, the offset is
        // nudged to keep it; at once, it is dropped and the audio has a 0.3 s hole.
        let a = SynthSource {
            audio_ticks: 27_000,
            audio_bytes: 2000,
            audio_late: 36_000,
            ..source_a()
        }
        .generate();
        let feeds = [
            whole(&a, SourceEnd::Complete),
            whole(&a, SourceEnd::Complete),
        ];
        let gap = |opts: SpliceOptions| {
            let (out, _) = run(&feeds, opts, 8);
            let r = check(&out, Expect::default()).unwrap();
            let audio = on(&r, 0x101);
            // The largest step between audio PES: at the loop.
            audio
                .windows(2)
                .map(|w| packet::ts_diff(w[1].decode.unwrap(), w[0].decode.unwrap()))
                .max()
                .unwrap()
        };
        let ahead = gap(SpliceOptions::default());
        assert!((27_000..=27_000 * 17 / 16 + 1).contains(&ahead), "{ahead}");
        let at_once = gap(SpliceOptions {
            lookahead_ticks: 0,
            ..SpliceOptions::default()
        });
        assert!(at_once >= 2 * 27_000, "{at_once} vs {ahead}");
    }

    #[test]
    fn radio_switches_on_audio_alone() {
        // Audio-only programs (the "video" of the generator typed as AAC): the audio is the
        // anchor, every PES start a place to begin.
        let radio = |s: SynthSource| SynthSource {
            video_type: 0x0f,
            audio_pid: None,
            frame_ticks: 1920,
            ..s
        };
        let a = radio(source_a()).generate();
        let b = radio(SynthSource {
            pcr_delay: 63_000,
            ..source_b()
        })
        .generate();
        let cut = pes_start(&a, 0x100, 40) + 2;
        let feeds = [
            Feed {
                ts: &a,
                from: 0,
                to: cut,
                end: SourceEnd::Cut,
            },
            Feed {
                ts: &b,
                from: pes_start(&b, 0x200, 7) + 1,
                to: usize::MAX,
                end: SourceEnd::Complete,
            },
        ];
        let (out, s) = run(&feeds, SpliceOptions::default(), 3);
        let r = check(&out, Expect::default()).unwrap();
        let pes = on(&r, 0x100);
        assert_eq!(pes.iter().filter(|p| p.tag == 1).count(), 40);
        // B from its first PES after its tables (which come with frame 25), a PES after A's
        // last.
        let first_b = pes.iter().find(|p| p.tag == 2).unwrap();
        assert_eq!(first_b.index, 25);
        let last_a = pes.iter().rfind(|p| p.tag == 1).unwrap();
        assert_eq!(
            packet::ts_diff(first_b.decode.unwrap(), last_a.decode.unwrap()),
            1920
        );
        assert_eq!(s.stats().splices, 1);
    }

    #[test]
    fn without_holding_a_cut_leaves_a_truncated_frame() {
        let a = source_a().generate();
        let b = source_b().generate();
        let cut = pes_start(&a, 0x100, 33) + 3;
        let feeds = [
            Feed {
                ts: &a,
                from: 0,
                to: cut,
                end: SourceEnd::Cut,
            },
            whole(&b, SourceEnd::Complete),
        ];
        let opts = SpliceOptions {
            hold_pes: false,
            ..SpliceOptions::default()
        };
        let (out, _) = run(&feeds, opts, 5);
        let e = check(&out, Expect::default()).unwrap_err();
        assert!(e.contains("bytes of"), "{e}");
        // Held, the same cut is clean.
        let (out, _) = run(&feeds, SpliceOptions::default(), 5);
        check(&out, Expect::default()).unwrap();
    }

    #[test]
    fn a_new_codec_makes_a_new_pmt_version() {
        let a = source_a().generate();
        let b = SynthSource {
            video_type: 0x24,
            ..source_b()
        }
        .generate();
        let (out, _) = run(
            &[
                whole(&a, SourceEnd::Complete),
                whole(&b, SourceEnd::Complete),
            ],
            SpliceOptions::default(),
            64,
        );
        let r = check(&out, Expect::default()).unwrap();
        assert_eq!(r.pmt_versions, [0, 1]);
        let pmt = r.pmt.unwrap();
        // HEVC on a PID of its own (B's, free), audio stays.
        let pids: Vec<(u16, u8)> = pmt.streams.iter().map(|s| (s.pid, s.stream_type)).collect();
        assert_eq!(pids, [(0x101, 0x0f), (0x200, 0x24)]);
        assert_eq!(pmt.pcr_pid, 0x200);
        // Then back to H.264: version 2, on its first PID again.
        let (out, _) = run(
            &[
                whole(&a, SourceEnd::Complete),
                whole(&b, SourceEnd::Complete),
                whole(&a, SourceEnd::Complete),
            ],
            SpliceOptions::default(),
            64,
        );
        let r = check(&out, Expect::default()).unwrap();
        assert_eq!(r.pmt_versions, [0, 1, 2]);
        assert_eq!(r.pmt.unwrap().streams[0].pid, 0x100);
    }

    #[test]
    fn streams_come_and_go_by_codec_and_order() {
        // A: video only. B: video + audio (the audio gets a new slot, on its own PID 0x201).
        let a = SynthSource {
            audio_pid: None,
            ..source_a()
        }
        .generate();
        let b = source_b().generate();
        let c = SynthSource {
            audio_pid: Some(0x100),
            video_pid: 0x300,
            tag: 3,
            ..source_b()
        }
        .generate();
        let (out, _) = run(
            &[
                whole(&a, SourceEnd::Complete),
                whole(&b, SourceEnd::Complete),
                whole(&a, SourceEnd::Complete),
                whole(&c, SourceEnd::Complete),
            ],
            SpliceOptions::default(),
            9,
        );
        let r = check(&out, Expect::default()).unwrap();
        // video-only, +audio, video-only again, +audio again: the audio keeps PID 0x201 even
        // though C sends it on 0x100 (C's video goes to 0x100).
        assert_eq!(r.pmt_versions, [0, 1, 2, 3]);
        let pmt = r.pmt.clone().unwrap();
        let pids: Vec<(u16, u8)> = pmt.streams.iter().map(|s| (s.pid, s.stream_type)).collect();
        assert_eq!(pids, [(0x100, 0x1b), (0x201, 0x0f)]);
        assert!(on(&r, 0x201).iter().any(|p| p.tag == 3));
        assert!(on(&r, 0x100).iter().all(|p| p.kind == 0));
    }

    #[test]
    fn without_rewriting_every_pid_signals_a_discontinuity() {
        let a = source_a().generate();
        let b = SynthSource {
            start: 9_000,
            ..source_b()
        }
        .generate();
        let opts = SpliceOptions {
            rewrite_timestamps: false,
            ..SpliceOptions::default()
        };
        let (out, s) = run(
            &[
                whole(&a, SourceEnd::Complete),
                whole(&b, SourceEnd::Complete),
            ],
            opts,
            3,
        );
        let lax = Expect {
            monotonic: false,
            ..Expect::default()
        };
        let r = check(&out, lax).unwrap();
        let first_b = on(&r, 0x100).iter().find(|p| p.tag == 2).unwrap().decode;
        assert_eq!(first_b, Some(9_000));
        assert_eq!(s.offset(), 0);
        let mut di: Vec<u16> = r.discontinuities.iter().map(|d| d.0).collect();
        di.sort_unstable();
        assert_eq!(di, [0x100, 0x101]);
        // The discontinuity comes before B's first packet on each PID, after A's last.
        for &(pid, at) in &r.discontinuities {
            let first = on(&r, pid).iter().find(|p| p.tag == 2).unwrap().at_packet;
            let last_a = on(&r, pid).iter().rfind(|p| p.tag == 1).unwrap().at_packet;
            assert!(
                last_a < at && at <= first,
                "{pid:#x}: {last_a} < {at} <= {first}"
            );
        }
        assert!(check(&out, Expect::default()).is_err());
    }

    #[test]
    fn a_looped_slate_keeps_time_running() {
        let slate = SynthSource {
            frames: 25,
            dts: true,
            pcr_pid: Some(0x1ff),
            ..source_a()
        }
        .generate();
        let mut s = Splicer::default();
        let mut out = Vec::new();
        let mut l = Slate::new();
        let n = slate.len() / PACKET;
        for _ in 0..7 {
            l.play(&slate, n / 2 + 1, &mut s, &mut out);
        }
        s.flush(&mut out);
        let r = check(&out, Expect::default()).unwrap();
        let v = on(&r, 0x100);
        assert_eq!(v.len(), 25 * 3 + v.len() % 25);
        assert!(v.len() >= 75);
        for w in v.windows(2) {
            assert_eq!(
                packet::ts_diff(w[1].decode.unwrap(), w[0].decode.unwrap()),
                3600
            );
        }
        // The PCR stays on its own PID and advances across each loop.
        assert!(r.pcrs.len() >= 75);
        assert_eq!(r.pmt.unwrap().pcr_pid, 0x1ff);
        assert_eq!(r.pmt_versions, [0]);
    }

    #[test]
    fn keepalive_sends_tables_and_nulls_through_a_gap() {
        let a = source_a().generate();
        let b = source_b().generate();
        let mut s = Splicer::default();
        let mut out = Vec::new();
        // Before any source: nulls only.
        s.keepalive(3, &mut out);
        assert_eq!(out.len(), 3 * PACKET);
        s.push(&a, &mut out);
        s.switch(SourceEnd::Cut, &mut out);
        let gap_at = out.len() / PACKET;
        s.keepalive(20, &mut out);
        s.extend_gap(90_000);
        s.push(&b, &mut out);
        s.flush(&mut out);
        let r = check(&out, Expect::default()).unwrap();
        assert_eq!(r.nulls, 23);
        let pids: Vec<u16> = out[gap_at * PACKET..(gap_at + 3) * PACKET]
            .chunks(PACKET)
            .map(|p| Header::parse(p).unwrap().pid)
            .collect();
        assert_eq!(pids, [0, 0x1000, PID_NULL]);
        let v = on(&r, 0x100);
        let last_a = v.iter().rfind(|p| p.tag == 1).unwrap().decode.unwrap();
        let first_b = v.iter().find(|p| p.tag == 2).unwrap().decode.unwrap();
        assert_eq!(packet::ts_diff(first_b, last_a), 3600 + 90_000);
        assert_eq!(s.stats().null_out, 23);
    }

    #[test]
    fn duplicates_are_dropped_and_counters_continue() {
        let a = source_a().generate();
        let mut dup = Vec::new();
        for (i, p) in a.chunks(PACKET).enumerate() {
            dup.extend_from_slice(p);
            if i % 7 == 3 {
                dup.extend_from_slice(p);
            }
        }
        let (out, s) = run(
            &[whole(&dup, SourceEnd::Complete)],
            SpliceOptions::default(),
            11,
        );
        let r = check(&out, Expect::default()).unwrap();
        assert_eq!(
            keys(&r.pes),
            keys(&check(&a, Expect::default()).unwrap().pes)
        );
        assert!(s.stats().dropped_duplicate > 0);
    }

    #[test]
    fn timestamps_wrap_at_33_bits() {
        let a = SynthSource {
            start: packet::TS_MOD - 40 * 3600,
            ..source_a()
        }
        .generate();
        let b = source_b().generate();
        let (out, s) = run(
            &[
                whole(&a, SourceEnd::Complete),
                whole(&b, SourceEnd::Complete),
            ],
            SpliceOptions::default(),
            13,
        );
        let r = check(&out, Expect::default()).unwrap();
        let v = on(&r, 0x100);
        assert_eq!(v.len(), 120);
        assert!(v.iter().any(|p| p.decode.unwrap() < 1_000_000));
        assert!(s.offset() > 0);
    }

    #[test]
    fn a_late_pcr_raises_the_offset_instead_of_stepping_back() {
        // B's PCR runs far behind its video (3 s) and sits on its own PID, sent after the
        // keyframe's PES start has been seen: the offset from the video alone would put B's
        // first PCR before A's last.
        let a = SynthSource {
            pcr_delay: 9000,
            ..source_a()
        }
        .generate();
        let b = SynthSource {
            pcr_delay: 270_000,
            ..source_b()
        }
        .generate();
        let (out, _) = run(
            &[
                whole(&a, SourceEnd::Complete),
                whole(&b, SourceEnd::Complete),
            ],
            SpliceOptions::default(),
            4,
        );
        check(&out, Expect::default()).unwrap();
    }

    #[test]
    fn other_programs_and_pids_are_left_out() {
        let a = source_a().generate();
        let mut mixed = Vec::new();
        for (i, p) in a.chunks(PACKET).enumerate() {
            mixed.extend_from_slice(p);
            if i % 5 == 0 {
                // SDT-like table and a stray PID.
                let mut q = p.to_vec();
                packet::set_pid(&mut q, if i % 2 == 0 { 0x11 } else { 0x777 });
                mixed.extend_from_slice(&q);
                mixed.extend_from_slice(&NULL_PACKET);
            }
        }
        let (out, s) = run(
            &[whole(&mixed, SourceEnd::Complete)],
            SpliceOptions::default(),
            17,
        );
        let r = check(&out, Expect::default()).unwrap();
        assert_eq!(r.nulls, 0);
        assert!(s.stats().dropped_unmapped > 0);
    }

    fn arb_source(tag: u8) -> impl Strategy<Value = SynthSource> {
        (
            (0x20u16..0x1ff0, 0x20u16..0x1ff0, 0x20u16..0x1ff0),
            (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
            0..packet::TS_MOD,
            (0u64..300_000, 5usize..40, 1usize..15),
            (
                prop_oneof![Just(3000u64), Just(3600), Just(1800)],
                100usize..3000,
            ),
            (
                prop_oneof![Just(1920u64), Just(2160), Just(4000)],
                20usize..600,
            ),
        )
            .prop_map(
                move |(
                    (pmt, v, a),
                    (audio, sep_pcr, hevc, dts),
                    start,
                    (delay, frames, gop),
                    (ft, fb),
                    (at, ab),
                )| {
                    let v = if v == pmt { v ^ 1 } else { v };
                    let a = if a == pmt || a == v { 0x1ff1 } else { a };
                    SynthSource {
                        tag,
                        pmt_pid: pmt,
                        video_pid: v,
                        video_type: if hevc { 0x24 } else { 0x1b },
                        audio_pid: audio.then_some(a),
                        pcr_pid: sep_pcr.then_some(0x1ff2),
                        start,
                        pcr_delay: delay,
                        frames,
                        gop,
                        frame_ticks: ft,
                        frame_bytes: fb,
                        audio_ticks: at,
                        audio_bytes: ab,
                        rai: gop % 2 == 0,
                        dts,
                        audio_late: if audio && hevc { delay % 40_000 } else { 0 },
                        ..SynthSource::default()
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Any sequence of well-formed sources, cut anywhere and joined anywhere, fed in any
        /// piece size: the output passes the full check (whole frames, keyframe starts,
        /// continuous counters, monotonic PTS/DTS/PCR, valid tables) and shows every source
        /// that reached a keyframe, in order.
        #[test]
        fn switches_keep_the_stream_valid(
            sources in proptest::collection::vec((0u8..1, 0.0f64..1.0, 0.0f64..1.0, any::<bool>()), 1..5)
                .prop_flat_map(|v| {
                    let n = v.len();
                    (Just(v), proptest::collection::vec(arb_source(0), n))
                }),
            piece in 1usize..40,
            hold in any::<bool>(),
        ) {
            let (cuts, specs) = sources;
            let streams: Vec<Vec<u8>> = specs
                .iter()
                .enumerate()
                .map(|(i, s)| SynthSource { tag: i as u8 + 1, ..s.clone() }.generate())
                .collect();
            let feeds: Vec<Feed<'_>> = streams
                .iter()
                .zip(&cuts)
                .map(|(ts, &(_, from, to, cut))| {
                    let n = ts.len() / PACKET;
                    let (from, to) = ((from * n as f64) as usize, (to * n as f64) as usize);
                    let (from, mut to) = (from.min(to), from.max(to));
                    if !cut {
                        // A source that ends cleanly ends at its end.
                        to = n;
                    }
                    Feed { ts, from, to, end: if cut { SourceEnd::Cut } else { SourceEnd::Complete } }
                })
                .collect();
            let opts = SpliceOptions { hold_pes: hold, ..SpliceOptions::default() };
            let (out, s) = run(&feeds, opts, piece);
            let expect = Expect { whole_pes: hold, ..Expect::default() };
            let r = check(&out, expect);
            prop_assert!(r.is_ok(), "{:?}", r.err());
            let r = r.unwrap();
            let mut video: Vec<&SeenPes> = r.pes.iter().filter(|p| p.kind == 0).collect();
            video.sort_by_key(|p| p.at_packet);
            let mut tags: Vec<u8> = video.iter().map(|p| p.tag).collect();
            tags.dedup();
            prop_assert!(tags.windows(2).all(|w| w[0] < w[1]), "{:?}", tags);
            prop_assert!(tags.len() <= s.stats().splices as usize + 1);
            prop_assert_eq!(s.held(), 0);
        }

        /// Arbitrary bytes (biased towards sync), arbitrary calls: never a panic, and the
        /// output is always whole packets with continuing counters.
        #[test]
        fn never_panics_and_output_stays_structured(
            input in proptest::collection::vec(any::<u8>(), 0..6000),
            ops in proptest::collection::vec((0u8..6, 0usize..40), 1..20),
            sync in any::<bool>(),
            rewrite in any::<bool>(),
            hold in any::<bool>(),
        ) {
            let mut input = input;
            if sync {
                for i in (0..input.len()).step_by(PACKET) {
                    input[i] = 0x47;
                }
            }
            let mut s = Splicer::new(SpliceOptions { rewrite_timestamps: rewrite, hold_pes: hold, ..SpliceOptions::default() });
            let mut out = Vec::new();
            let mut at = 0;
            for (op, n) in ops {
                match op {
                    0..=2 => {
                        let end = (at + n * PACKET).min(input.len());
                        s.push(&input[at..end], &mut out);
                        at = end;
                    }
                    3 => s.switch(if n % 2 == 0 { SourceEnd::Cut } else { SourceEnd::Complete }, &mut out),
                    4 => s.keepalive(n % 4, &mut out),
                    _ => s.extend_gap(n as u64 * 1000),
                }
            }
            s.flush(&mut out);
            let res = check_structure(&out);
            prop_assert!(res.is_ok(), "{:?}", res);
        }

        /// Real-shaped input mutated at random bytes: never a panic, output structured.
        #[test]
        fn mutated_streams_never_break_structure(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..40),
            second in any::<bool>(),
        ) {
            let mut a = source_a().generate();
            let b = source_b().generate();
            for (at, v) in flips {
                let i = at % a.len();
                a[i] = v;
            }
            let mut s = Splicer::default();
            let mut out = Vec::new();
            s.push(&a, &mut out);
            if second {
                s.switch(SourceEnd::Cut, &mut out);
                s.push(&b, &mut out);
            }
            s.flush(&mut out);
            let res = check_structure(&out);
            prop_assert!(res.is_ok(), "{:?}", res);
        }
    }
}
